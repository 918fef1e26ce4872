//! `lab3-chat`: Lab 3's server, a publish/subscribe chat server on one thread for chapter 1's
//! frames. Run `cargo run -p exercises --bin lab3-chat -- --addr 127.0.0.1:7000`; Ctrl-C or
//! SIGTERM stops it.
//!
//! The binary is thin on purpose, and given: it parses the options, raises the descriptor
//! limit (`setrlimit(RLIMIT_NOFILE)`) so that thousands of clients fit, binds with a long
//! accept queue (`listen(2)` with a backlog of 1024: a thousand clients connecting at once are
//! queued, not refused), prints `listening on ADDR` (the grader reads the port from it), and
//! calls `exercises::lab3::serve`, which is the lab. It starts no thread: the process's one
//! thread is the server's.
//!
//! Linux only, like the lab (`epoll`): elsewhere it says so in one line and exits 1.

use std::process::ExitCode;

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("lab3-chat: error: Lab 3 is built on epoll(7), which only Linux has");
    ExitCode::FAILURE
}

/// The server's command line and set-up.
#[cfg(target_os = "linux")]
mod linux {
    use std::io::Write;
    use std::net::{SocketAddr, TcpListener};
    use std::process::ExitCode;

    use anyhow::{Context, bail};
    use clap::Parser;
    use exercises::lab3::{Config, HEADER_LEN, serve};
    use socklab_support::cli;
    use socklab_support::descriptors::raise_fd_limit;
    use socklab_support::stop::Stop;

    /// Descriptors the process needs besides its clients: standard streams, the listener, the
    /// epoll instance, the stop request's socket pair, and a margin.
    const SPARE_FDS: u64 = 32;

    #[derive(Parser)]
    #[command(
        version,
        about = "Lab 3: a publish/subscribe chat server on one thread",
        long_about = "Lab 3 of socklab: a chat server for chapter 1's frames (a 4-byte big-endian \
                      length, then the payload). A client sends `SUB <topic>` (answered `OK \
                      <topic>`) and `PUB <topic> <message>`; every subscriber of the topic gets \
                      `MSG <topic> <message>`. One thread serves every client; a client that falls \
                      more than --max-outbox bytes behind is dropped. The server is yours to \
                      write, in crates/exercises/src/lab3.rs.",
        after_help = "Examples:\n  \
            cargo run -p exercises --bin lab3-chat -- --addr 127.0.0.1:7000\n  \
            cargo xtask exercises --check lab3"
    )]
    struct Args {
        /// Address to listen on (HOST:PORT); port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Clients served at once; the rest wait in the accept queue.
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        max_connections: u32,
        /// Largest frame payload accepted, in bytes; a longer frame closes its client.
        #[arg(long, default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(16..=(16 << 20)))]
        max_frame: u32,
        /// Bytes queued for one client at most; a client further behind is dropped.
        #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u32).range(1..=(1 << 30)))]
        max_outbox: u32,
    }

    pub fn main() -> ExitCode {
        let args = Args::parse();
        cli::run("lab3-chat", || {
            let config = Config {
                max_connections: args.max_connections as usize,
                max_frame: args.max_frame as usize,
                max_outbox: args.max_outbox as usize,
            };
            // A MSG frame is as long as the PUB frame it comes from: the largest must fit an empty
            // outbox, or its subscribers would be dropped for a single message.
            if config.max_outbox < HEADER_LEN + config.max_frame {
                bail!(
                    "--max-outbox ({}) must be at least --max-frame + {HEADER_LEN} ({}): the \
                     largest message must fit a client's outbox",
                    config.max_outbox,
                    config.max_frame + HEADER_LEN
                );
            }
            let wanted = u64::from(args.max_connections) + SPARE_FDS;
            let limit = raise_fd_limit(wanted).context("cannot read the descriptor limit")?;
            if limit < wanted {
                eprintln!(
                    "note: the descriptor limit is {limit}, so at most about {} clients fit (not \
                     --max-connections {})",
                    limit.saturating_sub(SPARE_FDS),
                    args.max_connections
                );
            }
            let listener =
                listen(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
            // Before the first line: once the grader reads it, it may send SIGTERM at any time.
            let stop = Stop::on_signals().context("cannot install the signal handlers")?;
            println!("listening on {}", listener.local_addr()?);
            std::io::stdout().flush()?;
            serve(listener, &config, &stop).context("the server failed")?;
            Ok(())
        })
    }

    /// Binds `addr` with `SO_REUSEADDR` and an accept queue of 1024 (std's `bind` asks for 128:
    /// a thousand clients connecting at once would overflow it, and the kernel would drop their
    /// SYNs, to be sent again a second later).
    fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        Ok(socket.into())
    }
}

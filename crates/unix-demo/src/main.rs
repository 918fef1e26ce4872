//! `unix-demo`: chapter 8's binary, sockets on one machine. Run `cargo run -p unix-demo` for
//! the narrated tour, or `server` and `client` to talk over a Unix socket by hand (the server
//! tells each client who the kernel says it is).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use socklab_support::stop::{Stop, Woken};
use socklab_support::{Narrator, cli};
use unix_demo::{access, pass, peer, stale};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 8: Unix domain sockets: kinds, names, permissions, peers, passing descriptors",
    long_about = "Chapter 8 of socklab: sockets on one machine. With no arguments, runs a \
                  narrated tour: stream, datagram and seqpacket sockets measured, socketpair, \
                  path and abstract names, a crashed server's stale file, permissions, peer \
                  credentials, passing a descriptor to another process, and a quick look at \
                  Unix against TCP round trips.",
    after_help = "Examples:\n  \
        cargo run -p unix-demo\n  \
        cargo run -p unix-demo -- server --path /tmp/echo.sock\n  \
        echo hello | cargo run -p unix-demo -- client --path /tmp/echo.sock"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo,
    /// Listens on a socket file (removing a stale one safely), reads each request until the
    /// client half-closes, and replies with who the client is and what it sent.
    Server {
        /// The socket file to create.
        #[arg(long, value_parser = parse_socket_path)]
        path: PathBuf,
        /// Give up on a client silent for this long.
        #[arg(long, default_value = "30s", value_parser = cli::parse_duration)]
        idle_timeout: Duration,
    },
    /// Sends standard input to the server, half-closes, and prints the reply.
    Client {
        /// The server's socket file.
        #[arg(long, value_parser = parse_socket_path)]
        path: PathBuf,
    },
    /// Connects to a socket file and prints `connected` or `refused KIND` (for the tests and
    /// the tour's access experiments).
    #[command(hide = true)]
    Probe {
        /// The socket file to try.
        #[arg(long, value_parser = parse_socket_path)]
        path: PathBuf,
    },
    /// Connects to a socket file, receives one descriptor over it (SCM_RIGHTS), and writes a
    /// greeting with its pid through that descriptor (for the tests and the tour).
    #[command(hide = true)]
    ReceiveFd {
        /// The socket file of the process that sends the descriptor.
        #[arg(long, value_parser = parse_socket_path)]
        socket: PathBuf,
    },
}

/// The longest path a Unix socket address holds: `sun_path` is 108 bytes on Linux and 104 on
/// macOS, including the terminating zero byte.
#[cfg(target_os = "linux")]
const SUN_PATH: usize = 108;
#[cfg(not(target_os = "linux"))]
const SUN_PATH: usize = 104;

/// A socket file path for clap: not empty, and short enough for `sun_path`.
fn parse_socket_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("the path is empty; give a file path such as /tmp/echo.sock".into());
    }
    if text.len() >= SUN_PATH {
        return Err(format!(
            "`{text}` is {} bytes; a Unix socket path must be under {SUN_PATH} bytes",
            text.len()
        ));
    }
    Ok(PathBuf::from(text))
}

/// The largest request the server holds in memory, and the client reads from standard input.
const MAX_REQUEST: u64 = 16 << 20;

fn main() -> ExitCode {
    cli::run("unix-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => {
                let me = std::env::current_exe().context("finding this program's own path")?;
                Ok(unix_demo::demo::run(&Narrator::stdout(), &me)?)
            }
            Command::Server { path, idle_timeout } => serve(path, idle_timeout),
            Command::Client { path } => {
                let mut request = Vec::new();
                std::io::stdin()
                    .take(MAX_REQUEST)
                    .read_to_end(&mut request)
                    .context("reading stdin")?;
                let mut stream = UnixStream::connect(&path)
                    .with_context(|| format!("cannot connect to {}", path.display()))?;
                stream.set_read_timeout(Some(unix_demo::STEP_TIMEOUT))?;
                stream.write_all(&request).context("sending the request")?;
                stream.shutdown(std::net::Shutdown::Write)?;
                let mut reply = Vec::new();
                stream
                    .read_to_end(&mut reply)
                    .context("reading the reply")?;
                std::io::stdout().write_all(&reply)?;
                Ok(())
            }
            Command::Probe { path } => {
                println!("{}", access::probe_line(access::probe(&path)));
                Ok(())
            }
            Command::ReceiveFd { socket } => pass::receive_and_greet(&socket)
                .with_context(|| format!("receiving a descriptor over {}", socket.display())),
        }
    })
}

/// The server: one client at a time (the lesson is the socket file and the credentials, not
/// concurrency), until SIGINT or SIGTERM, then it removes its socket file if it is still its own.
fn serve(path: PathBuf, idle_timeout: Duration) -> anyhow::Result<()> {
    let (listener, how) =
        stale::bind_fresh(&path).with_context(|| format!("cannot listen on {}", path.display()))?;
    let own = stale::OwnFile::new(&path)?;
    // Before the first line: a signal that arrives once we say we listen must stop us cleanly.
    let stop = Stop::on_signals().context("cannot install the signal handlers")?;
    println!("listening on {}", path.display());
    // Log lines go through a narrator, which shrugs off a closed stdout.
    let log = Narrator::stdout();
    if how == stale::Bound::ReplacedStale {
        log.step("server", "removed a stale socket file first");
    }
    loop {
        match stop.wait_readable(listener.as_fd(), None)? {
            Woken::Stopped => break,
            Woken::TimedOut => continue,
            Woken::Ready => {}
        }
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                log.step("server", &format!("accept failed: {e}"));
                continue;
            }
        };
        let who = match peer::peer_of(&stream) {
            Ok(p) => p.to_string(),
            Err(e) => format!("unknown ({e})"),
        };
        let served = (|| -> std::io::Result<u64> {
            stream.set_read_timeout(Some(idle_timeout))?;
            stream.set_write_timeout(Some(idle_timeout))?;
            let mut request = Vec::new();
            (&mut stream).take(MAX_REQUEST).read_to_end(&mut request)?;
            stream.write_all(
                format!("you are {who}; you sent {} bytes\n", request.len()).as_bytes(),
            )?;
            stream.write_all(&request)?;
            Ok(request.len() as u64)
        })();
        match served {
            Ok(n) => log.step("server", &format!("client {who}: {n} bytes, replied")),
            Err(e) => log.step("server", &format!("client {who}: dropped: {e}")),
        }
    }
    let removed = own.remove_if_ours()?;
    log.step(
        "server",
        &format!(
            "stopped; socket file {}",
            if removed {
                "removed"
            } else {
                "no longer ours, left alone"
            }
        ),
    );
    Ok(())
}

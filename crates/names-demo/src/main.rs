//! `names-demo`: chapter 10's binary, names and dual-stack. Run `cargo run -p names-demo` for
//! the narrated tour, `resolve NAME` to see a name's addresses in the resolver's order,
//! `connect HOST:PORT` to try them in turn, and `server` for a dual-stack listener that says
//! how it sees each client.

use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use names_demo::{STEP_TIMEOUT, connect, dual_stack, resolve};
use socklab_support::stop::{Stop, Woken};
use socklab_support::{Narrator, cli};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 10: names and dual-stack: getaddrinfo, trying each address, IPV6_V6ONLY",
    long_about = "Chapter 10 of socklab: names and dual-stack. With no arguments, runs a \
                  narrated tour: what localhost resolves to here, a client that tries each \
                  address in turn, and one IPv6 listener serving IPv4 clients as v4-mapped \
                  addresses unless IPV6_V6ONLY is on.",
    after_help = "Examples:\n  \
        cargo run -p names-demo\n  \
        cargo run -p names-demo -- resolve localhost\n  \
        cargo run -p names-demo -- server --addr [::]:7000 --v6only off\n  \
        cargo run -p names-demo -- connect localhost:7000"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo,
    /// Prints every address a name resolves to, in the order the resolver returned them.
    Resolve {
        /// The name (or address) to resolve, such as `localhost`.
        name: String,
    },
    /// Resolves HOST and tries each of its addresses in turn until one connects.
    Connect {
        /// HOST:PORT, such as `localhost:7000` or `[::1]:7000`.
        #[arg(value_parser = parse_target)]
        target: (String, u16),
    },
    /// Listens (on 127.0.0.1 unless told; `--addr [::]:PORT` for both families), and answers
    /// each client with how it sees the client's address, then closes.
    Server {
        /// Address to listen on; port 0 picks a free port. `[::]:PORT` is every interface,
        /// both families (with `--v6only off`).
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// IPV6_V6ONLY for an IPv6 address: `on`, `off`, or the system's `default`.
        #[arg(long, value_enum, default_value_t = V6Only::Default)]
        v6only: V6Only,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum V6Only {
    On,
    Off,
    Default,
}

/// HOST:PORT for `connect`, split but not resolved: resolving is the lesson, done at run time.
fn parse_target(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` has no port; write HOST:PORT, such as localhost:7000"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number (0 to 65535)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{text}` has no host; write HOST:PORT"));
    }
    Ok((host.to_string(), port))
}

fn main() -> ExitCode {
    cli::run("names-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => Ok(names_demo::demo::run(&Narrator::stdout())?),
            Command::Resolve { name } => {
                let addrs = resolve::resolve(&name, 0)
                    .with_context(|| format!("cannot resolve `{name}`"))?;
                println!(
                    "{name}: {} address(es), in the order the resolver returned them",
                    addrs.len()
                );
                for (i, a) in addrs.iter().enumerate() {
                    println!("  {}. {} ({})", i + 1, a.ip(), resolve::family(a));
                }
                Ok(())
            }
            Command::Connect {
                target: (host, port),
            } => {
                let addrs = resolve::resolve(&host, port)
                    .with_context(|| format!("cannot resolve `{host}`"))?;
                let got = connect::connect_each(&addrs, STEP_TIMEOUT)
                    .with_context(|| format!("cannot connect to {host}:{port}"))?;
                for attempt in &got.attempts {
                    println!("tried {attempt}");
                }
                Ok(())
            }
            Command::Server { addr, v6only } => serve(addr, v6only),
        }
    })
}

/// The server: one client at a time, each told how it was seen, until SIGINT or SIGTERM.
fn serve(addr: SocketAddr, v6only: V6Only) -> anyhow::Result<()> {
    let only = match v6only {
        V6Only::On => Some(true),
        V6Only::Off => Some(false),
        V6Only::Default => None,
    };
    let listener =
        dual_stack::listen(addr, only).with_context(|| format!("cannot listen on {addr}"))?;
    // Before the first line: a signal that arrives once we say we listen must stop us cleanly.
    let stop = Stop::on_signals().context("cannot install the signal handlers")?;
    let v6only_now = socket2::SockRef::from(&listener).only_v6().unwrap_or(false);
    println!(
        "listening on {} (IPV6_V6ONLY {})",
        listener.local_addr()?,
        if !addr.is_ipv6() {
            "n/a"
        } else if v6only_now {
            "on"
        } else {
            "off"
        }
    );
    let log = Narrator::stdout();
    loop {
        match stop.wait_readable(listener.as_fd(), None)? {
            Woken::Stopped => break,
            Woken::TimedOut => continue,
            Woken::Ready => {}
        }
        let (mut stream, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) => {
                log.step("server", &format!("accept failed: {e}"));
                continue;
            }
        };
        let line = format!(
            "you are {peer}; as the family you used: {}\n",
            SocketAddr::new(peer.ip().to_canonical(), peer.port())
        );
        let _ = stream.set_write_timeout(Some(STEP_TIMEOUT));
        match stream.write_all(line.as_bytes()) {
            Ok(()) => log.step("server", line.trim_end()),
            Err(e) => log.step("server", &format!("{peer}: dropped: {e}")),
        }
    }
    log.step("server", "stopped");
    Ok(())
}

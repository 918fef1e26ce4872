//! The narrated tour that `cargo run -p tcp-demo` prints: every experiment of chapter 1 in a
//! few seconds, with the server and the clients in one process on ephemeral loopback ports.

use std::io::{self, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use socklab_support::Narrator;
use socklab_support::cli::bytes;

use crate::client::Client;
use crate::server::{Server, ServerConfig};
use crate::{lifecycle, reuse, stream};

/// How long any single step of the demo may block before it is treated as a failure.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Arc<Narrator>) -> io::Result<()> {
    n.heading("1. The life of a connection: socket, bind, listen, connect, accept, close");
    let seen = lifecycle::walk(n, "127.0.0.1:0".parse().expect("literal address"))?;
    n.explain(&format!(
        "Myth: \"the server assigns a new port to each accepted connection\". It does not:\n\
         listener {} and accepted socket {} share the port.",
        seen.listener, seen.accepted_local
    ));

    n.heading("2. A byte stream keeps no message boundaries");
    let one = stream::one_write_many_reads(1 << 20)?;
    n.step(
        "sender",
        &format!("one write() call took {}", bytes(one.written as u64)),
    );
    let largest = one.read_sizes.iter().max().copied().unwrap_or(0);
    n.step(
        "receiver",
        &format!(
            "needed {} read() calls with a 1 MiB buffer; the largest returned {}",
            one.read_sizes.len(),
            bytes(largest as u64)
        ),
    );
    let many = stream::many_writes_one_read(10, 10)?;
    n.step(
        "sender",
        &format!(
            "{} write() calls of {} bytes each",
            many.writes, many.bytes_per_write
        ),
    );
    n.step(
        "receiver",
        &format!("one read() returned all {} bytes", many.first_read),
    );
    n.explain(
        "Reads return whatever has arrived, up to the buffer's size: not one byte at a time,\n\
         and not one message at a time either. A protocol must mark its own boundaries.",
    );

    n.heading("3. write() may take less than you offer");
    let taken = stream::short_write(64 << 20, Duration::from_millis(200))?;
    n.step(
        "writer",
        &format!(
            "write() of 64 MiB to a peer that never reads returned {}",
            bytes(taken as u64)
        ),
    );
    n.explain(
        "The buffers filled, the write timeout fired, and write() reported what it took.\n\
               write_all() loops over write() so that nothing is silently left behind.",
    );

    n.heading("4. Framing: a length prefix puts the boundaries back");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = Server::new(listener, ServerConfig::default())
        .with_log(Arc::clone(n))
        .spawn()?;
    n.step(
        "server",
        &format!("echo server listening on {addr}, one thread per connection"),
    );
    let mut client = Client::connect(addr, STEP_TIMEOUT)?;
    for message in ["hello", "frames keep", "their boundaries"] {
        let echo = client.echo(message.as_bytes())?;
        n.step(
            "client",
            &format!(
                "sent {message:?}, got back {:?}",
                String::from_utf8_lossy(&echo)
            ),
        );
    }
    drop(client);
    let mut rogue = TcpStream::connect(addr)?;
    rogue.set_read_timeout(Some(STEP_TIMEOUT))?;
    // Narrated before sending: once the bytes are out, the server may log its verdict first.
    n.step("rogue", "sends a header announcing a 4 GiB frame");
    rogue.write_all(&u32::MAX.to_be_bytes())?;
    let mut buf = [0u8; 1];
    let reply = io::Read::read(&mut rogue, &mut buf)?;
    n.step(
        "rogue",
        &format!("read() -> {reply}: the server closed this connection, and only this one"),
    );

    n.heading("5. Ports in use, and SO_REUSEADDR");
    let taken = TcpListener::bind("127.0.0.1:0")?;
    let port_addr = taken.local_addr()?;
    match TcpListener::bind(port_addr) {
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            n.step("server", &format!("bind({port_addr}) again -> {e}"));
        }
        other => n.step(
            "server",
            &format!("bind({port_addr}) again -> unexpected: {other:?}"),
        ),
    }
    let stopped = reuse::serve_one_and_stop(reuse::listen_on(loopback0(), true)?)?;
    n.step(
        "server",
        &format!("served one client on {stopped} and stopped (closing first)"),
    );
    match reuse::listen_on(stopped, false) {
        Ok(_) => n.step(
            "server",
            "restart without SO_REUSEADDR -> bound (this system allows it)",
        ),
        Err(e) => n.step("server", &format!("restart without SO_REUSEADDR -> {e}")),
    }
    match reuse::listen_on(stopped, true) {
        Ok(_) => n.step("server", "restart with SO_REUSEADDR -> bound at once"),
        Err(e) => n.step("server", &format!("restart with SO_REUSEADDR -> {e}")),
    }

    n.heading("6. IPv6 works the same way");
    match TcpListener::bind("[::1]:0") {
        Ok(listener) => {
            let addr = Server::new(listener, ServerConfig::default())
                .with_log(Arc::clone(n))
                .spawn()?;
            let mut client = Client::connect(addr, STEP_TIMEOUT)?;
            let echo = client.echo(b"hello over IPv6")?;
            n.step(
                "client",
                &format!("{addr} echoed {:?}", String::from_utf8_lossy(&echo)),
            );
        }
        Err(e) => n.step(
            "server",
            &format!("no IPv6 loopback on this machine ({e}); skipped"),
        ),
    }
    n.heading("Done. The book's chapter 1 explains each step; `cargo test -p tcp-demo` proves it.");
    Ok(())
}

fn loopback0() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

//! Look with your OS: a connection's queues and congestion state in `ss -tni` (`look ss`).
//!
//! [`queues`] fills both buffers of a loopback connection, a writer writing to a reader that
//! reads nothing (the `inflight` experiment), then runs `ss -tni` on each end, with the command
//! lines shown so the reader can type them beside `cargo run -p buffers-demo -- server`. On an
//! established socket, ss's `Send-Q` is the bytes written and not yet acknowledged, `Recv-Q`
//! the bytes arrived and not yet read (what `SIOCOUTQ` and `SIOCINQ` report); the line under
//! each (`-i`) is the kernel's `TCP_INFO`: `cwnd`, the congestion window in segments, `rtt`,
//! the smoothed round-trip time and its variation in milliseconds, and more.

use std::io::{self, ErrorKind, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socklab_support::{Narrator, cli, os_tool};

/// The bound on filling the buffers and on each run of ss.
const LIMIT: Duration = Duration::from_secs(10);

/// Fills a loopback connection's buffers and shows both ends in `ss -tni`; returns what ss
/// printed for the writer and for the reader.
pub fn queues(n: &Narrator) -> io::Result<(String, String)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    let mut writer = TcpStream::connect(listener.local_addr()?)?;
    let (reader, _) = listener.accept()?; // Never read from.
    n.step(
        "reader",
        &format!("accepted on port {port}; it reads nothing"),
    );
    writer.set_nonblocking(true)?;
    let chunk = vec![0u8; 64 * 1024];
    let mut accepted = 0;
    let start = Instant::now();
    loop {
        match writer.write(&chunk) {
            Ok(n) => accepted += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break, // Both buffers are full.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if start.elapsed() > LIMIT {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the buffers never filled",
            ));
        }
    }
    n.step(
        "writer",
        &format!(
            "write() took {} before WouldBlock",
            cli::bytes(accepted as u64)
        ),
    );
    // Each end by both its ports: the reader's local port is the listener's, the writer's an
    // ephemeral one.
    let ss = |local: u16, peer: u16| {
        let (l, p) = (format!(":{local}"), format!(":{peer}"));
        os_tool::show(
            "ss",
            &["-tni", "sport", "=", &l, "and", "dport", "=", &p],
            b"",
            LIMIT,
        )
    };
    let writer_port = writer.local_addr()?.port();
    let writer_view = ss(writer_port, port)?;
    let reader_view = ss(port, writer_port)?;
    drop((writer, reader));
    Ok((writer_view.stdout, reader_view.stdout))
}

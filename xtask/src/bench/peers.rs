//! The tools from outside the course that the benchmarks compare against: whether they are
//! installed, a free port for those that cannot be told to pick one, and sockperf's server
//! and ping-pong client. (iperf3 is driven by `buffers-demo compare-iperf3` itself.)

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use socklab_support::wait;

use super::{number_after, output};

/// How long sockperf's server may take to start listening.
const LISTEN_LIMIT: Duration = Duration::from_secs(5);

/// Whether `program` runs at all.
pub fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A free loopback port, for peers that cannot be told to pick one (iperf3, sockperf). The
/// port could be taken in between; the peer then fails and says so.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A peer's server process; killed when dropped.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A sockperf server on a free port; killed when dropped. Waits until it accepts (TCP) or
/// for a moment (UDP, which cannot be probed without disturbing it).
pub fn sockperf_server(tcp: bool) -> Result<(Peer, u16)> {
    let port = free_port()?;
    let mut cmd = Command::new("sockperf");
    cmd.args(["server", "-i", "127.0.0.1", "-p", &port.to_string()]);
    if tcp {
        cmd.arg("--tcp");
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting sockperf server")?;
    let server = Peer(child);
    if tcp {
        // sockperf prints nothing a script can wait for: try connecting until it listens.
        wait::until(LISTEN_LIMIT, "sockperf's server to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
    } else {
        std::thread::sleep(Duration::from_millis(300)); // UDP: nothing to probe.
    }
    Ok((server, port))
}

/// sockperf ping-pong: (p50, p99) *round trips* in µs (its one-way figures doubled).
pub fn sockperf_ping(port: u16, tcp: bool, seconds: u32) -> Result<(f64, f64)> {
    let mut cmd = Command::new("sockperf");
    cmd.args([
        "ping-pong",
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        "64",
        "-t",
        &seconds.to_string(),
    ]);
    if tcp {
        cmd.arg("--tcp");
    }
    let text = output(&mut cmd)?;
    let p50 = number_after(&text, "percentile 50.000").context("no p50 in sockperf's output")?;
    let p99 = number_after(&text, "percentile 99.000").context("no p99 in sockperf's output")?;
    Ok((2.0 * p50, 2.0 * p99))
}

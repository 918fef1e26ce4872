//! Look with your OS: the closing states in `ss -tan` (`look ss`).
//!
//! [`closing_states`] walks one loopback connection through an orderly close, the client
//! closing first, and at each stop runs `ss -tan` on each end (`-a`, or ss leaves TIME-WAIT
//! out), with the command lines shown so the reader can type them beside
//! `cargo run -p shutdown-demo -- server`: after the client's `shutdown(Write)` and the
//! server's `read` of 0, the client is in FIN-WAIT-2 and the server in CLOSE-WAIT; after the
//! server's `close`, the client is in TIME-WAIT and the server's socket is gone. Each stop is
//! first reached in `/proc/net/tcp` ([`crate::states`]), so ss never looks half-way through a
//! transition.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use socklab_support::{Narrator, os_tool};

use crate::states::{TcpState, wait_for};

/// The bound on each wait and each run of ss.
const LIMIT: Duration = Duration::from_secs(10);

/// Runs `ss -tan` on the connection from `local` to `peer`; returns what it printed. (Both
/// ports: an ephemeral port may also be the local port of older connections to other peers,
/// still in TIME-WAIT.)
fn ss(local: SocketAddr, peer: SocketAddr) -> io::Result<String> {
    let (l, p) = (format!(":{}", local.port()), format!(":{}", peer.port()));
    let filter = ["sport", "=", &l, "and", "dport", "=", &p];
    let args: Vec<&str> = std::iter::once("-tan").chain(filter).collect();
    Ok(os_tool::show("ss", &args, b"", LIMIT)?.stdout)
}

/// Waits until the connection from `local` to `peer` is in `want` (`None`: gone), failing
/// with the state it is stuck in.
fn reach(local: SocketAddr, peer: SocketAddr, want: Option<TcpState>) -> io::Result<()> {
    let got = wait_for(local, peer, want, LIMIT)?;
    if got == want {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{local} -> {peer} stayed in {got:?}, never reached {want:?}"),
    ))
}

/// The orderly close, seen by ss at its two stops; returns everything ss printed.
pub fn closing_states(n: &Narrator) -> io::Result<Vec<String>> {
    use TcpState::*;
    let (client, mut server) = crate::loopback_pair()?;
    let (c, s) = (client.local_addr()?, server.local_addr()?);
    n.step("client", &format!("connected from {c} to {s}"));
    client.shutdown(Shutdown::Write)?;
    n.step("client", "shutdown(Write): FIN sent");
    let got = server.read(&mut [0u8; 16])?;
    n.step(
        "server",
        &format!("read() -> {got}: end of the client's stream"),
    );
    reach(c, s, Some(FinWait2))?;
    reach(s, c, Some(CloseWait))?;
    let mut shown = vec![ss(c, s)?, ss(s, c)?];
    drop(server);
    n.step("server", "close(): its FIN sent");
    reach(c, s, Some(TimeWait))?;
    reach(s, c, None)?;
    shown.push(ss(c, s)?);
    shown.push(ss(s, c)?);
    Ok(shown)
}

//! Dead peers: TCP keepalive, `TCP_USER_TIMEOUT`, and application heartbeats.
//!
//! A connection whose peer vanished without a FIN or RST (power cut, cable pulled, NAT entry
//! expired) looks exactly like a quiet one: a reader waits forever. TCP offers two detectors:
//!
//! - **Keepalive** (`SO_KEEPALIVE`): after `TCP_KEEPIDLE` seconds of silence the kernel sends
//!   a probe, every `TCP_KEEPINTVL` seconds, and after `TCP_KEEPCNT` unanswered probes it
//!   resets the connection (the next call fails with `ETIMEDOUT`). Linux's defaults, from
//!   `/proc/sys/net/ipv4/tcp_keepalive_{time,intvl,probes}`: 7200 s, 75 s, 9: a dead peer is
//!   noticed after 7200 + 75 × 9 = 7875 s, over two hours. Servers lower them per socket.
//! - **`TCP_USER_TIMEOUT`** (Linux): how long sent data may stay unacknowledged before the
//!   connection is dropped; it catches a peer that vanished while we were *sending*.
//!
//! Neither sees a peer whose *kernel* is fine but whose *application* is stuck: the kernel
//! answers every probe and acknowledges every byte. Only the application can notice that,
//! with a heartbeat: both sides send something every interval and treat a long silence as
//! death ([`Heartbeat`]).

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use socket2::{SockRef, TcpKeepalive};

use crate::is_timeout;

/// Keepalive settings as read back from a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveSettings {
    /// `SO_KEEPALIVE`.
    pub enabled: bool,
    /// `TCP_KEEPIDLE` (`TCP_KEEPALIVE` on macOS): silence before the first probe.
    pub idle: Duration,
    /// `TCP_KEEPINTVL`: time between probes.
    pub interval: Duration,
    /// `TCP_KEEPCNT`: unanswered probes before giving up.
    pub probes: u32,
}

impl KeepaliveSettings {
    /// How long a dead peer goes unnoticed with these settings: idle + interval × probes.
    pub fn detection_time(&self) -> Duration {
        self.idle + self.interval * self.probes
    }
}

// ANCHOR: keepalive
/// Reads the socket's keepalive settings (`getsockopt` for each option).
pub fn keepalive_of(stream: &TcpStream) -> io::Result<KeepaliveSettings> {
    let s = SockRef::from(stream);
    Ok(KeepaliveSettings {
        enabled: s.keepalive()?,
        idle: s.tcp_keepalive_time()?,
        interval: s.tcp_keepalive_interval()?,
        probes: s.tcp_keepalive_retries()?,
    })
}

/// Turns keepalive on with the given timing (`setsockopt` of the four options).
pub fn enable_keepalive(
    stream: &TcpStream,
    idle: Duration,
    interval: Duration,
    probes: u32,
) -> io::Result<()> {
    let params = TcpKeepalive::new()
        .with_time(idle)
        .with_interval(interval)
        .with_retries(probes);
    SockRef::from(stream).set_tcp_keepalive(&params)?; // Also sets SO_KEEPALIVE.
    Ok(())
}
// ANCHOR_END: keepalive

/// The system-wide keepalive defaults (Linux sysctls): (idle, interval, probes).
pub fn system_keepalive_defaults() -> Option<(Duration, Duration, u32)> {
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((
        Duration::from_secs(read("tcp_keepalive_time")?),
        Duration::from_secs(read("tcp_keepalive_intvl")?),
        u32::try_from(read("tcp_keepalive_probes")?).ok()?,
    ))
}

/// Sets and reads back `TCP_USER_TIMEOUT` (Linux): the longest sent data may stay
/// unacknowledged before the kernel drops the connection.
#[cfg(target_os = "linux")]
pub fn set_user_timeout(stream: &TcpStream, timeout: Duration) -> io::Result<Option<Duration>> {
    let s = SockRef::from(stream);
    s.set_tcp_user_timeout(Some(timeout))?;
    s.tcp_user_timeout()
}

// ANCHOR: heartbeat
/// The receiving half of an application heartbeat: the peer promises to send something at
/// least every `interval`; after `misses` intervals of silence it is declared dead.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// How often the peer promised to speak.
    pub interval: Duration,
    /// How many silent intervals mean death.
    pub misses: u32,
}

impl Heartbeat {
    /// Reads beats until the peer has been silent for `interval × misses`. Returns how many
    /// bytes (beats) arrived and how long the peer had been silent when declared dead.
    pub fn watch(&self, stream: &mut TcpStream) -> io::Result<(usize, Duration)> {
        let mut beats = 0;
        let mut last_heard = Instant::now();
        let mut buf = [0u8; 64];
        let limit = self.interval * self.misses;
        loop {
            let silent = last_heard.elapsed();
            if silent >= limit {
                return Ok((beats, silent));
            }
            stream.set_read_timeout(Some(limit - silent))?;
            match stream.read(&mut buf) {
                Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer closed")),
                Ok(n) => {
                    beats += n;
                    last_heard = Instant::now();
                }
                Err(e) if is_timeout(&e) => {} // Loop: the silence check decides.
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
// ANCHOR_END: heartbeat

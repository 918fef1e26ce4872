//! The lab: two hosts, the link between them, and the trace of everything that crossed it.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use socklab_support::stop::Stop;
use socklab_support::wait;

use crate::access::{self, Unavailable};
use crate::host::Host;
use crate::impair::LinkConfig;
use crate::link::Link;
use crate::trace::{Packet, Tcp, Trace};

/// The bound on every blocking call of the experiment helpers ([`Lab::connect`],
/// [`Lab::wait_for`], [`accept`]): far longer than any step takes on the lab's link, so it
/// only ever ends a hang.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A private network: host A (`10.77.0.1`, `fd77::1`) and host B (`10.77.0.2`, `fd77::2`),
/// each in a network namespace of its own, joined by a link that the lab runs in user space
/// and that records every packet. Dropping the lab stops the link and frees the namespaces
/// (once no socket made in them is left open).
#[derive(Debug)]
pub struct Lab {
    a: Host,
    b: Host,
    link: Link,
    stop: Stop,
    relays: Vec<JoinHandle<io::Result<()>>>,
    started: SystemTime,
}

impl Lab {
    /// Whether this process can make labs; if not, why and how to allow it.
    pub fn available() -> Result<(), Unavailable> {
        access::check()
    }

    /// Whether a program that calls [`crate::enter_user_namespace`] first thing in `main`
    /// can make labs; if not, why and how to allow it.
    pub fn available_to_programs() -> Result<(), Unavailable> {
        access::check_for_programs()
    }

    /// Makes the two hosts and starts the link between them with `config`.
    pub fn new(config: LinkConfig) -> io::Result<Lab> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        access::check()?;
        Lab::build(config)
    }

    #[cfg(target_os = "linux")]
    fn build(config: LinkConfig) -> io::Result<Lab> {
        use std::sync::Arc;

        use crate::host::{self, A, B};
        use crate::link::{Relay, Shared};
        use crate::trace::Direction;

        let a = host::create("a", A, config.mtu)?;
        let b = host::create("b", B, config.mtu)?;
        let started = SystemTime::now();
        let shared = Arc::new(Shared::new(config));
        let stop = Stop::new()?;
        let (dev_a, dev_b) = (Arc::new(a.device), Arc::new(b.device));
        let mut relays = Vec::new();
        for (direction, from, to) in [
            (Direction::AToB, &dev_a, &dev_b),
            (Direction::BToA, &dev_b, &dev_a),
        ] {
            let relay = Relay {
                direction,
                from: Arc::clone(from),
                to: Arc::clone(to),
                shared: Arc::clone(&shared),
                stop: stop.clone(),
            };
            let name = format!("wire relay {direction:?}");
            relays.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(|| relay.run())?,
            );
        }
        Ok(Lab {
            a: a.host,
            b: b.host,
            link: Link { shared },
            stop,
            relays,
            started,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn build(_config: LinkConfig) -> io::Result<Lab> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the wire lab needs Linux",
        ))
    }

    /// Host A (`10.77.0.1`, `fd77::1`).
    pub fn a(&self) -> &Host {
        &self.a
    }

    /// Host B (`10.77.0.2`, `fd77::2`).
    pub fn b(&self) -> &Host {
        &self.b
    }

    /// The link: cut it, change it, read its clock.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The time on the lab's clock, the one the trace's times are on.
    pub fn now(&self) -> Duration {
        self.link.now()
    }

    /// Every packet that has reached the link so far, decoded.
    pub fn trace(&self) -> Trace {
        let (records, unrecorded) = self.link.shared.records();
        Trace::decode(&records, unrecorded, self.started)
    }

    /// Saves the trace so far as a pcap file (see [`Trace::save_pcap`]).
    pub fn save_pcap(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.trace().save_pcap(path)
    }

    /// A TCP listener on host B at `port` (on B's IPv4 address).
    pub fn listen(&self, port: u16) -> io::Result<TcpListener> {
        let b = &self.b;
        b.run(|| TcpListener::bind(b.addr(port)))?
    }

    /// A TCP connection from host A to a new listener on B's `port`: (the client on A, the
    /// accepted socket on B), each with read and write timeouts of [`STEP_TIMEOUT`].
    pub fn connect(&self, port: u16) -> io::Result<(TcpStream, TcpStream)> {
        let listener = self.listen(port)?;
        let to = self.b.addr(port);
        let client = self
            .a
            .run(|| TcpStream::connect_timeout(&to, STEP_TIMEOUT))??;
        client.set_read_timeout(Some(STEP_TIMEOUT))?;
        client.set_write_timeout(Some(STEP_TIMEOUT))?;
        Ok((client, accept(&listener)?))
    }

    /// Waits (up to [`STEP_TIMEOUT`]) until a TCP segment from or to `port` that `want`
    /// accepts has reached the link (given the packet, for its direction and fate, and the
    /// segment), and returns the packets of `port` then. `what` names the awaited segment in
    /// the error, which also lists the packets seen.
    pub fn wait_for(
        &self,
        port: u16,
        what: &str,
        want: impl Fn(&Packet, &Tcp) -> bool,
    ) -> io::Result<Trace> {
        let mut seen = self.trace().port(port);
        let found = wait::until(STEP_TIMEOUT, what, || {
            seen = self.trace().port(port);
            seen.tcp().any(|(p, t)| want(p, t))
        });
        match found {
            Ok(()) => Ok(seen),
            Err(e) => Err(io::Error::new(e.kind(), format!("{e}; the trace:\n{seen}"))),
        }
    }
}

/// Accepts one connection on `listener`, waiting at most [`STEP_TIMEOUT`], and gives the
/// accepted socket read and write timeouts of [`STEP_TIMEOUT`].
pub fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let mut accepted = None;
    wait::try_until(STEP_TIMEOUT, "a connection to accept", || {
        match listener.accept() {
            Ok((stream, _)) => accepted = Some(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(accepted.is_some())
    })?;
    listener.set_nonblocking(false)?;
    let stream = accepted.expect("try_until returned Ok only once a connection was accepted");
    // On Linux an accepted socket does not inherit O_NONBLOCK; elsewhere it may (chapter 4).
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    stream.set_write_timeout(Some(STEP_TIMEOUT))?;
    Ok(stream)
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.trigger();
        for relay in self.relays.drain(..) {
            // A relay that failed has nothing left to say that a test could use.
            let _ = relay.join();
        }
    }
}

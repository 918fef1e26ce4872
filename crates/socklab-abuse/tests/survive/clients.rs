//! The well-behaved clients that must see every byte back while an attack runs, one kind per
//! protocol, each read, write and connect bounded by its patience.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::data::{Checksum, Generator};

use super::servers::Protocol;

/// What the well-behaved clients saw.
#[derive(Debug, Clone, Copy)]
pub struct WellBehaved {
    /// Round trips completed, all clients together.
    pub round_trips: u64,
    /// Whether every client got back exactly the bytes it sent (length and CRC-32), or, from
    /// the sink, the count of every byte it sent.
    pub intact: bool,
    /// The slowest single round trip.
    pub slowest: Duration,
}

/// One well-behaved client.
pub enum Client {
    /// Echoes frames on one connection, opened before the attack.
    Frames(tcp_demo::Client),
    /// Sends a request per connection, half-closes, reads the reply to the end.
    HalfClose {
        /// The server.
        addr: SocketAddr,
        /// The bound on every connect, read and write.
        patience: Duration,
    },
    /// Sends a transfer per connection (the sink's protocol has no other way).
    Sink {
        /// The sink.
        addr: SocketAddr,
        /// The bound on every connect, read and write.
        patience: Duration,
    },
}

/// Connects `clients` well-behaved clients, each read, write and connect bounded by
/// `patience`. The suite connects them *before* an attack starts: the claim under test is that
/// clients already being served keep being served. (A client arriving in the middle of a
/// flood may rightly be turned away: the server is at its limit.)
pub fn connect_clients(
    protocol: Protocol,
    addr: SocketAddr,
    clients: usize,
    patience: Duration,
) -> io::Result<Vec<Client>> {
    (0..clients)
        .map(|_| match protocol {
            Protocol::Frames => tcp_demo::Client::connect(addr, patience).map(Client::Frames),
            Protocol::HalfClose => Ok(Client::HalfClose { addr, patience }),
            Protocol::Sink => Ok(Client::Sink { addr, patience }),
        })
        .collect()
}

/// Each client, on its own thread, sends random messages (up to 64 KiB) until `stop` is set
/// (and at least one each); a round trip slower than the patience it connected with fails the
/// run.
pub fn well_behaved(clients: Vec<Client>, stop: Arc<AtomicBool>) -> io::Result<WellBehaved> {
    let workers: Vec<_> = clients
        .into_iter()
        .zip(0u64..)
        .map(|(mut client, seed)| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || -> io::Result<(u64, bool, Duration)> {
                let mut rng = Generator::new(seed);
                let (mut sent, mut got) = (Checksum::new(), Checksum::new());
                let (mut trips, mut slowest) = (0u64, Duration::ZERO);
                while trips == 0 || !stop.load(Ordering::Relaxed) {
                    let mut msg = vec![0u8; rng.size(0, 64 * 1024)];
                    rng.fill(&mut msg);
                    sent.update(&msg);
                    let t = Instant::now();
                    got.update(&client.round_trip(&msg)?);
                    slowest = slowest.max(t.elapsed());
                    trips += 1;
                }
                Ok((trips, sent.digest() == got.digest(), slowest))
            })
        })
        .collect();
    let mut out = WellBehaved {
        round_trips: 0,
        intact: true,
        slowest: Duration::ZERO,
    };
    for w in workers {
        let (trips, intact, slowest) = w
            .join()
            .map_err(|_| io::Error::other("client panicked"))??;
        out.round_trips += trips;
        out.intact &= intact;
        out.slowest = out.slowest.max(slowest);
    }
    Ok(out)
}

impl Client {
    /// Sends `msg` and returns what the server answered for it: the echo, or `msg` itself if
    /// the half-close server's reply or the sink's count was exactly right for it, and an
    /// error otherwise.
    fn round_trip(&mut self, msg: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Client::Frames(client) => client.echo(msg),
            Client::HalfClose { addr, patience } => {
                let mut stream = TcpStream::connect_timeout(addr, *patience)?;
                stream.set_read_timeout(Some(*patience))?;
                stream.set_write_timeout(Some(*patience))?;
                stream.write_all(msg)?;
                stream.shutdown(Shutdown::Write)?; // FIN: "that was the whole request".
                let mut reply = Vec::new();
                stream.read_to_end(&mut reply)?; // Until the server closes.
                let header = format!("{} bytes received\n", msg.len());
                match reply.strip_prefix(header.as_bytes()) {
                    Some(echo) if echo == msg => Ok(msg.to_vec()),
                    _ => Err(io::Error::other(format!(
                        "sent {} bytes, the reply was {} bytes and not `{}` and the request",
                        msg.len(),
                        reply.len(),
                        header.trim_end()
                    ))),
                }
            }
            Client::Sink { addr, patience } => {
                let mut stream = TcpStream::connect_timeout(addr, *patience)?;
                stream.set_read_timeout(Some(*patience))?;
                stream.set_write_timeout(Some(*patience))?;
                stream.write_all(msg)?;
                stream.shutdown(Shutdown::Write)?; // "That is all": the count follows.
                let mut count = [0u8; 8];
                stream.read_exact(&mut count)?;
                match u64::from_be_bytes(count) {
                    n if n == msg.len() as u64 => Ok(msg.to_vec()),
                    n => Err(io::Error::other(format!(
                        "sent {} bytes, the sink counted {n}",
                        msg.len()
                    ))),
                }
            }
        }
    }
}

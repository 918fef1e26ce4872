//! What the labs' graders share: the student's server run as a process of its own, as a user
//! would run it; what the kernel says that process holds; and well-behaved clients that check
//! every byte they get back.
//!
//! - [`Server`]: starts a lab's binary, reads its `listening on ADDR` line, keeps the end of
//!   its standard error (a panic's message, `not yet implemented` in a kit), says whether it
//!   still runs, and stops it with `SIGTERM`.
//! - [`Held`]: the process's connections and threads, counted by the kernel
//!   (`/proc/PID/fd`, `/proc/PID/task`; Linux). A server's own counters could only say what
//!   it *thinks* it holds.
//! - [`Clients`]: echo clients for chapter 1's frames, each sending random messages and
//!   comparing the CRC-32 of what came back with what went.
//! - [`relay`]: a bad link on loopback (loss, duplication, reordering, a cut) between two UDP
//!   sockets, with the wire lab's rules, counting what each side put on it.

// Each grader uses part of it.
#![allow(dead_code)]

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socklab_abuse::wire;
use socklab_support::data::{Checksum, Generator};
use socklab_support::wait;

pub mod relay;

/// How long a server may take to print `listening on ADDR`.
const START: Duration = Duration::from_secs(10);
/// The pause after each round trip of a well-behaved client.
const PACE: Duration = Duration::from_millis(1);
/// Lines of the server's standard error kept for failure messages.
const KEPT_LINES: usize = 20;

/// A lab's server, running; killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens, from its first line.
    pub addr: SocketAddr,
    /// The last lines of its standard error.
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_done: mpsc::Receiver<()>,
}

impl Server {
    /// Starts `bin` with `args` and reads its first line, `listening on ADDR`.
    pub fn start(bin: &str, args: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(bin)
            .args(args)
            // A panic's message in a few lines, not pushed out of the kept lines by a
            // backtrace.
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {bin}: {e}"))?;
        // Its standard error is read all along (a server that logs every connection would
        // otherwise block on a full pipe); the last lines are kept.
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (done_tx, stderr_done) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        let kept = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut kept = kept.lock().unwrap();
                if kept.len() == KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            let _ = done_tx.send(());
        });
        // The first line is read on a thread, so that the wait is bounded.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Anything after the first line is read and dropped, so the server never blocks.
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let mut server = Server {
            child,
            addr: ([127, 0, 0, 1], 0).into(),
            stderr,
            stderr_done,
        };
        let line = match rx.recv_timeout(START) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("reading its first line: {e}{}", server.fate())),
            Err(_) => return Err(format!("no first line within {START:?}{}", server.fate())),
        };
        server.addr = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                format!(
                    "its first line should be `listening on ADDR`, it was {line:?}{}",
                    server.fate()
                )
            })?;
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Ok` while the server runs; once it has exited, how it ended and its last words.
    pub fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(self.ended(status)),
            Err(e) => Err(format!("cannot tell whether the server runs: {e}")),
        }
    }

    /// What to add to a failure's message: nothing if the server still runs (after a short
    /// look: a server that crashed takes a moment to be reaped), else how it ended.
    pub fn fate(&mut self) -> String {
        let status = wait::last(
            Duration::from_millis(500),
            || self.child.try_wait(),
            |s| !matches!(s, Ok(None)),
        );
        match status {
            Ok(Some(status)) => format!("\n{}", self.ended(status)),
            _ => String::new(),
        }
    }

    /// How the server ended, with the end of its standard error (the panic, if it panicked).
    fn ended(&self, status: ExitStatus) -> String {
        // Its standard error ends when it does: wait (bounded) for the last lines.
        let _ = self.stderr_done.recv_timeout(Duration::from_secs(2));
        format!(
            "the server has exited ({status}); its standard error ended with:\n{}",
            self.stderr_tail()
        )
    }

    /// The last lines of its standard error, indented.
    pub fn stderr_tail(&self) -> String {
        let kept = self.stderr.lock().unwrap();
        kept.iter().map(|l| format!("    {l}\n")).collect()
    }

    /// Sends `SIGTERM` and waits up to `limit` for the process to exit; returns its status
    /// and how long it took, or an error if it is still running at `limit` (it is then
    /// killed).
    pub fn terminate(&mut self, limit: Duration) -> Result<(ExitStatus, Duration), String> {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .map_err(|e| format!("cannot send SIGTERM: {e}"))?;
        let sent = Instant::now();
        let status = wait::last(limit, || self.child.try_wait(), |s| !matches!(s, Ok(None)));
        match status {
            Ok(Some(status)) => Ok((status, sent.elapsed())),
            Ok(None) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(format!(
                    "still running {limit:?} after SIGTERM (killed); its standard error ended \
                     with:\n{}",
                    self.stderr_tail()
                ))
            }
            Err(e) => Err(format!("waiting for the server: {e}")),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a process holds at one moment, by the kernel's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Its distinct sockets (a descriptor duplicated with `dup` or `try_clone` is still one
    /// socket, one connection).
    pub sockets: usize,
    /// Its open descriptors.
    pub fds: usize,
    /// Its threads.
    pub threads: usize,
}

impl Held {
    /// What process `pid` holds now, where the system has `/proc` (Linux); `None` elsewhere,
    /// or if the process is gone.
    pub fn of(pid: u32) -> Option<Held> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let mut sockets = BTreeSet::new();
        let mut fds = 0;
        for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
            fds += 1;
            if let Ok(target) = std::fs::read_link(entry.path()) {
                let target = target.to_string_lossy().into_owned();
                if target.starts_with("socket:") {
                    sockets.insert(target);
                }
            }
        }
        let threads = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.count();
        Some(Held {
            sockets: sockets.len(),
            fds,
            threads,
        })
    }

    /// The process's peak resident memory so far, in bytes (`VmHWM`; Linux).
    pub fn peak_memory(pid: u32) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Waits up to `limit` for process `pid` to be back to `baseline` or below (a closed
    /// connection's thread ends a moment after its socket closes); an error says what is
    /// still above it.
    pub fn back_to(pid: u32, baseline: &Held, limit: Duration) -> Result<(), String> {
        let above = |h: &Held| {
            h.sockets > baseline.sockets || h.fds > baseline.fds || h.threads > baseline.threads
        };
        match wait::last(
            limit,
            || Held::of(pid),
            |h| h.as_ref().is_none_or(|h| !above(h)),
        ) {
            Some(h) if above(&h) => Err(format!(
                "{limit:?} after the attack it still held {} sockets, {} descriptors and {} \
                 threads; before it, {}, {} and {} (a connection or a thread leaked)",
                h.sockets, h.fds, h.threads, baseline.sockets, baseline.fds, baseline.threads
            )),
            _ => Ok(()),
        }
    }
}

/// The most a sampler saw a process hold, watched until dropped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<Option<Held>>>,
}

impl Sampler {
    /// Samples process `pid` every millisecond or so until [`Sampler::peak`].
    pub fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut peak: Option<Held> = None;
            while !flag.load(Ordering::Relaxed) {
                let Some(now) = Held::of(pid) else { break };
                peak = Some(match peak {
                    None => now,
                    Some(p) => Held {
                        sockets: p.sockets.max(now.sockets),
                        fds: p.fds.max(now.fds),
                        threads: p.threads.max(now.threads),
                    },
                });
                thread::sleep(Duration::from_millis(1)); // The sampling period.
            }
            peak
        });
        Sampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns the peak of each count.
    pub fn peak(mut self) -> Option<Held> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok()).flatten()
    }
}

/// What the well-behaved clients saw.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// Round trips completed, all clients together.
    pub round_trips: u64,
    /// Bytes sent, all clients together.
    pub sent: u64,
    /// Whether every client got back exactly what it sent (length and CRC-32, in order).
    pub intact: bool,
    /// The slowest single round trip.
    pub slowest: Duration,
}

/// Echo clients for chapter 1's frames, connected and ready.
pub struct Clients {
    streams: Vec<TcpStream>,
}

impl Clients {
    /// Connects `n` clients to `addr`, each connect, read and write bounded by `patience`.
    pub fn connect(addr: SocketAddr, n: usize, patience: Duration) -> io::Result<Clients> {
        let streams = (0..n)
            .map(|_| {
                let s = TcpStream::connect_timeout(&addr, patience)?;
                s.set_read_timeout(Some(patience))?;
                s.set_write_timeout(Some(patience))?;
                s.set_nodelay(true)?;
                Ok(s)
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Clients { streams })
    }

    /// Each client, on a thread of its own, sends random messages of `0..=max` bytes and reads
    /// each echo, about one a millisecond, until `stop` is set (and at least `at_least` round
    /// trips each). An error
    /// (a reset, a close, a timeout) is the first client's that failed.
    pub fn run(self, max: usize, at_least: u64, stop: Arc<AtomicBool>) -> io::Result<Seen> {
        let workers: Vec<_> = self
            .streams
            .into_iter()
            .zip(1u64..)
            .map(|(mut stream, seed)| {
                let stop = Arc::clone(&stop);
                thread::spawn(move || -> io::Result<Seen> {
                    let mut rng = Generator::new(seed);
                    let (mut sent, mut got) = (Checksum::new(), Checksum::new());
                    let (mut trips, mut slowest) = (0u64, Duration::ZERO);
                    while trips < at_least || !stop.load(Ordering::Relaxed) {
                        let mut msg = vec![0u8; rng.size(0, max)];
                        rng.fill(&mut msg);
                        sent.update(&msg);
                        let t = Instant::now();
                        stream.write_all(&wire::frame(&msg))?;
                        match wire::read_frame(&mut stream, max)? {
                            Some(echo) => got.update(&echo),
                            None => {
                                return Err(io::Error::new(
                                    ErrorKind::UnexpectedEof,
                                    "the server closed a well-behaved client's connection",
                                ));
                            }
                        }
                        slowest = slowest.max(t.elapsed());
                        trips += 1;
                        // Pacing, so that four clients do not take both cores of a small CI
                        // machine from the server and the attack they run beside (nothing
                        // waits on this sleep).
                        thread::sleep(PACE);
                    }
                    Ok(Seen {
                        round_trips: trips,
                        sent: sent.len(),
                        intact: sent.digest() == got.digest(),
                        slowest,
                    })
                })
            })
            .collect();
        let mut all = Seen {
            round_trips: 0,
            sent: 0,
            intact: true,
            slowest: Duration::ZERO,
        };
        let mut first_error = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(seen)) => {
                    all.round_trips += seen.round_trips;
                    all.sent += seen.sent;
                    all.intact &= seen.intact;
                    all.slowest = all.slowest.max(seen.slowest);
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(io::Error::other("a client thread panicked"));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(all),
        }
    }
}

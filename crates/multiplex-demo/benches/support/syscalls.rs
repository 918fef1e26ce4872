//! The models benchmark's two aids for figures a shared machine cannot shake: pinning
//! (`sched_setaffinity(2)`: the server on one CPU, the load generator on another) and system
//! calls per request, counted by `strace -c -f` attached to a server process over a fixed
//! load: chapter 11's method (`uring-demo/tests/syscalls.rs`), applied to every model. Each
//! server is counted in a process of its own: `-f` attaches every thread of the process it is
//! given (and follows the threads they start, such as chapter 1's thread per connection), so
//! the benchmark's own threads, and the load generator it starts, must be elsewhere.
//!
//! Counts do not drift with the machine's speed the way requests/s do: at one connection they
//! are exact; with many, how many ready sockets one wait returns still depends on timing (and
//! strace slows the server, which favours batching), so they are read as a cost per request
//! of each model under the same load, not as a constant of nature.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long strace may take to attach, and to write its summary once told to stop.
const STRACE_LIMIT: Duration = Duration::from_secs(20);
/// How long a server may take to close the load's connections after the load exits.
const CLOSE_LIMIT: Duration = Duration::from_secs(60);

/// A set holding the one CPU `cpu`.
fn one(cpu: usize) -> CpuSet {
    let mut set = CpuSet::new();
    let _ = set.set(cpu);
    set
}

/// Where the server and the load generator run: two different CPUs of those this process may
/// use.
#[derive(Debug, Clone, Copy)]
pub struct Pinning {
    pub server: usize,
    pub load: usize,
    allowed: CpuSet,
}

impl Pinning {
    /// Pins the calling thread to the server's CPU, so that every server thread and process
    /// it starts from now on runs there too; `None` (and nothing pinned) when this process
    /// may use fewer than two CPUs.
    pub fn server_here() -> Option<Pinning> {
        let allowed = sched_getaffinity(Pid::from_raw(0)).ok()?;
        let cpus: Vec<usize> = (0..CpuSet::count())
            .filter(|&i| allowed.is_set(i).unwrap_or(false))
            .collect();
        let (&server, &load) = (cpus.first()?, cpus.get(1)?);
        sched_setaffinity(Pid::from_raw(0), &one(server)).ok()?;
        Some(Pinning {
            server,
            load,
            allowed,
        })
    }

    /// Moves the load generator `child` (single-threaded) to the load's CPU.
    pub fn load(&self, child: u32) {
        let _ = sched_setaffinity(pid(child), &one(self.load));
    }

    /// Lets `child` (strace) run on any CPU this process was allowed.
    pub fn anywhere(&self, child: u32) {
        let _ = sched_setaffinity(pid(child), &self.allowed);
    }
}

fn pid(id: u32) -> Pid {
    Pid::from_raw(i32::try_from(id).expect("a pid fits in i32"))
}

/// What strace counted over one load.
#[derive(Debug, Clone)]
pub struct Counted {
    pub total: u64,
    /// The calls by name, most frequent first.
    pub by_call: Vec<(String, u64)>,
}

/// strace, attached and counting; stopped by [`Strace::finish`].
pub struct Strace {
    child: Child,
    out: PathBuf,
}

impl Drop for Strace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.out);
    }
}

/// Whether strace runs here at all; `Err` says why not.
pub fn strace_available() -> Result<(), String> {
    match Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`strace -V` failed ({s})")),
        Err(e) => Err(format!(
            "strace is not installed ({e}; apt-get install strace)"
        )),
    }
}

/// Attaches `strace -c -f` to the process `server` and returns once it traces it.
pub fn attach(server: u32, pinning: Option<&Pinning>) -> Result<Strace, String> {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "multiplex-demo-models-strace-{}-{n}",
        std::process::id()
    ));
    let mut cmd = Command::new("strace");
    cmd.args(["-c", "-f", "-o"])
        .arg(&out)
        .args(["-p", &server.to_string()]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    if let Some(p) = pinning {
        p.anywhere(child.id());
    }
    let stderr = child.stderr.take().ok_or("strace has no stderr")?;
    let strace = Strace { child, out };
    // strace says "Process N attached" on stderr for each thread it traces.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end even once nobody listens: strace announces every thread it follows
        // (`-f`), and a closed pipe would kill it mid-count.
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            let _ = tx.send(line);
        }
    });
    // "Process N attached with M threads": strace has seized every thread of it.
    match rx.recv_timeout(STRACE_LIMIT) {
        Ok(line) if line.contains("attached") => Ok(strace),
        Ok(line) => Err(format!("strace could not attach: {line}")),
        Err(_) => Err(format!("strace did not attach within {STRACE_LIMIT:?}")),
    }
}

impl Strace {
    /// Tells strace to stop (SIGINT, as Ctrl-C would) and reads its summary.
    pub fn finish(mut self) -> Result<Counted, String> {
        kill(pid(self.child.id()), Signal::SIGINT).map_err(|e| format!("signal strace: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let mut child = std::mem::replace(
            &mut self.child,
            Command::new("true")
                .spawn()
                .map_err(|e| format!("cannot run true: {e}"))?,
        );
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(STRACE_LIMIT) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("waiting for strace: {e}")),
            Err(_) => return Err(format!("strace did not stop within {STRACE_LIMIT:?}")),
        }
        let text =
            std::fs::read_to_string(&self.out).map_err(|e| format!("no strace summary: {e}"))?;
        parse(&text).ok_or_else(|| format!("no total in strace's summary:\n{text}"))
    }
}

/// strace's `-c` table: `% time  seconds  usecs/call  calls  [errors]  syscall`, then a `total`
/// line.
fn parse(text: &str) -> Option<Counted> {
    let mut by_call = Vec::new();
    let mut total = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(calls)) = (words.last(), words.get(3)) else {
            continue;
        };
        let Ok(calls) = calls.parse::<u64>() else {
            continue;
        };
        match *name {
            "total" => total = Some(calls),
            name => by_call.push((name.to_string(), calls)),
        }
    }
    by_call.sort_by_key(|c| std::cmp::Reverse(c.1));
    Some(Counted {
        total: total?,
        by_call,
    })
}

/// Waits until the server at `addr` holds no connection any more (none of its sockets in
/// `/proc/net/tcp` but the listener), so that a count includes every close.
pub fn wait_until_closed(addr: SocketAddr) -> Result<(), String> {
    let port = format!(":{:04X} ", addr.port());
    socklab_support::wait::until(CLOSE_LIMIT, "the server to close every connection", || {
        std::fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
            !table.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // local_address ends with the port; state 0A is LISTEN.
                f.get(1)
                    .is_some_and(|local| format!("{local} ").ends_with(&port))
                    && f.get(3) != Some(&"0A")
            })
        })
    })
    .map_err(|e| e.to_string())
}

//! Nodes as real processes: `p2p-demo node ...` started by a test, as a user would start
//! them, so that a test can stop one (`SIGSTOP`), kill it (`SIGKILL`) or terminate it
//! (`SIGTERM`). Each line a node prints is read on a thread of its own and stamped with the
//! moment the test received it; the test looks for lines with a bound on every wait.

// Shared by several test binaries, each of which uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use socklab_support::wait;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_p2p-demo");

/// The bound on every wait for a line: far longer than anything takes on loopback.
pub const LIMIT: Duration = Duration::from_secs(20);

/// One line a node printed, and when the test read it.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its position among the node's lines, from 0.
    pub index: usize,
    /// When the test's reader thread received it.
    pub at: Instant,
    /// The line, without its newline.
    pub text: String,
}

/// A running `p2p-demo node`; killed when dropped.
pub struct NodeProcess {
    /// Its `--id`.
    pub id: u64,
    /// The address from its `listening on ADDR` line.
    pub addr: SocketAddr,
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Line>,
    /// Every line read so far, in order.
    pub lines: Vec<Line>,
    stderr: Arc<Mutex<String>>,
}

/// Starts node `id` listening on `listen`, dialing `peers`, with `extra` arguments.
pub fn spawn(id: u64, listen: &str, peers: &[SocketAddr], extra: &[&str]) -> NodeProcess {
    let mut args = vec![
        "node".to_string(),
        "--listen".into(),
        listen.into(),
        "--id".into(),
        id.to_string(),
    ];
    for p in peers {
        args.push("--peer".into());
        args.push(p.to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start p2p-demo node");
    let stdout = child.stdout.take().expect("piped");
    let (tx, incoming) = mpsc::channel();
    thread::spawn(move || {
        for text in BufReader::new(stdout).lines() {
            let Ok(text) = text else { return };
            if tx
                .send(Line {
                    index: 0, // Numbered as the test takes it.
                    at: Instant::now(),
                    text,
                })
                .is_err()
            {
                return;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    {
        let (mut pipe, sink) = (child.stderr.take().expect("piped"), stderr.clone());
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
    }
    let stdin = child.stdin.take();
    let mut node = NodeProcess {
        id,
        addr: "0.0.0.0:0".parse().unwrap(),
        child,
        stdin,
        incoming,
        lines: Vec::new(),
        stderr,
    };
    let first = node.wait_for(0, "listening on ");
    node.addr = first
        .text
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("a listening line, got {:?}", first.text));
    node
}

/// A mesh of `n` node processes with ids 1 to n: node k dials nodes 1 to k - 1 (the others
/// learn its address from its hello). Returns once every node sees all n.
pub fn mesh(n: u64, extra: &[&str]) -> Vec<NodeProcess> {
    let mut nodes: Vec<NodeProcess> = Vec::new();
    for id in 1..=n {
        let peers: Vec<SocketAddr> = nodes.iter().map(|p| p.addr).collect();
        nodes.push(spawn(id, "127.0.0.1:0", &peers, extra));
    }
    let all = view_of(1..=n);
    for node in &mut nodes {
        node.wait_for(0, &all);
    }
    nodes
}

/// `view [1 2 3]`, as nodes print it.
pub fn view_of(ids: impl IntoIterator<Item = u64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
    format!("view [{}]", ids.join(" "))
}

impl NodeProcess {
    /// How many lines were read so far: a mark to look for lines after it.
    pub fn mark(&mut self) -> usize {
        self.pump(Duration::ZERO);
        self.lines.len()
    }

    /// Takes whatever lines have arrived, waiting at most `wait` for the first.
    fn pump(&mut self, wait: Duration) -> bool {
        let first = match self.incoming.recv_timeout(wait) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        };
        for mut line in std::iter::once(first).chain(self.incoming.try_iter()) {
            line.index = self.lines.len();
            self.lines.push(line);
        }
        true
    }

    /// The first line from index `from` on that contains `needle`, waiting (at most
    /// [`LIMIT`]) for it to be printed. Fails the test, showing everything the node printed,
    /// if it never is.
    pub fn wait_for(&mut self, from: usize, needle: &str) -> Line {
        self.wait_for_within(from, needle, LIMIT)
            .unwrap_or_else(|| {
                panic!(
                    "node {}: no line with {needle:?}:\n{}",
                    self.id,
                    self.dump()
                )
            })
    }

    /// Like [`Self::wait_for`], `None` at `limit`.
    pub fn wait_for_within(&mut self, from: usize, needle: &str, limit: Duration) -> Option<Line> {
        let started = Instant::now();
        let mut checked = from;
        loop {
            if let Some(line) = self
                .lines
                .iter()
                .skip(checked)
                .find(|l| l.text.contains(needle))
            {
                return Some(line.clone());
            }
            checked = checked.max(self.lines.len());
            let left = limit.checked_sub(started.elapsed())?;
            if !self.pump(left.min(Duration::from_millis(50))) && self.lines.len() == checked {
                return None; // The node exited and nothing more will come.
            }
        }
    }

    /// Every line from `from` on that contains `needle`, without waiting.
    pub fn all_with(&mut self, from: usize, needle: &str) -> Vec<Line> {
        self.pump(Duration::ZERO);
        self.lines
            .iter()
            .skip(from)
            .filter(|l| l.text.contains(needle))
            .cloned()
            .collect()
    }

    /// Everything it printed so far, for failure messages.
    pub fn dump(&self) -> String {
        let out: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        format!(
            "{}\nstderr: {}",
            out.join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("a pid fits in i32"));
        kill(pid, signal).expect("send the signal");
    }

    /// Types one line into the node, which broadcasts it.
    pub fn say(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{text}").expect("write to the node");
        stdin.flush().expect("flush");
    }

    /// Waits (at most [`LIMIT`]) for the process to exit after a signal; returns its exit code
    /// (`None` if a signal ended it) and reads the lines it printed to the end.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let started = Instant::now();
        while self.pump(Duration::from_millis(50)) {
            assert!(
                started.elapsed() < LIMIT,
                "node {} did not exit:\n{}",
                self.id,
                self.dump()
            );
        }
        // Its standard output is closed: the process is exiting, if not gone already.
        let child = &mut self.child;
        let code = wait::last(
            LIMIT,
            || child.try_wait().expect("wait for the node"),
            Option::is_some,
        );
        code.unwrap_or_else(|| panic!("node {} did not exit", self.id))
            .code()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Running the course's binaries from tests, the way a user would: with arguments (and
//! standard input), bounded in time, with the exit code and both outputs collected; and
//! starting a server and reading the `listening on ADDR` line it prints first.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::time::Duration;

use crate::within;

/// What a finished run of a binary produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `bin` with `args` and `stdin`, and fails the test if it has not finished in `limit`.
pub fn run_with_input(bin: &str, args: &[&str], stdin: &[u8], limit: Duration) -> Output {
    let (bin, stdin) = (bin.to_string(), stdin.to_vec());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    within(limit, &format!("running {bin}"), move || {
        let mut child = Command::new(&bin)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        // A program that exits without reading its input closes the pipe: not our failure.
        let _ = child.stdin.take().expect("stdin").write_all(&stdin);
        let out = child.wait_with_output().expect("wait for the binary");
        let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
        Output {
            code: out.status.code(),
            stdout: text(out.stdout),
            stderr: text(out.stderr),
        }
    })
}

/// Runs `bin` with `args` and no input.
pub fn run(bin: &str, args: &[&str], limit: Duration) -> Output {
    run_with_input(bin, args, b"", limit)
}

/// A server process started by [`start_server`]; killed when dropped, unless stopped first
/// with [`ServerProcess::terminate`].
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: String,
    /// The rest of its standard output, after the `listening on` line.
    stdout: Option<BufReader<ChildStdout>>,
}

impl ServerProcess {
    /// The address from its `listening on ADDR` line.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The server's process id, to signal it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `SIGTERM`, as a service manager or `kill` would, and waits (at most `limit`) for
    /// the process to exit; returns its exit code and everything it printed after its first
    /// line. Fails the test if it is still running after `limit`.
    pub fn terminate(mut self, limit: Duration) -> Output {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("a pid fits in i32"));
        kill(pid, Signal::SIGTERM).expect("send SIGTERM");
        let mut child = std::mem::replace(&mut self.child, placeholder());
        let stdout = self.stdout.take();
        within(limit, "the server to exit after SIGTERM", move || {
            let mut rest = String::new();
            if let Some(mut out) = stdout {
                out.read_to_string(&mut rest)
                    .expect("read the server's output");
            }
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                err.read_to_string(&mut stderr)
                    .expect("read the server's errors");
            }
            let status = child.wait().expect("wait for the server");
            Output {
                code: status.code(),
                stdout: rest,
                stderr,
            }
        })
    }
}

/// A process that has already exited, left in place of a child handed to another thread, so
/// that `Drop` has something harmless to kill.
fn placeholder() -> Child {
    let mut child = Command::new("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start `true`");
    let _ = child.wait();
    child
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` with `args` and waits (at most `limit`) for its first line,
/// `listening on ADDR`, which every server of the course prints first.
pub fn start_server(bin: &str, args: &[&str], limit: Duration) -> ServerProcess {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let (line, reader) = within(limit, "the server's first line", move || {
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut line).expect("read the first line");
        (line, reader)
    });
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the first line should be `listening on ADDR`, got {line:?}"))
        .to_string();
    ServerProcess {
        child,
        addr,
        stdout: Some(reader),
    }
}

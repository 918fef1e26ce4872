//! Running the course's binaries from tests, the way a user would: with arguments (and
//! standard input), bounded in time, with the exit code and both outputs collected; and
//! starting a server and reading the `listening on ADDR` line it prints first.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

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
/// `listening on ADDR`, which every server of the course prints first. Its standard error is
/// kept for [`ServerProcess::terminate`]. Fails the test if the server does not start or
/// does not say where it listens.
pub fn start_server(bin: &str, args: &[&str], limit: Duration) -> ServerProcess {
    let mut cmd = Command::new(bin);
    cmd.args(args).stderr(Stdio::piped());
    spawn_server(&mut cmd, limit).unwrap_or_else(|e| panic!("starting {bin}: {e}"))
}

/// Starts the server `cmd` describes and waits (at most `limit`) for its first line,
/// `listening on ADDR`; an error, not a panic, if it does not come, for tools that report
/// failures as one line (xtask). Standard input is closed and standard output piped; standard
/// error is left as `cmd` sets it (a server that will log a lot should not write into a pipe
/// nobody reads: give it `Stdio::null()`). The process is killed if it fails to start
/// properly, and when the returned handle is dropped.
pub fn spawn_server(cmd: &mut Command, limit: Duration) -> io::Result<ServerProcess> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    // The first line is read on a thread, so that the wait has a bound; a server that never
    // prints is killed, which closes the pipe and ends that thread too.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        let read = reader.read_line(&mut line).map(|_| (line, reader));
        let _ = tx.send(read);
    });
    let first = match rx.recv_timeout(limit) {
        Ok(Ok((line, reader))) => listening_addr(&line)
            .map(|addr| (addr.to_string(), reader))
            .ok_or_else(|| {
                io::Error::new(
                    ErrorKind::InvalidData,
                    format!("the first line should be `listening on ADDR`, got {line:?}"),
                )
            }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("no `listening on ADDR` line within {limit:?}"),
        )),
    };
    match first {
        Ok((addr, reader)) => Ok(ServerProcess {
            child,
            addr,
            stdout: Some(reader),
        }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// The address in a server's first line, `listening on ADDR` (anything after the address,
/// such as ` (epoll)`, is ignored).
pub fn listening_addr(line: &str) -> Option<&str> {
    line.strip_prefix("listening on ")?
        .split_whitespace()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address is the word after `listening on`; anything else is not a listening line.
    #[test]
    fn the_listening_line_is_parsed() {
        assert_eq!(
            listening_addr("listening on 127.0.0.1:4000\n"),
            Some("127.0.0.1:4000")
        );
        assert_eq!(
            listening_addr("listening on [::1]:9 (epoll)"),
            Some("[::1]:9")
        );
        assert_eq!(listening_addr("error: port in use"), None);
        assert_eq!(listening_addr("listening on "), None);
    }

    /// A program that prints its address is started and its address read; one that prints
    /// something else, or nothing within the bound, is an error (not a panic) and is killed.
    #[test]
    fn servers_that_do_not_say_where_they_listen_are_errors() {
        let server = spawn_server(
            Command::new("sh").args(["-c", "echo listening on 127.0.0.1:7; exec sleep 30"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(server.addr(), "127.0.0.1:7");
        let err = spawn_server(
            Command::new("sh").args(["-c", "echo hello; exec sleep 30"]),
            Duration::from_secs(10),
        )
        .unwrap_err();
        assert!(err.to_string().contains("got \"hello\\n\""), "{err}");
        let started = std::time::Instant::now();
        let err =
            spawn_server(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the silent one was killed"
        );
    }
}

//! Running a tool of the operating system (`ss`, `nc`, `strace`) on a demo's own sockets, and
//! showing it the way a reader would type and see it: the command line, then the tool's output.
//!
//! The chapters' `look` subcommands use it. Each sets up the sockets its chapter talks about (a
//! listener with clients waiting, a full send queue, a half-closed connection), runs the tool
//! on them, and prints what the tool printed: so a "look with your OS" transcript in the book
//! is one command, and what it shows is the tool's own output, not a retelling. The reader can
//! type the same command line in a second terminal next to a running server.
//!
//! A missing tool is one error that names it and the package it comes in; every run is
//! bounded. The command line and the output are indented like a demo's explanations.

use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// What the command line and the tool's lines are indented by, as a demo's explanations are:
/// a transcript in the book reads a line that starts with `$ ` as a command of its own.
const INDENT: &str = "   ";

/// The Debian package each tool comes in, for the error when it is missing.
pub fn package(tool: &str) -> &str {
    match tool {
        "ss" => "iproute2",
        "nc" => "netcat-openbsd",
        other => other,
    }
}

/// Where `tool` is on `PATH`, if it is installed.
pub fn find(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// What a tool printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Its standard output, each line's trailing spaces trimmed (ss pads its columns), not
    /// indented.
    pub stdout: String,
    /// Its exit code (`None` if a signal ended it).
    pub code: Option<i32>,
}

/// Runs `tool` with `args` and `input` on its standard input; prints `$ tool args` (piped
/// input shown as `echo ... |` or `printf '...' |`), then the tool's standard output, to ours,
/// indented by three spaces, and returns the output as the tool printed it (each line's
/// trailing spaces trimmed). Standard error is passed through. Fails if the tool cannot be
/// started (`NotFound` when it is not installed) or has not finished within `limit`.
pub fn show(tool: &str, args: &[&str], input: &[u8], limit: Duration) -> io::Result<Shown> {
    // The command line first, as a terminal shows it: what the program under study logs while
    // the tool runs comes after it.
    let mut line = std::iter::once(tool)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    if !input.is_empty() {
        line = format!("{} | {line}", shell_input(input));
    }
    {
        let mut w = io::stdout().lock();
        writeln!(w, "{INDENT}$ {line}")?;
        w.flush()?;
    }
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            let why = if e.kind() == io::ErrorKind::NotFound {
                format!("not installed (it comes in the package {})", package(tool))
            } else {
                e.to_string()
            };
            io::Error::new(e.kind(), format!("cannot run `{tool}`: {why}"))
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    let piped = input.to_vec();
    // A tool that exits without reading its input closes the pipe: not an error here.
    let feeder = thread::spawn(move || {
        let _ = stdin.write_all(&piped);
    });
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out?,
        Err(_) => {
            // Still running: end it, so no tool outlives the demo that started it.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("`{tool}` did not finish within {limit:?}"),
            ));
        }
    };
    let _ = feeder.join();
    let stdout: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    let mut w = io::stdout().lock();
    for l in stdout.lines() {
        writeln!(w, "{}", format!("{INDENT}{l}").trim_end())?;
    }
    w.flush()?;
    Ok(Shown {
        stdout,
        code: out.status.code(),
    })
}

/// A shell command that prints `input`: `echo` for one line of plain text (a transcript
/// would read a backslash as a Windows path separator), `printf` with escapes for the rest.
fn shell_input(input: &[u8]) -> String {
    match input.strip_suffix(b"\n") {
        Some(line)
            if !line.is_empty()
                && line
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b" .,:=+-_/".contains(b)) =>
        {
            format!("echo {}", String::from_utf8_lossy(line))
        }
        _ => format!("printf '{}'", printf_escaped(input)),
    }
}

/// `bytes` as a `printf` format in single quotes that prints them back: printable ASCII as
/// it is, a newline as `\n`, anything else (and `\`, `%`, `'`) as an octal escape.
fn printf_escaped(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\n' => "\\n".to_string(),
            b'\\' | b'%' | b'\'' => format!("\\{b:03o}"),
            b' '..=b'~' => char::from(b).to_string(),
            _ => format!("\\{b:03o}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output comes back trimmed, with the exit code; input reaches the tool.
    #[test]
    fn a_tool_is_run_with_its_input() {
        let shown = show(
            "sh",
            &["-c", "cat; echo 'x  '; exit 3"],
            b"in\n",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(shown.stdout, "in\nx\n");
        assert_eq!(shown.code, Some(3));
    }

    /// The command line shown for piped input prints that very input.
    #[test]
    fn piped_input_is_shown_as_printf() {
        assert_eq!(shell_input(b"hello\n"), "echo hello");
        assert_eq!(shell_input(b"a b\n"), "echo a b");
        assert_eq!(shell_input(b"hello"), "printf 'hello'");
        assert_eq!(shell_input(b"it's\n"), "printf 'it\\047s\\n'");
        assert_eq!(printf_escaped(b"hello\n"), "hello\\n");
        assert_eq!(printf_escaped(b"\0\x05'%\\"), "\\000\\005\\047\\045\\134");
        let shown = show(
            "sh",
            &["-c", &format!("printf '{}'", printf_escaped(b"a\0'%\\\n"))],
            b"",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(shown.stdout.as_bytes(), b"a\0'%\\\n");
    }

    /// A missing tool is one error naming it; one that hangs is ended at the bound.
    #[test]
    fn a_missing_or_hanging_tool_is_an_error() {
        let e = show("socklab-no-such-tool", &[], b"", Duration::from_secs(10)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(
            e.to_string()
                .starts_with("cannot run `socklab-no-such-tool`: not installed")
        );
        let e = show("sleep", &["30"], b"", Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(find("sh").is_some());
        assert!(find("socklab-no-such-tool").is_none());
    }
}

//! Getting a lab inside a test: made here, made in a child process, or skipped out loud.
//!
//! A test calls [`lab`] and returns when it gets `None`:
//!
//! ```no_run
//! # use socklab_wire::{LinkConfig, testing};
//! let Some(lab) = testing::lab("my_test", LinkConfig::default()) else { return };
//! ```
//!
//! - As root, the lab is made here and the test goes on.
//! - Without root, where unprivileged user namespaces work, the test binary runs this one test
//!   again in a child process started by `unshare --user --map-root-user`, where it *is* root
//!   of its own namespaces; the child's output is printed, its failure is this test's failure,
//!   and this copy returns.
//! - Where no lab can be made, the test is reported skipped with the exact reason and fix
//!   (`socklab_support::skip`), never passed in silence.
//!
//! A test that runs a *program* with a lab (a chapter's `demo --wire`) asks
//! [`programs_can_make_labs`] instead; and [`compare_with_tcpdump`] checks that `tcpdump -r`
//! reads a saved pcap file as the same packets the trace printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use socklab_support::process;
use socklab_support::skip::skip;

use crate::access::{self, CHILD_VAR};
use crate::impair::LinkConfig;
use crate::lab::Lab;

/// How long a test re-run in a user namespace may take.
const CHILD_LIMIT: Duration = Duration::from_secs(120);

// ANCHOR: lab
/// A lab for test `name`, or `None` when the test has been run in a child process or skipped
/// (then the test returns at once). Panics if a lab should be possible here and fails.
pub fn lab(name: &str, config: LinkConfig) -> Option<Lab> {
    match Lab::available() {
        Ok(()) => match Lab::new(config) {
            Ok(lab) => Some(lab),
            Err(e) => panic!("{name}: the lab is allowed here but could not be made: {e}"),
        },
        Err(u) if u.user_namespace_works && std::env::var_os(CHILD_VAR).is_none() => {
            rerun_in_user_namespace(name);
            None
        }
        Err(u) => {
            skip(name, &format!("no wire lab: {u}"));
            None
        }
    }
}
// ANCHOR_END: lab

/// Runs test `name` of this test binary again, alone, as root of a new user namespace, and
/// fails if it fails there (or did not run there at all).
fn rerun_in_user_namespace(name: &str) {
    // libtest names each test's thread after the test's full path; `name` is the fallback.
    let current = std::thread::current();
    let path = current
        .name()
        .filter(|n| *n != "main" && n.ends_with(name))
        .unwrap_or(name)
        .to_string();
    let exe = std::env::current_exe().expect("the test binary's path");
    let exe = exe.to_string_lossy();
    let marker = format!("{CHILD_VAR}=1");
    let out = process::run(
        "unshare",
        &[
            "--user",
            "--map-root-user",
            "--",
            "env",
            &marker,
            &exe,
            &path,
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ],
        CHILD_LIMIT,
    );
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    assert!(
        out.code == Some(0) && out.stdout.contains("1 passed"),
        "{path}: failed when re-run in a user namespace (exit code {:?})",
        out.code
    );
}

/// Whether test `name` can run a program that makes labs (one that calls
/// [`crate::enter_user_namespace`] first, as the demos' `--wire` does); if not, the test is
/// reported skipped with the reason, and returns.
pub fn programs_can_make_labs(name: &str) -> bool {
    match access::check_for_programs() {
        Ok(()) => true,
        Err(u) => {
            skip(name, &format!("no wire lab: {u}"));
            false
        }
    }
}

// ANCHOR: compare_with_tcpdump
/// Has `tcpdump -nr pcap` print the file and asserts that it prints, packet for packet, the
/// lines `ours` (trace lines, as `Packet`'s `Display` writes them): the same text after the
/// time, except that tcpdump prints the SYNs' sequence numbers absolute where the trace
/// prints them relative (so of a SYN only the flags and options are compared), and knows
/// nothing of the link's verdicts (`[dropped: cut]`). Without tcpdump, or where tcpdump will
/// not run, test `name` is reported skipped for this comparison.
pub fn compare_with_tcpdump(name: &str, ours: &[String], pcap: &Path) {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        skip(
            name,
            "tcpdump is not installed (`sudo apt-get install tcpdump`): the pcap file was not \
             compared with the trace",
        );
        return;
    }
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(pcap)
        .output()
        .expect("tcpdump ran a moment ago");
    let complaint = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && complaint.contains("Couldn't change to") {
        // Run as root, tcpdump switches to another user after opening the file; inside a user
        // namespace (the lab without root) no other user exists, and it gives up.
        skip(
            name,
            "tcpdump will not run as root of a user namespace (it cannot switch users there): \
             run the tests as root to compare the trace with tcpdump",
        );
        return;
    }
    assert!(out.status.success(), "tcpdump -r failed: {complaint}");
    let theirs = String::from_utf8_lossy(&out.stdout);
    let theirs: Vec<&str> = theirs.lines().collect();
    println!(
        "ours:\n{}\ntcpdump's:\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
    assert_eq!(ours.len(), theirs.len(), "not the same number of packets");
    for (ours, theirs) in ours.iter().zip(&theirs) {
        // Both start with a time; what follows it must be the same.
        let (_, ours) = ours
            .split_once(' ')
            .expect("a trace line starts with a time");
        let (_, theirs) = theirs
            .split_once(' ')
            .expect("a tcpdump line starts with a time");
        let ours = ours.split(" [dropped: ").next().unwrap_or(ours);
        let ours = ours.strip_suffix(" [duplicated]").unwrap_or(ours);
        let flags_and_options = |line: &str| {
            let flags = line.split(", ").next().unwrap_or(line).to_string();
            let options = line.split_once("options").map(|(_, o)| o.to_string());
            (flags, options)
        };
        if flags_and_options(ours).0.contains("Flags [S") {
            assert_eq!(flags_and_options(ours), flags_and_options(theirs));
        } else {
            assert_eq!(ours, theirs);
        }
    }
}
// ANCHOR_END: compare_with_tcpdump

/// The trace lines in a program's output (`0.000123 IP ...`, however indented), trimmed: what
/// a demo printed of the packets, to compare with a pcap file it saved.
pub fn trace_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|line| {
            let Some((time, rest)) = line.split_once(' ') else {
                return false;
            };
            let time_like = time.split_once('.').is_some_and(|(s, us)| {
                !s.is_empty()
                    && us.len() == 6
                    && s.bytes().chain(us.bytes()).all(|b| b.is_ascii_digit())
            });
            time_like && (rest.starts_with("IP ") || rest.starts_with("IP6 "))
        })
        .map(String::from)
        .collect()
}

/// A chapter demo's output split at its `== ` headings, to check that each experiment's
/// packets come under its own narration.
#[derive(Debug)]
pub struct Sections<'a>(Vec<(String, Vec<&'a str>)>);

impl<'a> Sections<'a> {
    /// The lines of `out` under each `== ` heading.
    pub fn of(out: &'a str) -> Self {
        let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
        for line in out.lines() {
            if let Some(title) = line.strip_prefix("== ") {
                sections.push((title.to_string(), Vec::new()));
            } else if let Some((_, lines)) = sections.last_mut() {
                lines.push(line);
            }
        }
        Sections(sections)
    }

    /// The section whose heading starts with `n` (`"1."`): its title and its lines. Panics,
    /// failing the test, when there is none.
    pub fn section(&self, n: &str) -> (&str, &[&'a str]) {
        self.0
            .iter()
            .find(|(title, _)| title.starts_with(n))
            .map(|(title, lines)| (title.as_str(), lines.as_slice()))
            .unwrap_or_else(|| panic!("no section {n}"))
    }

    /// The lines of section `n` after its first line containing `narration` that contain
    /// every one of `parts`: the packets printed under that narration. Panics, failing the
    /// test, when the narration is missing or no such line follows it.
    pub fn under(&self, n: &str, narration: &str, parts: &[&str]) -> Vec<String> {
        let (title, lines) = self.section(n);
        let said = lines
            .iter()
            .position(|l| l.contains(narration))
            .unwrap_or_else(|| panic!("{title}: no {narration:?}"));
        let shown: Vec<String> = lines[said..]
            .iter()
            .filter(|l| parts.iter().all(|part| l.contains(part)))
            .map(|l| l.to_string())
            .collect();
        assert!(
            !shown.is_empty(),
            "{title}: no packet with {parts:?} after {narration:?}"
        );
        shown
    }
}

/// `bin demo --wire` where no lab can be made (switched off with
/// `SOCKLAB_WIRE_FORCE_UNAVAILABLE`): one line on standard error, `PROGRAM: error: no wire
/// lab here: ` with the reason and `; to allow it: ` with the fix, nothing run, exit 1; and
/// `--pcap` without `--wire` refused as a usage error (exit 2).
pub fn assert_demo_wire_without_a_lab_says_why(bin: &str, program: &str, limit: Duration) {
    let off = format!("{}=1", access::FORCE_UNAVAILABLE_VAR);
    let out = process::run("env", &[&off, bin, "demo", "--wire"], limit);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let expected = format!(
        "{program}: error: no wire lab here: {}",
        access::FORCE_UNAVAILABLE_VAR
    );
    assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
    assert!(out.stderr.contains("; to allow it: "), "{}", out.stderr);
    assert_eq!(out.stdout, "", "nothing ran");
    let out = process::run(bin, &["demo", "--pcap", "x.pcap"], limit);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}

/// `bin demo --wire --pcap FILE`, run as a reader would, where programs can make labs here
/// (otherwise the test `name` is reported skipped with the reason, and this is `None`): its
/// output, printed into the test's log, once it has exited 0; and the pcap file it wrote.
pub fn run_demo_wire(name: &str, bin: &str, limit: Duration) -> Option<(process::Output, PathBuf)> {
    if !programs_can_make_labs(name) {
        return None;
    }
    let program = Path::new(bin)
        .file_name()
        .map_or_else(|| "demo".into(), |n| n.to_string_lossy().into_owned());
    let pcap = std::env::temp_dir().join(format!("{program}-wire-{}.pcap", std::process::id()));
    let out = process::run(
        bin,
        &["demo", "--wire", "--pcap", &pcap.to_string_lossy()],
        limit,
    );
    print!("{}", out.stdout);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    Some((out, pcap))
}

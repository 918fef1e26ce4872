//! This process's open descriptors and threads, counted from the kernel's side: the entries of
//! `/proc/self/fd` and `/proc/self/task`. A server's own counters can only say what it
//! *thinks* it holds; a descriptor it forgot to close or a thread that never ended shows up
//! here.
//!
//! Linux only: other systems have no `/proc/self/task` (macOS would need `proc_pidinfo`), so
//! there [`now`] returns `None` and the suite relies on the servers' own counts.
//!
//! The counts are the whole process's, so they mean something only while nothing else runs in
//! it: the suite runs each server in a process of its own ([`super::in_own_process`]).

use std::time::Duration;

use socklab_support::wait;

/// Open descriptors and live threads at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Entries of `/proc/self/fd` (the listing's own descriptor included, every time alike).
    pub fds: usize,
    /// Entries of `/proc/self/task`.
    pub threads: usize,
}

/// The counts now, where the system has `/proc`.
#[cfg(target_os = "linux")]
pub fn now() -> Option<Counts> {
    let entries = |dir| std::fs::read_dir(dir).map(Iterator::count).ok();
    Some(Counts {
        fds: entries("/proc/self/fd")?,
        threads: entries("/proc/self/task")?,
    })
}

/// The counts now, where the system has `/proc` (not here).
#[cfg(not(target_os = "linux"))]
pub fn now() -> Option<Counts> {
    None
}

/// Waits, up to `limit`, for descriptors and threads to come back down to `baseline` (a
/// closed connection's thread ends a moment after the server's counter says so); an error
/// says what is still above it.
pub fn back_to(baseline: Option<Counts>, limit: Duration) -> Result<(), String> {
    let Some(baseline) = baseline else {
        return Ok(());
    };
    let last = wait::last(limit, now, |c| {
        c.is_none_or(|c| c.fds <= baseline.fds && c.threads <= baseline.threads)
    });
    match last {
        Some(c) if c.fds > baseline.fds || c.threads > baseline.threads => Err(format!(
            "{} descriptors and {} threads {limit:?} after the attack, {} and {} before it \
             (open now: {})",
            c.fds,
            c.threads,
            baseline.fds,
            baseline.threads,
            open_descriptors().join(", ")
        )),
        _ => Ok(()),
    }
}

/// What each open descriptor is (`3 -> socket:[1234]`, with its ports and TCP state when
/// it is a TCP socket), to say what leaked.
fn open_descriptors() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let tcp = tcp_sockets();
    let mut fds: Vec<String> = dir
        .flatten()
        .map(|entry| {
            let target = std::fs::read_link(entry.path())
                .map_or_else(|e| e.to_string(), |t| t.display().to_string());
            let inode = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'));
            let tcp = inode
                .and_then(|i| tcp.iter().find(|(n, _)| n == i))
                .map_or(String::new(), |(_, what)| format!(" ({what})"));
            format!("{} -> {target}{tcp}", entry.file_name().to_string_lossy())
        })
        .collect();
    fds.sort();
    fds
}

/// Every TCP socket of `/proc/net/tcp` and `tcp6` by inode, described by its ports and state
/// (`port 4000 to port 51234, state 01`): the suite's sockets are all on loopback.
fn tcp_sockets() -> Vec<(String, String)> {
    let port = |field: &str| {
        field
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            .unwrap_or(0)
    };
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let what = format!(
                        "port {} to port {}, state {}",
                        port(f.get(1)?),
                        port(f.get(2)?),
                        f.get(3)?
                    );
                    Some((f.get(9)?.to_string(), what))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

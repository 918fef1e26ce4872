//! Resolving a name with the system's resolver: std's `ToSocketAddrs` calls `getaddrinfo(3)`,
//! which asks the sources `/etc/nsswitch.conf` lists (usually `/etc/hosts`, then DNS) and
//! returns every address it found, sorted by the system's preference (RFC 6724; on glibc,
//! `/etc/gai.conf` changes the order). std asks for `SOCK_STREAM` results, so each address
//! comes once.
//!
//! What `localhost` gives differs between machines: `127.0.0.1` alone, or `::1` and
//! `127.0.0.1` (in either order), depending on `/etc/hosts` and the resolver. The course does
//! not guess: it reads both and shows them side by side.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::Path;

// ANCHOR: resolve
/// Every address `host` resolves to, with `port`, in the order the resolver returned them.
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}
// ANCHOR_END: resolve

/// The hosts file, where `localhost` is written down on Unix systems.
pub const HOSTS: &str = "/etc/hosts";

/// The addresses a hosts file's `text` gives for `name`, in file order. Each line is an
/// address followed by names; `#` starts a comment (hosts(5)). Names match without regard to
/// case.
pub fn hosts_entries(text: &str, name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(Ok(addr)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if fields.any(|n| n.eq_ignore_ascii_case(name)) && !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

/// The addresses [`HOSTS`] gives for `name` (none if the file is missing).
pub fn hosts_file_entries(name: &str) -> io::Result<Vec<IpAddr>> {
    match std::fs::read_to_string(Path::new(HOSTS)) {
        Ok(text) => Ok(hosts_entries(&text, name)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A family's name for printing.
pub fn family(addr: &SocketAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines, comments, aliases and case are read as hosts(5) says.
    #[test]
    fn hosts_lines_are_parsed() {
        let text = "# comment\n127.0.0.1\tlocalhost vm\n::1 ip6-localhost LocalHost # both\n\
                    bogus localhost\n10.0.0.1 other # not localhost\n127.0.0.1 localhost\n";
        assert_eq!(
            hosts_entries(text, "localhost"),
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert!(hosts_entries(text, "nowhere").is_empty());
    }
}

//! Chapter 10: what a name resolves to on this machine. The answer for `localhost` differs
//! between machines, so these tests assert what must hold everywhere, and the transcript in
//! the book shows this machine's own answer.

use std::net::SocketAddr;

use names_demo::resolve;

// ANCHOR: localhost_resolves_to_loopback_only
/// Every address `localhost` resolves to is a loopback address (`127.0.0.0/8` or `::1`),
/// carries the port asked for, and appears once.
#[test]
fn localhost_resolves_to_loopback_only() {
    let addrs = resolve::resolve("localhost", 7000).unwrap();
    assert!(!addrs.is_empty(), "localhost resolved to nothing");
    for a in &addrs {
        assert!(a.ip().is_loopback(), "{a} is not loopback");
        assert_eq!(a.port(), 7000);
    }
    let mut unique = addrs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), addrs.len(), "duplicates in {addrs:?}");
}
// ANCHOR_END: localhost_resolves_to_loopback_only

// ANCHOR: the_resolver_returns_what_the_hosts_file_lists
/// Every address `/etc/hosts` lists for `localhost` is among what the resolver returns: both
/// families where the file has both (`::1` and `127.0.0.1`), one where it has one.
#[test]
fn the_resolver_returns_what_the_hosts_file_lists() {
    let listed = resolve::hosts_file_entries("localhost").unwrap();
    let got: Vec<_> = resolve::resolve("localhost", 0)
        .unwrap()
        .iter()
        .map(SocketAddr::ip)
        .collect();
    for ip in &listed {
        assert!(got.contains(ip), "{ip} is in /etc/hosts but not in {got:?}");
    }
    let families = |v4: bool| listed.iter().filter(|ip| ip.is_ipv4() == v4).count();
    if families(true) > 0 && families(false) > 0 {
        assert!(got.iter().any(|ip| ip.is_ipv4()) && got.iter().any(|ip| ip.is_ipv6()));
    }
}
// ANCHOR_END: the_resolver_returns_what_the_hosts_file_lists

// ANCHOR: an_address_needs_no_lookup
/// An address written as a literal comes back as itself, without asking any name service.
#[test]
fn an_address_needs_no_lookup() {
    assert_eq!(
        resolve::resolve("::1", 80).unwrap(),
        vec!["[::1]:80".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        resolve::resolve("127.0.0.1", 80).unwrap(),
        vec!["127.0.0.1:80".parse::<SocketAddr>().unwrap()]
    );
}
// ANCHOR_END: an_address_needs_no_lookup

//! Chapter 10: a client that tries each address in turn until one connects.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use names_demo::{STEP_TIMEOUT, connect, resolve};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(20);

/// An address on loopback where nothing listens: a port bound and released at once.
fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap()
}

// ANCHOR: the_first_address_refused_the_next_connects
/// The first address refuses (nothing listens there); the client moves on and connects to
/// the second, and says what happened at each.
#[test]
fn the_first_address_refused_the_next_connects() {
    within(LIMIT, "connect each", || {
        let dead = refused_addr();
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let live = server.local_addr().unwrap();
        let got = connect::connect_each(&[dead, live], STEP_TIMEOUT).unwrap();
        assert_eq!(got.stream.peer_addr().unwrap(), live);
        assert_eq!(got.attempts.len(), 2);
        assert_eq!(got.attempts[0].addr, dead);
        let first = got.attempts[0].error.as_ref().map(|e| e.kind());
        assert_eq!(first, Some(ErrorKind::ConnectionRefused));
        assert!(got.attempts[1].error.is_none());
    });
}
// ANCHOR_END: the_first_address_refused_the_next_connects

// ANCHOR: ipv6_first_while_the_server_listens_on_ipv4
/// The case that bites in practice: `::1` tried first (as a resolver that prefers IPv6
/// orders `localhost`), the server on `127.0.0.1` only. `[::1]:port` fails (refused, or
/// unreachable where there is no IPv6 at all) and `127.0.0.1:port` connects.
#[test]
fn ipv6_first_while_the_server_listens_on_ipv4() {
    within(LIMIT, "::1 then 127.0.0.1", || {
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = server.local_addr().unwrap().port();
        let list = [
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ];
        let got = connect::connect_each(&list, STEP_TIMEOUT).unwrap();
        assert!(
            got.attempts[0].error.is_some(),
            "nothing listens on [::1]:{port}"
        );
        assert_eq!(got.stream.peer_addr().unwrap(), list[1]);
    });
}
// ANCHOR_END: ipv6_first_while_the_server_listens_on_ipv4

// ANCHOR: attempts_follow_the_resolvers_order
/// Given a name, the client tries the addresses in the order the resolver returned them, and
/// finds a server that listens on the last of them only.
#[test]
fn attempts_follow_the_resolvers_order() {
    within(LIMIT, "localhost", || {
        let order = resolve::resolve("localhost", 0).unwrap();
        let last = *order.last().unwrap();
        let server = TcpListener::bind((last.ip(), 0)).unwrap();
        let port = server.local_addr().unwrap().port();
        let got = connect::connect_name("localhost", port, STEP_TIMEOUT).unwrap();
        let tried: Vec<_> = got.attempts.iter().map(|a| a.addr).collect();
        let expected: Vec<_> = order
            .iter()
            .map(|a| SocketAddr::new(a.ip(), port))
            .collect();
        assert_eq!(
            tried, expected,
            "tried in the resolver's order, up to the last"
        );
        assert_eq!(
            got.stream.peer_addr().unwrap(),
            SocketAddr::new(last.ip(), port)
        );
    });
}
// ANCHOR_END: attempts_follow_the_resolvers_order

// ANCHOR: when_none_answers_every_attempt_is_reported
/// When no address answers, the error has the last attempt's kind and names every address
/// tried; an empty list is an error too, not a panic.
#[test]
fn when_none_answers_every_attempt_is_reported() {
    let (a, b) = (refused_addr(), refused_addr());
    let err = connect::connect_each(&[a, b], STEP_TIMEOUT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let text = err.to_string();
    assert!(
        text.contains(&a.to_string()) && text.contains(&b.to_string()),
        "{text}"
    );
    let err = connect::connect_each(&[], STEP_TIMEOUT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
// ANCHOR_END: when_none_answers_every_attempt_is_reported

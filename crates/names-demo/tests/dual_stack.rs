//! Chapter 10: one IPv6 listener for both families, `IPV6_V6ONLY`, and the system's default.
//! Each test needs IPv6 loopback and skips, loudly, where there is none.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use names_demo::dual_stack::{self, Seen};
use socklab_support::{skip::skip, within};

const LIMIT: Duration = Duration::from_secs(20);
const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn no_ipv6(name: &str) -> bool {
    if dual_stack::ipv6_loopback_available() {
        return false;
    }
    skip(name, "no IPv6 loopback here (binding [::1]:0 failed)");
    true
}

// ANCHOR: v6only_off_serves_ipv4_as_mapped_addresses
/// With `IPV6_V6ONLY` off, an IPv6 listener on `[::]` accepts an IPv4 client, and its
/// `accept` names the client `[::ffff:127.0.0.1]:port`, the client's own port; IPv6
/// clients are served as usual.
#[test]
fn v6only_off_serves_ipv4_as_mapped_addresses() {
    if no_ipv6("v6only_off_serves_ipv4_as_mapped_addresses") {
        return;
    }
    let (v4, v6) = within(LIMIT, "dual-stack", || {
        let listener = dual_stack::listen_v6(0, Some(false)).unwrap();
        (
            dual_stack::client_against(&listener, V4).unwrap(),
            dual_stack::client_against(&listener, V6).unwrap(),
        )
    });
    let Seen::Accepted { client, server_saw } = v4 else {
        panic!("the IPv4 client was refused: {v4:?}");
    };
    assert_eq!(client.ip(), V4);
    let SocketAddr::V6(saw) = server_saw else {
        panic!("the server saw an IPv4 address: {server_saw}");
    };
    assert_eq!(saw.ip().to_string(), "::ffff:127.0.0.1");
    assert_eq!(saw.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST));
    assert_eq!(saw.port(), client.port(), "the same connection");
    assert_eq!(server_saw.ip().to_canonical(), V4);
    assert!(matches!(v6, Seen::Accepted { server_saw, .. } if server_saw.ip() == V6));
}
// ANCHOR_END: v6only_off_serves_ipv4_as_mapped_addresses

// ANCHOR: v6only_on_refuses_ipv4
/// With `IPV6_V6ONLY` on, the same listener refuses the IPv4 client (`ECONNREFUSED`: nothing
/// listens on the port's IPv4 side) and still serves IPv6.
#[test]
fn v6only_on_refuses_ipv4() {
    if no_ipv6("v6only_on_refuses_ipv4") {
        return;
    }
    let (v4, v6) = within(LIMIT, "v6 only", || {
        let listener = dual_stack::listen_v6(0, Some(true)).unwrap();
        (
            dual_stack::client_against(&listener, V4).unwrap(),
            dual_stack::client_against(&listener, V6).unwrap(),
        )
    });
    assert_eq!(v4, Seen::Refused(ErrorKind::ConnectionRefused));
    assert!(matches!(v6, Seen::Accepted { .. }), "{v6:?}");
}
// ANCHOR_END: v6only_on_refuses_ipv4

// ANCHOR: v6only_decides_who_owns_the_ipv4_port
/// The option also decides who owns the port's IPv4 side: off, an IPv4 listener on the same
/// port fails with `EADDRINUSE`; on, it binds, and the two listeners share the port number.
#[test]
fn v6only_decides_who_owns_the_ipv4_port() {
    if no_ipv6("v6only_decides_who_owns_the_ipv4_port") {
        return;
    }
    let dual = dual_stack::listen_v6(0, Some(false)).unwrap();
    assert_eq!(
        dual_stack::ipv4_bind_error(&dual).unwrap(),
        Some(ErrorKind::AddrInUse)
    );
    let only = dual_stack::listen_v6(0, Some(true)).unwrap();
    assert_eq!(dual_stack::ipv4_bind_error(&only).unwrap(), None);
}
// ANCHOR_END: v6only_decides_who_owns_the_ipv4_port

// ANCHOR: std_keeps_the_system_default
/// The default is the system's, read at run time: std's `TcpListener::bind` leaves
/// `IPV6_V6ONLY` as a fresh socket has it, which on Linux is `/proc/sys/net/ipv6/bindv6only`.
#[test]
fn std_keeps_the_system_default() {
    if no_ipv6("std_keeps_the_system_default") {
        return;
    }
    let default = dual_stack::system_default_v6only().unwrap();
    let std_listener = TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0)).unwrap();
    assert_eq!(
        socket2::SockRef::from(&std_listener).only_v6().unwrap(),
        default
    );
    let ours = dual_stack::listen_v6(0, None).unwrap();
    assert_eq!(socket2::SockRef::from(&ours).only_v6().unwrap(), default);
    #[cfg(target_os = "linux")]
    assert_eq!(dual_stack::proc_bindv6only().unwrap(), default);
    // Setting it is what changes it: both values can be set, whatever the default.
    for want in [!default, default] {
        let l = dual_stack::listen_v6(0, Some(want)).unwrap();
        assert_eq!(socket2::SockRef::from(&l).only_v6().unwrap(), want);
    }
}
// ANCHOR_END: std_keeps_the_system_default

// ANCHOR: v6only_is_fixed_at_bind
/// Linux: the option can only be changed before `bind`; afterwards `setsockopt` fails with
/// `EINVAL`, and the socket keeps what it had.
#[cfg(target_os = "linux")]
#[test]
fn v6only_is_fixed_at_bind() {
    if no_ipv6("v6only_is_fixed_at_bind") {
        return;
    }
    let listener = dual_stack::listen_v6(0, Some(false)).unwrap();
    let sock = socket2::SockRef::from(&listener);
    let err = sock.set_only_v6(true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "EINVAL: {err}");
    assert!(!sock.only_v6().unwrap());
}
// ANCHOR_END: v6only_is_fixed_at_bind

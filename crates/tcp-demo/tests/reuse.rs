//! Chapter 1 claims about binding: `EADDRINUSE`, and restarting with `SO_REUSEADDR`.

use std::io::ErrorKind;
use std::net::TcpListener;

use tcp_demo::reuse::{listen_on, serve_one_and_stop};

/// A second listener on a port that is listening fails with `AddrInUse`, even with
/// `SO_REUSEADDR` (which std's `bind` sets on Unix): the option is not a way to share a port.
#[test]
fn binding_a_port_in_use_fails() {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = first.local_addr().unwrap();
    let err = TcpListener::bind(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    let err = listen_on(addr, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
}

/// A server that closed its connections first and stopped can be restarted on the same port
/// at once with `SO_REUSEADDR`, while the closed connection still lingers.
#[test]
fn reuseaddr_allows_restart() {
    let addr =
        serve_one_and_stop(listen_on("127.0.0.1:0".parse().unwrap(), true).unwrap()).unwrap();
    // Without the option, the lingering connection (FIN-WAIT-2 or TIME-WAIT) holds the port.
    // Linux refuses the bind; other systems differ in which states count, so the refusal is
    // asserted on Linux only.
    #[cfg(target_os = "linux")]
    {
        let err = listen_on(addr, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    }
    let restarted = listen_on(addr, true).expect("SO_REUSEADDR lets the server restart");
    assert_eq!(restarted.local_addr().unwrap(), addr);
}

/// std's `TcpListener::bind` sets `SO_REUSEADDR` on Unix (read back with `getsockopt`), which
/// is why a Rust server restarts at once where a C server that forgot the option fails; the
/// chapter's own `listen_on(addr, false)` leaves it off.
#[test]
#[cfg(unix)]
fn std_bind_sets_so_reuseaddr_on_unix() {
    use socket2::SockRef;
    let by_hand = listen_on("127.0.0.1:0".parse().unwrap(), false).unwrap();
    assert!(!SockRef::from(&by_hand).reuse_address().unwrap());
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(SockRef::from(&std_listener).reuse_address().unwrap());
}

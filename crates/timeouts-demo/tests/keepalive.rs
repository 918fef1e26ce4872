//! Chapter 6: keepalive options are per socket, off by default, and settable; each test sets,
//! then gets, and first checks that the new value differs from the default, so a setter that
//! did nothing could not pass.

use std::time::Duration;

use timeouts_demo::io::pair;
use timeouts_demo::keepalive::{enable_keepalive, keepalive_of, system_keepalive_defaults};

// ANCHOR: keepalive_set_then_get
/// Keepalive is off on a new socket; after enabling it with 10 s idle, 2 s interval and
/// 3 probes, the socket reports exactly those, and a dead peer would be noticed in 16 s
/// instead of the default's hours.
#[test]
fn keepalive_is_off_by_default_and_settable() {
    let (ours, _peer) = pair().unwrap();
    let before = keepalive_of(&ours).unwrap();
    assert!(!before.enabled, "TCP keepalive is off unless asked for");
    let wanted = (Duration::from_secs(10), Duration::from_secs(2), 3);
    assert_ne!(
        (before.idle, before.interval, before.probes),
        wanted,
        "the test must change something"
    );
    enable_keepalive(&ours, wanted.0, wanted.1, wanted.2).unwrap();
    let after = keepalive_of(&ours).unwrap();
    assert!(after.enabled);
    assert_eq!((after.idle, after.interval, after.probes), wanted);
    assert_eq!(after.detection_time(), Duration::from_secs(16));
}
// ANCHOR_END: keepalive_set_then_get

// ANCHOR: linux_defaults_are_hours
/// On Linux a new socket's keepalive timing is the sysctls' (read at run time, not assumed),
/// and with the stock values that means over two hours to notice a dead peer.
#[test]
#[cfg(target_os = "linux")]
fn linux_keepalive_defaults_come_from_sysctls() {
    let (ours, _peer) = pair().unwrap();
    let s = keepalive_of(&ours).unwrap();
    let (idle, interval, probes) = system_keepalive_defaults().expect("Linux has the sysctls");
    assert_eq!((s.idle, s.interval, s.probes), (idle, interval, probes));
    eprintln!(
        "this machine notices a dead peer after {:?} by default",
        s.detection_time()
    );
}
// ANCHOR_END: linux_defaults_are_hours

/// `TCP_USER_TIMEOUT` (Linux) is unset (0) by default and reads back what was set.
#[test]
#[cfg(target_os = "linux")]
fn user_timeout_set_then_get() {
    use socket2::SockRef;
    let (ours, _peer) = pair().unwrap();
    assert_eq!(SockRef::from(&ours).tcp_user_timeout().unwrap(), None);
    let got = timeouts_demo::keepalive::set_user_timeout(&ours, Duration::from_secs(5)).unwrap();
    assert_eq!(got, Some(Duration::from_secs(5)));
}

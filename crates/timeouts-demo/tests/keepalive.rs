//! Chapter 6: keepalive options are per socket, off by default, and settable; each test sets,
//! then gets, and first checks that the new value differs from the default, so a setter that
//! did nothing could not pass.

use std::time::Duration;

use timeouts_demo::io::pair;
use timeouts_demo::keepalive::{enable_keepalive, keepalive_of, system_keepalive_defaults};

// ANCHOR: keepalive_set_then_get
/// Keepalive is off on a new socket. Each of its four settings is then set to a value that
/// differs from the socket's own default (checked first, so a setter that did nothing could
/// not pass), and each reads back as set: the kernel keeps them per socket. What this proves
/// is the bookkeeping; the probes themselves go on the wire only after the idle time, and
/// are watched there in the wire lab.
#[test]
fn keepalive_is_off_by_default_and_settable() {
    let (ours, _peer) = pair().unwrap();
    let before = keepalive_of(&ours).unwrap();
    assert!(!before.enabled, "TCP keepalive is off unless asked for");
    let (idle, interval, probes) = (Duration::from_secs(10), Duration::from_secs(2), 3);
    assert_ne!(before.idle, idle, "the test must change the idle time");
    assert_ne!(
        before.interval, interval,
        "the test must change the interval"
    );
    assert_ne!(
        before.probes, probes,
        "the test must change the probe count"
    );
    enable_keepalive(&ours, idle, interval, probes).unwrap();
    let after = keepalive_of(&ours).unwrap();
    assert!(after.enabled, "SO_KEEPALIVE");
    assert_eq!(after.idle, idle, "TCP_KEEPIDLE");
    assert_eq!(after.interval, interval, "TCP_KEEPINTVL");
    assert_eq!(after.probes, probes, "TCP_KEEPCNT");
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

/// `TCP_USER_TIMEOUT` (Linux) is unset (0: the system's default behaviour) on a new socket,
/// and reads back what was set, which differs from that.
#[test]
#[cfg(target_os = "linux")]
fn user_timeout_set_then_get() {
    use socket2::SockRef;
    let (ours, _peer) = pair().unwrap();
    assert_eq!(SockRef::from(&ours).tcp_user_timeout().unwrap(), None);
    let got = timeouts_demo::keepalive::set_user_timeout(&ours, Duration::from_secs(5)).unwrap();
    assert_eq!(got, Some(Duration::from_secs(5)));
}

//! Chapter 3 claims about buffer sizes: defaults, limits, doubling, caps and floors. Linux's
//! rules are asserted against the sysctls read at run time, never against hard-coded numbers.

use buffers_demo::sizes;

// ANCHOR: defaults_are_not_8_kb
/// Myth: "Linux's default maximum socket buffer is 8 KB". A fresh TCP socket's receive buffer,
/// a UDP socket's, and (Linux) the maximum `setsockopt` may ask for and the maximum TCP
/// autotuning may reach are all far above 8 KB.
#[test]
fn defaults_and_limits_are_far_above_8_kb() {
    let d = sizes::defaults().unwrap();
    for (what, size) in [
        ("tcp rcvbuf", d.tcp_rcvbuf),
        ("tcp sndbuf", d.tcp_sndbuf),
        ("udp rcvbuf", d.udp_rcvbuf),
    ] {
        assert!(size > 8 * 1024, "{what} is only {size} bytes");
    }
    #[cfg(target_os = "linux")]
    {
        let l = sizes::limits().expect("Linux has /proc/sys/net");
        assert!(l.rmem_max > 8 * 1024, "{l:?}");
        assert!(l.tcp_rmem[2] > 8 * 1024, "{l:?}");
        assert_eq!(
            d.tcp_rcvbuf, l.tcp_rmem[1],
            "a new TCP socket starts at tcp_rmem's default"
        );
        assert_eq!(
            d.udp_rcvbuf, l.rmem_default,
            "a UDP socket starts at rmem_default"
        );
    }
}
// ANCHOR_END: defaults_are_not_8_kb

// ANCHOR: linux_doubles_caps_and_floors
/// Linux doubles the size you set, caps the request at `rmem_max`/`wmem_max` (a request above
/// reads back as twice the cap), and has a floor (asking for 1 byte gets more than 2).
#[test]
#[cfg(target_os = "linux")] // Other systems store the value as given.
fn linux_doubles_caps_and_floors_buffer_sizes() {
    let l = sizes::limits().unwrap();
    let ask = 48 * 1024; // Below the caps, above the floor, and its double is no default.
    assert!(ask < l.rmem_max && ask < l.wmem_max);
    assert_ne!(
        2 * ask,
        sizes::defaults().unwrap().tcp_rcvbuf,
        "the test must change something"
    );
    assert_eq!(sizes::set_then_get_rcvbuf(ask).unwrap(), 2 * ask);
    assert_eq!(sizes::set_then_get_sndbuf(ask).unwrap(), 2 * ask);
    assert_eq!(
        sizes::set_then_get_rcvbuf(l.rmem_max * 4).unwrap(),
        2 * l.rmem_max
    );
    assert_eq!(
        sizes::set_then_get_sndbuf(l.wmem_max * 4).unwrap(),
        2 * l.wmem_max
    );
    let floor = sizes::set_then_get_rcvbuf(1).unwrap();
    assert!(floor > 2, "a floor, not 2 x 1: got {floor}");
    assert!(floor < 8 * 1024, "the floor is small: {floor}");
}
// ANCHOR_END: linux_doubles_caps_and_floors

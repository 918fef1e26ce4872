//! Chapter 4: EINTR is retried; spinning on WouldBlock burns CPU that blocking does not.

use std::time::Duration;

use nonblocking_demo::{interrupt, spin};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);

/// A signal delivered to a thread blocked in `read` (handler without `SA_RESTART`) makes the
/// read fail with `Interrupted`; retrying it then reads the data as if nothing happened.
#[test]
fn signal_interrupts_read_and_retry_succeeds() {
    let report = within(LIMIT, "interrupted read", || {
        interrupt::interrupted_read().unwrap()
    });
    assert!(
        report.interruptions >= 1,
        "the read was interrupted at least once"
    );
    assert_eq!(report.got, b"after the signal");
}

/// Waiting 300 ms for a byte by retrying `WouldBlock` costs a large share of those 300 ms in
/// CPU time and many calls; blocking in `read` costs almost nothing. The bounds are loose
/// because CI machines are busy: the spinner must use at least a tenth of the wall time and
/// ten times the blocker's CPU.
#[test]
fn spinning_burns_cpu_blocking_does_not() {
    let wall = Duration::from_millis(300);
    let cost = within(LIMIT, "spin vs block", move || {
        spin::spin_vs_block(wall).unwrap()
    });
    assert!(
        cost.spins > 1000,
        "the spinner retried only {} times",
        cost.spins
    );
    assert!(
        cost.spinning >= wall / 10,
        "spinning used {:?} CPU",
        cost.spinning
    );
    assert!(
        cost.spinning >= cost.blocking * 10,
        "spinning {:?} vs blocking {:?}",
        cost.spinning,
        cost.blocking
    );
}

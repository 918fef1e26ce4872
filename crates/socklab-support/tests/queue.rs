//! The bounded byte queue behind chapter 1's decoder and chapter 4's outbox: the parts of its
//! contract the unit tests in `queue.rs` did not pin down. (Found by `cargo mutants`: a
//! `bytes_moved` that always said 0 passed the linear-work test, which only bounds it from
//! above; so did an `is_empty` that always said yes and a read chunk of 1 KiB.)

use socklab_support::queue::ByteQueue;

/// The work counter counts: when the queue reclaims the space before its front, the bytes it
/// copies are exactly the live ones. Here 60 of 64 bytes are consumed, so 4 remain; room for
/// 50 more is found by moving those 4 to the start of the same allocation (the consumed
/// front is larger than what is kept, so the move is cheap). Without a counter that counts,
/// `a_long_stream_of_small_pieces_costs_linear_work` would prove nothing.
#[test]
fn reclaiming_the_front_moves_exactly_the_live_bytes() {
    let mut q = ByteQueue::new(64);
    q.push(&[1; 64]).unwrap();
    assert_eq!(
        q.bytes_moved(),
        0,
        "the first push copies from outside only"
    );
    q.consume(60);
    assert_eq!(q.bytes_moved(), 0, "consuming moves nothing: O(1)");
    q.push(&[2; 50]).unwrap();
    assert_eq!(q.bytes_moved(), 4, "the 4 live bytes moved to the front");
    assert_eq!(q.front(), [&[1u8; 4][..], &[2u8; 50][..]].concat());
}

/// One `read_from` asks for at most 64 KiB even when the bound allows more (the figure the
/// chapter 7 back-pressure test adds to the cap: "one read's worth"), and reads that keep
/// filling their request reach it.
#[test]
fn one_read_takes_at_most_64_kib() {
    let mut q = ByteQueue::new(1 << 20);
    let data = vec![3u8; 300_000];
    let mut src: &[u8] = &data;
    let mut reads = Vec::new();
    loop {
        match q.read_from(&mut src).unwrap() {
            0 => break,
            n => reads.push(n),
        }
    }
    assert_eq!(q.len(), 300_000);
    assert_eq!(reads.iter().max(), Some(&(64 * 1024)), "{reads:?}");
}

/// The accessors say what the queue holds: empty or not, and its bound.
#[test]
fn a_queue_reports_its_state() {
    let mut q = ByteQueue::new(8);
    assert_eq!(q.cap(), 8);
    assert!(q.is_empty());
    q.push(b"ab").unwrap();
    assert!(!q.is_empty());
    assert_eq!((q.len(), q.room(), q.cap()), (2, 6, 8));
}

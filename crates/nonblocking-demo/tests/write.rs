//! Chapter 4: partial writes on non-blocking sockets, and resuming them without loss.

use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nonblocking_demo::loopback_pair;
use nonblocking_demo::write::{Outbox, fill_until_would_block};
use socklab_support::data::{Checksum, Generator};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);

/// A non-blocking writer on a peer that does not read has its writes accepted until the
/// buffers are full; the last one that succeeds is short, and the next fails with
/// `WouldBlock`, all without ever waiting.
#[test]
fn writer_fills_buffers_then_would_block() {
    let fill = within(LIMIT, "fill", || {
        let (mut writer, _silent_peer) = loopback_pair().unwrap();
        writer.set_nonblocking(true).unwrap();
        let fill = fill_until_would_block(&mut writer, 256 * 1024).unwrap();
        let again = writer.write(b"one more byte").unwrap_err();
        assert_eq!(again.kind(), ErrorKind::WouldBlock, "still full");
        fill
    });
    assert!(fill.accepted > 0, "empty buffers take data");
    let (offered, taken) = fill
        .short_write
        .expect("the buffers filled in the middle of a write");
    assert!(taken > 0 && taken < offered, "short: {taken} of {offered}");
}

/// Counts the `write` calls that took less than offered or were refused.
struct Tally<W> {
    inner: W,
    short_or_refused: u64,
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        match &result {
            Ok(n) if *n < buf.len() => self.short_or_refused += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.short_or_refused += 1,
            _ => {}
        }
        result
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// 16 MiB queued at once in an [`Outbox`] on a non-blocking socket, far more than the buffers
/// hold, drained by a reader that reads 4 KiB at a time: writes come back short or refused,
/// yet the reader gets every byte exactly once, in order.
///
/// The reader starts only after the first flush has stopped at `WouldBlock`. A reader that
/// drains from the start can, on a fast machine, keep the buffers from ever filling (a CI run
/// saw all 16 MiB taken without one short write), and then the test would not be about
/// resuming at all.
#[test]
fn outbox_resumes_without_loss() {
    let total = 16 << 20;
    let (sent, got, short_or_refused) = within(LIMIT, "outbox transfer", move || {
        let (writer, mut reader) = loopback_pair().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (go, wait_for_go) = mpsc::channel::<()>();
        let slow_reader = thread::spawn(move || {
            // Bounded: the writer says go after its first flush, or has panicked.
            wait_for_go.recv_timeout(LIMIT).unwrap();
            let mut got = Checksum::new();
            let mut buf = [0u8; 4096];
            loop {
                match reader.read(&mut buf).unwrap() {
                    0 => return got.digest(),
                    n => got.update(&buf[..n]),
                }
            }
        });
        writer.set_nonblocking(true).unwrap();
        let mut writer = Tally {
            inner: writer,
            short_or_refused: 0,
        };
        let mut data = vec![0u8; total];
        Generator::new(42).fill(&mut data);
        let mut sent = Checksum::new();
        sent.update(&data);
        let mut outbox = Outbox::new(total);
        outbox.push(&data).unwrap();
        // Nobody reads yet, so this flush must stop at `WouldBlock` with most of it queued.
        outbox.flush_some(&mut writer).unwrap();
        assert!(
            !outbox.is_empty(),
            "16 MiB cannot fit the buffers in one flush"
        );
        go.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !outbox.is_empty() {
            if outbox.flush_some(&mut writer).unwrap() == 0 {
                // WouldBlock at once: the reader is behind. Let it run, then offer again.
                assert!(Instant::now() < deadline, "the reader stopped draining");
                thread::yield_now();
            }
        }
        let short_or_refused = writer.short_or_refused;
        drop(writer); // End of stream for the reader.
        (sent.digest(), slow_reader.join().unwrap(), short_or_refused)
    });
    assert_eq!(sent.0, total as u64);
    assert_eq!(sent, got, "every byte once, in order");
    assert!(
        short_or_refused > 0,
        "16 MiB cannot fit the buffers in one write"
    );
}

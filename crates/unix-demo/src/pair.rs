//! `socketpair(2)`: two Unix sockets connected to each other from birth, with no name at
//! all. No `bind`, no `listen`, no `connect`, nothing in the file system: the only way to
//! reach either end is to hold its descriptor. A process makes the pair, then hands one end to
//! a thread, to a child it forks (the child inherits it), or to another process over a third
//! socket ([`crate::pass`]). That is how a parent and its worker talk privately.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;

use crate::STEP_TIMEOUT;

/// What [`talk_over_a_pair`] saw.
#[derive(Debug)]
pub struct PairReport {
    /// Whether both ends have no address (`getsockname(2)` returns an unnamed address).
    pub both_unnamed: bool,
    /// What the other thread read from its end.
    pub there: Vec<u8>,
    /// What came back.
    pub back: Vec<u8>,
}

// ANCHOR: talk_over_a_pair
/// Makes a stream pair, hands one end to another thread, and talks both ways: the thread
/// reads a question and answers it. Neither end has a name; they were never bound.
pub fn talk_over_a_pair() -> io::Result<PairReport> {
    let (mut ours, mut theirs) = UnixStream::pair()?;
    for s in [&ours, &theirs] {
        s.set_read_timeout(Some(STEP_TIMEOUT))?;
    }
    let both_unnamed = ours.local_addr()?.is_unnamed() && theirs.local_addr()?.is_unnamed();
    let worker = thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut question = [0u8; 9];
        theirs.read_exact(&mut question)?;
        theirs.write_all(b"answer")?;
        Ok(question.to_vec())
    });
    ours.write_all(b"question?")?;
    let mut back = Vec::new();
    // The worker's end closes when its thread returns: read to the end of stream.
    ours.read_to_end(&mut back)?;
    let there = worker
        .join()
        .map_err(|_| io::Error::other("the worker panicked"))??;
    Ok(PairReport {
        both_unnamed,
        there,
        back,
    })
}
// ANCHOR_END: talk_over_a_pair

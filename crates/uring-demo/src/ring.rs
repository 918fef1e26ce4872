//! The one module with `unsafe` in it: an io_uring (`io_uring_setup(2)`, `io_uring_enter(2)`,
//! `io_uring_register(2)`) wrapped so that the rest of the crate cannot break its rule.
//!
//! **The rule of completion I/O.** With readiness (chapter 7) the kernel says "you may read
//! now" and the program passes its buffer to `read(2)`, which returns before the call ends:
//! the buffer is borrowed for the length of one system call, and Rust's borrow checker sees
//! it. With io_uring the program hands the kernel a buffer *before the data exists*; the
//! kernel writes into it (or sends from it) at some later moment, while the program runs on.
//! From submission to completion the buffer belongs to the kernel: it must not be freed,
//! moved, read or written by the program, however long the operation takes. No Rust lifetime
//! can express "until a completion shows up in a queue", so the io-uring crate makes
//! `SubmissionQueue::push` an `unsafe fn`: the caller promises that rule.
//!
//! This module keeps the promise once, so the other modules are safe code:
//!
//! - **Owned buffers.** [`Ring::send`] and [`Ring::recv_into`] take a `Vec<u8>` *by value*
//!   and keep it in the ring until the operation's last completion, which hands it back
//!   ([`Completion::buffer`]). The caller cannot touch it meanwhile: it no longer has it. (A
//!   `Vec` can be moved while the kernel uses it: moving it moves the pointer, not the heap
//!   storage the kernel was given.)
//! - **Provided buffers.** [`Ring::recv`] and [`Ring::recv_multi`] name no buffer at all: the
//!   kernel picks one from a *provided buffer ring* (`io_uring_register_buf_ring(3)`, Linux
//!   5.19) when data arrives, and says which in the completion. The pool belongs to the ring
//!   and lives as long as it; [`Ring::received`] reads a buffer the kernel has handed back,
//!   and [`Ring::recycle`] returns it.
//! - **Dropping the ring** with operations still in flight cancels them all and waits for
//!   their completions (a bounded wait); if some never come, their buffers are leaked rather
//!   than freed under the kernel's hands.
//!
//! Descriptors are passed by number: the kernel takes its own reference to the file when the
//! operation starts, so closing the descriptor does *not* end an operation in flight (see
//! [`crate::model::close_does_not_cancel`]). Callers keep each socket open until its
//! operations have completed.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::collections::HashMap;
use std::io;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use io_uring::types::{BufRingEntry, CancelBuilder, Fd, SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue, opcode, squeue};

/// The buffer group of the provided-buffer pool (each ring has one).
const GROUP: u16 = 0;

/// `IORING_RECVSEND_POLL_FIRST` (`<linux/io_uring.h>`, Linux 5.19), which the crate does not
/// export: a receive's `ioprio` flag asking the kernel to wait for data before trying.
const RECVSEND_POLL_FIRST: u16 = 1;

/// How long dropping a ring waits for the completions of cancelled operations.
const DROP_PATIENCE: Duration = Duration::from_secs(2);

/// How a ring is built.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Submission queue entries (a power of two); the completion queue gets four times as many.
    pub entries: u32,
    /// Buffers in the provided-buffer pool (a power of two, at most 32,768; 0 for no pool).
    pub buffers: u16,
    /// Size of each provided buffer.
    pub buffer_size: u32,
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (Linux 6.1): completions are
    /// produced only when the owning thread enters the kernel to wait for them, in one batch.
    /// The ring must then be used only by the thread that built it. Where the kernel refuses
    /// the flags (before 6.1), the ring is built without them.
    pub defer_taskrun: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            entries: 256,
            buffers: 64,
            buffer_size: 4096,
            defer_taskrun: false,
        }
    }
}

/// What the ring itself has counted: the figures the chapter's claims are made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// `io_uring_enter(2)` calls made.
    pub enters: u64,
    /// Submission queue entries the kernel consumed in those calls (their return values).
    pub submitted: u64,
    /// Completion queue entries read.
    pub completed: u64,
}

/// One completion queue entry, with whatever the operation held handed back.
#[derive(Debug)]
pub struct Completion {
    /// The tag the operation was submitted with.
    pub user_data: u64,
    /// The result: a count or a descriptor when `>= 0`, `-errno` when negative.
    pub result: i32,
    /// `IORING_CQE_F_MORE`: a multishot operation will post more completions.
    pub more: bool,
    /// The provided buffer the kernel picked for this completion's data
    /// (`IORING_CQE_F_BUFFER`): read it with [`Ring::received`], return it with
    /// [`Ring::recycle`].
    pub selected: Option<u16>,
    /// The caller's own buffer, back from the kernel with the operation's last completion.
    pub buffer: Option<Vec<u8>>,
}

impl Completion {
    /// The error, if the result is one.
    pub fn error(&self) -> Option<io::Error> {
        (self.result < 0).then(|| io::Error::from_raw_os_error(-self.result))
    }

    /// Whether the result is `-errno`.
    pub fn failed_with(&self, errno: i32) -> bool {
        self.result == -errno
    }
}

/// An io_uring with a provided-buffer pool and owned-buffer bookkeeping. See the module docs.
pub struct Ring {
    // Field order is drop order: the ring's descriptor is closed before the pool's memory and
    // the owned buffers are freed (and `Drop` has waited for every operation first).
    uring: IoUring,
    pool: Option<Pool>,
    /// Buffers lent to the kernel, by the `user_data` of the operation holding them.
    owned: HashMap<u64, Vec<u8>>,
    /// Operations submitted (or queued) whose last completion has not been read.
    in_flight: usize,
    counters: Counters,
}

impl Ring {
    /// Sets up a ring (`io_uring_setup(2)`) and registers its buffer pool.
    pub fn new(options: Options) -> io::Result<Self> {
        let build = |defer: bool| {
            let mut builder = IoUring::builder();
            builder.setup_cqsize(options.entries * 4);
            if defer {
                builder.setup_single_issuer().setup_defer_taskrun();
            }
            builder.build(options.entries)
        };
        let uring = match build(options.defer_taskrun) {
            Err(e) if options.defer_taskrun && e.raw_os_error() == Some(libc::EINVAL) => {
                build(false)?
            }
            built => built?,
        };
        if !uring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel's io_uring cannot wait with a timeout (IORING_FEAT_EXT_ARG, Linux 5.11)",
            ));
        }
        let mut ring = Self {
            uring,
            pool: None,
            owned: HashMap::new(),
            in_flight: 0,
            counters: Counters::default(),
        };
        if options.buffers > 0 {
            ring.pool = Some(Pool::register(
                &ring.uring,
                options.buffers,
                options.buffer_size,
            )?);
        }
        Ok(ring)
    }

    /// What the ring has counted so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Operations whose last completion has not been read yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Entries queued for the next `io_uring_enter`.
    pub fn queued(&mut self) -> usize {
        self.uring.submission().len()
    }

    /// Provided buffers the kernel may pick from right now.
    pub fn buffers_available(&self) -> usize {
        self.pool.as_ref().map_or(0, Pool::available)
    }

    /// The size of each provided buffer (0 without a pool).
    pub fn buffer_size(&self) -> u32 {
        self.pool.as_ref().map_or(0, |p| p.size)
    }

    // ANCHOR: push
    /// Queues one entry, submitting what is queued first if the queue is full.
    fn push(&mut self, entry: squeue::Entry) -> io::Result<()> {
        if self.uring.submission().is_full() {
            self.enter(0, None)?;
        }
        // Safety: every entry is built by this module and refers only to (a) descriptors, which
        // the kernel resolves to its own file reference when the operation starts; (b) buffers
        // of the pool, which `self` owns and frees only after `Drop` has seen every operation
        // complete (or leaks); (c) owned buffers, which were moved into `self.owned` before
        // this push and leave it only with the operation's last completion. Nothing the kernel
        // will touch can be freed, moved or used by the caller while the operation runs.
        unsafe { self.uring.submission().push(&entry) }
            .map_err(|_| io::Error::other("the submission queue is full after a submit"))?;
        self.in_flight += 1;
        Ok(())
    }
    // ANCHOR_END: push

    /// Multishot accept (`IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`, Linux 5.19): one
    /// entry, one completion per accepted connection (its descriptor in `result`), until an
    /// error or a cancel ends it (a completion without `more`).
    pub fn accept_multi(&mut self, listener: BorrowedFd<'_>, user_data: u64) -> io::Result<()> {
        let entry = opcode::AcceptMulti::new(Fd(listener.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(user_data);
        self.push(entry)
    }

    /// One receive (`IORING_OP_RECV` with `IOSQE_BUFFER_SELECT`) of at most `max` bytes into
    /// a buffer the kernel picks from the pool when data arrives.
    pub fn recv(&mut self, fd: BorrowedFd<'_>, max: u32, user_data: u64) -> io::Result<()> {
        let max = max.min(self.buffer_size());
        let entry = opcode::Recv::new(Fd(fd.as_raw_fd()), std::ptr::null_mut(), max)
            .buf_group(GROUP)
            // IORING_RECVSEND_POLL_FIRST: a receive is submitted when no data is expected yet
            // (the echo has just gone out), so arm the wait for data at once instead of first
            // trying a receive that would find nothing.
            .ioprio(RECVSEND_POLL_FIRST)
            .build()
            .flags(squeue::Flags::BUFFER_SELECT)
            .user_data(user_data);
        self.push(entry)
    }

    /// Multishot receive (`IORING_RECV_MULTISHOT`, Linux 6.0): one entry, one completion per
    /// arrival of data, each in a pool buffer, until end of stream, an error, an empty pool
    /// (`ENOBUFS`) or a cancel ends it.
    pub fn recv_multi(&mut self, fd: BorrowedFd<'_>, user_data: u64) -> io::Result<()> {
        let entry = opcode::RecvMulti::new(Fd(fd.as_raw_fd()), GROUP)
            .build()
            .user_data(user_data);
        self.push(entry)
    }

    /// One receive into the caller's own buffer (its full length), which the kernel holds
    /// until the completion hands it back. Fails with `AlreadyExists` if `user_data` already
    /// holds a buffer.
    pub fn recv_into(
        &mut self,
        fd: BorrowedFd<'_>,
        mut buf: Vec<u8>,
        user_data: u64,
    ) -> io::Result<()> {
        let (ptr, len) = (buf.as_mut_ptr(), buf.len() as u32);
        self.lend(user_data, buf)?;
        let entry = opcode::Recv::new(Fd(fd.as_raw_fd()), ptr, len)
            .build()
            .user_data(user_data);
        self.push_lent(entry, user_data)
    }

    // ANCHOR: send
    /// Sends `buf[from..]` (`IORING_OP_SEND`); the kernel holds `buf` until the completion
    /// hands it back with the count sent. Fails with `AlreadyExists` if `user_data` already
    /// holds a buffer (one send in flight per tag).
    pub fn send(
        &mut self,
        fd: BorrowedFd<'_>,
        buf: Vec<u8>,
        from: usize,
        user_data: u64,
    ) -> io::Result<()> {
        let tail = buf.get(from..).unwrap_or_default();
        let (ptr, len) = (tail.as_ptr(), tail.len() as u32);
        self.lend(user_data, buf)?;
        let entry = opcode::Send::new(Fd(fd.as_raw_fd()), ptr, len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(user_data);
        self.push_lent(entry, user_data)
    }

    /// Pushes an entry that uses a lent buffer; if it cannot be queued, the buffer is simply
    /// dropped with the error (the kernel never saw it).
    fn push_lent(&mut self, entry: squeue::Entry, user_data: u64) -> io::Result<()> {
        self.push(entry).inspect_err(|_| {
            self.owned.remove(&user_data);
        })
    }

    fn lend(&mut self, user_data: u64, buf: Vec<u8>) -> io::Result<()> {
        if self.owned.contains_key(&user_data) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("an operation tagged {user_data:#x} already holds a buffer"),
            ));
        }
        self.owned.insert(user_data, buf);
        Ok(())
    }
    // ANCHOR_END: send

    /// Multishot poll for readability (`IORING_OP_POLL_ADD`, `IORING_POLL_ADD_MULTI`): a
    /// completion each time `fd` becomes readable. The loop watches its stop request this way.
    pub fn poll_readable(&mut self, fd: BorrowedFd<'_>, user_data: u64) -> io::Result<()> {
        let entry = opcode::PollAdd::new(Fd(fd.as_raw_fd()), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(user_data);
        self.push(entry)
    }

    /// Asks the kernel to cancel the operation tagged `target` (`IORING_OP_ASYNC_CANCEL`). The
    /// operation then completes with `-ECANCELED` (unless it completed first); the cancel
    /// itself completes under `user_data`.
    pub fn cancel(&mut self, target: u64, user_data: u64) -> io::Result<()> {
        let entry = opcode::AsyncCancel::new(target)
            .build()
            .user_data(user_data);
        self.push(entry)
    }

    /// Cancels every operation in flight (`IORING_ASYNC_CANCEL_ANY`, Linux 5.19).
    pub fn cancel_all(&mut self, user_data: u64) -> io::Result<()> {
        let entry = opcode::AsyncCancel2::new(CancelBuilder::any())
            .build()
            .user_data(user_data);
        self.push(entry)
    }

    /// Submits everything queued without waiting: one `io_uring_enter(2)`. Returns how many
    /// entries the kernel consumed.
    pub fn submit(&mut self) -> io::Result<usize> {
        self.enter(0, None)
    }

    /// One `io_uring_enter(2)` that submits everything queued and, if no completion is
    /// waiting already, sleeps until one arrives or `timeout` passes (`None`: no limit).
    /// A timeout or a signal is not an error: the caller looks at the completion queue.
    pub fn submit_and_wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let want = usize::from(self.uring.completion().is_empty());
        if want == 0 && self.uring.submission().is_empty() {
            return Ok(0); // Work is waiting and nothing to submit: no system call at all.
        }
        self.enter(want, timeout)
    }

    fn enter(&mut self, want: usize, timeout: Option<Duration>) -> io::Result<usize> {
        self.counters.enters += 1;
        let result = match timeout {
            Some(t) => {
                // A timespec far in the future is fine; one past i64 seconds is not.
                let ts = Timespec::from(t.min(Duration::from_secs(24 * 3600)));
                let args = SubmitArgs::new().timespec(&ts);
                self.uring.submitter().submit_with_args(want, &args)
            }
            None => self.uring.submitter().submit_and_wait(want),
        };
        match result {
            Ok(n) => {
                self.counters.submitted += n as u64;
                Ok(n)
            }
            // ETIME: the timeout passed. EINTR: a signal. EBUSY: the completion queue is full
            // and must be read first. In each case the completion queue is what to look at.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Moves every completion waiting in the completion queue into `out` (which is not
    /// cleared first); returns how many.
    pub fn complete(&mut self, out: &mut Vec<Completion>) -> usize {
        let mut n = 0;
        let mut cq = self.uring.completion();
        cq.sync();
        for cqe in &mut cq {
            let more = cqueue::more(cqe.flags());
            let selected = cqueue::buffer_select(cqe.flags());
            out.push(Completion {
                user_data: cqe.user_data(),
                result: cqe.result(),
                more,
                selected,
                buffer: None,
            });
            n += 1;
        }
        drop(cq);
        let first = out.len() - n;
        for c in &mut out[first..] {
            if let (Some(bid), Some(pool)) = (c.selected, self.pool.as_mut()) {
                pool.lend(bid);
            }
            if !c.more {
                self.in_flight = self.in_flight.saturating_sub(1);
                c.buffer = self.owned.remove(&c.user_data);
            }
        }
        self.counters.completed += n as u64;
        n
    }

    /// The first `len` bytes of provided buffer `bid`, which a completion handed over and
    /// which has not been recycled yet. Panics otherwise: that would be a bug of the caller.
    pub fn received(&self, bid: u16, len: usize) -> &[u8] {
        let pool = self.pool.as_ref().expect("a ring without a buffer pool");
        pool.read(bid, len)
    }

    /// Returns provided buffer `bid` to the kernel's pool.
    pub fn recycle(&mut self, bid: u16) {
        if let Some(pool) = self.pool.as_mut() {
            pool.give(bid);
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Every operation must end before its memory is freed: cancel them all, and wait
        // (bounded) for their completions.
        if self.in_flight > 0 && self.cancel_all(u64::MAX).is_ok() {
            let until = Instant::now() + DROP_PATIENCE;
            let mut done = Vec::new();
            while self.in_flight > 0 && Instant::now() < until {
                if self
                    .submit_and_wait(Some(Duration::from_millis(50)))
                    .is_err()
                {
                    break;
                }
                done.clear();
                self.complete(&mut done);
                for c in &done {
                    if let Some(bid) = c.selected {
                        self.recycle(bid);
                    }
                }
            }
        }
        if self.in_flight > 0 {
            // Some operation may still write into these: better lost than freed under the
            // kernel's hands.
            for (_, buf) in self.owned.drain() {
                std::mem::forget(buf);
            }
            if let Some(pool) = self.pool.as_mut() {
                pool.leak = true;
            }
        } else if self.pool.is_some() {
            let _ = self.uring.submitter().unregister_buf_ring(GROUP);
        }
    }
}

/// A provided buffer ring (`io_uring_register_buf_ring(3)`): a ring of `{addr, len, bid}`
/// entries shared with the kernel, plus the buffers they point into. The kernel takes entries
/// from the head when data arrives; we add entries at the tail when a buffer comes back.
struct Pool {
    /// The shared ring of entries, page-aligned as the kernel requires.
    entries: *mut BufRingEntry,
    count: u16,
    /// Our copy of the tail; the shared one is published after every change.
    tail: u16,
    /// The buffers, `count * size` bytes.
    memory: *mut u8,
    size: u32,
    /// Which buffers the kernel has handed to us and we have not given back.
    lent: Vec<bool>,
    /// Set when the memory must not be freed (an operation might still use it).
    leak: bool,
}

impl Pool {
    fn layouts(count: u16, size: u32) -> io::Result<(Layout, Layout)> {
        let bad = |e: alloc::LayoutError| io::Error::new(io::ErrorKind::InvalidInput, e);
        let ring = Layout::from_size_align(
            usize::from(count) * std::mem::size_of::<BufRingEntry>(),
            4096,
        )
        .map_err(bad)?;
        let memory =
            Layout::from_size_align(usize::from(count) * size as usize, 4096).map_err(bad)?;
        Ok((ring, memory))
    }

    fn register(uring: &IoUring, count: u16, size: u32) -> io::Result<Self> {
        if !count.is_power_of_two() || count > 32_768 || size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a buffer pool needs a power of two of buffers (at most 32768) of non-zero size",
            ));
        }
        let (ring_layout, memory_layout) = Self::layouts(count, size)?;
        // Safety: both layouts have a non-zero size (count >= 1, size >= 1). Zeroed memory: the
        // kernel reads the entries' tail field (zero: no buffers yet) from the moment of
        // registration, and the buffers are plain bytes.
        let (entries, memory) = unsafe {
            (
                alloc::alloc_zeroed(ring_layout).cast::<BufRingEntry>(),
                alloc::alloc_zeroed(memory_layout),
            )
        };
        if entries.is_null() || memory.is_null() {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "cannot allocate the buffer pool",
            ));
        }
        let mut pool = Self {
            entries,
            count,
            tail: 0,
            memory,
            size,
            lent: vec![true; usize::from(count)],
            leak: false,
        };
        // Safety: `entries` is page-aligned, `count` entries long, and lives until `Drop`,
        // which runs after the ring's operations have completed and the group is unregistered
        // (or leaks the memory).
        unsafe {
            uring
                .submitter()
                .register_buf_ring_with_flags(entries as u64, count, GROUP, 0)?;
        }
        for bid in 0..count {
            pool.give(bid);
        }
        Ok(pool)
    }

    /// Buffers in the kernel's hands, ready to be picked.
    fn available(&self) -> usize {
        self.lent.iter().filter(|lent| !**lent).count()
    }

    /// Marks `bid` as handed to us by a completion.
    fn lend(&mut self, bid: u16) {
        if let Some(lent) = self.lent.get_mut(usize::from(bid)) {
            *lent = true;
        }
    }

    fn read(&self, bid: u16, len: usize) -> &[u8] {
        assert!(
            self.lent.get(usize::from(bid)).copied().unwrap_or(false),
            "buffer {bid} is not ours to read"
        );
        let len = len.min(self.size as usize);
        // Safety: buffer `bid` lies inside `memory`; a completion handed it to us and it has not
        // been given back, so the kernel will not write into it while this borrow lives (the
        // borrow of `self` also prevents a `give` meanwhile).
        unsafe {
            std::slice::from_raw_parts(self.memory.add(usize::from(bid) * self.size as usize), len)
        }
    }

    /// Adds buffer `bid` at the tail and publishes the new tail to the kernel.
    fn give(&mut self, bid: u16) {
        let Some(lent) = self.lent.get_mut(usize::from(bid)) else {
            return;
        };
        if !*lent {
            return; // Already the kernel's: giving it twice would hand out one buffer twice.
        }
        *lent = false;
        let slot = usize::from(self.tail & (self.count - 1));
        // Safety: `slot` < `count`; the kernel reads entries only between its head and the
        // published tail, and this slot is at our unpublished tail, so it does not read it
        // now. The address is inside `memory`.
        unsafe {
            let entry = &mut *self.entries.add(slot);
            entry.set_addr(self.memory.add(usize::from(bid) * self.size as usize) as u64);
            entry.set_len(self.size);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        // Safety: the shared tail is the `resv` field of the first entry (the kernel's ABI),
        // inside our allocation and aligned for a u16; the kernel reads it concurrently, so it
        // is written atomically, with Release ordering so that the entry above is visible
        // first.
        unsafe {
            let tail = BufRingEntry::tail(self.entries).cast::<AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.leak {
            return;
        }
        if let Ok((ring_layout, memory_layout)) = Self::layouts(self.count, self.size) {
            // Safety: allocated in `register` with these same layouts; the ring that used them
            // has no operation left (or `leak` would be set).
            unsafe {
                alloc::dealloc(self.entries.cast(), ring_layout);
                alloc::dealloc(self.memory, memory_layout);
            }
        }
    }
}

/// The connection a successful accept completion created.
pub fn accepted(result: i32) -> io::Result<TcpStream> {
    if result < 0 {
        return Err(io::Error::from_raw_os_error(-result));
    }
    // Safety: a non-negative result of an accept operation is a descriptor the kernel has just
    // created for us, owned by nothing else; the TcpStream becomes its one owner.
    Ok(unsafe { TcpStream::from_raw_fd(result) })
}

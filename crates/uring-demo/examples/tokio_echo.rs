//! The bridge to tokio: chapter 7's echo server, with its bounds, written the tokio way: a task
//! per connection, `tokio::time::timeout` around each wait, back-pressure through `AsyncWrite`.
//!
//! Run it with `cargo run --release -p uring-demo --example tokio_echo -- 127.0.0.1:7000` and
//! load it with `cargo run --release -p multiplex-demo -- load --addr 127.0.0.1:7000 -c 100`.
//! (tokio is a dev-dependency of this crate: a production reference, not part of the lesson.)
//!
//! Where chapter 7's loop kept each bound by hand, tokio keeps it like this:
//!
//! - **Readiness** becomes **wakers**: tokio's reactor is an epoll loop (through mio); when a
//!   socket is ready, it wakes the task waiting on it, and the task retries its read or write.
//! - **A connection's state machine** becomes an `async fn`: the compiler turns the code below
//!   into the state machine that `multiplex_demo::conn` wrote out by hand.
//! - **The deadline set** becomes `tokio::time::timeout` around each `.await`, backed by the
//!   runtime's timer wheel.
//! - **Back-pressure** comes free: `write_all` does not return until the kernel has taken the
//!   echo, and this task reads nothing meanwhile, so a client that does not read fills its own
//!   buffers and blocks.
//! - **The connection limit** is a semaphore: accepting waits for a permit.

use std::io::{self, ErrorKind};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

/// The bounds, as in chapter 7's `Config`.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The largest frame payload accepted.
    pub max_frame: usize,
    /// How long a connection may wait for its next frame to start, or for its echo to go.
    pub idle_timeout: Duration,
    /// How long a frame's payload may take to arrive once its header is here.
    pub frame_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_frame: 1 << 20,
            idle_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(10),
            max_connections: 100_000,
        }
    }
}

// ANCHOR: tokio_serve
/// Accepts forever, one task per connection, at most `bounds.max_connections` at once.
pub async fn serve(listener: TcpListener, bounds: Bounds) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(bounds.max_connections));
    loop {
        // At the limit, this waits: new clients wait in the kernel's accept queue.
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: do not spin, try again a little later.
                eprintln!("accept failed ({e}); pausing 100ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            if let Err(why) = connection(stream, bounds).await {
                eprintln!("{peer}: {why}; closed");
            }
            drop(permit); // One more connection may be accepted.
        });
    }
}

/// One connection: read a frame, echo it, until the peer closes or a bound is passed.
async fn connection(mut stream: TcpStream, bounds: Bounds) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut frame = Vec::new();
    loop {
        let mut header = [0u8; 4];
        match timeout(bounds.idle_timeout, stream.read_exact(&mut header)).await {
            Err(_) => {
                return Err(io::Error::other(format!(
                    "idle for {:?}",
                    bounds.idle_timeout
                )));
            }
            Ok(Err(e)) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()), // Peer closed.
            Ok(result) => result?,
        };
        let len = u32::from_be_bytes(header) as usize;
        if len > bounds.max_frame {
            return Err(io::Error::other(format!(
                "frame of {len} bytes exceeds the limit of {} bytes",
                bounds.max_frame
            )));
        }
        frame.clear();
        frame.extend_from_slice(&header);
        frame.resize(4 + len, 0);
        match timeout(bounds.frame_timeout, stream.read_exact(&mut frame[4..])).await {
            Err(_) => return Err(io::Error::other("frame not complete in time (slow sender)")),
            Ok(result) => result?,
        };
        // Back-pressure: nothing more is read until the kernel has taken the whole echo.
        match timeout(bounds.idle_timeout, stream.write_all(&frame)).await {
            Err(_) => return Err(io::Error::other("the client does not read its echoes")),
            Ok(result) => result?,
        }
    }
}
// ANCHOR_END: tokio_serve

/// Runs [`serve`] on a current-thread runtime on a thread of its own; returns at once.
#[allow(dead_code)] // Used by the benchmark, which includes this file.
pub fn spawn(listener: std::net::TcpListener, bounds: Bounds) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("tokio server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener)?;
                serve(listener, bounds).await
            })
        })?;
    Ok(())
}

#[allow(dead_code)] // The benchmark includes this file for `spawn`, not for `main`.
fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    listener.set_nonblocking(true)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move { serve(TcpListener::from_std(listener)?, Bounds::default()).await })
}

//! Lab 3's baseline: the course's own chat server for the lab's protocol, written with tokio
//! (tasks, `tokio::sync::mpsc` channels, `shutdown(2)` to drop a client), run inside the grader
//! so that it is there in a student kit too, where `exercises::lab3` is a `todo!()`.
//!
//! It is the yardstick of the speed floor, not the answer to the lab: a task per direction of
//! every client and a channel per client, where the lab asks for one event loop. The grader
//! runs it on a runtime of one worker thread, so that both servers have one thread to serve
//! with, measured under the same load in the same test.
//!
//! Its rules are the lab's: `SUB <topic>` is answered `OK <topic>`; `PUB <topic> <message>`
//! sends `MSG <topic> <message>` to every subscriber; a frame over the limit or a bad request
//! closes its client; a client whose queue is full when a message comes is dropped.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::mpsc;

/// The longest topic, as in the lab.
const MAX_TOPIC: usize = 64;
/// The most subscriptions per client, as in the lab.
const MAX_SUBSCRIPTIONS: usize = 64;
/// How many bytes the writer task gathers from its queue into one `write`.
const BATCH: usize = 64 * 1024;

/// One subscriber as a publisher sees it: where its messages go, and how to drop it.
#[derive(Clone)]
struct Subscriber {
    id: u64,
    queue: mpsc::Sender<Arc<[u8]>>,
    /// A duplicate of its socket: `shutdown(Both)` ends both of its tasks at once.
    socket: Arc<std::net::TcpStream>,
}

/// Topic to subscribers, shared by every client's task.
type Topics = Arc<Mutex<HashMap<Vec<u8>, Vec<Subscriber>>>>;

/// The reference server, running on its own runtime; stopped (every client closed) when
/// dropped.
pub struct Reference {
    /// Where it listens.
    pub addr: SocketAddr,
    runtime: Option<Runtime>,
}

impl Reference {
    /// Starts it on `127.0.0.1:0`, refusing frames over `max_frame` bytes and dropping a
    /// client with `queue` messages waiting; its thread stays on processor `cpu`, if given.
    pub fn start(max_frame: usize, queue: usize, cpu: Option<usize>) -> io::Result<Reference> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(1) // One thread to serve with, as the lab has.
            .thread_name("chat reference")
            .on_thread_start(move || {
                if let Some(cpu) = cpu {
                    let _ = super::chat::pin(0, cpu);
                }
            })
            .enable_io()
            .build()?;
        // tokio's `bind` asks for an accept queue of 1024, as the lab's binary does.
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let topics = Topics::default();
        runtime.spawn(accept(listener, topics, max_frame, queue));
        Ok(Reference {
            addr,
            runtime: Some(runtime),
        })
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background(); // Its tasks are dropped, and their sockets closed.
        }
    }
}

async fn accept(listener: TcpListener, topics: Topics, max_frame: usize, queue: usize) {
    let ids = AtomicU64::new(0);
    loop {
        // An error (EMFILE) drops nothing: the connection stays queued for the next try.
        let Ok((stream, _)) = listener.accept().await else {
            tokio::task::yield_now().await;
            continue;
        };
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(client(stream, id, Arc::clone(&topics), max_frame, queue));
    }
}

/// One client: this task reads its requests; a second one writes what its queue holds.
async fn client(stream: TcpStream, id: u64, topics: Topics, max_frame: usize, queue: usize) {
    let Ok(socket) = duplicate(stream) else {
        return;
    };
    let (stream, socket) = socket;
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel(queue);
    tokio::spawn(writer(write, rx));
    let me = Subscriber {
        id,
        queue: tx,
        socket: Arc::new(socket),
    };
    let mut mine: Vec<Vec<u8>> = Vec::new();
    let mut read = BufReader::with_capacity(BATCH, read);
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; 4];
        if read.read_exact(&mut header).await.is_err() {
            break;
        }
        let len = u32::from_be_bytes(header) as usize;
        if len > max_frame {
            break;
        }
        payload.resize(len, 0);
        if read.read_exact(&mut payload).await.is_err() {
            break;
        }
        match request(&payload) {
            Some((topic, None)) => {
                if !mine.iter().any(|t| t == topic) {
                    if mine.len() == MAX_SUBSCRIPTIONS {
                        break;
                    }
                    mine.push(topic.to_vec());
                    let mut topics = topics.lock().unwrap();
                    topics.entry(topic.to_vec()).or_default().push(me.clone());
                }
                let ok = framed(&[b"OK ", topic]);
                if me.queue.try_send(ok).is_err() {
                    break;
                }
            }
            Some((topic, Some(message))) => {
                let msg = framed(&[b"MSG ", topic, b" ", message]);
                let mut topics = topics.lock().unwrap();
                if let Some(subscribers) = topics.get_mut(topic) {
                    subscribers.retain(|s| match s.queue.try_send(Arc::clone(&msg)) {
                        Ok(()) => true,
                        Err(_) => {
                            // Too far behind (or gone): drop it, and stop sending it anything.
                            let _ = s.socket.shutdown(Shutdown::Both);
                            false
                        }
                    });
                }
            }
            None => break,
        }
    }
    let mut topics = topics.lock().unwrap();
    for topic in &mine {
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.retain(|s| s.id != id);
        }
    }
    let _ = me.socket.shutdown(Shutdown::Both);
}

/// Writes what the client's queue holds, many messages to a `write` when they wait.
async fn writer(mut write: OwnedWriteHalf, mut rx: mpsc::Receiver<Arc<[u8]>>) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(frame) = rx.recv().await {
        batch.clear();
        batch.extend_from_slice(&frame);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(frame) => batch.extend_from_slice(&frame),
                Err(_) => break,
            }
        }
        if write.write_all(&batch).await.is_err() {
            break;
        }
    }
}

/// The stream, and a duplicate of its socket to shut it down from another task.
fn duplicate(stream: TcpStream) -> io::Result<(TcpStream, std::net::TcpStream)> {
    let std = stream.into_std()?;
    let dup = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, dup))
}

/// `SUB topic` as `(topic, None)`, `PUB topic message` as `(topic, Some(message))`; `None` if
/// the request is bad.
fn request(payload: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let good = |t: &[u8]| !t.is_empty() && t.len() <= MAX_TOPIC && !t.contains(&b' ');
    if let Some(topic) = payload.strip_prefix(b"SUB ") {
        return good(topic).then_some((topic, None));
    }
    let rest = payload.strip_prefix(b"PUB ")?;
    let space = rest.iter().position(|b| *b == b' ')?;
    let topic = &rest[..space];
    good(topic).then_some((topic, Some(&rest[space + 1..])))
}

/// One frame whose payload is `parts` one after the other.
fn framed(parts: &[&[u8]]) -> Arc<[u8]> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut frame = Vec::with_capacity(4 + len);
    frame.extend_from_slice(&(len as u32).to_be_bytes());
    for part in parts {
        frame.extend_from_slice(part);
    }
    frame.into()
}

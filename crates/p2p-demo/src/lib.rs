//! Chapter 9: peer-to-peer with heartbeats — a mesh of nodes that each listen and dial.
//!
//! Until now every chapter had a server and its clients. Here every node is both: it listens
//! for its peers and dials them, over plain TCP (`listen(2)`, `accept(2)`, `connect(2)`), and
//! speaks chapter 1's length-prefixed frames. Three problems come with that, and each has a
//! classic answer:
//!
//! - Two nodes that dial each other at the same moment get two connections. Both keep the one
//!   dialed by the lower id (a tie-break rule both apply alone, and so agree on).
//! - A peer can die without a word, or hang with its kernel still answering for it. Every link
//!   carries a heartbeat every interval, and a peer silent for a deadline of several intervals
//!   is declared down (chapter 6's heartbeat, in both directions); a lost peer is dialed again
//!   with a backoff that doubles up to a cap.
//! - A message for everyone must arrive once at every live node. Each has an origin and a
//!   sequence number; nodes pass new messages on (flooding) and drop the copies.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`wire`]: the six messages (hello, hello-ack, heartbeat, broadcast, superseded, leave) in
//!   chapter 1's frames, every field checked.
//! - [`tiebreak`]: which of two connections between the same two nodes survives.
//! - [`backoff`]: how long to wait before dialing a lost peer again.
//! - [`seen`]: the bounded memory that makes each broadcast delivered once.
//! - [`link`]: one connection: its reader and writer threads, bounded in time and queue.
//! - [`node`]: a node: the event loop that owns the membership, heartbeats, dials, floods.
//! - [`mesh`]: a whole mesh in one process, every pair dialed from both ends.
//! - [`demo`]: the narrated tour that `cargo run -p p2p-demo` prints: a whole mesh on
//!   loopback.

pub mod backoff;
pub mod demo;
pub mod link;
pub mod mesh;
pub mod node;
pub mod seen;
pub mod tiebreak;
pub mod wire;

//! socklab's abuse client: the attacks that every server in the course must survive.
//!
//! Students point the same tool at their own servers: `cargo run -p socklab-abuse -- slowloris
//! --addr 127.0.0.1:7000`. Every attack is bounded in connections, bytes and time, and refuses
//! any target outside the loopback addresses (127.0.0.0/8 and ::1): this is a tool for your
//! own machine, never for anyone else's. An attack that cannot connect at all fails with an
//! error naming the address, so that an attack on nothing never looks like a server that
//! survived.
//!
//! - [`guard`]: the loopback-only rule.
//! - [`attacks`]: the attacks, each returning what it did and what the server answered.
//! - [`wire`]: the little of the course's protocols the attacks speak (frames, datagram
//!   sizes), written here so that the tool does not depend on the servers it attacks.
//!
//! The robustness suite, which starts each of the course's servers and runs every attack
//! against it while well-behaved clients keep echoing checksummed data, lives in this crate's
//! `tests/` (`tests/survive/` is its harness).

pub mod attacks;
pub mod guard;
pub mod wire;

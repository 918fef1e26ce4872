//! socklab's abuse client, and the robustness suite every server in the course survives.
//!
//! Students point the same tool at their own servers: `cargo run -p socklab-abuse -- slowloris
//! --addr 127.0.0.1:7000`. Every attack is bounded in connections, bytes and time, and refuses
//! any target outside the loopback addresses (127.0.0.0/8 and ::1): this is a tool for your
//! own machine, never for anyone else's.
//!
//! - [`guard`]: the loopback-only rule.
//! - [`attacks`]: the attacks, each returning what it did and what the server answered.
//! - [`suite`]: the harness the robustness tests use: start each of the course's servers with
//!   tight bounds, keep well-behaved clients echoing checksummed data through every attack,
//!   and check that the server recovers.

pub mod attacks;
pub mod guard;
pub mod suite;

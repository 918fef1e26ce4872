//! The wire lab.

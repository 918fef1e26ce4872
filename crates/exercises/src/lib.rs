//! socklab's exercises: two per chapter, the first easier than the second.
//!
//! Each exercise is a function whose body, between `SOLUTION BEGIN` and `SOLUTION END`
//! markers, is the reference solution. `cargo xtask student-kit DIR` writes a copy of the
//! course in which every such body is replaced by `todo!("<the hint>")`; the grading tests in
//! `tests/grading.rs` (one per exercise, named after it) then fail exactly where a student
//! has work to do, and pass once the exercise is solved.

pub mod ch1;
pub mod ch2;
pub mod ch3;
pub mod ch4;
pub mod ch5;
pub mod ch6;
pub mod ch7;

//! Echo requests/s per I/O model: chapter 7's `models` benchmark, which writes `models.md`,
//! `models.svg` and `models.tsv` itself; the goals are checked against them in
//! [`super::page::goals`]. It is given chapter 11's io_uring server (`--uring`) and, where
//! strace is installed, counts system calls per request (`--syscalls`).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::data::Models;

/// Runs the models benchmark into `out` and reads back what it wrote.
pub fn measure(
    cargo: fn() -> Command,
    out: &Path,
    quick: bool,
    uring: &Path,
    syscalls: bool,
) -> Result<Models> {
    let mut models = cargo();
    models
        .args([
            "bench",
            "-p",
            "multiplex-demo",
            "--bench",
            "models",
            "--",
            "--out",
        ])
        .arg(out)
        .arg("--uring")
        .arg(uring);
    if syscalls {
        models.arg("--syscalls");
    }
    if quick {
        models.arg("--quick");
    }
    crate::run(models)?;
    Ok(Models::load(out))
}

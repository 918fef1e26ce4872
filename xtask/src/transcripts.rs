//! `cargo xtask transcripts`: runs every `console` transcript in the book (`$ cargo run -q -p
//! ...` and the output the book shows) and compares what the program prints with what the book
//! says, `[..]` and `...` standing for what varies.
//!
//! It runs outside `cargo test`, whose lock on the build directory would make the transcripts'
//! own `cargo run` wait forever.

use std::path::{Path, PathBuf};

use anyhow::Result;
use socklab_support::skip;

/// Runs the transcripts. With `skips` (test-all's skips file), the programs record their own
/// skips there, and so does this step when it cannot run here.
pub fn run(root: &Path, skips: Option<&Path>) -> Result<()> {
    if !cfg!(target_os = "linux") {
        let reason = "the book's transcripts were recorded on Linux (errno numbers, /proc)";
        match skips {
            Some(file) => skip::skip_into(file, "transcripts", reason),
            None => eprintln!("xtask: {reason}; skipped here"),
        }
        return Ok(());
    }
    let cargo_path =
        std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
    let pages = root.join("book/src/*.md");
    // Transcripts of programs that need the wire lab live apart, in `book/src/on-the-wire/`
    // (the chapters include them), and run only where a program can make labs.
    let wire_pages = root.join("book/src/on-the-wire/*.md");
    let wire = socklab_wire::Lab::available_to_programs();
    if let Err(no_lab) = &wire {
        let (name, reason) = (
            "transcripts in book/src/on-the-wire/",
            format!("no wire lab: {no_lab}"),
        );
        match skips {
            Some(file) => skip::skip_into(file, name, &reason),
            None => eprintln!("xtask: {name} skipped: {reason}"),
        }
    }
    let skips = skips.map(|f| f.to_string_lossy().into_owned());
    // trycmd reports a mismatch by panicking, as it would in a #[test]; make that this step's error.
    std::panic::catch_unwind(move || {
        let cases = trycmd::TestCases::new();
        cases.case(pages);
        if wire.is_ok() {
            cases.case(wire_pages);
        }
        cases
            .register_bin("cargo", trycmd::schema::Bin::Path(cargo_path))
            .timeout(std::time::Duration::from_secs(120));
        if let Some(file) = skips {
            cases.env(skip::SKIPS_VAR, file);
        }
        cases.run();
    })
    .map_err(|_| {
        anyhow::anyhow!("a transcript in the book does not match what its program printed")
    })
}

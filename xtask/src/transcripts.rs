//! `cargo xtask transcripts`: runs every `console` transcript in the book (`$ cargo run -q -p
//! ...` and the output the book shows) and compares what the program prints with what the book
//! says, `[..]` and `...` standing for what varies.
//!
//! A transcript that looks with a tool of the operating system (`ss`, `nc`, `strace`) lives in
//! `book/src/os-tools/`, in a file named after the tool, and is skipped, loudly and with the
//! package to install, where the tool is missing.
//!
//! It runs outside `cargo test`, whose lock on the build directory would make the transcripts'
//! own `cargo run` wait forever.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use socklab_support::skip;

/// Where the transcripts that use a tool of the OS live, relative to the workspace.
const OS_TOOLS: &str = "book/src/os-tools";

/// The pages in `dir` (none if it does not exist), each with the tool its name starts with.
fn os_tool_pages(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let page = entry?.path();
        let name = file_name(&page);
        if name.ends_with(".md")
            && let Some((tool, _)) = name.split_once('-')
        {
            out.push((page.clone(), tool.to_string()));
        }
    }
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

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
    // Transcripts that look with a tool of the OS (ss, nc, strace) live in
    // `book/src/os-tools/`, each named after its tool (`ss-ch01-accept-queue.md`), and run only
    // where that tool is installed: test-all installs nothing, it says what it skipped.
    let mut os_pages = Vec::new();
    for (page, tool) in os_tool_pages(&root.join(OS_TOOLS))? {
        if socklab_support::os_tool::find(&tool).is_some() {
            os_pages.push(page);
            continue;
        }
        let name = format!("transcript {OS_TOOLS}/{}", file_name(&page));
        let reason = format!(
            "`{tool}` is not installed (it comes in the package {})",
            socklab_support::os_tool::package(&tool)
        );
        match skips {
            Some(file) => skip::skip_into(file, &name, &reason),
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
        for page in os_pages {
            cases.case(page);
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

//! The one mdBook version the book is built with: found on PATH or under `target/tools/`, or
//! installed there with `cargo install --locked` (in the background during `test-all`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{Context, Result, bail};

/// The one mdBook version the book is built with.
pub const MDBOOK_VERSION: &str = "0.5.4";

/// An mdBook of the pinned version: found, or being installed in the background.
pub enum MdBook {
    /// Ready to run at this path.
    Ready(PathBuf),
    /// `cargo install` is running; its output goes to `log`.
    Installing {
        /// The install process.
        child: Child,
        /// Where the binary will be.
        local: PathBuf,
        /// The install's output.
        log: PathBuf,
    },
}

/// What `--version` prints for the pinned mdBook.
fn wanted() -> String {
    format!("mdbook v{MDBOOK_VERSION}")
}

fn version_of(program: &Path) -> Option<String> {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The mdBook on PATH if it is the pinned version, or one already installed under
/// `target/tools/`; otherwise starts installing it there with `cargo install --locked`.
/// In `background` mode the install uses one job and writes to a log, so that other work
/// can go on meanwhile; otherwise it runs in the foreground with its output shown.
pub fn find_or_install(root: &Path, cargo: fn() -> Command, background: bool) -> Result<MdBook> {
    if version_of(Path::new("mdbook")).as_deref() == Some(wanted().as_str()) {
        return Ok(MdBook::Ready(PathBuf::from("mdbook")));
    }
    let tools = root.join("target/tools");
    let local = tools
        .join("bin")
        .join(format!("mdbook{}", std::env::consts::EXE_SUFFIX));
    if version_of(&local).as_deref() == Some(wanted().as_str()) {
        return Ok(MdBook::Ready(local));
    }
    fs::create_dir_all(&tools)?;
    let mut cmd = cargo();
    cmd.args(["install", "mdbook", "--locked", "--version"])
        .arg(format!("={MDBOOK_VERSION}"))
        // Only the renderer and its search index: no `serve`/`watch`, which bring a web
        // server and a file watcher that a build does not need, and minutes of compiling.
        .args(["--no-default-features", "--features", "search"])
        // A debug build compiles in half the time and still renders this book in a second.
        .arg("--debug")
        .arg("--root")
        .arg(&tools)
        .arg("--target-dir")
        .arg(tools.join("build"));
    if !background {
        eprintln!(
            "xtask: installing mdBook {MDBOOK_VERSION} into {} (once)",
            tools.display()
        );
        crate::run(cmd).context("installing mdBook")?;
        return match version_of(&local) {
            Some(v) if v == wanted() => Ok(MdBook::Ready(local)),
            other => bail!("installed mdBook reports {other:?}, expected {}", wanted()),
        };
    }
    eprintln!(
        "xtask: installing mdBook {MDBOOK_VERSION} into {} in the background (once)",
        tools.display()
    );
    let log = tools.join("install.log");
    let out = fs::File::create(&log)?;
    // One job, so the checks running meanwhile keep most of the machine.
    cmd.args(["--jobs", "1"])
        .stdout(out.try_clone()?)
        .stderr(out);
    Ok(MdBook::Installing {
        child: cmd.spawn().context("starting cargo install mdbook")?,
        local,
        log,
    })
}

impl MdBook {
    /// Waits for a background install (if any) and returns the path of the pinned mdBook.
    pub fn wait(self) -> Result<PathBuf> {
        match self {
            MdBook::Ready(path) => Ok(path),
            MdBook::Installing {
                mut child,
                local,
                log,
            } => {
                let status = child.wait()?;
                if !status.success() {
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(20).collect();
                    for line in tail.into_iter().rev() {
                        eprintln!("  {line}");
                    }
                    bail!(
                        "installing mdBook failed ({status}); the whole log is {}",
                        log.display()
                    );
                }
                match version_of(&local) {
                    Some(v) if v == wanted() => Ok(local),
                    other => bail!("installed mdBook reports {other:?}, expected {}", wanted()),
                }
            }
        }
    }
}

//! Scratch folders for socket files: a fresh, uniquely named folder under the system's
//! temporary folder for each experiment, removed with everything in it when dropped.
//!
//! A path-named Unix socket is a file, and a file left behind by one run would make the next
//! run's `bind(2)` fail (see [`crate::stale`]). Every experiment, test and demo step therefore
//! binds inside a folder of its own, named after the process id and a counter, so that tests
//! running in parallel, and runs that crashed earlier, never collide.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A uniquely named folder, deleted (with its contents) when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    unique: String,
}

impl Scratch {
    /// Creates `$TMPDIR/socklab-TAG-PID-N`. The folder is readable and searchable by everyone
    /// (mode 0755), so that the access experiments can tell the socket file's own permissions
    /// apart from the folder's; [`crate::access`] makes private folders on purpose.
    pub fn new(tag: &str) -> io::Result<Self> {
        let unique = format!(
            "socklab-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&unique);
        // A leftover from a crashed run with a recycled pid: start clean.
        let _ = fs::remove_dir_all(&dir);
        DirBuilder::new().mode(0o755).create(&dir)?;
        Ok(Self { dir, unique })
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A name unique to this scratch folder, for Linux's abstract socket names, which live in
    /// one namespace shared by every process (per network namespace), not in a folder.
    pub fn unique_name(&self, name: &str) -> String {
        format!("{}-{name}", self.unique)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temporary folder is untidy, not an error.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

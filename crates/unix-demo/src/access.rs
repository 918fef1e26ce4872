//! File permissions as access control. A path-named socket is a file, and on Linux
//! `connect(2)` to it needs *write* permission on the socket file and *search* (execute)
//! permission on every folder of the path, like opening any file (unix(7): "Pathname socket
//! ownership and permissions"). So `chmod(2)` on the socket, or on its folder, decides which
//! users may connect. Some BSD-derived systems have ignored the socket file's own bits;
//! unix(7) advises portable programs not to rely on them, and the folder is the portable
//! guard.
//!
//! Root passes every permission check (`CAP_DAC_OVERRIDE`), so to see the check from root the
//! probe must run as another user: [`probe_as`] runs this crate's own binary as that user.
//!
//! A server that creates its socket and *then* `chmod`s it leaves a moment in which the file
//! has the default mode (0777 less the umask). [`bind_in_private_folder`] has no such moment:
//! the folder is private before the socket exists.

use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::STEP_TIMEOUT;

// ANCHOR: bind_with_mode
/// Binds a listener to `path` and sets the socket file's permission bits to `mode`
/// (`chmod(2)`). Between the two calls the file has the default mode.
pub fn bind_with_mode(path: &Path, mode: u32) -> io::Result<UnixListener> {
    let listener = UnixListener::bind(path)?;
    fs::set_permissions(path, Permissions::from_mode(mode))?;
    Ok(listener)
}
// ANCHOR_END: bind_with_mode

// ANCHOR: bind_in_private_folder
/// Creates `folder` with mode 0700 (only its owner may enter it), then binds a listener to
/// `folder/name`. Nobody else can reach the socket at any moment, whatever its own bits.
pub fn bind_in_private_folder(folder: &Path, name: &str) -> io::Result<UnixListener> {
    DirBuilder::new().mode(0o700).create(folder)?;
    UnixListener::bind(folder.join(name))
}
// ANCHOR_END: bind_in_private_folder

/// The outcome of one attempt to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `connect(2)` succeeded.
    Connected,
    /// It failed with this kind of error (`PermissionDenied` is `EACCES`).
    Refused(ErrorKind),
}

/// Connects to `path` from this process.
pub fn probe(path: &Path) -> Probe {
    match UnixStream::connect(path) {
        Ok(_) => Probe::Connected,
        Err(e) => Probe::Refused(e.kind()),
    }
}

/// What the hidden `probe` subcommand prints for an outcome: one word or two.
pub fn probe_line(outcome: Probe) -> String {
    match outcome {
        Probe::Connected => "connected".to_string(),
        Probe::Refused(kind) => format!("refused {kind:?}"),
    }
}

/// Reads back a [`probe_line`].
fn parse_probe_line(line: &str) -> Option<Probe> {
    match line.trim() {
        "connected" => Some(Probe::Connected),
        "refused PermissionDenied" => Some(Probe::Refused(ErrorKind::PermissionDenied)),
        "refused ConnectionRefused" => Some(Probe::Refused(ErrorKind::ConnectionRefused)),
        "refused NotFound" => Some(Probe::Refused(ErrorKind::NotFound)),
        other => other
            .strip_prefix("refused ")
            .map(|_| Probe::Refused(ErrorKind::Other)),
    }
}

/// Whether this process runs as root (effective uid 0), which every permission check lets
/// through.
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The user and group `nobody` (65534 on Linux), the stranger of the access experiments.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// Whether a user who is neither owner nor in the group could reach and run `path`: the file
/// and every folder above it have the "others" execute bit.
fn others_can_reach(path: &Path) -> bool {
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    path.ancestors()
        .all(|p| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// The user to run `bin` as, to stand for "another user" in the experiments: `nobody`, when
/// this process is root (only root can switch users) and `nobody` can run `bin` and reach the
/// temporary folder; `None` otherwise (then the experiments use this process itself).
pub fn other_user(bin: &Path) -> Option<(u32, u32)> {
    (running_as_root() && others_can_reach(bin) && others_can_reach(&std::env::temp_dir()))
        .then_some(NOBODY)
}

// ANCHOR: probe_as
/// Connects to `path` as another user: runs `bin probe --path PATH` (this crate's binary)
/// with its user and group ids set to `uid` and `gid` before it starts (`setgid(2)`,
/// `setuid(2)`; only root may do that), and reads the one line it prints.
pub fn probe_as(bin: &Path, path: &Path, uid: u32, gid: u32) -> io::Result<Probe> {
    let child = Command::new(bin)
        .arg("probe")
        .arg("--path")
        .arg(path)
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = crate::finish(child, STEP_TIMEOUT)?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_probe_line(&text).ok_or_else(|| {
        io::Error::other(format!(
            "the probe said {text:?} (stderr: {:?})",
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}
// ANCHOR_END: probe_as

/// Who tries to connect in the access experiments: the user `nobody` when we are root (root
/// itself passes every check), or this process itself otherwise, with the owner's own bits
/// taken away (an ordinary user cannot become someone else).
#[derive(Debug, Clone)]
pub enum Stranger {
    /// `nobody`, by running this crate's binary (the path) as that user.
    Nobody(std::path::PathBuf),
    /// This process, which owns the files.
    Ourselves,
}

impl Stranger {
    /// The stranger this process can use: `nobody` if it is root (see [`other_user`]), itself
    /// otherwise; `None` for root when `nobody` cannot run `bin` (a build folder inside a
    /// private home folder, say), since root itself passes every check.
    pub fn here(bin: &Path) -> Option<Self> {
        match (running_as_root(), other_user(bin)) {
            (false, _) => Some(Stranger::Ourselves),
            (true, Some(_)) => Some(Stranger::Nobody(bin.to_path_buf())),
            (true, None) => None,
        }
    }

    /// Who it is, for the narration.
    pub fn describe(&self) -> &'static str {
        match self {
            Stranger::Nobody(_) => "user nobody (another user)",
            Stranger::Ourselves => "this process (the owner)",
        }
    }

    /// Socket file modes that (shut this stranger out, let it in): for another user, owner-only
    /// 0700 against 0777; for the owner, 0500 (no write bit) against 0700.
    pub fn modes(&self) -> (u32, u32) {
        match self {
            Stranger::Nobody(_) => (0o700, 0o777),
            Stranger::Ourselves => (0o500, 0o700),
        }
    }

    /// The mode of a folder that shuts the stranger out: 0700 for another user; for the owner,
    /// 0600 (no search bit).
    pub fn closed_folder_mode(&self) -> u32 {
        match self {
            Stranger::Nobody(_) => 0o700,
            Stranger::Ourselves => 0o600,
        }
    }

    /// Tries to connect to `path` as this stranger.
    pub fn try_connect(&self, path: &Path) -> io::Result<Probe> {
        match self {
            Stranger::Nobody(bin) => probe_as(bin, path, NOBODY.0, NOBODY.1),
            Stranger::Ourselves => Ok(probe(path)),
        }
    }
}

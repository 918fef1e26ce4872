//! May this process build a lab? If not, exactly why, and how to allow it.
//!
//! Making a network namespace takes `CAP_SYS_ADMIN`, and making a TUN device `CAP_NET_ADMIN`,
//! in the user namespace that owns the network namespace. Root has both. Anyone else can get
//! both *inside a user namespace of their own* (user_namespaces(7)), where they are root over
//! nothing but what they create there, if the kernel allows unprivileged user namespaces and
//! they can open `/dev/net/tun`. One more catch: `unshare(CLONE_NEWUSER)` refuses a process
//! that already runs several threads (`EINVAL`), and a test binary always does. So:
//!
//! - as root (this course's CI), labs are made in-process, one network namespace per host;
//! - without root, a program calls [`enter_user_namespace`] first thing in `main`, while it
//!   still has one thread; a test re-runs itself in a child process started by
//!   `unshare --user --map-root-user` (see [`crate::testing`]);
//! - where neither works (macOS, a locked-down container, Ubuntu's AppArmor restriction),
//!   [`check`] says which and how to allow it, and the tests report themselves skipped.

use std::fmt;
use std::io;
use std::sync::OnceLock;

/// Set in the environment of a test re-run inside a user namespace, so it does not re-run
/// itself again.
pub const CHILD_VAR: &str = "SOCKLAB_WIRE_IN_USERNS";

/// Set (to anything but `0`), the lab reports itself unavailable, with this variable as the
/// reason: how the tests check what a program says on a machine where no lab can be made, and
/// how to see what a course run looks like there (`SOCKLAB_WIRE_FORCE_UNAVAILABLE=1 cargo
/// xtask test-all`).
pub const FORCE_UNAVAILABLE_VAR: &str = "SOCKLAB_WIRE_FORCE_UNAVAILABLE";

/// Why no lab can be made in this process, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// What is missing or forbidden.
    pub reason: String,
    /// How to allow it.
    pub fix: String,
    /// True when a child process in a user namespace of its own could make labs (the process
    /// is not root, but unprivileged user namespaces work here).
    pub user_namespace_works: bool,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; to allow it: {}", self.reason, self.fix)
    }
}

impl From<Unavailable> for io::Error {
    fn from(u: Unavailable) -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, u.to_string())
    }
}

/// Whether this process can make labs; the answer is worked out once and remembered.
pub fn check() -> Result<(), Unavailable> {
    static ANSWER: OnceLock<Result<(), Unavailable>> = OnceLock::new();
    ANSWER
        .get_or_init(|| match std::env::var(FORCE_UNAVAILABLE_VAR) {
            Ok(v) if v != "0" => Err(unavailable(
                format!("{FORCE_UNAVAILABLE_VAR} is set (the lab is switched off on purpose)"),
                format!("unset {FORCE_UNAVAILABLE_VAR}"),
            )),
            _ => probe(),
        })
        .clone()
}

/// Whether a *program* can make labs: one that calls [`enter_user_namespace`] first thing in
/// `main`, as the chapters' demos do with `--wire`. It can wherever this process can, and also
/// where this process cannot only because it is not root and unprivileged user namespaces work.
pub fn check_for_programs() -> Result<(), Unavailable> {
    match check() {
        Err(u) if u.user_namespace_works => Ok(()),
        answer => answer,
    }
}

fn unavailable(reason: impl Into<String>, fix: impl Into<String>) -> Unavailable {
    Unavailable {
        reason: reason.into(),
        fix: fix.into(),
        user_namespace_works: false,
    }
}

#[cfg(not(target_os = "linux"))]
fn probe() -> Result<(), Unavailable> {
    Err(unavailable(
        format!(
            "the wire lab is built on Linux network namespaces and TUN devices, and this is {}",
            std::env::consts::OS
        ),
        "run the course in a Linux VM (on macOS, for example `limactl start` then \
         `limactl shell default`), where `cargo test -p socklab-wire` runs as a user or as root",
    ))
}

#[cfg(target_os = "linux")]
fn probe() -> Result<(), Unavailable> {
    use std::path::Path;

    const TUN: &str = "/dev/net/tun";
    if !Path::new(TUN).exists() {
        return Err(unavailable(
            format!("{TUN} does not exist (the tun module is not loaded)"),
            "`sudo modprobe tun`; in a container, start it with `--device /dev/net/tun`",
        ));
    }
    let in_child = std::env::var_os(CHILD_VAR).is_some();
    // The real test: make a network namespace on a throwaway thread (it vanishes with the
    // thread) and open the TUN device from inside it.
    let tried = std::thread::spawn(|| -> Result<(), (nix::errno::Errno, &'static str)> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| (e, "unshare"))?;
        open_tun().map_err(|e| (e, "open"))
    })
    .join()
    .unwrap_or(Err((nix::errno::Errno::EINVAL, "probe thread")));
    match tried {
        Ok(()) => return Ok(()),
        Err((errno, "open")) => {
            return Err(unavailable(
                format!("{TUN} cannot be opened ({errno})"),
                format!(
                    "make it usable: `sudo chmod 0666 {TUN}` (most distributions ship it so); \
                     in a container, start it with `--device {TUN}`"
                ),
            ));
        }
        Err((errno, _)) if in_child => {
            return Err(unavailable(
                format!("even inside a user namespace, unshare(CLONE_NEWNET) failed ({errno})"),
                "run the tests as root",
            ));
        }
        Err(_) => {}
    }
    // Not allowed here. Would a user namespace of our own do? (Even root may be missing
    // CAP_SYS_ADMIN, in a container, and still be allowed one.)
    let root = nix::unistd::geteuid().is_root();
    let sysctl = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_string())
    };
    if sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Err(unavailable(
            "AppArmor forbids unprivileged user namespaces here \
             (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu's default since 23.10)",
            "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (until the next \
             boot), or run the tests as root",
        ));
    }
    if sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Err(unavailable(
            "unprivileged user namespaces are switched off (kernel.unprivileged_userns_clone = 0)",
            "`sudo sysctl -w kernel.unprivileged_userns_clone=1`, or run the tests as root",
        ));
    }
    if sysctl("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err(unavailable(
            "user namespaces are switched off (user.max_user_namespaces = 0)",
            "`sudo sysctl -w user.max_user_namespaces=15000`, or run the tests as root",
        ));
    }
    if let Err(errno) = open_tun() {
        return Err(unavailable(
            format!(
                "{TUN} cannot be opened by this user ({errno}), and a lab without root needs it"
            ),
            format!(
                "`sudo chmod 0666 {TUN}` (most distributions ship it so), or run the tests as root"
            ),
        ));
    }
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "true"])
        .output();
    match out {
        Ok(out) if out.status.success() => Err(Unavailable {
            reason: "this process may not make network namespaces itself (not root)".into(),
            fix: "tests re-run themselves in a user namespace (`unshare --user --map-root-user`); \
                  a program calls `socklab_wire::enter_user_namespace()` first thing in main"
                .into(),
            user_namespace_works: true,
        }),
        Ok(_) if root => Err(unavailable(
            "root here may not make network namespaces (no CAP_SYS_ADMIN: a container?), \
             nor user namespaces",
            "start the container with `--privileged`, or with `--cap-add SYS_ADMIN \
             --cap-add NET_ADMIN --device /dev/net/tun`",
        )),
        Ok(out) => Err(unavailable(
            format!(
                "unprivileged user namespaces are not allowed here (`unshare --user` said: {})",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "run the tests as root; in a container, start it with `--privileged` or with \
             `--security-opt seccomp=unconfined --cap-add SYS_ADMIN`",
        )),
        Err(e) => Err(unavailable(
            format!("not root, and util-linux's `unshare` cannot be run ({e})"),
            "install util-linux, or run the tests as root",
        )),
    }
}

/// Opens the TUN clone device for reading and writing, and closes it again.
#[cfg(target_os = "linux")]
fn open_tun() -> Result<(), nix::errno::Errno> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map(drop)
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))
}

// ANCHOR: enter_user_namespace
/// Makes this process root of a user namespace of its own, so that a user without root can
/// build labs. Call it first thing in `main`: the kernel refuses it (`EINVAL`) once the
/// process has a second thread. Does nothing for root.
///
/// Inside, the process's user is mapped to root: it has every capability over the namespaces
/// it creates from then on, and none over the machine's.
#[cfg(target_os = "linux")]
pub fn enter_user_namespace() -> io::Result<()> {
    use nix::sched::{CloneFlags, unshare};
    use nix::unistd::{getgid, getuid};
    let (uid, gid) = (getuid(), getgid());
    if uid.is_root() {
        return Ok(());
    }
    unshare(CloneFlags::CLONE_NEWUSER)?;
    // An unprivileged process must give up setgroups(2) before it may write its gid_map.
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    Ok(())
}
// ANCHOR_END: enter_user_namespace

/// Elsewhere there are no user namespaces: [`check`] explains.
#[cfg(not(target_os = "linux"))]
pub fn enter_user_namespace() -> io::Result<()> {
    Ok(())
}

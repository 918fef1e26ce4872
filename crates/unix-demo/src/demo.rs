//! The narrated tour that `cargo run -p unix-demo` prints: every experiment of chapter 8. The
//! steps that need a second process (a crashed server, a stranger, a peer, a receiver of a
//! descriptor) run this crate's own binary, whose path the caller passes in.

use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};

use socklab_support::Narrator;
use socklab_support::cli::percentiles_us;

use crate::access::{self, Stranger};
use crate::kinds::{self, Kind};
use crate::scratch::Scratch;
use crate::speed::{self, Transport};
use crate::{STEP_TIMEOUT, names, pair, pass, peer, stale};

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Runs every experiment of the chapter, narrating to `n`; `me` is this crate's binary.
pub fn run(n: &Narrator, me: &Path) -> io::Result<()> {
    let scratch = Scratch::new("unix-demo")?;

    n.heading("1. Three kinds of Unix socket, and UDP beside them, measured");
    n.explain(&format!(
        "{:<20} {:>16} {:>9} {:>22}",
        "kind", "keeps boundaries", "reliable", "close seen as EOF"
    ));
    let mut measured = Vec::new();
    for kind in Kind::all() {
        let p = kinds::measure(kind)?;
        n.explain(&format!(
            "{:<20} {:>16} {:>9} {:>22}",
            kind.name(),
            yes_no(p.keeps_boundaries),
            yes_no(p.reliable),
            yes_no(p.connection)
        ));
        measured.push(p);
    }
    for p in &measured {
        let fill = &p.fill;
        let what = match &fill.pushback {
            Some(e) => format!("then send() -> {:?}", e.kind()),
            None => "all accepted without complaint".to_string(),
        };
        n.step(
            "kernel",
            &format!(
                "{}, reader not reading: {} KiB sent, {what}; {} KiB arrived",
                p.kind.name(),
                fill.sent / 1024,
                fill.received / 1024
            ),
        );
    }
    if !cfg!(target_os = "linux") {
        n.explain("(No SOCK_SEQPACKET row: this system has none for Unix sockets.)");
    }
    let got = kinds::datagrams_name_their_sender(&scratch.path("inbox"), &scratch.path("a"))?;
    for (data, from) in got {
        n.step(
            "inbox",
            &format!(
                "recv_from: {:?} from {}",
                String::from_utf8_lossy(&data),
                from.map_or("an unnamed socket".to_string(), |p| p.display().to_string())
            ),
        );
    }

    n.heading("2. socketpair: connected from birth, and nameless");
    let r = pair::talk_over_a_pair()?;
    n.step(
        "thread",
        &format!(
            "read {:?}, answered; we read back {:?}; both ends unnamed: {}",
            String::from_utf8_lossy(&r.there),
            String::from_utf8_lossy(&r.back),
            yes_no(r.both_unnamed)
        ),
    );

    n.heading("3. Names: a path is a file; an abstract name is not");
    let life = names::path_name_life(&scratch.path("listener.sock"))?;
    n.step(
        "path",
        &format!(
            "socket file while open: {}; connected by path: {}; file left after close: {}; \
             bind again -> {}",
            yes_no(life.visible_while_open),
            yes_no(life.connected),
            yes_no(life.visible_after_close),
            life.rebind_error
                .map_or("ok".to_string(), |k| format!("{k:?}"))
        ),
    );
    #[cfg(target_os = "linux")]
    {
        let name = scratch.unique_name("abstract");
        let life = names::abstract_name_life(&name)?;
        n.step(
            "abstract",
            &format!(
                "@{name}: in /proc/net/unix while open: {}; connected by name: {}; \
                 listed after close: {}; bind again -> {}",
                yes_no(life.visible_while_open),
                yes_no(life.connected),
                yes_no(life.visible_after_close),
                life.rebind_error
                    .map_or("ok".to_string(), |k| format!("{k:?}"))
            ),
        );
    }
    #[cfg(not(target_os = "linux"))]
    n.step("abstract", "abstract names are Linux's own; none here");

    n.heading("4. The file a crashed server leaves, and cleaning it up safely");
    let path = scratch.path("server.sock");
    let path_text = path.to_string_lossy().into_owned();
    let mut cmd = Command::new(me);
    cmd.args(["server", "--path", &path_text])
        .stderr(Stdio::null());
    let server = socklab_support::process::spawn_server(&mut cmd, STEP_TIMEOUT)?;
    n.step(
        "server",
        &format!("pid {} listening on {}", server.id(), path.display()),
    );
    n.explain("Now we kill it with SIGKILL: no destructor, no cleanup, as in a crash.");
    drop(server); // SIGKILL, then wait.
    n.step(
        "fs",
        &format!(
            "socket file still there: {}",
            yes_no(names::is_socket_file(&path))
        ),
    );
    let plain = std::os::unix::net::UnixListener::bind(&path);
    n.step(
        "us",
        &format!(
            "plain bind() -> {:?}",
            plain.as_ref().map(|_| ()).map_err(io::Error::kind)
        ),
    );
    let (listener, how) = stale::bind_fresh(&path)?;
    n.step(
        "us",
        &format!("bind_fresh: connect() was refused, so the file was stale: {how:?}"),
    );
    let again = stale::bind_fresh(&path);
    n.step(
        "us",
        &format!(
            "bind_fresh while our listener is alive -> {}",
            again
                .map(|_| "bound (wrong!)".to_string())
                .unwrap_or_else(|e| e.to_string())
        ),
    );
    drop(listener);

    n.heading("5. Permissions on the socket file decide who may connect");
    match Stranger::here(me) {
        Some(stranger) => {
            n.step("us", &format!("the stranger: {}", stranger.describe()));
            if access::running_as_root() {
                n.explain(
                    "We are root, which passes every permission check: the stranger is nobody.",
                );
            }
            let (deny, allow) = stranger.modes();
            let guarded = scratch.path("guarded.sock");
            let _guarded = access::bind_with_mode(&guarded, deny)?;
            n.step(
                "stranger",
                &format!(
                    "socket mode {deny:04o}: connect -> {:?}",
                    stranger.try_connect(&guarded)?
                ),
            );
            std::fs::set_permissions(
                &guarded,
                std::os::unix::fs::PermissionsExt::from_mode(allow),
            )?;
            n.step(
                "stranger",
                &format!(
                    "socket mode {allow:04o}: connect -> {:?}",
                    stranger.try_connect(&guarded)?
                ),
            );
        }
        None => n.step(
            "us",
            "skipped: we are root (which passes every check) and user nobody cannot run this \
             program from where it is",
        ),
    }

    n.heading("6. Who is at the other end: the kernel knows");
    let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    n.step("us", &format!("our own ids: {}", peer::me()));
    n.step(
        "us",
        &format!("a socketpair's peer: {}", peer::peer_of(&a)?),
    );
    let as_user = access::other_user(me);
    let (child, pid) = peer::peer_of_child(me, &scratch.path("who.sock"), as_user)?;
    n.step(
        "us",
        &format!("a child process (pid {pid}) connected; the kernel says: {child}"),
    );

    n.heading("7. Passing an open TCP connection to another process (SCM_RIGHTS)");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut client = TcpStream::connect(listener.local_addr()?)?;
    client.set_read_timeout(Some(STEP_TIMEOUT))?;
    let (accepted, _) = listener.accept()?;
    let pid = pass::hand_over(me, &scratch.path("handover.sock"), accepted.as_fd(), None)?;
    drop(accepted); // Our copy: the receiver had its own, and it has exited.
    let mut heard = String::new();
    client.read_to_string(&mut heard)?;
    n.step(
        "us",
        &format!("handed the accepted connection to pid {pid}, and closed ours"),
    );
    n.step(
        "client",
        &format!("read {:?}, then end of stream", heard.trim_end()),
    );

    n.heading("8. Round trips: a Unix stream against TCP on loopback (a quick look)");
    for transport in Transport::BOTH {
        let mut times = speed::time_round_trips(transport, 64, 20_000)?;
        let (p50, p99) = percentiles_us(&mut times);
        n.step(
            transport.name(),
            &format!("64-byte round trip: p50 {p50:.1} µs, p99 {p99:.1} µs"),
        );
    }
    n.explain(
        "`cargo bench -p unix-demo` measures both properly; `cargo xtask bench` puts them on\n\
         the results page.",
    );
    n.heading(
        "Done. The book's chapter 8 explains each step; `cargo test -p unix-demo` proves it.",
    );
    Ok(())
}

//! The narrated tour that `cargo run -p names-demo` prints: every experiment of chapter 10.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use socklab_support::Narrator;

use crate::dual_stack::{self, Seen};
use crate::{STEP_TIMEOUT, connect, resolve};

fn show(seen: &Seen) -> String {
    match seen {
        Seen::Accepted { client, server_saw } => {
            format!("client {client} accepted; the server saw {server_saw}")
        }
        Seen::Refused(kind) => format!("connect() failed: {kind:?}"),
    }
}

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Narrator) -> io::Result<()> {
    n.heading("1. What localhost resolves to on this machine");
    let addrs = resolve::resolve("localhost", 0)?;
    n.step(
        "resolver",
        &format!(
            "getaddrinfo(\"localhost\") gave {} address(es), in this order:",
            addrs.len()
        ),
    );
    for (i, a) in addrs.iter().enumerate() {
        n.explain(&format!("{}. {} ({})", i + 1, a.ip(), resolve::family(a)));
    }
    let hosts = resolve::hosts_file_entries("localhost")?;
    n.step(
        "hosts",
        &format!(
            "{} lists for localhost: {}",
            resolve::HOSTS,
            hosts
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    n.step(
        "resolver",
        &format!(
            "all loopback: {}",
            if addrs.iter().all(|a| a.ip().is_loopback()) {
                "yes"
            } else {
                "no"
            }
        ),
    );

    n.heading("2. Try each address in turn: the first is refused, the next connects");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    n.step(
        "server",
        &format!("listening on 127.0.0.1:{port} only (no IPv6 socket)"),
    );
    // The order a resolver that prefers IPv6 gives for localhost.
    let list = [
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    ];
    let got = connect::connect_each(&list, STEP_TIMEOUT)?;
    for attempt in &got.attempts {
        n.step("client", &format!("tried {attempt}"));
    }
    drop(got);
    n.explain(
        "A client that takes only the first address would have failed here, with the\n\
         server up. The same loop over what localhost resolves to on this machine:",
    );
    let got = connect::connect_name("localhost", port, STEP_TIMEOUT)?;
    for attempt in &got.attempts {
        n.step("client", &format!("tried {attempt}"));
    }

    n.heading("3. One listener for IPv4 and IPv6: IPV6_V6ONLY");
    if !dual_stack::ipv6_loopback_available() {
        n.step("kernel", "no IPv6 loopback (::1) on this machine: skipped");
    } else {
        let default = dual_stack::system_default_v6only()?;
        n.step(
            "kernel",
            &format!(
                "a fresh IPv6 socket has IPV6_V6ONLY {}: this system's default",
                if default { "on" } else { "off" }
            ),
        );
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        for only in [false, true] {
            let listener = dual_stack::listen_v6(0, Some(only))?;
            let label = if only { "on" } else { "off" };
            n.step(
                "server",
                &format!(
                    "[::]:{} with IPV6_V6ONLY {label}",
                    listener.local_addr()?.port()
                ),
            );
            n.step("IPv4", &show(&dual_stack::client_against(&listener, v4)?));
            n.step("IPv6", &show(&dual_stack::client_against(&listener, v6)?));
            n.step(
                "server",
                &format!(
                    "a second listener on 127.0.0.1 at that port: {}",
                    dual_stack::ipv4_bind_error(&listener)?
                        .map_or("bound".to_string(), |k| format!("{k:?}"))
                ),
            );
        }
        n.explain(
            "IPv4 peers of a dual-stack socket show as ::ffff:a.b.c.d; IpAddr::to_canonical()\n\
             turns them back into IPv4 addresses for logs and access lists.",
        );
    }
    n.heading(
        "Done. The book's chapter 10 explains each step; `cargo test -p names-demo` proves it.",
    );
    Ok(())
}

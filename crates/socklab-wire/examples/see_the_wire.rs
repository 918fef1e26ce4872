//! Run: `cargo run -p socklab-wire --example see_the_wire [-- PCAP_FILE]`
//!
//! One TCP connection across the wire lab's link (10 ms each way): the handshake, a request
//! and its echo, and the orderly close, printed in tcpdump's notation and saved as a pcap
//! file (`wire.pcap` unless told otherwise) for `tcpdump -r` or Wireshark.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use socklab_wire::{Direction, Lab, LinkConfig};

// ANCHOR: example
fn main() -> ExitCode {
    // Without root, become root of a user namespace of our own while we have one thread.
    if let Err(e) = socklab_wire::enter_user_namespace() {
        eprintln!("error: cannot enter a user namespace: {e}");
    }
    let pcap = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "wire.pcap".into());
    match run(&pcap) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(pcap: &str) -> std::io::Result<()> {
    let config = LinkConfig {
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let lab = Lab::new(config)?;
    let (a, b) = (lab.a(), lab.b());
    // Sockets belong to the host whose thread made them; after that, any thread may use them.
    let listener = b.run(|| TcpListener::bind(b.addr(7000)))??;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut conn, _) = listener.accept()?;
        let mut request = Vec::new();
        conn.read_to_end(&mut request)?; // until the client's FIN
        conn.write_all(&request) // then the echo, and close (our FIN) on drop
    });
    let mut client =
        a.run(|| TcpStream::connect_timeout(&b.addr(7000), Duration::from_secs(5)))??;
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    client.write_all(b"hello, wire")?;
    client.shutdown(Shutdown::Write)?;
    let mut echo = Vec::new();
    client.read_to_end(&mut echo)?;
    server.join().expect("server thread")?;
    drop(client);
    // The last ACK (of the server's FIN) is still on the 10 ms link: wait until it has crossed.
    socklab_support::wait::until(Duration::from_secs(5), "the last ACK", || {
        let trace = lab.trace();
        let fins = trace.tcp().filter(|(_, t)| t.flags.fin).count();
        let last = trace
            .tcp()
            .last()
            .map(|(p, t)| (p.direction, t.flags.notation()));
        fins == 2 && last == Some((Direction::AToB, ".".into()))
    })?;
    let trace = lab.trace();
    print!("{trace}");
    trace.save_pcap(pcap)?;
    println!(
        "saved {} packets to {pcap}: `tcpdump -nr {pcap}` or Wireshark",
        trace.len()
    );
    Ok(())
}
// ANCHOR_END: example

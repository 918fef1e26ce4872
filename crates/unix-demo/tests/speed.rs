//! Chapter 8: the benchmark's loops carry every byte on both transports, so that what the
//! benchmark times is the work it claims to time.

use std::time::Duration;

use socklab_support::within;
use unix_demo::speed::{self, Transport};

/// Round trips echo each message whole, and bulk transfers arrive complete, over a Unix
/// stream pair and over TCP loopback alike.
#[test]
fn both_transports_carry_every_byte() {
    for transport in Transport::BOTH {
        within(Duration::from_secs(20), transport.name(), move || {
            let (mut ours, theirs) = speed::pair(transport).unwrap();
            let echo = speed::spawn_echo(theirs, 4096);
            let message: Vec<u8> = (0..64u8).collect();
            let mut buf = vec![0u8; 64];
            for _ in 0..100 {
                speed::round_trip(ours.as_mut(), &message, &mut buf).unwrap();
                assert_eq!(buf, message);
            }
            drop(ours);
            assert_eq!(echo.join().unwrap().unwrap(), 6400);

            let (mut ours, theirs) = speed::pair(transport).unwrap();
            let sink = speed::spawn_sink(theirs);
            speed::send_bulk(ours.as_mut(), 4 << 20, 128 * 1024).unwrap();
            drop(ours);
            assert_eq!(sink.join().unwrap().unwrap(), 4 << 20);
            assert!(
                !speed::time_round_trips(transport, 64, 10)
                    .unwrap()
                    .is_empty()
            );
        });
    }
}

//! Chapter 9: a lost peer is dialed again with a backoff that doubles up to a cap.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use p2p_demo::node::{Config, Node};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);

// ANCHOR: redials_back_off_doubling_up_to_a_cap
/// A node told of a peer where nothing listens dials it at once, then again after waits that
/// double from the heartbeat interval (here 20 ms) up to the cap (160 ms); each dial starts
/// no sooner than the wait announced after the previous one, and no later than one tick
/// (one interval) after it, give or take a loaded machine's scheduling.
#[test]
fn redials_back_off_doubling_up_to_a_cap() {
    within(LIMIT, "eight dials", || {
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let interval = Duration::from_millis(20);
        let config = Config {
            peers: vec![dead],
            heartbeat: interval,
            backoff_cap: Duration::from_millis(160),
            ..Config::new(1)
        };
        let log = Arc::new(Narrator::capture());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let node = Node::start(listener, config, log.clone(), Stop::new().unwrap()).unwrap();
        wait::until(Duration::from_secs(20), "eight failed dials", || {
            node.snapshot()
                .dials
                .iter()
                .filter(|d| d.retry_in.is_some())
                .count()
                >= 8
        })
        .unwrap();
        let dials = node.snapshot().dials;
        let ms = Duration::from_millis;
        let waits: Vec<Duration> = dials.iter().take(8).map(|d| d.retry_in.unwrap()).collect();
        assert_eq!(
            waits,
            [
                ms(20),
                ms(40),
                ms(80),
                ms(160),
                ms(160),
                ms(160),
                ms(160),
                ms(160)
            ]
        );
        for pair in dials.windows(2).take(7) {
            let (wait, gap) = (pair[0].retry_in.unwrap(), pair[1].at - pair[0].at);
            assert!(
                gap >= wait,
                "dialed again after {gap:?}, before the wait of {wait:?}"
            );
            assert!(
                gap <= wait + interval + ms(200),
                "{gap:?} after a wait of {wait:?}"
            );
        }
        assert!(
            log.said(&format!("dial {dead} failed (")),
            "{:#?}",
            log.lines()
        );
        node.stop();
    });
}
// ANCHOR_END: redials_back_off_doubling_up_to_a_cap

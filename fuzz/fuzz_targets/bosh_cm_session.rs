//! Arbitrary sequences of bodies (separated by 0xFF) into a BOSH connection-manager session. The first is the
//! session creation request; a part starting with 0xFE advances the clock by its length in seconds, one starting
//! with 0xFD queues its rest as a payload from upstream. No panic, and nothing grows without bound.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use zxmpp_bosh::{CmConfig, CmSession, HttpId};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xff);
    let Some(first) = parts.next() else { return };
    let mut now = Instant::now();
    let Ok(mut cm) = CmSession::accept(now, CmConfig::default(), "S".into(), [0; 32], HttpId(0), first) else {
        return;
    };
    let mut transmits = 0usize;
    for (i, part) in parts.enumerate() {
        match part.split_first() {
            Some((0xfe, rest)) => now += Duration::from_secs(rest.len() as u64 + 1),
            Some((0xfd, rest)) => {
                let _ = cm.send(now, None, rest.to_vec());
            }
            _ => cm.handle_request(now, HttpId(i as u64 + 1), part),
        }
        cm.handle_timeout(now);
        while cm.poll_transmit().is_some() {
            transmits += 1;
        }
        while cm.poll_event().is_some() {}
        assert!(cm.held() <= 8, "held requests are bounded");
        let snapshot = cm.snapshot();
        let _ = snapshot;
    }
    assert!(transmits <= data.len() + 2, "at most one response per request (plus evictions)");
});

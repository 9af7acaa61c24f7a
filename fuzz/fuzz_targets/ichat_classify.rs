#![no_main]
//! The reference client's iChat classifier on any stanza text: never panics; an incoming invitation is
//! recorded by `Calls` and a withdrawal with the same session removes it again.

use libfuzzer_sys::fuzz_target;
use zxmpp_client::ichat::{self, Calls, OfferState, Signal};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(signal) = ichat::classify(text) else {
        return;
    };
    let _ = signal.describe();
    let _ = signal.iq_answer();
    let mut calls = Calls::new();
    calls.handle_signal("peer@example.com/x", &signal);
    if let Signal::Invitation(inv) = &signal {
        if inv.state == OfferState::Offer {
            assert!(calls.in_call());
        }
    }
});

//! `CmSnapshot`'s serialized format does not change with the session's in-memory layout: a snapshot written by
//! an earlier build (tests/data/cm_snapshot_v1.json, written before the session's rarely used state moved behind
//! boxes) still loads, and this build writes the same JSON for the same session (but for the responses it still
//! keeps for retransmission, which it now releases sooner).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Instant;

use bytes::Bytes;
use zxmpp_bosh::{Announce, Body, CmConfig, CmSession, Condition, HttpId, Limits};

const NS: &str = "xmlns='http://jabber.org/protocol/httpbind'";
const STORED: &str = include_str!("data/cm_snapshot_v1.json");

/// A session whose rarely used state is all in use: a second stream, pending announcements for both streams,
/// pending single-stream terminations, and an out-of-order request.
fn busy_session(now: Instant) -> CmSession {
    let creation = format!(
        "<body rid='100' to='example.com' wait='60' hold='1' ver='1.11' xml:lang='en' \
         xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' {NS}/>"
    );
    let mut cm = CmSession::accept(
        now,
        CmConfig::default(),
        "S".into(),
        [1; 32],
        HttpId(0),
        creation.as_bytes(),
    )
    .unwrap();
    let _ = cm.poll_transmit().unwrap();
    let add = format!("<body rid='101' sid='S' to='other.example' {NS}/>");
    cm.handle_request(now, HttpId(1), add.as_bytes());
    let t = cm.poll_transmit().unwrap();
    let second = Body::parse(&t.body, &Limits::default())
        .unwrap()
        .body
        .stream
        .expect("the add-stream response names the new stream");
    cm.announce(
        now,
        Announce::new(
            Some("example.com".into()),
            Some("a1".into()),
            Some("1.0".into()),
        ),
    );
    let mut other = Announce::new(Some("other.example".into()), Some("a2".into()), None);
    other.stream = Some(second.clone());
    cm.announce(now, other);
    cm.close_upstream(
        now,
        Condition::RemoteStreamError,
        Some(&second),
        vec![Bytes::from_static(b"<stream:error/>")],
    );
    cm.close_upstream(now, Condition::HostGone, Some(&second), Vec::new());
    // rid 102 is missing: 103 waits out of order.
    let ooo = format!("<body rid='103' sid='S' {NS}><x/></body>");
    cm.handle_request(now, HttpId(3), ooo.as_bytes());
    cm
}

#[test]
fn stored_snapshot_covers_the_rare_state() {
    let v: serde_json::Value = serde_json::from_str(STORED).unwrap();
    let state = &v["state"];
    assert!(!state["announce"].is_null());
    assert!(!state["pending_terminate"].is_null());
    assert_eq!(state["announce_queue"].as_array().unwrap().len(), 1);
    assert_eq!(state["terminate_queue"].as_array().unwrap().len(), 1);
    assert_eq!(state["out_of_order"].as_object().unwrap().len(), 1);
    assert_eq!(state["streams"].as_array().unwrap().len(), 2);
}

/// Takes the retransmission cache and `client_ack` out of a snapshot's JSON: the stored snapshot was written
/// before a new rid also released the responses the client must already have (the creation response, once a
/// request carries the sid), so its cache holds one response more. Returns the cached rids and `client_ack`.
fn take_cache(v: &mut serde_json::Value) -> (Vec<u64>, u64) {
    let state = v["state"].as_object_mut().unwrap();
    let cache = state.remove("cache").unwrap();
    let client_ack = state.remove("client_ack").unwrap().as_u64().unwrap();
    let rids = cache
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            // Each entry is `[rid, body bytes]`.
            let pair = entry.as_array().unwrap();
            assert_eq!(pair.len(), 2);
            assert!(
                pair[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|b| b.as_u64().is_some_and(|b| b < 256))
            );
            pair[0].as_u64().unwrap()
        })
        .collect();
    (rids, client_ack)
}

/// The stored snapshot's cache and `client_ack` (rids 100 and 101, 99), and this build's (101 only, 100: rid
/// 101 carried the sid, so the creation response arrived).
fn check_caches(old: (Vec<u64>, u64), new: (Vec<u64>, u64)) {
    assert_eq!(old, (vec![100, 101], 99));
    assert_eq!(new, (vec![101], 100));
}

#[test]
fn snapshot_written_before_still_loads() {
    let now = Instant::now();
    let cm = CmSession::restore(serde_json::from_str(STORED).unwrap(), now).unwrap();
    let mut again = serde_json::to_value(cm.snapshot()).unwrap();
    // Restoring drops the out-of-order request (its connection died with the old process) and answers what it
    // can: the same as restoring this build's own snapshot of the same session.
    let fresh = CmSession::restore(busy_session(now).snapshot(), now).unwrap();
    let mut fresh = serde_json::to_value(fresh.snapshot()).unwrap();
    check_caches(take_cache(&mut again), take_cache(&mut fresh));
    assert_eq!(again, fresh);
    assert!(!again["state"]["pending_terminate"].is_null());
}

#[test]
fn this_build_writes_the_stored_format() {
    let now = Instant::now();
    let mut written = serde_json::to_value(busy_session(now).snapshot()).unwrap();
    let mut stored: serde_json::Value = serde_json::from_str(STORED).unwrap();
    check_caches(take_cache(&mut stored), take_cache(&mut written));
    assert_eq!(written, stored);
}

//! Session table behaviour over real HTTP, with a silent scripted upstream (it accepts the connection and never
//! answers, so sessions stay open): retransmitted session creation requests (XEP-0124 §14.3) and what counts
//! toward `max_sessions`.

mod common;

use common::{Cm, NS, Session, attr, fresh_rid, is_terminate, post, silent_config as config};

fn creation(rid: u64, extra: &str) -> String {
    format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' to='example.test' wait='2' hold='1' \
         ver='1.11' xmpp:version='1.0' {extra}/>"
    )
}

fn created_total(cm: &Cm) -> String {
    cm.metrics()
        .lines()
        .find(|l| l.starts_with("zxmpp_cm_sessions_created_total "))
        .unwrap()
        .to_owned()
}

/// XEP-0124 §14.3: a copy of a request gets the same answer. The client lost the answer to its session creation
/// request and sends it again: it gets the same sid, not a second session. A different creation request from
/// the same address (even with the same rid) is a different session.
#[test]
fn xep0124_14_3_retransmitted_creation_request_gets_the_same_session() {
    let cm = Cm::start(config(|_| {}));
    let rid = fresh_rid();
    let (_, first) = post(&cm.url, &creation(rid, ""));
    let (_, again) = post(&cm.url, &creation(rid, ""));
    assert!(attr(&first, "sid").is_some(), "{first}");
    assert_eq!(first, again);
    assert_eq!(created_total(&cm), "zxmpp_cm_sessions_created_total 1");
    // The session goes on from the creation rid.
    let sid = attr(&first, "sid").unwrap();
    let (_, next) = post(
        &cm.url,
        &format!("<body xmlns='{NS}' rid='{}' sid='{sid}'/>", rid + 1),
    );
    assert!(!next.contains("terminate"), "{next}");
    // Same rid, other attributes: another session.
    let (_, other) = post(&cm.url, &creation(rid, "content='text/xml; charset=utf-8'"));
    assert_ne!(attr(&other, "sid"), attr(&first, "sid"));
    // Another rid: another session.
    let (_, third) = post(&cm.url, &creation(rid + 7, ""));
    assert_ne!(attr(&third, "sid"), attr(&first, "sid"));
    assert_eq!(created_total(&cm), "zxmpp_cm_sessions_created_total 3");
}

/// A terminated session lingers (it still answers retransmissions) but no longer counts toward
/// `max_sessions` (nor toward `max_sessions_per_ip`).
#[test]
fn lingering_sessions_do_not_count_toward_max_sessions() {
    let cm = Cm::start(config(|c| {
        c.max_sessions = 1;
        c.max_sessions_per_ip = 1;
    }));
    let (mut a, _) = Session::create(&cm.url, "example.test", "");
    // One live session: a second one is refused.
    let (_, refused) = post(&cm.url, &creation(fresh_rid(), ""));
    assert!(is_terminate(&refused, "policy-violation"), "{refused}");
    let end = a.next("type='terminate'", "");
    assert!(end.contains("type='terminate'"), "{end}");
    // `a` lingers: its terminate is answered again from the cache.
    let (_, cached) = post(&cm.url, &a.body(a.rid, "type='terminate'", ""));
    assert!(cached.contains("type='terminate'"), "{cached}");
    // ... and a new session may start.
    let (b, _) = Session::create(&cm.url, "example.test", "");
    assert_ne!(b.sid, a.sid);
}

//! Client session behaviour: snapshots, pause, multiple streams, terminate, acks, polling, retries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use bytes::Bytes;

use zxmpp_bosh::{
    Body, BodyType, ClientConfig, ClientEvent, ClientSession, Condition, Error, HttpOutcome,
    Limits, Rid, Termination, Transmit,
};

const NS: &str = "xmlns='http://jabber.org/protocol/httpbind'";

fn connect(config: ClientConfig, response_attrs: &str, now: Instant) -> ClientSession {
    let mut client = ClientSession::new(config.with_keys(false), [9; 32], now);
    let t = client.poll_transmit(now).unwrap();
    let response = format!("<body sid='S' wait='60' requests='2' hold='1' {response_attrs} {NS}/>");
    client.handle_response(now, t.id, HttpOutcome::Ok(response.into()));
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Connected(_))
    ));
    client
}

fn ok(xml: &str) -> HttpOutcome {
    HttpOutcome::Ok(xml.to_owned().into())
}

fn empty() -> HttpOutcome {
    ok(&format!("<body {NS}/>"))
}

fn body(t: &Transmit) -> zxmpp_bosh::Body {
    Body::parse(&t.body, &Limits::default()).unwrap().body
}

fn events(client: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

#[test]
fn restore_resends_unanswered_requests_unchanged_and_never_answered_ones() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "ack='1'", now);
    let r1 = client.poll_transmit(now).unwrap(); // the empty long poll
    client.send(&b"<a/>"[..]).unwrap();
    let r2 = client.poll_transmit(now).unwrap();
    assert_eq!(r2.id.rid().get(), r1.id.rid().get() + 1);
    // r2 is answered first (with a payload); r1's answer is lost.
    client.handle_response(now, r2.id, ok(&format!("<body {NS}><m id='2'/></body>")));
    assert!(
        events(&mut client).is_empty(),
        "processed in rid order: waits for r1"
    );
    let json = serde_json::to_string(&client.snapshot()).unwrap();
    let mut client = ClientSession::restore(serde_json::from_str(&json).unwrap(), now).unwrap();
    let again = client.poll_transmit(now).unwrap();
    assert_eq!((again.id.rid(), &again.body), (r1.id.rid(), &r1.body));
    assert!(
        client.poll_transmit(now).is_none(),
        "r2 was answered: never resent; the window is full"
    );
    client.handle_response(now, again.id, ok(&format!("<body {NS}><m id='1'/></body>")));
    let got: Vec<_> = events(&mut client)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Payload(p) => Some(p.bytes),
            _ => None,
        })
        .collect();
    assert_eq!(got, [&b"<m id='1'/>"[..], &b"<m id='2'/>"[..]]);
    // The next request follows r2 directly and, all answered, carries no ack.
    let next = client.poll_transmit(now).unwrap();
    assert_eq!(next.id.rid().get(), r2.id.rid().get() + 1);
    assert_eq!(body(&next).ack, None);
}

#[test]
fn snapshot_of_another_format_version_is_refused() {
    let now = Instant::now();
    let client = ClientSession::new(ClientConfig::new("x"), [1; 32], now);
    let snapshot = client.snapshot();
    assert_eq!(
        snapshot.format_version(),
        zxmpp_bosh::CLIENT_SNAPSHOT_VERSION
    );
    let json = serde_json::to_string(&snapshot).unwrap().replacen(
        "\"format_version\":1",
        "\"format_version\":2",
        1,
    );
    assert!(matches!(
        ClientSession::restore(serde_json::from_str(&json).unwrap(), now),
        Err(Error::UnsupportedSnapshotVersion {
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn xep0124_9_2_ack_then_report() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "ack='1'", now);
    let r1 = client.poll_transmit(now).unwrap();
    client.send(&b"<a/>"[..]).unwrap();
    let r2 = client.poll_transmit(now).unwrap();
    assert_eq!(
        body(&r2).ack,
        Rid::new(r1.id.rid().get() - 1),
        "r1 unanswered: ack the last processed rid"
    );
    // The connection manager reports that the response to r1 was missed.
    client.handle_response(
        now,
        r2.id,
        ok(&format!(
            "<body report='{}' time='1500' {NS}/>",
            r1.id.rid()
        )),
    );
    let resent = client.poll_transmit(now).unwrap();
    assert_eq!((resent.id.rid(), resent.body), (r1.id.rid(), r1.body));
}

#[test]
fn xep0124_10_pause_and_resume() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "maxpause='120'", now);
    assert!(matches!(client.pause(121), Err(Error::InvalidState(_))));
    let poll = client.poll_transmit(now).unwrap();
    client.pause(60).unwrap();
    let pause = client.poll_transmit(now).unwrap();
    assert_eq!(
        body(&pause).pause,
        Some(60),
        "one request more than `requests` is allowed for a pause"
    );
    client.handle_response(now, poll.id, empty());
    client.handle_response(now, pause.id, empty());
    assert_eq!(events(&mut client), [ClientEvent::Paused { secs: 60 }]);
    assert!(client.is_paused());
    client.send(&b"<queued/>"[..]).unwrap();
    assert!(
        client
            .poll_transmit(now + Duration::from_secs(10))
            .is_none(),
        "nothing sent while paused"
    );
    client.resume(now + Duration::from_secs(30));
    let t = client.poll_transmit(now + Duration::from_secs(30)).unwrap();
    assert!(t.body.ends_with(b"<queued/></body>"));
}

#[test]
fn xep0124_10_no_pause_without_maxpause() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "", now);
    assert!(client.pause(10).is_err());
}

#[test]
fn xep0124_13_terminate() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "", now);
    let poll = client.poll_transmit(now).unwrap();
    client
        .send(&b"<presence type='unavailable' xmlns='jabber:client'/>"[..])
        .unwrap();
    client.terminate().unwrap();
    assert!(client.send(&b"<late/>"[..]).is_err());
    let t = client.poll_transmit(now).unwrap();
    let b = Body::parse(&t.body, &Limits::default()).unwrap();
    assert_eq!(b.body.kind, Some(BodyType::Terminate));
    assert_eq!(
        b.payloads.len(),
        1,
        "the last payloads travel in the terminate request"
    );
    client.handle_response(now, poll.id, empty());
    client.handle_response(now, t.id, ok(&format!("<body type='terminate' {NS}/>")));
    assert_eq!(
        events(&mut client),
        [ClientEvent::Terminated(Termination::Closed)]
    );
    assert!(client.is_terminated());
    assert!(client.poll_transmit(now).is_none());
}

#[test]
fn xep0124_16_multiple_streams() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "stream='first'", now);
    assert_eq!(client.streams(), ["first"]);
    let poll = client.poll_transmit(now).unwrap();
    client
        .add_stream("other.example", Some("xmpp:other.example:5222"), None)
        .unwrap();
    let add = client.poll_transmit(now).unwrap();
    let b = body(&add);
    assert_eq!(b.to.as_deref(), Some("other.example"));
    assert_eq!(b.route.as_deref(), Some("xmpp:other.example:5222"));
    assert_eq!(
        (b.wait, b.hold, b.ver),
        (None, None, None),
        "no session attributes"
    );
    client.handle_response(now, poll.id, empty());
    client.handle_response(
        now,
        add.id,
        ok(&format!(
            "<body stream='second' from='other.example' {NS}/>"
        )),
    );
    assert_eq!(
        events(&mut client),
        [ClientEvent::StreamAdded {
            stream: "second".into(),
            from: Some("other.example".into())
        }]
    );
    client.send_to("second", &b"<m/>"[..]).unwrap();
    client.send(&b"<all/>"[..]).unwrap();
    let t1 = client.poll_transmit(now).unwrap();
    assert_eq!(body(&t1).stream.as_deref(), Some("second"));
    assert!(
        t1.body.ends_with(b"<m/></body>"),
        "one body never mixes streams"
    );
    client.handle_response(
        now,
        t1.id,
        ok(&format!("<body stream='second' {NS}><r/></body>")),
    );
    let ev = events(&mut client);
    assert!(matches!(&ev[0], ClientEvent::Payload(p) if p.stream.as_deref() == Some("second")));
    let t2 = client.poll_transmit(now).unwrap();
    assert_eq!(body(&t2).stream, None, "broadcast");
    // A stream-scoped terminal error closes only that stream.
    client.handle_response(
        now,
        t2.id,
        ok(&format!(
            "<body type='terminate' condition='remote-connection-failed' stream='second' {NS}/>"
        )),
    );
    assert_eq!(
        events(&mut client),
        [ClientEvent::StreamClosed {
            stream: "second".into(),
            condition: Some(Condition::RemoteConnectionFailed)
        }]
    );
    assert!(!client.is_terminated());
    assert!(client.send_to("second", &b"<m/>"[..]).is_err());
}

#[test]
fn xep0124_12_polling_session() {
    let now = Instant::now();
    let mut client = ClientSession::new(
        ClientConfig::new("x").with_hold(0).with_keys(false),
        [9; 32],
        now,
    );
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(
        now,
        t.id,
        ok(&format!(
            "<body sid='S' wait='60' requests='1' hold='0' polling='5' {NS}/>"
        )),
    );
    let p1 = client.poll_transmit(now).unwrap();
    client.handle_response(now, p1.id, empty());
    assert!(
        client.poll_transmit(now + Duration::from_secs(4)).is_none(),
        "not before `polling` seconds"
    );
    assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(5)));
    let p2 = client.poll_transmit(now + Duration::from_secs(5)).unwrap();
    // An answer with a payload: the next poll may go at once.
    let t5 = now + Duration::from_secs(5);
    client.handle_response(t5, p2.id, ok(&format!("<body {NS}><m/></body>")));
    let p3 = client.poll_transmit(t5).unwrap();
    client.handle_response(t5, p3.id, empty());
    assert!(
        client.poll_transmit(t5).is_none(),
        "two empty answers in a row: wait again"
    );
    // Payloads do not wait for the polling interval, and after a payload request an empty poll may follow at once.
    client.send(&b"<a/>"[..]).unwrap();
    let data = client.poll_transmit(t5).unwrap();
    client.handle_response(t5, data.id, empty());
    assert!(client.poll_transmit(t5).is_some());
}

#[test]
fn xep0124_12_requests_one_means_polling() {
    let now = Instant::now();
    let mut client = ClientSession::new(ClientConfig::new("x").with_keys(false), [9; 32], now);
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(
        now,
        t.id,
        ok(&format!(
            "<body sid='S' wait='60' requests='1' hold='1' polling='5' {NS}/>"
        )),
    );
    assert_eq!(client.params().unwrap().hold, 0);
    let p1 = client.poll_transmit(now).unwrap();
    client.handle_response(now, p1.id, empty());
    // No request is left waiting at the connection manager, so a payload goes out at once.
    client.send(&b"<a/>"[..]).unwrap();
    assert!(
        client
            .poll_transmit(now)
            .unwrap()
            .body
            .ends_with(b"<a/></body>")
    );
}

#[test]
fn retries_are_bounded() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x").with_max_retries(2), "", now);
    for _ in 0..3 {
        let t = client.poll_transmit(now).unwrap();
        client.handle_response(now, t.id, HttpOutcome::Failed);
    }
    let ev = events(&mut client);
    assert!(matches!(
        ev.last(),
        Some(ClientEvent::Terminated(
            Termination::RetriesExhausted { .. }
        ))
    ));
}

#[test]
fn stale_copies_are_ignored() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "", now);
    let first = client.poll_transmit(now).unwrap();
    client.handle_response(now, first.id, HttpOutcome::Failed);
    let second = client.poll_transmit(now).unwrap();
    // The old copy's connection reports an error late: the newer copy is still out, so nothing is resent.
    client.handle_response(now, first.id, ok(&format!("<body type='error' {NS}/>")));
    assert!(client.poll_transmit(now).is_none());
    client.handle_response(now, second.id, ok(&format!("<body {NS}><m/></body>")));
    client.handle_response(now, second.id, ok(&format!("<body {NS}><m/></body>")));
    let payloads = events(&mut client)
        .into_iter()
        .filter(|e| matches!(e, ClientEvent::Payload(_)))
        .count();
    assert_eq!(payloads, 1, "a duplicated response is processed once");
}

#[test]
fn snapshot_keeps_xml_as_text_and_other_bytes_exactly() {
    let now = Instant::now();
    let mut client = connect(ClientConfig::new("x"), "", now);
    assert_eq!(client.request_timeout(), Duration::from_secs(70));
    client.send(&b"<m>caf\xc3\xa9</m>"[..]).unwrap();
    client.send(&b"<bad>\xff</bad>"[..]).unwrap();
    let json = serde_json::to_string(&client.snapshot()).unwrap();
    assert!(
        json.contains("<m>caf\u{e9}</m>"),
        "XML is stored as text: {json}"
    );
    let mut restored = ClientSession::restore(serde_json::from_str(&json).unwrap(), now).unwrap();
    let a: Vec<Bytes> = std::iter::from_fn(|| restored.poll_transmit(now))
        .map(|t| t.body)
        .collect();
    let b: Vec<Bytes> = std::iter::from_fn(|| client.poll_transmit(now))
        .map(|t| t.body)
        .collect();
    assert_eq!(a, b);
    assert!(a.iter().any(|body| body.windows(3).any(|w| w == b"\xff</")));
}

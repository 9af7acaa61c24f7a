//! Connection-manager session behaviour, one test per rule of XEP-0124/0206.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use zxmpp_bosh::keys::next_key;
use zxmpp_bosh::{
    Body, BodyType, CmConfig, CmEvent, CmSession, CmTermination, CmTransmit, Condition, Error,
    HttpId, Limits, Rid,
};

const NS: &str = "xmlns='http://jabber.org/protocol/httpbind'";

fn creation(extra: &str) -> String {
    format!(
        "<body rid='100' to='example.com' wait='60' hold='1' ver='1.11' xml:lang='en' {extra} {NS}/>"
    )
}

fn accept(config: CmConfig, extra: &str, now: Instant) -> CmSession {
    let mut cm = CmSession::accept(
        now,
        config,
        "S".into(),
        [1; 32],
        HttpId(0),
        creation(extra).as_bytes(),
    )
    .unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(0));
    cm
}

fn req(rid: u64, attrs: &str, payloads: &str) -> Vec<u8> {
    if payloads.is_empty() {
        format!("<body rid='{rid}' sid='S' {attrs} {NS}/>").into_bytes()
    } else {
        format!("<body rid='{rid}' sid='S' {attrs} {NS}>{payloads}</body>").into_bytes()
    }
}

fn body(t: &CmTransmit) -> Body {
    Body::parse(&t.body, &Limits::default()).unwrap().body
}

fn payloads(t: &CmTransmit) -> Vec<String> {
    let p = Body::parse(&t.body, &Limits::default()).unwrap();
    p.payload_bytes()
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
        .collect()
}

fn events(cm: &mut CmSession) -> Vec<CmEvent> {
    std::iter::from_fn(|| cm.poll_event()).collect()
}

fn no_stream_config() -> CmConfig {
    let mut c = CmConfig::default();
    c.multiple_streams = false;
    c
}

#[test]
fn xep0124_7_2_creation_response() {
    let now = Instant::now();
    let mut config = CmConfig::default();
    config.max_wait = 30;
    let mut cm = CmSession::accept(
        now,
        config,
        "S".into(),
        [1; 32],
        HttpId(7),
        creation("ack='1'").as_bytes(),
    )
    .unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!((t.http, t.status), (HttpId(7), 200));
    let b = body(&t);
    assert_eq!(b.sid.as_deref(), Some("S"));
    assert_eq!(b.wait, Some(30), "wait is capped");
    assert_eq!(b.hold, Some(1));
    assert_eq!(b.requests, Some(2), "requests = hold + 1");
    assert_eq!(b.ack, Rid::new(100), "ack = rid of the creation request");
    assert_eq!(b.maxpause, Some(120));
    assert_eq!(b.xmpp_restartlogic, Some(true));
    assert!(b.stream.is_some());
    let ev = events(&mut cm);
    assert!(
        matches!(&ev[0], CmEvent::StreamOpened { to: Some(to), lang: Some(lang), .. } if to == "example.com" && lang == "en")
    );
}

#[test]
fn xep0124_7_1_refused_creation_requests() {
    let now = Instant::now();
    let no_to = format!("<body rid='1' wait='60' {NS}/>");
    let no_wait = format!("<body rid='1' to='x' {NS}/>");
    let r = |b: &str| {
        CmSession::accept(
            now,
            CmConfig::default(),
            "S".into(),
            [0; 32],
            HttpId(0),
            b.as_bytes(),
        )
    };
    assert!(matches!(
        r(&no_to),
        Err(Error::Refused(Condition::ImproperAddressing))
    ));
    assert!(matches!(
        r(&no_wait),
        Err(Error::Refused(Condition::BadRequest))
    ));
    assert!(matches!(r("<body/>"), Err(Error::NotBody)));
}

#[test]
fn xep0124_8_hold_and_wait() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    assert!(cm.poll_transmit().is_none(), "held");
    assert_eq!(cm.poll_timeout(), Some(now + Duration::from_secs(60)));
    // A second request makes the connection manager answer the first (hold = 1).
    cm.handle_request(now, HttpId(2), &req(102, "", "<m/>"));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(1));
    assert!(payloads(&t).is_empty());
    // The second is answered empty after `wait`.
    cm.handle_timeout(now + Duration::from_secs(59));
    assert!(cm.poll_transmit().is_none());
    cm.handle_timeout(now + Duration::from_secs(60));
    assert_eq!(cm.poll_transmit().unwrap().http, HttpId(2));
}

#[test]
fn xep0124_8_payloads_from_upstream_release_the_held_request() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.send(now, None, &b"<message xmlns='jabber:client'/>"[..])
        .unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!(payloads(&t), ["<message xmlns='jabber:client'/>"]);
    assert_eq!(body(&t).stream, None, "one stream: no stream attribute");
}

#[test]
fn xep0124_14_2_in_order_forwarding() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    events(&mut cm);
    cm.handle_request(now, HttpId(2), &req(102, "", "<b/>"));
    assert!(events(&mut cm).is_empty(), "102 waits for 101");
    cm.handle_request(now, HttpId(1), &req(101, "", "<a/>"));
    let got: Vec<Vec<u8>> = events(&mut cm)
        .into_iter()
        .flat_map(|e| match e {
            CmEvent::Payloads { payloads, .. } => {
                payloads.into_iter().map(|p| p.to_vec()).collect()
            }
            _ => vec![],
        })
        .collect();
    assert_eq!(got, [b"<a/>".to_vec(), b"<b/>".to_vec()]);
    // Responses in rid order too.
    assert_eq!(cm.poll_transmit().unwrap().http, HttpId(1));
}

#[test]
fn xep0124_14_2_rid_beyond_the_window() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(103, "", ""));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(body(&t).condition, Some(Condition::ItemNotFound));
    assert!(
        events(&mut cm).contains(&CmEvent::Terminated(CmTermination::Violation(
            Condition::ItemNotFound
        )))
    );
}

#[test]
fn xep0124_14_3_retransmission_is_answered_from_the_cache() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", "<a/>"));
    cm.send(now, None, &b"<x/>"[..]).unwrap();
    let first = cm.poll_transmit().unwrap();
    cm.handle_request(now, HttpId(2), &req(101, "", "<a/>"));
    let again = cm.poll_transmit().unwrap();
    assert_eq!(again.http, HttpId(2));
    assert_eq!(again.body, first.body);
    // The payload went upstream once.
    let n = events(&mut cm)
        .iter()
        .filter(|e| matches!(e, CmEvent::Payloads { .. }))
        .count();
    assert_eq!(n, 1);
}

#[test]
fn xep0124_14_3_repeat_of_a_held_request() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.handle_request(now, HttpId(2), &req(101, "", ""));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(1));
    assert_eq!(
        body(&t).kind,
        Some(BodyType::Error),
        "recoverable binding condition on the old connection"
    );
    cm.send(now, None, &b"<x/>"[..]).unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!((t.http, payloads(&t)), (HttpId(2), vec!["<x/>".to_owned()]));
}

#[test]
fn xep0124_14_3_response_no_longer_buffered() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    for rid in 101..106 {
        cm.handle_request(now, HttpId(rid), &req(rid, "", ""));
    }
    while cm.poll_transmit().is_some() {}
    // A rid this session never had a response for (below the creation request's).
    cm.handle_request(now, HttpId(99), &req(99, "", ""));
    assert_eq!(
        body(&cm.poll_transmit().unwrap()).condition,
        Some(Condition::ItemNotFound)
    );
    assert!(cm.is_closed());
}

/// XEP-0124 §11: a client makes at most `requests` simultaneous requests (one more to pause or terminate), so
/// without acknowledgements rid `r` still tells that the responses up to `r - requests` arrived (§14.3 asks to
/// buffer as many responses as simultaneous requests), and any request with the sid that the creation response
/// arrived. The others stay buffered for retransmission; a late copy of an older request changes nothing and
/// does not end the session.
#[test]
fn xep0124_14_3_without_acks_new_rids_release_older_responses() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    let requests = u64::from(
        body(&{
            // The creation response again, to read `requests` from it.
            cm.handle_request(now, HttpId(50), creation("").as_bytes());
            cm.poll_transmit().unwrap()
        })
        .requests
        .unwrap(),
    );
    assert_eq!(requests, 2, "hold='1' gets requests='2'");
    // 101 answered with a payload, 102 answered by a payload too, 103 held.
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.send(now, None, &b"<one/>"[..]).unwrap();
    let r101 = cm.poll_transmit().unwrap();
    cm.handle_request(now, HttpId(2), &req(102, "", ""));
    cm.send(now, None, &b"<two/>"[..]).unwrap();
    let r102 = cm.poll_transmit().unwrap();
    assert_eq!(payloads(&r102), vec!["<two/>".to_owned()]);
    cm.handle_request(now, HttpId(3), &req(103, "", ""));
    assert!(cm.poll_transmit().is_none(), "103 is held");
    // 103 says 101's response arrived (103 - 2); 102's may still be asked for again.
    cm.handle_request(now, HttpId(4), &req(102, "", ""));
    let again = cm.poll_transmit().unwrap();
    assert_eq!((again.http, &again.body), (HttpId(4), &r102.body));
    cm.handle_request(now, HttpId(5), &req(101, "", ""));
    let late = cm.poll_transmit().unwrap();
    assert_eq!(late.http, HttpId(5));
    assert_ne!(late.body, r101.body, "no longer buffered");
    assert_eq!(body(&late).kind, Some(BodyType::Error), "recoverable");
    assert_eq!(body(&late).condition, None);
    assert!(!cm.is_closed());
    // A request with the sid shows that the creation response (where the sid came from) arrived too.
    cm.handle_request(now, HttpId(6), creation("").as_bytes());
    let late = cm.poll_transmit().unwrap();
    assert_eq!(
        (late.http, body(&late).kind),
        (HttpId(6), Some(BodyType::Error))
    );
    assert_eq!(body(&late).sid, None);
    // The session goes on: the held request still carries the next payload.
    cm.send(now, None, &b"<three/>"[..]).unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!(
        (t.http, payloads(&t)),
        (HttpId(3), vec!["<three/>".to_owned()])
    );
}

#[test]
fn xep0124_7_bad_sid() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(
        now,
        HttpId(1),
        format!("<body rid='101' sid='other' {NS}/>").as_bytes(),
    );
    assert_eq!(
        body(&cm.poll_transmit().unwrap()).condition,
        Some(Condition::ItemNotFound)
    );
    assert!(
        !cm.is_closed(),
        "a request of another session does not end this one"
    );
}

#[test]
fn xep0124_11_too_many_simultaneous_requests() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    // 101 is held and not answered; 103 would make three requests against requests='2'.
    cm.handle_request(now, HttpId(3), &req(103, "", ""));
    let responses: Vec<_> = std::iter::from_fn(|| cm.poll_transmit()).collect();
    assert!(
        responses
            .iter()
            .all(|t| body(t).condition == Some(Condition::PolicyViolation))
    );
    assert!(cm.is_closed());
}

#[test]
fn xep0124_12_too_frequent_polling() {
    let now = Instant::now();
    let mut cm = CmSession::accept(
        now,
        no_stream_config(),
        "S".into(),
        [1; 32],
        HttpId(0),
        format!("<body rid='100' to='x' wait='60' hold='0' ver='1.11' {NS}/>").as_bytes(),
    )
    .unwrap();
    assert_eq!(body(&cm.poll_transmit().unwrap()).polling, Some(2));
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    assert!(
        body(&cm.poll_transmit().unwrap()).kind.is_none(),
        "polling session: answered at once"
    );
    let later = now + Duration::from_secs(3);
    cm.handle_request(later, HttpId(2), &req(102, "", ""));
    assert!(
        body(&cm.poll_transmit().unwrap()).kind.is_none(),
        "3 s later is fine"
    );
    cm.handle_request(later + Duration::from_secs(1), HttpId(3), &req(103, "", ""));
    assert_eq!(
        body(&cm.poll_transmit().unwrap()).condition,
        Some(Condition::PolicyViolation)
    );
}

#[test]
fn xep0124_10_pause_and_inactivity() {
    let now = Instant::now();
    let mut config = no_stream_config();
    config.inactivity = 30;
    let mut cm = accept(config, "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.send(now, None, &b"<late/>"[..]).unwrap();
    let _ = cm.poll_transmit();
    cm.handle_request(now, HttpId(2), &req(102, "", ""));
    cm.handle_request(now, HttpId(3), &req(103, "pause='90'", ""));
    let answered: Vec<_> = std::iter::from_fn(|| cm.poll_transmit()).collect();
    assert_eq!(
        answered.iter().map(|t| t.http).collect::<Vec<_>>(),
        [HttpId(2), HttpId(3)]
    );
    assert!(
        payloads(&answered[1]).is_empty(),
        "the pause response carries no payload"
    );
    cm.handle_timeout(now + Duration::from_secs(31));
    assert!(!cm.is_closed(), "paused: 90 s instead of 30 s");
    cm.handle_timeout(now + Duration::from_secs(91));
    assert!(cm.is_closed());
    assert!(events(&mut cm).contains(&CmEvent::Terminated(CmTermination::Inactivity)));
}

#[test]
fn xep0124_10_inactivity() {
    let now = Instant::now();
    let mut config = no_stream_config();
    config.inactivity = 30;
    let mut cm = accept(config, "", now);
    cm.handle_timeout(now + Duration::from_secs(29));
    assert!(!cm.is_closed());
    cm.handle_timeout(now + Duration::from_secs(30));
    assert!(cm.is_closed());
    // Afterwards the session answers as if it did not exist.
    cm.handle_request(now + Duration::from_secs(31), HttpId(5), &req(101, "", ""));
    assert_eq!(
        body(&cm.poll_transmit().unwrap()).condition,
        Some(Condition::ItemNotFound)
    );
}

#[test]
fn xep0124_13_terminate() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.handle_request(
        now,
        HttpId(2),
        &req(
            102,
            "type='terminate'",
            "<presence type='unavailable' xmlns='jabber:client'/>",
        ),
    );
    let a = cm.poll_transmit().unwrap();
    let b = cm.poll_transmit().unwrap();
    assert_eq!((a.http, body(&a).kind), (HttpId(1), None));
    assert_eq!(
        (b.http, body(&b).kind),
        (HttpId(2), Some(BodyType::Terminate))
    );
    let ev = events(&mut cm);
    assert!(ev.iter().any(
        |e| matches!(e, CmEvent::Payloads { payloads, .. } if payloads[0].starts_with(b"<presence"))
    ));
    assert!(ev.contains(&CmEvent::Terminated(CmTermination::ByClient)));
    // A lost answer can still be fetched again during the linger time.
    cm.handle_request(
        now,
        HttpId(3),
        &req(
            102,
            "type='terminate'",
            "<presence type='unavailable' xmlns='jabber:client'/>",
        ),
    );
    assert_eq!(cm.poll_transmit().unwrap().body, b.body);
    assert!(!cm.is_finished(now));
    assert!(cm.is_finished(now + Duration::from_secs(30)));
}

#[test]
fn xep0124_15_4_invalid_key_sequence() {
    let now = Instant::now();
    let k1 = "6f825e81f4532b2c5fa2d12457d8a1f22e8f838e";
    let k2 = next_key(k1);
    let k3 = next_key(&k2);
    let mut cm = accept(
        no_stream_config(),
        &format!("newkey='{}'", k3.to_uppercase()),
        now,
    );
    cm.handle_request(now, HttpId(1), &req(101, &format!("key='{k2}'"), ""));
    assert!(!cm.is_closed(), "keys compare case-insensitively");
    cm.handle_request(now, HttpId(2), &req(102, &format!("key='{k2}'"), ""));
    let responses: Vec<_> = std::iter::from_fn(|| cm.poll_transmit()).collect();
    assert_eq!(
        body(responses.last().unwrap()).condition,
        Some(Condition::ItemNotFound)
    );
    assert!(cm.is_closed());
}

#[test]
fn xep0124_15_4_missing_key() {
    let now = Instant::now();
    let mut cm = accept(
        no_stream_config(),
        "newkey='ca393b51b682f61f98e7877d61146407f3d0a770'",
        now,
    );
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    assert_eq!(
        body(&cm.poll_transmit().unwrap()).condition,
        Some(Condition::ItemNotFound)
    );
}

#[test]
fn xep0124_9_1_request_acknowledgement() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "ack='1'", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.handle_request(now, HttpId(2), &req(102, "", "<m/>"));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(
        (t.http, body(&t).ack),
        (HttpId(1), Rid::new(102)),
        "acks the highest rid received"
    );
}

#[test]
fn xep0124_9_2_report_and_time() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "ack='1'", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.send(now, None, &b"<m/>"[..]).unwrap();
    let lost = cm.poll_transmit().unwrap();
    // The client acknowledges only 100 two seconds later: it missed the response to 101.
    let later = now + Duration::from_secs(2);
    cm.handle_request(later, HttpId(2), &req(102, "ack='100'", ""));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(2), "answered at once");
    let b = body(&t);
    assert_eq!(b.report, Rid::new(101));
    assert_eq!(b.time, Some(2000));
    // And 101 is still in the cache.
    cm.handle_request(later, HttpId(3), &req(101, "", ""));
    assert_eq!(cm.poll_transmit().unwrap().body, lost.body);
}

#[test]
fn xep0124_16_multiple_streams() {
    let now = Instant::now();
    let mut cm = CmSession::accept(
        now,
        CmConfig::default(),
        "S".into(),
        [1; 32],
        HttpId(0),
        creation("").as_bytes(),
    )
    .unwrap();
    let first = body(&cm.poll_transmit().unwrap()).stream.unwrap();
    events(&mut cm);
    cm.handle_request(
        now,
        HttpId(1),
        &req(101, "to='other.example' xml:lang='en'", ""),
    );
    let t = cm.poll_transmit().unwrap();
    let second = body(&t).stream.unwrap();
    assert_ne!(first, second);
    assert_eq!(cm.streams(), [first.clone(), second.clone()]);
    let ev = events(&mut cm);
    assert!(
        matches!(&ev[0], CmEvent::StreamOpened { stream: Some(s), to: Some(to), .. } if *s == second && to == "other.example")
    );
    // Payloads for one stream, and a response naming its stream.
    cm.handle_request(
        now,
        HttpId(2),
        &req(102, &format!("stream='{second}'"), "<m/>"),
    );
    assert_eq!(
        events(&mut cm),
        [CmEvent::Payloads {
            stream: Some(second.clone()),
            payloads: vec![b"<m/>"[..].into()]
        }]
    );
    cm.send(now, Some(&second), &b"<r/>"[..]).unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!(
        (body(&t).stream, payloads(&t)),
        (Some(second.clone()), vec!["<r/>".to_owned()])
    );
    // Close the second stream; the session goes on.
    cm.handle_request(
        now,
        HttpId(3),
        &req(103, &format!("stream='{second}' type='terminate'"), ""),
    );
    assert!(events(&mut cm).contains(&CmEvent::StreamClosed {
        stream: second.clone()
    }));
    assert!(!cm.is_closed());
    // An unknown stream name ends the session.
    cm.handle_request(now, HttpId(4), &req(104, "stream='nope'", "<m/>"));
    let all: Vec<_> = std::iter::from_fn(|| cm.poll_transmit()).collect();
    assert_eq!(
        body(all.last().unwrap()).condition,
        Some(Condition::ItemNotFound)
    );
}

#[test]
fn xep0124_16_6_upstream_closes_one_stream() {
    let now = Instant::now();
    let mut cm = CmSession::accept(
        now,
        CmConfig::default(),
        "S".into(),
        [1; 32],
        HttpId(0),
        creation("").as_bytes(),
    )
    .unwrap();
    let _ = cm.poll_transmit();
    cm.handle_request(now, HttpId(1), &req(101, "to='other.example'", ""));
    let second = body(&cm.poll_transmit().unwrap()).stream.unwrap();
    cm.handle_request(now, HttpId(2), &req(102, "", ""));
    cm.close_upstream(
        now,
        Condition::RemoteConnectionFailed,
        Some(&second),
        vec![],
    );
    let t = cm.poll_transmit().unwrap();
    let b = body(&t);
    assert_eq!(
        (b.kind, b.condition, b.stream),
        (
            Some(BodyType::Terminate),
            Some(Condition::RemoteConnectionFailed),
            Some(second)
        )
    );
    assert!(!cm.is_closed());
}

#[test]
fn xep0206_6_remote_stream_error() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.send(now, None, &b"<message xmlns='jabber:client'/>"[..])
        .unwrap();
    let _ = cm.poll_transmit();
    cm.handle_request(now, HttpId(2), &req(102, "", ""));
    cm.close_upstream(
        now,
        Condition::RemoteStreamError,
        None,
        vec![b"<stream:error><host-gone xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"[..].into()],
    );
    let t = cm.poll_transmit().unwrap();
    let p = Body::parse(&t.body, &Limits::default()).unwrap();
    assert_eq!(p.body.condition, Some(Condition::RemoteStreamError));
    assert_eq!(
        p.body.namespaces,
        [(
            "stream".to_owned(),
            "http://etherx.jabber.org/streams".to_owned()
        )]
    );
    assert!(cm.is_closed());
}

#[test]
fn xep0206_5_restart() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    events(&mut cm);
    let restart = format!(
        "<body rid='101' sid='S' to='example.com' xml:lang='en' xmpp:restart='true' {NS} xmlns:xmpp='urn:xmpp:xbosh'/>"
    );
    cm.handle_request(now, HttpId(1), restart.as_bytes());
    assert_eq!(events(&mut cm), [CmEvent::Restart { stream: None }]);
    cm.send(
        now,
        None,
        &b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"[..],
    )
    .unwrap();
    let p = cm.poll_transmit().unwrap();
    let parsed = Body::parse(&p.body, &Limits::default()).expect("the stream prefix is declared");
    assert_eq!(parsed.payloads.len(), 1);
}

#[test]
fn xep0124_17_1_legacy_clients_get_http_errors() {
    let now = Instant::now();
    let legacy = format!("<body rid='100' to='x' wait='60' hold='1' {NS}/>");
    let mut cm = CmSession::accept(
        now,
        no_stream_config(),
        "S".into(),
        [1; 32],
        HttpId(0),
        legacy.as_bytes(),
    )
    .unwrap();
    let _ = cm.poll_transmit();
    cm.handle_request(now, HttpId(1), &req(150, "", ""));
    assert_eq!(cm.poll_transmit().unwrap().status, 404);
}

#[test]
fn cm_snapshot_restore() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.handle_request(now, HttpId(1), &req(101, "", "<a/>"));
    cm.send(now, None, &b"<queued/>"[..]).unwrap();
    let answered = cm.poll_transmit().unwrap();
    cm.handle_request(now, HttpId(2), &req(102, "", ""));
    let json = serde_json::to_string(&cm.snapshot()).unwrap();
    let mut cm = CmSession::restore(serde_json::from_str(&json).unwrap(), now).unwrap();
    // The held request's connection died with the old process: its answer waits in the cache.
    cm.handle_request(now, HttpId(3), &req(102, "", ""));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(3));
    cm.handle_request(now, HttpId(4), &req(101, "", "<a/>"));
    assert_eq!(cm.poll_transmit().unwrap().body, answered.body);
    // An unknown format version is refused clearly.
    let json = json.replacen("\"format_version\":1", "\"format_version\":99", 1);
    assert!(matches!(
        CmSession::restore(serde_json::from_str(&json).unwrap(), now),
        Err(Error::UnsupportedSnapshotVersion {
            found: 99,
            supported: 1
        })
    ));
}

#[test]
fn xep0124_11_too_frequent_requests() {
    let now = Instant::now();
    let mut config = no_stream_config();
    config.max_hold = 2;
    config.strict_overactivity = true;
    let mut cm = CmSession::accept(
        now,
        config,
        "S".into(),
        [1; 32],
        HttpId(0),
        format!("<body rid='100' to='x' wait='60' hold='2' ver='1.11' {NS}/>").as_bytes(),
    )
    .unwrap();
    assert_eq!(body(&cm.poll_transmit().unwrap()).requests, Some(3));
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.handle_request(now, HttpId(2), &req(102, "", "<m/>"));
    // Three unanswered requests (= requests), the last one empty, one second after the previous one.
    cm.handle_request(now + Duration::from_secs(1), HttpId(3), &req(103, "", ""));
    let responses: Vec<_> = std::iter::from_fn(|| cm.poll_transmit()).collect();
    assert!(!responses.is_empty());
    assert!(
        responses
            .iter()
            .all(|t| body(t).condition == Some(Condition::PolicyViolation))
    );
    assert!(cm.is_closed());
}

#[test]
fn xep0124_11_full_window_with_payload_is_fine() {
    let now = Instant::now();
    let mut config = no_stream_config();
    config.max_hold = 2;
    let mut cm = CmSession::accept(
        now,
        config,
        "S".into(),
        [1; 32],
        HttpId(0),
        format!("<body rid='100' to='x' wait='60' hold='2' ver='1.11' {NS}/>").as_bytes(),
    )
    .unwrap();
    let _ = cm.poll_transmit();
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.handle_request(now, HttpId(2), &req(102, "", ""));
    cm.handle_request(now, HttpId(3), &req(103, "", "<m/>"));
    assert!(!cm.is_closed());
    // hold = 2: the oldest is answered to make room.
    assert_eq!(cm.poll_transmit().unwrap().http, HttpId(1));
}

/// XEP-0206 §4 (Example 3) and §5 (Example 12): the stream attributes (`authid`, `from`, `xmpp:version`) and
/// the stream's `<stream:features/>` arrive in the same response when announced with `announce_with`.
#[test]
fn xep0206_4_attributes_come_with_the_features() {
    let now = Instant::now();
    let mut cm = accept(
        no_stream_config(),
        "xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'",
        now,
    );
    let _ = events(&mut cm);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    assert!(cm.poll_transmit().is_none(), "the empty request is held");
    let features = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
        <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>\
        </mechanisms></stream:features>";
    let announce = zxmpp_bosh::Announce::new(
        Some("example.com".into()),
        Some("ServerStreamID".into()),
        Some("1.0".into()),
    );
    cm.announce_with(now, announce, features.as_bytes().to_vec())
        .unwrap();
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(1));
    let b = body(&t);
    assert_eq!(b.authid.as_deref(), Some("ServerStreamID"));
    assert_eq!(b.from.as_deref(), Some("example.com"));
    assert_eq!(b.xmpp_version.as_deref(), Some("1.0"));
    let p = payloads(&t);
    assert_eq!(p.len(), 1);
    assert!(p[0].contains("SCRAM-SHA-1"), "{p:?}");
    assert!(cm.poll_transmit().is_none(), "one response, not two");
}

/// Once the session is closed (its terminate delivered), `announce_with` takes nothing.
#[test]
fn announce_with_after_close_is_refused() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    cm.close_upstream(now, Condition::RemoteConnectionFailed, None, Vec::new());
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    let t = cm.poll_transmit().unwrap();
    assert_eq!(body(&t).kind, Some(BodyType::Terminate));
    let err = cm
        .announce_with(now, zxmpp_bosh::Announce::default(), b"<x/>".to_vec())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err:?}");
}

/// The default (not `strict_overactivity`): a client restored after a page reload sends its first request, empty,
/// while the previous page's poll is still held. XEP-0124 §11's second rule would end the session; instead the
/// held request is answered (empty, `hold` = 1) and the new one is held, as Prosody's mod_bosh does.
#[test]
fn xep0124_11_empty_request_filling_the_window_is_not_overactivity_by_default() {
    let now = Instant::now();
    let mut cm = accept(no_stream_config(), "", now);
    let _ = events(&mut cm);
    // requests = 2 (hold 1): rid 101 held by the old page, rid 102 from the restored page 0.5 s later.
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    assert!(cm.poll_transmit().is_none());
    cm.handle_request(
        now + Duration::from_millis(500),
        HttpId(2),
        &req(102, "", ""),
    );
    let t = cm.poll_transmit().unwrap();
    assert_eq!(t.http, HttpId(1));
    let b = body(&t);
    assert_eq!(b.kind, None, "{b:?}");
    assert!(payloads(&t).is_empty());
    assert!(cm.poll_transmit().is_none(), "102 is held");
    assert!(!cm.is_closed());
    // The same with `strict_overactivity`: policy-violation.
    let mut config = no_stream_config();
    config.strict_overactivity = true;
    let mut cm = accept(config, "", now);
    let _ = events(&mut cm);
    cm.handle_request(now, HttpId(1), &req(101, "", ""));
    cm.handle_request(
        now + Duration::from_millis(500),
        HttpId(2),
        &req(102, "", ""),
    );
    let responses: Vec<_> = std::iter::from_fn(|| cm.poll_transmit()).collect();
    assert!(
        responses
            .iter()
            .any(|t| body(t).condition == Some(Condition::PolicyViolation)),
        "{responses:?}"
    );
    assert!(cm.is_closed());
}

/// A session with two streams (the first from creation, a second added) and no request held.
fn two_stream_session(now: Instant) -> (CmSession, String, String) {
    let mut cm = CmSession::accept(
        now,
        CmConfig::default(),
        "S".into(),
        [1; 32],
        HttpId(0),
        creation("").as_bytes(),
    )
    .unwrap();
    let first = body(&cm.poll_transmit().unwrap()).stream.unwrap();
    cm.handle_request(now, HttpId(1), &req(101, "to='other.example'", ""));
    let second = body(&cm.poll_transmit().unwrap()).stream.unwrap();
    events(&mut cm);
    (cm, first, second)
}

fn announce_for(stream: &str, authid: &str) -> zxmpp_bosh::Announce {
    let mut a = zxmpp_bosh::Announce::new(Some("example.com".into()), Some(authid.into()), None);
    a.stream = Some(stream.to_owned());
    a
}

/// XEP-0124 §16: the stream attributes of two streams announced before the client polls both reach it, each in
/// a response naming its own stream.
#[test]
fn xep0124_16_announcements_of_two_streams_are_both_delivered() {
    let now = Instant::now();
    let (mut cm, first, second) = two_stream_session(now);
    cm.announce(now, announce_for(&first, "id-1"));
    cm.announce(now, announce_for(&second, "id-2"));
    let mut seen = Vec::new();
    for rid in 102..105 {
        cm.handle_request(now, HttpId(rid), &req(rid, "", ""));
        while let Some(t) = cm.poll_transmit() {
            let b = body(&t);
            if let Some(authid) = b.authid {
                seen.push((authid, b.stream.unwrap()));
            }
        }
    }
    seen.sort();
    assert_eq!(seen, [("id-1".into(), first), ("id-2".into(), second)]);
}

/// XEP-0124 §16: one response speaks for one stream: an announcement for one stream does not carry the payloads
/// of another under its name, and a stream's terminate does not carry another stream's payloads.
#[test]
fn xep0124_16_a_response_never_mixes_streams() {
    let now = Instant::now();
    let (mut cm, first, second) = two_stream_session(now);
    cm.announce(now, announce_for(&second, "id-2"));
    cm.send(now, Some(&first), &b"<for-first/>"[..]).unwrap();
    let mut got = Vec::new();
    for rid in 102..105 {
        cm.handle_request(now, HttpId(rid), &req(rid, "", ""));
        while let Some(t) = cm.poll_transmit() {
            got.push((body(&t), payloads(&t)));
        }
    }
    for (b, p) in &got {
        if b.authid.as_deref() == Some("id-2") {
            assert_eq!(b.stream.as_deref(), Some(second.as_str()));
            assert!(p.is_empty(), "{p:?}");
        }
        if p.iter().any(|p| p == "<for-first/>") {
            assert_eq!(b.stream.as_deref(), Some(first.as_str()));
        }
    }
    assert!(
        got.iter()
            .any(|(_, p)| p.iter().any(|p| p == "<for-first/>"))
    );

    // Payloads for the first stream, then the second stream fails: two responses.
    let (mut cm, first, second) = two_stream_session(now);
    cm.send(now, Some(&first), &b"<for-first/>"[..]).unwrap();
    cm.close_upstream(
        now,
        Condition::RemoteConnectionFailed,
        Some(&second),
        vec![],
    );
    let mut got = Vec::new();
    for rid in 102..105 {
        cm.handle_request(now, HttpId(rid), &req(rid, "", ""));
        while let Some(t) = cm.poll_transmit() {
            got.push((body(&t), payloads(&t)));
        }
    }
    let (b, p) = got
        .iter()
        .find(|(b, _)| b.kind == Some(BodyType::Terminate))
        .unwrap();
    assert_eq!((b.stream.as_deref(), p.len()), (Some(second.as_str()), 0));
    let (b, _) = got
        .iter()
        .find(|(_, p)| p.iter().any(|p| p == "<for-first/>"))
        .unwrap();
    assert_eq!(
        (b.stream.as_deref(), b.kind.clone()),
        (Some(first.as_str()), None)
    );
    assert!(!cm.is_closed());
}

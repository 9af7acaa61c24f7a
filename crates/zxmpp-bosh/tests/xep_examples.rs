//! The examples of XEP-0124 v1.11 and XEP-0206 v1.4, named after their sections; the expected values are read off
//! the specification text (and the key vector in `tests/data/key-sequence.txt`, checked with Python's hashlib).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use zxmpp_bosh::keys::{KeyChain, next_key, verify_key};
use zxmpp_bosh::{
    Body, BodyType, ClientConfig, ClientEvent, ClientSession, Condition, HttpOutcome, Limits, Rid,
    Termination, Version,
};

fn parse(xml: &str) -> zxmpp_bosh::ParsedBody<'_> {
    Body::parse(xml.as_bytes(), &Limits::default()).expect("spec example parses")
}

fn rid(v: u64) -> Option<Rid> {
    Rid::new(v)
}

fn payload_strs<'a>(parsed: &zxmpp_bosh::ParsedBody<'a>) -> Vec<&'a str> {
    parsed
        .payload_bytes()
        .map(|b| std::str::from_utf8(b).unwrap())
        .collect()
}

#[test]
fn xep0124_7_1_session_creation_request() {
    let p = parse(
        "<body content='text/xml; charset=utf-8'
      from='user@example.com'
      hold='1'
      rid='1573741820'
      to='example.com'
      route='xmpp:example.com:9999'
      ver='1.6'
      wait='60'
      ack='1'
      xml:lang='en'
      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    let b = &p.body;
    assert_eq!(b.content.as_deref(), Some("text/xml; charset=utf-8"));
    assert_eq!(b.from.as_deref(), Some("user@example.com"));
    assert_eq!(b.hold, Some(1));
    assert_eq!(b.rid, rid(1573741820));
    assert_eq!(b.to.as_deref(), Some("example.com"));
    assert_eq!(b.route.as_deref(), Some("xmpp:example.com:9999"));
    assert_eq!(b.ver, Some(Version { major: 1, minor: 6 }));
    assert_eq!(b.wait, Some(60));
    assert_eq!(b.ack, rid(1));
    assert_eq!(b.lang.as_deref(), Some("en"));
    assert!(b.is_creation_request());
    assert!(p.is_empty());
}

#[test]
fn xep0124_7_1_client_writes_the_same_attributes() {
    let config = ClientConfig::new("example.com")
        .with_from("user@example.com")
        .with_route("xmpp:example.com:9999")
        .with_content("text/xml; charset=utf-8")
        .with_xmpp_version(None)
        .with_keys(false);
    let mut client = ClientSession::new(config, [1; 32], Instant::now());
    let t = client.poll_transmit(Instant::now()).unwrap();
    let b = Body::parse(&t.body, &Limits::default()).unwrap().body;
    assert_eq!(b.content.as_deref(), Some("text/xml; charset=utf-8"));
    assert_eq!(b.from.as_deref(), Some("user@example.com"));
    assert_eq!(b.hold, Some(1));
    assert_eq!(b.to.as_deref(), Some("example.com"));
    assert_eq!(b.route.as_deref(), Some("xmpp:example.com:9999"));
    assert_eq!(b.wait, Some(60));
    assert_eq!(b.ack, rid(1));
    assert_eq!(b.lang.as_deref(), Some("en"));
    assert_eq!(b.sid, None);
    assert_eq!(b.rid, Some(t.id.rid()));
    // §14.1: large, random, and leaves room below 2^53 - 1.
    assert!(t.id.rid().get() <= 1 << 52);
}

const CREATION_RESPONSE: &str = "<body wait='60'
      inactivity='30'
      polling='5'
      requests='2'
      hold='1'
      ack='1573741820'
      accept='deflate,gzip'
      maxpause='120'
      sid='SomeSID'
      charsets='ISO_8859-1 ISO-2022-JP'
      ver='1.6'
      from='example.com'
      xmlns='http://jabber.org/protocol/httpbind'/>";

#[test]
fn xep0124_7_2_session_creation_response() {
    let p = parse(CREATION_RESPONSE);
    let b = &p.body;
    assert_eq!(b.wait, Some(60));
    assert_eq!(b.inactivity, Some(30));
    assert_eq!(b.polling, Some(5));
    assert_eq!(b.requests, Some(2));
    assert_eq!(b.hold, Some(1));
    assert_eq!(b.ack, rid(1573741820));
    assert_eq!(b.accept.as_deref(), Some("deflate,gzip"));
    assert_eq!(b.maxpause, Some(120));
    assert_eq!(b.sid.as_deref(), Some("SomeSID"));
    assert_eq!(b.charsets.as_deref(), Some("ISO_8859-1 ISO-2022-JP"));
    assert_eq!(b.ver, Some(Version { major: 1, minor: 6 }));
    assert_eq!(b.from.as_deref(), Some("example.com"));
}

#[test]
fn xep0124_7_2_client_takes_the_parameters() {
    let now = Instant::now();
    let mut client = ClientSession::new(
        ClientConfig::new("example.com").with_keys(false),
        [2; 32],
        now,
    );
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(now, t.id, HttpOutcome::Ok(CREATION_RESPONSE.into()));
    let Some(ClientEvent::Connected(params)) = client.poll_event() else {
        panic!("not connected")
    };
    assert_eq!(params.sid, "SomeSID");
    assert_eq!(
        (params.wait, params.hold, params.requests, params.polling),
        (60, 1, 2, 5)
    );
    assert_eq!(params.inactivity, Some(30));
    assert_eq!(params.maxpause, Some(120));
    assert!(params.acks);
    assert_eq!(params.from.as_deref(), Some("example.com"));
    // With hold=1 the client keeps one request waiting at the connection manager.
    let poll = client.poll_transmit(now).unwrap();
    assert_eq!(poll.id.rid().get(), t.id.rid().get() + 1);
    let b = Body::parse(&poll.body, &Limits::default()).unwrap();
    assert_eq!(b.body.sid.as_deref(), Some("SomeSID"));
    assert!(b.is_empty());
    // §11: no more than `requests`; hold=1 is satisfied, so nothing else is sent.
    assert!(client.poll_transmit(now).is_none());
}

#[test]
fn xep0124_7_2_subsequent_response_with_from() {
    let p = parse("<body from='example.com'\n      xmlns='http://jabber.org/protocol/httpbind'/>");
    assert_eq!(p.body.from.as_deref(), Some("example.com"));
}

#[test]
fn xep0124_8_transmitting_payloads() {
    let xml = "<body rid='1249243562'
      sid='SomeSID'
      xmlns='http://jabber.org/protocol/httpbind'>
  <message to='contact@example.com'
           xmlns='jabber:client'>
    <body>Good morning!</body>
  </message>
  <message to='friend@example.com'
           xmlns='jabber:client'>
    <body>Hey, what&apos;s up?</body>
  </message>
</body>";
    let p = parse(xml);
    assert_eq!(p.body.rid, rid(1249243562));
    assert_eq!(p.body.sid.as_deref(), Some("SomeSID"));
    assert_eq!(
        payload_strs(&p),
        [
            "<message to='contact@example.com'\n           xmlns='jabber:client'>\n    <body>Good morning!</body>\n  </message>",
            "<message to='friend@example.com'\n           xmlns='jabber:client'>\n    <body>Hey, what&apos;s up?</body>\n  </message>",
        ]
    );
    // Zero-copy: the ranges index the input.
    assert_eq!(&xml[p.payloads[0].clone()], payload_strs(&p)[0]);
}

#[test]
fn xep0124_8_empty_response() {
    let p = parse("<body xmlns='http://jabber.org/protocol/httpbind'/>");
    assert_eq!(p.body, Body::default());
    assert!(p.is_empty());
}

#[test]
fn xep0124_8_response_with_queued_stanza() {
    let xml = "<body xmlns='http://jabber.org/protocol/httpbind'
      xmlns:json='http://json.org/'>
  <message from='contact@example.com'
           to='user@example.com'
           xmlns='jabber:client'>
    <body>Good morning to you!</body>
  </message>
  <message from='friend@example.com'
           to='user@example.com'
           xmlns='jabber:client'>
    <body>Not much, how about with you?</body>
  </message>
  <json:json>
  [
    {
      \"precision\": \"zip\",
      \"Latitude\":  37.7668
    }
  ]
  </json:json>
</body>";
    let p = parse(xml);
    assert_eq!(p.payloads.len(), 3);
    assert!(payload_strs(&p)[2].starts_with("<json:json>"));
    assert_eq!(
        p.body.namespaces,
        [("json".to_owned(), "http://json.org/".to_owned())]
    );
}

#[test]
fn xep0124_8_requesting_xml_payloads() {
    let p = parse(
        "<body rid='1249243563'\n      sid='SomeSID'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.rid, rid(1249243563));
    assert!(p.is_empty());
}

#[test]
fn xep0124_9_1_response_with_request_acknowledgement() {
    let p = parse("<body ack='1249243564'\n      xmlns='http://jabber.org/protocol/httpbind'/>");
    assert_eq!(p.body.ack, rid(1249243564));
}

#[test]
fn xep0124_9_2_request_with_response_acknowledgement() {
    let p = parse(
        "<body rid='1249243566'\n      sid='SomeSID'\n      ack='1249243564'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.rid, rid(1249243566));
    assert_eq!(p.body.ack, rid(1249243564));
}

#[test]
fn xep0124_9_2_response_with_report() {
    let p = parse(
        "<body report='1249243565'\n      time='852'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.report, rid(1249243565));
    assert_eq!(p.body.time, Some(852));
}

#[test]
fn xep0124_10_requesting_a_session_pause() {
    let p = parse(
        "<body rid='1249243564'\n      sid='SomeSID'\n      pause='60'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.pause, Some(60));
}

#[test]
fn xep0124_11_too_many_simultaneous_requests_response() {
    let p = parse(
        "<body type='terminate'\n      condition='policy-violation'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.kind, Some(BodyType::Terminate));
    assert_eq!(p.body.condition, Some(Condition::PolicyViolation));
}

#[test]
fn xep0124_13_session_termination_by_client() {
    let p = parse(
        "<body rid='1249243565'
      sid='SomeSID'
      type='terminate'
      xmlns='http://jabber.org/protocol/httpbind'>
  <presence type='unavailable'
            xmlns='jabber:client'/>
</body>",
    );
    assert!(p.body.is_terminate());
    assert_eq!(
        payload_strs(&p),
        ["<presence type='unavailable'\n            xmlns='jabber:client'/>"]
    );
    let ack = parse("<body type='terminate'\n      xmlns='http://jabber.org/protocol/httpbind'/>");
    assert!(ack.body.is_terminate());
    assert_eq!(ack.body.condition, None);
}

#[test]
fn xep0124_14_2_unexpected_rid_error() {
    let p = parse(
        "<body type='terminate'\n      condition='item-not-found'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.condition, Some(Condition::ItemNotFound));
}

#[test]
fn xep0124_14_1_rid_limit() {
    assert_eq!(Rid::MAX, 9_007_199_254_740_991);
    assert!(Rid::parse("9007199254740991").is_some());
    assert!(Rid::parse("9007199254740992").is_none());
    assert!(Rid::parse("0").is_none());
    assert!(
        Body::parse(
            b"<body rid='9007199254740992' xmlns='http://jabber.org/protocol/httpbind'/>",
            &Limits::default()
        )
        .is_err()
    );
}

fn key_vector() -> Vec<(String, String)> {
    include_str!("data/key-sequence.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.split_once('\t').unwrap();
            (name.to_owned(), value.trim().to_owned())
        })
        .collect()
}

#[test]
fn xep0124_15_3_creating_the_key_sequence() {
    let v = key_vector();
    let get = |n: &str| v.iter().find(|(k, _)| k == n).unwrap().1.clone();
    // K(n) = hex(SHA-1(K(n-1))).
    assert_eq!(next_key(&get("seed")), get("K1"));
    assert_eq!(next_key(&get("K1")), get("K2"));
    // The chain as the client uses it: newkey first, then the keys back down to the first one.
    let mut chain = KeyChain::from_first_key(get("seed"), 3);
    assert_eq!(chain.take_newkey(), get("K2"));
    assert_eq!(chain.take(), (get("K1"), false));
    assert_eq!(chain.take(), (get("seed"), true));
}

#[test]
fn xep0124_15_4_use_of_keys() {
    let request = parse(
        "<body content='text/xml; charset=utf-8'
      hold='1'
      rid='1573741820'
      to='example.com'
      wait='60'
      xml:lang='en'
      newkey='ca393b51b682f61f98e7877d61146407f3d0a770'
      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    let next = parse(
        "<body rid='1573741821'
      sid='SomeSID'
      key='bfb06a6f113cd6fd3838ab9d300fdb4fe3da2f7d'
      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    let newkey = request.body.newkey.unwrap();
    let key = next.body.key.unwrap();
    assert!(verify_key(&key, &newkey));
    // Case-insensitive comparison.
    assert!(verify_key(&key, &newkey.to_uppercase()));
    assert!(!verify_key(&newkey, &key));
}

#[test]
fn xep0124_15_5_switching_to_another_key_sequence() {
    let p = parse(
        "<body rid='1573741822'
      sid='SomeSID'
      key='6f825e81f4532b2c5fa2d12457d8a1f22e8f838e'
      newkey='113f58a37245ec9637266cf2fb6e48bfeaf7964e'
      xmlns='http://jabber.org/protocol/httpbind'>
  <message to='contact@example.com'
           xmlns='jabber:client'>
    <body>I said \"Hi!\"</body>
  </message>
</body>",
    );
    assert!(verify_key(
        p.body.key.as_deref().unwrap(),
        "bfb06a6f113cd6fd3838ab9d300fdb4fe3da2f7d"
    ));
    assert_eq!(
        p.body.newkey.as_deref(),
        Some("113f58a37245ec9637266cf2fb6e48bfeaf7964e")
    );
}

#[test]
fn xep0124_15_5_client_rotates_before_keys_run_out() {
    let now = Instant::now();
    let mut client = ClientSession::new(
        ClientConfig::new("example.com").with_key_chain_len(3),
        [3; 32],
        now,
    );
    let t = client.poll_transmit(now).unwrap();
    let mut previous = Body::parse(&t.body, &Limits::default())
        .unwrap()
        .body
        .newkey
        .unwrap();
    client.handle_response(now, t.id, HttpOutcome::Ok(CREATION_RESPONSE.into()));
    let mut rotations = 0;
    for i in 0..10 {
        client
            .send(format!("<message xmlns='jabber:client' id='{i}'/>").into_bytes())
            .unwrap();
        let t = client.poll_transmit(now).unwrap();
        let b = Body::parse(&t.body, &Limits::default()).unwrap().body;
        let key = b.key.unwrap();
        assert!(
            verify_key(&key, &previous),
            "request {i}: key does not follow"
        );
        previous = match b.newkey {
            Some(newkey) => {
                rotations += 1;
                newkey
            }
            None => key,
        };
        client.handle_response(
            now,
            t.id,
            HttpOutcome::Ok("<body xmlns='http://jabber.org/protocol/httpbind'/>".into()),
        );
    }
    // A chain of 3 keys gives 2 keys after newkey: a new chain every 2 requests.
    assert_eq!(rotations, 5);
}

#[test]
fn xep0124_16_2_session_creation_response_with_stream_name() {
    let p = parse(
        "<body wait='60' inactivity='30' polling='5' requests='2' hold='1' accept='deflate,gzip'
      stream='firstStreamName' maxpause='120' sid='SomeSID' charsets='ISO_8859-1 ISO-2022-JP' ver='1.6'
      from='example.com' xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.stream.as_deref(), Some("firstStreamName"));
}

#[test]
fn xep0124_16_3_adding_streams() {
    let request = parse(
        "<body sid='SomeSID'
      rid='1573741820'
      to='example.com'
      route='xmpp:example.com:9999'
      xml:lang='en'
      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(request.body.to.as_deref(), Some("example.com"));
    assert!(!request.body.is_creation_request());
    let response = parse(
        "<body stream='secondStreamName'\n      from='example.com'\n      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(response.body.stream.as_deref(), Some("secondStreamName"));
}

#[test]
fn xep0124_16_6_fatal_stream_error() {
    let p = parse(
        "<body type='terminate'
      condition='remote-connection-failed'
      stream='secondStreamName'
      xmlns='http://jabber.org/protocol/httpbind'/>",
    );
    assert_eq!(p.body.condition, Some(Condition::RemoteConnectionFailed));
    assert_eq!(p.body.stream.as_deref(), Some("secondStreamName"));
}

const SEE_OTHER_URI: &str = "<body condition='see-other-uri'
      type='terminate'
      xmlns='http://jabber.org/protocol/httpbind'>
  <uri>https://secure.jabber.org/xmppcm</uri>
</body>";

#[test]
fn xep0124_17_2_see_other_uri() {
    let p = parse(SEE_OTHER_URI);
    assert_eq!(p.body.condition, Some(Condition::SeeOtherUri));
    assert_eq!(p.uri.as_deref(), Some("https://secure.jabber.org/xmppcm"));
}

#[test]
fn xep0124_17_2_client_reports_see_other_uri() {
    let now = Instant::now();
    let mut client = ClientSession::new(ClientConfig::new("example.com"), [4; 32], now);
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(now, t.id, HttpOutcome::Ok(SEE_OTHER_URI.into()));
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Terminated(Termination::Condition {
            condition: Some(Condition::SeeOtherUri),
            uri: Some("https://secure.jabber.org/xmppcm".to_owned()),
        }))
    );
    assert!(client.poll_transmit(now).is_none());
}

const REMOTE_ERROR: &str = "<body condition='remote-stream-error'
      type='terminate'
      xmlns='http://jabber.org/protocol/httpbind'
      xmlns:stream='http://etherx.jabber.org/streams'>
  <message from='contact@example.com'
           to='user@example.com'
           xmlns='jabber:client'>
    <body>I said \"Hi!\"</body>
  </message>
  <stream:error>
    <xml-not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>
    <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'
          xml:lang='en'>
      Some special application diagnostic information!
    </text>
    <escape-your-data xmlns='application-ns'/>
  </stream:error>
</body>";

#[test]
fn xep0124_17_2_remote_stream_error() {
    let p = parse(REMOTE_ERROR);
    assert_eq!(p.body.condition, Some(Condition::RemoteStreamError));
    assert_eq!(p.payloads.len(), 2);
    assert!(payload_strs(&p)[1].starts_with("<stream:error>"));
}

#[test]
fn xep0206_6_client_delivers_stanzas_then_the_stream_error() {
    let now = Instant::now();
    let mut client = connected_client(now);
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(now, t.id, HttpOutcome::Ok(REMOTE_ERROR.into()));
    let Some(ClientEvent::Payload(message)) = client.poll_event() else {
        panic!()
    };
    assert!(message.bytes.starts_with(b"<message"));
    let Some(ClientEvent::Payload(error)) = client.poll_event() else {
        panic!()
    };
    assert!(error.bytes.starts_with(b"<stream:error>"));
    assert_eq!(
        error.namespaces,
        [(
            "stream".to_owned(),
            "http://etherx.jabber.org/streams".to_owned()
        )]
    );
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Terminated(Termination::Condition {
            condition: Some(Condition::RemoteStreamError),
            uri: None
        }))
    );
}

#[test]
fn xep0124_17_3_recoverable_error_resends_identical_bytes() {
    let now = Instant::now();
    let mut client = connected_client(now);
    client
        .send(&b"<message xmlns='jabber:client'/>"[..])
        .unwrap();
    let first = client.poll_transmit(now).unwrap();
    let p = parse("<body type='error'\n      xmlns='http://jabber.org/protocol/httpbind'/>");
    assert_eq!(p.body.kind, Some(BodyType::Error));
    client.handle_response(
        now,
        first.id,
        HttpOutcome::Ok(
            "<body type='error'\n      xmlns='http://jabber.org/protocol/httpbind'/>".into(),
        ),
    );
    let again = client.poll_transmit(now).unwrap();
    assert_eq!(again.id.rid(), first.id.rid());
    assert_eq!(again.id.attempt(), first.id.attempt() + 1);
    assert_eq!(again.body, first.body);
}

#[test]
fn xep0124_17_1_http_conditions() {
    for (status, condition) in [
        (400, Condition::BadRequest),
        (403, Condition::PolicyViolation),
        (404, Condition::ItemNotFound),
    ] {
        let now = Instant::now();
        let mut client = connected_client(now);
        let t = client.poll_transmit(now).unwrap();
        client.handle_response(now, t.id, HttpOutcome::Status(status));
        assert_eq!(
            client.poll_event(),
            Some(ClientEvent::Terminated(Termination::HttpStatus {
                status,
                condition: Some(condition)
            }))
        );
    }
    // A proxy's 502 is not a BOSH condition: the request is resent unchanged.
    let now = Instant::now();
    let mut client = connected_client(now);
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(now, t.id, HttpOutcome::Status(502));
    assert_eq!(client.poll_transmit(now).unwrap().body, t.body);
}

#[test]
fn xep0124_14_3_broken_connection_resends_after_wait() {
    let now = Instant::now();
    let mut client = connected_client(now);
    let t = client.poll_transmit(now).unwrap();
    assert!(
        client
            .poll_transmit(now + Duration::from_secs(60))
            .is_none()
    );
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(70));
    let again = client.poll_transmit(deadline).unwrap();
    assert_eq!(
        (again.id.rid(), again.body.clone()),
        (t.id.rid(), t.body.clone())
    );
    client.handle_response(deadline, again.id, HttpOutcome::Failed);
    assert_eq!(client.poll_transmit(deadline).unwrap().body, t.body);
}

fn connected_client(now: Instant) -> ClientSession {
    let mut client = ClientSession::new(
        ClientConfig::new("example.com").with_keys(false),
        [6; 32],
        now,
    );
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(now, t.id, HttpOutcome::Ok(CREATION_RESPONSE.into()));
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Connected(_))
    ));
    client
}

#[test]
fn xep0206_3_session_creation_request_with_version() {
    let p = parse(
        "<body content='text/xml; charset=utf-8'
      from='user@example.com'
      hold='1'
      rid='1573741820'
      to='example.com'
      route='xmpp:example.com:9999'
      wait='60'
      xml:lang='en'
      xmpp:version='1.0'
      xmlns='http://jabber.org/protocol/httpbind'
      xmlns:xmpp='urn:xmpp:xbosh'/>",
    );
    assert_eq!(p.body.xmpp_version.as_deref(), Some("1.0"));
    assert!(p.body.other_attributes.is_empty());
    assert!(p.body.namespaces.is_empty());
}

const XEP0206_CREATION: &str = "<body wait='60'
      inactivity='30'
      polling='5'
      requests='2'
      hold='1'
      from='example.com'
      accept='deflate,gzip'
      sid='SomeSID'
      charsets='ISO_8859-1 ISO-2022-JP'
      xmpp:restartlogic='true'
      xmpp:version='1.0'
      authid='ServerStreamID'
      xmlns='http://jabber.org/protocol/httpbind'
      xmlns:xmpp='urn:xmpp:xbosh'
      xmlns:stream='http://etherx.jabber.org/streams'>
  <stream:features>
    <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>
      <mechanism>SCRAM-SHA-1</mechanism>
      <mechanism>PLAIN</mechanism>
    </mechanisms>
  </stream:features>
</body>";

#[test]
fn xep0206_4_session_creation_response_with_stream_features() {
    let p = parse(XEP0206_CREATION);
    assert_eq!(p.body.xmpp_restartlogic, Some(true));
    assert_eq!(p.body.xmpp_version.as_deref(), Some("1.0"));
    assert_eq!(p.body.authid.as_deref(), Some("ServerStreamID"));
    assert_eq!(p.payloads.len(), 1);
    assert!(payload_strs(&p)[0].starts_with("<stream:features>"));

    let now = Instant::now();
    let mut client = ClientSession::new(ClientConfig::new("example.com"), [8; 32], now);
    let t = client.poll_transmit(now).unwrap();
    client.handle_response(now, t.id, HttpOutcome::Ok(XEP0206_CREATION.into()));
    let Some(ClientEvent::Connected(params)) = client.poll_event() else {
        panic!()
    };
    assert!(params.restart_logic);
    assert_eq!(params.authid.as_deref(), Some("ServerStreamID"));
    assert!(!params.acks, "the connection manager sent no ack");
    let Some(ClientEvent::Payload(features)) = client.poll_event() else {
        panic!()
    };
    assert!(features.bytes.starts_with(b"<stream:features>"));
    // The payload parses alone once the body's declarations are added.
    assert_eq!(features.namespaces[0].0, "stream");
    assert!(zxmpp_xml::parse_document(&features.bytes, &zxmpp_xml::Config::default()).is_err());
    let standalone = features.standalone();
    let root = zxmpp_xml::parse_document(&standalone, &zxmpp_xml::Config::default()).unwrap();
    assert!(root.is("features", "http://etherx.jabber.org/streams"));
    assert_eq!(root.children().count(), 1);
}

#[test]
fn xep0206_5_restart_request() {
    let spec = parse(
        "<body rid='1573741824'
      sid='SomeSID'
      to='example.com'
      xml:lang='en'
      xmpp:restart='true'
      xmlns='http://jabber.org/protocol/httpbind'
      xmlns:xmpp='urn:xmpp:xbosh'/>",
    );
    assert_eq!(spec.body.xmpp_restart, Some(true));
    let now = Instant::now();
    let mut client = connected_client(now);
    let poll = client.poll_transmit(now).unwrap();
    client.restart().unwrap();
    client
        .send(&b"<iq xmlns='jabber:client' id='bind_1' type='set'/>"[..])
        .unwrap();
    let restart = client.poll_transmit(now).unwrap();
    let b = Body::parse(&restart.body, &Limits::default()).unwrap();
    assert_eq!(b.body.xmpp_restart, Some(true));
    assert_eq!(b.body.to.as_deref(), Some("example.com"));
    assert_eq!(b.body.lang.as_deref(), Some("en"));
    assert_eq!(b.body.sid.as_deref(), Some("SomeSID"));
    assert!(b.is_empty());
    assert_eq!(restart.id.rid().get(), poll.id.rid().get() + 1);
    // `requests`=2 are in flight: the bind request waits for an answer.
    assert!(client.poll_transmit(now).is_none());
    client.handle_response(
        now,
        poll.id,
        HttpOutcome::Ok("<body xmlns='http://jabber.org/protocol/httpbind'/>".into()),
    );
    let bind = client.poll_transmit(now).unwrap();
    assert!(
        Body::parse(&bind.body, &Limits::default())
            .unwrap()
            .payload_bytes()
            .next()
            .unwrap()
            .starts_with(b"<iq")
    );
}

#[test]
fn unknown_attributes_and_conditions_round_trip() {
    let xml = "<body rid='5' condition='brand-new' type='odd' foo='b&amp;r' xmlns='http://jabber.org/protocol/httpbind' xmlns:x='urn:x' x:y='z'/>";
    let p = parse(xml);
    assert_eq!(
        p.body.condition,
        Some(Condition::Other("brand-new".to_owned()))
    );
    assert_eq!(p.body.kind, Some(BodyType::Other("odd".to_owned())));
    assert_eq!(
        p.body.other_attributes,
        [
            ("foo".to_owned(), "b&r".to_owned()),
            ("x:y".to_owned(), "z".to_owned())
        ]
    );
    let written = p.body.to_bytes([]);
    let again = Body::parse(&written, &Limits::default()).unwrap();
    assert_eq!(again.body, p.body);
}

#[test]
fn limits_are_enforced() {
    let big = format!(
        "<body xmlns='http://jabber.org/protocol/httpbind'>{}</body>",
        "<a/>".repeat(10)
    );
    assert!(matches!(
        Body::parse(big.as_bytes(), &Limits::default().with_max_payloads(9)),
        Err(zxmpp_bosh::Error::TooManyPayloads { limit: 9 })
    ));
    assert!(matches!(
        Body::parse(big.as_bytes(), &Limits::default().with_max_body_size(20)),
        Err(zxmpp_bosh::Error::BodyTooLarge { .. })
    ));
    assert!(matches!(
        Body::parse(
            b"<body xmlns='http://jabber.org/protocol/httpbind'>text</body>",
            &Limits::default()
        ),
        Err(zxmpp_bosh::Error::TextInBody { .. })
    ));
    assert!(matches!(
        Body::parse(b"<nobody/>", &Limits::default()),
        Err(zxmpp_bosh::Error::NotBody)
    ));
    assert!(matches!(
        Body::parse(b"<body xmlns='x'", &Limits::default()),
        Err(zxmpp_bosh::Error::Xml { .. })
    ));
}

//! A client session and a connection-manager session joined in memory (no faults): whole flows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zxmpp_bosh::{
    ClientConfig, ClientEvent, ClientSession, CmConfig, CmEvent, CmSession, CmTermination, HttpId,
    HttpOutcome, RequestId, Termination,
};

struct Pair {
    now: Instant,
    client: ClientSession,
    cm: Option<CmSession>,
    config: CmConfig,
    ids: HashMap<HttpId, RequestId>,
    next: u64,
    client_events: Vec<ClientEvent>,
    cm_events: Vec<CmEvent>,
}

impl Pair {
    fn new(client: ClientConfig, config: CmConfig) -> Self {
        let now = Instant::now();
        let mut pair = Self {
            now,
            client: ClientSession::new(client, [3; 32], now),
            cm: None,
            config,
            ids: HashMap::new(),
            next: 0,
            client_events: Vec::new(),
            cm_events: Vec::new(),
        };
        pair.drive();
        pair
    }

    /// Moves requests and responses until nothing moves.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit(self.now) {
                let http = HttpId(self.next);
                self.next += 1;
                self.ids.insert(http, t.id);
                match &mut self.cm {
                    Some(cm) => cm.handle_request(self.now, http, &t.body),
                    None => {
                        let cm = CmSession::accept(
                            self.now,
                            self.config.clone(),
                            "S".into(),
                            [4; 32],
                            http,
                            &t.body,
                        );
                        self.cm = Some(cm.unwrap());
                    }
                }
                moved = true;
            }
            let cm = self.cm.as_mut().unwrap();
            while let Some(r) = cm.poll_transmit() {
                self.client
                    .handle_response(self.now, self.ids[&r.http], HttpOutcome::Ok(r.body));
                moved = true;
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            self.cm_events
                .extend(std::iter::from_fn(|| cm.poll_event()));
            if !moved {
                break;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.cm.as_mut().unwrap().handle_timeout(self.now);
        self.drive();
    }

    fn cm(&mut self) -> &mut CmSession {
        self.cm.as_mut().unwrap()
    }

    fn payloads_at_client(&self) -> Vec<Bytes> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Payload(p) => Some(p.bytes.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn xep0206_5_sasl_then_restart() {
    let mut pair = Pair::new(ClientConfig::new("example.com"), CmConfig::default());
    let now = pair.now;
    pair.cm()
        .send(now, None, &b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>"[..])
        .unwrap();
    pair.drive();
    assert!(pair.payloads_at_client()[0].starts_with(b"<stream:features>"));
    pair.client.send(&b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>"[..]).unwrap();
    pair.drive();
    pair.cm()
        .send(
            now,
            None,
            &b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"[..],
        )
        .unwrap();
    pair.drive();
    pair.client.restart().unwrap();
    pair.client
        .send(&b"<iq id='bind_1' type='set' xmlns='jabber:client'/>"[..])
        .unwrap();
    pair.drive();
    let restart_at = pair
        .cm_events
        .iter()
        .position(|e| matches!(e, CmEvent::Restart { .. }))
        .expect("restart");
    let bind_at = pair
        .cm_events
        .iter()
        .position(
            |e| matches!(e, CmEvent::Payloads { payloads, .. } if payloads[0].starts_with(b"<iq")),
        )
        .expect("bind request forwarded");
    assert!(
        restart_at < bind_at,
        "payloads sent after restart() follow the restart"
    );
}

#[test]
fn xep0124_10_pause_outlasts_inactivity_and_survives_a_snapshot() {
    let mut config = CmConfig::default();
    config.inactivity = 30;
    let mut pair = Pair::new(ClientConfig::new("example.com"), config);
    pair.client.pause(100).unwrap();
    pair.drive();
    assert!(
        pair.client_events
            .contains(&ClientEvent::Paused { secs: 100 })
    );
    // The page changes: the client is saved, and comes back 90 s later (more than `inactivity`).
    let saved = serde_json::to_string(&pair.client.snapshot()).unwrap();
    let now = pair.now;
    pair.cm()
        .send(
            now + Duration::from_secs(10),
            None,
            &b"<message xmlns='jabber:client'/>"[..],
        )
        .unwrap();
    pair.now += Duration::from_secs(90);
    pair.cm.as_mut().unwrap().handle_timeout(pair.now);
    assert!(!pair.cm().is_closed(), "within the pause");
    pair.client = ClientSession::restore(serde_json::from_str(&saved).unwrap(), pair.now).unwrap();
    pair.client.resume(pair.now);
    pair.drive();
    assert_eq!(
        pair.payloads_at_client(),
        [&b"<message xmlns='jabber:client'/>"[..]]
    );
    // Back to normal: the next silence longer than `inactivity` without a request ends the session.
    assert!(!pair.cm().is_closed());
}

#[test]
fn xep0124_10_pause_too_long_ends_the_session() {
    let mut config = CmConfig::default();
    config.inactivity = 30;
    let mut pair = Pair::new(ClientConfig::new("example.com"), config);
    pair.client.pause(40).unwrap();
    pair.drive();
    pair.now += Duration::from_secs(41);
    let now = pair.now;
    pair.cm().handle_timeout(now);
    pair.drive();
    assert!(
        pair.cm_events
            .contains(&CmEvent::Terminated(CmTermination::Inactivity))
    );
    pair.client.resume(now);
    pair.drive();
    assert!(matches!(
        pair.client_events.last(),
        Some(ClientEvent::Terminated(Termination::Condition { .. }))
    ));
}

#[test]
fn xep0124_13_terminate_end_to_end() {
    let mut pair = Pair::new(ClientConfig::new("example.com"), CmConfig::default());
    pair.client
        .send(&b"<presence type='unavailable' xmlns='jabber:client'/>"[..])
        .unwrap();
    pair.client.terminate().unwrap();
    pair.drive();
    assert_eq!(
        pair.client_events.last(),
        Some(&ClientEvent::Terminated(Termination::Closed))
    );
    assert_eq!(
        pair.cm_events.last(),
        Some(&CmEvent::Terminated(CmTermination::ByClient))
    );
    assert!(
        pair.cm_events
            .iter()
            .any(|e| matches!(e, CmEvent::Payloads { .. }))
    );
}

#[test]
fn xep0124_16_second_stream_end_to_end() {
    let mut pair = Pair::new(ClientConfig::new("example.com"), CmConfig::default());
    pair.client.add_stream("other.example", None, None).unwrap();
    pair.drive();
    let Some(ClientEvent::StreamAdded { stream, .. }) = pair
        .client_events
        .iter()
        .find(|e| matches!(e, ClientEvent::StreamAdded { .. }))
        .cloned()
    else {
        panic!("no stream added")
    };
    assert_eq!(pair.cm().streams().len(), 2);
    pair.client.send_to(&stream, &b"<m/>"[..]).unwrap();
    pair.drive();
    assert!(pair.cm_events.contains(&CmEvent::Payloads {
        stream: Some(stream.clone()),
        payloads: vec![b"<m/>"[..].into()]
    }));
    let now = pair.now;
    pair.cm().send(now, Some(&stream), &b"<r/>"[..]).unwrap();
    pair.drive();
    assert!(
        pair.client_events
            .iter()
            .any(|e| matches!(e, ClientEvent::Payload(p) if p.stream.as_deref() == Some(&*stream)))
    );
    pair.client.close_stream(&stream).unwrap();
    pair.drive();
    assert!(pair.cm_events.contains(&CmEvent::StreamClosed {
        stream: stream.clone()
    }));
    assert!(pair.client_events.contains(&ClientEvent::StreamClosed {
        stream,
        condition: None
    }));
    assert!(!pair.client.is_terminated());
}

#[test]
fn idle_session_long_polls_within_wait() {
    let mut pair = Pair::new(
        ClientConfig::new("example.com").with_wait(30),
        CmConfig::default(),
    );
    for _ in 0..10 {
        pair.advance(Duration::from_secs(30));
        assert!(!pair.client.is_terminated());
        assert!(!pair.cm().is_closed());
        assert_eq!(
            pair.client.in_flight(),
            1,
            "one request held at the connection manager"
        );
    }
}

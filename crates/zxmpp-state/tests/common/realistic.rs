//! A realistic client snapshot for fixtures, benches and fuzz seeds (shared by path with `benches/`).

#![allow(dead_code)]

use std::time::Instant;

use zxmpp_bosh::{Announce, ClientConfig, ClientSession, CmConfig, CmSession, HttpId, HttpOutcome};
use zxmpp_caps::{Algorithm, CacheSnapshot, DiscoInfo, Identity, Scheme, VerKey};
use zxmpp_state::{
    ClientSnapshot, IqPurpose, PendingIq, Phase, QueuedStanza, Roster, RosterItem, Settings,
    StreamManagement, TransportSnapshot,
};

/// A BOSH client session created with an in-memory connection manager, with `unanswered` requests
/// carrying message payloads left unanswered.
pub(crate) fn bosh_session(now: Instant, unanswered: usize) -> zxmpp_bosh::ClientSnapshot {
    let mut client = ClientSession::new(ClientConfig::new("im.example.com"), [7; 32], now);
    let first = client.poll_transmit(now).expect("creation request");
    let mut cm = CmSession::accept(
        now,
        CmConfig::default(),
        "sid-1".into(),
        [9; 32],
        HttpId(0),
        &first.body,
    )
    .expect("cm accepts");
    cm.announce(
        now,
        Announce::new(Some("im.example.com".into()), None, Some("1.0".into())),
    );
    while let Some(response) = cm.poll_transmit() {
        client.handle_response(now, first.id, HttpOutcome::Ok(response.body));
    }
    while client.poll_event().is_some() {}
    let mut left = unanswered;
    let mut n = 0;
    while left > 0 {
        let payload = format!(
            "<message xmlns='jabber:client' to='romeo@example.net' id='b{n}' type='chat'><body>Request {n}: \
             wherefore art thou Romeo?</body></message>"
        );
        n += 1;
        client.send(payload.into_bytes()).expect("send");
        while client.poll_transmit(now).is_some() {
            left = left.saturating_sub(1);
        }
        if n > unanswered * 4 + 8 {
            break;
        }
    }
    client.snapshot()
}

/// `n` verified caps entries, each a plausible client's disco#info.
pub(crate) fn caps_cache(n: usize) -> CacheSnapshot {
    let verified = (0..n)
        .map(|i| {
            let key = VerKey {
                scheme: if i % 5 == 0 {
                    Scheme::Xep0390
                } else {
                    Scheme::Xep0115
                },
                algo: if i % 5 == 0 {
                    Algorithm::Sha256
                } else {
                    Algorithm::Sha1
                },
                value: format!("{:0>27}=", format!("{i:x}")),
            };
            let mut info = DiscoInfo::new().with_identity(
                Identity::new("client", if i % 3 == 0 { "phone" } else { "pc" })
                    .with_name(format!("Client {i}")),
            );
            for f in [
                "http://jabber.org/protocol/caps",
                "http://jabber.org/protocol/disco#info",
                "http://jabber.org/protocol/disco#items",
                "http://jabber.org/protocol/muc",
                "http://jabber.org/protocol/chatstates",
                "urn:xmpp:receipts",
                "urn:xmpp:ping",
                "jabber:iq:version",
            ] {
                info = info.with_feature(f);
            }
            (key, info)
        })
        .collect();
    CacheSnapshot {
        version: zxmpp_caps::SNAPSHOT_VERSION,
        verified,
        legacy: Vec::new(),
    }
}

/// A snapshot of a client online over BOSH with stream management.
pub(crate) fn snapshot(
    now: Instant,
    roster: usize,
    caps: usize,
    queued: usize,
    bosh_unanswered: usize,
) -> ClientSnapshot {
    let mut settings = Settings::new("juliet@im.example.com", [42; 32]);
    settings.resource = Some("balcony".into());
    let stanza = |i: usize| QueuedStanza {
        id: Some(format!("q{i}")),
        xml: format!(
            "<message type='chat' id='q{i}' to='romeo@example.net'><body>Queued message number {i}, &amp; more \
             text to make it the size of a real one.</body></message>"
        ),
    };
    ClientSnapshot {
        taken_at_ms: Some(1_764_000_000_000),
        settings,
        phase: Phase::Online,
        bound_jid: Some("juliet@im.example.com/balcony".into()),
        stream_management: Some(StreamManagement {
            id: Some("sm-1".into()),
            location: None,
            max_secs: Some(300),
            inbound: 17,
            acked: 40,
            unacked: (0..queued).map(stanza).collect(),
        }),
        roster: Roster {
            version: Some(format!("ver-{roster}")),
            items: (0..roster)
                .map(|i| RosterItem {
                    jid: format!("contact{i}@example.net"),
                    name: Some(format!("Contact {i}")),
                    subscription: ["both", "to", "from", "none"][i % 4].into(),
                    ask: i % 7 == 0,
                    approved: false,
                    groups: vec![["Friends", "Family", "Work"][i % 3].into()],
                })
                .collect(),
        },
        caps_cache: caps_cache(caps),
        outbound: (queued..queued + queued / 10).map(stanza).collect(),
        pending_iqs: (0..5)
            .map(|i| PendingIq {
                id: format!("iq{i}"),
                to: Some("example.net".into()),
                purpose: if i == 0 {
                    IqPurpose::Roster
                } else {
                    IqPurpose::App
                },
                remaining_ms: 30_000 + i as u64,
            })
            .collect(),
        presence: Some("<presence><show>away</show></presence>".into()),
        counter: 1234,
        transport: Some(TransportSnapshot::Bosh(bosh_session(now, bosh_unanswered))),
    }
}

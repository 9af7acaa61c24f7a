//! The iChat AV glue without a server: the seed invitation, the reSIProcate ichat-gw examples, caps.
//!
//! Expected values come from outside the code under test: the captured invitation's candidates as the
//! Z-XMPP blog and `docs/apple-vc.md` give them, the ichat-gw address record decoded by hand
//! (`656e30` = "en0", `0a000105` = 10.0.1.5, `4012` = 16402), the XEP-0115 §5.2 example's `ver`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use zxmpp_caps::{Algorithm, CacheConfig, Caps, CapsCache, CapsEvent, DiscoInfo, Trust};
use zxmpp_client::ichat::{self, CallChange, Calls, Direction, OfferState, PeerAv, Signal};
use zxmpp_vc::VcQuery;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/ichat/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn seed_stanza(state: &str) -> String {
    // The blog lost the markup: an element with text `0`, then the hex (with gloox's leading line feed).
    format!(
        "<message from='alice@example.com/iChat' to='bob@example.com/zxmpp'><x xmlns='urn:example'><a>{state}</a><b>\n{}</b></x></message>",
        data("invite-seed.hex").trim()
    )
}

#[test]
fn seed_invitation_in_a_stanza_shows_both_candidates() {
    let Some(Signal::Invitation(inv)) = ichat::classify(&seed_stanza("0")) else {
        panic!("not an invitation")
    };
    assert_eq!(inv.state, OfferState::Offer);
    assert_eq!(inv.session_id, Some(473_648_504));
    let shown: Vec<String> = inv.candidates.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["en1 192.168.1.132:16402", "external 93.139.37.211:49958"]
    );
    let lines = Signal::Invitation(inv.clone()).describe();
    assert!(
        lines.contains(&"candidate en1 192.168.1.132:16402".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"candidate external 93.139.37.211:49958".to_owned()),
        "{lines:?}"
    );
    // The complement records are there too, marked as such.
    assert!(
        inv.records
            .iter()
            .any(|c| c.complement && c.to_string() == "en1~ 63.87.254.123:16402")
    );
}

#[test]
fn seed_invitation_cancel_removes_the_incoming_call() {
    let mut calls = Calls::new();
    let offer = ichat::classify(&seed_stanza("0")).unwrap();
    assert!(matches!(
        calls.handle_signal("alice@example.com/iChat", &offer),
        Some(CallChange::Offered(_))
    ));
    assert!(calls.in_call());
    let cancel = ichat::classify(&seed_stanza("1")).unwrap();
    let Signal::Invitation(inv) = &cancel else {
        panic!()
    };
    assert_eq!(inv.state, OfferState::Cancel);
    assert!(matches!(
        calls.handle_signal("alice@example.com/iChat", &cancel),
        Some(CallChange::Cancelled(_))
    ));
    assert!(!calls.in_call());
}

fn en0() -> String {
    "address en0 10.0.1.5:16402".to_owned()
}

#[test]
fn ichat_gw_examples_round_trip() {
    for (file, first) in [
        (
            "ichat-gw-request.xml",
            "vc request (audio only) external 127.0.0.1:0",
        ),
        ("ichat-gw-response-accept.xml", "vc response Accept"),
        ("ichat-gw-response-decline.xml", "vc response Decline"),
        ("ichat-gw-cancel.xml", "vc cancel"),
        ("ichat-gw-counterproposal.xml", "vc counterProposal"),
    ] {
        let xml = data(file);
        let Some(Signal::Vc(query)) = ichat::classify(&xml) else {
            panic!("{file}")
        };
        let lines = Signal::Vc(query.clone()).describe();
        assert_eq!(lines.first().map(String::as_str), Some(first), "{file}");
        let with_address = !matches!(query, VcQuery::Cancel(_)) && !file.contains("decline");
        assert_eq!(lines.contains(&en0()), with_address, "{file}: {lines:?}");
        assert_eq!(Signal::Vc(query.clone()).iq_answer(), Ok(()));
        // Written back and read again: the same query.
        let again = query.to_iq("x1", "bob@example.com/zxmpp", "alice@example.com/iChat");
        assert_eq!(ichat::classify(&again), Some(Signal::Vc(query)), "{file}");
    }
}

#[test]
fn unknown_and_malformed_payloads_are_answered_with_errors() {
    let unknown =
        ichat::classify("<query xmlns='apple:iq:vc:frobnicate'><x>1</x></query>").unwrap();
    assert!(matches!(unknown, Signal::UnknownVc { .. }));
    assert_eq!(unknown.iq_answer(), Err("service-unavailable"));
    let bad = ichat::classify(
        "<query xmlns='apple:iq:vc:response'><response>zero</response><VCProtocolVersion>1</VCProtocolVersion></query>",
    )
    .unwrap();
    assert!(matches!(bad, Signal::Malformed(_)), "{bad:?}");
    assert_eq!(bad.iq_answer(), Err("bad-request"));
    // Hex of a bplist that is cut short: malformed, not a crash.
    let cut = ichat::classify("<message><x>62706c6973743030d5010203</x></message>").unwrap();
    assert!(matches!(cut, Signal::Malformed(_)), "{cut:?}");
    // Odd hex digits after the magic.
    let odd = ichat::classify("<message><x>62706c69737430303</x></message>").unwrap();
    assert!(matches!(odd, Signal::Malformed(_)), "{odd:?}");
    // Nothing iChat-related.
    assert_eq!(ichat::classify("<message><body>hi</body></message>"), None);
    assert_eq!(ichat::classify("<not xml"), None);
}

#[test]
fn offer_and_cancel_round_trip_between_two_sides() {
    let mut alice = Calls::new();
    let ours: Vec<(String, SocketAddr)> = vec![
        ("en0".into(), "10.1.2.3:16402".parse().unwrap()),
        ("external".into(), "203.0.113.7:50000".parse().unwrap()),
    ];
    let offer = alice
        .offer("bob@example.com", "alice@example.com/res", &ours, 42)
        .unwrap();
    assert!(offer.starts_with("<message to='bob@example.com'"));
    assert!(alice.in_call());
    assert!(!ichat::ext_bundles(alice.in_call()).contains(&"avavail"));
    let signal = ichat::classify(&offer).unwrap();
    let Signal::Invitation(inv) = &signal else {
        panic!()
    };
    assert_eq!(inv.inviter.as_deref(), Some("alice@example.com"));
    let shown: Vec<String> = inv.candidates.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["en0 10.1.2.3:16402", "external 203.0.113.7:50000"]);

    let mut bob = Calls::new();
    let Some(CallChange::Offered(call)) = bob.handle_signal("alice@example.com/res", &signal)
    else {
        panic!()
    };
    assert_eq!(call.direction, Direction::Incoming);
    assert_eq!(call.session_id, Some(42));

    // Bob's call state survives serialization (the reference client's state file).
    let saved = serde_json::to_string(&bob).unwrap();
    let mut bob: Calls = serde_json::from_str::<Calls>(&saved)
        .unwrap()
        .validated()
        .unwrap();
    assert_eq!(bob.calls().len(), 1);
    let other_version = saved.replace("\"version\":1", "\"version\":99");
    assert!(
        serde_json::from_str::<Calls>(&other_version)
            .unwrap()
            .validated()
            .is_err()
    );

    let cancel = alice.cancel(Some("bob@example.com")).unwrap();
    assert!(!alice.in_call());
    assert!(ichat::ext_bundles(alice.in_call()).contains(&"avavail"));
    assert_eq!(alice.cancel(None), None);
    let Some(CallChange::Cancelled(gone)) =
        bob.handle_signal("alice@example.com/res", &ichat::classify(&cancel).unwrap())
    else {
        panic!()
    };
    assert_eq!(gone.session_id, Some(42));
    assert!(!bob.in_call());
}

#[test]
fn ext_bundles_are_the_twelve_of_ichat_5() {
    let mut all = ichat::ext_bundles(false);
    all.sort_unstable();
    let mut expected = [
        "ice", "recauth", "rdserver", "maudio", "audio", "rdclient", "mvideo", "auxvideo",
        "rdmuxing", "avcap", "avavail", "video",
    ];
    expected.sort_unstable();
    assert_eq!(all, expected);
    assert_eq!(ichat::ext_bundles(true).len(), 11);
}

fn cache() -> CapsCache {
    let mut c = CacheConfig::default();
    c.max_in_flight = 32;
    c.query_timeout = Duration::from_secs(10);
    CapsCache::new(c)
}

fn disco(node: &str, feature: &str) -> DiscoInfo<'static> {
    let xml = format!(
        "<query xmlns='http://jabber.org/protocol/disco#info' node='{node}'><feature var='{feature}'/></query>"
    );
    DiscoInfo::parse(xml.as_bytes()).unwrap().into_owned()
}

#[test]
fn legacy_ichat_peer_is_cached_per_node_and_unverifiable() {
    let t0 = Instant::now();
    let mut cache = cache();
    let jid = "alice@example.com/iChat";
    let caps = Caps {
        node: "apple:ichat:caps".into(),
        ver: "448".into(),
        hash: None,
        ext: Some("avavail avcap audio".into()),
    };
    cache.handle_caps(t0, jid, &caps);
    // Before any answer, the ext names alone show an iChat peer that can take a call.
    let early = PeerAv::of(&cache, jid, Some(&caps));
    assert!(early.ichat && early.can_call && early.trust.is_none());
    let mut nodes: Vec<String> = std::iter::from_fn(|| cache.poll_query())
        .map(|q| q.node)
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            "apple:ichat:caps#448",
            "apple:ichat:caps#audio",
            "apple:ichat:caps#avavail",
            "apple:ichat:caps#avcap"
        ]
    );
    for (node, feature) in [
        ("apple:ichat:caps#448", "apple:profile:bundle-transfer"),
        ("apple:ichat:caps#avavail", "apple:iq:vc:available"),
        ("apple:ichat:caps#avcap", "apple:iq:vc:capable"),
        ("apple:ichat:caps#audio", "apple:iq:vc:audio"),
    ] {
        assert!(cache.handle_disco_info(t0, jid, node, &disco(node, feature)));
    }
    let events: Vec<CapsEvent> = std::iter::from_fn(|| cache.poll_event()).collect();
    let cached: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            CapsEvent::LegacyCached { node, .. } => Some(node.as_str()),
            _ => None,
        })
        .collect();
    assert!(cached.contains(&"apple:ichat:caps#avavail"), "{events:?}");
    assert_eq!(cached.len(), 4, "{events:?}");
    // Another iChat advertising the same ext reuses the cached node: nothing asked.
    cache.handle_caps(
        t0,
        "carol@example.com/iChat",
        &Caps {
            ext: Some("avavail".into()),
            ..caps.clone()
        },
    );
    assert_eq!(cache.poll_query(), None);
    let peer = PeerAv::of(&cache, jid, Some(&caps));
    assert_eq!(peer.trust, Some(Trust::Legacy));
    assert!(peer.ichat && peer.can_call && peer.av_capable && peer.complete);
    assert!(peer.to_string().contains("unverifiable"), "{peer}");
    let carol = PeerAv::of(&cache, "carol@example.com/iChat", None);
    assert!(carol.ichat && carol.can_call, "{carol:?}");
}

#[test]
fn xep0115_5_2_hashed_peer_is_verified_and_not_ichat() {
    let t0 = Instant::now();
    let mut cache = cache();
    let jid = "romeo@montague.lit/orchard";
    let caps = Caps {
        node: "http://code.google.com/p/exodus".into(),
        ver: "QgayPKawpkPSDYmwT/WM94uAlu0=".into(),
        hash: Some(Algorithm::Sha1),
        ext: None,
    };
    cache.handle_caps(t0, jid, &caps);
    let q = cache.poll_query().unwrap();
    let info = DiscoInfo::parse(data("xep0115-simple.xml").as_bytes())
        .unwrap()
        .into_owned();
    assert!(cache.handle_disco_info(t0, jid, &q.node, &info));
    let peer = PeerAv::of(&cache, jid, Some(&caps));
    assert_eq!(peer.trust, Some(Trust::Verified));
    assert!(!peer.ichat && !peer.can_call);
    assert_eq!(peer.to_string(), "not iChat AV");
}

mod props {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

    use proptest::prelude::*;
    use zxmpp_client::ichat::{self, Calls, Signal};

    fn candidate() -> impl Strategy<Value = (String, SocketAddr)> {
        let ip = prop_oneof![
            any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        ];
        ("[a-z]{1,8}[0-9]?", ip, 1u16..)
            .prop_map(|(name, ip, port)| (name, SocketAddr::new(ip, port)))
    }

    proptest! {
        /// Any offer this client builds is read back by the receiving side with the same candidates and
        /// session, and its withdrawal is recognised as such.
        #[test]
        fn offer_classify_round_trip(
            cands in proptest::collection::vec(candidate(), 1..4),
            session in 0i64..i64::from(u32::MAX),
        ) {
            let mut calls = Calls::new();
            let offer = calls.offer("bob@example.com/x", "alice@example.com/y", &cands, session).unwrap();
            let Some(Signal::Invitation(inv)) = ichat::classify(&offer) else { panic!("{offer}") };
            prop_assert_eq!(inv.session_id, Some(session));
            let got: Vec<(String, Option<SocketAddr>)> =
                inv.candidates.iter().map(|c| (c.interface.clone(), c.addr)).collect();
            let want: Vec<(String, Option<SocketAddr>)> =
                cands.iter().map(|(i, a)| (i.clone(), Some(*a))).collect();
            prop_assert_eq!(got, want);
            let cancel = calls.cancel(None).unwrap();
            let Some(Signal::Invitation(c)) = ichat::classify(&cancel) else { panic!("{cancel}") };
            prop_assert_eq!(c.state, ichat::OfferState::Cancel);
        }

        /// Arbitrary text in a message never panics the classifier.
        #[test]
        fn classify_never_panics(text in ".{0,200}", hexish in "[0-9a-f]{0,120}") {
            let _ = ichat::classify(&text);
            let _ = ichat::classify(&format!("<message><x>62706c6973743030{hexish}</x></message>"));
            let _ = ichat::classify(&format!("<query xmlns='apple:iq:vc:request'><VCNewCallerIPPortData>{hexish}</VCNewCallerIPPortData></query>"));
        }
    }
}

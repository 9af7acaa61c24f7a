//! The sans-IO caps cache: verification, poisoning, ill-formed replies, bounds, retries, legacy and iChat
//! nodes, XEP-0390 hash sets, persistence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use zxmpp_caps::{
    Algorithm, CacheConfig, CacheSnapshot, Caps, CapsCache, CapsEvent, CapsHashSet, CapsQuery,
    DiscoInfo, Error, ICHAT_NODE, IllFormed, LegacyProfile, SNAPSHOT_VERSION, Trust,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn exodus() -> DiscoInfo<'static> {
    DiscoInfo::parse(&data("xep0115-simple.xml"))
        .unwrap()
        .into_owned()
}

/// The XEP-0115 §5.2 presence: node and ver as the spec gives them (not computed here).
fn exodus_caps() -> Caps<'static> {
    Caps {
        node: "http://code.google.com/p/exodus".into(),
        ver: "QgayPKawpkPSDYmwT/WM94uAlu0=".into(),
        hash: Some(Algorithm::Sha1),
        ext: None,
    }
}

fn config() -> CacheConfig {
    let mut c = CacheConfig::default();
    c.max_in_flight = 2;
    c.query_timeout = Duration::from_secs(10);
    c.retry_base = Duration::from_secs(60);
    c
}

fn queries(cache: &mut CapsCache) -> Vec<CapsQuery> {
    std::iter::from_fn(|| cache.poll_query()).collect()
}

fn events(cache: &mut CapsCache) -> Vec<CapsEvent> {
    std::iter::from_fn(|| cache.poll_event()).collect()
}

#[test]
fn xep0115_5_4_verified_and_shared_by_other_entities() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    cache.handle_caps(t0, "a@x/1", &exodus_caps());
    let q = queries(&mut cache);
    assert_eq!(
        q,
        vec![CapsQuery {
            jid: "a@x/1".into(),
            node: "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=".into()
        }]
    );
    assert!(cache.lookup("a@x/1").is_none());
    assert!(cache.handle_disco_info(t0, &q[0].jid, &q[0].node, &exodus()));
    assert!(matches!(&events(&mut cache)[..], [CapsEvent::Verified { jid, .. }] if jid == "a@x/1"));
    let caps = cache.lookup("a@x/1").unwrap();
    assert_eq!(caps.trust, Trust::Verified);
    assert!(caps.has_feature("http://jabber.org/protocol/muc"));
    // Another entity with the same ver is answered from the cache, no query.
    cache.handle_caps(t0, "b@x/2", &exodus_caps());
    assert!(queries(&mut cache).is_empty());
    assert!(cache.lookup("b@x/2").is_some());
    // A reply nobody asked for is ignored.
    assert!(!cache.handle_disco_info(t0, "c@x/3", "n#v", &exodus()));
}

#[test]
fn xep0115_8_4_poisoned_reply_refused_and_asked_again() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    // Mallory advertises Exodus's ver but answers with a feature list of her own.
    cache.handle_caps(t0, "mallory@x/1", &exodus_caps());
    let q = queries(&mut cache);
    let mut forged = exodus();
    forged.features.push("urn:example:evil".into());
    assert!(cache.handle_disco_info(t0, &q[0].jid, &q[0].node, &forged));
    match &events(&mut cache)[..] {
        [CapsEvent::Poisoned { jid, key, computed }] => {
            assert_eq!(jid, "mallory@x/1");
            assert_eq!(key.value, "QgayPKawpkPSDYmwT/WM94uAlu0=");
            assert_ne!(computed, &key.value);
        }
        other => panic!("{other:?}"),
    }
    assert!(cache.lookup("mallory@x/1").is_none());
    assert!(cache.is_empty());
    // Asked again later, not now.
    assert_eq!(cache.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    cache.handle_timeout(t0 + Duration::from_secs(30));
    assert!(queries(&mut cache).is_empty());
    // An honest entity advertises the same ver: the retry goes to it first.
    cache.handle_caps(t0 + Duration::from_secs(31), "alice@x/1", &exodus_caps());
    assert!(queries(&mut cache).is_empty(), "still backing off");
    let t1 = t0 + Duration::from_secs(60);
    cache.handle_timeout(t1);
    let q = queries(&mut cache);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].jid, "alice@x/1");
    assert!(cache.handle_disco_info(t1, &q[0].jid, &q[0].node, &exodus()));
    assert!(matches!(
        &events(&mut cache)[..],
        [CapsEvent::Verified { .. }]
    ));
    // The verified value now serves Mallory too: what she advertised is what Exodus really is.
    assert!(
        !cache
            .lookup("mallory@x/1")
            .unwrap()
            .has_feature("urn:example:evil")
    );
}

#[test]
fn xep0115_5_4_ill_formed_reply_never_cached() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    cache.handle_caps(t0, "a@x/1", &exodus_caps());
    let q = queries(&mut cache);
    let mut dup = exodus();
    dup.features.push("http://jabber.org/protocol/muc".into());
    assert!(cache.handle_disco_info(t0, &q[0].jid, &q[0].node, &dup));
    assert!(matches!(
        &events(&mut cache)[..],
        [CapsEvent::IllFormed { reason: IllFormed::DuplicateFeature(f), .. }] if f == "http://jabber.org/protocol/muc"
    ));
    assert!(cache.is_empty());
}

#[test]
fn bounded_in_flight_and_timeouts_with_backoff() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    for i in 0..5 {
        let mut c = exodus_caps();
        // Distinct (well-formed SHA-1 length) values.
        c.ver = [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "BAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "CAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "DAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "EAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ][i]
            .into();
        cache.handle_caps(t0, &format!("u{i}@x/r"), &c);
    }
    let first = queries(&mut cache);
    assert_eq!(first.len(), 2, "max_in_flight");
    assert_eq!(cache.in_flight(), 2);
    assert_eq!(cache.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    // An error reply frees a slot: the next one goes out.
    assert!(cache.handle_disco_error(t0, &first[0].jid, &first[0].node));
    assert_eq!(queries(&mut cache).len(), 1);
    // The rest time out.
    let t1 = t0 + Duration::from_secs(10);
    cache.handle_timeout(t1);
    let failed = events(&mut cache)
        .into_iter()
        .filter(|e| matches!(e, CapsEvent::QueryFailed { .. }))
        .count();
    assert_eq!(failed, 3);
    assert_eq!(queries(&mut cache).len(), 2, "the two never asked go out");
}

#[test]
fn unknown_hash_answer_kept_for_that_entity_only() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    let mut c = exodus_caps();
    c.hash = Some(Algorithm::from_name("md2"));
    cache.handle_caps(t0, "a@x/1", &c);
    let q = queries(&mut cache);
    assert!(cache.handle_disco_info(t0, &q[0].jid, &q[0].node, &exodus()));
    assert!(matches!(
        &events(&mut cache)[..],
        [CapsEvent::JidOnly { .. }]
    ));
    assert_eq!(cache.lookup("a@x/1").unwrap().trust, Trust::JidOnly);
    cache.handle_caps(t0, "b@x/1", &c);
    assert!(cache.lookup("b@x/1").is_none());
    assert!(cache.snapshot().verified.is_empty());
}

#[test]
fn legacy_ichat_ext_nodes_cached_per_node() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    let ichat = LegacyProfile::ichat("448");
    let caps = ichat.caps();
    assert!(caps.is_legacy());
    assert_eq!(caps.node, ICHAT_NODE);
    cache.handle_caps(t0, "ichat@x/r", &caps);
    let mut asked = Vec::new();
    loop {
        let q = queries(&mut cache);
        if q.is_empty() {
            break;
        }
        for query in q {
            let answer = ichat.answer(Some(&query.node)).unwrap();
            assert!(cache.handle_disco_info(t0, &query.jid, &query.node, &answer));
            asked.push(query.node);
        }
    }
    asked.sort();
    assert_eq!(
        asked,
        [
            "apple:ichat:caps#448",
            "apple:ichat:caps#audio",
            "apple:ichat:caps#avavail",
            "apple:ichat:caps#avcap",
            "apple:ichat:caps#maudio",
            "apple:ichat:caps#mvideo",
            "apple:ichat:caps#video",
        ]
    );
    assert!(
        events(&mut cache)
            .iter()
            .all(|e| matches!(e, CapsEvent::LegacyCached { .. }))
    );
    let known = cache.lookup("ichat@x/r").unwrap();
    assert_eq!(known.trust, Trust::Legacy);
    assert!(known.complete);
    assert!(known.has_feature("apple:iq:vc:audio"));
    // During a call iChat drops avavail: the cached bundles serve the new presence without queries.
    let mut busy = LegacyProfile::ichat("448");
    busy.set_active(&["avcap", "audio", "video", "maudio", "mvideo"]);
    cache.handle_caps(t0, "ichat@x/r", &busy.caps());
    assert!(queries(&mut cache).is_empty());
    assert!(
        !cache
            .lookup("ichat@x/r")
            .unwrap()
            .has_feature("apple:iq:vc:available")
    );
}

#[test]
fn xep0390_hash_set_verified() {
    // The presence <c/> of XEP-0390 §6.4, and the reply of its §6.5 (the complex example).
    let c = br#"<c xmlns="urn:xmpp:caps">
    <hash xmlns="urn:xmpp:hashes:2" algo="sha-256">u79ZroNJbdSWhdSp311mddz44oHHPsEBntQ5b1jqBSY=</hash>
    <hash xmlns="urn:xmpp:hashes:2" algo="sha3-256">XpUJzLAc93258sMECZ3FJpebkzuyNXDzRNwQog8eycg=</hash>
  </c>"#;
    let set = CapsHashSet::parse(c).unwrap();
    let bytes = data("xep0390-complex.xml");
    let reply = DiscoInfo::parse(&bytes).unwrap();
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    cache.handle_hash_set(t0, "juliet@capulet.lit/chamber", &set);
    let q = queries(&mut cache);
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].node,
        "urn:xmpp:caps#sha3-256.XpUJzLAc93258sMECZ3FJpebkzuyNXDzRNwQog8eycg="
    );
    assert!(cache.handle_disco_info(t0, &q[0].jid, &q[0].node, &reply));
    assert!(matches!(
        &events(&mut cache)[..],
        [CapsEvent::Verified { .. }]
    ));
    assert!(
        cache
            .lookup("juliet@capulet.lit/chamber")
            .unwrap()
            .has_feature("games:board")
    );
}

#[test]
fn bounded_entries_evict_least_recently_used() {
    let mut c = config();
    c.max_entries = 2;
    c.max_in_flight = 8;
    let t0 = Instant::now();
    let mut cache = CapsCache::new(c);
    for (i, name) in ["A", "B", "C"].iter().enumerate() {
        let info = DiscoInfo::new().with_feature(format!("urn:{name}"));
        let caps = Caps::for_info("n", &info, Algorithm::Sha1).unwrap();
        let jid = format!("{i}@x/r");
        cache.handle_caps(t0, &jid, &caps);
        for q in queries(&mut cache) {
            assert!(cache.handle_disco_info(t0, &q.jid, &q.node, &info));
        }
    }
    assert_eq!(cache.len(), 2);
    assert!(cache.lookup("0@x/r").is_none(), "oldest evicted");
    assert!(cache.lookup("2@x/r").is_some());
}

#[test]
fn snapshot_round_trip_and_version_check() {
    let t0 = Instant::now();
    let mut cache = CapsCache::new(config());
    cache.handle_caps(t0, "a@x/1", &exodus_caps());
    let q = queries(&mut cache);
    assert!(cache.handle_disco_info(t0, &q[0].jid, &q[0].node, &exodus()));
    let json = serde_json::to_string(&cache.snapshot()).unwrap();
    let snapshot: CacheSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(snapshot.version, SNAPSHOT_VERSION);
    let mut restored = CapsCache::restore(config(), snapshot.clone()).unwrap();
    assert_eq!(restored.snapshot(), cache.snapshot());
    // After a restart, a presence with the known ver needs no query.
    restored.handle_caps(t0, "b@x/1", &exodus_caps());
    assert!(restored.poll_query().is_none());
    assert_eq!(restored.lookup("b@x/1").unwrap().trust, Trust::Verified);
    let mut old = snapshot;
    old.version = 99;
    assert!(matches!(
        CapsCache::restore(config(), old),
        Err(Error::UnsupportedSnapshotVersion {
            found: 99,
            supported: SNAPSHOT_VERSION
        })
    ));
}

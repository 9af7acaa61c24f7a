//! Snapshot compatibility, versioning, integrity and the atomic file store.

mod common;

use std::time::Instant;

use common::realistic;
use proptest::prelude::*;
use zxmpp_state::{
    ClientSnapshot, Encoding, Error, FileStore, Phase, QueuedStanza, TransportSnapshot,
};

/// Written by format version 1 (before `Settings::ichat_caps`): read through the migration.
const V1_JSON: &[u8] = include_bytes!("data/snapshot-v1.json");
const V1_BIN: &[u8] = include_bytes!("data/snapshot-v1.bin");
/// Written by format version 2, the current one.
const FIXTURE_JSON: &[u8] = include_bytes!("data/snapshot-v2.json");
const FIXTURE_BIN: &[u8] = include_bytes!("data/snapshot-v2.bin");

/// Writes the current version's fixtures. Run once per format version (`cargo test -p zxmpp-state --test
/// snapshot -- --ignored write_fixtures`) and commit the files; never regenerate an older version's fixtures.
#[test]
#[ignore = "writes the committed fixtures"]
fn write_fixtures() {
    let mut snapshot = realistic::snapshot(Instant::now(), 20, 10, 5, 2);
    snapshot.settings.ichat_caps = Some("448".into());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let v = zxmpp_state::FORMAT_VERSION;
    let json = snapshot.encode(Encoding::Json).unwrap();
    std::fs::write(dir.join(format!("snapshot-v{v}.json")), json).unwrap();
    let bin = snapshot.encode(Encoding::Binary).unwrap();
    std::fs::write(dir.join(format!("snapshot-v{v}.bin")), bin).unwrap();
}

fn check_fixture_contents(s: &ClientSnapshot) {
    assert_eq!(s.phase, Phase::Online);
    assert_eq!(s.settings.jid, "juliet@im.example.com");
    assert_eq!(
        s.bound_jid.as_deref(),
        Some("juliet@im.example.com/balcony")
    );
    let sm = s.stream_management.as_ref().unwrap();
    assert_eq!(
        (sm.id.as_deref(), sm.inbound, sm.acked, sm.unacked.len()),
        (Some("sm-1"), 17, 40, 5)
    );
    assert_eq!(s.roster.version.as_deref(), Some("ver-20"));
    assert_eq!(s.roster.items.len(), 20);
    assert_eq!(s.roster.items[0].jid, "contact0@example.net");
    assert_eq!(s.caps_cache.verified.len(), 10);
    assert_eq!(s.pending_iqs.len(), 5);
    assert_eq!(s.pending_iqs[1].remaining_ms, 30_001);
    let Some(TransportSnapshot::Bosh(bosh)) = &s.transport else {
        panic!("no BOSH session")
    };
    assert_eq!(bosh.format_version(), zxmpp_bosh::CLIENT_SNAPSHOT_VERSION);
    // The nested snapshots restore too.
    let bosh = zxmpp_bosh::ClientSession::restore(bosh.clone(), Instant::now()).unwrap();
    assert_eq!(bosh.sid(), Some("sid-1"));
    assert!(bosh.in_flight() > 0, "unanswered requests are kept");
    let caps =
        zxmpp_caps::CapsCache::restore(zxmpp_caps::CacheConfig::default(), s.caps_cache.clone())
            .unwrap();
    assert_eq!(caps.len(), 10);
}

#[test]
fn fixture_v1_json_still_loads() {
    let s = ClientSnapshot::decode(V1_JSON).unwrap();
    check_fixture_contents(&s);
    assert_eq!(s.settings.ichat_caps, None);
}

#[test]
fn fixture_v1_binary_still_loads() {
    let s = ClientSnapshot::decode(V1_BIN).unwrap();
    check_fixture_contents(&s);
    assert_eq!(s, ClientSnapshot::decode(V1_JSON).unwrap());
}

#[test]
fn fixture_v2_json_still_loads() {
    let s = ClientSnapshot::decode(FIXTURE_JSON).unwrap();
    check_fixture_contents(&s);
    assert_eq!(s.settings.ichat_caps.as_deref(), Some("448"));
}

#[test]
fn fixture_v2_binary_still_loads() {
    let s = ClientSnapshot::decode(FIXTURE_BIN).unwrap();
    check_fixture_contents(&s);
    assert_eq!(s, ClientSnapshot::decode(FIXTURE_JSON).unwrap());
}

#[test]
fn v1_migrates_to_the_same_snapshot_as_v2_but_for_the_new_field() {
    let mut v1 = ClientSnapshot::decode(V1_BIN).unwrap();
    let v2 = ClientSnapshot::decode(FIXTURE_BIN).unwrap();
    v1.settings.ichat_caps = Some("448".into());
    // The BOSH sessions differ only in the time-independent parts both fixtures fixed the same way.
    assert_eq!(v1.roster, v2.roster);
    assert_eq!(v1.settings, v2.settings);
    assert_eq!(v1.stream_management, v2.stream_management);
    assert_eq!(v1.caps_cache, v2.caps_cache);
    assert_eq!(v1.pending_iqs, v2.pending_iqs);
}

#[test]
fn fixtures_have_the_documented_headers() {
    // Binary: ZXST, version 1 (u16 LE), tag 1, reserved 0, length, CRC-32 — checked with an independent CRC.
    assert_eq!(&FIXTURE_BIN[..8], b"ZXST\x02\x00\x01\x00");
    assert_eq!(&V1_BIN[..8], b"ZXST\x01\x00\x01\x00");
    let len = u32::from_le_bytes(FIXTURE_BIN[8..12].try_into().unwrap()) as usize;
    assert_eq!(len, FIXTURE_BIN.len() - 16);
    let crc = u32::from_le_bytes(FIXTURE_BIN[12..16].try_into().unwrap());
    assert_eq!(crc, crc32_reference(&FIXTURE_BIN[16..]));
    // JSON: a text line, then JSON.
    let nl = FIXTURE_JSON.iter().position(|&b| b == b'\n').unwrap();
    let line = std::str::from_utf8(&FIXTURE_JSON[..nl]).unwrap();
    let parts: Vec<_> = line.split(' ').collect();
    assert_eq!(&parts[..3], ["zxmpp-state", "2", "json"]);
    assert_eq!(
        parts[3].parse::<usize>().unwrap(),
        FIXTURE_JSON.len() - nl - 1
    );
    assert_eq!(
        u32::from_str_radix(parts[4], 16).unwrap(),
        crc32_reference(&FIXTURE_JSON[nl + 1..])
    );
    let value: serde_json::Value = serde_json::from_slice(&FIXTURE_JSON[nl + 1..]).unwrap();
    assert_eq!(value["bound_jid"], "juliet@im.example.com/balcony");
}

/// Bitwise CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), written from the definition.
fn crc32_reference(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32_reference_check_value() {
    // The standard check value of CRC-32/ISO-HDLC.
    assert_eq!(crc32_reference(b"123456789"), 0xCBF4_3926);
}

#[test]
fn a_future_version_fails_clearly() {
    let mut bin = FIXTURE_BIN.to_vec();
    bin[4] = 3;
    let err = ClientSnapshot::decode(&bin).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FutureVersion {
                found: 3,
                supported: 2
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    let json = String::from_utf8(FIXTURE_JSON.to_vec()).unwrap().replacen(
        "zxmpp-state 2 ",
        "zxmpp-state 7 ",
        1,
    );
    assert!(matches!(
        ClientSnapshot::decode(json.as_bytes()),
        Err(Error::FutureVersion { found: 7, .. })
    ));
    let mut old = FIXTURE_BIN.to_vec();
    old[4] = 0;
    assert!(matches!(
        ClientSnapshot::decode(&old),
        Err(Error::UnsupportedVersion {
            found: 0,
            oldest: 1
        })
    ));
}

#[test]
fn every_flipped_byte_is_caught() {
    for fixture in [FIXTURE_BIN, FIXTURE_JSON, V1_BIN] {
        for i in 0..fixture.len() {
            for bit in [0x01, 0x80] {
                let mut damaged = fixture.to_vec();
                damaged[i] ^= bit;
                assert!(
                    ClientSnapshot::decode(&damaged).is_err(),
                    "flip {bit:#x} at {i} not caught"
                );
            }
        }
    }
    let mut damaged = FIXTURE_BIN.to_vec();
    damaged[100] ^= 0x04;
    assert!(matches!(
        ClientSnapshot::decode(&damaged),
        Err(Error::Checksum { .. })
    ));
}

#[test]
fn every_truncation_and_extension_is_caught() {
    for fixture in [FIXTURE_BIN, FIXTURE_JSON] {
        for len in 0..fixture.len() {
            assert!(
                ClientSnapshot::decode(&fixture[..len]).is_err(),
                "truncated to {len}"
            );
        }
        let mut longer = fixture.to_vec();
        longer.push(b' ');
        assert!(matches!(
            ClientSnapshot::decode(&longer),
            Err(Error::TrailingBytes { extra: 1, .. })
        ));
    }
    assert!(matches!(
        ClientSnapshot::decode(b"hello"),
        Err(Error::BadMagic)
    ));
    assert!(matches!(
        ClientSnapshot::decode_with_limit(FIXTURE_BIN, 100),
        Err(Error::TooLarge { limit: 100, .. })
    ));
}

#[test]
fn a_wrong_payload_with_a_right_checksum_fails_clearly() {
    let payload = b"{\"not\":\"a snapshot\"}";
    let mut bytes = format!(
        "zxmpp-state 2 json {} {:08x}\n",
        payload.len(),
        crc32_reference(payload)
    )
    .into_bytes();
    bytes.extend_from_slice(payload);
    assert!(matches!(
        ClientSnapshot::decode(&bytes),
        Err(Error::Payload {
            encoding: Encoding::Json,
            ..
        })
    ));
}

#[test]
fn file_store_replaces_atomically() {
    let dir = std::env::temp_dir().join(format!("zxmpp-state-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("client.snapshot");
    for encoding in [Encoding::Json, Encoding::Binary] {
        let store = FileStore::new(&path, encoding);
        store.remove().unwrap();
        assert!(store.load().unwrap().is_none());
        let old = realistic::snapshot(Instant::now(), 3, 2, 1, 1);
        store.save(&old).unwrap();
        assert_eq!(store.load().unwrap().as_ref(), Some(&old));
        // A crash while writing the next snapshot leaves a torn temporary file: the old one still loads.
        let mut new = old.clone();
        new.roster.version = Some("ver-new".into());
        let bytes = new.encode(encoding).unwrap();
        std::fs::write(dir.join("client.snapshot.tmp"), &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(store.load().unwrap().as_ref(), Some(&old));
        // The next save overwrites the torn file and replaces the snapshot.
        store.save(&new).unwrap();
        assert_eq!(store.load().unwrap().as_ref(), Some(&new));
        assert!(!dir.join("client.snapshot.tmp").exists());
        // A damaged file is an error, not a silent default.
        let mut damaged = std::fs::read(&path).unwrap();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        std::fs::write(&path, damaged).unwrap();
        assert!(store.load().is_err());
        store.remove().unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn queued() -> impl Strategy<Value = Vec<QueuedStanza>> {
    prop::collection::vec(
        (prop::option::of("[a-z0-9-]{1,12}"), any::<String>())
            .prop_map(|(id, xml)| QueuedStanza { id, xml }),
        0..8,
    )
}

proptest! {
    #[test]
    fn round_trip_both_encodings(
        outbound in queued(),
        version in prop::option::of(any::<String>()),
        counter in any::<u64>(),
        taken in prop::option::of(any::<u64>()),
        inbound in any::<u32>(),
    ) {
        let mut s = realistic::snapshot(Instant::now(), 2, 1, 1, 0);
        s.outbound = outbound;
        s.roster.version = version;
        s.counter = counter;
        s.taken_at_ms = taken;
        if let Some(sm) = &mut s.stream_management { sm.inbound = inbound; }
        for encoding in [Encoding::Json, Encoding::Binary] {
            let bytes = s.encode(encoding).unwrap();
            prop_assert_eq!(&ClientSnapshot::decode(&bytes).unwrap(), &s);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ClientSnapshot::decode(&bytes);
        // Well-framed garbage (right length and checksum) reaches the payload decoders: an error, no panic.
        let mut framed = b"ZXST\x02\x00\x01\x00".to_vec();
        framed.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        framed.extend_from_slice(&crc32_reference(&bytes).to_le_bytes());
        framed.extend_from_slice(&bytes);
        let _ = ClientSnapshot::decode(&framed);
        let mut text = format!("zxmpp-state 2 json {} {:08x}\n", bytes.len(), crc32_reference(&bytes)).into_bytes();
        text.extend_from_slice(&bytes);
        prop_assert!(ClientSnapshot::decode(&text).is_err());
    }
}

/// `Phase::EnablingSm` (appended to the enum after format version 2 was published) round-trips in both encodings,
/// with the pending stream management state, and the v2 fixtures above still decode unchanged.
#[test]
fn the_enabling_sm_phase_round_trips() {
    let mut snapshot = realistic::snapshot(Instant::now(), 2, 1, 1, 1);
    snapshot.phase = Phase::EnablingSm;
    if let Some(sm) = snapshot.stream_management.as_mut() {
        sm.id = None;
    }
    for encoding in [Encoding::Json, Encoding::Binary] {
        let bytes = snapshot.encode(encoding).unwrap();
        assert_eq!(
            ClientSnapshot::decode(&bytes).unwrap(),
            snapshot,
            "{encoding:?}"
        );
    }
    let json = String::from_utf8(snapshot.encode(Encoding::Json).unwrap()).unwrap();
    assert!(json.contains("\"phase\":\"EnablingSm\""));
}

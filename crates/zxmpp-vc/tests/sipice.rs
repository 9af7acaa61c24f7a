//! The SIP-ICE blob against the sample and the values in the research notes
//! (`docs/apple-vc.md`, "SIP-ICE blob"): two groups of three 40-byte records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use zxmpp_vc::{AddressRecord, Family, Group, GroupKind, RecordKind, SipIce, SipIceConfig};

const SAMPLE: &[u8] = include_bytes!("data/sip-ice-seed.bin");

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn sample_is_296_bytes_of_two_groups() {
    assert_eq!(SAMPLE.len(), 296);
    let blob = SipIce::decode(SAMPLE).unwrap();
    assert_eq!(blob.groups().len(), 2);
    assert!(blob.groups().iter().all(|g| g.records().len() == 3));
}

#[test]
fn sample_byte_identity() {
    let blob = SipIce::decode(SAMPLE).unwrap();
    assert_eq!(blob.to_bytes(), SAMPLE);
    assert_eq!(blob.encoded_len(), SAMPLE.len());
}

#[test]
fn sample_candidates_match_the_notes() {
    let blob = SipIce::decode(SAMPLE).unwrap();
    let seen: Vec<Vec<(String, SocketAddr)>> = blob
        .groups()
        .iter()
        .map(|g| {
            g.records()
                .iter()
                .map(|r| (r.interface().into_owned(), r.socket_addr().unwrap()))
                .collect()
        })
        .collect();
    let host = ("en1".to_owned(), addr("192.168.1.132:16402"));
    let comp = ("en1~".to_owned(), addr("63.87.254.123:16402"));
    assert_eq!(seen[0], vec![host.clone(), host.clone(), comp.clone()]);
    assert_eq!(
        seen[1],
        vec![
            ("external".to_owned(), addr("93.139.37.211:49958")),
            host,
            comp
        ]
    );
    for g in blob.groups() {
        for r in g.records() {
            assert_eq!(r.family(), Family::V4);
            assert_eq!(r.pads(), (0, 0));
        }
    }
}

#[test]
fn sample_group_headers_match_the_notes() {
    let blob = SipIce::decode(SAMPLE).unwrap();
    let (a, b) = (&blob.groups()[0].header, &blob.groups()[1].header);
    assert_eq!(a.kind, GroupKind::Local);
    assert_eq!(b.kind, GroupKind::External);
    assert_eq!((a.lead, a.unknown_8, a.unknown_12), (0, 1, 0x15f9_ddce));
    assert_eq!((b.lead, b.unknown_8, b.unknown_12), (0, 1, 0x2b81_05b7));
    assert_eq!((a.unknown_16, a.unknown_20, a.unknown_22), (0, 45, 0));
    assert_eq!(
        (b.unknown_16, b.unknown_20, b.unknown_22),
        (0x005d_2440, 70, 0)
    );
    assert_eq!((a.trailer, b.trailer), (0, 0x8068_1f40));
}

#[test]
fn tilde_record_is_the_complement_of_its_base() {
    let blob = SipIce::decode(SAMPLE).unwrap();
    for g in blob.groups() {
        let kinds: Vec<RecordKind> = g.classified().map(|(_, k)| k).collect();
        assert_eq!(
            kinds,
            [
                RecordKind::Plain,
                RecordKind::Plain,
                RecordKind::Complement { base: Some(1) }
            ]
        );
        let (base, comp) = (&g.records()[1], &g.records()[2]);
        // The notes: ~c0a80184 = 3f57fe7b, ~0 = ffffffff, ~d69a20fffe63f742 = 2965df00019c08bd.
        assert_eq!(
            comp.address_field(),
            &[
                0x3f, 0x57, 0xfe, 0x7b, 0xff, 0xff, 0xff, 0xff, 0x29, 0x65, 0xdf, 0x00, 0x01, 0x9c,
                0x08, 0xbd
            ]
        );
        assert!(comp.is_complement_of(base));
        assert_eq!(comp.effective_socket_addr(), base.socket_addr());
        assert_eq!(&base.complement().unwrap(), comp);
    }
}

#[test]
fn odd_bytes_after_names_and_addresses_are_kept() {
    let blob = SipIce::decode(SAMPLE).unwrap();
    let external = blob.groups()[1].candidate().unwrap();
    // "external\0\x03" and the address tail bea594be2d8d3240 (notes: uninitialised memory).
    assert_eq!(external.interface_field()[8..10], [0, 3]);
    assert_eq!(
        external.address_field()[8..],
        [0xbe, 0xa5, 0x94, 0xbe, 0x2d, 0x8d, 0x32, 0x40]
    );
}

#[test]
fn builder_makes_the_sample_shape() {
    let host = AddressRecord::new("en1", addr("192.168.1.132:16402")).unwrap();
    let ext = AddressRecord::new("external", addr("93.139.37.211:49958")).unwrap();
    let blob = SipIce::new(vec![
        Group::new(GroupKind::Local, host.clone(), host.clone()).unwrap(),
        Group::new(GroupKind::External, ext, host).unwrap(),
    ]);
    let bytes = blob.to_bytes();
    assert_eq!(bytes.len(), 296);
    // Same bytes as the sample wherever the sample holds no unknown or leftover data.
    assert_eq!(bytes[0x18..0x34], SAMPLE[0x18..0x34]);
    assert_eq!(bytes[0x68..0x84], SAMPLE[0x68..0x84]);
    assert_eq!(bytes[0x8c..0x90], SAMPLE[0x8c..0x90]);
    assert_eq!(bytes[0xac..0xb9], SAMPLE[0xac..0xb9]);
    assert_eq!(SipIce::decode(&bytes).unwrap(), blob);
}

#[test]
fn truncated_blob_names_the_group_offset() {
    let err = SipIce::decode(&SAMPLE[..295]).unwrap_err();
    assert_eq!(err.offset(), Some(148));
    assert!(matches!(err, zxmpp_vc::Error::Truncated { needed: 1, .. }));
}

#[test]
fn limits_are_enforced() {
    let mut config = SipIceConfig::default();
    config.max_groups = 1;
    assert!(matches!(
        SipIce::decode_with(SAMPLE, &config),
        Err(zxmpp_vc::Error::TooMany { offset: 148, .. })
    ));
    let mut config = SipIceConfig::default();
    config.max_len = 100;
    assert!(matches!(
        SipIce::decode_with(SAMPLE, &config),
        Err(zxmpp_vc::Error::TooLarge { .. })
    ));
}

#[test]
fn empty_blob_is_no_groups() {
    assert_eq!(SipIce::decode(&[]).unwrap().groups().len(), 0);
}

#[test]
fn absurd_layouts_are_refused_not_panicked() {
    let mut config = SipIceConfig::default();
    config.records_per_group = usize::MAX;
    assert!(matches!(
        SipIce::decode_with(SAMPLE, &config),
        Err(zxmpp_vc::Error::Truncated { offset: 0, .. })
    ));
    config.records_per_group = 0;
    // 28-byte groups: 296 is not a multiple of 28.
    assert!(SipIce::decode_with(SAMPLE, &config).is_err());
    assert!(zxmpp_vc::IpPortData::decode_with_limit(&[0; 80], 0).is_err());
}

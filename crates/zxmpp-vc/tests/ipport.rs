//! The pre-ICE flat address list (`VCNewCallerIPPortData`), in the layout of reSIProcate's
//! ichat-gw `IPPortDataBlob` (the research notes, section 1a).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zxmpp_vc::{AddressRecord, Family, IpPortData, RecordKind};

/// One IPv4 record written out by hand from the ichat-gw struct: pad 0, family V4 = 0,
/// "en0" NUL-padded to 16, 10.0.1.5 then 12 zero bytes, port 16402 big-endian, pad 0.
const EN0_HEX: &str =
    "00000000656e30000000000000000000000000000a00010500000000000000000000000040120000";

#[test]
fn ichat_gw_record_layout() {
    let list = IpPortData::from_hex(EN0_HEX).unwrap();
    assert_eq!(list.records().len(), 1);
    let r = &list.records()[0];
    assert_eq!(r.family(), Family::V4);
    assert_eq!(r.interface(), "en0");
    assert_eq!(r.socket_addr().unwrap().to_string(), "10.0.1.5:16402");
    assert_eq!(list.to_hex(), EN0_HEX);
}

#[test]
fn gloox_leading_line_feed_is_tolerated() {
    let list = IpPortData::from_hex(&format!("\n{EN0_HEX}")).unwrap();
    assert_eq!(list.records().len(), 1);
}

#[test]
fn ipv6_record_uses_all_16_bytes() {
    let r = AddressRecord::new("en0", "[2001:db8::5]:16402".parse().unwrap()).unwrap();
    let list = IpPortData::new(vec![r.clone(), r.complement().unwrap()]);
    let back = IpPortData::decode(&list.to_bytes()).unwrap();
    assert_eq!(back.records()[0].family(), Family::V6);
    assert_eq!(
        back.records()[0].socket_addr().unwrap().to_string(),
        "[2001:db8::5]:16402"
    );
    let kinds: Vec<_> = back.classified().map(|(_, k)| k).collect();
    assert_eq!(
        kinds,
        [RecordKind::Plain, RecordKind::Complement { base: Some(0) }]
    );
}

#[test]
fn length_not_a_multiple_of_40_is_an_error() {
    let err = IpPortData::decode(&[0; 41]).unwrap_err();
    assert_eq!(err.offset(), Some(40));
}

#[test]
fn record_limit() {
    assert!(IpPortData::decode_with_limit(&[0; 120], 2).is_err());
    assert_eq!(
        IpPortData::decode_with_limit(&[0; 80], 2)
            .unwrap()
            .records()
            .len(),
        2
    );
}

#[test]
fn empty_list_for_a_decline() {
    assert!(IpPortData::from_hex("").unwrap().is_empty());
}

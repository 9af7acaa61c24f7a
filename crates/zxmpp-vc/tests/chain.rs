//! The whole chain, hex → binary plist → typedstream → SIP-ICE and back, on the captured
//! invitation; expected values come from the research notes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zxmpp_vc::{Error, IceData, Invitation, SipIce};

const BPLIST: &[u8] = include_bytes!("data/invite-seed.bplist");
const HEX: &[u8] = include_bytes!("data/invite-seed.hex");
const ICE: &[u8] = include_bytes!("data/vcicedata-seed.typedstream");
const SIP_ICE: &[u8] = include_bytes!("data/sip-ice-seed.bin");

#[test]
fn sample_sizes_and_nesting() {
    assert_eq!(BPLIST.len(), 1064);
    assert_eq!(ICE.len(), 523);
    assert_eq!(SIP_ICE.len(), 296);
    // The notes: VCICEData = inv.bplist[0x64..0x26f], SIP-ICE = ice.bin[0xe1..0x209].
    assert_eq!(&BPLIST[0x64..0x26f], ICE);
    assert_eq!(&ICE[0xe1..0x209], SIP_ICE);
}

#[test]
fn vcicedata_byte_identity() {
    let ice = IceData::decode(ICE).unwrap();
    assert_eq!(ice.to_bytes().unwrap(), ICE);
}

#[test]
fn vcicedata_rewritten_from_the_archive_is_byte_identical() {
    // Not the kept input bytes: the archive written anew as NSArchiver writes it.
    let ice = IceData::decode(ICE).unwrap();
    let rebuilt = IceData::from_archive(ice.archive().clone()).unwrap();
    assert_eq!(rebuilt.original_bytes(), None);
    assert_eq!(rebuilt.to_bytes().unwrap(), ICE);
    assert_eq!(rebuilt, ice);
}

#[test]
fn vcicedata_known_values() {
    let ice = IceData::decode(ICE).unwrap();
    assert_eq!(ice.version(), Some(2));
    assert_eq!(ice.comm_nat(), Some(0));
    assert_eq!(ice.sip_ice().unwrap().to_bytes(), SIP_ICE);
}

#[test]
fn vcicedata_built_from_the_blob_matches_apple() {
    // The structure of section 0 of the notes, built anew around the 296-byte blob, must give
    // the 523 bytes iChat wrote.
    let ice = IceData::new(SipIce::decode(SIP_ICE).unwrap());
    assert_eq!(ice.to_bytes().unwrap(), ICE);
}

#[test]
fn invitation_byte_identity() {
    let inv = Invitation::decode(BPLIST).unwrap();
    assert_eq!(inv.encode().unwrap(), BPLIST);
}

#[test]
fn invitation_authored_encoding_is_byte_identical() {
    // Laid out anew (CoreFoundation's object order, orphan booleans, NSArchiver's choices),
    // not the kept input bytes.
    let inv = Invitation::decode(BPLIST).unwrap();
    assert_eq!(inv.encode_authored().unwrap(), BPLIST);
    let mut fresh = Invitation::from_plist(&inv.to_plist().unwrap()).unwrap();
    fresh.ice_data = Some(IceData::new(
        inv.ice_data.as_ref().unwrap().sip_ice().unwrap().clone(),
    ));
    assert_eq!(fresh, inv);
    assert_eq!(fresh.encode().unwrap(), BPLIST);
}

#[test]
fn changed_fields_are_written() {
    let mut inv = Invitation::decode(BPLIST).unwrap();
    inv.session_id = Some(473_648_505);
    inv.invitees.as_mut().unwrap()[1].state = Some(3);
    let bytes = inv.encode().unwrap();
    assert_ne!(bytes, BPLIST);
    assert_eq!(bytes.len(), BPLIST.len());
    let back = Invitation::decode(&bytes).unwrap();
    assert_eq!(back.session_id, Some(473_648_505));
    assert_eq!(back.invitees.as_ref().unwrap()[1].state, Some(3));
    assert_eq!(back, inv);
}

#[test]
fn invitation_hex_through_the_whole_chain() {
    let inv = Invitation::from_hex(HEX).unwrap();
    let text = std::str::from_utf8(HEX).unwrap();
    assert_eq!(inv.to_hex().unwrap(), text.trim_end());
    // A leading line feed, as gloox passes it, changes nothing.
    let mut fed = b"\n".to_vec();
    fed.extend_from_slice(HEX);
    assert_eq!(Invitation::from_hex(&fed).unwrap(), inv);
}

#[test]
fn invitation_known_values() {
    let inv = Invitation::from_hex(HEX).unwrap();
    assert_eq!(inv.session_id, Some(473_648_504));
    let people = inv.invitees.as_ref().unwrap();
    assert_eq!(
        people
            .iter()
            .map(|p| p.presentity_id.as_deref().unwrap())
            .collect::<Vec<_>>(),
        [
            "ivucica@the-evil-macbook.local",
            "perica@the-evil-macbook.local"
        ]
    );
    let blob = inv.ice_data.as_ref().unwrap().sip_ice().unwrap();
    let candidates: Vec<String> = blob
        .groups()
        .iter()
        .map(|g| {
            let c = g.candidate().unwrap();
            format!("{} {}", c.interface(), c.socket_addr().unwrap())
        })
        .collect();
    assert_eq!(
        candidates,
        ["en1 192.168.1.132:16402", "external 93.139.37.211:49958"]
    );
}

#[test]
fn changing_a_candidate_changes_only_that() {
    let mut inv = Invitation::decode(BPLIST).unwrap();
    let ice = inv.ice_data.as_mut().unwrap();
    let mut blob = ice.sip_ice().unwrap().clone();
    let group = &mut blob.groups_mut()[1];
    let ext =
        zxmpp_vc::AddressRecord::new("external", "198.51.100.7:40000".parse().unwrap()).unwrap();
    let records: Vec<_> = std::iter::once(ext)
        .chain(group.records()[1..].iter().cloned())
        .collect();
    *group = zxmpp_vc::Group::from_parts(group.header.clone(), records);
    ice.set_sip_ice(blob.clone());
    let bytes = inv.encode().unwrap();
    assert_eq!(bytes.len(), BPLIST.len());
    let back = Invitation::decode(&bytes).unwrap();
    assert_eq!(back.ice_data.as_ref().unwrap().sip_ice(), Some(&blob));
    assert_eq!(back.session_id, inv.session_id);
    assert_eq!(back.invitees, inv.invitees);
}

#[test]
fn corrupt_layers_fail_with_offsets() {
    // Not hex.
    let mut bad = HEX.to_vec();
    bad[10] = b'x';
    assert_eq!(Invitation::from_hex(&bad).unwrap_err().offset(), Some(10));
    // Cut binary plist: the plist layer reports.
    assert!(matches!(
        Invitation::decode(&BPLIST[..1000]).unwrap_err(),
        Error::Plist(_)
    ));
    // A broken typedstream inside VCICEData: the typedstream layer reports with an offset.
    let mut inner = BPLIST.to_vec();
    inner[0x64] = 9; // streamer version
    let err = Invitation::decode(&inner).unwrap_err();
    assert!(matches!(err, Error::Typedstream(_)), "{err}");
    // A SIP-ICE blob of the wrong length (one byte of the NSData changed to a length the
    // layout does not fit cannot be made without changing the plist; cut the blob instead).
    let blob_err = SipIce::decode(&SIP_ICE[..290]).unwrap_err();
    assert_eq!(blob_err.offset(), Some(148));
}

#[test]
fn object_table_path_and_value_path_agree() {
    // decode reads the usual shape straight from the object table; from_plist goes through a
    // plist::Value (here from the independent `plist` crate).
    let value = zxmpp_vc::plist::Value::from_reader(std::io::Cursor::new(BPLIST)).unwrap();
    assert_eq!(
        Invitation::decode(BPLIST).unwrap(),
        Invitation::from_plist(&value).unwrap()
    );
}

#[test]
fn unknown_keys_take_the_general_path_and_round_trip() {
    let mut value = zxmpp_vc::plist::Value::from_reader(std::io::Cursor::new(BPLIST)).unwrap();
    let dict = value.as_dictionary_mut().unwrap();
    dict.insert("VCFuture".into(), zxmpp_vc::plist::Value::Real(1.5));
    let bytes = zxmpp_bplist::to_vec_apple(&value).unwrap();
    let inv = Invitation::decode(&bytes).unwrap();
    assert_eq!(inv.other().len(), 1);
    assert_eq!(inv.encode().unwrap(), bytes);
    assert_eq!(inv.encode_authored().unwrap(), bytes);
    // A participant with an unknown key, too.
    let mut value = zxmpp_vc::plist::Value::from_reader(std::io::Cursor::new(BPLIST)).unwrap();
    let people = value
        .as_dictionary_mut()
        .unwrap()
        .get_mut("VCInviteesList")
        .unwrap()
        .as_array_mut()
        .unwrap();
    people[0]
        .as_dictionary_mut()
        .unwrap()
        .insert("mood".into(), zxmpp_vc::plist::Value::String("busy".into()));
    let bytes = zxmpp_bplist::to_vec_apple(&value).unwrap();
    let inv = Invitation::decode(&bytes).unwrap();
    assert_eq!(inv.invitees.as_ref().unwrap()[0].other().len(), 1);
    assert_eq!(inv.encode_authored().unwrap(), bytes);
}

#[test]
fn other_writers_layouts_come_back_unchanged() {
    // The `plist` crate lays the same dictionary out differently (1046 bytes, booleans
    // uniqued): an unchanged invitation read from it is written back as read.
    let value = zxmpp_vc::plist::Value::from_reader(std::io::Cursor::new(BPLIST)).unwrap();
    let mut other = Vec::new();
    value.to_writer_binary(&mut other).unwrap();
    assert_ne!(other, BPLIST);
    let inv = Invitation::decode(&other).unwrap();
    assert_eq!(inv.encode().unwrap(), other);
    // Laid out anew, it is Apple's layout.
    assert_eq!(inv.encode_authored().unwrap(), BPLIST);
    // Once changed, it is laid out anew.
    let mut changed = inv.clone();
    changed.order_is_final = Some(true);
    assert_eq!(changed.encode().unwrap().len(), BPLIST.len());
}

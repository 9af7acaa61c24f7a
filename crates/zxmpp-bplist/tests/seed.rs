//! The 1064-byte iChat AV invitation that Apple's CoreFoundation wrote (shared vector
//! `ichat/invite-seed.bplist`); expected facts come from the research note's independent
//! Python decoding of it, not from this crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use zxmpp_bplist::plist::Value;
use zxmpp_bplist::{Document, IntWidth, Object, to_vec_apple};

const SEED: &[u8] = include_bytes!("data/invite-seed.bplist");

#[test]
fn seed_is_the_shared_vector() {
    assert_eq!(SEED.len(), 1064);
    assert_eq!(&SEED[..8], b"bplist00");
}

#[test]
fn seed_layout_keeping_round_trip_is_byte_identical() {
    let doc = Document::parse(SEED).unwrap();
    assert_eq!(doc.to_vec(), SEED);
}

#[test]
fn seed_object_table_matches_research_note() {
    let doc = Document::parse(SEED).unwrap();
    let t = doc.trailer();
    assert_eq!(t.num_objects, 38);
    assert_eq!(t.offset_int_size, 2);
    assert_eq!(t.object_ref_size, 1);
    assert_eq!(t.top_object, 0);
    assert_eq!(t.offset_table_offset, 956);
    assert_eq!(t.unused, [0; 6]);
    assert_eq!(doc.orphans(), vec![25, 30, 32, 34, 36, 37]);
    let objects = doc.objects();
    assert_eq!(objects[24], Object::Bool(true));
    assert_eq!(objects[26], Object::Bool(false));
    assert_eq!(
        objects[6],
        Object::Int {
            value: 473_648_504,
            width: IntWidth::W4
        }
    );
    assert!(matches!(&objects[7], Object::Data { bytes, .. } if bytes.len() == 523));
    assert!(matches!(&objects[27], Object::Utf16 { units, .. }
        if String::from_utf16(units).unwrap() == "Ivan Vu\u{10d}ica"));
    assert!(doc.is_cf_layout());
}

#[test]
fn seed_value_has_the_invitation_keys_in_file_order() {
    let value = Document::parse(SEED).unwrap().to_value().unwrap();
    let dict = value.as_dictionary().unwrap();
    let keys: Vec<&str> = dict.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "VCSessionID",
            "VCICEData",
            "VCInviteesList",
            "VCSecurityEnabled",
            "VCOrderIsFinal"
        ]
    );
    assert_eq!(dict.get("VCSecurityEnabled"), Some(&Value::Boolean(false)));
    let ice = dict.get("VCICEData").and_then(Value::as_data).unwrap();
    assert_eq!(ice, &SEED[0x64..0x26f]);
}

#[test]
fn seed_authoring_path_reproduces_all_1064_bytes() {
    let value = zxmpp_bplist::from_slice(SEED).unwrap();
    let bytes = to_vec_apple(&value).unwrap();
    assert_eq!(bytes.len(), 1064);
    assert_eq!(bytes, SEED);
}

#[test]
fn seed_value_equals_plist_crate_reading() {
    // An independent reader: the `plist` crate.
    let theirs = Value::from_reader(std::io::Cursor::new(SEED)).unwrap();
    let ours = zxmpp_bplist::from_slice(SEED).unwrap();
    assert_eq!(ours, theirs);
}

//! Apple-written archives: decoded values checked against what the sources say they hold, and
//! decode-then-encode checked to give the same bytes.
//!
//! Sources: `tests/data/vcicedata-seed.typedstream` (iChat 5 invitation, 2010; contents per the
//! project's research notes, cross-checked with pytypedstream), `tests/data/apple-nsarchiver.tsv`
//! (NSArchiver output generated on macOS, from crabstep's fixtures), and pytypedstream's README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use zxmpp_typedstream::{
    Archive, ByteOrder, Class, Content, Error, Object, Value, decode, decode_with, encode,
};

const VCICEDATA: &[u8] = include_bytes!("data/vcicedata-seed.typedstream");
const TSV: &str = include_str!("data/apple-nsarchiver.tsv");

fn vector(description: &str) -> Vec<u8> {
    let line = TSV
        .lines()
        .find(|l| l.split('\t').next() == Some(description))
        .unwrap_or_else(|| panic!("no vector {description:?}"));
    hex::decode(line.split('\t').nth(1).unwrap()).unwrap()
}

fn roundtrip(bytes: &[u8]) -> Archive {
    let archive = decode(bytes).unwrap();
    assert_eq!(encode(&archive).unwrap(), bytes, "re-encoding differs");
    archive
}

fn root(archive: &Archive) -> &Object {
    archive.root_object().expect("root object")
}

fn names(c: &Class) -> Vec<(&str, i64)> {
    c.chain
        .iter()
        .map(|i| (i.name.as_str(), i.version))
        .collect()
}

fn number(o: &Object) -> (&str, &Value) {
    match &o.content {
        Content::Number { objc_type, value } => (objc_type, value),
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn vcicedata_seed_decodes_to_research_structure_and_reencodes() {
    let archive = roundtrip(VCICEDATA);
    assert_eq!(VCICEDATA.len(), 523);
    assert_eq!(archive.byte_order, ByteOrder::Little);
    assert_eq!(archive.system_version, 1000);
    let dict = root(&archive);
    assert_eq!(
        names(&dict.class),
        [
            ("NSMutableDictionary", 0),
            ("NSDictionary", 0),
            ("NSObject", 0)
        ]
    );
    let entries = dict.as_dictionary().unwrap();
    let keys: Vec<_> = entries
        .iter()
        .map(|(k, _)| k.as_object().unwrap().as_str().unwrap())
        .collect();
    assert_eq!(keys, ["connection helper", "version", "SIP-ICE"]);

    let helper = dict.get("connection helper").unwrap().as_object().unwrap();
    assert_eq!(helper.class.name(), "NSMutableDictionary");
    let nat = helper.get("CommNAT").unwrap().as_object().unwrap();
    assert_eq!(number(nat), ("i", &Value::Int(0)));

    let version = dict.get("version").unwrap().as_object().unwrap();
    assert_eq!(number(version), ("i", &Value::Int(2)));

    let ice = archive
        .lookup(dict, "SIP-ICE")
        .and_then(|v| archive.resolve(v))
        .unwrap();
    assert_eq!(names(&ice.class), [("NSData", 0), ("NSObject", 0)]);
    let blob = ice.as_data().unwrap();
    // The SIP-ICE payload is ice.bin[0xe1..0x209] per the research notes.
    assert_eq!(blob.len(), 296);
    assert_eq!(blob, &VCICEDATA[0xe1..0x209]);
    // Objects numbered in stream order: dict, key, inner dict, key, number, key, number, key, data.
    assert_eq!(archive.objects().len(), 9);
}

#[test]
fn vcicedata_seed_rebuilt_from_values_gives_apple_bytes() {
    // Built from the research notes' description alone, not from the decoded archive.
    let s = |t: &str| Value::object(Object::ns_string(t));
    let inner = Object::ns_mutable_dictionary(vec![(
        s("CommNAT"),
        Value::object(Object::ns_number_i32(0)),
    )]);
    let root = Object::ns_mutable_dictionary(vec![
        (s("connection helper"), Value::object(inner)),
        (s("version"), Value::object(Object::ns_number_i32(2))),
        (
            s("SIP-ICE"),
            Value::object(Object::ns_data(&VCICEDATA[0xe1..0x209])),
        ),
    ]);
    let bytes = encode(&Archive::with_root(Value::object(root))).unwrap();
    assert_eq!(bytes, VCICEDATA);
}

#[test]
fn apple_nsarchiver_nsstring() {
    let a = roundtrip(&vector("NSString \"Hello, world\""));
    let o = root(&a);
    assert_eq!(names(&o.class), [("NSString", 1), ("NSObject", 0)]);
    assert_eq!(o.as_str(), Some("Hello, world"));
}

#[test]
fn apple_nsarchiver_nsnumber_int32() {
    let a = roundtrip(&vector("NSNumber int32 42"));
    let o = root(&a);
    assert_eq!(
        names(&o.class),
        [("NSNumber", 0), ("NSValue", 0), ("NSObject", 0)]
    );
    assert_eq!(number(o), ("i", &Value::Int(42)));
}

#[test]
fn apple_nsarchiver_nsnumber_double() {
    let a = roundtrip(&vector("NSNumber double 100.5"));
    assert_eq!(number(root(&a)), ("d", &Value::Double(100.5)));
}

#[test]
fn apple_nsarchiver_nsnumber_float() {
    let a = roundtrip(&vector("NSNumber float 3.5"));
    assert_eq!(number(root(&a)), ("f", &Value::Float(3.5)));
}

#[test]
fn apple_nsarchiver_nsnumber_int64_tag_0x87() {
    let a = roundtrip(&vector("NSNumber int64 -9e9"));
    assert_eq!(number(root(&a)), ("q", &Value::Int(-9_000_000_000)));
}

#[test]
fn apple_nsarchiver_nsnumber_bool_char() {
    let a = roundtrip(&vector("NSNumber bool (type c)"));
    assert_eq!(number(root(&a)), ("c", &Value::Int(1)));
}

#[test]
fn apple_nsarchiver_nsdate_integral_written_as_int() {
    let bytes = vector("NSDate 21692800.0");
    let a = roundtrip(&bytes);
    let o = root(&a);
    assert_eq!(names(&o.class), [("NSDate", 0), ("NSObject", 0)]);
    assert_eq!(o.content, Content::Date(21_692_800.0));
    // Built from the value alone, Apple's integral-double-as-int32 choice.
    let built = encode(&Archive::with_root(Value::object(Object::ns_date(
        21_692_800.0,
    ))))
    .unwrap();
    assert_eq!(built, bytes);
}

#[test]
fn apple_nsarchiver_nsdate_fractional() {
    let bytes = vector("NSDate 700000000.523");
    let a = roundtrip(&bytes);
    assert_eq!(root(&a).content, Content::Date(700_000_000.523));
    let built = encode(&Archive::with_root(Value::object(Object::ns_date(
        700_000_000.523,
    ))))
    .unwrap();
    assert_eq!(built, bytes);
}

#[test]
fn apple_nsarchiver_nsdata() {
    let bytes = vector("NSData de ad be ef 00 7f");
    let a = roundtrip(&bytes);
    assert_eq!(
        root(&a).as_data(),
        Some(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f][..])
    );
    let built = encode(&Archive::with_root(Value::object(Object::ns_data(vec![
        0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f,
    ]))))
    .unwrap();
    assert_eq!(built, bytes);
}

#[test]
fn apple_nsarchiver_nsdictionary_in_stored_order() {
    let bytes = vector("NSDictionary{k1:1,k2:\"v\"}");
    let a = roundtrip(&bytes);
    let d = root(&a);
    assert_eq!(names(&d.class), [("NSDictionary", 0), ("NSObject", 0)]);
    let e = d.as_dictionary().unwrap();
    assert_eq!(e.len(), 2);
    // Hash order as stored: k2 first.
    let key = |i: usize| e[i].0.as_object().unwrap().as_str().unwrap();
    assert_eq!((key(0), key(1)), ("k2", "k1"));
    assert_eq!(
        d.get("k2").unwrap().as_object().unwrap().as_str(),
        Some("v")
    );
    assert_eq!(
        number(d.get("k1").unwrap().as_object().unwrap()),
        ("q", &Value::Int(1))
    );
    let s = |t: &str| Value::object(Object::ns_string(t));
    let built = Object::ns_dictionary(vec![
        (s("k2"), s("v")),
        (s("k1"), Value::object(Object::ns_number_i64(1))),
    ]);
    assert_eq!(
        encode(&Archive::with_root(Value::object(built))).unwrap(),
        bytes
    );
}

#[test]
fn pytypedstream_readme_string_value() {
    let bytes = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x08NSString\x01\x84\x84\x08NSObject\x00\x85\x84\x01+\x0cstring value\x86";
    let a = roundtrip(bytes);
    assert_eq!(root(&a).as_str(), Some("string value"));
    assert_eq!(
        vector("NSString \"string value\" (pytypedstream README)"),
        bytes
    );
    let built = encode(&Archive::with_root(Value::object(Object::ns_string(
        "string value",
    ))))
    .unwrap();
    assert_eq!(built, bytes);
}

#[test]
fn every_tsv_vector_roundtrips() {
    let mut n = 0;
    for line in TSV.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let hex = line.split('\t').nth(1).unwrap();
        roundtrip(&hex::decode(hex).unwrap());
        n += 1;
    }
    assert_eq!(n, 11);
}

#[test]
fn big_endian_signature_swaps_multibyte_numbers() {
    // "Hello, world" as a big-endian typedstream: same bytes except the signature and the
    // system version's int16, 1000 = 03 e8 big-endian.
    let le = vector("NSString \"Hello, world\"");
    let mut be = le.clone();
    be[2..13].copy_from_slice(b"typedstream");
    be[14..16].copy_from_slice(&[0x03, 0xe8]);
    let a = roundtrip(&be);
    assert_eq!(a.byte_order, ByteOrder::Big);
    assert_eq!(a.system_version, 1000);
    assert_eq!(root(&a).as_str(), Some("Hello, world"));
    // An int32 and a double, big-endian, written by hand.
    let mut stream = b"\x04\x0btypedstream\x81\x03\xe8".to_vec();
    stream.extend_from_slice(b"\x84\x02id\x82\x00\x01\x00\x00\x83\x40\x59\x20\x00\x00\x00\x00\x00");
    let a = roundtrip(&stream);
    assert_eq!(
        a.groups[0].values,
        [Value::Int(65536), Value::Double(100.5)]
    );
}

#[test]
fn truncated_input_reports_offset() {
    for cut in 0..VCICEDATA.len() {
        let err = decode(&VCICEDATA[..cut]).err();
        if cut == 0 {
            assert_eq!(err, Some(Error::UnexpectedEof { offset: 0 }));
            continue;
        }
        if cut == 16 {
            // The header alone is an archive with no groups.
            assert_eq!(err, None);
            continue;
        }
        let err = err.unwrap_or_else(|| panic!("prefix of {cut} bytes decoded"));
        assert!(err.offset().unwrap() <= cut, "{cut}: {err}");
    }
}

#[test]
fn limits_are_enforced() {
    use zxmpp_typedstream::Limits;
    let small = Limits::default().with_max_input(100);
    assert!(matches!(
        decode_with(VCICEDATA, &small),
        Err(Error::InputTooLarge {
            len: 523,
            limit: 100
        })
    ));
    let shallow = Limits::default().with_max_depth(1);
    assert!(matches!(
        decode_with(VCICEDATA, &shallow),
        Err(Error::TooDeep { .. })
    ));
    let few = Limits::default().with_max_objects(5);
    assert!(matches!(
        decode_with(VCICEDATA, &few),
        Err(Error::TooManyObjects { .. })
    ));
    let short = Limits::default().with_max_length(100);
    assert!(matches!(
        decode_with(VCICEDATA, &short),
        Err(Error::BadTypeEncoding { .. })
    ));
    let values = Limits::default().with_max_values(10);
    assert!(matches!(
        decode_with(VCICEDATA, &values),
        Err(Error::TooManyValues { .. })
    ));
}

#[test]
fn length_bombs_are_rejected_before_allocating() {
    let head = b"\x04\x0bstreamtyped\x81\xe8\x03".to_vec();
    // An unshared string claiming 2^31-1 bytes.
    let mut s = head.clone();
    s.extend_from_slice(b"\x84\x01+\x82\xff\xff\xff\x7f");
    assert!(matches!(
        decode(&s),
        Err(Error::LengthTooLarge { offset: 19, .. })
    ));
    // A byte array of 10 million bytes.
    let mut s = head.clone();
    s.extend_from_slice(b"\x84\x0b[10000000c]");
    assert!(matches!(decode(&s), Err(Error::UnexpectedEof { .. })));
    // An array of a million zero-size elements runs into the value limit.
    let mut s = head.clone();
    s.extend_from_slice(b"\x84\x0d[1000000[9!]]");
    let e = decode(&s);
    assert!(matches!(e, Err(Error::TooManyValues { .. })), "{e:?}");
}

#[test]
fn references_are_checked() {
    let head = b"\x04\x0bstreamtyped\x81\xe8\x03".to_vec();
    // A shared-string reference before any string.
    let mut s = head.clone();
    s.push(0x92);
    assert!(matches!(
        decode(&s),
        Err(Error::BadReference { offset: 16, .. })
    ));
    // An object whose class is a reference to itself (object #0 is not a class).
    let mut s = head.clone();
    s.extend_from_slice(b"\x84\x01@\x84\x92");
    assert!(matches!(
        decode(&s),
        Err(Error::WrongReferenceKind { offset: 20, .. })
    ));
    // A class chain cannot reference the class being read.
    let mut s = head.clone();
    s.extend_from_slice(b"\x84\x01#\x84\x84\x01A\x00\x92");
    assert!(matches!(decode(&s), Err(Error::BadReference { .. })));
}

#[test]
fn header_errors() {
    assert!(matches!(
        decode(b"\x03\x0bstreamtyped\x81\xe8\x03"),
        Err(Error::UnsupportedVersion { version: 3, .. })
    ));
    assert!(matches!(
        decode(b"\x04\x0bstreamtypex\x81\xe8\x03"),
        Err(Error::BadSignature { offset: 1 })
    ));
}

#[test]
fn non_canonical_input_normalises_to_a_fixed_point() {
    // The int 5 stored as int16, a literal shared string repeated: decodes to the same values as
    // the canonical form and re-encodes canonically.
    let mut s = b"\x04\x0bstreamtyped\x81\xe8\x03".to_vec();
    s.extend_from_slice(b"\x84\x01i\x81\x05\x00\x84\x01i\x05");
    let a = decode(&s).unwrap();
    let canonical = encode(&a).unwrap();
    let mut expect = b"\x04\x0bstreamtyped\x81\xe8\x03".to_vec();
    expect.extend_from_slice(b"\x84\x01i\x05\x92\x05");
    assert_eq!(canonical, expect);
    assert_eq!(decode(&canonical).unwrap(), a);
}

#[test]
fn shared_objects_are_references() {
    // One NSString object stored twice in an array: the second occurrence is a reference.
    let s = Value::object(Object::ns_string("same"));
    let arr = Object::ns_array(vec![s, Value::Ref(zxmpp_typedstream::ObjectId(1))]);
    let bytes = encode(&Archive::with_root(Value::object(arr))).unwrap();
    let a = decode(&bytes).unwrap();
    let items = root(&a).as_array().unwrap();
    assert_eq!(items[1], Value::Ref(zxmpp_typedstream::ObjectId(1)));
    assert_eq!(a.resolve(&items[1]).unwrap().as_str(), Some("same"));
    // Written as ref to object-table entry #3 (array #0, NSArray #1, NSObject #2, string #3).
    assert!(bytes.ends_with(b"\x92\x95\x86"), "{bytes:02x?}");
}

/// The integer rule from the research notes (§2, "Writer canonical choices"): one byte for
/// −110..=127, else 0x81+int16, else 0x82+int32, else 0x87+int64; little-endian here.
#[test]
fn integer_widths_follow_apple_rule() {
    let cases: &[(i64, &[u8])] = &[
        (0, b"\x00"),
        (127, b"\x7f"),
        (-110, b"\x92"),
        (-111, b"\x81\x91\xff"),
        (128, b"\x81\x80\x00"),
        (-32768, b"\x81\x00\x80"),
        (32768, b"\x82\x00\x80\x00\x00"),
        (i64::from(i32::MIN), b"\x82\x00\x00\x00\x80"),
        (1 << 31, b"\x87\x00\x00\x00\x80\x00\x00\x00\x00"),
    ];
    for &(v, wire) in cases {
        let a = Archive {
            byte_order: ByteOrder::Little,
            system_version: 1000,
            groups: vec![zxmpp_typedstream::Group::new("q", vec![Value::Int(v)])],
        };
        let bytes = encode(&a).unwrap();
        assert_eq!(
            &bytes[16..],
            [b"\x84\x01q".as_slice(), wire].concat(),
            "{v}"
        );
        assert_eq!(decode(&bytes).unwrap(), a);
    }
}

#[test]
fn display_shows_references_and_generic_groups() {
    let thing = Object::new(
        Class::new([("ZXThing", 2), ("NSObject", 0)]),
        Content::Groups(vec![
            zxmpp_typedstream::Group::new(
                "i@",
                vec![Value::Int(7), Value::Ref(zxmpp_typedstream::ObjectId(0))],
            ),
            zxmpp_typedstream::Group::new(
                "{p=ff}",
                vec![Value::Struct(vec![Value::Float(1.5), Value::Float(-2.0)])],
            ),
        ]),
    );
    let a = Archive::with_root(Value::object(thing));
    let text = decode(&encode(&a).unwrap()).unwrap().to_string();
    let expected = "typedstream v4, little-endian (streamtyped), system version 1000, 1 group
\"@\": #0 ZXThing v2 : NSObject v0, 2 groups
  group \"i@\":
    7
    -> #0
  \"{p=ff}\": struct, 2 items
    1.5
    -2.0
";
    assert_eq!(text, expected);
}

#[test]
fn nesting_up_to_the_default_depth_limit_fits_a_test_thread_stack() {
    // Test threads have 2 MiB of stack; the reader, writer and display recurse per level.
    let depth = zxmpp_typedstream::Limits::default().max_depth;
    let mut v = Value::object(Object::ns_string("leaf"));
    for _ in 0..depth - 1 {
        v = Value::object(Object::ns_array(vec![v]));
    }
    let bytes = encode(&Archive::with_root(v.clone())).unwrap();
    let a = decode(&bytes).unwrap();
    assert_eq!(a.root(), Some(&v));
    assert!(a.to_string().contains("\"leaf\""));
    // One level more is refused.
    let deeper = Value::object(Object::ns_array(vec![v]));
    let bytes = encode(&Archive::with_root(deeper)).unwrap();
    assert!(matches!(decode(&bytes), Err(Error::TooDeep { .. })));
}

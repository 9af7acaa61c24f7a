//! Malformed and unusual files, assembled by hand byte by byte: errors (with offsets) instead of
//! panics, limits that hold, and odd-but-valid layouts that must come back byte-identical.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use zxmpp_bplist::{Document, Error, LayoutProblem, Limits, TrailerProblem, ValueProblem};

const SEED: &[u8] = include_bytes!("data/invite-seed.bplist");

/// Lays out `objects` packed after the header, with the given sizes, as a binary plist.
fn packed(objects: &[&[u8]], offset_size: u8, ref_size: u8, top: u64) -> Vec<u8> {
    let mut out = b"bplist00".to_vec();
    let mut offsets = Vec::new();
    for o in objects {
        offsets.push(out.len() as u64);
        out.extend_from_slice(o);
    }
    let table = out.len() as u64;
    for off in offsets {
        out.extend_from_slice(&off.to_be_bytes()[8 - offset_size as usize..]);
    }
    trailer(
        &mut out,
        offset_size,
        ref_size,
        objects.len() as u64,
        top,
        table,
    );
    out
}

fn trailer(out: &mut Vec<u8>, offset_size: u8, ref_size: u8, n: u64, top: u64, table: u64) {
    out.extend_from_slice(&[0; 6]);
    out.push(offset_size);
    out.push(ref_size);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&top.to_be_bytes());
    out.extend_from_slice(&table.to_be_bytes());
}

fn round_trips(bytes: &[u8]) {
    let doc = Document::parse(bytes).unwrap();
    assert_eq!(doc.to_vec(), bytes);
}

#[test]
fn every_truncation_of_the_seed_is_an_error() {
    for len in 0..SEED.len() {
        let err = Document::parse(&SEED[..len]).unwrap_err();
        if len > 0 {
            assert!(err.offset().is_some() || matches!(err, Error::TooManyObjects { .. }));
        }
    }
}

#[test]
fn every_single_byte_corruption_of_the_seed_is_handled() {
    for at in 0..SEED.len() {
        for bits in [0x01u8, 0x80, 0xff] {
            let mut bytes = SEED.to_vec();
            bytes[at] ^= bits;
            if let Ok(doc) = Document::parse(&bytes) {
                assert_eq!(doc.to_vec(), bytes, "corruption at {at} read but not kept");
                let _ = doc.to_value();
            }
        }
    }
}

#[test]
fn not_a_binary_plist() {
    assert_eq!(
        Document::parse(b"<?xml version").unwrap_err(),
        Error::NotBinaryPlist
    );
    assert!(matches!(
        Document::parse(b"bplist00").unwrap_err(),
        Error::Truncated { .. }
    ));
}

#[test]
fn reference_out_of_range() {
    let bytes = packed(&[&[0xa1, 0x05]], 1, 1, 0);
    assert_eq!(
        Document::parse(&bytes).unwrap_err(),
        Error::ReferenceOutOfRange {
            offset: 9,
            reference: 5,
            count: 1
        }
    );
}

#[test]
fn top_object_out_of_range() {
    let bytes = packed(&[&[0x09]], 1, 1, 1);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::ReferenceOutOfRange { reference: 1, .. }
    ));
}

#[test]
fn cycle_is_an_error() {
    let self_ref = packed(&[&[0xa1, 0x00]], 1, 1, 0);
    assert!(matches!(
        Document::parse(&self_ref).unwrap_err(),
        Error::Cycle { offset: 8, .. }
    ));
    // dict #0 -> array #2 -> dict #0, key #1
    let two = packed(
        &[&[0xd1, 0x01, 0x02], &[0x51, b'k'], &[0xa1, 0x00]],
        1,
        1,
        0,
    );
    assert!(matches!(
        Document::parse(&two).unwrap_err(),
        Error::Cycle { .. }
    ));
}

#[test]
fn offset_past_the_object_area() {
    let mut bytes = packed(&[&[0x09]], 1, 1, 0);
    bytes[9] = 0xf0; // the single offset-table entry
    assert_eq!(
        Document::parse(&bytes).unwrap_err(),
        Error::OffsetOutOfRange {
            offset: 9,
            index: 0,
            target: 0xf0,
            end: 9
        }
    );
    let mut bytes = packed(&[&[0x09]], 1, 1, 0);
    bytes[9] = 0x02; // inside the header
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::OffsetOutOfRange { .. }
    ));
}

#[test]
fn offset_table_past_the_end() {
    let mut bytes = b"bplist00\x09\x08".to_vec();
    trailer(&mut bytes, 1, 1, 1, 0, 5000);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::BadTrailer {
            problem: TrailerProblem::OffsetTable(5000),
            ..
        }
    ));
}

#[test]
fn two_to_the_sixty_objects_is_refused_without_allocating() {
    let mut bytes = b"bplist00\x09\x08".to_vec();
    trailer(&mut bytes, 8, 8, 1 << 60, 0, 9);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::TooManyObjects {
            count: 0x1000_0000_0000_0000,
            ..
        }
    ));
    // Even with the object limit lifted, the table must fit in the input.
    let limits = Limits::default().with_max_objects(u64::MAX);
    assert!(matches!(
        Document::parse_with(&bytes, &limits).unwrap_err(),
        Error::Truncated {
            what: "offset table",
            ..
        }
    ));
}

#[test]
fn huge_collection_count_is_refused_without_allocating() {
    // array with a count of 2^62 given as an 8-byte length integer
    let mut obj = vec![0xaf, 0x13];
    obj.extend_from_slice(&(1u64 << 62).to_be_bytes());
    let bytes = packed(&[&obj], 1, 1, 0);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::CollectionTooLong { offset: 8, .. }
    ));
    let limits = Limits::default().with_max_collection_len(u64::MAX);
    assert!(matches!(
        Document::parse_with(&bytes, &limits).unwrap_err(),
        Error::Truncated { .. }
    ));
    // data with a length of 2^62
    obj[0] = 0x4f;
    let bytes = packed(&[&obj], 1, 1, 0);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::Truncated { what: "data", .. }
    ));
}

/// `depth` arrays, each holding the next; the innermost is empty.
fn nested(depth: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = (1..depth).map(|i| vec![0xa1, 0x00, i as u8]).collect();
    objects.push(vec![0xa0]);
    let refs: Vec<Vec<u8>> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            if o.len() == 3 {
                let next = (i + 1) as u16;
                vec![0xa1, (next >> 8) as u8, next as u8]
            } else {
                o.clone()
            }
        })
        .collect();
    let slices: Vec<&[u8]> = refs.iter().map(Vec::as_slice).collect();
    packed(&slices, 2, 2, 0)
}

#[test]
fn depth_beyond_the_limit() {
    let deep = nested(300);
    assert!(matches!(
        Document::parse(&deep).unwrap_err(),
        Error::TooDeep { limit: 256, .. }
    ));
    let limits = Limits::default().with_max_depth(300);
    let doc = Document::parse_with(&deep, &limits).unwrap();
    assert_eq!(doc.to_vec(), deep);
    assert!(doc.to_value().is_ok());
    assert!(matches!(
        Document::parse_with(&nested(10), &Limits::default().with_max_depth(9)).unwrap_err(),
        Error::TooDeep { .. }
    ));
}

#[test]
fn shared_objects_cannot_expand_into_a_huge_value() {
    // 40 arrays, each referencing the next twice: 2^40 nodes once expanded.
    let objects: Vec<Vec<u8>> = (0..40u8)
        .map(|i| {
            if i == 39 {
                vec![0x09]
            } else {
                vec![0xa2, i + 1, i + 1]
            }
        })
        .collect();
    let slices: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
    let bytes = packed(&slices, 1, 1, 0);
    let doc = Document::parse(&bytes).unwrap();
    assert_eq!(doc.to_vec(), bytes);
    assert!(matches!(
        doc.to_value().unwrap_err(),
        Error::TooManyValueNodes { .. }
    ));
}

#[test]
fn input_size_limit() {
    let limits = Limits::default().with_max_input_size(100);
    assert!(matches!(
        Document::parse_with(SEED, &limits).unwrap_err(),
        Error::InputTooLarge { len: 1064, .. }
    ));
}

#[test]
fn bad_trailer_sizes() {
    for (osz, rsz) in [(0u8, 1u8), (9, 1), (1, 0), (1, 9)] {
        let mut bytes = b"bplist00\x09".to_vec();
        bytes.push(8);
        trailer(&mut bytes, osz, rsz, 1, 0, 9);
        assert!(matches!(
            Document::parse(&bytes).unwrap_err(),
            Error::BadTrailer { .. }
        ));
    }
}

#[test]
fn unknown_markers_and_bad_strings() {
    for marker in [0x0fu8, 0x70, 0x90, 0xb0, 0xe0, 0xf0, 0x15, 0x21, 0x34, 0x88] {
        let bytes = packed(&[&[marker, 0, 0, 0, 0, 0, 0, 0, 0, 0]], 1, 1, 0);
        assert_eq!(
            Document::parse(&bytes).unwrap_err(),
            Error::UnknownMarker { offset: 8, marker },
            "marker {marker:#04x}"
        );
    }
    let bytes = packed(&[&[0x52, b'a', 0xe9]], 1, 1, 0);
    assert_eq!(
        Document::parse(&bytes).unwrap_err(),
        Error::NonAsciiString { offset: 8 }
    );
    // a length that is not an integer object
    let bytes = packed(&[&[0x5f, 0x51, b'a']], 1, 1, 0);
    assert_eq!(
        Document::parse(&bytes).unwrap_err(),
        Error::BadLength { offset: 9 }
    );
}

#[test]
fn shared_and_overlapping_objects_are_refused() {
    let mut bytes = b"bplist00\xa1\x01\x09".to_vec();
    bytes.extend_from_slice(&[8, 10, 10]);
    trailer(&mut bytes, 1, 1, 3, 0, 11);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::UnsupportedLayout {
            problem: LayoutProblem::SharedObject(1, 2),
            ..
        }
    ));
    // #1 is the 2-byte string at 10, #2 the int that starts inside it
    let mut bytes = b"bplist00\xa1\x01\x51\x10\x05".to_vec();
    bytes.extend_from_slice(&[8, 10, 11]);
    trailer(&mut bytes, 1, 1, 3, 0, 13);
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::UnsupportedLayout {
            problem: LayoutProblem::Overlap(1, 2),
            ..
        }
    ));
}

#[test]
fn values_a_plist_value_cannot_hold() {
    let null = packed(&[&[0x00]], 1, 1, 0);
    let doc = Document::parse(&null).unwrap();
    assert_eq!(doc.to_vec(), null);
    assert!(matches!(
        doc.to_value().unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::Null,
            ..
        }
    ));
    let mut big = vec![0x14];
    big.extend_from_slice(&(-1i128 << 100).to_be_bytes());
    let doc = Document::parse(&packed(&[&big], 1, 1, 0)).unwrap();
    assert!(matches!(
        doc.to_value().unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::IntegerRange,
            ..
        }
    ));
    let non_string_key = packed(&[&[0xd1, 0x01, 0x01], &[0x10, 0x01]], 1, 1, 0);
    assert!(matches!(
        Document::parse(&non_string_key)
            .unwrap()
            .to_value()
            .unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::NonStringKey,
            ..
        }
    ));
    let dup = packed(
        &[&[0xd2, 0x01, 0x01, 0x02, 0x02], &[0x51, b'k'], &[0x09]],
        1,
        1,
        0,
    );
    assert!(matches!(
        Document::parse(&dup).unwrap().to_value().unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::DuplicateKey,
            ..
        }
    ));
    let set = packed(
        &[&[0xc2, 0x01, 0x02], &[0x51, b'a'], &[0x51, b'b']],
        1,
        1,
        0,
    );
    let doc = Document::parse(&set).unwrap();
    assert_eq!(doc.to_vec(), set);
    assert!(matches!(
        doc.to_value().unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::Set,
            ..
        }
    ));
    assert!(matches!(
        Document::parse(&packed(&[&[0xc1, 0x00]], 1, 1, 0)).unwrap_err(),
        Error::Cycle { .. }
    ));
    let lone_surrogate = packed(&[&[0x61, 0xd8, 0x00]], 1, 1, 0);
    let doc = Document::parse(&lone_surrogate).unwrap();
    assert_eq!(doc.to_vec(), lone_surrogate);
    assert!(matches!(
        doc.to_value().unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::BadUtf16,
            ..
        }
    ));
    let mut nan_date = vec![0x33];
    nan_date.extend_from_slice(&f64::NAN.to_bits().to_be_bytes());
    let doc = Document::parse(&packed(&[&nan_date], 1, 1, 0)).unwrap();
    assert!(matches!(
        doc.to_value().unwrap_err(),
        Error::Unrepresentable {
            problem: ValueProblem::DateRange,
            ..
        }
    ));
}

#[test]
fn odd_but_valid_layouts_are_kept_byte_for_byte() {
    // non-minimal integer widths, a float32, a short count in the extended form, a 3-byte
    // offset size, a 2-byte ref size for 4 objects, non-zero unused trailer bytes
    let objects: [&[u8]; 4] = [
        &[0xa3, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03],
        &[0x13, 0, 0, 0, 0, 0, 0, 0, 7],
        &[0x22, 0x3f, 0xc0, 0x00, 0x00],
        &[0x5f, 0x11, 0x00, 0x02, b'h', b'i'],
    ];
    let mut bytes = packed(&objects, 3, 2, 0);
    let t = bytes.len() - 32;
    bytes[t + 4] = 0xaa;
    bytes[t + 5] = 0x01; // "sort version"
    round_trips(&bytes);
    let doc = Document::parse(&bytes).unwrap();
    assert!(!doc.is_cf_layout());
    assert_eq!(doc.trailer().unused, [0, 0, 0, 0, 0xaa, 0x01]);
    let v = doc.to_value().unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a[0].as_signed_integer(), Some(7));
    assert_eq!(a[1].as_real(), Some(1.5));
    assert_eq!(a[2].as_string(), Some("hi"));

    // objects out of table order, gaps between them, a gap before the trailer, and a top
    // object that is not #0
    let mut bytes = b"bplist00".to_vec();
    bytes.extend_from_slice(&[0x51, b'x']); // #1 at 8
    bytes.extend_from_slice(&[0xee, 0xff]); // gap
    bytes.extend_from_slice(&[0xa1, 0x01]); // #0 at 12
    bytes.push(0x08); // #2 at 14 (orphan)
    let table = bytes.len() as u64;
    bytes.extend_from_slice(&[12, 8, 14]);
    bytes.extend_from_slice(b"tail");
    trailer(&mut bytes, 1, 1, 3, 0, table);
    round_trips(&bytes);
    let doc = Document::parse(&bytes).unwrap();
    assert_eq!(doc.orphans(), vec![2]);
    assert_eq!(doc.object_offset(0), Some(12));
    // bytes after the last object, before the offset table (found by fuzzing)
    let mut bytes = b"bplist00\x08\x48\xf8\x83\x00".to_vec();
    bytes.push(8);
    trailer(&mut bytes, 1, 1, 1, 0, 13);
    round_trips(&bytes);
    let mut bytes2 = packed(&[&[0x09], &[0xa1, 0x00]], 1, 1, 1);
    round_trips(&bytes2);
    bytes2.truncate(bytes2.len() - 1);
    assert!(Document::parse(&bytes2).is_err());
}

#[test]
fn many_entries_sharing_one_large_array_are_refused_before_reading_it_again() {
    // 65 536 table entries all pointing at one array of 60 000 references: reading the array
    // once per entry would allocate about 31 GB.
    let n: u64 = 65_536;
    let mut bytes = b"bplist00".to_vec();
    bytes.extend_from_slice(&[0xaf, 0x11, 0xea, 0x60]);
    bytes.extend_from_slice(&vec![0u8; 2 * 60_000]);
    let table = bytes.len() as u64;
    for _ in 0..n {
        bytes.extend_from_slice(&8u32.to_be_bytes());
    }
    trailer(&mut bytes, 4, 2, n, 0, table);
    let started = std::time::Instant::now();
    assert!(matches!(
        Document::parse(&bytes).unwrap_err(),
        Error::UnsupportedLayout {
            offset: 8,
            problem: LayoutProblem::SharedObject(..)
        }
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn shared_data_cannot_expand_into_a_huge_value() {
    // an array of 200 references to one 100 000-byte data object
    let mut data = vec![0x4f, 0x12];
    data.extend_from_slice(&100_000u32.to_be_bytes());
    data.extend_from_slice(&vec![0xab; 100_000]);
    let mut array = vec![0xaf, 0x10, 200];
    array.extend_from_slice(&[1u8; 200]);
    let bytes = packed(&[&array, &data], 4, 1, 0);
    let doc = Document::parse(&bytes).unwrap();
    assert_eq!(doc.to_vec(), bytes);
    let limits = Limits::default().with_max_value_bytes(10_000_000);
    assert!(matches!(
        doc.to_value_with(&limits).unwrap_err(),
        Error::ValueTooLarge { limit: 10_000_000 }
    ));
    assert!(doc.to_value().is_ok()); // 20 MB is within the default 256 MiB
}

#[test]
fn pointer_uniqued_duplicates_are_still_a_corefoundation_layout() {
    // CF-550 uniques by pointer: two distinct CFStrings "x" are both written. The file is a
    // layout CoreFoundation writes, though value-uniquing would have written one "x".
    let bytes = packed(
        &[
            &[0xd2, 0x01, 0x02, 0x03, 0x04],
            &[0x51, b'a'],
            &[0x51, b'b'],
            &[0x51, b'x'],
            &[0x51, b'x'],
        ],
        1,
        1,
        0,
    );
    let doc = Document::parse(&bytes).unwrap();
    assert!(doc.is_cf_layout());
    assert_eq!(doc.to_vec(), bytes);
    assert_ne!(
        zxmpp_bplist::to_vec_apple(&doc.to_value().unwrap()).unwrap(),
        bytes
    );
    // a reference to a later object, or a repeated boolean without its orphan, is not
    let forward = packed(&[&[0xa1, 0x02], &[0x09], &[0x09]], 1, 1, 0);
    assert!(!Document::parse(&forward).unwrap().is_cf_layout());
    let uniqued_bool = packed(&[&[0xa2, 0x01, 0x01], &[0x09]], 1, 1, 0);
    assert!(!Document::parse(&uniqued_bool).unwrap().is_cf_layout());
    let orphan_bool = packed(&[&[0xa2, 0x01, 0x01], &[0x09], &[0x09]], 1, 1, 0);
    assert!(Document::parse(&orphan_bool).unwrap().is_cf_layout());
}

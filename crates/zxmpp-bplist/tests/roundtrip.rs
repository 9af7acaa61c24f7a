//! Round trips with proptest, against the `plist` crate as an independent writer and reader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use proptest::prelude::*;
use zxmpp_bplist::plist::Value;
use zxmpp_bplist::{Document, to_vec_apple};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Files the `plist` crate writes (its own layout: objects not in table order, all
    /// scalars uniqued) are kept byte for byte and read as the value that was written.
    #[test]
    fn plist_crate_files_re_encode_byte_identically(value in common::value()) {
        let mut bytes = Vec::new();
        value.to_writer_binary(&mut bytes).unwrap();
        let doc = Document::parse(&bytes).unwrap();
        prop_assert_eq!(doc.to_vec(), bytes);
        prop_assert_eq!(common::canon(&doc.to_value().unwrap()), common::canon(&value));
    }

    /// What the authoring writer writes, the `plist` crate reads as the same value, and our
    /// reader keeps it as a CoreFoundation layout.
    #[test]
    fn authored_files_read_back_as_the_same_value(value in common::value()) {
        let bytes = to_vec_apple(&value).unwrap();
        let theirs = Value::from_reader(std::io::Cursor::new(&bytes)).unwrap();
        prop_assert_eq!(common::canon(&theirs), common::canon(&value));
        let doc = Document::parse(&bytes).unwrap();
        prop_assert!(doc.is_cf_layout());
        prop_assert_eq!(&doc.to_vec(), &bytes);
        prop_assert_eq!(common::canon(&doc.to_value().unwrap()), common::canon(&value));
        // authoring is a function of the value: writing what was read gives the same bytes
        prop_assert_eq!(to_vec_apple(&doc.to_value().unwrap()).unwrap(), bytes);
    }

    /// Arbitrary bytes never panic; whatever reads re-encodes to the same bytes.
    #[test]
    fn arbitrary_bytes_after_the_header(tail in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = b"bplist00".to_vec();
        bytes.extend_from_slice(&tail);
        if let Ok(doc) = Document::parse(&bytes) {
            prop_assert_eq!(doc.to_vec(), bytes);
            let _ = doc.to_value();
        }
    }
}

/// CoreFoundation sizes references by the object *count*: 255 objects need 1-byte refs, 256
/// objects 2-byte refs (the `plist` crate, sizing by the largest index, differs here).
#[test]
fn reference_size_follows_the_object_count() {
    for (n, expected) in [(254usize, 1u8), (255, 2), (65_534, 2), (65_535, 4)] {
        // an array of n distinct integers: n + 1 objects
        let value = Value::Array((0..n as i64).map(|i| Value::Integer(i.into())).collect());
        let doc = Document::from_value(&value).unwrap();
        assert_eq!(doc.trailer().num_objects, n as u64 + 1);
        assert_eq!(doc.trailer().object_ref_size, expected, "{n} integers");
    }
}

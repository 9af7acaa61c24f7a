//! Arbitrary bytes into the zxmpp-bplist reader: no panic, and the limits hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_bplist::{Document, Error, Limits};

const LIMITS: Limits = Limits::DEFAULT;

fuzz_target!(|data: &[u8]| {
    let small = Limits::default()
        .with_max_objects(64)
        .with_max_depth(8)
        .with_max_collection_len(16)
        .with_max_value_nodes(256);
    for limits in [LIMITS, small] {
        match Document::parse_with(data, &limits) {
            Ok(doc) => {
                assert!(doc.objects().len() as u64 <= limits.max_objects);
                for object in doc.objects() {
                    assert!(object.references().count() as u64 <= 2 * limits.max_collection_len);
                }
                match doc.to_value_with(&limits) {
                    Ok(_) | Err(Error::TooManyValueNodes { .. } | Error::Unrepresentable { .. }) => {}
                    Err(e) => panic!("to_value of a parsed document failed with {e:?}"),
                }
            }
            Err(e) => {
                // every reading error but the size limit names a byte offset inside the input
                if let Some(offset) = e.offset() {
                    assert!(offset <= data.len() as u64, "{e:?} past the end");
                }
            }
        }
    }
});

//! Property tests: any value tree encodes, decodes to the same tree, and re-encodes to the same
//! bytes; any bytes that decode re-encode to a fixed point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use proptest::prelude::*;
use zxmpp_typedstream::{decode, encode};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn model_encode_decode_roundtrip(a in common::archive(common::Profile { pytypedstream: false })) {
        let bytes = encode(&a).unwrap();
        let back = decode(&bytes).unwrap();
        // Debug form: compares NaN payload-blind but -0.0 apart from 0.0.
        prop_assert_eq!(format!("{back:?}"), format!("{a:?}"));
        prop_assert_eq!(encode(&back).unwrap(), bytes);
        // The JSON walk numbers objects as the reader does.
        prop_assert_eq!(common::canonical(&back), common::canonical(&a));
    }

    #[test]
    fn mutated_bytes_never_panic_and_reach_a_fixed_point(
        a in common::archive(common::Profile { pytypedstream: false }),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&a).unwrap();
        for (i, b) in edits {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(x) = decode(&bytes) {
            let once = encode(&x).unwrap();
            let y = decode(&once).unwrap();
            prop_assert_eq!(format!("{y:?}"), format!("{x:?}"));
            prop_assert_eq!(encode(&y).unwrap(), once);
        }
    }
}

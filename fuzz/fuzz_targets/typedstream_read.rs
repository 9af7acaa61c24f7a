//! Arbitrary bytes into the typedstream reader: no panic, and what decodes respects the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_typedstream::{Limits, decode_with};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default()
        .with_max_objects(64)
        .with_max_depth(16)
        .with_max_values(4096);
    if let Ok(archive) = decode_with(data, &limits) {
        assert!(archive.objects().len() <= limits.max_objects);
        // The readable view never panics either.
        let _ = archive.to_string();
    }
});

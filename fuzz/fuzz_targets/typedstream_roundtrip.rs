//! Whatever decodes must encode, and the encoding must be a fixed point.
//!
//! The writer deliberately normalises non-canonical choices (integer widths, integral floats
//! written as integers, repeated literal strings/classes), so the check is
//! `decode(encode(decode(x))) == decode(x)` and `encode(decode(encode(decode(x)))) ==
//! encode(decode(x))` rather than `encode(decode(x)) == x`; Apple-written archives are checked
//! for exact byte identity by the crate's tests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_typedstream::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(archive) = decode(data) else { return };
    let once = encode(&archive).expect("a decoded archive encodes");
    let again = decode(&once).expect("an encoded archive decodes");
    // Debug compares floats bit-faithfully enough (NaN prints as NaN, -0.0 as -0.0).
    assert_eq!(format!("{again:?}"), format!("{archive:?}"));
    assert_eq!(encode(&again).expect("re-encodes"), once);
});

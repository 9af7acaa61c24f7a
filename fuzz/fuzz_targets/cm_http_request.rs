//! Arbitrary bytes into zxmpp-cm's HTTP/1.1 request parser (sans-IO, `crates/zxmpp-cm/src/http/request.rs`,
//! included by path: the module is crate-private). It must never panic; a complete request must have used no
//! more than the input and kept to the limits, and each prefix of it must ask for more bytes (chunked bodies
//! included).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/zxmpp-cm/src/http/request.rs"]
#[allow(dead_code, unreachable_pub)]
mod request;

use request::{Limits, Parsed, parse};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_head_bytes: 1024,
        max_headers: 16,
        max_body_bytes: 4096,
        ..Limits::default()
    };
    let Ok(Parsed::Complete { request, used }) = parse(data, &limits) else {
        return;
    };
    assert!(used <= data.len());
    assert!(request.body.len() <= limits.max_body_bytes);
    assert!(!request.path.contains('?'));
    for end in [0, used / 2, used.saturating_sub(1)] {
        if end < used {
            let prefix = parse(&data[..end], &limits);
            assert!(
                matches!(prefix, Ok(Parsed::NeedHead | Parsed::NeedBody { .. })),
                "prefix of {end} bytes: {prefix:?}"
            );
            if let Ok(Parsed::NeedBody { total, .. }) = prefix {
                assert!(total > end, "prefix of {end} bytes asks for {total}");
            }
        }
    }
});

//! Arbitrary bytes into the BOSH `<body/>` parser; whatever parses must write back and parse to the same body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_bosh::{Body, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default().with_max_body_size(64 * 1024).with_max_payloads(256);
    let Ok(parsed) = Body::parse(data, &limits) else { return };
    for range in &parsed.payloads {
        assert!(range.start <= range.end && range.end <= data.len());
    }
    let written = parsed.body.to_bytes(parsed.payload_bytes());
    let again = Body::parse(&written, &Limits::default()).expect("a written body parses");
    let (mut a, mut b) = (parsed.body.clone(), again.body.clone());
    // A prefix rebound by the writer's own `xmpp` declaration may differ; everything else must not.
    a.namespaces.clear();
    b.namespaces.clear();
    assert_eq!(a, b);
    let got: Vec<&[u8]> = again.payload_bytes().collect();
    let want: Vec<&[u8]> = parsed.payload_bytes().collect();
    assert_eq!(got, want);
});

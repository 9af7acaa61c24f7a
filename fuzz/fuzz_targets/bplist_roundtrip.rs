//! Whatever zxmpp-bplist reads must write back to the same bytes; whatever value it yields must
//! survive the CoreFoundation authoring path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_bplist::{Document, to_vec_apple};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::parse(data) else {
        return;
    };
    assert_eq!(doc.to_vec(), data, "layout-keeping re-encode differs");
    if doc.is_cf_layout() {
        assert!(doc.trailer().top_object == 0);
    }
    let Ok(value) = doc.to_value() else {
        return;
    };
    let authored = to_vec_apple(&value).expect("authoring a read value");
    let again = Document::parse(&authored).expect("reading an authored file");
    assert!(again.is_cf_layout());
    assert_eq!(again.to_vec(), authored);
    let value_again = again.to_value().expect("value of an authored file");
    assert_eq!(to_vec_apple(&value_again).expect("authoring again"), authored);
});

//! Arbitrary bytes into the disco#info parser, §5.4 validation and both hashes, the writer and the `<c/>`
//! parsers: nothing may panic, and a reply that parses must read back the same after writing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_caps::{Algorithm, Caps, DiscoInfo, CapsHashSet, xep0115, xep0390};

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = DiscoInfo::parse(data) {
        let v1 = xep0115::ver(&info, &Algorithm::Sha1);
        let _ = xep0115::validate(&info);
        let v2 = xep0390::hash(&info, &Algorithm::Sha256);
        let xml = info.to_xml();
        if info.unknown.is_empty() {
            let back = DiscoInfo::parse(xml.as_bytes()).expect("written reply must parse");
            assert_eq!(back, info);
            assert_eq!(xep0115::ver(&back, &Algorithm::Sha1).ok(), v1.ok());
            assert_eq!(xep0390::hash(&back, &Algorithm::Sha256).ok(), v2.ok());
        }
    }
    let _ = Caps::parse(data);
    let _ = CapsHashSet::parse(data);
});

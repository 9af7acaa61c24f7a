#![no_main]
//! SIP-ICE blobs and address lists: reading never panics, and whatever reads writes back the
//! same bytes.

use libfuzzer_sys::fuzz_target;
use zxmpp_vc::{IpPortData, SipIce};

fuzz_target!(|data: &[u8]| {
    if let Ok(blob) = SipIce::decode(data) {
        assert_eq!(blob.to_bytes(), data);
        for g in blob.groups() {
            for (r, _) in g.classified() {
                let _ = r.effective_socket_addr();
            }
        }
    }
    if let Ok(list) = IpPortData::decode(data) {
        assert_eq!(list.to_bytes(), data);
        assert_eq!(IpPortData::from_hex(&list.to_hex()).ok(), Some(list));
    }
});

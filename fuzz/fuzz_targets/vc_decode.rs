#![no_main]
//! Whole invitations: as a binary plist, as hex text and inside a stanza. Reading never panics;
//! whatever decodes encodes, and the encoding decodes to the same participants and session.

use libfuzzer_sys::fuzz_target;
use zxmpp_vc::Invitation;

fn check(inv: &Invitation) {
    if let Ok(bytes) = inv.encode() {
        let back = Invitation::decode(&bytes).expect("an encoded invitation decodes");
        assert_eq!(back.session_id, inv.session_id);
        assert_eq!(back.invitees, inv.invitees);
        assert_eq!(
            back.ice_data.as_ref().and_then(|d| d.sip_ice()),
            inv.ice_data.as_ref().and_then(|d| d.sip_ice())
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = Invitation::decode(data) {
        check(&inv);
    }
    if let Ok(inv) = Invitation::from_hex(data) {
        check(&inv);
    }
    if let Ok((bytes, _)) = zxmpp_vc::find_invitation_hex(data) {
        let _ = Invitation::decode(&bytes);
    }
    let _ = zxmpp_vc::VcQuery::parse(data);
});

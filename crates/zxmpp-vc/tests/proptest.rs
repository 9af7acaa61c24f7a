//! Property tests: every layer round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use zxmpp_vc::{
    AddressRecord, Group, GroupHeader, GroupKind, IceData, Invitation, IpPortData, Participant,
    SipIce,
};

fn record() -> impl Strategy<Value = AddressRecord> {
    (
        any::<u16>(),
        0u16..3,
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(lead, fam, name, addr, port, trail)| {
            AddressRecord::from_raw_parts(
                lead,
                zxmpp_vc::Family::from_u16(fam),
                name,
                addr,
                port,
                trail,
            )
        })
}

fn clean_record() -> impl Strategy<Value = AddressRecord> {
    ("[a-z]{1,8}[0-9]?", any::<IpAddr>(), any::<u16>())
        .prop_map(|(name, ip, port)| AddressRecord::new(&name, SocketAddr::new(ip, port)).unwrap())
}

proptest! {
    #[test]
    fn any_bytes_in_whole_groups_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..3).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n.len() * 148))) {
        let blob = SipIce::decode(&bytes).unwrap();
        prop_assert_eq!(blob.to_bytes(), bytes.clone());
    }

    #[test]
    fn raw_records_round_trip(records in proptest::collection::vec(record(), 0..8)) {
        let list = IpPortData::new(records);
        prop_assert_eq!(IpPortData::decode(&list.to_bytes()).unwrap(), list.clone());
        prop_assert_eq!(IpPortData::from_hex(&list.to_hex()).unwrap(), list);
    }

    #[test]
    fn built_records_keep_address_and_name(r in clean_record()) {
        let back = AddressRecord::from_bytes(&r.to_bytes());
        prop_assert_eq!(back.socket_addr(), r.socket_addr());
        prop_assert_eq!(back.interface(), r.interface());
        let c = r.complement().unwrap();
        prop_assert!(c.is_complement_of(&r));
        prop_assert_eq!(c.effective_socket_addr(), r.socket_addr());
    }

    #[test]
    fn hex_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..256), ws in "[ \n\t]{0,3}") {
        let text = format!("{ws}{}{ws}", zxmpp_vc::hex::encode(&bytes));
        prop_assert_eq!(zxmpp_vc::hex::decode(text.as_bytes()).unwrap(), bytes);
    }

    #[test]
    fn invitations_round_trip_through_every_layer(
        session in any::<i64>(),
        kinds in proptest::collection::vec((any::<u32>(), any::<u32>()), 1..4),
        cands in proptest::collection::vec((clean_record(), clean_record()), 1..4),
        names in proptest::collection::vec(("[a-z]{1,10}@[a-z]{1,10}\\.example", "\\PC{0,12}", 0i64..6, any::<bool>()), 0..4),
        flags in any::<(bool, bool)>(),
    ) {
        let groups = cands.into_iter().zip(kinds.iter().cycle()).map(|((c, b), (k, x))| {
            let mut g = Group::new(GroupKind::from_u32(*k), c, b).unwrap();
            g.header.unknown_12 = *x;
            g
        }).collect();
        let mut inv = Invitation::new();
        inv.session_id = Some(session);
        inv.ice_data = Some(IceData::new(SipIce::new(groups)));
        inv.invitees = Some(names.into_iter().map(|(jid, name, state, ice)| {
            let mut p = Participant::new();
            p.presentity_id = Some(jid);
            p.presentity_name = Some(name);
            p.state = Some(state);
            p.using_ice = Some(ice);
            p
        }).collect());
        inv.security_enabled = Some(flags.0);
        inv.order_is_final = Some(flags.1);
        let bytes = inv.encode().unwrap();
        let back = Invitation::decode(&bytes).unwrap();
        prop_assert_eq!(back.encode().unwrap(), bytes.clone());
        prop_assert_eq!(back.session_id, inv.session_id);
        prop_assert_eq!(&back.invitees, &inv.invitees);
        prop_assert_eq!(
            back.ice_data.as_ref().and_then(IceData::sip_ice),
            inv.ice_data.as_ref().and_then(IceData::sip_ice)
        );
        let hex = inv.to_hex().unwrap();
        prop_assert_eq!(Invitation::from_hex(hex.as_bytes()).unwrap().encode().unwrap(), bytes);
    }
}

#[test]
fn header_new_is_the_sample_shape() {
    let h = GroupHeader::new(GroupKind::External);
    assert_eq!((h.lead, h.unknown_8, h.kind.to_u32()), (0, 1, 3));
}

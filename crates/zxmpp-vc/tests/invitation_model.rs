//! The invitation model against the sample's values as the research notes list them
//! (object table of inv.bplist), read with the `plist` crate as an independent reader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use plist::Value;
use zxmpp_vc::{Invitation, InvitationKey};

const SAMPLE: &[u8] = include_bytes!("data/invite-seed.bplist");

fn sample_value() -> Value {
    Value::from_reader(std::io::Cursor::new(SAMPLE)).unwrap()
}

#[test]
fn keys_in_order() {
    let inv = Invitation::from_plist(&sample_value()).unwrap();
    assert_eq!(
        inv.keys(),
        [
            InvitationKey::SessionId,
            InvitationKey::IceData,
            InvitationKey::InviteesList,
            InvitationKey::SecurityEnabled,
            InvitationKey::OrderIsFinal
        ]
    );
    assert!(inv.other().is_empty());
}

#[test]
fn session_and_flags() {
    let inv = Invitation::from_plist(&sample_value()).unwrap();
    assert_eq!(inv.session_id, Some(473_648_504));
    assert_eq!(inv.security_enabled, Some(false));
    assert_eq!(inv.order_is_final, Some(false));
}

#[test]
fn participants() {
    let inv = Invitation::from_plist(&sample_value()).unwrap();
    let people = inv.invitees.as_ref().unwrap();
    assert_eq!(people.len(), 2);
    let (a, b) = (&people[0], &people[1]);
    assert_eq!(
        a.presentity_id.as_deref(),
        Some("ivucica@the-evil-macbook.local")
    );
    assert_eq!(a.presentity_name.as_deref(), Some("Ivan Vu\u{010d}ica"));
    assert_eq!(
        a.vc_party_id.as_deref(),
        Some("ivucica@the-evil-macbook.local1")
    );
    assert_eq!(
        a.invited_by.as_deref(),
        Some("ivucica@the-evil-macbook.local")
    );
    assert_eq!(
        (a.state, a.reason, a.error, a.ard_role),
        (Some(0), Some(0), Some(0), Some(0))
    );
    assert_eq!(
        (a.sending_audio, a.sending_video, a.using_ice),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(
        b.presentity_id.as_deref(),
        Some("perica@the-evil-macbook.local")
    );
    assert_eq!(b.presentity_name.as_deref(), Some("perica"));
    assert_eq!(
        b.vc_party_id.as_deref(),
        Some("perica@the-evil-macbook.local2")
    );
    assert_eq!(b.state, Some(2));
    assert_eq!(b.using_ice, Some(true));
}

#[test]
fn plist_round_trip_keeps_values_and_order() {
    let v = sample_value();
    let inv = Invitation::from_plist(&v).unwrap();
    assert_eq!(inv.to_plist().unwrap(), v);
}

#[test]
fn unknown_keys_are_kept_in_place() {
    let mut v = sample_value();
    let d = v.as_dictionary_mut().unwrap();
    d.insert("VCFutureKey".into(), Value::String("x".into()));
    let inv = Invitation::from_plist(&v).unwrap();
    assert_eq!(inv.other().len(), 1);
    assert_eq!(
        inv.keys().last(),
        Some(&InvitationKey::Other("VCFutureKey".into()))
    );
    assert_eq!(inv.to_plist().unwrap(), v);
}

#[test]
fn wrong_types_are_errors() {
    let mut v = sample_value();
    v.as_dictionary_mut()
        .unwrap()
        .insert("VCSessionID".into(), Value::String("1".into()));
    let err = Invitation::from_plist(&v).unwrap_err();
    assert!(matches!(
        err,
        zxmpp_vc::Error::WrongType {
            found: "string",
            ..
        }
    ));
    assert!(Invitation::from_plist(&Value::Boolean(true)).is_err());
}

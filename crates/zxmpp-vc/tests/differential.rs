//! Differential test against Python: plistlib and pytypedstream (pinned in
//! `scripts/requirements-test.txt`) read invitations this crate decoded or encoded, and must see
//! the same values. Fails when python3 or pytypedstream is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value as Json, json};
use zxmpp_vc::plist::Value as P;
use zxmpp_vc::{
    AddressRecord, Group, GroupKind, IceData, Invitation, Participant, RecordKind, SipIce,
};

const SAMPLE: &[u8] = include_bytes!("data/invite-seed.bplist");

fn python(bplist: &[u8], name: &str) -> Json {
    let dir = std::env::temp_dir().join(format!("zxmpp-vc-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bplist).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/differential.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 must be installed (scripts/test installs the test requirements)");
    assert!(
        out.status.success(),
        "python failed (is pytypedstream installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn plist_json(v: &P) -> Json {
    match v {
        P::Dictionary(d) => {
            Json::Object(d.iter().map(|(k, v)| (k.clone(), plist_json(v))).collect())
        }
        P::Array(a) => Json::Array(a.iter().map(plist_json).collect()),
        P::Boolean(b) => json!(b),
        P::Integer(i) => json!(i.as_signed().unwrap()),
        P::String(s) => json!(s),
        other => panic!("unexpected {other:?}"),
    }
}

fn ours(inv: &Invitation) -> Json {
    let ice = inv.ice_data.as_ref().unwrap();
    let blob = ice.sip_ice().unwrap();
    let candidates: Vec<Json> = blob
        .groups()
        .iter()
        .map(|g| {
            json!({
                "kind": g.kind().to_u32(),
                "records": g.records().iter().map(|r| {
                    json!([r.interface(), r.ip().unwrap().to_string(), r.port()])
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "keys": inv.keys().iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "VCSessionID": inv.session_id,
        "VCSecurityEnabled": inv.security_enabled,
        "VCOrderIsFinal": inv.order_is_final,
        "VCInviteesList": inv.invitees.as_ref().unwrap().iter().map(|p| plist_json(&p.to_plist())).collect::<Vec<_>>(),
        "version": ice.version(),
        "CommNAT": ice.comm_nat(),
        "sip_ice_hex": zxmpp_vc::hex::encode(&blob.to_bytes()),
        "candidates": candidates,
    })
}

#[test]
fn python_reads_the_sample_as_we_do() {
    let inv = Invitation::decode(SAMPLE).unwrap();
    assert_eq!(ours(&inv), python(SAMPLE, "sample.bplist"));
}

fn person(jid: &str, name: &str, state: i64, ice: bool) -> Participant {
    let mut p = Participant::new();
    p.presentity_id = Some(jid.into());
    p.presentity_name = Some(name.into());
    p.vc_party_id = Some(format!("{jid}1"));
    p.state = Some(state);
    p.using_ice = Some(ice);
    p.sending_audio = Some(true);
    p.set_other("futureKey", P::Integer(7.into()));
    p
}

#[test]
fn python_reads_what_we_write() {
    let host = AddressRecord::new("en0", "10.0.0.9:16402".parse().unwrap()).unwrap();
    let v6 = AddressRecord::new("en1", "[2001:db8::42]:16402".parse().unwrap()).unwrap();
    let ext = AddressRecord::new("external", "203.0.113.5:51000".parse().unwrap()).unwrap();
    let cases = [
        (
            0,
            vec![Group::new(GroupKind::Local, host.clone(), host.clone()).unwrap()],
        ),
        (
            i64::from(u32::MAX) + 5,
            vec![
                Group::new(GroupKind::Local, v6.clone(), v6).unwrap(),
                Group::new(GroupKind::External, ext.clone(), host.clone()).unwrap(),
                Group::new(GroupKind::Other(9), ext, host).unwrap(),
            ],
        ),
    ];
    for (i, (session, groups)) in cases.into_iter().enumerate() {
        let mut inv = Invitation::new();
        inv.session_id = Some(session);
        inv.ice_data = Some(IceData::new(SipIce::new(groups)));
        inv.invitees = Some(vec![
            person("ana@example.com", "Ana Vu\u{010d}i\u{0107}", 0, false),
            person("bo@example.com", "Bo \u{1F600}", 2, true),
        ]);
        inv.security_enabled = Some(i == 1);
        inv.order_is_final = Some(true);
        let bytes = inv.encode().unwrap();
        assert_eq!(ours(&inv), python(&bytes, &format!("built-{i}.bplist")));
        // And the complement records came out as complements.
        let back = Invitation::decode(&bytes).unwrap();
        for g in back.ice_data.unwrap().sip_ice().unwrap().groups() {
            let kinds: Vec<_> = g.classified().map(|(_, k)| k).collect();
            assert_eq!(kinds[2], RecordKind::Complement { base: Some(1) });
        }
    }
}

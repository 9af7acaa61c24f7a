//! The `<c/>` elements (XEP-0115 §4, legacy §1.3, XEP-0390 §6), minidom parity and the iChat profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zxmpp_caps::{
    Algorithm, Caps, CapsHashSet, DiscoInfo, ICHAT_NODE, LegacyProfile, Limits, xep0115, xep0390,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn xep0115_4_c_element_parse_build_verify() {
    let xml = b"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' \
                ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>";
    let caps = Caps::parse(xml).unwrap();
    assert_eq!(caps.hash, Some(Algorithm::Sha1));
    assert_eq!(caps.node, "http://code.google.com/p/exodus");
    assert!(!caps.is_legacy());
    let written = caps.to_xml();
    assert_eq!(Caps::parse(written.as_bytes()).unwrap(), caps);
    let bytes = data("xep0115-simple.xml");
    let info = DiscoInfo::parse(&bytes).unwrap();
    assert!(caps.verify(&info).unwrap());
    let built = Caps::for_info("http://code.google.com/p/exodus", &info, Algorithm::Sha1).unwrap();
    assert_eq!(built, caps);
    assert_eq!(
        caps.ver_node(),
        "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0="
    );
}

#[test]
fn xep0115_1_3_legacy_ichat_presence() {
    // As iChat sent it (celso.io, 2005).
    let xml = b"<c ext='avcap avavail maudio audio' node='apple:ichat:caps' ver='388' \
                xmlns='http://jabber.org/protocol/caps'/>";
    let caps = Caps::parse(xml).unwrap();
    assert!(caps.is_legacy());
    assert_eq!(
        caps.ext_names().collect::<Vec<_>>(),
        ["avcap", "avavail", "maudio", "audio"]
    );
    assert_eq!(caps.ext_node("audio"), "apple:ichat:caps#audio");
    assert!(
        caps.verify(&DiscoInfo::new()).is_err(),
        "a legacy ver cannot be verified"
    );
    let presence = format!(
        "<presence xmlns='jabber:client' from='leite@netcabo.pt/iChat'><priority>0</priority>{}</presence>",
        std::str::from_utf8(xml).unwrap()
    );
    let root =
        zxmpp_xml::parse_document(presence.as_bytes(), &zxmpp_xml::Config::default()).unwrap();
    assert_eq!(Caps::from_presence(&root).unwrap(), Some(caps));
}

#[test]
fn unknown_hash_names_written_back_unchanged() {
    let xml =
        b"<c xmlns='http://jabber.org/protocol/caps' hash='x-future' node='n' ver='v' ext='a b'/>";
    let caps = Caps::parse(xml).unwrap();
    assert_eq!(caps.hash.as_ref().unwrap().name(), "x-future");
    assert!(!caps.hash.as_ref().unwrap().is_known());
    assert!(caps.to_xml().contains("hash='x-future'"));
    assert!(caps.to_xml().contains("ext='a b'"));
}

#[test]
fn xep0390_6_hash_set_build_and_parse() {
    let bytes = data("xep0390-simple.xml");
    let info = DiscoInfo::parse(&bytes).unwrap();
    let set = CapsHashSet::for_info(&info, &[Algorithm::Sha256, Algorithm::Sha3_256]).unwrap();
    // The <c/> of XEP-0390 §4.5.1.
    let spec = CapsHashSet::parse(
        br#"<c xmlns="urn:xmpp:caps">
  <hash xmlns="urn:xmpp:hashes:2" algo="sha-256">kzBZbkqJ3ADrj7v08reD1qcWUwNGHaidNUgD7nHpiw8=</hash>
  <hash xmlns="urn:xmpp:hashes:2" algo="sha3-256">79mdYAfU9rEdTOcWDO7UEAt6E56SUzk/g6TnqUeuD9Q=</hash>
</c>"#,
    )
    .unwrap();
    assert_eq!(set, spec);
    assert_eq!(CapsHashSet::parse(set.to_xml().as_bytes()).unwrap(), set);
    assert_eq!(set.preferred().unwrap().algo, Algorithm::Sha3_256);
    assert!(set.hashes.iter().all(|h| h.verify(&info).unwrap()));
    assert!(CapsHashSet::parse(b"<c xmlns='urn:xmpp:caps'><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>!!</hash></c>").is_err());
}

#[test]
fn minidom_and_zero_copy_parsers_agree() {
    for file in [
        "xep0115-complex.xml",
        "xep0390-complex.xml",
        "xep0115-prefix-trap.xml",
    ] {
        let bytes = data(file);
        let ours = DiscoInfo::parse(&bytes).unwrap();
        let element: minidom::Element = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
        let theirs = DiscoInfo::from_minidom(&element, &Limits::default()).unwrap();
        assert_eq!(ours, theirs, "{file}");
        let back = ours.to_minidom().unwrap();
        assert_eq!(
            DiscoInfo::from_minidom(&back, &Limits::default()).unwrap(),
            ours
        );
    }
}

#[test]
fn written_xml_reads_back_with_escapes() {
    let info = DiscoInfo::new()
        .with_node("n#'\"<&>")
        .with_identity(
            zxmpp_caps::Identity::new("client", "pc")
                .with_name("a<b&c/'\"\t\n")
                .with_lang("en"),
        )
        .with_feature("mood+notify")
        .with_form(zxmpp_caps::DataForm::result("urn:f").with_field("v", ["<&>", "\r\n x"]));
    let xml = info.to_xml();
    assert_eq!(DiscoInfo::parse(xml.as_bytes()).unwrap(), info);
}

#[test]
fn values_with_references_cdata_and_line_ends() {
    let xml = "<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data' type='result'>\
               <field var='FORM_TYPE' type='hidden'><value>urn:f</value></field><field var='v'>\
               <value>a&amp;b</value><value><![CDATA[<c>]]></value><value>d\r\ne</value><value/><value>plain</value>\
               </field></x></query>";
    let info = DiscoInfo::parse(xml.as_bytes()).unwrap();
    assert_eq!(
        info.forms[0].fields[1].values,
        ["a&b", "<c>", "d\ne", "", "plain"]
    );
}

#[test]
fn limits_are_enforced() {
    let mut xml = String::from("<query xmlns='http://jabber.org/protocol/disco#info'>");
    for i in 0..5000 {
        xml.push_str(&format!("<feature var='f{i}'/>"));
    }
    xml.push_str("</query>");
    let err = DiscoInfo::parse_with(
        xml.as_bytes(),
        &zxmpp_xml::Config::default().max_stanza_size(1 << 20),
        &Limits::default(),
    );
    assert!(
        matches!(
            err,
            Err(zxmpp_caps::Error::TooMany {
                what: "features",
                limit: 4096
            })
        ),
        "{err:?}"
    );
}

#[test]
fn ichat_profile_answers_ext_nodes() {
    let ichat = LegacyProfile::ichat("448");
    assert_eq!(
        ichat.caps().to_xml(),
        "<c xmlns='http://jabber.org/protocol/caps' node='apple:ichat:caps' ver='448' ext='avavail avcap audio video maudio mvideo'/>"
    );
    let avcap = ichat.answer(Some("apple:ichat:caps#avcap")).unwrap();
    assert_eq!(avcap.features, ["apple:iq:vc:capable"]);
    assert_eq!(avcap.node.as_deref(), Some("apple:ichat:caps#avcap"));
    let ver = ichat.answer(Some("apple:ichat:caps#448")).unwrap();
    assert!(ver.has_feature("apple:profile:bundle-transfer"));
    assert!(!ver.has_feature("apple:iq:vc:audio"));
    let bare = ichat.answer(None).unwrap();
    for f in [
        "apple:iq:vc:available",
        "apple:iq:vc:capable",
        "apple:iq:vc:audio",
        "apple:iq:vc:video",
        "apple:iq:vc:multiaudio",
        "apple:iq:vc:multivideo",
    ] {
        assert!(bare.has_feature(f), "{f}");
    }
    assert!(ichat.answer(Some("apple:ichat:caps#nope")).is_none());
    assert!(ichat.answer(Some("http://other#avcap")).is_none());
    assert_eq!(ichat.node, ICHAT_NODE);
    // The answers are themselves well-formed replies.
    assert!(xep0115::validate(&bare).is_ok());
    assert!(xep0390::check(&bare).is_ok());
}

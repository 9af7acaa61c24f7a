#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Spec vectors (XEP-0115 v1.6 §5.2/§5.3, XEP-0390 §4.5) and the shared `expected.tsv`, plus hand-worked
//! vectors for the traps: each expected `ver` was computed from a verification string written by hand from
//! the spec text (`printf '%s' S | openssl dgst -binary -sha1 | base64`), not by this crate.

use zxmpp_caps::{Algorithm, DiscoInfo, Error, IllFormed, xep0115, xep0390};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn check(file: &str, method: &str, expected: &str) {
    let bytes = data(file);
    let info = DiscoInfo::parse(&bytes).unwrap();
    let (scheme, algo) = method.split_once(':').unwrap();
    let algo = Algorithm::from_name(algo);
    let got = match scheme {
        "xep0115" => xep0115::ver(&info, &algo).unwrap(),
        "xep0390" => xep0390::hash(&info, &algo).unwrap(),
        other => panic!("unknown method {other}"),
    };
    assert_eq!(got.to_base64(), expected, "{file} {method}");
}

/// Every row of the shared table, so that a row added there cannot be forgotten here.
#[test]
fn expected_tsv_every_row() {
    let tsv = String::from_utf8(data("expected.tsv")).unwrap();
    let mut rows = 0;
    for line in tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        check(cols[0], cols[1], cols[2]);
        rows += 1;
    }
    assert_eq!(rows, 15);
}

#[test]
fn xep0115_5_2_simple() {
    check(
        "xep0115-simple.xml",
        "xep0115:sha-1",
        "QgayPKawpkPSDYmwT/WM94uAlu0=",
    );
    let bytes = data("xep0115-simple.xml");
    let info = DiscoInfo::parse(&bytes).unwrap();
    assert_eq!(
        xep0115::verification_string(&info).unwrap(),
        "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<\
         http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
    );
}

#[test]
fn xep0115_5_3_complex() {
    check(
        "xep0115-complex.xml",
        "xep0115:sha-1",
        "q07IKJEyjvHSyhy//CH0CxmKi8w=",
    );
    let bytes = data("xep0115-complex.xml");
    let info = DiscoInfo::parse(&bytes).unwrap();
    assert_eq!(
        xep0115::verification_string(&info).unwrap(),
        "client/pc/el/\u{3a8} 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<\
         http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<\
         http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<\
         os_version<10.5.1<software<Psi<software_version<0.11<"
    );
}

#[test]
fn xep0115_5_3_complex_as_iq() {
    let doc = format!(
        "<iq xmlns='jabber:client' type='result' id='disco1'>{}</iq>",
        String::from_utf8(data("xep0115-complex.xml")).unwrap()
    );
    let info = DiscoInfo::parse(doc.as_bytes()).unwrap();
    assert_eq!(
        xep0115::ver(&info, &Algorithm::Sha1).unwrap().to_base64(),
        "q07IKJEyjvHSyhy//CH0CxmKi8w="
    );
}

#[test]
fn xep0115_5_1_prefix_trap_sha1() {
    check(
        "xep0115-prefix-trap.xml",
        "xep0115:sha-1",
        "ab4tAHdVvpRBekzuNbuR7VJUKdI=",
    );
}

#[test]
fn xep0115_5_simple_in_xep0390() {
    check(
        "xep0115-simple.xml",
        "xep0390:sha-256",
        "CYEpCSTmIyvtrwic1NPddIpuV44E9NGYGaZx1kYKFoE=",
    );
    check(
        "xep0115-simple.xml",
        "xep0390:sha3-256",
        "/fOmdIBCqXbCjeHTHaKCnW90b5+dHiZpFuN97rpwMd8=",
    );
    check(
        "xep0115-complex.xml",
        "xep0390:sha-256",
        "/BacfE59IRIgwKWYvbHbplf2gjaSlzyPAJOCBNqTdkY=",
    );
    check(
        "xep0115-complex.xml",
        "xep0390:sha3-256",
        "NgHEYN05wsM4116WBZ0IlblXXvZjxICD49fsq9xdezM=",
    );
    check(
        "xep0115-prefix-trap.xml",
        "xep0390:sha-256",
        "nn5M8WAei42Qo/BrgwzsWnQ4puyZ5vFwxFbdPHxRs8o=",
    );
    check(
        "xep0115-prefix-trap.xml",
        "xep0390:sha3-256",
        "NfLCh/W1yuCY9Jq9+eAXk8jSdxhepVMxc5FO1KdaFfM=",
    );
}

#[test]
fn xep0390_4_5_1_simple() {
    check(
        "xep0390-simple.xml",
        "xep0390:sha-256",
        "kzBZbkqJ3ADrj7v08reD1qcWUwNGHaidNUgD7nHpiw8=",
    );
    check(
        "xep0390-simple.xml",
        "xep0390:sha3-256",
        "79mdYAfU9rEdTOcWDO7UEAt6E56SUzk/g6TnqUeuD9Q=",
    );
    check(
        "xep0390-simple.xml",
        "xep0115:sha-1",
        "GRREviyyjLzK2wK4QLX5NNF9FmQ=",
    );
    // The spec's hexdump of the whole hash input is 0x1d9 bytes long and ends in 1e 1c 1c.
    let bytes = data("xep0390-simple.xml");
    let input = xep0390::input(&DiscoInfo::parse(&bytes).unwrap()).unwrap();
    assert_eq!(input.len(), 0x1d9);
    assert!(input.ends_with(b"BombusMod\x1f\x1e\x1c\x1c"));
}

#[test]
fn xep0390_4_5_2_complex() {
    check(
        "xep0390-complex.xml",
        "xep0390:sha-256",
        "u79ZroNJbdSWhdSp311mddz44oHHPsEBntQ5b1jqBSY=",
    );
    check(
        "xep0390-complex.xml",
        "xep0390:sha3-256",
        "XpUJzLAc93258sMECZ3FJpebkzuyNXDzRNwQog8eycg=",
    );
    check(
        "xep0390-complex.xml",
        "xep0115:sha-1",
        "cePxJUNNZuDoNDbCMqs2VNEcJeY=",
    );
    let bytes = data("xep0390-complex.xml");
    let input = xep0390::input(&DiscoInfo::parse(&bytes).unwrap()).unwrap();
    assert_eq!(input.len(), 0x543);
}

#[test]
fn xep0390_4_3_hash_node_round_trip() {
    let node = "urn:xmpp:caps#sha-256.u79ZroNJbdSWhdSp311mddz44oHHPsEBntQ5b1jqBSY=";
    let (algo, value) = xep0390::parse_hash_node(node).unwrap();
    assert_eq!(algo, Algorithm::Sha256);
    assert_eq!(xep0390::hash_node(&algo, &value), node);
    // An algorithm name containing a full stop splits at the last one.
    let (algo, _) = xep0390::parse_hash_node("urn:xmpp:caps#x.y.AAAA").unwrap();
    assert_eq!(algo.name(), "x.y");
    assert!(xep0390::parse_hash_node("urn:xmpp:caps#sha-256").is_err());
}

fn ver(xml: &str) -> Result<String, Error> {
    let info = DiscoInfo::parse(xml.as_bytes())?;
    Ok(xep0115::ver(&info, &Algorithm::Sha1)?.to_base64())
}

const Q: &str = "xmlns='http://jabber.org/protocol/disco#info'";

// ---- Hand-worked traps (the ones slixmpp gets wrong are listed in docs/caps.md) ----

/// No identity: S starts with the first feature, no leading `<`.
#[test]
fn xep0115_5_1_no_identity() {
    let xml = format!("<query {Q}><feature var='http://jabber.org/protocol/disco#info'/></query>");
    assert_eq!(ver(&xml).unwrap(), "5oELdajIcemv8XhwdXDTnJgWaOM=");
}

/// No feature: S ends after the identities, no extra `<`.
#[test]
fn xep0115_5_1_no_feature() {
    let xml = format!("<query {Q}><identity category='client' type='pc'/></query>");
    assert_eq!(ver(&xml).unwrap(), "5rmn0FzA5p88QvLQoLSAYUehLJQ=");
}

/// A feature with an empty var is still a feature: it contributes `<`.
#[test]
fn xep0115_5_1_empty_feature() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><feature var='a'/><feature var=''/></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "/RtqPIVEkhXPKxW7AE91MKjjzbg=");
}

/// A field with no `<value/>` contributes only `var<`.
#[test]
fn xep0115_5_1_field_without_value() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><feature var='http://jabber.org/protocol/disco#info'/>\
         <x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:example:form</value>\
         </field><field var='full'><value>x</value></field><field var='empty'/></x></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "fZn1x+aH7xdoG8L9oRvZp/yByww=");
}

/// Identities sort on xml:lang as a string of its own: `en` before `en-GB` (joined strings would put
/// `en-GB/` first, since `-` sorts before `/`).
#[test]
fn xep0115_5_1_lang_prefix() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc' xml:lang='en-GB' name='Tkabber'/>\
         <identity category='client' type='pc' xml:lang='en' name='Tkabber'/></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "KRgBN3m9ghrLyMEUfo9X94PjCXc=");
}

/// Fields sort by var and values by character data, whatever the document order.
#[test]
fn xep0115_5_1_unsorted_fields() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'>\
         <field var='b'><value>3</value></field><field var='FORM_TYPE' type='hidden'><value>urn:example:form</value>\
         </field><field var='a'><value>2</value><value>1</value></field></x></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "Z0CnogRkUkVGpbirocZU/eouFo0=");
}

/// §5.4 3.6: a form whose FORM_TYPE is not hidden, or that has none, is left out, processing goes on.
#[test]
fn xep0115_5_4_non_hidden_or_missing_form_type_ignored() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'>\
         <field var='FORM_TYPE'><value>urn:example:form</value></field><field var='a'><value>1</value></field></x>\
         <x xmlns='jabber:x:data' type='result'><field var='a'><value>1</value></field></x></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "5rmn0FzA5p88QvLQoLSAYUehLJQ=");
}

/// Strings compare after XML unescaping: `&#x2B;` is `+`.
#[test]
fn xep0115_5_1_escaped_plus() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><feature var='http://jabber.org/protocol/mood&#x2B;notify'/>\
         <feature var='http://jabber.org/protocol/mood'/></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "OMIEIzSWWnlFs2EDxwtAn9/Tcsw=");
}

/// A value that starts with U+FEFF keeps it (it is character data, not a byte order mark).
#[test]
fn xep0115_5_1_value_starting_with_feff() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'>\
         <field var='FORM_TYPE' type='hidden'><value>urn:f</value></field><field var='a'><value>\u{feff}D</value></field></x></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "oFCcp837QR8bssNVSe5X0feMbMo=");
}

/// A FORM_TYPE repeating the same value is not ill-formed (only *differing* values are).
#[test]
fn xep0115_5_4_equal_form_type_values() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'>\
         <field var='FORM_TYPE' type='hidden'><value>urn:example:form</value><value>urn:example:form</value></field>\
         <field var='a'><value>1</value></field></x></query>"
    );
    assert_eq!(ver(&xml).unwrap(), "GMdftmF14KUl/XWoejPAnT4L13Q=");
}

fn ill(xml: &str) -> IllFormed {
    match ver(xml) {
        Err(Error::IllFormed(reason)) => reason,
        other => panic!("expected ill-formed, got {other:?}"),
    }
}

#[test]
fn xep0115_5_4_duplicate_identity() {
    let xml = format!(
        "<query {Q}><identity category='client' type='pc' name='A'/><identity category='client' type='pc' name='A'/></query>"
    );
    assert!(matches!(ill(&xml), IllFormed::DuplicateIdentity { .. }));
    // Missing and empty xml:lang are the same string.
    let xml = format!(
        "<query {Q}><identity category='client' type='pc' xml:lang=''/><identity category='client' type='pc'/></query>"
    );
    assert!(matches!(ill(&xml), IllFormed::DuplicateIdentity { .. }));
    // Differing only in name is allowed by XEP-0115 (XEP-0030 forbids it, XEP-0115 does not reject it).
    let xml = format!(
        "<query {Q}><identity category='client' type='pc' name='A'/><identity category='client' type='pc' name='B'/></query>"
    );
    assert!(ver(&xml).is_ok());
}

#[test]
fn xep0115_5_4_duplicate_feature() {
    let xml = format!("<query {Q}><feature var='a&#x2B;b'/><feature var='a+b'/></query>");
    assert_eq!(ill(&xml), IllFormed::DuplicateFeature("a+b".into()));
}

#[test]
fn xep0115_5_4_duplicate_form_type() {
    let form = "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:f</value></field></x>";
    let xml = format!("<query {Q}>{form}{form}</query>");
    assert_eq!(ill(&xml), IllFormed::DuplicateFormType("urn:f".into()));
}

#[test]
fn xep0115_5_4_form_type_differing_values() {
    let xml = format!(
        "<query {Q}><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>\
         <value>urn:a</value><value>urn:b</value></field></x></query>"
    );
    assert_eq!(ill(&xml), IllFormed::ConflictingFormType);
}

#[test]
fn xep0390_4_1_errors() {
    let info = |xml: String| DiscoInfo::parse(xml.as_bytes()).unwrap().into_owned();
    let other = info(format!("<query {Q}><foo xmlns='urn:x'/></query>"));
    assert_eq!(xep0390::check(&other), Err(IllFormed::UnexpectedChild));
    assert!(
        xep0115::ver(&other, &Algorithm::Sha1).is_ok(),
        "XEP-0115 ignores other children"
    );
    let tabular = info(format!(
        "<query {Q}><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>u</value>\
         </field><reported/></x></query>"
    ));
    assert_eq!(xep0390::check(&tabular), Err(IllFormed::TabularForm));
    let no_type = info(format!(
        "<query {Q}><x xmlns='jabber:x:data' type='result'><field var='a'/></x></query>"
    ));
    assert_eq!(xep0390::check(&no_type), Err(IllFormed::MissingFormType));
}

/// XEP-0390 §4.1: an identity without xml:lang inherits the one of the <query/> or the <iq/>.
#[test]
fn xep0390_4_1_inherited_lang() {
    let explicit = DiscoInfo::parse(
        format!(
            "<query {Q}><identity category='client' type='pc' xml:lang='en' name='A'/></query>"
        )
        .as_bytes(),
    )
    .unwrap()
    .into_owned();
    let inherited = DiscoInfo::parse(
        format!("<iq xmlns='jabber:client' xml:lang='en'><query {Q}><identity category='client' type='pc' name='A'/></query></iq>")
            .as_bytes(),
    )
    .unwrap()
    .into_owned();
    assert_eq!(
        xep0390::hash(&explicit, &Algorithm::Sha256).unwrap(),
        xep0390::hash(&inherited, &Algorithm::Sha256).unwrap()
    );
    // The inherited value is kept explicit when written back.
    let xml = inherited.to_xml();
    let round = DiscoInfo::parse(xml.as_bytes()).unwrap();
    assert_eq!(round.lang.as_deref(), Some("en"));
}

/// Every algorithm on a known input (RFC 1321, FIPS 180, FIPS 202, RFC 7693 "abc" test vectors).
#[test]
fn algorithms_known_answers_abc() {
    let hex = |a: Algorithm| {
        a.digest(b"abc")
            .unwrap()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(hex(Algorithm::Md5), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        hex(Algorithm::Sha1),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex(Algorithm::Sha224),
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
    );
    assert_eq!(
        hex(Algorithm::Sha256),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(Algorithm::Sha384),
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
    );
    assert!(hex(Algorithm::Sha512).starts_with("ddaf35a193617aba"));
    assert_eq!(
        hex(Algorithm::Sha3_256),
        "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
    );
    assert!(hex(Algorithm::Sha3_512).starts_with("b751850b1a57168a"));
    assert_eq!(
        hex(Algorithm::Blake2b256),
        "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
    );
    assert!(hex(Algorithm::Blake2b512).starts_with("ba80a53f981c4d0d"));
    assert!(matches!(
        Algorithm::from_name("md2").digest(b""),
        Err(Error::UnsupportedAlgorithm(_))
    ));
}

//! Prints the table of `docs/caps.md`: for each spec vector and each trap, the XEP-0115 `ver` (SHA-1) that
//! the spec gives, that zxmpp-caps computes, and that xmpp-parsers 0.23 computes.
//!
//! Run: `cargo run -p zxmpp-benches --example caps-compare`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use xmpp_parsers::disco::DiscoInfoResult;
use xmpp_parsers::hashes::Algo;
use zxmpp_caps::{Algorithm, DiscoInfo, xep0115};

const Q: &str = "xmlns='http://jabber.org/protocol/disco#info'";

fn file(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../crates/zxmpp-caps/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn zxmpp(xml: &str) -> String {
    match DiscoInfo::parse(xml.as_bytes()) {
        Err(e) => format!("error: {e}"),
        Ok(info) => match xep0115::ver(&info, &Algorithm::Sha1) {
            Ok(v) => format!("`{v}`"),
            Err(e) => format!("refused: {e}"),
        },
    }
}

fn parsers(xml: &str) -> String {
    let elem: minidom::Element = match xml.parse() {
        Ok(e) => e,
        Err(e) => return format!("error: {e}"),
    };
    let disco = match DiscoInfoResult::try_from(elem) {
        Ok(d) => d,
        Err(e) => return format!("error: {e}"),
    };
    let input = xmpp_parsers::caps::compute_disco(&disco);
    format!(
        "`{}`",
        STANDARD.encode(
            xmpp_parsers::caps::hash_caps(&input, Algo::Sha_1)
                .unwrap()
                .hash
        )
    )
}

fn main() {
    let dup_form = "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:f</value></field></x>";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "XEP-0115 §5.2 simple",
            file("xep0115-simple.xml"),
            "`QgayPKawpkPSDYmwT/WM94uAlu0=` (§5.2)",
        ),
        (
            "XEP-0115 §5.3 complex",
            file("xep0115-complex.xml"),
            "`q07IKJEyjvHSyhy//CH0CxmKi8w=` (§5.3)",
        ),
        (
            "prefix trap (`mood`, `mood+notify`)",
            file("xep0115-prefix-trap.xml"),
            "`ab4tAHdVvpRBekzuNbuR7VJUKdI=` (expected.tsv)",
        ),
        (
            "XEP-0390 §4.5.1 simple",
            file("xep0390-simple.xml"),
            "`GRREviyyjLzK2wK4QLX5NNF9FmQ=` (expected.tsv)",
        ),
        (
            "XEP-0390 §4.5.2 complex (unsorted fields)",
            file("xep0390-complex.xml"),
            "`cePxJUNNZuDoNDbCMqs2VNEcJeY=` (expected.tsv)",
        ),
        (
            "no identity",
            format!("<query {Q}><feature var='http://jabber.org/protocol/disco#info'/></query>"),
            "`5oELdajIcemv8XhwdXDTnJgWaOM=` (hand-worked)",
        ),
        (
            "field without `<value/>`",
            format!(
                "<query {Q}><identity category='client' type='pc'/><feature var='http://jabber.org/protocol/disco#info'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:example:form</value></field><field var='full'><value>x</value></field><field var='empty'/></x></query>"
            ),
            "`fZn1x+aH7xdoG8L9oRvZp/yByww=` (hand-worked)",
        ),
        (
            "xml:lang `en` and `en-GB`",
            format!(
                "<query {Q}><identity category='client' type='pc' xml:lang='en-GB' name='Tkabber'/><identity category='client' type='pc' xml:lang='en' name='Tkabber'/></query>"
            ),
            "`KRgBN3m9ghrLyMEUfo9X94PjCXc=` (hand-worked)",
        ),
        (
            "unsorted fields and values",
            format!(
                "<query {Q}><identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'><field var='b'><value>3</value></field><field var='FORM_TYPE' type='hidden'><value>urn:example:form</value></field><field var='a'><value>2</value><value>1</value></field></x></query>"
            ),
            "`Z0CnogRkUkVGpbirocZU/eouFo0=` (hand-worked)",
        ),
        (
            "FORM_TYPE not hidden / missing (form ignored)",
            format!(
                "<query {Q}><identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>urn:example:form</value></field><field var='a'><value>1</value></field></x><x xmlns='jabber:x:data' type='result'><field var='a'><value>1</value></field></x></query>"
            ),
            "`5rmn0FzA5p88QvLQoLSAYUehLJQ=` (hand-worked)",
        ),
        (
            "`&#x2B;` is `+`",
            format!(
                "<query {Q}><identity category='client' type='pc'/><feature var='http://jabber.org/protocol/mood&#x2B;notify'/><feature var='http://jabber.org/protocol/mood'/></query>"
            ),
            "`OMIEIzSWWnlFs2EDxwtAn9/Tcsw=` (hand-worked)",
        ),
        (
            "duplicate identity (§5.4 3.3)",
            format!(
                "<query {Q}><identity category='client' type='pc' name='A'/><identity category='client' type='pc' name='A'/></query>"
            ),
            "ill-formed",
        ),
        (
            "duplicate feature (§5.4 3.4)",
            format!("<query {Q}><feature var='a&#x2B;b'/><feature var='a+b'/></query>"),
            "ill-formed",
        ),
        (
            "two forms, one FORM_TYPE (§5.4 3.5)",
            format!("<query {Q}>{dup_form}{dup_form}</query>"),
            "ill-formed",
        ),
        (
            "FORM_TYPE with differing values (§5.4 3.5)",
            format!(
                "<query {Q}><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:a</value><value>urn:b</value></field></x></query>"
            ),
            "ill-formed",
        ),
    ];
    println!("| case | spec | zxmpp-caps | xmpp-parsers 0.23 |");
    println!("|---|---|---|---|");
    for (name, xml, spec) in &cases {
        println!("| {name} | {spec} | {} | {} |", zxmpp(xml), parsers(xml));
    }
}

//! Stream headers and stanzas from the examples of RFC 6120 (and XEP-0206 / XEP-0114 headers).

mod common;

use common::{HEADER, Seen, stream};
use zxmpp_xml::{Config, ErrorKind, Event, STREAMS_NS, Status, StreamReader, parse_document};

/// RFC 6120 §4.2: the initiating entity's stream header, then the receiver's reply with features.
#[test]
fn rfc6120_4_2_opening_a_stream() {
    let input = b"<?xml version='1.0'?>\
<stream:stream from='juliet@im.example.com' to='im.example.com' version='1.0' xml:lang='en' \
xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    let mut r = StreamReader::new(Config::default());
    let Status::Complete(Event::StreamOpen(h)) = r.next(input).unwrap() else {
        panic!("no header")
    };
    assert_eq!(h.from().as_deref(), Some("juliet@im.example.com"));
    assert_eq!(h.to().as_deref(), Some("im.example.com"));
    assert_eq!(h.version().as_deref(), Some("1.0"));
    assert_eq!(h.lang().as_deref(), Some("en"));
    assert_eq!(h.id(), None);
    assert_eq!(h.content_namespace(), "jabber:client");
    assert_eq!(h.element().ns(), STREAMS_NS);
    assert_eq!(h.element().qname(), "stream:stream");
    assert_eq!(h.element().offset(), 21);
}

/// RFC 6120 §4.3.2 and §6.4.1: stream features with prefixed names and the SASL namespace.
#[test]
fn rfc6120_4_3_2_stream_features() {
    let input = format!(
        "{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism>\
<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    );
    let mut r = StreamReader::new(Config::default());
    let buf = input.as_bytes();
    assert!(matches!(
        r.next(buf).unwrap(),
        Status::Complete(Event::StreamOpen(_))
    ));
    let Status::Complete(Event::Stanza(f)) = r.next(buf).unwrap() else {
        panic!()
    };
    assert!(f.is("features", STREAMS_NS));
    assert_eq!(f.prefix(), Some("stream"));
    let tls = f
        .child("starttls", "urn:ietf:params:xml:ns:xmpp-tls")
        .unwrap();
    assert!(
        tls.child("required", "urn:ietf:params:xml:ns:xmpp-tls")
            .is_some()
    );
    let mechs: Vec<String> = f
        .child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl")
        .unwrap()
        .children()
        .map(|m| m.text().into_owned())
        .collect();
    assert_eq!(mechs, ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"]);
    assert!(r.next(buf).unwrap().is_partial());
}

/// RFC 6120 §4.3.3 and §6.4.6: after SASL success the initiator sends a new header: a restart.
#[test]
fn rfc6120_6_4_6_restart_after_sasl() {
    let input = format!(
        "{HEADER}<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s2' version='1.0'>\
<iq type='result' id='b1'/></stream:stream>"
    );
    let (seen, err) = stream(input.as_bytes());
    assert_eq!(err, None);
    assert!(matches!(seen[0], Seen::Open { .. }));
    assert!(
        matches!(&seen[1], Seen::Stanza { name, ns, .. } if name == "success" && ns == "urn:ietf:params:xml:ns:xmpp-sasl")
    );
    assert!(
        matches!(&seen[2], Seen::Restart { attrs, .. } if attrs.iter().any(|(k, v)| k == "id" && v == "s2"))
    );
    assert!(
        matches!(&seen[3], Seen::Stanza { name, ns, .. } if name == "iq" && ns == "jabber:client")
    );
    assert_eq!(seen[4], Seen::Close);
    assert_eq!(seen.len(), 5);
}

/// RFC 6120 §4.9.3: a stream error, then the close; only whitespace may follow.
#[test]
fn rfc6120_4_9_stream_error_and_close() {
    let input = format!(
        "{HEADER}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>no such host</text></stream:error></stream:stream>\n  "
    );
    let (seen, err) = stream(input.as_bytes());
    assert_eq!(err, None);
    assert!(
        matches!(&seen[1], Seen::Stanza { name, ns, .. } if name == "error" && ns == STREAMS_NS)
    );
    assert_eq!(seen.last(), Some(&Seen::Close));

    let after = format!("{input}<presence/>");
    let (_, err) = stream(after.as_bytes());
    let err = err.unwrap();
    assert_eq!(err.kind(), &ErrorKind::DataAfterEnd);
    assert_eq!(err.offset(), input.len() as u64);
}

/// RFC 6120 §8.2.1 / §5.4.3.3: a message with xml:lang inherited from the stream and a body.
#[test]
fn rfc6120_8_message_with_language() {
    let input = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en'>\
<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat'>\
<body>Wherefore art thou, Romeo?</body><body xml:lang='cs'>Pro\xC4\x8D&#x20;jsi ty, Romeo?</body></message>";
    let mut r = StreamReader::new(Config::default());
    let _ = r.next(input).unwrap();
    let Status::Complete(Event::Stanza(m)) = r.next(input).unwrap() else {
        panic!()
    };
    assert_eq!(m.attr("type").as_deref(), Some("chat"));
    assert_eq!(m.lang().as_deref(), Some("en"));
    let bodies: Vec<_> = m
        .children()
        .map(|b| (b.lang().unwrap().into_owned(), b.text().into_owned()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("en".to_owned(), "Wherefore art thou, Romeo?".to_owned()),
            ("cs".to_owned(), "Proč jsi ty, Romeo?".to_owned())
        ]
    );
}

/// XEP-0114 §3: the component namespace as the stream's default.
#[test]
fn xep0114_component_stream() {
    let input = b"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' \
to='plays.shakespeare.lit'><handshake>aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e</handshake>";
    let (seen, err) = stream(input);
    assert_eq!(err, None);
    assert!(
        matches!(&seen[1], Seen::Stanza { name, ns, .. } if name == "handshake" && ns == "jabber:component:accept")
    );
}

/// XEP-0206 §7: a BOSH body is a single document whose payloads carry their own namespace.
#[test]
fn xep0206_body_as_document() {
    let body = b"<body rid='1573741824' sid='SomeSID' xmlns='http://jabber.org/protocol/httpbind'>\
<message to='contact@example.com' xmlns='jabber:client'><body>I said &quot;Hi!&quot;</body></message>\
<message to='friend@example.com' xmlns='jabber:client'><body>I said &quot;Hi!&quot;</body></message></body>";
    let root = parse_document(body, &Config::default()).unwrap();
    assert!(root.is("body", "http://jabber.org/protocol/httpbind"));
    assert_eq!(root.attr("rid").as_deref(), Some("1573741824"));
    let msgs: Vec<_> = root.children().collect();
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        assert_eq!(m.ns(), "jabber:client");
        assert_eq!(
            m.child("body", "jabber:client").unwrap().text(),
            "I said \"Hi!\""
        );
        assert_eq!(&body[m.range()], m.as_bytes());
        // The range read alone is the same stanza.
        let alone = parse_document(m.as_bytes(), &Config::default()).unwrap();
        assert_eq!(alone.to_minidom(), m.to_minidom());
    }
    assert_eq!(msgs[1].attr("to").as_deref(), Some("friend@example.com"));
}

/// Whitespace keepalives between stanzas (RFC 6120 §4.6.1) are not stanzas.
#[test]
fn rfc6120_4_6_1_whitespace_keepalive() {
    let input = format!("{HEADER} \n <presence/>\n\n\t <presence/> ");
    let (seen, err) = stream(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(seen.len(), 3);
}

#[test]
fn declaration_and_bom_only_at_start() {
    let with_bom = format!("\u{FEFF}{HEADER}<presence/>");
    let (seen, err) = stream(with_bom.as_bytes());
    assert_eq!(err, None);
    assert!(matches!(seen[0], Seen::Open { offset: 24, .. }));

    let late_decl = format!("{HEADER}<?xml version='1.0'?>");
    let err = stream(late_decl.as_bytes()).1.unwrap();
    assert_eq!(err.kind(), &ErrorKind::MisplacedDeclaration);
    assert_eq!(err.offset(), HEADER.len() as u64);

    let late_bom = format!("{HEADER}\u{FEFF}<presence/>");
    let err = stream(late_bom.as_bytes()).1.unwrap();
    assert_eq!(err.kind(), &ErrorKind::MisplacedBom);
    assert_eq!(err.offset(), HEADER.len() as u64);
}

#[test]
fn namespaces_redeclared_and_prefixed_inside_stanzas() {
    let input = format!(
        "{HEADER}<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query>\
<p:x xmlns:p='urn:example:p' p:a='1' a='2'><p:y/><z/></p:x></iq>"
    );
    let (_, err) = stream(input.as_bytes());
    assert_eq!(err, None);
    let mut r = StreamReader::new(Config::default());
    let buf = input.as_bytes();
    let _ = r.next(buf).unwrap();
    let Status::Complete(Event::Stanza(iq)) = r.next(buf).unwrap() else {
        panic!()
    };
    let kids: Vec<_> = iq.children().collect();
    assert!(kids[0].is("query", "jabber:iq:roster"));
    assert!(
        kids[0]
            .children()
            .next()
            .unwrap()
            .is("item", "jabber:iq:roster")
    );
    assert!(kids[1].is("x", "urn:example:p"));
    assert_eq!(kids[1].attr_ns("urn:example:p", "a").as_deref(), Some("1"));
    assert_eq!(kids[1].attr_ns("", "a").as_deref(), Some("2"));
    let inner: Vec<_> = kids[1]
        .children()
        .map(|c| (c.name().to_owned(), c.ns().to_owned()))
        .collect();
    assert_eq!(
        inner,
        [
            ("y".into(), "urn:example:p".into()),
            ("z".into(), "jabber:client".into())
        ]
    );
}

#[test]
fn text_nodes_cdata_and_references() {
    let doc = b"<a xmlns='x'>one &amp; <![CDATA[<two>]]> &#x41;<b/>three\r\nfour</a>";
    let root = parse_document(doc, &Config::default()).unwrap();
    let texts: Vec<String> = root
        .nodes()
        .map(|n| match n {
            zxmpp_xml::Node::Text(t) => t.into_owned(),
            zxmpp_xml::Node::Element(e) => format!("<{}>", e.name()),
        })
        .collect();
    assert_eq!(texts, ["one & <two> A", "<b>", "three\nfour"]);
    assert_eq!(root.text(), "one & <two> Athree\nfour");
}

#[test]
fn fragments_mode_reads_stanzas_without_header() {
    let input = b"<message xmlns='jabber:client'/>\n<iq xmlns='jabber:client' type='get'><ping xmlns='urn:xmpp:ping'/></iq>";
    let (seen, err) = common::read_whole(StreamReader::fragments(Config::default()), input);
    assert_eq!(err, None);
    assert_eq!(seen.len(), 2);
}

#[test]
fn discard_keeps_only_the_stanza_in_progress() {
    let mut r = StreamReader::new(Config::default());
    let mut buf = format!("{HEADER}<presence/><message><body>par").into_bytes();
    assert!(matches!(
        r.next(&buf).unwrap(),
        Status::Complete(Event::StreamOpen(_))
    ));
    assert!(matches!(
        r.next(&buf).unwrap(),
        Status::Complete(Event::Stanza(_))
    ));
    assert!(r.next(&buf).unwrap().is_partial());
    let n = r.discard();
    assert_eq!(n, HEADER.len() + "<presence/>".len());
    buf.drain(..n);
    assert_eq!(buf, b"<message><body>par");
    buf.extend_from_slice(b"tial</body></message>");
    let Status::Complete(Event::Stanza(m)) = r.next(&buf).unwrap() else {
        panic!()
    };
    assert_eq!(m.offset(), n as u64);
    assert_eq!(m.range(), 0..buf.len());
    assert_eq!(m.child("body", "jabber:client").unwrap().text(), "partial");
}

#[test]
fn shrinking_the_buffer_without_discard_is_an_error() {
    let mut r = StreamReader::new(Config::default());
    let buf = format!("{HEADER}<presence");
    assert!(matches!(
        r.next(buf.as_bytes()).unwrap(),
        Status::Complete(Event::StreamOpen(_))
    ));
    assert!(r.next(buf.as_bytes()).unwrap().is_partial());
    let err = r.next(&buf.as_bytes()[..10]).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BufferShrunk);
    assert_eq!(
        r.next(buf.as_bytes()).unwrap_err().kind(),
        &ErrorKind::AlreadyFailed
    );
}

#[test]
fn every_truncation_of_a_stream_is_partial_not_an_error() {
    let input = format!(
        "{HEADER}<message to='a@b' id='x&amp;y'><body>caf\u{e9} &lt;3 <![CDATA[x]]></body></message><presence/></stream:stream>"
    );
    let bytes = input.as_bytes();
    let (full, err) = stream(bytes);
    assert_eq!(err, None);
    for cut in 0..bytes.len() {
        let (seen, err) = stream(&bytes[..cut]);
        assert_eq!(err, None, "truncated at {cut}");
        assert!(full.starts_with(&seen), "truncated at {cut}");
    }
}

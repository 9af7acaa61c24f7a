//! Deterministic corpora for the benchmarks and bench-compare programs.
//!
//! [`mixed`] is an XMPP client stream of about 10 MB: chat messages of varied length with
//! entities and non-ASCII text, presence with entity capabilities, roster results with up to 200
//! items, disco#info results and nested XHTML-IM. [`small`] is a stream of ~200-byte messages.
//! Every stanza declares its namespace, so that it can also be parsed alone (minidom per stanza).

use std::ops::Range;

/// A generated stream: the bytes and where each stanza is.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The whole stream, header first, not closed.
    pub bytes: Vec<u8>,
    /// The byte range of each stanza in `bytes`.
    pub stanzas: Vec<Range<usize>>,
}

impl Corpus {
    /// The number of bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the corpus is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The stream header every corpus starts with.
pub const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='bench' version='1.0' xml:lang='en'>";

/// A small deterministic generator (xorshift64*), so that corpora are the same on every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "hello",
    "world",
    "wherefore",
    "art",
    "thou",
    "Romeo",
    "&amp;",
    "&lt;3",
    "&gt;",
    "&quot;quoted&quot;",
    "café",
    "naïve",
    "Grüße",
    "日本語",
    "привет",
    "😀",
    "emoji",
    "soft",
    "light",
    "window",
    "breaks",
    "It",
    "is",
    "the",
    "east",
    "and",
    "Juliet",
    "sun",
    "&#x263A;",
    "—",
    "ok",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    s
}

fn push(out: &mut Vec<u8>, stanzas: &mut Vec<Range<usize>>, stanza: &str) {
    let start = out.len();
    out.extend_from_slice(stanza.as_bytes());
    stanzas.push(start..out.len());
    out.push(b'\n');
}

fn message(rng: &mut Rng, i: usize, words: usize) -> String {
    format!(
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' to='juliet@example.com/balcony' \
type='chat' id='m{i}'><body>{}</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        sentence(rng, words)
    )
}

fn presence(rng: &mut Rng, i: usize) -> String {
    format!(
        "<presence xmlns='jabber:client' from='user{i}@example.org/res{}'><show>away</show><status>{}</status>\
<priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://gajim.org' \
ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>",
        rng.below(100),
        sentence(rng, 4)
    )
}

fn roster(rng: &mut Rng, i: usize) -> String {
    let mut s = format!(
        "<iq xmlns='jabber:client' type='result' id='roster{i}' to='juliet@example.com/balcony'>\
<query xmlns='jabber:iq:roster' ver='ver{i}'>"
    );
    for j in 0..1 + rng.below(200) {
        s.push_str(&format!(
            "<item jid='contact{j}@example.net' name='Contact {j} {}' subscription='both'><group>Friends</group></item>",
            WORDS[rng.below(WORDS.len())]
        ));
    }
    s.push_str("</query></iq>");
    s
}

fn disco(i: usize) -> String {
    format!(
        "<iq xmlns='jabber:client' type='result' id='disco{i}' from='romeo@example.net/orchard'>\
<query xmlns='http://jabber.org/protocol/disco#info' node='https://gajim.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>\
<identity category='client' type='pc' name='Gajim'/><identity category='client' type='pc' xml:lang='en' name='Gajim'/>\
<feature var='http://jabber.org/protocol/caps'/><feature var='http://jabber.org/protocol/disco#info'/>\
<feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/muc'/>\
<feature var='urn:xmpp:ping'/><feature var='urn:xmpp:receipts'/><feature var='http://jabber.org/protocol/mood+notify'/>\
<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>\
<field var='os'><value>Linux</value></field><field var='software'><value>Gajim</value></field>\
<field var='software_version'><value>1.8.0</value></field></x></query></iq>"
    )
}

fn xhtml(rng: &mut Rng, i: usize) -> String {
    format!(
        "<message xmlns='jabber:client' to='juliet@example.com' id='x{i}' type='chat'><body>{0}</body>\
<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>\
<p style='font-weight:bold'>{0} <em>{1}</em> <a href='https://example.com/?a=1&amp;b=2'>link</a></p>\
<ul><li><strong>{1}</strong></li><li><span style='color:red'>{0}</span></li></ul></body></html></message>",
        sentence(rng, 6),
        sentence(rng, 3)
    )
}

/// The mixed corpus, about `target` bytes (10 MB for the benchmarks).
#[must_use]
pub fn mixed(target: usize) -> Corpus {
    let mut rng = Rng::new(0x005E_ED0F_2010);
    let mut bytes = HEADER.as_bytes().to_vec();
    let mut stanzas = Vec::new();
    let mut i = 0;
    while bytes.len() < target {
        let stanza = match rng.below(20) {
            0..=9 => {
                let long = rng.below(10) == 0;
                let words = 1 + rng.below(if long { 200 } else { 20 });
                message(&mut rng, i, words)
            }
            10..=13 => presence(&mut rng, i),
            14 => roster(&mut rng, i),
            15..=16 => disco(i),
            _ => xhtml(&mut rng, i),
        };
        push(&mut bytes, &mut stanzas, &stanza);
        i += 1;
    }
    Corpus { bytes, stanzas }
}

/// The small-message corpus: ~200-byte chat messages, about `target` bytes.
#[must_use]
pub fn small(target: usize) -> Corpus {
    let mut rng = Rng::new(0xC0FFEE);
    let mut bytes = HEADER.as_bytes().to_vec();
    let mut stanzas = Vec::new();
    let mut i = 0;
    while bytes.len() < target {
        let words = 8 + rng.below(8);
        let stanza = format!(
            "<message xmlns='jabber:client' to='juliet@example.com' id='s{i}' type='chat'><body>{}</body></message>",
            sentence(&mut rng, words)
        );
        push(&mut bytes, &mut stanzas, &stanza);
        i += 1;
    }
    Corpus { bytes, stanzas }
}

/// The parsers compared: each reads a whole corpus and returns how many items it saw.
pub mod peers {
    use super::Corpus;
    use zxmpp_xml::{Config, Event, Status, StreamReader};

    /// zxmpp-xml, fed in `chunk`-byte pieces as from a socket, dropping consumed bytes.
    #[must_use]
    pub fn zxmpp(corpus: &Corpus, chunk: usize) -> usize {
        let mut reader = StreamReader::new(Config::default());
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut stanzas = 0;
        for piece in corpus.bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match reader.next(&buf) {
                    Ok(Status::Complete(Event::Stanza(_))) => stanzas += 1,
                    Ok(Status::Complete(_)) => {}
                    Ok(Status::Partial) => break,
                    Err(e) => panic!("corpus rejected: {e}"),
                }
            }
            let n = reader.discard();
            buf.drain(..n);
        }
        stanzas
    }

    /// quick-xml's raw `Reader` over the whole buffer: events only, no namespaces, no checks.
    #[must_use]
    pub fn quick_xml_raw(corpus: &Corpus) -> usize {
        let mut reader = quick_xml::Reader::from_reader(&corpus.bytes[..]);
        let mut events = 0;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) | Err(_) => return events,
                Ok(_) => events += 1,
            }
        }
    }

    /// quick-xml's namespace-resolving `NsReader` over the whole buffer.
    #[must_use]
    pub fn quick_xml_ns(corpus: &Corpus) -> usize {
        let mut reader = quick_xml::NsReader::from_reader(&corpus.bytes[..]);
        let mut events = 0;
        loop {
            match reader.read_resolved_event() {
                Ok((_, quick_xml::events::Event::Eof)) | Err(_) => return events,
                Ok(_) => events += 1,
            }
        }
    }

    /// rxml's namespace-aware `Parser` over the whole buffer.
    #[must_use]
    pub fn rxml(corpus: &Corpus) -> usize {
        use rxml::Parse;
        let mut parser = rxml::Parser::default();
        let mut input = &corpus.bytes[..];
        let mut events = 0;
        loop {
            match parser.parse(&mut input, true) {
                Ok(Some(_)) => events += 1,
                Ok(None) | Err(_) => return events,
            }
        }
    }

    /// minidom, one stanza at a time (each declares its namespace).
    #[must_use]
    pub fn minidom(corpus: &Corpus) -> usize {
        let mut n = 0;
        for range in &corpus.stanzas {
            let text = std::str::from_utf8(&corpus.bytes[range.clone()]).unwrap_or_default();
            if text.parse::<minidom::Element>().is_ok() {
                n += 1;
            }
        }
        n
    }
}

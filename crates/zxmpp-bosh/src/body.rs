//! The `<body/>` wrapper: a typed model of its attributes, a zero-copy parser and a writer.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::types::parse_u64;
use crate::{BodyType, Condition, Error, Rid, Version};

/// The `http://jabber.org/protocol/httpbind` namespace of `<body/>`.
pub const NS_HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
/// The `urn:xmpp:xbosh` namespace of XEP-0206's `version`, `restart` and `restartlogic` attributes.
pub const NS_XBOSH: &str = "urn:xmpp:xbosh";
/// The XMPP stream namespace (`xmlns:stream`), declared on bodies that carry `<stream:features/>`.
pub const NS_STREAM: &str = "http://etherx.jabber.org/streams";

/// Limits applied when parsing a `<body/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted body in bytes (default 1 MiB).
    pub max_body_size: usize,
    /// Largest number of payloads in one body (default 1024).
    pub max_payloads: usize,
    /// Deepest element nesting (default 64).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_size: 1 << 20,
            max_payloads: 1024,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_body_size`].
    #[must_use]
    pub const fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Sets [`Limits::max_payloads`].
    #[must_use]
    pub const fn with_max_payloads(mut self, count: usize) -> Self {
        self.max_payloads = count;
        self
    }

    /// Sets [`Limits::max_depth`].
    #[must_use]
    pub const fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
}

/// Every attribute of a `<body/>` wrapper (XEP-0124 and XEP-0206), typed; unknown attributes are kept.
///
/// Build one with `Body::default()` and set fields; write it with [`Body::write`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Body {
    /// `rid`: the request id.
    pub rid: Option<Rid>,
    /// `sid`: the session id.
    pub sid: Option<String>,
    /// `wait`: longest time (s) the connection manager may hold a request.
    pub wait: Option<u32>,
    /// `hold`: most requests the connection manager may hold at once.
    pub hold: Option<u32>,
    /// `requests`: most simultaneous requests the client may make.
    pub requests: Option<u32>,
    /// `polling`: shortest allowed polling interval (s).
    pub polling: Option<u32>,
    /// `inactivity`: longest allowed inactivity (s).
    pub inactivity: Option<u32>,
    /// `maxpause`: longest pause (s) a client may request.
    pub maxpause: Option<u32>,
    /// `pause`: a requested pause (s).
    pub pause: Option<u32>,
    /// `ack`: acknowledged rid (or `1` in the session creation request).
    pub ack: Option<Rid>,
    /// `report`: the rid whose response the client seems to have missed.
    pub report: Option<Rid>,
    /// `time`: milliseconds since the reported response was sent.
    pub time: Option<u64>,
    /// `key`: the next key of the key sequence.
    pub key: Option<String>,
    /// `newkey`: the first key of a new key sequence.
    pub newkey: Option<String>,
    /// `type`: `terminate` or `error`.
    pub kind: Option<BodyType>,
    /// `condition`: the terminal binding condition.
    pub condition: Option<Condition>,
    /// `to`: target domain (of the first or a new stream).
    pub to: Option<String>,
    /// `from`: originator (client) or backend server identity (connection manager).
    pub from: Option<String>,
    /// `route`: `proto:host:port` of the server to reach.
    pub route: Option<String>,
    /// `secure`: whether the connection manager considers the session secure.
    pub secure: Option<bool>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// `ver`: the BOSH version.
    pub ver: Option<Version>,
    /// `content`: the HTTP Content-Type responses must carry.
    pub content: Option<String>,
    /// `charsets`: space-separated character sets the connection manager converts.
    pub charsets: Option<String>,
    /// `accept`: comma-separated content encodings the connection manager decompresses.
    pub accept: Option<String>,
    /// `stream`: stream name (XEP-0124 §16).
    pub stream: Option<String>,
    /// `authid`: the XMPP stream id (XEP-0206, obsolete).
    pub authid: Option<String>,
    /// `xmpp:version` (XEP-0206 §3).
    pub xmpp_version: Option<String>,
    /// `xmpp:restart` (XEP-0206 §5).
    pub xmpp_restart: Option<bool>,
    /// `xmpp:restartlogic` (XEP-0206 §4).
    pub xmpp_restartlogic: Option<bool>,
    /// Other attributes, in document order, as (qualified name, value); written back unchanged.
    pub other_attributes: Vec<(String, String)>,
    /// Namespace prefixes declared on the body other than its own and `xmpp` (e.g. `stream`), as
    /// (prefix, URI). Payloads that use these prefixes need the declarations to be parsed alone.
    pub namespaces: Vec<(String, String)>,
}

/// A parsed `<body/>`: its attributes and the byte ranges of its payloads in the input (zero-copy).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedBody<'a> {
    /// The attributes.
    pub body: Body,
    /// Byte range of each payload (child element) in [`ParsedBody::input`], in document order.
    pub payloads: Vec<Range<usize>>,
    /// The text of a `<uri/>` child in the httpbind namespace (`see-other-uri`, XEP-0124 §17.2).
    pub uri: Option<String>,
    /// The input the ranges refer to.
    pub input: &'a [u8],
}

impl<'a> ParsedBody<'a> {
    /// The payloads' bytes.
    pub fn payload_bytes(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let input = self.input;
        self.payloads
            .iter()
            .filter_map(move |range| input.get(range.clone()))
    }

    /// Whether the body carries no payload.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }
}

fn bad(name: &str, value: &str) -> Error {
    Error::InvalidAttribute {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

fn num_u32(name: &str, value: &str) -> Result<u32, Error> {
    parse_u64(value)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad(name, value))
}

fn boolean(name: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(name, value)),
    }
}

fn rid(name: &str, value: &str) -> Result<Rid, Error> {
    Rid::parse(value).ok_or_else(|| bad(name, value))
}

impl Body {
    /// Parses one `<body/>` document, checking `limits`. Payload bytes are not copied: see
    /// [`ParsedBody::payloads`].
    ///
    /// # Errors
    /// [`Error::BodyTooLarge`], [`Error::Xml`] (with the byte offset), [`Error::NotBody`],
    /// [`Error::TooManyPayloads`], [`Error::TextInBody`], [`Error::InvalidAttribute`].
    pub fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<ParsedBody<'a>, Error> {
        if input.len() > limits.max_body_size {
            return Err(Error::BodyTooLarge {
                size: input.len(),
                limit: limits.max_body_size,
            });
        }
        let config = zxmpp_xml::Config::default()
            .max_stanza_size(limits.max_body_size.max(1))
            .max_depth(limits.max_depth.max(1));
        let root = zxmpp_xml::parse_document(input, &config).map_err(|e| Error::Xml {
            offset: e.offset(),
            reason: e.to_string(),
        })?;
        if !root.is("body", NS_HTTPBIND) {
            return Err(Error::NotBody);
        }
        let mut body = Body::default();
        for attr in root.attrs() {
            let qname = attr.qname();
            if attr.is_namespace_declaration() {
                // Prefixes declared on the body (the root, so every declaration in scope is here).
                if let Some(prefix) = qname.strip_prefix("xmlns:") {
                    let uri = attr.value();
                    // `xmpp` for XEP-0206 is declared again by the writer when needed.
                    if !(prefix == "xmpp" && uri == NS_XBOSH) {
                        body.namespaces.push((prefix.to_owned(), uri.into_owned()));
                    }
                }
                continue;
            }
            let value = attr.value();
            let v: &str = &value;
            match qname {
                "rid" => body.rid = Some(rid(qname, v)?),
                "sid" => body.sid = Some(v.to_owned()),
                "wait" => body.wait = Some(num_u32(qname, v)?),
                "hold" => body.hold = Some(num_u32(qname, v)?),
                "requests" => body.requests = Some(num_u32(qname, v)?),
                "polling" => body.polling = Some(num_u32(qname, v)?),
                "inactivity" => body.inactivity = Some(num_u32(qname, v)?),
                "maxpause" => body.maxpause = Some(num_u32(qname, v)?),
                "pause" => body.pause = Some(num_u32(qname, v)?),
                "ack" => body.ack = Some(rid(qname, v)?),
                "report" => body.report = Some(rid(qname, v)?),
                "time" => body.time = Some(parse_u64(v).ok_or_else(|| bad(qname, v))?),
                "key" => body.key = Some(v.to_owned()),
                "newkey" => body.newkey = Some(v.to_owned()),
                "type" => body.kind = Some(BodyType::parse(v)),
                "condition" => body.condition = Some(Condition::parse(v)),
                "to" => body.to = Some(v.to_owned()),
                "from" => body.from = Some(v.to_owned()),
                "route" => body.route = Some(v.to_owned()),
                "secure" => body.secure = Some(boolean(qname, v)?),
                "xml:lang" => body.lang = Some(v.to_owned()),
                "ver" => body.ver = Some(Version::parse(v).ok_or_else(|| bad(qname, v))?),
                "content" => body.content = Some(v.to_owned()),
                "charsets" => body.charsets = Some(v.to_owned()),
                "accept" => body.accept = Some(v.to_owned()),
                "stream" => body.stream = Some(v.to_owned()),
                "authid" => body.authid = Some(v.to_owned()),
                _ => {
                    let xbosh_local = (attr.ns() == NS_XBOSH).then(|| attr.local_name());
                    match xbosh_local {
                        Some("version") => body.xmpp_version = Some(v.to_owned()),
                        Some("restart") => body.xmpp_restart = Some(boolean(qname, v)?),
                        Some("restartlogic") => body.xmpp_restartlogic = Some(boolean(qname, v)?),
                        _ => body.other_attributes.push((qname.to_owned(), v.to_owned())),
                    }
                }
            }
        }
        let mut payloads = Vec::new();
        let mut uri = None;
        for node in root.nodes() {
            match node {
                zxmpp_xml::Node::Element(child) => {
                    if payloads.len() >= limits.max_payloads {
                        return Err(Error::TooManyPayloads {
                            limit: limits.max_payloads,
                        });
                    }
                    if child.is("uri", NS_HTTPBIND) && child.prefix().is_none() {
                        uri = Some(child.text().trim().to_owned());
                    }
                    payloads.push(child.range());
                }
                zxmpp_xml::Node::Text(text) => {
                    if !text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
                        return Err(Error::TextInBody {
                            offset: root.offset(),
                        });
                    }
                }
            }
        }
        Ok(ParsedBody {
            body,
            payloads,
            uri,
            input,
        })
    }

    /// Whether this body is a session creation request (no `sid`, has `rid`).
    #[must_use]
    pub fn is_creation_request(&self) -> bool {
        self.sid.is_none() && self.rid.is_some()
    }

    /// Whether `type='terminate'`.
    #[must_use]
    pub fn is_terminate(&self) -> bool {
        self.kind == Some(BodyType::Terminate)
    }

    /// Writes `<body …>payloads</body>` (or `<body …/>` when there is no payload) into `out`.
    ///
    /// Payloads are copied verbatim: each must be one complete element. The `xmpp` prefix is declared when an
    /// XEP-0206 attribute is present; [`Body::namespaces`] are declared as given.
    pub fn write<'p>(&self, out: &mut Vec<u8>, payloads: impl IntoIterator<Item = &'p [u8]>) {
        out.extend_from_slice(b"<body");
        let mut attr = |name: &str, value: &str| {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"='");
            escape_attr(out, value);
            out.push(b'\'');
        };
        let num = |v: u64| v.to_string();
        if let Some(v) = self.rid {
            attr("rid", &num(v.get()));
        }
        if let Some(v) = &self.sid {
            attr("sid", v);
        }
        if let Some(v) = &self.kind {
            attr("type", v.as_str());
        }
        if let Some(v) = &self.condition {
            attr("condition", v.as_str());
        }
        if let Some(v) = &self.stream {
            attr("stream", v);
        }
        if let Some(v) = &self.to {
            attr("to", v);
        }
        if let Some(v) = &self.from {
            attr("from", v);
        }
        if let Some(v) = &self.route {
            attr("route", v);
        }
        if let Some(v) = &self.lang {
            attr("xml:lang", v);
        }
        if let Some(v) = &self.ver {
            attr("ver", &v.to_string());
        }
        if let Some(v) = self.wait {
            attr("wait", &num(v.into()));
        }
        if let Some(v) = self.hold {
            attr("hold", &num(v.into()));
        }
        if let Some(v) = self.requests {
            attr("requests", &num(v.into()));
        }
        if let Some(v) = self.polling {
            attr("polling", &num(v.into()));
        }
        if let Some(v) = self.inactivity {
            attr("inactivity", &num(v.into()));
        }
        if let Some(v) = self.maxpause {
            attr("maxpause", &num(v.into()));
        }
        if let Some(v) = self.pause {
            attr("pause", &num(v.into()));
        }
        if let Some(v) = self.ack {
            attr("ack", &num(v.get()));
        }
        if let Some(v) = self.report {
            attr("report", &num(v.get()));
        }
        if let Some(v) = self.time {
            attr("time", &num(v));
        }
        if let Some(v) = &self.key {
            attr("key", v);
        }
        if let Some(v) = &self.newkey {
            attr("newkey", v);
        }
        if let Some(v) = &self.content {
            attr("content", v);
        }
        if let Some(v) = &self.charsets {
            attr("charsets", v);
        }
        if let Some(v) = &self.accept {
            attr("accept", v);
        }
        if let Some(v) = self.secure {
            attr("secure", if v { "true" } else { "false" });
        }
        if let Some(v) = &self.authid {
            attr("authid", v);
        }
        if let Some(v) = &self.xmpp_version {
            attr("xmpp:version", v);
        }
        if let Some(v) = self.xmpp_restart {
            attr("xmpp:restart", if v { "true" } else { "false" });
        }
        if let Some(v) = self.xmpp_restartlogic {
            attr("xmpp:restartlogic", if v { "true" } else { "false" });
        }
        for (name, value) in &self.other_attributes {
            attr(name, value);
        }
        attr("xmlns", NS_HTTPBIND);
        let xbosh = self.xmpp_version.is_some()
            || self.xmpp_restart.is_some()
            || self.xmpp_restartlogic.is_some();
        if xbosh {
            attr("xmlns:xmpp", NS_XBOSH);
        }
        for (prefix, uri) in &self.namespaces {
            if !(xbosh && prefix == "xmpp") {
                attr(&format!("xmlns:{prefix}"), uri);
            }
        }
        let mut payloads = payloads.into_iter().peekable();
        if payloads.peek().is_none() {
            out.extend_from_slice(b"/>");
            return;
        }
        out.push(b'>');
        for payload in payloads {
            out.extend_from_slice(payload);
        }
        out.extend_from_slice(b"</body>");
    }

    /// [`Body::write`] into a new vector.
    #[must_use]
    pub fn to_bytes<'p>(&self, payloads: impl IntoIterator<Item = &'p [u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write(&mut out, payloads);
        out
    }

    /// A `<body type='terminate' condition='…'/>` answer, e.g. for a request that reaches no session.
    #[must_use]
    pub fn terminate(condition: Option<Condition>) -> Self {
        Self {
            kind: Some(BodyType::Terminate),
            condition,
            ..Self::default()
        }
    }
}

fn escape_attr(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'\'' => out.extend_from_slice(b"&apos;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#9;"),
            b'\n' => out.extend_from_slice(b"&#10;"),
            b'\r' => out.extend_from_slice(b"&#13;"),
            _ => out.push(b),
        }
    }
}

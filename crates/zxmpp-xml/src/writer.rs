//! The writing side: escaping, and the stream header and close.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::reader::STREAMS_NS;

/// Escapes character data: `&`, `<` and `>` become references.
///
/// ```
/// assert_eq!(zxmpp_xml::escape_text("a < b & c"), "a &lt; b &amp; c");
/// ```
#[must_use]
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Escapes an attribute value for either quote: `&`, `<`, `>`, `'` and `"` become references, and
/// tab, line feed and carriage return become character references so that they survive
/// attribute-value normalisation.
///
/// ```
/// assert_eq!(zxmpp_xml::escape_attr("it's \"x\"\n"), "it&apos;s &quot;x&quot;&#xA;");
/// ```
#[must_use]
pub fn escape_attr(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> Cow<'_, str> {
    let special = |b: u8| match b {
        b'&' | b'<' | b'>' => true,
        b'\'' | b'"' | b'\t' | b'\n' | b'\r' => attr,
        _ => false,
    };
    let Some(first) = s.bytes().position(special) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' if attr => out.push_str("&apos;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#x9;"),
            '\n' if attr => out.push_str("&#xA;"),
            '\r' if attr => out.push_str("&#xD;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Builds an opening stream header (RFC 6120 §4.7).
///
/// ```
/// use zxmpp_xml::StreamOpen;
/// let header = StreamOpen::new("jabber:client").to("example.com").version("1.0").lang("en").to_string();
/// assert_eq!(
///     header,
///     "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
///      xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOpen {
    content_ns: String,
    declaration: bool,
    attrs: Vec<(String, String)>,
}

impl StreamOpen {
    /// A header whose content namespace is `content_ns` (`jabber:client`, `jabber:server`, ...).
    #[must_use]
    pub fn new(content_ns: impl Into<String>) -> Self {
        Self {
            content_ns: content_ns.into(),
            declaration: true,
            attrs: Vec::new(),
        }
    }

    /// Whether to write the XML declaration first (default: yes; leave it out on a restart).
    #[must_use]
    pub fn declaration(mut self, yes: bool) -> Self {
        self.declaration = yes;
        self
    }

    /// Adds an attribute (written in the order added).
    #[must_use]
    pub fn attr(mut self, qname: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push((qname.into(), value.into()));
        self
    }

    /// Sets `to`.
    #[must_use]
    pub fn to(self, jid: impl Into<String>) -> Self {
        self.attr("to", jid)
    }

    /// Sets `from`.
    #[must_use]
    pub fn from(self, jid: impl Into<String>) -> Self {
        self.attr("from", jid)
    }

    /// Sets `id`.
    #[must_use]
    pub fn id(self, id: impl Into<String>) -> Self {
        self.attr("id", id)
    }

    /// Sets `version`.
    #[must_use]
    pub fn version(self, version: impl Into<String>) -> Self {
        self.attr("version", version)
    }

    /// Sets `xml:lang`.
    #[must_use]
    pub fn lang(self, lang: impl Into<String>) -> Self {
        self.attr("xml:lang", lang)
    }
}

impl std::fmt::Display for StreamOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.declaration {
            f.write_str("<?xml version='1.0'?>")?;
        }
        write!(
            f,
            "<stream:stream xmlns='{}' xmlns:stream='{STREAMS_NS}'",
            escape_attr(&self.content_ns)
        )?;
        for (k, v) in &self.attrs {
            write!(f, " {k}='{}'", escape_attr(v))?;
        }
        f.write_char('>')
    }
}

/// The stream's close tag.
pub const STREAM_CLOSE: &str = "</stream:stream>";

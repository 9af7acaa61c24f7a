//! Borrowed views of validated elements: names, namespaces, attributes, children and text.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::attrs::{AttrScanner, RawAttr};
use crate::chars::unescape;
use crate::tokens::{Token, Tokens};

/// The namespace URI bound to the `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A namespace binding owned by a reader (from a stream header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    // Boxed strings: a stream header's bindings live as long as the stream, with no spare capacity.
    pub(crate) prefix: Box<str>,
    pub(crate) uri: Box<str>,
}

/// Prefix bindings declared inside a document: prefix and URI.
pub(crate) type Bindings<'a> = Vec<(&'a str, Cow<'a, str>)>;

/// The namespace context of an element's content.
#[derive(Debug, Clone)]
pub(crate) struct Scope<'a> {
    pub(crate) default_ns: Cow<'a, str>,
    pub(crate) lang: Option<Cow<'a, str>>,
    /// Bindings from outside the buffer (a stream header), searched last.
    pub(crate) outer: &'a [Binding],
    /// Bindings declared inside the viewed bytes, innermost last.
    pub(crate) inner: Option<Arc<Bindings<'a>>>,
}

impl<'a> Scope<'a> {
    pub(crate) fn empty() -> Self {
        Self {
            default_ns: Cow::Borrowed(""),
            lang: None,
            outer: &[],
            inner: None,
        }
    }

    /// The URI bound to `prefix`, borrowed for the scope's lifetime where possible.
    pub(crate) fn resolve_cow(&self, prefix: &str) -> Option<Cow<'a, str>> {
        if let Some(inner) = &self.inner
            && let Some((_, uri)) = inner.iter().rev().find(|(p, _)| *p == prefix)
        {
            return Some(uri.clone());
        }
        if let Some(b) = self.outer.iter().rev().find(|b| *b.prefix == *prefix) {
            return Some(Cow::Borrowed(&*b.uri));
        }
        (prefix == "xml").then_some(Cow::Borrowed(XML_NS))
    }
}

/// What the reader learned about a start tag's namespace-relevant attributes, as ranges
/// (offset from the tag's `<`, length) of their raw values, so that building the view needs no
/// second look at the attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KnownDecls {
    pub(crate) xmlns: Option<(usize, usize)>,
    pub(crate) lang: Option<(usize, usize)>,
    /// Whether the tag declares prefixes (then the attributes are read again).
    pub(crate) prefixed: bool,
    /// Whether the namespace in scope around the element is known to hold no `&`, tab, line
    /// feed or carriage return: an `xmlns` value with the same bytes then needs no unescaping
    /// (`false` when not known).
    pub(crate) default_ns_verbatim: bool,
}

/// Converts validated bytes to `&str`; the readers have checked them, so the fallback is unused.
pub(crate) fn as_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// A zero-copy view of one element: its bytes in the caller's buffer, its name, namespace and
/// attributes, and navigation over its children and text.
///
/// Views come from a reader that has already validated every byte of the element, so nothing
/// here can fail. Text and attribute values are unescaped on demand and borrowed when they
/// contain no references.
#[derive(Clone)]
pub struct Element<'a> {
    src: &'a [u8],
    base: u64,
    start: usize,
    content: usize,
    end: usize,
    /// Length of the qualified name (after the `<`), and where its colon is: the name's `&str`s
    /// are made when asked for.
    name_len: usize,
    colon: Option<usize>,
    ns: Cow<'a, str>,
    attrs: &'a [u8],
    scope: Scope<'a>,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("name", &self.qname())
            .field("ns", &self.ns)
            .field("range", &self.range())
            .finish()
    }
}

impl<'a> Element<'a> {
    /// Builds the view of the element whose start tag begins at `start` and whose last byte is
    /// `end - 1`. `content` is the index just past the start tag (equal to `end` when empty).
    /// `name_len` is the length of the qualified name in the start tag.
    pub(crate) fn build(
        src: &'a [u8],
        base: u64,
        (start, content, end): (usize, usize, usize),
        name_len: usize,
        parent: &Scope<'a>,
        known: Option<KnownDecls>,
    ) -> Self {
        let qname = src.get(start + 1..start + 1 + name_len).unwrap_or_default();
        let tag_close = if content == end && src.get(..end).is_some_and(|s| s.ends_with(b"/>")) {
            end.saturating_sub(2)
        } else {
            content.saturating_sub(1)
        };
        let attrs = src.get(start + 1 + name_len..tag_close).unwrap_or_default();
        let mut scope = parent.clone();
        let mut inner: Option<Bindings<'a>> = None;
        let value = |(at, len): (usize, usize)| {
            unescape(
                as_str(src.get(start + at..start + at + len).unwrap_or_default()),
                true,
            )
        };
        let scan = match known {
            Some(k) if !k.prefixed => {
                if let Some((at, len)) = k.xmlns {
                    // Most stanzas restate the stream's namespace: keep the borrowed one then.
                    let raw = src.get(start + at..start + at + len).unwrap_or_default();
                    let same = raw == scope.default_ns.as_bytes()
                        && (k.default_ns_verbatim
                            || !raw
                                .iter()
                                .any(|&b| matches!(b, b'&' | b'\t' | b'\n' | b'\r')));
                    if !same {
                        scope.default_ns = value((at, len));
                    }
                }
                if let Some(v) = k.lang {
                    scope.lang = Some(value(v));
                }
                false
            }
            // Namespace declarations and xml:lang all contain "xml": without it, nothing to find.
            _ => memchr::memmem::find(attrs, b"xml").is_some(),
        };
        for a in AttrScanner::new(if scan { attrs } else { &[] }).flatten() {
            match a.name {
                b"xmlns" => scope.default_ns = unescape(as_str(a.value), true),
                [b'x', b'm', b'l', b'n', b's', b':', p @ ..] => {
                    let list = inner.get_or_insert_with(|| {
                        parent.inner.as_deref().cloned().unwrap_or_default()
                    });
                    list.push((as_str(p), unescape(as_str(a.value), true)));
                }
                b"xml:lang" => scope.lang = Some(unescape(as_str(a.value), true)),
                _ => {}
            }
        }
        if let Some(list) = inner {
            scope.inner = Some(Arc::new(list));
        }
        let colon = qname.iter().position(|&b| b == b':');
        let ns = match colon {
            None => scope.default_ns.clone(),
            Some(c) => scope
                .resolve_cow(as_str(qname.get(..c).unwrap_or_default()))
                .unwrap_or(Cow::Borrowed("")),
        };
        Self {
            src,
            base,
            start,
            content,
            end,
            name_len,
            colon,
            ns,
            attrs,
            scope,
        }
    }

    /// The element's byte range in the buffer it was read from.
    #[must_use]
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The stream offset of the element's first byte (its `<`).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// The element's bytes, from its start tag to its end tag, exactly as received.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.src.get(self.start..self.end).unwrap_or_default()
    }

    /// The element's text as received (always UTF-8: the reader has checked it).
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        as_str(self.as_bytes())
    }

    /// The qualified name's bytes.
    fn qname_bytes(&self) -> &'a [u8] {
        self.src
            .get(self.start + 1..self.start + 1 + self.name_len)
            .unwrap_or_default()
    }

    /// The local name's bytes.
    fn local_bytes(&self) -> &'a [u8] {
        let q = self.qname_bytes();
        match self.colon {
            Some(c) => q.get(c + 1..).unwrap_or_default(),
            None => q,
        }
    }

    /// The local name (without prefix).
    #[must_use]
    pub fn name(&self) -> &'a str {
        as_str(self.local_bytes())
    }

    /// The qualified name as written (`stream:features`, `message`).
    #[must_use]
    pub fn qname(&self) -> &'a str {
        as_str(self.qname_bytes())
    }

    /// The prefix, if the name has one.
    #[must_use]
    pub fn prefix(&self) -> Option<&'a str> {
        self.colon
            .map(|c| as_str(self.qname_bytes().get(..c).unwrap_or_default()))
    }

    /// The namespace URI the name resolves to (`""` when none is in scope).
    #[must_use]
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Whether the element has this local name and namespace.
    #[must_use]
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.local_bytes() == name.as_bytes() && *self.ns == *ns
    }

    /// Whether the element is empty (`<x/>` or `<x></x>`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.content >= self.end
            || self
                .src
                .get(self.content..self.end)
                .is_some_and(|c| c.starts_with(b"</"))
    }

    /// The attributes as written, namespace declarations included.
    pub fn attrs(&self) -> impl Iterator<Item = Attribute<'a>> + '_ {
        AttrScanner::new(self.attrs)
            .flatten()
            .map(|raw| Attribute::new(raw, &self.scope))
    }

    /// The unescaped value of the attribute with this qualified name as written (`to`,
    /// `xml:lang`).
    #[must_use]
    pub fn attr(&self, qname: &str) -> Option<Cow<'a, str>> {
        AttrScanner::new(self.attrs)
            .flatten()
            .find(|a| a.name == qname.as_bytes())
            .map(|a| unescape(as_str(a.value), true))
    }

    /// The unescaped value of the attribute with this namespace and local name. Unprefixed
    /// attributes are in no namespace (`ns` = `""`).
    #[must_use]
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<Cow<'a, str>> {
        self.attrs()
            .find(|a| a.local_name() == local && a.ns() == ns && !a.is_namespace_declaration())
            .map(|a| a.value())
    }

    /// The `xml:lang` in scope: the element's own, or else the nearest ancestor's within the
    /// document or stream (the stream header's included).
    #[must_use]
    pub fn lang(&self) -> Option<Cow<'a, str>> {
        self.scope.lang.clone()
    }

    /// The child elements, in document order.
    #[must_use]
    pub fn children(&self) -> Children<'a> {
        Children {
            nodes: self.nodes(),
        }
    }

    /// The first child element with this local name and namespace.
    #[must_use]
    pub fn child(&self, name: &str, ns: &str) -> Option<Element<'a>> {
        self.children().find(|c| c.is(name, ns))
    }

    /// The child nodes: elements and runs of text (a run joins adjacent text, references and
    /// CDATA sections into one unescaped string).
    #[must_use]
    pub fn nodes(&self) -> Nodes<'a> {
        let inner_end = if self.is_empty() && self.content >= self.end {
            self.content
        } else {
            // The end tag is `</qname>` possibly with whitespace before `>`: find its `<`.
            self.src
                .get(self.content..self.end)
                .and_then(memchr_last_lt)
                .map_or(self.content, |i| self.content + i)
        };
        Nodes {
            src: self.src,
            base: self.base,
            tokens: Tokens::new(self.src, self.content, inner_end),
            scope: self.scope.clone(),
            pending: None,
        }
    }

    /// The element's direct text, unescaped: its text runs joined, child elements skipped.
    #[must_use]
    pub fn text(&self) -> Cow<'a, str> {
        let mut out: Option<Cow<'a, str>> = None;
        for node in self.nodes() {
            if let Node::Text(t) = node {
                out = Some(match out {
                    None => t,
                    Some(prev) => Cow::Owned(prev.into_owned() + &t),
                });
            }
        }
        out.unwrap_or(Cow::Borrowed(""))
    }

    /// The length of the start tag, `<` to `>` (the whole element when it is `<x/>`).
    pub(crate) fn start_tag_len(&self) -> usize {
        self.content - self.start
    }
}

fn memchr_last_lt(s: &[u8]) -> Option<usize> {
    memchr::memrchr(b'<', s)
}

/// One attribute of an [`Element`].
#[derive(Debug, Clone)]
pub struct Attribute<'a> {
    raw: RawAttr<'a>,
    ns: Cow<'a, str>,
}

impl<'a> Attribute<'a> {
    fn new(raw: RawAttr<'a>, scope: &Scope<'a>) -> Self {
        let ns = match raw.name.iter().position(|&b| b == b':') {
            None => Cow::Borrowed(""),
            Some(i) => match raw.name.get(..i) {
                Some(b"xmlns") => Cow::Borrowed("http://www.w3.org/2000/xmlns/"),
                Some(p) => scope.resolve_cow(as_str(p)).unwrap_or(Cow::Borrowed("")),
                None => Cow::Borrowed(""),
            },
        };
        Self { raw, ns }
    }

    /// The qualified name as written.
    #[must_use]
    pub fn qname(&self) -> &'a str {
        as_str(self.raw.name)
    }

    /// The local name (after any prefix).
    #[must_use]
    pub fn local_name(&self) -> &'a str {
        let q = self.qname();
        q.split_once(':').map_or(q, |(_, l)| l)
    }

    /// The prefix, if any.
    #[must_use]
    pub fn prefix(&self) -> Option<&'a str> {
        self.qname().split_once(':').map(|(p, _)| p)
    }

    /// The namespace of the attribute: `""` for unprefixed ones, the bound URI for prefixed ones.
    #[must_use]
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Whether this is a namespace declaration (`xmlns` or `xmlns:p`).
    #[must_use]
    pub fn is_namespace_declaration(&self) -> bool {
        self.raw.name == b"xmlns" || self.raw.name.starts_with(b"xmlns:")
    }

    /// The value as written, with its references unresolved.
    #[must_use]
    pub fn raw(&self) -> &'a str {
        as_str(self.raw.value)
    }

    /// The value with references resolved and whitespace normalised as XML requires.
    #[must_use]
    pub fn value(&self) -> Cow<'a, str> {
        unescape(as_str(self.raw.value), true)
    }
}

/// A child node of an [`Element`].
#[derive(Debug, Clone)]
pub enum Node<'a> {
    /// A child element.
    Element(Element<'a>),
    /// A run of character data, unescaped.
    Text(Cow<'a, str>),
}

/// Iterator over an element's child nodes; see [`Element::nodes`].
pub struct Nodes<'a> {
    src: &'a [u8],
    base: u64,
    tokens: Tokens<'a>,
    scope: Scope<'a>,
    pending: Option<Element<'a>>,
}

impl fmt::Debug for Nodes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nodes").finish_non_exhaustive()
    }
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        if let Some(el) = self.pending.take() {
            return Some(Node::Element(el));
        }
        let mut text: Option<Cow<'a, str>> = None;
        loop {
            let Some(token) = self.tokens.next() else {
                // An empty run (an empty CDATA section) is no character data.
                return text.filter(|t| !t.is_empty()).map(Node::Text);
            };
            match token {
                Token::Start {
                    start,
                    content,
                    name_len,
                    empty,
                } => {
                    let end = if empty {
                        content
                    } else {
                        self.tokens.skip_subtree()
                    };
                    let el = Element::build(
                        self.src,
                        self.base,
                        (start, content, end),
                        name_len,
                        &self.scope,
                        None,
                    );
                    match text.filter(|t| !t.is_empty()) {
                        Some(t) => {
                            self.pending = Some(el);
                            return Some(Node::Text(t));
                        }
                        None => return Some(Node::Element(el)),
                    }
                }
                Token::Text { start, end } => {
                    let raw = as_str(self.src.get(start..end).unwrap_or_default());
                    text = Some(join(text, unescape(raw, false)));
                }
                Token::CData { start, end, .. } => {
                    let raw = as_str(self.src.get(start..end).unwrap_or_default());
                    text = Some(join(text, Cow::Borrowed(raw)));
                }
                // The element's own end tag is outside the range; a stray one ends nothing here.
                Token::End { .. } => {}
            }
        }
    }
}

fn join<'a>(a: Option<Cow<'a, str>>, b: Cow<'a, str>) -> Cow<'a, str> {
    match a {
        None => b,
        Some(a) => Cow::Owned(a.into_owned() + &b),
    }
}

/// Iterator over an element's child elements; see [`Element::children`].
#[derive(Debug)]
pub struct Children<'a> {
    nodes: Nodes<'a>,
}

impl<'a> Iterator for Children<'a> {
    type Item = Element<'a>;

    fn next(&mut self) -> Option<Element<'a>> {
        loop {
            match self.nodes.next()? {
                Node::Element(e) => return Some(e),
                Node::Text(_) => {}
            }
        }
    }
}

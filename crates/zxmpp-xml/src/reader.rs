//! The incremental stream reader: frames an XMPP stream into its header, stanzas and close.

use std::borrow::Cow;

use quick_xml::errors::{Error as XmlError, SyntaxError};
use quick_xml::events::Event as XmlEvent;

use crate::attrs::AttrScanner;
use crate::chars::{check_attr_value, check_references, find_invalid_char, split_qname, unescape};
use crate::config::Config;
use crate::element::{Binding, Element, KnownDecls, Scope, XML_NS, as_str};
use crate::error::{Error, ErrorKind, Result};
use crate::fast;
use crate::scratch::LazyVec;

/// The namespace of the stream header and of `stream:features`, `stream:error` (RFC 6120 §4.8.1).
pub const STREAMS_NS: &str = "http://etherx.jabber.org/streams";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The outcome of a read that may need more input, as in `httparse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Status<T> {
    /// A complete item.
    Complete(T),
    /// The buffer ends inside the next item: append more bytes and call again. Not an error.
    Partial,
}

impl<T> Status<T> {
    /// The complete item, if any.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(t) => Some(t),
            Status::Partial => None,
        }
    }

    /// Whether more input is needed.
    #[must_use]
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }
}

/// What a [`StreamReader`] found in the stream.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The stream header, `<stream:stream ...>` (RFC 6120 §4.2).
    StreamOpen(StreamHeader<'a>),
    /// A new stream header where a stanza could start: the stream restarts (after SASL or
    /// STARTTLS, RFC 6120 §4.3.3). Stanzas that follow belong to the new stream.
    StreamRestart(StreamHeader<'a>),
    /// A complete top-level element: a stanza, or a stream-level element such as
    /// `<stream:features/>`.
    Stanza(Element<'a>),
    /// The stream's close tag, `</stream:stream>`.
    StreamClose,
}

/// A stream header: the unclosed `<stream:stream>` start tag.
#[derive(Debug, Clone)]
pub struct StreamHeader<'a> {
    el: Element<'a>,
}

impl<'a> StreamHeader<'a> {
    /// The header's start tag as a view (it has no children: they are the stanzas).
    #[must_use]
    pub fn element(&self) -> &Element<'a> {
        &self.el
    }

    /// The value of an attribute by qualified name, unescaped.
    #[must_use]
    pub fn attr(&self, qname: &str) -> Option<Cow<'a, str>> {
        self.el.attr(qname)
    }

    /// The `to` attribute.
    #[must_use]
    pub fn to(&self) -> Option<Cow<'a, str>> {
        self.el.attr("to")
    }

    /// The `from` attribute.
    #[must_use]
    pub fn from(&self) -> Option<Cow<'a, str>> {
        self.el.attr("from")
    }

    /// The `id` attribute (the stream id).
    #[must_use]
    pub fn id(&self) -> Option<Cow<'a, str>> {
        self.el.attr("id")
    }

    /// The `version` attribute (`1.0` for RFC 6120 streams).
    #[must_use]
    pub fn version(&self) -> Option<Cow<'a, str>> {
        self.el.attr("version")
    }

    /// The `xml:lang` attribute.
    #[must_use]
    pub fn lang(&self) -> Option<Cow<'a, str>> {
        self.el.attr("xml:lang")
    }

    /// The default namespace of the stream's content (`jabber:client`, `jabber:server`, ...).
    #[must_use]
    pub fn content_namespace(&self) -> Cow<'a, str> {
        self.el.attr("xmlns").unwrap_or(Cow::Borrowed(""))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream,
    Fragments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing but (maybe) a BOM read: an XML declaration may come.
    Start,
    /// After the declaration or whitespace: the header (or first fragment) comes.
    Prolog,
    /// Between stanzas.
    Stream,
    /// Inside a stanza.
    Stanza,
    /// After the stream's close tag.
    Closed,
}

/// Where a stanza starts, where its content starts, its name's length, and its namespace declarations.
type StanzaStart = (usize, usize, usize, KnownDecls);

/// The namespace context a stream header set up, owned so that the header's bytes can go.
#[derive(Debug, Clone, Default)]
struct HeaderInfo {
    // Boxed strings: they live as long as the stream, with no spare capacity (16 bytes each, not 24).
    qname: Box<str>,
    default_ns: Box<str>,
    /// Whether `default_ns` holds no `&`, tab, line feed or carriage return.
    default_ns_verbatim: bool,
    lang: Option<Box<str>>,
    bindings: Vec<Binding>,
}

/// What the scan found, as positions (the borrowed event is built from them when delivered).
#[derive(Debug, Clone, Copy)]
enum Found {
    Header {
        start: usize,
        content: usize,
        name_len: usize,
        restart: bool,
    },
    Stanza {
        start: usize,
        content: usize,
        end: usize,
        name_len: usize,
        decls: KnownDecls,
    },
    Close {
        start: usize,
        end: usize,
    },
}

impl Found {
    fn start(&self) -> usize {
        match *self {
            Found::Header { start, .. }
            | Found::Stanza { start, .. }
            | Found::Close { start, .. } => start,
        }
    }

    fn end(&self) -> usize {
        match *self {
            Found::Header { content: end, .. }
            | Found::Stanza { end, .. }
            | Found::Close { end, .. } => end,
        }
    }

    fn shift(&mut self, n: usize) {
        match self {
            Found::Header { start, content, .. } => {
                *start -= n;
                *content -= n;
            }
            Found::Stanza {
                start,
                content,
                end,
                ..
            } => {
                *start -= n;
                *content -= n;
                *end -= n;
            }
            Found::Close { start, end } => {
                *start -= n;
                *end -= n;
            }
        }
    }
}

/// What the scan does after a token.
enum Step {
    /// Go on reading.
    Continue,
    /// An item is complete.
    Emit(Found),
    /// Stop before this token (a restart must wait until the queued stanzas of the old stream
    /// are delivered, since it changes their namespace context).
    Yield,
}

/// How the fast path stopped.
enum FastEnd {
    /// The scan is over for this call (an item that must be delivered first, or a full queue).
    Return,
    /// The readable region is used up, or ends inside a token.
    Region,
    /// The token at `pos` needs the full reader.
    Bail,
}

/// How many items one scan may queue: bounds the queue whatever the caller appends at once.
const BATCH: usize = 32;

/// An incremental reader of an XMPP stream (RFC 6120 §4, restricted XML of §11).
///
/// The caller owns the buffer: it appends bytes as they arrive, calls [`next`](Self::next) until
/// it returns [`Status::Partial`], and may then drop the bytes the reader no longer needs with
/// [`discard`](Self::discard). Between two calls to `discard` the buffer may only grow at its end.
/// Only the stanza in progress is ever needed, so memory stays bounded by the largest stanza
/// ([`Config::max_stanza_size`]) plus what the caller appends at once.
///
/// Every stanza is checked in full before it is returned: well-formedness, namespaces, the
/// restrictions of RFC 6120 §11 and the configured limits. After an error the stream cannot go on
/// (RFC 6120 §4.9.1.1: a stream error closes the stream).
#[derive(Debug, Clone)]
pub struct StreamReader {
    config: Config,
    mode: Mode,
    state: State,
    failed: Option<u64>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// First byte not yet read into an event.
    pos: usize,
    /// `buf[..cut]` ends with a `>`: quick-xml reads up to there.
    cut: usize,
    /// `buf[..seen]` has been searched for `>`.
    seen: usize,
    /// Set when the last call ended with `Partial`: nothing to do until a new `>` arrives.
    stalled: bool,
    /// The buffer's length at the last call, to detect a caller that shrank it.
    known_len: usize,
    /// Where the stanza in progress starts, where its content starts, its name's length. Boxed (80 bytes
    /// that matter only while a stanza is read): allocated by the first stanza, reused by the next ones, and
    /// given back by `shrink_to_fit` between stanzas.
    stanza: Option<Box<StanzaStart>>,
    /// Qualified-name ranges of the open elements of the stanza in progress.
    open: LazyVec<(usize, usize)>,
    /// Prefixes declared inside the stanza in progress: name range and the depth declared at.
    prefixes: LazyVec<(usize, usize, usize)>,
    header: HeaderInfo,
    /// Scratch: the attribute names of the tag being checked.
    seen_names: LazyVec<(usize, usize)>,
    /// Items scanned but not yet delivered, in order; an error ends the queue.
    queue: std::collections::VecDeque<Result<Found>>,
    /// End of the last delivered item.
    delivered: usize,
    /// Whether the fast path may run (tests turn it off to compare both paths).
    fast_path: bool,
    /// Whether every byte of the stanza in progress read so far is known to be an XML `Char`
    /// (the fast path proved it as it scanned): the end-of-stanza check is then skipped.
    clean: bool,
}

impl StreamReader {
    /// A reader for a stream that starts with a `<stream:stream>` header (TCP, WebSocket framing
    /// aside).
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self::with_mode(config, Mode::Stream)
    }

    /// A reader for a sequence of top-level elements with no stream header around them: each
    /// one is a stanza (BOSH payloads, a file of stanzas). Stanzas see no inherited namespace.
    #[must_use]
    pub fn fragments(config: Config) -> Self {
        Self::with_mode(config, Mode::Fragments)
    }

    fn with_mode(config: Config, mode: Mode) -> Self {
        Self {
            config,
            mode,
            state: State::Start,
            failed: None,
            base: 0,
            pos: 0,
            cut: 0,
            seen: 0,
            stalled: false,
            known_len: 0,
            stanza: None,
            open: LazyVec::new(),
            prefixes: LazyVec::new(),
            header: HeaderInfo::default(),
            seen_names: LazyVec::new(),
            queue: std::collections::VecDeque::new(),
            delivered: 0,
            fast_path: true,
            clean: false,
        }
    }

    /// The same reader reading everything with quick-xml and the full checks.
    #[cfg(test)]
    pub(crate) fn without_fast_path(mut self) -> Self {
        self.fast_path = false;
        self
    }

    /// The reader's limits.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The stream offset just past the last event returned (0 before the first).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.base + self.delivered as u64
    }

    /// Whether the stream's close tag has been read.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether everything read so far has been returned and no stanza is in progress: at the
    /// end of the input, whether the input ended cleanly between stanzas.
    #[must_use]
    pub fn is_between_stanzas(&self) -> bool {
        self.state != State::Stanza && self.queue.is_empty()
    }

    /// Reads the next event from `buf`, which holds the stream's bytes from the last
    /// [`discard`](Self::discard) (or the start) on.
    ///
    /// Returns [`Status::Partial`] when `buf` ends inside the next event; append more bytes and
    /// call again. Events borrow from `buf`.
    ///
    /// # Errors
    /// Any violation of XML, of RFC 6120's restrictions or of the limits, with its stream offset.
    /// The reader is then finished: further calls return [`ErrorKind::AlreadyFailed`].
    pub fn next<'a>(&'a mut self, buf: &'a [u8]) -> Result<Status<Event<'a>>> {
        if let Some(offset) = self.failed {
            return Err(Error::new(ErrorKind::AlreadyFailed, offset));
        }
        if buf.len() < self.known_len {
            let e = self.err(ErrorKind::BufferShrunk, self.pos);
            self.failed = Some(e.offset());
            return Err(e);
        }
        self.known_len = buf.len();
        if self.queue.is_empty()
            && let Err(e) = self.scan(buf)
        {
            self.queue.push_back(Err(e));
        }
        let found = match self.queue.pop_front() {
            None => return Ok(Status::Partial),
            Some(Ok(found)) => found,
            Some(Err(e)) => {
                self.failed = Some(e.offset());
                self.queue.clear();
                return Err(e);
            }
        };
        self.delivered = found.end();
        let base = self.base;
        Ok(Status::Complete(match found {
            Found::Header {
                start,
                content,
                name_len,
                restart,
            } => {
                let el = Element::build(
                    buf,
                    base,
                    (start, content, content),
                    name_len,
                    &Scope::empty(),
                    None,
                );
                let header = StreamHeader { el };
                if restart {
                    Event::StreamRestart(header)
                } else {
                    Event::StreamOpen(header)
                }
            }
            Found::Stanza {
                start,
                content,
                end,
                name_len,
                mut decls,
            } => {
                decls.default_ns_verbatim = self.header.default_ns_verbatim;
                let scope = Scope {
                    default_ns: Cow::Borrowed(&*self.header.default_ns),
                    lang: self.header.lang.as_deref().map(Cow::Borrowed),
                    outer: &self.header.bindings,
                    inner: None,
                };
                Event::Stanza(Element::build(
                    buf,
                    base,
                    (start, content, end),
                    name_len,
                    &scope,
                    Some(decls),
                ))
            }
            Found::Close { .. } => Event::StreamClose,
        }))
    }

    /// Gives back the memory of its scratch lists beyond what they hold now: for a program that keeps many
    /// idle streams (a connection manager), called when a stream goes quiet. Reading on allocates again as
    /// needed; nothing else changes.
    pub fn shrink_to_fit(&mut self) {
        if self.state != State::Stanza {
            self.stanza = None;
        }
        self.open.shrink_to_fit();
        self.prefixes.shrink_to_fit();
        self.seen_names.shrink_to_fit();
        self.queue.shrink_to_fit();
        self.header.bindings.shrink_to_fit();
    }

    /// Tells how many bytes at the front of the buffer the reader no longer needs, and forgets
    /// them: the caller must remove exactly that many (`buf.drain(..n)`) before the next call.
    pub fn discard(&mut self) -> usize {
        let mut n = if self.state == State::Stanza {
            self.stanza_start().0.min(self.pos)
        } else {
            self.pos
        };
        if let Some(Ok(front)) = self.queue.front() {
            n = n.min(front.start());
        }
        for item in self.queue.iter_mut().flatten() {
            item.shift(n);
        }
        self.delivered = self.delivered.saturating_sub(n);
        self.pos -= n;
        self.cut = self.cut.saturating_sub(n);
        self.seen = self.seen.saturating_sub(n);
        self.known_len = self.known_len.saturating_sub(n);
        if let Some(stanza) = self.stanza.as_deref_mut() {
            stanza.0 = stanza.0.saturating_sub(n);
            stanza.1 = stanza.1.saturating_sub(n);
        }
        for o in self.open.iter_mut() {
            o.0 -= n;
        }
        for p in self.prefixes.iter_mut() {
            p.0 -= n;
        }
        self.base += n as u64;
        n
    }

    fn err(&self, kind: ErrorKind, at: usize) -> Error {
        Error::new(kind, self.base + at as u64)
    }

    /// Searches the bytes that arrived since the last search for a `>`; returns whether the
    /// readable region grew.
    fn refresh_cut(&mut self, buf: &[u8]) -> bool {
        if self.seen >= buf.len() {
            return false;
        }
        let from = self.seen.max(self.pos);
        self.seen = buf.len();
        match buf.get(from..).and_then(|b| memchr::memrchr(b'>', b)) {
            Some(i) => {
                self.cut = from + i + 1;
                true
            }
            None => false,
        }
    }

    /// The error for non-whitespace `raw` (at `at`) outside of any stanza, at its first
    /// non-whitespace byte.
    fn stray_text(&self, raw: &[u8], at: usize) -> Error {
        let i = raw.iter().position(|&b| !is_ws(b)).unwrap_or(0);
        let kind = if self.state == State::Closed {
            ErrorKind::DataAfterEnd
        } else if raw.get(i..).is_some_and(|r| r.starts_with(BOM)) {
            ErrorKind::MisplacedBom
        } else {
            ErrorKind::TextAtStreamLevel
        };
        self.err(kind, at + i)
    }

    fn partial(&mut self, buf: &[u8]) -> Result<()> {
        self.stalled = true;
        if self.state != State::Stanza {
            // Outside a stanza only whitespace and markup may come: report stray text at once
            // rather than when the next `>` arrives.
            let rest = buf.get(self.pos..).unwrap_or_default();
            if let Some(tail) = rest
                .iter()
                .position(|&b| !is_ws(b))
                .and_then(|i| rest.get(i..))
                && !tail.starts_with(b"<")
                && !BOM.starts_with(tail)
            {
                return Err(self.stray_text(rest, self.pos));
            }
        }
        let limit = self.config.max_stanza_size;
        let from = if self.state == State::Stanza {
            self.stanza_start().0
        } else {
            self.pos
        };
        if buf.len().saturating_sub(from) > limit {
            return Err(self.err(ErrorKind::StanzaSizeLimit(limit), from));
        }
        Ok(())
    }

    /// Reads ahead from `pos`, queueing what it finds, until the input runs out, a header or
    /// the close is found, or [`BATCH`] items are queued. One quick-xml reader serves the whole
    /// scan, so its set-up is paid per call rather than per stanza.
    fn scan(&mut self, buf: &[u8]) -> Result<()> {
        if self.state == State::Start && self.base == 0 && self.pos == 0 {
            if buf.starts_with(BOM) {
                self.pos = BOM.len();
            } else if buf.len() < BOM.len() && BOM.starts_with(buf) {
                return Ok(());
            }
        }
        if self.stalled {
            if !self.refresh_cut(buf) {
                return self.partial(buf);
            }
            self.stalled = false;
        }
        let mut fast = true;
        loop {
            if self.cut <= self.pos && !self.refresh_cut(buf) {
                return self.partial(buf);
            }
            if buf.get(self.pos..).is_some_and(|b| b.starts_with(BOM)) {
                // quick-xml drops a BOM at the start of its input: deal with it here. Inside a
                // stanza it is the character U+FEFF; anywhere else it is out of place.
                if self.state != State::Stanza {
                    return Err(self.err(ErrorKind::MisplacedBom, self.pos));
                }
                self.clean = false;
                self.pos += BOM.len();
                continue;
            }
            if fast && self.fast_path && matches!(self.state, State::Stream | State::Stanza) {
                match self.fast_scan(buf)? {
                    FastEnd::Return => return Ok(()),
                    FastEnd::Region => {
                        if !self.refresh_cut(buf) {
                            return self.partial(buf);
                        }
                        continue;
                    }
                    FastEnd::Bail => {
                        // Read the rest of the region with quick-xml, from the loop's top (a
                        // byte order mark at the new position is dealt with there).
                        fast = false;
                        continue;
                    }
                }
            }
            fast = true;
            let slice_base = self.pos;
            let slice = buf.get(slice_base..self.cut).unwrap_or_default();
            let mut reader = quick_xml::Reader::from_reader(slice);
            let cfg = reader.config_mut();
            cfg.check_end_names = false;
            cfg.allow_unmatched_ends = true;
            cfg.check_comments = false;
            cfg.expand_empty_elements = false;
            cfg.trim_text(false);
            loop {
                let before = position(&reader);
                match reader.read_event() {
                    Ok(XmlEvent::Eof) => {
                        self.pos = slice_base + before;
                        break;
                    }
                    Ok(event) => {
                        let end = slice_base + position(&reader);
                        match self.on_event(buf, &event, slice_base + before, end)? {
                            Step::Continue => {}
                            Step::Emit(found) => {
                                self.pos = end;
                                let last = !matches!(found, Found::Stanza { .. });
                                self.queue.push_back(Ok(found));
                                if last || self.queue.len() >= BATCH {
                                    return Ok(());
                                }
                            }
                            Step::Yield => {
                                self.pos = slice_base + before;
                                return Ok(());
                            }
                        }
                    }
                    Err(XmlError::Syntax(
                        SyntaxError::UnclosedTag
                        | SyntaxError::UnclosedCData
                        | SyntaxError::UnclosedComment
                        | SyntaxError::UnclosedPI
                        | SyntaxError::UnclosedXmlDecl
                        | SyntaxError::UnclosedDoctype
                        | SyntaxError::UnclosedSingleQuotedAttributeValue
                        | SyntaxError::UnclosedDoubleQuotedAttributeValue,
                    )) => {
                        // Truncation: the token goes on past what has arrived.
                        self.pos = slice_base + before;
                        break;
                    }
                    Err(e) => return Err(self.map_error(buf, &e, slice_base + before)),
                }
            }
            if !self.refresh_cut(buf) {
                return self.partial(buf);
            }
        }
    }

    /// The fast path (see [`crate::fast`]): reads the tokens of the readable region that it
    /// recognises, from `pos`, with the same effects as the quick-xml loop, until the region
    /// ends, the scan must return, or a token needs the full reader.
    fn fast_scan(&mut self, buf: &[u8]) -> Result<FastEnd> {
        let limits = fast::Limits {
            max_attributes: self.config.max_attributes,
            max_namespace_declarations: self.config.max_namespace_declarations,
        };
        let region = buf.get(..self.cut).unwrap_or_default();
        // Tokens are only accepted when they are UTF-8. Token boundaries are ASCII bytes, so
        // checking each token alone is checking the region up to it. A plain token (ASCII, no
        // controls) needs no check; an other one is checked here, and for `Char`s.
        loop {
            let s = self.pos;
            let Some(&first) = region.get(s) else {
                return Ok(FastEnd::Region);
            };
            if first != b'<' {
                let end = if self.state == State::Stanza {
                    match fast::text(region, s) {
                        fast::Scan::Ok((end, odd)) => {
                            // Bytes before `odd` are plain ASCII: the rest starts a character.
                            if let Some(o) = odd {
                                match odd_token(region.get(o..end).unwrap_or_default()) {
                                    Some(chars) => self.clean &= chars,
                                    None => return Ok(FastEnd::Bail),
                                }
                            }
                            end
                        }
                        _ => return Ok(FastEnd::Bail),
                    }
                } else {
                    // Whitespace (ASCII) up to a `<`.
                    let rest = region.get(s..).unwrap_or_default();
                    match rest.iter().position(|&b| !is_ws(b)) {
                        None => region.len(),
                        Some(i) if rest[i] == b'<' => s + i,
                        Some(_) => return Ok(FastEnd::Bail),
                    }
                };
                self.pos = end;
                continue;
            }
            let step = match region.get(s + 1) {
                None => return Ok(FastEnd::Region),
                Some(b'/') => {
                    let Some(&(os, ol)) = self.open.last() else {
                        return Ok(FastEnd::Bail);
                    };
                    // Its bytes are those of the open element's name, which are UTF-8 and were
                    // checked for `Char`s with its start tag.
                    let e = s + 3 + ol;
                    if self.state != State::Stanza
                        || region.get(e - 1) != Some(&b'>')
                        || buf.get(os..os + ol) != region.get(s + 2..s + 2 + ol)
                    {
                        return Ok(FastEnd::Bail);
                    }
                    (self.on_matched_end(buf, e)?, e)
                }
                Some(b'!' | b'?') => return Ok(FastEnd::Bail),
                Some(_) => match fast::start_tag(region, s, limits) {
                    fast::Scan::Ok(tag) => {
                        let clean = if tag.plain {
                            true
                        } else {
                            match odd_token(region.get(s..tag.end).unwrap_or_default()) {
                                Some(chars) => chars,
                                None => return Ok(FastEnd::Bail),
                            }
                        };
                        (
                            self.on_start(
                                buf,
                                s,
                                tag.end,
                                tag.name_len,
                                tag.empty,
                                Proven {
                                    decls: tag.known,
                                    chars: clean,
                                },
                            )?,
                            tag.end,
                        )
                    }
                    fast::Scan::Truncated => return Ok(FastEnd::Region),
                    _ => return Ok(FastEnd::Bail),
                },
            };
            match step {
                (Step::Continue, e) => self.pos = e,
                (Step::Emit(found), e) => {
                    self.pos = e;
                    let last = !matches!(found, Found::Stanza { .. });
                    self.queue.push_back(Ok(found));
                    if last || self.queue.len() >= BATCH {
                        return Ok(FastEnd::Return);
                    }
                }
                (Step::Yield, _) => return Ok(FastEnd::Return),
            }
        }
    }

    fn map_error(&self, buf: &[u8], e: &XmlError, at: usize) -> Error {
        let rest = buf.get(at..self.cut).unwrap_or_default();
        if self.state != State::Stanza && !rest.starts_with(b"<") {
            // Text where none may be: that is the error, whatever its encoding (as when it is
            // caught before its end has arrived).
            return self.stray_text(rest, at);
        }
        if let Err(u) = std::str::from_utf8(rest) {
            return self.err(ErrorKind::InvalidUtf8, at + u.valid_up_to());
        }
        let kind = match e {
            XmlError::IllFormed(quick_xml::errors::IllFormedError::UnclosedReference) => {
                // Report the offending `&` itself.
                let amp = memchr::memchr(b'&', rest).unwrap_or(0);
                return self.err(ErrorKind::InvalidReference, at + amp);
            }
            XmlError::Encoding(_) => ErrorKind::InvalidUtf8,
            _ => ErrorKind::Syntax,
        };
        self.err(kind, at)
    }

    fn on_event(&mut self, buf: &[u8], event: &XmlEvent<'_>, s: usize, e: usize) -> Result<Step> {
        // What quick-xml reads is checked for `Char`s when the stanza ends.
        self.clean = false;
        match event {
            XmlEvent::Start(t) | XmlEvent::Empty(t) => {
                let empty = matches!(event, XmlEvent::Empty(_));
                let proven = Proven {
                    decls: None,
                    chars: false,
                };
                self.on_start(buf, s, e, t.name().as_ref().len(), empty, proven)
            }
            XmlEvent::End(t) => self.on_end(buf, s, e, t.name().as_ref().len()),
            XmlEvent::Text(_) | XmlEvent::CData(_) | XmlEvent::GeneralRef(_) => {
                let raw = buf.get(s..e).unwrap_or_default();
                match self.state {
                    State::Stanza => {
                        if let XmlEvent::GeneralRef(_) = event {
                            check_references(raw).map_err(|(i, k)| self.err(k, s + i))?;
                        }
                        Ok(Step::Continue)
                    }
                    _ if matches!(event, XmlEvent::Text(_)) && raw.iter().all(|&b| is_ws(b)) => {
                        if self.state == State::Start {
                            self.state = State::Prolog;
                        }
                        Ok(Step::Continue)
                    }
                    _ => Err(self.stray_text(raw, s)),
                }
            }
            XmlEvent::Decl(_) => {
                let at_start = self.base + s as u64 == 0
                    || (self.base == 0 && s == BOM.len() && buf.starts_with(BOM));
                if self.state == State::Start && at_start {
                    let raw = buf.get(s..e).unwrap_or_default();
                    if let Some((i, c)) = find_invalid_char(raw) {
                        return Err(self.err(ErrorKind::InvalidChar(c), s + i));
                    }
                    self.state = State::Prolog;
                    Ok(Step::Continue)
                } else {
                    Err(self.err(ErrorKind::MisplacedDeclaration, s))
                }
            }
            XmlEvent::DocType(_) => Err(self.err(ErrorKind::Dtd, s)),
            XmlEvent::Comment(_) => Err(self.err(ErrorKind::Comment, s)),
            XmlEvent::PI(_) => Err(self.err(ErrorKind::ProcessingInstruction, s)),
            XmlEvent::Eof => Ok(Step::Continue),
        }
    }

    fn on_start(
        &mut self,
        buf: &[u8],
        s: usize,
        e: usize,
        name_len: usize,
        empty: bool,
        proven: Proven,
    ) -> Result<Step> {
        let Proven {
            decls: known,
            chars: clean,
        } = proven;
        match self.state {
            State::Closed => Err(self.err(ErrorKind::DataAfterEnd, s)),
            State::Stanza => {
                let depth = self.open.len() + 1;
                if depth > self.config.max_depth {
                    return Err(self.err(ErrorKind::DepthLimit(self.config.max_depth), s));
                }
                if known.is_none() {
                    self.check_tag(buf, s, e, name_len, empty, depth)?;
                }
                self.clean &= clean;
                if empty {
                    // An empty element's declarations go out of scope at once.
                    while self.prefixes.last().is_some_and(|p| p.2 >= depth) {
                        self.prefixes.pop();
                    }
                } else {
                    self.open.push((s + 1, name_len));
                }
                Ok(Step::Continue)
            }
            State::Start | State::Prolog | State::Stream => {
                let expect_header = self.mode == Mode::Stream && self.state != State::Stream;
                if self.mode == Mode::Stream
                    && (expect_header || self.is_stream_header(buf, s, e, name_len))
                {
                    if !self.queue.is_empty() {
                        return Ok(Step::Yield);
                    }
                    return self
                        .on_header(buf, s, e, name_len, empty, !expect_header)
                        .map(Step::Emit);
                }
                if self.config.max_depth == 0 {
                    return Err(self.err(ErrorKind::DepthLimit(0), s));
                }
                self.prefixes.clear();
                let decls = match known {
                    Some(k) => k,
                    None => self.check_tag(buf, s, e, name_len, empty, 1)?.decls,
                };
                let start = (s, e, name_len, decls);
                match self.stanza.as_deref_mut() {
                    Some(stanza) => *stanza = start,
                    None => self.stanza = Some(Box::new(start)),
                }
                self.clean = clean;
                if empty {
                    self.prefixes.clear();
                    self.state = State::Stream;
                    return self.finish_stanza(buf, e).map(Step::Emit);
                }
                self.open.clear();
                self.open.push((s + 1, name_len));
                self.state = State::Stanza;
                Ok(Step::Continue)
            }
        }
    }

    /// Whether the start tag at `s` is `stream` in the streams namespace, given the current
    /// header's bindings (a restart) — checked before the tag's own declarations are looked at.
    fn is_stream_header(&self, buf: &[u8], s: usize, e: usize, name_len: usize) -> bool {
        let qname = buf.get(s + 1..s + 1 + name_len).unwrap_or_default();
        if !qname.ends_with(b"stream") {
            return false;
        }
        match split_qname(qname) {
            Ok((Some(p), b"stream")) => {
                let own = self
                    .header
                    .bindings
                    .iter()
                    .any(|b| b.prefix.as_bytes() == p && &*b.uri == STREAMS_NS);
                own || header_declares(attr_region(buf, s, e, name_len, false), p)
            }
            Ok((None, b"stream")) => &*self.header.default_ns == STREAMS_NS,
            _ => false,
        }
    }

    fn on_header(
        &mut self,
        buf: &[u8],
        s: usize,
        e: usize,
        name_len: usize,
        empty: bool,
        restart: bool,
    ) -> Result<Found> {
        let qname = buf.get(s + 1..s + 1 + name_len).unwrap_or_default();
        if empty {
            return Err(self.err(
                ErrorKind::NotAStreamHeader(String::from_utf8_lossy(qname).into_owned()),
                s,
            ));
        }
        self.prefixes.clear();
        let info = self.check_tag(buf, s, e, name_len, false, 0)?;
        // Build the owned context from the header's own declarations.
        let mut header = HeaderInfo {
            qname: as_str(qname).into(),
            ..HeaderInfo::default()
        };
        let region = attr_region(buf, s, e, name_len, false);
        for a in AttrScanner::new(region).flatten() {
            let value: Box<str> = unescape(as_str(a.value), true).into();
            match a.name {
                b"xmlns" => header.default_ns = value,
                b"xml:lang" => header.lang = Some(value),
                [b'x', b'm', b'l', b'n', b's', b':', p @ ..] => {
                    header.bindings.push(Binding {
                        prefix: as_str(p).into(),
                        uri: value,
                    });
                }
                _ => {}
            }
        }
        self.prefixes.clear();
        let ns = match info.prefix {
            None => &*header.default_ns,
            Some((ps, pl)) => {
                let p = as_str(buf.get(ps..ps + pl).unwrap_or_default());
                header
                    .bindings
                    .iter()
                    .rev()
                    .find(|b| &*b.prefix == p)
                    .map_or("", |b| &*b.uri)
            }
        };
        if buf.get(info.local.0..info.local.0 + info.local.1) != Some(b"stream".as_slice())
            || ns != STREAMS_NS
        {
            return Err(self.err(ErrorKind::NotAStreamHeader(header.qname.into()), s));
        }
        if let Some((i, c)) = find_invalid_char(buf.get(s..e).unwrap_or_default()) {
            return Err(self.err(ErrorKind::InvalidChar(c), s + i));
        }
        if e - s > self.config.max_stanza_size {
            return Err(self.err(ErrorKind::StanzaSizeLimit(self.config.max_stanza_size), s));
        }
        header.default_ns_verbatim = !header
            .default_ns
            .bytes()
            .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'));
        self.header = header;
        self.state = State::Stream;
        Ok(Found::Header {
            start: s,
            content: e,
            name_len,
            restart,
        })
    }

    /// The end tag ending at `e` of the innermost open element of the stanza, its name already
    /// compared with the start tag's (the fast path): what [`on_end`](Self::on_end) does then.
    fn on_matched_end(&mut self, buf: &[u8], e: usize) -> Result<Step> {
        self.open.pop();
        self.element_closed(buf, e)
    }

    /// An element of the stanza was closed by the end tag ending at `e` (already popped from `open`): its
    /// prefix declarations go out of scope, and closing the stanza's root ends the stanza. Always inlined: with a
    /// plain `#[inline]` the fast path's end tags read ≈ 3 % slower (`xml-compare`).
    #[inline(always)]
    fn element_closed(&mut self, buf: &[u8], e: usize) -> Result<Step> {
        let depth = self.open.len();
        while self.prefixes.last().is_some_and(|p| p.2 > depth) {
            self.prefixes.pop();
        }
        if depth == 0 {
            self.state = State::Stream;
            return self.finish_stanza(buf, e).map(Step::Emit);
        }
        Ok(Step::Continue)
    }

    fn on_end(&mut self, buf: &[u8], s: usize, e: usize, name_len: usize) -> Result<Step> {
        let found = buf.get(s + 2..s + 2 + name_len).unwrap_or_default();
        match self.state {
            State::Stanza => {
                let Some((os, ol)) = self.open.pop() else {
                    return Err(self.err(ErrorKind::UnexpectedEndTag(lossy(found)), s));
                };
                let expected = buf.get(os..os + ol).unwrap_or_default();
                if expected != found {
                    return Err(self.err(
                        ErrorKind::MismatchedEndTag {
                            expected: lossy(expected),
                            found: lossy(found),
                        },
                        s,
                    ));
                }
                self.element_closed(buf, e)
            }
            State::Stream if self.mode == Mode::Stream => {
                if found != self.header.qname.as_bytes() {
                    return Err(self.err(
                        ErrorKind::MismatchedEndTag {
                            expected: self.header.qname.to_string(),
                            found: lossy(found),
                        },
                        s,
                    ));
                }
                self.state = State::Closed;
                Ok(Step::Emit(Found::Close { start: s, end: e }))
            }
            State::Closed => Err(self.err(ErrorKind::DataAfterEnd, s)),
            _ => Err(self.err(ErrorKind::UnexpectedEndTag(lossy(found)), s)),
        }
    }

    /// The start of the stanza in progress (zeros before the first stanza, as before it was boxed).
    fn stanza_start(&self) -> StanzaStart {
        self.stanza
            .as_deref()
            .copied()
            .unwrap_or((0, 0, 0, KnownDecls::default()))
    }

    fn finish_stanza(&mut self, buf: &[u8], end: usize) -> Result<Found> {
        let (start, content, name_len, decls) = self.stanza_start();
        if end - start > self.config.max_stanza_size {
            return Err(self.err(
                ErrorKind::StanzaSizeLimit(self.config.max_stanza_size),
                start,
            ));
        }
        if !self.clean
            && let Some((i, c)) = find_invalid_char(buf.get(start..end).unwrap_or_default())
        {
            return Err(self.err(ErrorKind::InvalidChar(c), start + i));
        }
        self.prefixes.clear();
        Ok(Found::Stanza {
            start,
            content,
            end,
            name_len,
            decls,
        })
    }

    /// Whether `prefix` is bound here: inside the stanza, by the header, or `xml`.
    fn is_bound(&self, buf: &[u8], prefix: &[u8]) -> bool {
        prefix == b"xml"
            || self
                .prefixes
                .iter()
                .any(|&(ps, pl, _)| buf.get(ps..ps + pl) == Some(prefix))
            || self
                .header
                .bindings
                .iter()
                .any(|b| b.prefix.as_bytes() == prefix)
    }

    /// Checks a start tag: names, attributes, references, namespace declarations and prefixes;
    /// records the tag's prefix declarations at `depth`.
    fn check_tag(
        &mut self,
        buf: &[u8],
        s: usize,
        e: usize,
        name_len: usize,
        empty: bool,
        depth: usize,
    ) -> Result<TagInfo> {
        let name_at = s + 1;
        let qname = buf.get(name_at..name_at + name_len).unwrap_or_default();
        let (prefix, local) = split_qname(qname).map_err(|k| self.err(k, name_at))?;
        let region_at = name_at + name_len;
        let region = attr_region(buf, s, e, name_len, empty);
        let mut count = 0usize;
        let mut decls = 0usize;
        let mut prefixed_attrs = false;
        let mut known = KnownDecls::default();
        self.seen_names.clear();
        for attr in AttrScanner::checking(region) {
            let a = attr.map_err(|(i, k)| self.err(k, region_at + i))?;
            let at = region_at + a.at;
            count += 1;
            if count > self.config.max_attributes {
                return Err(self.err(ErrorKind::AttributeLimit(self.config.max_attributes), at));
            }
            let (ap, al) = match a.qname {
                Some(None) => (None, a.name),
                Some(Some(c)) => (Some(&a.name[..c]), &a.name[c + 1..]),
                None => split_qname(a.name).map_err(|k| self.err(k, at))?,
            };
            let value_at =
                at + (a.value.as_ptr() as usize).saturating_sub(a.name.as_ptr() as usize);
            if a.special {
                check_attr_value(a.value).map_err(|(i, k)| self.err(k, value_at + i))?;
            }
            // Duplicates: compare with the attributes before this one.
            if self
                .seen_names
                .iter()
                .any(|&(ns, nl)| buf.get(ns..ns + nl) == Some(a.name))
            {
                return Err(self.err(ErrorKind::DuplicateAttribute(lossy(a.name)), at));
            }
            self.seen_names.push((at, a.name.len()));
            match (ap, al) {
                (None, b"xmlns") => {
                    decls += 1;
                    known.xmlns = Some((value_at - s, a.value.len()));
                    if a.value == XML_NS.as_bytes()
                        || a.value == b"http://www.w3.org/2000/xmlns/"
                        || (a.special && {
                            let v = unescape(as_str(a.value), true);
                            v == XML_NS || v == "http://www.w3.org/2000/xmlns/"
                        })
                    {
                        return Err(self.err(ErrorKind::ReservedNamespace(lossy(a.name)), at));
                    }
                }
                (Some(b"xmlns"), p) => {
                    decls += 1;
                    known.prefixed = true;
                    let v = unescape(as_str(a.value), true);
                    let bad = match p {
                        b"xmlns" => true,
                        b"xml" => v != XML_NS,
                        _ => v.is_empty() || v == XML_NS || v == "http://www.w3.org/2000/xmlns/",
                    };
                    if bad {
                        return Err(self.err(ErrorKind::ReservedNamespace(lossy(a.name)), at));
                    }
                    let p_at = at + 6;
                    self.prefixes.push((p_at, p.len(), depth));
                }
                (Some(b"xml"), b"lang") => {
                    prefixed_attrs = true;
                    known.lang = Some((value_at - s, a.value.len()));
                }
                (Some(_), _) => prefixed_attrs = true,
                (None, _) => {}
            }
            if decls > self.config.max_namespace_declarations {
                return Err(self.err(
                    ErrorKind::NamespaceDeclarationLimit(self.config.max_namespace_declarations),
                    at,
                ));
            }
        }
        if let Some(p) = prefix
            && (p == b"xmlns" || !self.is_bound(buf, p))
        {
            return Err(self.err(ErrorKind::UndeclaredPrefix(lossy(p)), name_at));
        }
        if prefixed_attrs {
            for a in AttrScanner::new(region).flatten() {
                if let Ok((Some(p), _)) = split_qname(a.name)
                    && p != b"xmlns"
                    && !self.is_bound(buf, p)
                {
                    return Err(self.err(ErrorKind::UndeclaredPrefix(lossy(p)), region_at + a.at));
                }
            }
        }
        let local_at = name_at + name_len - local.len();
        Ok(TagInfo {
            prefix: prefix.map(|p| (name_at, p.len())),
            local: (local_at, local.len()),
            decls: known,
        })
    }
}

/// What the scan that found a start tag proved about it.
#[derive(Debug, Clone, Copy)]
struct Proven {
    /// The tag's namespace-relevant attributes when it was validated in full (else the full
    /// tag check runs).
    decls: Option<KnownDecls>,
    /// Whether its bytes are known to be UTF-8 and XML `Char`s.
    chars: bool,
}

/// What `check_tag` learned about a tag.
struct TagInfo {
    /// Range of the prefix, if any.
    prefix: Option<(usize, usize)>,
    /// Range of the local name.
    local: (usize, usize),
    /// Its namespace-relevant attributes, relative to the tag's start.
    decls: KnownDecls,
}

/// XML's `S` production.
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Checks a token the fast path found not plain (non-ASCII or control bytes): `None` when it is
/// not UTF-8 (the full reader must report it), else whether all its characters are `Char`s
/// (when not, the end-of-stanza check reports the first bad one, as it would anyway).
fn odd_token(token: &[u8]) -> Option<bool> {
    crate::chars::utf8_chars(token)
}

fn position(reader: &quick_xml::Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The bytes between a start tag's name and its `>` (or `/>`).
fn attr_region(buf: &[u8], s: usize, e: usize, name_len: usize, empty: bool) -> &[u8] {
    let close = if empty {
        e.saturating_sub(2)
    } else {
        e.saturating_sub(1)
    };
    buf.get(s + 1 + name_len..close).unwrap_or_default()
}

/// Whether the attributes `region` declare `xmlns:PREFIX='http://etherx.jabber.org/streams'`.
fn header_declares(region: &[u8], prefix: &[u8]) -> bool {
    AttrScanner::new(region).flatten().any(|a| {
        a.name.strip_prefix(b"xmlns:") == Some(prefix)
            && unescape(as_str(a.value), true) == STREAMS_NS
    })
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Guards idle-session memory: a connection manager keeps one `StreamReader` per upstream stream (×100,000).
    #[test]
    fn stream_reader_size() {
        let sizes = [
            ("StreamReader", std::mem::size_of::<StreamReader>()),
            ("Config", std::mem::size_of::<Config>()),
            ("HeaderInfo", std::mem::size_of::<HeaderInfo>()),
            ("Found", std::mem::size_of::<Result<Found>>()),
        ];
        for (name, size) in sizes {
            println!("{name}: {size} bytes");
        }
        // 392 bytes before the stream header's strings became boxed `str`s, the start of the stanza in progress
        // was boxed and the scratch lists became one pointer wide while unused; 248 on x86_64 after. (The event
        // queue stays a `VecDeque`: boxing it too saved 24 bytes but cost ≈ 2 % of throughput in `benches/xml`.)
        assert!(std::mem::size_of::<StreamReader>() <= 256);
    }

    /// Reads `input` one byte at a time with the slow path (the one that keeps the start of the stanza in
    /// progress), giving back scratch memory after every byte when `shrink`.
    fn byte_by_byte(input: &[u8], shrink: bool) -> Vec<String> {
        let mut reader = StreamReader::new(Config::default()).without_fast_path();
        let (mut buf, mut seen) = (Vec::new(), Vec::new());
        for &b in input {
            buf.push(b);
            loop {
                match reader.next(&buf) {
                    Ok(Status::Partial) => break,
                    Ok(Status::Complete(event)) => seen.push(format!("{event:?}")),
                    Err(e) => {
                        seen.push(format!("{e:?}"));
                        return seen;
                    }
                }
            }
            let n = reader.discard();
            buf.drain(..n);
            if shrink {
                reader.shrink_to_fit();
            }
        }
        seen
    }

    #[test]
    fn shrinking_inside_and_between_stanzas_changes_nothing() {
        let input = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
            version='1.0'><message xmlns:x='urn:x' to='a@b'><x:body>hi</x:body></message><presence/>\
            <iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq></stream:stream>";
        let kept = byte_by_byte(input, false);
        assert_eq!(kept.len(), 5, "{kept:?}");
        assert_eq!(byte_by_byte(input, true), kept);
    }
}

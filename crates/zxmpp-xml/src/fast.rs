//! The reader's fast path: one tight pass over the tokens of a stanza that recognises the common,
//! well-formed shapes and validates them as it goes.
//!
//! It never reports an error itself. Whatever it does not fully understand or finds wrong —
//! comments, CDATA, a malformed tag, a bad reference, an end tag that does not match, bytes that
//! are not UTF-8 — makes it *bail*: the reader then reads that token (and the rest of the
//! readable region) with quick-xml and the full checks, which report the error with its kind and
//! offset. So the fast path only has to be right about what it accepts.
//!
//! Start tags whose names or attributes need more than the common checks (prefixes, non-ASCII
//! names, prefix declarations, references in `xmlns`, attribute names that may repeat) are recognised here
//! ([`StartTag::known`] is `None`) and validated by the reader's full tag check.

use crate::chars::{check_reference, check_references};
use crate::element::{KnownDecls, XML_NS};

/// Byte classes for names, as bits: [`NAME`] continues a name, [`START`] may start one,
/// [`ODD`] needs the full check (`:`, any byte of a non-ASCII character); 0 ends a name.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() || c == b'_' {
            NAME | START
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            NAME
        } else if c == b':' {
            NAME | ODD
        } else if c >= 0x80 {
            NAME | ODD | HIGH
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            WS
        } else {
            0
        };
        b += 1;
    }
    t
};
const NAME: u8 = 1;
const START: u8 = 2;
const ODD: u8 = 4;
/// A byte of a non-ASCII character (the tag is then not [`StartTag::plain`]).
const HIGH: u8 = 8;
/// XML's `S` (not a name byte).
const WS: u8 = 16;

/// The end of the name whose first byte, of class `first`, is at `i - 1`, and the classes of
/// its bytes or-ed together.
#[inline(always)]
fn name_rest(b: &[u8], i: usize, first: u8) -> (usize, u8) {
    let mut seen = first;
    let mut n = 0;
    for &c in b.get(i..).unwrap_or_default() {
        let k = CLASS[usize::from(c)];
        if k & NAME == 0 {
            break;
        }
        seen |= k;
        n += 1;
    }
    (i + n, seen)
}

/// The first index from `i` that is not XML whitespace.
#[inline(always)]
fn skip_ws(b: &[u8], i: usize) -> usize {
    let mut n = 0;
    for &c in b.get(i..).unwrap_or_default() {
        if CLASS[usize::from(c)] & WS == 0 {
            break;
        }
        n += 1;
    }
    i + n
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit of each byte) the bytes of `w` below 0x20 or above 0x7F: a word without
/// any holds only ASCII characters that are XML `Char`s. Borrows only flag bytes above a true
/// hit, so a zero result is exact.
#[inline]
fn odd_bytes(w: u64) -> u64 {
    (w.wrapping_sub(LO * 0x20) | w) & HI
}

/// Whether `b` holds a byte below 0x20 or above 0x7F (see [`odd_bytes`]).
#[inline]
fn has_odd_bytes(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut acc = 0;
    for c in chunks.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        acc |= odd_bytes(u64::from_le_bytes(w));
    }
    acc != 0
        || chunks
            .remainder()
            .iter()
            .any(|&c| !(0x20..0x80).contains(&c))
}

/// What the fast scan made of the markup or text at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan<T> {
    /// The token is complete and fine (as far as this scan goes).
    Ok(T),
    /// The readable region ends inside the token: more bytes are needed.
    Truncated,
    /// Let the full reader look at this token.
    Bail,
}

/// A start tag the fast scan recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StartTag {
    /// Index just past the `>`.
    pub(crate) end: usize,
    /// Length of the qualified name.
    pub(crate) name_len: usize,
    /// Whether the tag ends with `/>`.
    pub(crate) empty: bool,
    /// The tag's namespace-relevant attributes when it was validated in full here; `None` when
    /// it is well-formed in shape but needs the reader's full tag check.
    pub(crate) known: Option<KnownDecls>,
    /// Whether every byte of the tag is ASCII and none is a control character other than tag
    /// whitespace: the tag is then valid UTF-8 and holds only XML `Char`s. When `false`, the
    /// reader checks both itself.
    pub(crate) plain: bool,
}

/// Limits the fast scan must respect (it leaves the tags that reach them to the full check).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_attributes: usize,
    pub(crate) max_namespace_declarations: usize,
}

/// Finds the first `quote`, `<` or `&` in `b` from `from`, eight bytes at a time (values are
/// too short for memchr's set-up to pay). Sets `odd` when a byte it looked at (at least those
/// before the stop) is below 0x20 or above 0x7F.
#[inline]
fn value_stop(b: &[u8], from: usize, quote: u8, odd: &mut u64) -> Option<usize> {
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut j = from;
    while let Some(chunk) = b.get(j..j + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(bytes);
        *odd |= odd_bytes(w);
        let hits = zero(w ^ (LO * u64::from(quote)))
            | zero(w ^ (LO * u64::from(b'<')))
            | zero(w ^ (LO * u64::from(b'&')));
        if hits != 0 {
            // The lowest flagged byte is a true hit (false positives only sit above one).
            return Some(j + (hits.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    let tail = b.get(j..)?;
    let stop = tail
        .iter()
        .position(|&c| c == quote || c == b'<' || c == b'&');
    if has_odd_bytes(tail.get(..stop.unwrap_or(tail.len())).unwrap_or_default()) {
        *odd |= HI;
    }
    stop.map(|k| j + k)
}

/// Scans the start tag at `b[s]` (a `<` not followed by `/`, `!` or `?`); `b` ends where the
/// readable region ends.
pub(crate) fn start_tag(b: &[u8], s: usize, limits: Limits) -> Scan<StartTag> {
    let Some(&c) = b.get(s + 1) else {
        return Scan::Truncated;
    };
    let first = CLASS[usize::from(c)];
    if first & NAME == 0 {
        return Scan::Bail;
    }
    let (name_end, name_seen) = name_rest(b, s + 2, first);
    let name_len = name_end - (s + 1);
    let mut full_check = first & START == 0 || name_seen & ODD != 0;
    let mut high = name_seen & HIGH != 0;
    let mut known = KnownDecls::default();
    let mut seen = 0u64;
    let mut count = 0usize;
    let mut odd = 0u64;
    let mut i = name_end;
    loop {
        let ws_from = i;
        i = skip_ws(b, i);
        let Some(&c) = b.get(i) else {
            return Scan::Truncated;
        };
        let class = CLASS[usize::from(c)];
        if class & NAME == 0 {
            return match c {
                b'>' => Scan::Ok(StartTag {
                    end: i + 1,
                    name_len,
                    empty: false,
                    known: (!full_check).then_some(known),
                    plain: !high && odd == 0,
                }),
                b'/' => match b.get(i + 1) {
                    Some(b'>') => Scan::Ok(StartTag {
                        end: i + 2,
                        name_len,
                        empty: true,
                        known: (!full_check).then_some(known),
                        plain: !high && odd == 0,
                    }),
                    Some(_) => Scan::Bail,
                    None => Scan::Truncated,
                },
                _ => Scan::Bail,
            };
        }
        if i == ws_from {
            return Scan::Bail;
        }
        // An attribute: name, `=`, quoted value.
        let at = i;
        let (an_end, an_seen) = name_rest(b, at + 1, class);
        high |= an_seen & HIGH != 0;
        let plain = class & START != 0 && an_seen & ODD == 0;
        i = an_end;
        if b.get(i) != Some(&b'=') {
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b'=') => {}
                Some(_) => return Scan::Bail,
                None => return Scan::Truncated,
            }
        }
        i += 1;
        let quote = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            Some(_) => {
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(&q @ (b'"' | b'\'')) => q,
                    Some(_) => return Scan::Bail,
                    None => return Scan::Truncated,
                }
            }
            None => return Scan::Truncated,
        };
        // The value, to the closing quote.
        let v_at = i + 1;
        let mut j = v_at;
        let mut amp = None;
        loop {
            let Some(k) = value_stop(b, j, quote, &mut odd) else {
                return Scan::Truncated;
            };
            match b.get(k) {
                Some(b'<') => return Scan::Bail,
                Some(b'&') => {
                    amp.get_or_insert(k);
                    j = k + 1;
                }
                _ => {
                    j = k;
                    break;
                }
            }
        }
        let v_len = j - v_at;
        i = j + 1;
        let has_ref = amp.is_some();
        if let Some(k) = amp
            && check_references(b.get(k..j).unwrap_or_default()).is_err()
        {
            return Scan::Bail;
        }
        count += 1;
        if count > limits.max_attributes {
            return Scan::Bail;
        }
        let name = b.get(at..an_end).unwrap_or_default();
        // Duplicates: a 64-bit filter on first byte, last byte and length (weights chosen so
        // that the attributes XMPP puts together, `to`/`from`, `jid`/`node`/`name`, BOSH's,
        // fall on different bits). Two names that share a bit may be the same: the full check
        // then decides (it is exact, and rarely needed).
        let last = b.get(an_end - 1).map_or(0, |&c| usize::from(c));
        let bit = 1u64 << ((usize::from(c) + 11 * last + 33 * name.len()) % 64);
        if seen & bit != 0 {
            full_check = true;
        }
        seen |= bit;
        if plain {
            if name == b"xmlns" {
                if limits.max_namespace_declarations == 0 {
                    return Scan::Bail;
                }
                let value = b.get(v_at..j).unwrap_or_default();
                if has_ref {
                    full_check = true;
                } else if value == XML_NS.as_bytes() || value == b"http://www.w3.org/2000/xmlns/" {
                    return Scan::Bail;
                }
                known.xmlns = Some((v_at - s, v_len));
            }
        } else if name == b"xml:lang" {
            known.lang = Some((v_at - s, v_len));
        } else {
            full_check = true;
        }
    }
}

/// Finds the first `<` or `&` in `b` from `from`: the first 32 bytes eight at a time (the text
/// between two references is often short), then memchr. When a byte before the stop (or one
/// after it in the same word) is below 0x20 or above 0x7F, sets `odd` (if not yet set) to
/// where the bytes looked at together with it start: every byte before that is plain ASCII.
#[inline]
fn text_stop(b: &[u8], from: usize, odd: &mut Option<usize>) -> Option<usize> {
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut j = from;
    for _ in 0..4 {
        let Some(Ok(bytes)) = b.get(j..j + 8).map(<[u8; 8]>::try_from) else {
            break;
        };
        let w = u64::from_le_bytes(bytes);
        if odd_bytes(w) != 0 && odd.is_none() {
            *odd = Some(j);
        }
        let hits = zero(w ^ (LO * u64::from(b'<'))) | zero(w ^ (LO * u64::from(b'&')));
        if hits != 0 {
            return Some(j + (hits.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    let tail = b.get(j..)?;
    let stop = memchr::memchr2(b'<', b'&', tail);
    if odd.is_none() && has_odd_bytes(tail.get(..stop.unwrap_or(tail.len())).unwrap_or_default()) {
        *odd = Some(j);
    }
    stop.map(|k| j + k)
}

/// The length of the name when `r` starts with one of the five predefined entity names and its
/// `;` (the common references, recognised without the general check).
#[inline]
fn predefined(r: &[u8]) -> Option<usize> {
    match r {
        [b'l' | b'g', b't', b';', ..] => Some(2),
        [b'a', b'm', b'p', b';', ..] => Some(3),
        [b'q', b'u', b'o', b't', b';', ..] | [b'a', b'p', b'o', b's', b';', ..] => Some(4),
        _ => None,
    }
}

/// The length of the name when `r` starts with a character reference to an XML `Char` and its
/// `;` (`#x263A`, `#65`); `None` sends it to the general check.
#[inline]
fn char_ref(r: &[u8]) -> Option<usize> {
    let (radix, from) = match r {
        [b'#', b'x', ..] => (16, 2),
        [b'#', ..] => (10, 1),
        _ => return None,
    };
    let mut v: u32 = 0;
    let mut len = from;
    for &c in r.get(from..)?.iter().take(9) {
        if c == b';' {
            break;
        }
        if len - from == 8 {
            // A ninth digit: too long (and eight cannot overflow).
            return None;
        }
        v = v * radix + char::from(c).to_digit(radix)?;
        len += 1;
    }
    if len == from || len - from > 8 || r.get(len) != Some(&b';') {
        return None;
    }
    char::from_u32(v)
        .filter(|&c| crate::chars::is_xml_char(c))
        .map(|_| len)
}

/// Scans character data inside a stanza from `b[s]` (not a `<`) to the next `<` or the end of
/// `b`; returns its end when every reference in it is allowed, and where it stops being plain:
/// `None` when it is only ASCII with no control characters (then it is valid UTF-8 and holds
/// only XML `Char`s), else an index before which it is (the reader checks the rest itself).
pub(crate) fn text(b: &[u8], s: usize) -> Scan<(usize, Option<usize>)> {
    let rest = b.get(s..).unwrap_or_default();
    let mut from = 0;
    // References are checked by name below (only ASCII names pass), so only the bytes
    // `text_stop` passes over matter.
    let mut odd = None;
    loop {
        match text_stop(rest, from, &mut odd) {
            None => return Scan::Ok((b.len(), odd.map(|o| s + o))),
            Some(at) => {
                if rest[at] == b'<' {
                    return Scan::Ok((s + at, odd.map(|o| s + o)));
                }
                // A reference: up to `;`, which must come before any `<`. Allowed names are
                // short (ten bytes at most), so look at a few bytes only.
                let name_from = at + 1;
                let r = rest.get(name_from..).unwrap_or_default();
                if let Some(len) = predefined(r).or_else(|| char_ref(r)) {
                    from = name_from + len + 1;
                    continue;
                }
                let Some(len) = rest
                    .get(name_from..)
                    .and_then(|r| r.iter().take(11).position(|&c| c == b';' || c == b'<'))
                else {
                    return Scan::Bail;
                };
                if rest[name_from + len] != b';'
                    || check_reference(&rest[name_from..name_from + len]).is_err()
                {
                    return Scan::Bail;
                }
                from = name_from + len + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_attributes: 100,
        max_namespace_declarations: 100,
    };

    fn tag(s: &str) -> Scan<StartTag> {
        start_tag(s.as_bytes(), 0, LIMITS)
    }

    #[test]
    fn plain_tags_are_validated_here() {
        let Scan::Ok(t) = tag("<message xmlns='jabber:client' to=\"a&amp;b\" xml:lang='en'/>")
        else {
            panic!("not recognised");
        };
        assert_eq!((t.name_len, t.empty), (7, true));
        let k = t.known.unwrap();
        assert_eq!(k.xmlns, Some((16, 13)));
        assert_eq!(k.lang, Some((54, 2)));
        assert!(matches!(
            tag("<a>"),
            Scan::Ok(StartTag {
                end: 3,
                known: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn unusual_tags_go_to_the_full_check() {
        for s in [
            "<p:a>",
            "<é>",
            "<a xmlns:p='u'>",
            "<a p:x='1'>",
            "<a xmlns='&#x41;'>",
            "<a b='1' b='2'>",
            "<a aab='1' abb='2'>",
        ] {
            assert!(
                matches!(tag(s), Scan::Ok(StartTag { known: None, .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn errors_and_oddities_bail() {
        for s in [
            "<a b='1'c='2'>",
            "<a b=1>",
            "<a b>",
            "<a b='<'>",
            "<a b='&nbsp;'>",
            "<a xmlns='http://www.w3.org/XML/1998/namespace'>",
            "<a$>",
            "<a/ >",
            "< a>",
        ] {
            assert_eq!(tag(s), Scan::Bail, "{s}");
        }
    }

    #[test]
    fn cut_tags_are_truncated() {
        for s in [
            "<", "<a", "<a ", "<a b", "<a b=", "<a b='1", "<a b='1'", "<a/",
        ] {
            assert_eq!(tag(s), Scan::Truncated, "{s}");
        }
    }

    #[test]
    fn value_stops_agree_with_a_byte_loop() {
        for len in 0..40 {
            for pos in 0..len {
                for stop in [b'\'', b'"', b'<', b'&', 0x80, 0x00, b'a'] {
                    let mut v = vec![b'x'; len];
                    v[pos] = stop;
                    for from in 0..=pos {
                        let want = v[from..]
                            .iter()
                            .position(|&c| c == b'\'' || c == b'<' || c == b'&')
                            .map(|k| from + k);
                        let mut odd = 0;
                        assert_eq!(value_stop(&v, from, b'\'', &mut odd), want, "{v:?} {from}");
                        if want.is_some_and(|w| v[from..w].contains(&0x80))
                            || (want.is_none() && v[from..].contains(&0x80))
                        {
                            assert_ne!(odd, 0, "{v:?} {from}");
                        }
                    }
                }
            }
        }
    }

    /// Everything a reader makes of `input` read in pieces ending at `splits`: the events (kind,
    /// offset, bytes, name, namespace) and the error.
    fn read_all(
        mut reader: crate::StreamReader,
        input: &[u8],
        splits: &[usize],
    ) -> (Vec<String>, Option<crate::Error>) {
        use crate::{Event, Status};
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut bounds: Vec<usize> = splits.iter().map(|&s| s % (input.len() + 1)).collect();
        bounds.push(input.len());
        bounds.sort_unstable();
        let mut last = 0;
        for b in bounds {
            buf.extend_from_slice(&input[last..b]);
            last = b;
            loop {
                match reader.next(&buf) {
                    Ok(Status::Partial) => break,
                    Ok(Status::Complete(ev)) => out.push(match ev {
                        Event::StreamOpen(h) => format!("open {:?}", h.element()),
                        Event::StreamRestart(h) => format!("restart {:?}", h.element()),
                        Event::Stanza(el) => {
                            format!("stanza {} {:?} {:?}", el.offset(), el.as_bytes(), el)
                        }
                        Event::StreamClose => "close".to_owned(),
                    }),
                    Err(e) => return (out, Some(e)),
                }
            }
            let n = reader.discard();
            buf.drain(..n);
        }
        (out, None)
    }

    /// Pieces of stanza content, good and bad, for the differential test. Most are balanced,
    /// so that stanzas often complete and reach the end-of-stanza checks.
    const PIECES: &[&str] = &[
        "<body>hi</body>",
        "<a/>",
        "<a>x</a>",
        "<b x='1' y=\"&amp;&#x263A;\"/>",
        "<c xml:lang='en' z = 'v'>t</c>",
        "<p:d xmlns:p='urn:p'><p:e/></p:d>",
        "<p:e/>",
        "<e p:x='1'/>",
        "<é/>",
        "<f xmlns='urn:f'><g xmlns=''/></f>",
        "<g xmlns='http://www.w3.org/XML/1998/namespace'/>",
        "<h a='1' a='2'/>",
        "<i a='1'b='2'/>",
        "<j a=1/>",
        "<k a='<'/>",
        "<l a='&nbsp;'/>",
        "<1m/>",
        "<n$/>",
        "<o/ >",
        "< q/>",
        "<r\ta\n=\r'x'\t/>",
        "<s a='1' b='2' c='3' d='4' e='5' f='6' g='7' h='8' i='9' j='10' k='11' l='12' m='13'/>",
        "<t>",
        "</t>",
        "</u>",
        "text",
        " ",
        "\n",
        "&lt;",
        "&#10;",
        "&#x0010FFFF;",
        "&bad;",
        "& ",
        "&amp",
        "]]>",
        "<!-- c -->",
        "<![CDATA[x<y]]>",
        "<?pi x?>",
        "<!DOCTYPE x>",
        "\u{1}",
        "\u{FFFE}",
        "\u{FEFF}",
        "é日😀",
        "\u{7F}\u{85}",
        "plain text that runs on for more than thirty-two bytes, then caf\u{e9}",
        "plain text that runs on for more than thirty-two bytes, then \u{1}",
        "plain text that runs on for more than thirty-two bytes, then \u{FFFF}",
        "<v a='a long attribute value that goes on and on, caf\u{e9}'/>",
        "<w a='x\u{1}y' b='\u{FFFE}'/>",
        "<x a='\t\n'>\u{e9}&#x263A;&#65;</x>",
        "&#x110000;",
        "&#x0000000041;",
    ];

    /// What comes between stanzas: mostly whitespace, sometimes something else.
    const BETWEEN: &[&str] = &[
        "",
        "\n",
        " \t",
        "x",
        "\u{FEFF}",
        "<!-- c -->",
        "</stream:stream>",
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The fast path changes nothing but speed: with and without it, every stream (good or
        /// bad) gives the same events and the same error at the same offset, however chunked.
        #[test]
        fn fast_path_agrees_with_full_reader(
            stanzas in proptest::collection::vec(
                (0..BETWEEN.len(), proptest::collection::vec(0..PIECES.len(), 0..6)),
                0..6,
            ),
            raw in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..2),
            splits in proptest::collection::vec(0usize..4000, 0..6),
            fragments in proptest::prelude::any::<bool>(),
        ) {
            let mut input = if fragments {
                Vec::new()
            } else {
                b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
                    .to_vec()
            };
            let body_from = input.len();
            for (between, pieces) in &stanzas {
                input.extend_from_slice(BETWEEN[*between].as_bytes());
                input.extend_from_slice(b"<message xmlns='jabber:client' to='juliet@example.com' id='a1'>");
                for &p in pieces {
                    input.extend_from_slice(PIECES[p].as_bytes());
                }
                input.extend_from_slice(b"</message>");
            }
            for (at, byte) in raw {
                let at = body_from + at % (input.len() - body_from + 1);
                input.insert(at, byte);
            }
            let config = crate::Config::default().max_attributes(12);
            let make = || {
                if fragments {
                    crate::StreamReader::fragments(config)
                } else {
                    crate::StreamReader::new(config)
                }
            };
            // The first readable region (with the header) is read by quick-xml whatever
            // happens: end it after the header, and after the first stanza, so that the fast
            // path sees the rest.
            let mut splits = splits;
            splits.push(body_from);
            if let Some(first) = input.windows(10).position(|w| w == b"</message>") {
                splits.push(first + 10);
            }
            let fast = read_all(make(), &input, &splits);
            let full = read_all(make().without_fast_path(), &input, &splits);
            proptest::prop_assert_eq!(fast, full, "{:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn text_stops_agree_with_memchr() {
        for len in 0..80 {
            for pos in 0..len {
                for stop in [b'<', b'&', b'>', 0x80, 0x1F, b'a'] {
                    let mut v = vec![b'x'; len];
                    v[pos] = stop;
                    for from in 0..=pos {
                        let want = memchr::memchr2(b'<', b'&', &v[from..]).map(|k| from + k);
                        let mut odd = None;
                        assert_eq!(text_stop(&v, from, &mut odd), want, "{v:?} {from}");
                        // Everything before the odd mark is plain.
                        if let Some(o) = odd {
                            assert!(
                                v[from..o].iter().all(|&c| c != 0x80 && c != 0x1F),
                                "{v:?} {from}"
                            );
                        }
                        let odd = odd.map_or(0, |_| 1);
                        // Sound: a non-ASCII byte before the stop is always flagged.
                        if v[from..want.unwrap_or(len)]
                            .iter()
                            .any(|&c| c == 0x80 || c == 0x1F)
                        {
                            assert_ne!(odd, 0, "{v:?} {from}");
                        }
                        if !v.iter().any(|&c| c == 0x80 || c == 0x1F) {
                            assert_eq!(odd, 0, "{v:?} {from}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn text_references() {
        assert_eq!(text(b"a &amp; b<c", 0), Scan::Ok((9, None)));
        assert_eq!(
            text(b"&quot;&apos;&lt;&gt;&#x41;&#65;<", 0),
            Scan::Ok((31, None))
        );
        assert_eq!(text(b"abc", 0), Scan::Ok((3, None)));
        assert_eq!(text(b"a\tb<", 0), Scan::Ok((3, Some(0))));
        assert_eq!(
            text("caf\u{e9} &amp;<".as_bytes(), 0),
            Scan::Ok((11, Some(0)))
        );
        assert_eq!(
            text("&amp;caf\u{e9}<".as_bytes(), 0),
            Scan::Ok((10, Some(5)))
        );
        assert_eq!(text(b"&ampx;<", 0), Scan::Bail);
        assert_eq!(text(b"&#x263A;&#x10FFFF;&#9;<", 0), Scan::Ok((22, None)));
        for bad in [
            &b"&#x0;<"[..],
            b"&#1;<",
            b"&#xFFFE;<",
            b"&#xD800;<",
            b"&#x110000;<",
            b"&#x000000041;<",
            b"&#x288888888888;<",
            b"&#999999999999;<",
            b"&#;<",
            b"&#x;<",
            b"&#X41;<",
            b"&#12a;<",
            b"&#12<",
        ] {
            assert_eq!(text(bad, 0), Scan::Bail, "{bad:?}");
        }
        for n in 0..0x11_0000u32 {
            let hex = format!("#x{n:X}");
            let dec = format!("#{n}");
            for name in [hex, dec] {
                let r = format!("{name};");
                let want = check_reference(name.as_bytes()).ok().map(|()| name.len());
                assert_eq!(char_ref(r.as_bytes()), want, "{name}");
            }
        }
        assert_eq!(text(b"&am;<", 0), Scan::Bail);
        assert_eq!(text(b"&quot<", 0), Scan::Bail);
        assert_eq!(text(b"a &nbsp; b<", 0), Scan::Bail);
        assert_eq!(text(b"a & b<", 0), Scan::Bail);
        assert_eq!(text(b"a &amp<", 0), Scan::Bail);
    }
}

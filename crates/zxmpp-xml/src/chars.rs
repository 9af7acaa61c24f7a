//! Character-level rules of XML 1.0 as RFC 6120 §11 restricts them: the `Char` production, names,
//! references, and the unescaping of text and attribute values.

use std::borrow::Cow;

use crate::error::ErrorKind;

/// Whether `c` matches XML 1.0's `Char` production.
#[inline]
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Finds the first character of `s` outside XML 1.0's `Char`: its byte index and code point.
///
/// `s` is already UTF-8, so surrogates cannot occur; what remains are the C0 controls other than
/// tab, line feed and carriage return, and U+FFFE/U+FFFF (bytes `EF BF BE`/`EF BF BF`).
pub(crate) fn find_invalid_char(s: &[u8]) -> Option<(usize, u32)> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Word at a time: a word with no byte below 0x20 and no 0xEF cannot hold a bad character.
    let suspect = |w: u64| {
        let below_20 = w.wrapping_sub(LO * 0x20) & !w & HI;
        let x = w ^ (LO * 0xEF);
        let has_ef = x.wrapping_sub(LO) & !x & HI;
        below_20 | has_ef
    };
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    // Two words per step: most of the input is clean, so the loop itself is the cost.
    let mut chunks = s.chunks_exact(16);
    let mut i = 0;
    for chunk in chunks.by_ref() {
        let (a, b) = chunk.split_at(8);
        if suspect(word(a)) | suspect(word(b)) != 0
            && let Some(found) = scan_bytes(s, i, i + 16)
        {
            return Some(found);
        }
        i += 16;
    }
    scan_bytes(s, i, s.len())
}

/// Checks in one pass that `b` is UTF-8 (`None` when it is not, exactly when
/// `str::from_utf8` fails) and whether all its characters are XML `Char`s (exactly when
/// [`find_invalid_char`] finds none): ASCII eight bytes at a time, other characters decoded
/// here. For short tokens with non-ASCII text this is cheaper than the two passes.
pub(crate) fn utf8_chars(b: &[u8]) -> Option<bool> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let cont = |c: u8| c & 0xC0 == 0x80;
    let mut chars = true;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c < 0x80 {
            if let Some(Ok(word)) = b.get(i..i + 8).map(<[u8; 8]>::try_from) {
                let w = u64::from_le_bytes(word);
                // Bytes below 0x20 or above 0x7F (borrows only flag bytes above a true hit, so
                // the lowest flag is exact): skip the plain ASCII before the first.
                let odd = (w.wrapping_sub(LO * 0x20) | w) & HI;
                let plain = (odd.trailing_zeros() / 8) as usize;
                if plain > 0 {
                    i += plain;
                    continue;
                }
            }
            if c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r') {
                chars = false;
            }
            i += 1;
            continue;
        }
        let c1 = *b.get(i + 1)?;
        match c {
            0xC2..=0xDF => {
                if !cont(c1) {
                    return None;
                }
                i += 2;
            }
            0xE0..=0xEF => {
                let second = match c {
                    0xE0 => (0xA0..=0xBF).contains(&c1),
                    // U+D800..U+DFFF, the surrogates, are not UTF-8.
                    0xED => (0x80..=0x9F).contains(&c1),
                    _ => cont(c1),
                };
                let c2 = *b.get(i + 2)?;
                if !second || !cont(c2) {
                    return None;
                }
                if c == 0xEF && c1 == 0xBF && c2 >= 0xBE {
                    chars = false;
                }
                i += 3;
            }
            0xF0..=0xF4 => {
                let second = match c {
                    0xF0 => (0x90..=0xBF).contains(&c1),
                    0xF4 => (0x80..=0x8F).contains(&c1),
                    _ => cont(c1),
                };
                let c2 = *b.get(i + 2)?;
                let c3 = *b.get(i + 3)?;
                if !second || !cont(c2) || !cont(c3) {
                    return None;
                }
                i += 4;
            }
            _ => return None,
        }
    }
    Some(chars)
}

fn scan_bytes(s: &[u8], from: usize, to: usize) -> Option<(usize, u32)> {
    for j in from..to {
        let b = s[j];
        if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
            return Some((j, u32::from(b)));
        }
        if b == 0xEF && s.get(j + 1) == Some(&0xBF) {
            match s.get(j + 2) {
                Some(0xBE) => return Some((j, 0xFFFE)),
                Some(0xBF) => return Some((j, 0xFFFF)),
                _ => {}
            }
        }
    }
    None
}

/// Byte classes for ASCII names: 2 = may start a name, 1 = may continue one, 0 = neither.
pub(crate) const ASCII_NAME: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() || c == b'_' {
            2
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            1
        } else {
            0
        };
        b += 1;
    }
    t
};

/// XML 1.0 (fifth edition) `NameStartChar`, without `:`.
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (fifth edition) `NameChar`, without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Checks an NCName (a name without a colon).
fn check_ncname(n: &[u8]) -> bool {
    !n.is_empty() && matches!(split_qname(n), Ok((None, _)))
}

/// Splits a qualified name into prefix and local part, checking both are NCNames (XML 1.0 fifth
/// edition names, Namespaces in XML `QName`).
///
/// One pass over the (short) name, ASCII by table; a plain loop beats `memchr` here.
pub(crate) fn split_qname(q: &[u8]) -> Result<(Option<&[u8]>, &[u8]), ErrorKind> {
    let mut colon = None;
    let mut start = true;
    let mut i = 0;
    while let Some(&b) = q.get(i) {
        if b < 0x80 {
            let class = ASCII_NAME[usize::from(b)];
            if class == 2 || (class == 1 && !start) {
                start = false;
            } else if b == b':' && !start && colon.is_none() {
                colon = Some(i);
                start = true;
            } else {
                return Err(ErrorKind::InvalidName);
            }
            i += 1;
            continue;
        }
        // Decode the one character starting here; the readers have checked the UTF-8.
        let end = (i + 4).min(q.len());
        let c = q.get(i..end).and_then(|s| {
            let s = match std::str::from_utf8(s) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&s[..e.valid_up_to()]).unwrap_or_default(),
            };
            s.chars().next()
        });
        match c {
            Some(c) if (start && is_name_start_char(c)) || (!start && is_name_char(c)) => {
                start = false;
                i += c.len_utf8();
            }
            _ => return Err(ErrorKind::InvalidName),
        }
    }
    if start {
        // Empty, or ends with the colon.
        return Err(ErrorKind::InvalidName);
    }
    Ok(match colon {
        Some(i) => (Some(&q[..i]), &q[i + 1..]),
        None => (None, q),
    })
}

/// Checks the name of a reference (the bytes between `&` and `;`).
pub(crate) fn check_reference(name: &[u8]) -> Result<(), ErrorKind> {
    match name {
        b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => Ok(()),
        [b'#', b'x', hex @ ..] => char_ref(hex, 16),
        [b'#', dec @ ..] => char_ref(dec, 10),
        other => {
            if check_ncname(other) {
                Err(ErrorKind::UndefinedEntity(
                    String::from_utf8_lossy(other).into_owned(),
                ))
            } else {
                Err(ErrorKind::InvalidReference)
            }
        }
    }
}

fn char_ref(digits: &[u8], radix: u32) -> Result<(), ErrorKind> {
    resolve_char_ref(digits, radix)
        .map(|_| ())
        .ok_or(ErrorKind::InvalidReference)
}

fn resolve_char_ref(digits: &[u8], radix: u32) -> Option<char> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let mut v: u32 = 0;
    for &d in digits {
        v = v
            .checked_mul(radix)?
            .checked_add(char::from(d).to_digit(radix)?)?;
    }
    char::from_u32(v).filter(|&c| is_xml_char(c))
}

/// Checks an attribute value: no literal `<`, and every `&` starts an allowed reference.
/// Returns the byte index of the problem.
pub(crate) fn check_attr_value(raw: &[u8]) -> Result<(), (usize, ErrorKind)> {
    // Values are short: look at each byte once rather than calling memchr twice.
    match raw.iter().position(|&b| b == b'<' || b == b'&') {
        None => Ok(()),
        Some(i) if raw[i] == b'<' => Err((i, ErrorKind::LtInAttributeValue)),
        Some(i) => {
            if let Some(lt) = memchr::memchr(b'<', &raw[i..]) {
                check_references(&raw[i..i + lt]).map_err(|(j, k)| (i + j, k))?;
                return Err((i + lt, ErrorKind::LtInAttributeValue));
            }
            check_references(&raw[i..]).map_err(|(j, k)| (i + j, k))
        }
    }
}

/// Checks every `&` in `raw` (text or an attribute value) starts a well-formed, allowed reference.
/// Returns the byte index of the bad `&` and the problem.
pub(crate) fn check_references(raw: &[u8]) -> Result<(), (usize, ErrorKind)> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'&', &raw[from..]) {
        let amp = from + i;
        let rest = &raw[amp + 1..];
        match memchr::memchr(b';', rest) {
            Some(end) => {
                check_reference(&rest[..end]).map_err(|k| (amp, k))?;
                from = amp + 1 + end + 1;
            }
            None => return Err((amp, ErrorKind::InvalidReference)),
        }
    }
    Ok(())
}

/// Replaces the references in already-validated `raw` text and normalises line ends (XML 1.0
/// §2.11: `\r\n` and lone `\r` become `\n`); in attribute values (`attr`), literal tab, line feed
/// and carriage return also become spaces (§3.3.3).
pub(crate) fn unescape(raw: &str, attr: bool) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let needs = if attr && bytes.len() <= 64 {
        // Short values (most of them): one look at each byte beats two memchr set-ups.
        bytes
            .iter()
            .any(|&b| matches!(b, b'&' | b'\r' | b'\n' | b'\t'))
    } else if attr {
        memchr::memchr3(b'&', b'\r', b'\n', bytes).is_some()
            || memchr::memchr(b'\t', bytes).is_some()
    } else {
        memchr::memchr2(b'&', b'\r', bytes).is_some()
    };
    if !needs {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '&' => {
                let end = rest.find(';').unwrap_or(rest.len());
                let name = &rest.as_bytes()[1..end.max(1)];
                let replacement = match name {
                    b"lt" => Some('<'),
                    b"gt" => Some('>'),
                    b"amp" => Some('&'),
                    b"apos" => Some('\''),
                    b"quot" => Some('"'),
                    [b'#', b'x', hex @ ..] => resolve_char_ref(hex, 16),
                    [b'#', dec @ ..] => resolve_char_ref(dec, 10),
                    _ => None,
                };
                match replacement {
                    Some(r) => {
                        out.push(r);
                        rest = rest.get(end + 1..).unwrap_or("");
                    }
                    // Not reachable for validated input; keep the text as it is.
                    None => {
                        out.push('&');
                        rest = &rest[1..];
                    }
                }
            }
            '\r' => {
                out.push(if attr { ' ' } else { '\n' });
                rest = &rest[1..];
                if rest.starts_with('\n') {
                    rest = &rest[1..];
                }
            }
            '\n' | '\t' if attr => {
                out.push(' ');
                rest = &rest[1..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_chars_found_in_every_position() {
        for len in 0..20 {
            for pos in 0..len {
                let mut s = vec![b'a'; len];
                s[pos] = 0x01;
                assert_eq!(find_invalid_char(&s), Some((pos, 1)));
            }
            assert_eq!(find_invalid_char(&vec![b'a'; len]), None);
        }
        assert_eq!(
            find_invalid_char("ab\u{FFFF}".as_bytes()),
            Some((2, 0xFFFF))
        );
        assert_eq!(
            find_invalid_char("abcdefgh\u{FFFE}".as_bytes()),
            Some((8, 0xFFFE))
        );
        assert_eq!(find_invalid_char("\u{FFFD}\u{F000}\t\r\n".as_bytes()), None);
    }

    /// What `utf8_chars` must say: the two passes it replaces.
    fn two_passes(b: &[u8]) -> Option<bool> {
        std::str::from_utf8(b).ok()?;
        Some(find_invalid_char(b).is_none())
    }

    #[test]
    fn utf8_chars_agrees_with_from_utf8_on_every_short_sequence() {
        let mut b = [b'a'; 12];
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                b[3] = x;
                b[4] = y;
                assert_eq!(utf8_chars(&b[..5]), two_passes(&b[..5]), "{x:x} {y:x}");
                assert_eq!(utf8_chars(&b), two_passes(&b), "{x:x} {y:x}");
                if x >= 0xE0 {
                    for z in [
                        0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBD, 0xBE, 0xBF, 0xC0, 0xFF,
                    ] {
                        b[5] = z;
                        assert_eq!(
                            utf8_chars(&b[..6]),
                            two_passes(&b[..6]),
                            "{x:x} {y:x} {z:x}"
                        );
                        for v in [0x41, 0x80, 0xBF, 0xC0] {
                            b[6] = v;
                            assert_eq!(utf8_chars(&b), two_passes(&b), "{x:x} {y:x} {z:x} {v:x}");
                        }
                        b[6] = b'a';
                    }
                    b[5] = b'a';
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn utf8_chars_agrees_with_two_passes(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![
                    b'a', b' ', b'\t', b'\n', 0x01, 0x1F, 0x7F, 0x80, 0x9F, 0xA0, 0xBE, 0xBF,
                    0xC2, 0xC3, 0xDF, 0xE0, 0xE3, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
                ]),
                0..40,
            ),
            text in ".{0,20}",
        ) {
            proptest::prop_assert_eq!(utf8_chars(&bytes), two_passes(&bytes));
            proptest::prop_assert_eq!(utf8_chars(text.as_bytes()), two_passes(text.as_bytes()));
        }
    }

    #[test]
    fn names_follow_xml_1_0_fifth_edition() {
        for ok in [
            "a",
            "_x",
            "stream:stream",
            "é",
            "日本",
            "a-b.c1",
            "x\u{B7}y",
            "a\u{FEFF}",
        ] {
            assert!(split_qname(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in [
            "", "1a", "-a", ":a", "a:", "a:b:c", "a b", "a\u{D7}", "\u{300}a", "a$", "\u{2000}",
        ] {
            assert_eq!(
                split_qname(bad.as_bytes()),
                Err(ErrorKind::InvalidName),
                "{bad}"
            );
        }
        assert_eq!(split_qname(b"p:l"), Ok((Some(&b"p"[..]), &b"l"[..])));
    }

    #[test]
    fn references() {
        assert!(check_references(b"a &lt; &#x1F600; &#10; &amp;&quot;&apos;&gt;").is_ok());
        assert_eq!(
            check_references(b"x &nbsp;"),
            Err((2, ErrorKind::UndefinedEntity("nbsp".into())))
        );
        assert_eq!(
            check_references(b"&#0;"),
            Err((0, ErrorKind::InvalidReference))
        );
        assert_eq!(
            check_references(b"&#xD800;"),
            Err((0, ErrorKind::InvalidReference))
        );
        assert_eq!(
            check_references(b"a & b"),
            Err((2, ErrorKind::InvalidReference))
        );
        assert_eq!(
            check_references(b"&;"),
            Err((0, ErrorKind::InvalidReference))
        );
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape("a&lt;b&#x2B;&#43;", false), "a<b++");
        assert_eq!(unescape("a\r\nb\rc", false), "a\nb\nc");
        assert_eq!(unescape("a\tb\nc&#10;", true), "a b c\n");
        assert!(matches!(unescape("plain", false), Cow::Borrowed(_)));
    }
}

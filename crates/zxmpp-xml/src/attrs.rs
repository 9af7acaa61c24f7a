//! A scanner for the attributes of a start tag, over the caller's bytes.
//!
//! quick-xml finds where a tag ends; the attributes are read here so that names and values come
//! out as ranges of the caller's buffer (with its lifetime) and so that the checks of the
//! validating pass and the lookups of the views share one tokenizer.

use crate::chars::ASCII_NAME;
use crate::error::ErrorKind;

/// One attribute as written: qualified name and raw (escaped) value, both borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawAttr<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) value: &'a [u8],
    /// Index of the name's first byte within the scanned region.
    pub(crate) at: usize,
    /// `Some(colon)` when the name is all ASCII and already known to be a well-formed QName
    /// (with the colon's index in the name, if any); `None` when it needs the full check.
    pub(crate) qname: Option<Option<usize>>,
    /// Whether the value holds a `<` or a `&` (and so needs checking).
    pub(crate) special: bool,
}

/// Iterates over the attributes in the bytes between a tag's name and its `>` (or `/>`).
pub(crate) struct AttrScanner<'a> {
    s: &'a [u8],
    i: usize,
    /// Whether to work out `qname` and `special` (for the validating pass; views skip it).
    checking: bool,
}

impl<'a> AttrScanner<'a> {
    /// A scanner for validated bytes: `qname` is `None` and `special` is `false`.
    pub(crate) fn new(region: &'a [u8]) -> Self {
        Self {
            s: region,
            i: 0,
            checking: false,
        }
    }

    /// A scanner for the validating pass, which notes plain names and values.
    pub(crate) fn checking(region: &'a [u8]) -> Self {
        Self {
            s: region,
            i: 0,
            checking: true,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.s.get(self.i) {
            if crate::reader::is_ws(*b) {
                self.i += 1;
            } else {
                break;
            }
        }
    }
}

impl<'a> Iterator for AttrScanner<'a> {
    /// An attribute, or the offset within the region and the problem.
    type Item = Result<RawAttr<'a>, (usize, ErrorKind)>;

    fn next(&mut self) -> Option<Self::Item> {
        let start_ws = self.i;
        self.skip_ws();
        let at = self.i;
        if at >= self.s.len() {
            return None;
        }
        if at == start_ws && at != 0 {
            // Attributes must be separated by whitespace.
            self.i = self.s.len();
            return Some(Err((at, ErrorKind::MalformedAttribute)));
        }
        // Find the end of the name and, on the way, whether it is a plain ASCII QName.
        let mut name_end = self.s.len();
        let mut colon = None;
        let mut plain = true;
        for (k, &b) in self.s[at..].iter().enumerate() {
            if matches!(b, b'=' | b' ' | b'\t' | b'\n' | b'\r') {
                name_end = at + k;
                break;
            }
            if b == b':' {
                plain &= colon.is_none() && k > 0;
                colon = Some(k);
            } else if b >= 0x80
                || ASCII_NAME[usize::from(b)] == 0
                || ((k == 0 || colon == Some(k - 1)) && ASCII_NAME[usize::from(b)] != 2)
            {
                plain = false;
            }
        }
        plain &= name_end > at && colon.is_none_or(|c| at + c + 1 < name_end);
        let name = &self.s[at..name_end];
        self.i = name_end;
        self.skip_ws();
        if self.s.get(self.i) != Some(&b'=') {
            self.i = self.s.len();
            return Some(Err((at, ErrorKind::MalformedAttribute)));
        }
        self.i += 1;
        self.skip_ws();
        let quote = match self.s.get(self.i) {
            Some(q @ (b'"' | b'\'')) => *q,
            _ => {
                self.i = self.s.len();
                return Some(Err((at, ErrorKind::MalformedAttribute)));
            }
        };
        let value_start = self.i + 1;
        let rest = self.s.get(value_start..).unwrap_or_default();
        let Some(len) = memchr::memchr(quote, rest) else {
            self.i = self.s.len();
            return Some(Err((at, ErrorKind::MalformedAttribute)));
        };
        // Whether the value needs checking: it holds a `<` or a `&`.
        let special = self.checking && memchr::memchr2(b'<', b'&', &rest[..len]).is_some();
        let value = &self.s[value_start..value_start + len];
        self.i = value_start + len + 1;
        Some(Ok(RawAttr {
            name,
            value,
            at,
            qname: (self.checking && plain).then_some(colon),
            special,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(region: &str) -> Vec<Result<(String, String), ErrorKind>> {
        AttrScanner::new(region.as_bytes())
            .map(|r| {
                r.map(|a| {
                    (
                        String::from_utf8_lossy(a.name).into_owned(),
                        String::from_utf8_lossy(a.value).into_owned(),
                    )
                })
                .map_err(|(_, k)| k)
            })
            .collect()
    }

    /// The scanner's fast QName verdict never disagrees with the full check.
    #[test]
    fn fast_qname_check_agrees_with_split_qname() {
        let alphabet = [b'a', b'Z', b'_', b'1', b'-', b'.', b':', b'$', 0xC3, 0xA9];
        let mut names = vec![Vec::new()];
        for _ in 0..4 {
            let mut longer = Vec::new();
            for n in &names {
                for &b in &alphabet {
                    let mut m: Vec<u8> = n.clone();
                    m.push(b);
                    longer.push(m);
                }
            }
            names.extend(longer);
        }
        for name in names.iter().filter(|n| !n.is_empty()) {
            let mut region = b" ".to_vec();
            region.extend_from_slice(name);
            region.extend_from_slice(b"='v'");
            let Some(Ok(a)) = AttrScanner::checking(&region).next() else {
                continue;
            };
            if let Some(colon) = a.qname {
                let full = crate::chars::split_qname(a.name);
                assert_eq!(
                    full.map(|(p, _)| p.map(<[u8]>::len)),
                    Ok(colon),
                    "{:?}",
                    String::from_utf8_lossy(name)
                );
            }
        }
    }

    #[test]
    fn scans_quoted_values_with_whitespace_around_equals() {
        assert_eq!(
            names(" a='1' b = \"x'y\"\n c=''"),
            vec![
                Ok(("a".into(), "1".into())),
                Ok(("b".into(), "x'y".into())),
                Ok(("c".into(), "".into()))
            ]
        );
        assert_eq!(names(" "), vec![]);
    }

    #[test]
    fn rejects_malformed_attributes() {
        assert_eq!(names(" a=1"), vec![Err(ErrorKind::MalformedAttribute)]);
        assert_eq!(names(" a"), vec![Err(ErrorKind::MalformedAttribute)]);
        assert_eq!(
            names(" a='1'b='2'"),
            vec![
                Ok(("a".into(), "1".into())),
                Err(ErrorKind::MalformedAttribute)
            ]
        );
        assert_eq!(names(" a='1"), vec![Err(ErrorKind::MalformedAttribute)]);
    }
}

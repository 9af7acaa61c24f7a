//! A scanner for the attributes of a start tag, over the caller's bytes.
//!
//! quick-xml finds where a tag ends; the attributes are read here so that names and values come
//! out as ranges of the caller's buffer (with its lifetime) and so that the checks of the
//! validating pass and the lookups of the views share one tokenizer.

use crate::error::ErrorKind;

/// One attribute as written: qualified name and raw (escaped) value, both borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawAttr<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) value: &'a [u8],
    /// Index of the name's first byte within the scanned region.
    pub(crate) at: usize,
}

/// Iterates over the attributes in the bytes between a tag's name and its `>` (or `/>`).
pub(crate) struct AttrScanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> AttrScanner<'a> {
    pub(crate) fn new(region: &'a [u8]) -> Self {
        Self { s: region, i: 0 }
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
        let name_end = self.s[at..]
            .iter()
            .position(|b| matches!(b, b'=' | b' ' | b'\t' | b'\n' | b'\r'))
            .map_or(self.s.len(), |p| at + p);
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
        let Some(len) = self
            .s
            .get(value_start..)
            // Values are short: a plain loop beats a memchr call.
            .and_then(|rest| rest.iter().position(|&b| b == quote))
        else {
            self.i = self.s.len();
            return Some(Err((at, ErrorKind::MalformedAttribute)));
        };
        let value = &self.s[value_start..value_start + len];
        self.i = value_start + len + 1;
        Some(Ok(RawAttr { name, value, at }))
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

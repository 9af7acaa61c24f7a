//! A minimal tokenizer for content the readers have already validated, used to walk element
//! views. It trusts the input's well-formedness (so it checks nothing) but never panics and
//! always makes progress, whatever the bytes.

/// A token of validated content, as byte indices into the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A start tag `<name …>` or `<name …/>`: where it starts, the index just past its `>`, the
    /// length of its qualified name, and whether it is empty.
    Start {
        start: usize,
        content: usize,
        name_len: usize,
        empty: bool,
    },
    /// An end tag; the index just past its `>`.
    End { end: usize },
    /// Character data (references still escaped).
    Text { start: usize, end: usize },
    /// The inside of a CDATA section, and the index just past its `]]>`.
    CData {
        start: usize,
        end: usize,
        next: usize,
    },
}

/// Iterates over the tokens of `src[from..to]`.
#[derive(Debug, Clone)]
pub(crate) struct Tokens<'a> {
    src: &'a [u8],
    i: usize,
    to: usize,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(src: &'a [u8], from: usize, to: usize) -> Self {
        Self {
            src,
            i: from,
            to: to.min(src.len()),
        }
    }

    /// Skips the subtree whose start tag was just returned; returns the index past its end tag.
    pub(crate) fn skip_subtree(&mut self) -> usize {
        let mut depth = 1usize;
        for token in self.by_ref() {
            match token {
                Token::Start { empty: false, .. } => depth += 1,
                Token::End { end } => {
                    depth -= 1;
                    if depth == 0 {
                        return end;
                    }
                }
                _ => {}
            }
        }
        self.i
    }

    /// The index past the `>` that closes the tag starting at `at`, skipping quoted values.
    fn tag_end(&self, at: usize) -> usize {
        let mut j = at + 1;
        let region = self.src.get(..self.to).unwrap_or_default();
        loop {
            match region
                .get(j..)
                .and_then(|r| memchr::memchr3(b'>', b'"', b'\'', r))
            {
                None => return self.to,
                Some(k) => {
                    let p = j + k;
                    match region.get(p) {
                        Some(b'>') => return p + 1,
                        Some(&q) => {
                            j = match region.get(p + 1..).and_then(|r| memchr::memchr(q, r)) {
                                Some(m) => p + 1 + m + 1,
                                None => return self.to,
                            };
                        }
                        None => return self.to,
                    }
                }
            }
        }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let s = self.src.get(..self.to)?;
        let at = self.i;
        let rest = s.get(at..).filter(|r| !r.is_empty())?;
        if rest[0] != b'<' {
            let end = memchr::memchr(b'<', rest).map_or(self.to, |k| at + k);
            self.i = end;
            return Some(Token::Text { start: at, end });
        }
        if rest.starts_with(b"</") {
            let end = memchr::memchr(b'>', rest).map_or(self.to, |k| at + k + 1);
            self.i = end;
            return Some(Token::End { end });
        }
        if rest.starts_with(b"<![CDATA[") {
            let inner = at + 9;
            let close = s.get(inner..).and_then(|r| memchr::memmem::find(r, b"]]>"));
            let (end, next) = close.map_or((self.to, self.to), |k| (inner + k, inner + k + 3));
            self.i = next;
            return Some(Token::CData {
                start: inner,
                end,
                next,
            });
        }
        let content = self.tag_end(at);
        let tag = s.get(at..content).unwrap_or_default();
        let name_len = tag
            .iter()
            .skip(1)
            .position(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>'))
            .unwrap_or(tag.len().saturating_sub(1));
        let empty = tag.ends_with(b"/>");
        // Always make progress, even on bytes that are not what the readers validate.
        self.i = content.max(at + 1);
        Some(Token::Start {
            start: at,
            content: self.i,
            name_len,
            empty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_validated_content() {
        let src = b"a&amp;<b x='>' y=\"/>\"/><c><![CDATA[<]]>t</c>z";
        let toks: Vec<Token> = Tokens::new(src, 0, src.len()).collect();
        assert_eq!(
            toks,
            vec![
                Token::Text { start: 0, end: 6 },
                Token::Start {
                    start: 6,
                    content: 23,
                    name_len: 1,
                    empty: true
                },
                Token::Start {
                    start: 23,
                    content: 26,
                    name_len: 1,
                    empty: false
                },
                Token::CData {
                    start: 35,
                    end: 36,
                    next: 39
                },
                Token::Text { start: 39, end: 40 },
                Token::End { end: 44 },
                Token::Text { start: 44, end: 45 },
            ]
        );
    }

    #[test]
    fn garbage_never_panics_and_ends() {
        for src in [
            &b"<"[..],
            b"<a",
            b"<a '",
            b"</",
            b"<![CDATA[",
            b"<<<>>>",
            b"\xff<\xfe",
        ] {
            assert!(Tokens::new(src, 0, src.len()).count() <= src.len());
        }
    }
}

//! Objective-C type encodings as typedstream uses them (`i`, `@`, `[296c]`, `{_NSPoint=ff}`, …).

/// One parsed type from a type-encoding string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `c`: signed char, one raw byte.
    Char,
    /// `C`: unsigned char, one raw byte.
    UChar,
    /// `B`: C99 bool, one raw byte (0 or 1).
    Bool,
    /// A tagged integer: `s S i I l L q Q`.
    Int(IntTy),
    /// `f`: float.
    Float,
    /// `d`: double.
    Double,
    /// `*`: C string (object table).
    CString,
    /// `%`: atom (shared string).
    Atom,
    /// `:`: selector (shared string).
    Selector,
    /// `+`: unshared string.
    Unshared,
    /// `#`: class.
    Class,
    /// `@`: object.
    Object,
    /// `!`: ignored int-sized field, nothing stored.
    Ignored,
    /// `[N type]`: fixed-size array.
    Array(usize, Box<Ty>),
    /// `{name=types}`: struct, fields in order.
    Struct(Vec<Ty>),
}

/// The integer types, with their width and signedness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntTy {
    /// `s`
    I16,
    /// `S`
    U16,
    /// `i` and `l`
    I32,
    /// `I` and `L`
    U32,
    /// `q`
    I64,
    /// `Q`
    U64,
}

impl IntTy {
    pub(crate) fn signed(self) -> bool {
        matches!(self, IntTy::I16 | IntTy::I32 | IntTy::I64)
    }
}

impl Ty {
    /// The fewest bytes one value of this type takes in a stream (for allocation checks).
    pub(crate) fn min_size(&self) -> u64 {
        match self {
            Ty::Ignored => 0,
            Ty::Array(n, t) => (*n as u64).saturating_mul(t.min_size()),
            Ty::Struct(fields) => fields
                .iter()
                .fold(0u64, |acc, f| acc.saturating_add(f.min_size())),
            _ => 1,
        }
    }
}

/// Why an encoding string did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TyError {
    /// Syntax error or unsupported type character.
    Invalid,
    /// Nested brackets deeper than the limit.
    TooDeep,
    /// An array length above the limit.
    TooLong,
}

/// Parses a whole encoding string into its types (at least one).
pub(crate) fn parse(enc: &[u8], max_depth: usize, max_len: usize) -> Result<Vec<Ty>, TyError> {
    let mut p = Parser {
        s: enc,
        pos: 0,
        max_depth,
        max_len,
    };
    let mut out = Vec::new();
    while p.pos < p.s.len() {
        out.push(p.one(0)?);
    }
    if out.is_empty() {
        return Err(TyError::Invalid);
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    max_depth: usize,
    max_len: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn one(&mut self, depth: usize) -> Result<Ty, TyError> {
        let c = self.peek().ok_or(TyError::Invalid)?;
        self.pos += 1;
        Ok(match c {
            b'c' => Ty::Char,
            b'C' => Ty::UChar,
            b'B' => Ty::Bool,
            b's' => Ty::Int(IntTy::I16),
            b'S' => Ty::Int(IntTy::U16),
            b'i' | b'l' => Ty::Int(IntTy::I32),
            b'I' | b'L' => Ty::Int(IntTy::U32),
            b'q' => Ty::Int(IntTy::I64),
            b'Q' => Ty::Int(IntTy::U64),
            b'f' => Ty::Float,
            b'd' => Ty::Double,
            b'*' => Ty::CString,
            b'%' => Ty::Atom,
            b':' => Ty::Selector,
            b'+' => Ty::Unshared,
            b'#' => Ty::Class,
            b'@' => Ty::Object,
            b'!' => Ty::Ignored,
            b'[' => {
                if depth >= self.max_depth {
                    return Err(TyError::TooDeep);
                }
                let start = self.pos;
                let mut n: usize = 0;
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(usize::from(d - b'0')))
                        .ok_or(TyError::TooLong)?;
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(TyError::Invalid);
                }
                if n > self.max_len {
                    return Err(TyError::TooLong);
                }
                let elem = self.one(depth + 1)?;
                if self.peek() != Some(b']') {
                    return Err(TyError::Invalid);
                }
                self.pos += 1;
                Ty::Array(n, Box::new(elem))
            }
            b'{' => {
                if depth >= self.max_depth {
                    return Err(TyError::TooDeep);
                }
                // An optional name ends at '=' when the '=' comes before any nested brace.
                let rest = self.s.get(self.pos..).unwrap_or_default();
                if let Some(i) = rest.iter().position(|&b| matches!(b, b'=' | b'{' | b'}'))
                    && rest.get(i) == Some(&b'=')
                {
                    self.pos += i + 1;
                }
                let mut fields = Vec::new();
                loop {
                    match self.peek() {
                        Some(b'}') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => fields.push(self.one(depth + 1)?),
                        None => return Err(TyError::Invalid),
                    }
                }
                Ty::Struct(fields)
            }
            _ => return Err(TyError::Invalid),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_arrays_structs() {
        assert_eq!(
            parse(b"i@", 8, 100).unwrap(),
            vec![Ty::Int(IntTy::I32), Ty::Object]
        );
        assert_eq!(
            parse(b"[296c]", 8, 1000).unwrap(),
            vec![Ty::Array(296, Box::new(Ty::Char))]
        );
        assert_eq!(
            parse(b"{_NSPoint=ff}", 8, 10).unwrap(),
            vec![Ty::Struct(vec![Ty::Float, Ty::Float])]
        );
        assert_eq!(
            parse(b"{?=i{a=s}}", 8, 10).unwrap(),
            vec![Ty::Struct(vec![
                Ty::Int(IntTy::I32),
                Ty::Struct(vec![Ty::Int(IntTy::I16)])
            ])]
        );
        assert_eq!(
            parse(b"{i}", 8, 10).unwrap(),
            vec![Ty::Struct(vec![Ty::Int(IntTy::I32)])]
        );
    }

    #[test]
    fn rejects_bad_encodings() {
        for bad in [
            &b""[..],
            b"[c]",
            b"[3",
            b"[3ii]",
            b"{i",
            b"^i",
            b"v",
            b"[99999999999999999999999c]",
        ] {
            assert!(parse(bad, 8, 1 << 20).is_err(), "{bad:?}");
        }
        assert_eq!(parse(b"[[[i]]]", 2, 10), Err(TyError::Invalid));
        assert_eq!(parse(b"[1[1[1i]]]", 2, 10), Err(TyError::TooDeep));
        assert_eq!(parse(b"[11c]", 2, 10), Err(TyError::TooLong));
    }
}

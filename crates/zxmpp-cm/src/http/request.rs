//! The sans-IO request parser: bytes in, a [`Parsed`] answer out, no socket and no clock.

use std::time::Duration;

use bytes::Bytes;

/// The bounds on one request and on a connection's idle time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The request line and headers, their final empty line included (default 8 KiB); beyond: 431.
    pub(crate) max_head_bytes: usize,
    /// Header fields in one request (default 32); beyond: 431.
    pub(crate) max_headers: usize,
    /// The body's length (default 64 KiB, zxmpp-cm's `max_body_bytes`); beyond: 413. A chunked body's framing
    /// (chunk sizes, trailer fields) counts against `max_head_bytes` + `max_body_bytes` for the whole request.
    pub(crate) max_body_bytes: usize,
    /// Chunks in a chunked body (default 1,024); beyond: 413. The parser reads a request again as more of it
    /// arrives, so this also bounds the work a body sent in many tiny chunks can cause.
    pub(crate) max_chunks: usize,
    /// Once the first byte of a request has arrived, the whole request must be in within this (slowloris);
    /// a response must also be written within it.
    pub(crate) request_timeout: Duration,
    /// A connection with no request in progress is closed after this.
    pub(crate) idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 8 * 1024,
            max_headers: 32,
            max_body_bytes: 64 * 1024,
            max_chunks: 1024,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(180),
        }
    }
}

/// A request method. Methods are case-sensitive (RFC 9110 §9.1): `get` is [`Method::Other`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: the handler answers it as `GET`; the layer sends the response's head only.
    Head,
    /// `POST`.
    Post,
    /// `OPTIONS` (CORS preflight).
    Options,
    /// Any other method, as sent.
    Other(String),
}

impl Method {
    fn from_token(token: &str) -> Self {
        match token {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "OPTIONS" => Self::Options,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method as it is written on the wire.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Options => "OPTIONS",
            Self::Other(other) => other,
        }
    }
}

/// A whole request: its head and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// The target's path, without its query: `/http-bind` for `/http-bind?x=1` and for
    /// `http://host/http-bind`; `*` for the asterisk-form of `OPTIONS *`.
    pub(crate) path: String,
    /// The `Origin` header, when present and UTF-8.
    pub(crate) origin: Option<String>,
    /// The body (empty without Content-Length or Transfer-Encoding), decoded when it came chunked.
    pub(crate) body: Bytes,
    /// Whether the connection persists after the response (RFC 9112 §9.3).
    pub(crate) keep_alive: bool,
    /// Whether the request is HTTP/1.0 (its keep-alive must be confirmed in the response).
    pub(crate) http10: bool,
}

/// The parser's answer for the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The head is not complete yet.
    NeedHead,
    /// The head is complete, the body not yet: read up to `total` bytes (head and body; for a chunked body,
    /// whose length shows only as it arrives, at least one byte more than so far). With `expect_continue`, the
    /// client waits for `100 Continue` before sending the body.
    NeedBody {
        /// Head and body length, or how far to read for now.
        total: usize,
        /// The request has `Expect: 100-continue` (its length is within the limit).
        expect_continue: bool,
    },
    /// A whole request, which took the first `used` bytes (any more belong to the next request).
    Complete {
        /// The request.
        request: Request,
        /// Its length in the input.
        used: usize,
    },
}

/// A request that is refused: answered with [`ParseError::status`], then the connection closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// Not HTTP/1.x syntax, a bad or duplicate Content-Length, both Transfer-Encoding and Content-Length, a
    /// Transfer-Encoding whose last coding is not `chunked` or in an HTTP/1.0 request, a malformed chunked body,
    /// an HTTP/1.1 request without exactly one Host, an unsupported request target.
    #[error("malformed request")]
    Malformed,
    /// A POST with neither Content-Length nor Transfer-Encoding.
    #[error("length required")]
    LengthRequired,
    /// Content-Length over the limit, or a chunked body (or its framing, or its number of chunks) that grows
    /// over it.
    #[error("body too large")]
    BodyTooLarge,
    /// The head is over its byte limit.
    #[error("request head too large")]
    HeadTooLarge,
    /// More header fields than the limit.
    #[error("too many header fields")]
    TooManyHeaders,
    /// A transfer coding other than `chunked` (`gzip`, `deflate`, …): not decoded here.
    #[error("transfer-encoding not supported")]
    TransferEncoding,
    /// An HTTP version other than 1.0 and 1.1.
    #[error("HTTP version not supported")]
    Version,
}

impl ParseError {
    /// The status code it is answered with.
    pub(crate) fn status(self) -> u16 {
        match self {
            Self::Malformed => 400,
            Self::LengthRequired => 411,
            Self::BodyTooLarge => 413,
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::TransferEncoding => 501,
            Self::Version => 505,
        }
    }
}

/// Parses the request at the start of `input` (the bytes read so far on a connection).
///
/// # Errors
/// A [`ParseError`] for a request to refuse, as soon as the bytes show it.
pub(crate) fn parse(input: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if input.len() > limits.max_head_bytes {
                Err(ParseError::HeadTooLarge)
            } else {
                Ok(Parsed::NeedHead)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooManyHeaders),
        Err(httparse::Error::Version) => return Err(version_error(input)),
        Err(_) => return Err(ParseError::Malformed),
    };
    if head_len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(ParseError::Malformed);
    };
    let http10 = version == 0;
    let fields = Fields::read(req.headers)?;
    if fields.hosts > 1 || (!http10 && fields.hosts == 0) {
        return Err(ParseError::Malformed);
    }
    let method = Method::from_token(method);
    let path = path_of(target).ok_or(ParseError::Malformed)?;
    // RFC 9110 §10.1.1: a server ignores the expectation of an HTTP/1.0 request.
    let expect_continue = fields.expect_continue && !http10;
    let (body, used) = match (&fields.transfer_encoding, fields.content_length) {
        // RFC 9112 §6.1: both is a smuggling attempt or a broken client; Transfer-Encoding in HTTP/1.0 is
        // faulty framing; a request's last coding must be chunked, and chunked is applied once.
        (Some(_), Some(_)) => return Err(ParseError::Malformed),
        (Some(_), None) if http10 => return Err(ParseError::Malformed),
        (Some(codings), None) => match codings.as_slice() {
            [Coding::Chunked] => match chunked(input, head_len, limits)? {
                Chunked::Complete { body, used } => (Bytes::from(body), used),
                Chunked::Partial { total } => {
                    return Ok(Parsed::NeedBody {
                        total,
                        expect_continue,
                    });
                }
            },
            [before @ .., Coding::Chunked] if !before.contains(&Coding::Chunked) => {
                return Err(ParseError::TransferEncoding);
            }
            _ => return Err(ParseError::Malformed),
        },
        (None, None) if method == Method::Post => return Err(ParseError::LengthRequired),
        (None, None) => (Bytes::new(), head_len),
        (None, Some(body_len)) => {
            if body_len > limits.max_body_bytes {
                return Err(ParseError::BodyTooLarge);
            }
            // body_len ≤ max_body_bytes, and head_len ≤ input.len().
            let total = head_len.saturating_add(body_len);
            let Some(body) = input.get(head_len..total) else {
                return Ok(Parsed::NeedBody {
                    total,
                    expect_continue,
                });
            };
            (Bytes::copy_from_slice(body), total)
        }
    };
    let keep_alive = if http10 {
        fields.keep_alive && !fields.close
    } else {
        !fields.close
    };
    Ok(Parsed::Complete {
        request: Request {
            method,
            path,
            origin: fields.origin,
            body,
            keep_alive,
            http10,
        },
        used,
    })
}

/// Where a chunked body (RFC 9112 §7.1) stands in the bytes read so far.
enum Chunked {
    /// Not all of it yet: read up to `total` bytes.
    Partial { total: usize },
    /// The decoded body, and where the request (trailer section included) ends.
    Complete { body: Vec<u8>, used: usize },
}

/// Decodes the chunked body that starts at `start`: chunk sizes (extensions ignored) by httparse, the data of
/// each chunk followed by CRLF, the last chunk, trailer fields (read and dropped). The decoded length is held to
/// `max_body_bytes` and the whole request to `max_head_bytes + max_body_bytes`.
fn chunked(input: &[u8], start: usize, limits: &Limits) -> Result<Chunked, ParseError> {
    let most = limits.max_head_bytes.saturating_add(limits.max_body_bytes);
    // Not complete with `need` bytes: ask for more, up to the limit (doubling, as the head is read).
    let partial = |need: usize| {
        if input.len() >= most {
            Err(ParseError::BodyTooLarge)
        } else {
            let total = need
                .max(input.len().saturating_mul(2))
                .clamp(input.len() + 1, most);
            Ok(Chunked::Partial { total })
        }
    };
    let mut chunks = Vec::new();
    let mut len = 0usize;
    let mut pos = start;
    loop {
        let rest = input.get(pos..).unwrap_or_default();
        let (line, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return partial(input.len() + 1),
            Err(_) => return Err(ParseError::Malformed),
        };
        pos = pos.saturating_add(line);
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).map_err(|_| ParseError::BodyTooLarge)?;
        len = len
            .checked_add(size)
            .filter(|len| *len <= limits.max_body_bytes)
            .ok_or(ParseError::BodyTooLarge)?;
        let data_end = pos.saturating_add(size);
        let Some(crlf) = input.get(data_end..data_end.saturating_add(2)) else {
            return partial(data_end.saturating_add(2));
        };
        if crlf != b"\r\n" {
            return Err(ParseError::Malformed);
        }
        if chunks.len() == limits.max_chunks {
            return Err(ParseError::BodyTooLarge);
        }
        chunks.push(pos..data_end);
        pos = data_end + 2;
    }
    // The trailer section: field lines up to an empty line, parsed as header fields and dropped.
    let mut trailers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let used = match httparse::parse_headers(input.get(pos..).unwrap_or_default(), &mut trailers) {
        Ok(httparse::Status::Complete((n, _))) => pos.saturating_add(n),
        Ok(httparse::Status::Partial) => return partial(input.len() + 1),
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooManyHeaders),
        Err(_) => return Err(ParseError::Malformed),
    };
    if used > most {
        return Err(ParseError::BodyTooLarge);
    }
    let mut body = Vec::with_capacity(len);
    for chunk in chunks {
        body.extend_from_slice(input.get(chunk).unwrap_or_default());
    }
    Ok(Chunked::Complete { body, used })
}

/// httparse reports any request line whose last token is not `HTTP/1.0` or `HTTP/1.1` as a version error:
/// a well-formed other version (`HTTP/2.0`, `HTTP/1.2`) is 505, anything else is malformed.
fn version_error(input: &[u8]) -> ParseError {
    let line = input
        .split(|&b| b == b'\n')
        .find(|line| !line.is_empty() && *line != b"\r")
        .unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            ParseError::Version
        }
        _ => ParseError::Malformed,
    }
}

/// What the layer needs from the header fields.
#[derive(Default)]
struct Fields {
    content_length: Option<usize>,
    /// The transfer codings of every Transfer-Encoding field, in order.
    transfer_encoding: Option<Vec<Coding>>,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    hosts: usize,
    origin: Option<String>,
}

impl Fields {
    fn read(headers: &[httparse::Header<'_>]) -> Result<Self, ParseError> {
        let mut fields = Self::default();
        for header in headers {
            let name = header.name;
            let value = trim(header.value);
            if name.eq_ignore_ascii_case("content-length") {
                if fields.content_length.is_some() {
                    return Err(ParseError::Malformed);
                }
                fields.content_length = Some(content_length(value)?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                // A list (RFC 9110 §5.6.1, empty elements allowed); a coding's parameters follow a `;`.
                let codings = fields.transfer_encoding.get_or_insert_with(Vec::new);
                for element in value.split(|&b| b == b',').map(trim) {
                    let name = trim(element.split(|&b| b == b';').next().unwrap_or_default());
                    if name.is_empty() {
                        continue;
                    }
                    codings.push(
                        if name.eq_ignore_ascii_case(b"chunked") && name == element {
                            Coding::Chunked
                        } else {
                            Coding::Other
                        },
                    );
                }
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(|&b| b == b',').map(trim) {
                    if token.eq_ignore_ascii_case(b"close") {
                        fields.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        fields.keep_alive = true;
                    }
                }
            } else if name.eq_ignore_ascii_case("expect") {
                fields.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            } else if name.eq_ignore_ascii_case("host") {
                fields.hosts += 1;
            } else if name.eq_ignore_ascii_case("origin") && fields.origin.is_none() {
                fields.origin = std::str::from_utf8(value).ok().map(str::to_owned);
            }
        }
        Ok(fields)
    }
}

/// A transfer coding: `chunked`, the only one decoded here, or another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Chunked,
    Other,
}

/// Content-Length is `1*DIGIT` (RFC 9110 §8.6); a list of values, even equal ones, is refused. A number too
/// large for `usize` is over any limit.
fn content_length(value: &[u8]) -> Result<usize, ParseError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed);
    }
    let mut n: usize = 0;
    for &digit in value {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(digit - b'0')))
            .ok_or(ParseError::BodyTooLarge)?;
    }
    Ok(n)
}

fn trim(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or_default()
}

/// The path of an origin-form (`/a?q`), absolute-form (`http://host/a?q`) or asterisk-form (`*`) target.
fn path_of(target: &str) -> Option<String> {
    let strip = |s: &str| -> String {
        let end = s.find(['?', '#']).unwrap_or(s.len());
        s.get(..end).unwrap_or(s).to_owned()
    };
    if target.starts_with('/') {
        return Some(strip(target));
    }
    if target == "*" {
        return Some(target.to_owned());
    }
    let scheme_end = target.find("://")?;
    let scheme = target.get(..scheme_end)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = target.get(scheme_end + 3..)?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if authority_end == 0 {
        return None;
    }
    let after = rest.get(authority_end..)?;
    if after.starts_with('/') {
        Some(strip(after))
    } else {
        Some("/".to_owned())
    }
}

//! Responses and their encoding: one buffer with the head, then the body.

use std::borrow::Cow;
use std::time::SystemTime;

use bytes::Bytes;

/// A header value known to hold no CR, LF or NUL (so it cannot split the response), and no other control
/// character but tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeaderValue(Cow<'static, str>);

/// A header value with a control character, refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("header value with a control character at byte {offset}")]
pub(crate) struct InvalidHeaderValue {
    /// Where the first refused byte is.
    pub(crate) offset: usize,
}

const fn valid_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

impl HeaderValue {
    /// A value from the code. Checked when evaluated: in a `const`, an invalid value fails the build.
    ///
    /// # Panics
    /// On a control character, a programming error (use [`HeaderValue::new`] for values from outside).
    pub(crate) const fn from_static(value: &'static str) -> Self {
        let bytes = value.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(
                valid_byte(bytes[i]),
                "header value with a control character"
            );
            i += 1;
        }
        Self(Cow::Borrowed(value))
    }

    /// A value, checked.
    ///
    /// # Errors
    /// [`InvalidHeaderValue`] on a control character other than tab (CR and LF included).
    pub(crate) fn new(value: impl Into<Cow<'static, str>>) -> Result<Self, InvalidHeaderValue> {
        let value = value.into();
        match value.bytes().position(|b| !valid_byte(b)) {
            Some(offset) => Err(InvalidHeaderValue { offset }),
            None => Ok(Self(value)),
        }
    }

    /// The value.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A response: status, content type, extra headers (CORS, Set-Cookie…) and body. `Date`, `Content-Length`
/// and `Connection` are written by the layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    status: u16,
    content_type: Option<HeaderValue>,
    headers: Vec<(&'static str, HeaderValue)>,
    body: Bytes,
}

/// The headers the layer writes itself: a response must not carry them.
const RESERVED: [&str; 4] = ["content-length", "date", "connection", "transfer-encoding"];

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Response {
    /// A response with a status (200..=599; any other is sent as 500), a content type and a body.
    pub(crate) fn new(status: u16, content_type: HeaderValue, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type: Some(content_type),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A response with no content type and an empty body.
    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header. `name` is a token from the code, not one of those the layer writes (`Date`,
    /// `Content-Length`, `Connection`, `Transfer-Encoding`): checked in debug builds; in release builds
    /// such a header is left out when encoding.
    pub(crate) fn header(&mut self, name: &'static str, value: HeaderValue) -> &mut Self {
        debug_assert!(allowed_name(name), "header name {name:?} refused");
        self.headers.push((name, value));
        self
    }

    /// The status code (as sent: see [`Response::new`]).
    pub(crate) fn status(&self) -> u16 {
        if (200..=599).contains(&self.status) {
            self.status
        } else {
            500
        }
    }

    /// The body.
    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether this status has no body and no Content-Length (RFC 9110 §8.6, §15.3.5, §15.4.5).
    fn bodiless(&self) -> bool {
        matches!(self.status(), 204 | 304)
    }

    /// The head: status line, `Date`, `Content-Type`, `Content-Length`, `Connection` when needed, the extra
    /// headers, and the empty line. `keep_alive`: whether the connection persists; `http10`: the request was
    /// HTTP/1.0 (a persistent connection is then confirmed with `Connection: keep-alive`).
    pub(crate) fn encode_head(&self, framing: Framing, date: SystemTime) -> Vec<u8> {
        let mut head = Vec::with_capacity(160 + self.headers.len() * 48);
        let status = self.status();
        head.extend_from_slice(b"HTTP/1.1 ");
        head.extend_from_slice(status.to_string().as_bytes());
        head.push(b' ');
        head.extend_from_slice(reason(status).as_bytes());
        head.extend_from_slice(b"\r\nDate: ");
        head.extend_from_slice(httpdate::fmt_http_date(date).as_bytes());
        head.extend_from_slice(b"\r\n");
        if let Some(content_type) = &self.content_type {
            push_header(&mut head, "Content-Type", content_type.as_str());
        }
        if !self.bodiless() {
            push_header(&mut head, "Content-Length", &self.body.len().to_string());
        }
        if !framing.keep_alive {
            push_header(&mut head, "Connection", "close");
        } else if framing.http10 {
            push_header(&mut head, "Connection", "keep-alive");
        }
        for (name, value) in &self.headers {
            if allowed_name(name) {
                push_header(&mut head, name, value.as_str());
            }
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    /// The body to send after the head: none for HEAD requests and for 204 and 304.
    pub(crate) fn encode_body(&self, framing: Framing) -> Bytes {
        if framing.head_request || self.bodiless() {
            Bytes::new()
        } else {
            self.body.clone()
        }
    }

    /// The whole response, head and body, in one buffer.
    #[cfg(test)]
    pub(crate) fn encode(&self, framing: Framing, date: SystemTime) -> Vec<u8> {
        let mut bytes = self.encode_head(framing, date);
        bytes.extend_from_slice(&self.encode_body(framing));
        bytes
    }
}

/// How a response is framed for the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Framing {
    /// The connection persists after this response.
    pub(crate) keep_alive: bool,
    /// The request was HTTP/1.0.
    pub(crate) http10: bool,
    /// The request was HEAD: Content-Length of the body, but no body.
    pub(crate) head_request: bool,
}

impl Framing {
    /// For an error response before or without a parsed request: close after it.
    pub(crate) const CLOSE: Self = Self {
        keep_alive: false,
        http10: false,
        head_request: false,
    };
}

fn allowed_name(name: &str) -> bool {
    is_token(name) && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

fn push_header(head: &mut Vec<u8>, name: &str, value: &str) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value.as_bytes());
    head.extend_from_slice(b"\r\n");
}

/// The reason phrases of RFC 9110 §15 for the statuses this server sends; empty for others (allowed by
/// RFC 9112 §4).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

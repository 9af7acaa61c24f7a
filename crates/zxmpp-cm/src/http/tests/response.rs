use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::{Framing, HeaderValue, InvalidHeaderValue, Response};

/// RFC 9110 §5.6.7's example date: Sun, 06 Nov 1994 08:49:37 GMT.
pub(super) fn rfc_date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

const KEEP: Framing = Framing {
    keep_alive: true,
    http10: false,
    head_request: false,
};

fn xml(body: &'static str) -> Response {
    Response::new(
        200,
        HeaderValue::from_static("text/xml; charset=utf-8"),
        body,
    )
}

#[test]
fn rfc9112_4_status_line_and_fields() {
    assert_eq!(
        xml("<body/>").encode(KEEP, rfc_date()),
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
Content-Type: text/xml; charset=utf-8\r\nContent-Length: 7\r\n\r\n<body/>"
    );
}

#[test]
fn closing_http10_and_extra_headers() {
    let mut response = xml("<body/>");
    response
        .header(
            "Access-Control-Allow-Origin",
            HeaderValue::new("https://chat.example").unwrap(),
        )
        .header("Vary", HeaderValue::from_static("Origin"));
    let close = Framing {
        keep_alive: false,
        ..KEEP
    };
    assert_eq!(
        response.encode(close, rfc_date()),
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
Content-Type: text/xml; charset=utf-8\r\nContent-Length: 7\r\nConnection: close\r\n\
Access-Control-Allow-Origin: https://chat.example\r\nVary: Origin\r\n\r\n<body/>"
    );
    let http10 = Framing {
        http10: true,
        ..KEEP
    };
    assert_eq!(
        Response::empty(404).encode(http10, rfc_date()),
        b"HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"
    );
}

#[test]
fn rfc9110_9_3_2_head_has_the_length_of_get_and_no_body() {
    let head = Framing {
        head_request: true,
        ..KEEP
    };
    assert_eq!(
        xml("<body/>").encode(head, rfc_date()),
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
Content-Type: text/xml; charset=utf-8\r\nContent-Length: 7\r\n\r\n"
    );
}

#[test]
fn rfc9110_15_3_5_no_content_has_no_length() {
    assert_eq!(
        Response::empty(204).encode(KEEP, rfc_date()),
        b"HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    );
    // Not a final status this layer can send: 500.
    assert_eq!(Response::empty(101).status(), 500);
    assert_eq!(Response::empty(1000).status(), 500);
}

#[test]
fn header_values_with_cr_or_lf_are_refused() {
    assert_eq!(
        HeaderValue::new("a\r\nSet-Cookie: x"),
        Err(InvalidHeaderValue { offset: 1 })
    );
    assert_eq!(
        HeaderValue::new("ab\n"),
        Err(InvalidHeaderValue { offset: 2 })
    );
    assert_eq!(
        HeaderValue::new("\0"),
        Err(InvalidHeaderValue { offset: 0 })
    );
    assert_eq!(
        HeaderValue::new("a\tb é").map(|v| v.as_str().to_owned()),
        Ok("a\tb é".to_owned())
    );
}

#[test]
#[cfg(not(debug_assertions))]
fn reserved_header_names_are_left_out() {
    let mut response = Response::empty(200);
    response.header("Content-Length", HeaderValue::from_static("5"));
    assert_eq!(
        response.encode(KEEP, rfc_date()),
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n\r\n"
    );
}

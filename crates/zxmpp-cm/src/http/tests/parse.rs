use proptest::prelude::*;

use crate::http::{Limits, Method, ParseError, Parsed, Request, parse};

fn complete(input: &[u8]) -> (Request, usize) {
    match parse(input, &Limits::default()) {
        Ok(Parsed::Complete { request, used }) => (request, used),
        other => panic!("not complete: {other:?}"),
    }
}

fn error(input: &[u8]) -> ParseError {
    error_with(input, &Limits::default())
}

fn error_with(input: &[u8], limits: &Limits) -> ParseError {
    match parse(input, limits) {
        Err(e) => e,
        other => panic!("not an error: {other:?}"),
    }
}

const POST: &[u8] =
    b"POST /http-bind HTTP/1.1\r\nHost: bosh.example\r\nOrigin: https://chat.example\r\n\
Content-Type: text/xml; charset=utf-8\r\nContent-Length: 11\r\n\r\n<body rid/>";

#[test]
fn rfc9112_3_simple_get() {
    let input = b"GET /http-bind HTTP/1.1\r\nHost: bosh.example\r\n\r\n";
    let (request, used) = complete(input);
    assert_eq!(used, input.len());
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.path, "/http-bind");
    assert_eq!(request.origin, None);
    assert!(request.body.is_empty());
    assert!(request.keep_alive);
    assert!(!request.http10);
}

#[test]
fn post_with_body_and_origin() {
    let (request, used) = complete(POST);
    assert_eq!(used, POST.len());
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.path, "/http-bind");
    assert_eq!(request.origin.as_deref(), Some("https://chat.example"));
    assert_eq!(&request.body[..], b"<body rid/>");
}

#[test]
fn byte_at_a_time_gives_the_same_request() {
    let whole = complete(POST);
    let head_len = POST.len() - 11;
    for end in 0..POST.len() {
        match parse(&POST[..end], &Limits::default()) {
            Ok(Parsed::NeedHead) => assert!(end < head_len, "NeedHead at {end}"),
            Ok(Parsed::NeedBody {
                total,
                expect_continue,
            }) => {
                assert!(end >= head_len, "NeedBody at {end}");
                assert_eq!(total, POST.len());
                assert!(!expect_continue);
            }
            other => panic!("at {end}: {other:?}"),
        }
    }
    assert_eq!(complete(POST), whole);
}

#[test]
fn rfc9112_9_3_2_pipelined_requests() {
    let mut input = POST.to_vec();
    input.extend_from_slice(b"GET /metrics HTTP/1.1\r\nHost: bosh.example\r\n\r\nGET /x");
    let (first, used) = complete(&input);
    assert_eq!(used, POST.len());
    assert_eq!(first.method, Method::Post);
    let rest = &input[used..];
    let (second, used2) = complete(rest);
    assert_eq!(second.path, "/metrics");
    assert_eq!(
        parse(&rest[used2..], &Limits::default()),
        Ok(Parsed::NeedHead)
    );
}

#[test]
fn rfc9112_3_2_2_absolute_form_and_query() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"POST http://bosh.example:5280/http-bind?x=1 HTTP/1.1\r\nHost: bosh.example:5280\r\nContent-Length: 0\r\n\r\n",
            "/http-bind",
        ),
        (
            b"GET HTTPS://bosh.example HTTP/1.1\r\nHost: bosh.example\r\n\r\n",
            "/",
        ),
        (
            b"GET http://bosh.example?q HTTP/1.1\r\nHost: bosh.example\r\n\r\n",
            "/",
        ),
        (
            b"GET /http-bind?a=b&c=d HTTP/1.1\r\nHost: h\r\n\r\n",
            "/http-bind",
        ),
        (b"GET /? HTTP/1.1\r\nHost: h\r\n\r\n", "/"),
        (b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "*"),
    ];
    for (input, path) in cases {
        assert_eq!(
            complete(input).0.path,
            path,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    // Authority-form (CONNECT) and other schemes are not served.
    assert_eq!(
        error(b"CONNECT bosh.example:443 HTTP/1.1\r\nHost: bosh.example:443\r\n\r\n"),
        ParseError::Malformed
    );
    assert_eq!(
        error(b"GET ftp://bosh.example/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        ParseError::Malformed
    );
}

#[test]
fn methods() {
    let method = |m: &str| {
        complete(format!("{m} / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").as_bytes())
            .0
            .method
    };
    assert_eq!(method("GET"), Method::Get);
    assert_eq!(method("HEAD"), Method::Head);
    assert_eq!(method("POST"), Method::Post);
    assert_eq!(method("OPTIONS"), Method::Options);
    assert_eq!(method("DELETE"), Method::Other("DELETE".into()));
    // RFC 9110 §9.1: case-sensitive.
    assert_eq!(method("get"), Method::Other("get".into()));
    assert_eq!(Method::Other("PATCH".into()).as_str(), "PATCH");
}

#[test]
fn rfc9112_9_3_persistence() {
    let keep = |version: &str, connection: Option<&str>| {
        let header = connection.map_or(String::new(), |c| format!("Connection: {c}\r\n"));
        complete(format!("GET / {version}\r\nHost: h\r\n{header}\r\n").as_bytes())
            .0
            .keep_alive
    };
    assert!(keep("HTTP/1.1", None));
    assert!(keep("HTTP/1.1", Some("keep-alive")));
    assert!(!keep("HTTP/1.1", Some("close")));
    assert!(!keep("HTTP/1.1", Some("Upgrade, CLOSE")));
    assert!(!keep("HTTP/1.0", None));
    assert!(keep("HTTP/1.0", Some("Keep-Alive")));
    assert!(!keep("HTTP/1.0", Some("keep-alive, close")));
    // Two Connection fields combine.
    assert!(
        !complete(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
        )
        .0
        .keep_alive
    );
    assert!(complete(b"GET / HTTP/1.0\r\n\r\n").0.http10);
}

#[test]
fn rfc9110_10_1_1_expect_continue() {
    let head =
        b"POST /http-bind HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(
        parse(head, &Limits::default()),
        Ok(Parsed::NeedBody {
            total: head.len() + 5,
            expect_continue: true
        })
    );
    let mut whole = head.to_vec();
    whole.extend_from_slice(b"hello");
    assert_eq!(&complete(&whole).0.body[..], b"hello");
    // RFC 9110 §10.1.1: ignored in an HTTP/1.0 request.
    let http10 = b"POST /http-bind HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(
        parse(http10, &Limits::default()),
        Ok(Parsed::NeedBody {
            total: http10.len() + 5,
            expect_continue: false
        })
    );
    // Over the limit: 413 at once, without the body.
    let big = b"POST /http-bind HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 65537\r\n\r\n";
    assert_eq!(error(big), ParseError::BodyTooLarge);
}

#[test]
fn error_statuses() {
    let cases: [(&[u8], ParseError, u16); 16] = [
        (b"GET / HTTP/1.1\r\nHost h\r\n\r\n", ParseError::Malformed, 400),
        (b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::Malformed, 400),
        (b"GET / HTTP/1.1\r\n\r\n", ParseError::Malformed, 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\nx", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\nx", ParseError::Malformed, 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::LengthRequired, 411),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", ParseError::BodyTooLarge, 413),
        (b"POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n", ParseError::TransferEncoding, 501),
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", ParseError::Version, 505),
        (b"GET / HTTP/1.2\r\nHost: h\r\n\r\n", ParseError::Version, 505),
        (b"GET / FTP/1.1\r\nHost: h\r\n\r\n", ParseError::Malformed, 400),
    ];
    for (input, expected, status) in cases {
        let got = error(input);
        assert_eq!(got, expected, "{}", String::from_utf8_lossy(input));
        assert_eq!(got.status(), status);
    }
    assert_eq!(ParseError::HeadTooLarge.status(), 431);
    assert_eq!(ParseError::TooManyHeaders.status(), 431);
    // Header names are case-insensitive.
    let (request, _) =
        complete(b"POST / HTTP/1.1\r\nhOST: h\r\ncontent-LENGTH: 2\r\norigin: o\r\n\r\nab");
    assert_eq!(&request.body[..], b"ab");
    assert_eq!(request.origin.as_deref(), Some("o"));
    // HTTP/1.0 needs no Host.
    assert_eq!(complete(b"GET / HTTP/1.0\r\n\r\n").0.path, "/");
}

/// A request whose head is exactly `len` bytes long.
fn head_of_len(len: usize) -> Vec<u8> {
    let start = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
    let end = b"\r\n\r\n";
    let mut head = start.to_vec();
    head.resize(len - end.len(), b'a');
    head.extend_from_slice(end);
    assert_eq!(head.len(), len);
    head
}

#[test]
fn head_limit_exactly_and_one_over() {
    let limits = Limits {
        max_head_bytes: 200,
        ..Limits::default()
    };
    assert!(matches!(
        parse(&head_of_len(200), &limits),
        Ok(Parsed::Complete { used: 200, .. })
    ));
    assert_eq!(
        error_with(&head_of_len(201), &limits),
        ParseError::HeadTooLarge
    );
    // Still arriving: refused as soon as it is over the limit, not before.
    let over = head_of_len(300);
    assert_eq!(parse(&over[..200], &limits), Ok(Parsed::NeedHead));
    assert_eq!(error_with(&over[..201], &limits), ParseError::HeadTooLarge);
}

#[test]
fn header_count_limit_exactly_and_one_over() {
    let with = |n: usize| {
        let mut input = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        for i in 1..n {
            input.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\n");
        input
    };
    assert!(matches!(
        parse(&with(32), &Limits::default()),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(error(&with(33)), ParseError::TooManyHeaders);
}

#[test]
fn body_limit_exactly_and_one_over() {
    let limits = Limits {
        max_body_bytes: 100,
        ..Limits::default()
    };
    let with = |n: usize| {
        let mut input =
            format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {n}\r\n\r\n").into_bytes();
        input.resize(input.len() + n, b'x');
        input
    };
    match parse(&with(100), &limits) {
        Ok(Parsed::Complete { request, .. }) => assert_eq!(request.body.len(), 100),
        other => panic!("{other:?}"),
    }
    assert_eq!(error_with(&with(101), &limits), ParseError::BodyTooLarge);
}

fn valid_request() -> impl Strategy<Value = (Vec<u8>, Method, String, Vec<u8>)> {
    (
        prop_oneof![Just(Method::Get), Just(Method::Post), Just(Method::Options)],
        "/[a-z0-9/_-]{0,20}",
        "(\\?[a-z=&]{0,10})?",
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(("X-[A-Za-z]{1,8}", "[ -~]{0,20}"), 0..5),
        // `None`: Content-Length; else chunked, cut where these say, with or without extensions and trailers.
        proptest::option::of((
            proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            any::<bool>(),
            any::<bool>(),
        )),
    )
        .prop_map(|(method, path, query, body, headers, chunked)| {
            let mut input = format!("{} {path}{query} HTTP/1.1\r\nHost: h\r\n", method.as_str());
            for (name, value) in headers {
                input.push_str(&format!("{name}: {value}\r\n"));
            }
            let mut input = match chunked {
                None => {
                    let mut input = input;
                    input.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                    let mut input = input.into_bytes();
                    input.extend_from_slice(&body);
                    input
                }
                Some((cuts, extensions, trailers)) => {
                    input.push_str("Transfer-Encoding: chunked\r\n\r\n");
                    let mut input = input.into_bytes();
                    input.extend(chunk_encode(&body, &cuts, extensions, trailers));
                    input
                }
            };
            input.shrink_to_fit();
            (input, method, path, body)
        })
}

/// RFC 9112 §7.1's chunked coding of `body`, cut at `cuts` (empty pieces left out), written here from the RFC's
/// grammar: `chunk-size [ chunk-ext ] CRLF chunk-data CRLF`, `last-chunk`, `trailer-section`, CRLF.
fn chunk_encode(
    body: &[u8],
    cuts: &[prop::sample::Index],
    extensions: bool,
    trailers: bool,
) -> Vec<u8> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
    at.push(0);
    at.push(body.len());
    at.sort_unstable();
    let mut out = Vec::new();
    for pair in at.windows(2) {
        let piece = &body[pair[0]..pair[1]];
        if piece.is_empty() {
            continue;
        }
        let ext = if extensions { " ; a=b;c=\"d e\"" } else { "" };
        out.extend_from_slice(format!("{:X}{ext}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    if trailers {
        out.extend_from_slice(b"X-Checksum: 1\r\nX-Other: two words\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// RFC 9112 §7.1: chunked bodies are decoded. The first two are MDN's and Wikipedia's examples of the coding.
#[test]
fn rfc9112_7_1_chunked_bodies() {
    let head =
        b"POST /http-bind HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let cases: [(&[u8], &[u8]); 5] = [
        (
            b"7\r\nMozilla\r\n11\r\nDeveloper Network\r\n0\r\n\r\n",
            b"MozillaDeveloper Network",
        ),
        (
            b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
            b"Wikipedia in\r\n\r\nchunks.",
        ),
        // Extensions are ignored (§7.1.1), trailer fields read and dropped (§7.1.2).
        (
            b"5;name=value\r\nhello\r\n000\r\nExpires: never\r\n\r\n",
            b"hello",
        ),
        (b"0\r\n\r\n", b""),
        (
            b"a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n",
            b"01234567890123456789",
        ),
    ];
    for (encoded, decoded) in cases {
        let mut input = head.clone();
        input.extend_from_slice(encoded);
        let whole = input.len();
        // The next request, pipelined.
        input.extend_from_slice(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        let (request, used) = complete(&input);
        assert_eq!(
            &request.body[..],
            decoded,
            "{}",
            String::from_utf8_lossy(encoded)
        );
        assert_eq!(used, whole);
        assert!(request.keep_alive);
        // Every prefix asks for more, and for at least one byte more than it has.
        for end in head.len()..whole {
            match parse(&input[..end], &Limits::default()) {
                Ok(Parsed::NeedBody {
                    total,
                    expect_continue,
                }) => {
                    assert!(total > end, "at {end}: {total}");
                    assert!(!expect_continue);
                }
                other => panic!("at {end}: {other:?}"),
            }
        }
    }
    // Transfer-Encoding names are case-insensitive and a list may have empty elements (RFC 9110 §5.6.1).
    let input =
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , CHUNKED\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    assert_eq!(&complete(input).0.body[..], b"hi");
    // `Expect: 100-continue` works with a chunked body too.
    let input =
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(matches!(
        parse(input, &Limits::default()),
        Ok(Parsed::NeedBody {
            expect_continue: true,
            ..
        })
    ));
}

/// What is refused in a chunked request, and with which status.
#[test]
fn rfc9112_6_1_and_7_1_refused_chunked_requests() {
    let te = |codings: &str, body: &str| {
        format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {codings}\r\n\r\n{body}")
            .into_bytes()
    };
    let cases: [(Vec<u8>, ParseError); 11] = [
        // §6.1: the last coding of a request must be chunked (400); chunked only once (400); other codings
        // are not decoded here (501).
        (te("chunked, gzip", "0\r\n\r\n"), ParseError::Malformed),
        (te("chunked, chunked", "0\r\n\r\n"), ParseError::Malformed),
        (te("gzip", "0\r\n\r\n"), ParseError::Malformed),
        (te("", "0\r\n\r\n"), ParseError::Malformed),
        (te("chunked;q=1", "0\r\n\r\n"), ParseError::Malformed),
        (
            te("deflate,chunked", "0\r\n\r\n"),
            ParseError::TransferEncoding,
        ),
        // §7.1: a chunk size is hex digits; chunk data is followed by CRLF.
        (te("chunked", "g\r\nx\r\n0\r\n\r\n"), ParseError::Malformed),
        (
            te("chunked", "2\r\nhiX\r\n0\r\n\r\n"),
            ParseError::Malformed,
        ),
        (te("chunked", "-1\r\n"), ParseError::Malformed),
        // Sizes over the limit are refused as soon as the size is read, and a size over 64 bits too.
        (te("chunked", "10001\r\n"), ParseError::BodyTooLarge),
        (
            te("chunked", "fffffffffffffffffffff\r\n"),
            ParseError::Malformed,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            error(&input),
            expected,
            "{}",
            String::from_utf8_lossy(&input)
        );
    }
    // §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing.
    assert_eq!(
        error(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ParseError::Malformed
    );
    // Two chunks that together pass the limit.
    let limits = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    let input = te("chunked", "6\r\nabcdef\r\n5\r\n");
    assert_eq!(error_with(&input, &limits), ParseError::BodyTooLarge);
    let input = te("chunked", "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n");
    assert!(matches!(
        parse(&input, &limits),
        Ok(Parsed::Complete { .. })
    ));
    // Framing (here chunk extensions) counts against head + body limits for the whole request.
    let limits = Limits {
        max_head_bytes: 100,
        max_body_bytes: 10,
        ..Limits::default()
    };
    let long_ext = format!("1;{}\r\n", "x".repeat(200));
    assert_eq!(
        error_with(&te("chunked", &long_ext), &limits),
        ParseError::BodyTooLarge
    );
    // More chunks than allowed: 413, as soon as the chunk over the limit has come.
    let limits = Limits {
        max_chunks: 2,
        ..Limits::default()
    };
    let input = te("chunked", "1\r\na\r\n1\r\nb\r\n0\r\n\r\n");
    assert!(matches!(
        parse(&input, &limits),
        Ok(Parsed::Complete { .. })
    ));
    let input = te("chunked", "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n");
    assert_eq!(error_with(&input, &limits), ParseError::BodyTooLarge);
    // More trailer fields than header fields allowed: 431.
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let input = te("chunked", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
    assert_eq!(error_with(&input, &limits), ParseError::TooManyHeaders);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&input, &Limits::default());
    }

    #[test]
    fn arbitrary_head_lines_never_panic(
        lines in proptest::collection::vec("[ -~\t]{0,40}", 0..8),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut input = lines.join("\r\n").into_bytes();
        input.extend_from_slice(b"\r\n\r\n");
        input.extend_from_slice(&tail);
        if let Ok(Parsed::Complete { used, .. }) = parse(&input, &Limits::default()) {
            prop_assert!(used <= input.len());
        }
    }

    #[test]
    fn a_split_request_parses_the_same((input, method, path, body) in valid_request(), split in any::<prop::sample::Index>()) {
        let at = split.index(input.len());
        let limits = Limits::default();
        let prefix = parse(&input[..at], &limits);
        prop_assert!(matches!(prefix, Ok(Parsed::NeedHead | Parsed::NeedBody { .. })), "{:?}", prefix);
        match parse(&input, &limits) {
            Ok(Parsed::Complete { request, used }) => {
                prop_assert_eq!(used, input.len());
                prop_assert_eq!(request.method, method);
                prop_assert_eq!(request.path, path);
                prop_assert_eq!(&request.body[..], &body[..]);
                prop_assert!(request.keep_alive);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

#[test]
fn rfc9112_5_field_syntax() {
    // §5.1: whitespace between the field name and the colon: 400.
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
        ParseError::Malformed
    );
    // §5.2: obs-fold in a request: 400 (or replaced by spaces; this layer refuses).
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"),
        ParseError::Malformed
    );
    // §2.2: empty lines before the request line are ignored.
    assert_eq!(
        complete(b"\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n").0.path,
        "/a"
    );
    // §5: optional whitespace around the value.
    let (request, _) = complete(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \t3 \r\n\r\nabc");
    assert_eq!(&request.body[..], b"abc");
}

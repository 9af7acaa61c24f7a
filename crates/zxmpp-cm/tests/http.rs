//! The running manager's HTTP side, spoken to over raw TCP: what RFC 9112 lets a client do on one connection
//! (keep-alive, pipelining, `HEAD`, `Expect: 100-continue`), what the manager refuses and how it counts it in
//! `/metrics`. Expected statuses and framing are RFC 9110/9112's.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Cm, NS, attr, fresh_rid, silent_config};

/// A response: status, lower-cased head, body.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// Reads one response (Content-Length framed) from `stream`, keeping what follows in `rest`.
fn read_reply(stream: &mut TcpStream, rest: &mut Vec<u8>) -> Reply {
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before a response head");
        rest.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(rest[..end].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    rest.drain(..end);
    while rest.len() < length {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed inside a body");
        rest.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(rest.drain(..length).collect()).unwrap();
    Reply { status, head, body }
}

fn connect(cm: &Cm) -> TcpStream {
    let stream = TcpStream::connect(cm.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn post(path: &str, body: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: cm.test\r\nContent-Type: text/xml; charset=utf-8\r\n{extra}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Whether the server closed the connection (after what it had sent).
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

fn errors(cm: &Cm, condition: &str) -> u64 {
    let needle = format!("zxmpp_cm_errors_total{{condition=\"{condition}\"}} ");
    cm.metrics()
        .lines()
        .find_map(|l| l.strip_prefix(&needle).map(|v| v.parse().unwrap()))
        .unwrap_or(0)
}

/// RFC 9112 §9.3: an HTTP/1.1 connection persists. A BOSH session runs on one connection: the creation
/// request, then a poll sent right behind an empty request before its answer (pipelined, answered in order).
#[test]
fn rfc9112_9_3_one_connection_carries_a_session_with_pipelined_requests() {
    let cm = Cm::start(silent_config(|_| {}));
    let mut stream = connect(&cm);
    let mut rest = Vec::new();
    let rid = fresh_rid();
    let create = format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' to='example.test' wait='1' hold='1' \
         xmpp:version='1.0'/>"
    );
    stream
        .write_all(post("/http-bind", &create, "").as_bytes())
        .unwrap();
    let created = read_reply(&mut stream, &mut rest);
    assert_eq!(created.status, 200);
    assert!(
        created
            .head
            .contains("content-type: text/xml; charset=utf-8"),
        "{}",
        created.head
    );
    let sid = attr(&created.body, "sid").expect("a sid");
    // Two requests in one write; the silent upstream sends nothing, so each is answered empty after `wait`.
    let poll = |r: u64| format!("<body xmlns='{NS}' rid='{r}' sid='{sid}'/>");
    let both = post("/http-bind", &poll(rid + 1), "") + &post("/http-bind", &poll(rid + 2), "");
    stream.write_all(both.as_bytes()).unwrap();
    for _ in 0..2 {
        let answer = read_reply(&mut stream, &mut rest);
        assert_eq!(answer.status, 200);
        assert!(answer.body.starts_with("<body"), "{}", answer.body);
        assert!(!answer.body.contains("terminate"), "{}", answer.body);
    }
    // Still open: a GET of the endpoint on the same connection.
    stream
        .write_all(b"GET /http-bind HTTP/1.1\r\nHost: cm.test\r\n\r\n")
        .unwrap();
    let get = read_reply(&mut stream, &mut rest);
    assert_eq!(get.status, 200);
    assert!(get.body.contains("POST here"), "{}", get.body);
}

/// RFC 9112 §7.1: a session created by a chunked request (as a proxy may forward a browser's request).
#[test]
fn rfc9112_7_1_chunked_session_creation() {
    let cm = Cm::start(silent_config(|_| {}));
    let mut stream = connect(&cm);
    let mut rest = Vec::new();
    let create = format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' to='example.test' wait='1' hold='1' \
         xmpp:version='1.0'/>",
        fresh_rid()
    );
    let (a, b) = create.split_at(40);
    let request = format!(
        "POST /http-bind HTTP/1.1\r\nHost: cm.test\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let created = read_reply(&mut stream, &mut rest);
    assert_eq!(created.status, 200);
    assert!(attr(&created.body, "sid").is_some(), "{}", created.body);
    assert!(
        !created.head.contains("connection: close"),
        "{}",
        created.head
    );
}

/// RFC 9110 §9.3.2: HEAD is GET without the content, with the same Content-Length; §10.1.1: a client that sends
/// `Expect: 100-continue` gets `100 Continue` before it sends the body.
#[test]
fn rfc9110_head_and_expect_100_continue() {
    let cm = Cm::start(silent_config(|_| {}));
    let mut stream = connect(&cm);
    let mut rest = Vec::new();
    stream
        .write_all(b"GET /http-bind HTTP/1.1\r\nHost: cm.test\r\n\r\n")
        .unwrap();
    let get = read_reply(&mut stream, &mut rest);
    stream
        .write_all(b"HEAD /http-bind HTTP/1.1\r\nHost: cm.test\r\n\r\n")
        .unwrap();
    // The HEAD response's head, and nothing after it.
    let mut chunk = [0u8; 4096];
    while !rest.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0);
        rest.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8(std::mem::take(&mut rest))
        .unwrap()
        .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}\r\n", get.body.len())),
        "{head}"
    );
    assert!(head.ends_with("\r\n\r\n"), "{head}");

    let body = format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' to='example.test' wait='1' hold='1' \
         xmpp:version='1.0'/>",
        fresh_rid()
    );
    let head = format!(
        "POST /http-bind HTTP/1.1\r\nHost: cm.test\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let cont = read_reply(&mut stream, &mut rest);
    assert_eq!(cont.status, 100);
    stream.write_all(body.as_bytes()).unwrap();
    let created = read_reply(&mut stream, &mut rest);
    assert_eq!(created.status, 200);
    assert!(attr(&created.body, "sid").is_some(), "{}", created.body);
}

/// What the manager refuses, with RFC 9110/9112's status, closing the connection, and counting it in
/// `zxmpp_cm_errors_total`: a body over `max_body_bytes` (413), a request without `Host` (400), a transfer coding
/// other than chunked (501: not decoded), an unknown version (505).
#[test]
fn refused_requests_close_the_connection_and_are_counted() {
    let cm = Cm::start(silent_config(|c| c.max_body_bytes = 1000));
    let big = "x".repeat(1001);
    let cases: [(String, u16); 4] = [
        (post("/http-bind", &big, ""), 413),
        (
            "POST /http-bind HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi".to_owned(),
            400,
        ),
        (
            "POST /http-bind HTTP/1.1\r\nHost: cm.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                .to_owned(),
            501,
        ),
        (
            "GET /http-bind HTTP/3.0\r\nHost: cm.test\r\n\r\n".to_owned(),
            505,
        ),
    ];
    for (request, status) in &cases {
        let mut stream = connect(&cm);
        stream.write_all(request.as_bytes()).unwrap();
        let mut rest = Vec::new();
        let reply = read_reply(&mut stream, &mut rest);
        assert_eq!(reply.status, *status, "{request:?} → {}", reply.head);
        assert!(reply.head.contains("connection: close"), "{}", reply.head);
        assert!(closed(&mut stream), "{request:?}: connection left open");
    }
    assert_eq!(errors(&cm, "request-too-large"), 1);
    assert_eq!(errors(&cm, "bad-http-request"), 3);
    // An unknown path and method are answered without closing.
    let mut stream = connect(&cm);
    let mut rest = Vec::new();
    stream
        .write_all(b"DELETE /http-bind HTTP/1.1\r\nHost: cm.test\r\n\r\n")
        .unwrap();
    let reply = read_reply(&mut stream, &mut rest);
    assert_eq!(reply.status, 405);
    assert!(reply.head.contains("allow: "), "{}", reply.head);
    stream
        .write_all(b"GET /elsewhere HTTP/1.1\r\nHost: cm.test\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream, &mut rest).status, 404);
}

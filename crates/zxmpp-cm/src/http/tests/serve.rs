use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::response::rfc_date;
use crate::http::{
    HeaderValue, Limits, Method, Request, Response, serve_connection, serve_connection_with,
};

/// Answers `<METHOD> <path> <body>` as text/plain; `/slow` after 300 ms.
async fn echo(request: Request) -> Response {
    if request.path == "/slow" {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let body = format!(
        "{} {} {}",
        request.method.as_str(),
        request.path,
        String::from_utf8_lossy(&request.body)
    );
    let mut response = Response::new(200, HeaderValue::from_static("text/plain"), body);
    if let Some(origin) = request.origin.and_then(|o| HeaderValue::new(o).ok()) {
        response.header("Access-Control-Allow-Origin", origin);
    }
    response
}

async fn server(limits: Limits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let limits = limits.clone();
            tokio::spawn(
                async move { serve_connection_with(stream, &limits, rfc_date, echo).await },
            );
        }
    });
    addr
}

/// Reads exactly `expected.len()` bytes (within 5 s) and compares them.
async fn expect(stream: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

/// Reads until the server closes (within 5 s).
async fn to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    got
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn closing(status: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn keep_alive_two_requests_on_one_connection() {
    let addr = server(Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /http-bind HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n<body/>")
        .await
        .unwrap();
    expect(&mut stream, &ok("POST /http-bind <body/>")).await;
    stream
        .write_all(b"GET /b?x HTTP/1.1\r\nHost: h\r\nOrigin: https://o.example\r\n\r\n")
        .await
        .unwrap();
    expect(
        &mut stream,
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
Content-Length: 7\r\nAccess-Control-Allow-Origin: https://o.example\r\n\r\nGET /b ",
    )
    .await;
    // Both pipelined at once, answered in order.
    stream
        .write_all(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut expected = ok("GET /1 ");
    expected.extend_from_slice(
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
Content-Length: 7\r\nConnection: close\r\n\r\nGET /2 ",
    );
    assert_eq!(
        String::from_utf8_lossy(&to_end(&mut stream).await),
        String::from_utf8_lossy(&expected)
    );
}

#[tokio::test]
async fn http10_closes_unless_keep_alive() {
    let addr = server(Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    assert_eq!(
        to_end(&mut stream).await,
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
Content-Length: 6\r\nConnection: close\r\n\r\nGET / "
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    expect(
        &mut stream,
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
Content-Length: 7\r\nConnection: keep-alive\r\n\r\n",
    )
    .await;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    assert!(
        to_end(&mut stream)
            .await
            .ends_with(b"Connection: close\r\n\r\nGET / ")
    );
}

#[tokio::test]
async fn connection_close_closes() {
    let addr = server(Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        to_end(&mut stream).await,
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
Content-Length: 7\r\nConnection: close\r\n\r\nGET /c "
    );
}

#[tokio::test]
async fn expect_100_continue() {
    let addr = server(Limits {
        max_body_bytes: 10,
        ..Limits::default()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await
        .unwrap();
    expect(&mut stream, b"HTTP/1.1 100 Continue\r\n\r\n").await;
    stream.write_all(b"hello").await.unwrap();
    expect(&mut stream, &ok("POST /e hello")).await;
    // Over the limit: 413 without waiting for the body.
    stream
        .write_all(
            b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
        )
        .await
        .unwrap();
    assert_eq!(to_end(&mut stream).await, closing("413 Content Too Large"));
}

#[tokio::test]
async fn held_request_then_answer_and_pipelined_next() {
    let addr = server(Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
        .await
        .unwrap();
    // Sent while the first is held.
    stream
        .write_all(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    expect(&mut stream, &ok("POST /slow x")).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    expect(&mut stream, &ok("GET /after ")).await;
}

#[tokio::test]
async fn half_close_after_a_whole_request_still_gets_the_answer() {
    let addr = server(Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(to_end(&mut stream).await, ok("POST /slow hi"));
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let addr = server(Limits {
        idle_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(to_end(&mut stream).await, b"");
    assert!(start.elapsed() >= Duration::from_millis(200));
    // And after a request.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(to_end(&mut stream).await, ok("GET / "));
}

#[tokio::test]
async fn slow_requests_time_out() {
    let addr = server(Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: h\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // More bytes do not extend the deadline.
    stream
        .write_all(b"Content-Length: 5\r\n\r\nab")
        .await
        .unwrap();
    assert_eq!(to_end(&mut stream).await, closing("408 Request Timeout"));
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn refused_requests_get_their_status_and_close() {
    let addr = server(Limits {
        max_head_bytes: 100,
        ..Limits::default()
    })
    .await;
    let cases: [(&[u8], &str); 5] = [
        (b"GET / HTTP/1.1\r\nHost h\r\n\r\n", "400 Bad Request"),
        (b"POST / HTTP/1.1\r\nHost: h\r\n\r\n", "411 Length Required"),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "501 Not Implemented",
        ),
        (
            b"GET / HTTP/3.0\r\nHost: h\r\n\r\n",
            "505 HTTP Version Not Supported",
        ),
        (&[b'a'; 300], "431 Request Header Fields Too Large"),
    ];
    for (input, status) in cases {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(input).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&to_end(&mut stream).await),
            String::from_utf8_lossy(&closing(status))
        );
    }
    // Garbage, then EOF before a whole head: closed without an answer.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HT").await.unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(to_end(&mut stream).await, b"");
}

#[tokio::test]
async fn date_header_is_an_imf_fixdate() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve_connection(stream, &Limits::default(), echo).await;
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let response = String::from_utf8(to_end(&mut stream).await).unwrap();
    let date = response
        .lines()
        .find_map(|line| line.strip_prefix("Date: "))
        .unwrap();
    // RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`, 29 characters.
    assert_eq!(date.len(), 29, "{date}");
    assert!(
        date.ends_with(" GMT") && date.as_bytes()[3] == b',',
        "{date}"
    );
    let parsed = httpdate::parse_http_date(date).unwrap();
    let age = std::time::SystemTime::now().duration_since(parsed).unwrap();
    assert!(age < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ureq_post_and_get() {
    let addr = server(Limits::default()).await;
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut response = agent
            .post(format!("http://{addr}/http-bind?ignored=1"))
            .header("Origin", "https://chat.example")
            .header("Content-Type", "text/xml; charset=utf-8")
            .send("<body rid='1'/>")
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://chat.example"
        );
        assert_eq!(
            response.body_mut().read_to_string().unwrap(),
            "POST /http-bind <body rid='1'/>"
        );
        // On the same agent (its pooled connection).
        let mut response = agent.get(format!("http://{addr}/metrics")).call().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-length"], "13");
        assert_eq!(
            response.body_mut().read_to_string().unwrap(),
            "GET /metrics "
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn serving_future_is_small() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let client2 = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let limits = Limits::default();
    let future = serve_connection(stream, &limits, |request: Request| async move {
        Response::empty(if request.method == Method::Get {
            200
        } else {
            405
        })
    });
    let size = std::mem::size_of_val(&future);
    println!("serve_connection future with a trivial handler: {size} bytes");
    assert!(size <= 512, "{size} bytes");
    drop(future);
    // While a request is held, the connection costs its handler's future and little more.
    let (stream, _) = listener.accept().await.unwrap();
    let handler = |_: Request| async {
        let pad = [1u8; 2000];
        tokio::task::yield_now().await;
        Response::empty(200 + u16::from(std::hint::black_box(pad)[0]))
    };
    let handler_size = std::mem::size_of_val(&handler(Request {
        method: Method::Get,
        path: String::new(),
        origin: None,
        body: bytes::Bytes::new(),
        keep_alive: true,
        http10: false,
    }));
    let future = serve_connection(stream, &limits, handler);
    let size = std::mem::size_of_val(&future);
    println!("with a handler future of {handler_size} bytes: {size} bytes");
    assert!(size - handler_size <= 176, "{size} - {handler_size} bytes");
    drop((future, client, client2));
}

/// RFC 9112 §7.1: a chunked request body, encoded by an independent client (ureq sends a body read from a
/// reader chunked), and one written by hand that arrives in pieces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_request_bodies() {
    let addr = server(Limits::default()).await;
    let body = "<body rid='1'/>".repeat(700);
    let expected = format!("POST /http-bind {body}");
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut reader = body.as_bytes();
        let mut response = agent
            .post(format!("http://{addr}/http-bind"))
            .send(ureq::SendBody::from_reader(&mut reader))
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body_mut().read_to_string().unwrap(), expected);
    })
    .await
    .unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nTrailer: t\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n";
    for piece in request.chunks(7) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    expect(&mut stream, &ok("POST /c abcdefg")).await;
    expect(&mut stream, &ok("GET /after ")).await;
}

#[tokio::test]
async fn requests_in_pieces_and_bodies_larger_than_the_first_read() {
    let addr = server(Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = "x".repeat(10_000);
    let request = format!("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n{body}");
    for piece in [
        &request[..20],
        &request[20..60],
        &request[60..5000],
        &request[5000..],
    ] {
        stream.write_all(piece.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    expect(&mut stream, &ok(&format!("POST /big {body}"))).await;
    // A head over the limit that arrives in pieces: 431 once it is over.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: ")
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        stream.write_all(&[b'a'; 3000]).await.unwrap();
    }
    assert_eq!(
        String::from_utf8_lossy(&to_end(&mut stream).await),
        String::from_utf8_lossy(&closing("431 Request Header Fields Too Large"))
    );
}

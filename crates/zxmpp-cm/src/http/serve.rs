//! The tokio driver: one connection, read on readiness into a buffer that lives only while a request arrives.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Buf;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::Method;
use super::request::{Limits, ParseError, Parsed, Request, parse};
use super::response::{Framing, Response};

/// The first read of a request asks for this much; the buffer then grows to what the request needs.
const FIRST_READ: usize = 2048;
/// At most this much of what a client sends after a refused request is read and dropped before closing.
const LINGER_BYTES: usize = 64 * 1024;
/// And for at most this long.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves HTTP/1.x requests on `stream` with `handler` until the client closes, a request is refused, a
/// timeout of `limits` passes, or a response says `Connection: close`. Never panics on input. Returns the
/// status the layer refused a request with (400, 408, 411, 413, 431, 501, 505), if that ended the connection.
#[cfg(test)]
pub(crate) fn serve_connection<'a, H, F>(
    stream: TcpStream,
    limits: &'a Limits,
    handler: H,
) -> impl Future<Output = Option<u16>> + use<'a, H, F>
where
    H: FnMut(Request) -> F + 'a,
    F: Future<Output = Response>,
{
    // Not an async fn: a wrapping future would hold a second copy of the stream and the handler.
    serve_connection_with(stream, limits, SystemTime::now, handler)
}

/// As [`serve_connection`], with the `Date` of responses from `date`.
#[cfg(test)]
pub(crate) fn serve_connection_with<'a, H, F>(
    stream: TcpStream,
    limits: &'a Limits,
    date: fn() -> SystemTime,
    mut handler: H,
) -> impl Future<Output = Option<u16>> + use<'a, H, F>
where
    H: FnMut(Request) -> F + 'a,
    F: Future<Output = Response>,
{
    serve(stream, None, limits, date, move |request| {
        Handled::Wait(handler(request))
    })
}

/// What a handler of [`serve_parking`] does with a request.
pub(crate) enum Handled<F> {
    /// Answer with the response this future gives; the connection's task waits for it.
    Wait(F),
    /// Take the connection: the function is called with it at once, the connection's task ends, and whoever
    /// holds the [`Parked`] connection answers with [`Parked::answer`]. A long-polling server parks held
    /// requests so that a waiting connection costs no task.
    Park(Box<dyn FnOnce(Parked) + Send>),
}

/// A connection whose request is being answered elsewhere (see [`Handled::Park`]). Dropped unanswered, the
/// connection closes.
#[derive(Debug)]
pub(crate) struct Parked {
    stream: TcpStream,
    leftover: Option<Vec<u8>>,
    framing: Framing,
}

impl Parked {
    /// Writes the response to the parked request. Returns the connection, with the bytes of a next request read
    /// already (pipelined), when it stays open: serve it on with [`serve_parking`].
    pub(crate) async fn answer(
        mut self,
        limits: &Limits,
        response: Response,
    ) -> Option<(TcpStream, Option<Vec<u8>>)> {
        let written = respond(
            &mut self.stream,
            limits,
            SystemTime::now(),
            response,
            self.framing,
        )
        .await;
        (written.is_ok() && self.framing.keep_alive).then_some((self.stream, self.leftover))
    }
}

/// Serves HTTP/1.x requests on `stream` with `handler`, which answers each one or parks its connection
/// ([`Handled`]), until the client closes, a request is refused, a timeout of `limits` passes, a response says
/// `Connection: close`, or a request's connection is parked. `leftover`: bytes of the next request read already
/// (from [`Parked::answer`]). Never panics on input. Returns the status the layer refused a request with (400,
/// 408, 411, 413, 431, 501, 505), if that ended the connection.
pub(crate) fn serve_parking<'a, H, F>(
    stream: TcpStream,
    leftover: Option<Vec<u8>>,
    limits: &'a Limits,
    handler: H,
) -> impl Future<Output = Option<u16>> + use<'a, H, F>
where
    H: FnMut(Request) -> Handled<F> + 'a,
    F: Future<Output = Response>,
{
    serve(stream, leftover, limits, SystemTime::now, handler)
}

async fn serve<H, F>(
    mut stream: TcpStream,
    mut leftover: Option<Vec<u8>>,
    limits: &Limits,
    date: fn() -> SystemTime,
    mut handler: H,
) -> Option<u16>
where
    H: FnMut(Request) -> Handled<F>,
    F: Future<Output = Response>,
{
    // `leftover`: bytes read past the last request (a pipelined request), kept only when there are any.
    loop {
        if leftover.is_none() {
            // Boxed: tokio's timer and readiness futures take ≈ 260 bytes, needed only between requests; the
            // future of a connection whose request is held (one per idle BOSH session) stays smaller.
            match Box::pin(timeout(limits.idle_timeout, stream.readable())).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return None,
            }
        }
        // In a block, so that no moved-from request or response is kept in the connection's future.
        let (future, framing) = {
            // Boxed: the buffer and the timer of a request being read live only while it arrives, and
            // should not take room in the future of every connection whose request is held.
            let request = match boxed_read(&mut stream, limits, date, leftover.take()).await {
                Read::Request(request, rest) => {
                    leftover = rest;
                    request
                }
                Read::Spurious => continue,
                Read::Done(refused) => return refused,
            };
            let framing = Framing {
                keep_alive: request.keep_alive,
                http10: request.http10,
                head_request: request.method == Method::Head,
            };
            match handler(request) {
                Handled::Wait(future) => (future, framing),
                Handled::Park(take) => {
                    take(Parked {
                        stream,
                        leftover,
                        framing,
                    });
                    return None;
                }
            }
        };
        let response = future.await;
        // A client that left while its request was held is noticed when the response is written.
        if boxed_respond(&mut stream, limits, date(), response, framing)
            .await
            .is_err()
            || !framing.keep_alive
        {
            return None;
        }
    }
}

/// Boxed in a plain function, so the unboxed future is never a temporary of the connection's future.
fn boxed_read<'a>(
    stream: &'a mut TcpStream,
    limits: &'a Limits,
    date: fn() -> SystemTime,
    leftover: Option<Vec<u8>>,
) -> Pin<Box<impl Future<Output = Read> + 'a>> {
    Box::pin(async move {
        match read_request(stream, limits, leftover).await {
            Ok(read) => read,
            Err(status) => {
                let response = Response::empty(status);
                let _ = respond(stream, limits, date(), response, Framing::CLOSE).await;
                Read::Done(Some(status))
            }
        }
    })
}

/// As [`boxed_read`].
fn boxed_respond<'a>(
    stream: &'a mut TcpStream,
    limits: &'a Limits,
    date: SystemTime,
    response: Response,
    framing: Framing,
) -> Pin<Box<impl Future<Output = io::Result<()>> + 'a>> {
    Box::pin(respond(stream, limits, date, response, framing))
}

enum Read {
    /// A request, and the bytes read after it.
    Request(Request, Option<Vec<u8>>),
    /// Readiness with nothing to read: back to waiting.
    Spurious,
    /// End of stream, an error, or a refused request (answered, with this status): close.
    Done(Option<u16>),
}

/// Reads a request. `Err`: a status to answer with before closing, a [`ParseError`]'s, or 408 when the
/// request did not arrive within `request_timeout`.
async fn read_request(
    stream: &TcpStream,
    limits: &Limits,
    leftover: Option<Vec<u8>>,
) -> Result<Read, u16> {
    let mut buf = leftover.unwrap_or_default();
    // Runs from the first byte of the request.
    let mut deadline = (!buf.is_empty()).then(|| Instant::now() + limits.request_timeout);
    let most = limits.max_head_bytes.saturating_add(limits.max_body_bytes);
    let mut continued = false;
    let mut need = None;
    loop {
        if !buf.is_empty() {
            match parse(&buf, limits) {
                Ok(Parsed::Complete { request, used }) => {
                    let rest = buf.get(used..).filter(|rest| !rest.is_empty());
                    return Ok(Read::Request(request, rest.map(<[u8]>::to_vec)));
                }
                Ok(Parsed::NeedHead) => need = None,
                Ok(Parsed::NeedBody {
                    total,
                    expect_continue,
                }) => {
                    need = Some(total);
                    if expect_continue && !continued {
                        continued = true;
                        let sent = match deadline {
                            Some(deadline) => {
                                timeout_at(
                                    deadline,
                                    write_all(stream, b"HTTP/1.1 100 Continue\r\n\r\n"),
                                )
                                .await
                            }
                            None => Ok(write_all(stream, b"HTTP/1.1 100 Continue\r\n\r\n").await),
                        };
                        match sent {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return Ok(Read::Done(None)),
                            Err(_) => return Err(408),
                        }
                    }
                }
                Err(error) => return Err(error.status()),
            }
        }
        let old = buf.len();
        let target = match need {
            Some(total) => total,
            None => old.saturating_mul(2).max(old + FIRST_READ),
        }
        .min(most.max(1));
        if target <= old {
            // The parser asks for more than the limits allow: cannot happen, as it refuses such requests.
            return Err(ParseError::HeadTooLarge.status());
        }
        buf.resize(target, 0);
        let result = match buf.get_mut(old..) {
            Some(space) => stream.try_read(space),
            None => Ok(0),
        };
        match result {
            Ok(0) => return Ok(Read::Done(None)),
            Ok(n) => {
                buf.truncate(old + n);
                deadline.get_or_insert_with(|| Instant::now() + limits.request_timeout);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                buf.truncate(old);
                let Some(deadline) = deadline else {
                    return Ok(Read::Spurious);
                };
                match timeout_at(deadline, stream.readable()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Ok(Read::Done(None)),
                    Err(_) => return Err(408),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(old),
            Err(_) => return Ok(Read::Done(None)),
        }
    }
}

/// Writes all of `bytes` through a shared reference (what `read_request` has).
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes the response (head and body in one vectored write when the socket takes it), within
/// `request_timeout`; after a closing response, closes gracefully.
async fn respond(
    stream: &mut TcpStream,
    limits: &Limits,
    date: SystemTime,
    response: Response,
    framing: Framing,
) -> io::Result<()> {
    let head = bytes::Bytes::from(response.encode_head(framing, date));
    let body = response.encode_body(framing);
    drop(response);
    let mut bytes = head.chain(body);
    timeout(limits.request_timeout, stream.write_all_buf(&mut bytes))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    if !framing.keep_alive {
        linger_close(stream).await;
    }
    Ok(())
}

/// Sends FIN, then reads and drops what the client still sends (a refused body) for a moment: closing with
/// unread bytes makes the kernel send a reset, which can destroy the response before the client reads it.
async fn linger_close(stream: &mut TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 512];
    let mut dropped = 0usize;
    let deadline = Instant::now() + LINGER_TIME;
    while dropped < LINGER_BYTES {
        match timeout_at(deadline, tokio::io::AsyncReadExt::read(stream, &mut sink)).await {
            Ok(Ok(n)) if n > 0 => dropped += n,
            _ => return,
        }
    }
}

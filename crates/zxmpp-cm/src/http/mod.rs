//! An HTTP/1.1 server layer of zxmpp-cm's own, built for BOSH long-polling.
//!
//! # Why
//! A BOSH client keeps one or two requests held by the connection manager for up to `wait` seconds (60 by
//! default), and its connections stay open between requests. With thousands of sessions almost every
//! connection is idle, so what an idle connection costs is what the server costs. hyper keeps about 16–20 KB
//! per idle long-polling session (an 8 KiB write buffer from the start of a connection, an 8 KiB read buffer
//! while a request is held, and its dispatcher state); the target is ≤ 4 KB per idle session in all.
//!
//! Here an idle connection holds **no buffer**: the driver waits for readiness (`readable()`), reads with
//! `try_read` into a buffer allocated at that moment and sized to the request, hands the whole request to the
//! handler and drops the buffer before the handler runs (only bytes of a pipelined next request are kept).
//! The response is encoded and written in one vectored write, then dropped. The reading and writing states are
//! boxed for the moment they last. A handler may also *park* a request's connection ([`Handled::Park`]): the
//! connection's task ends, and whoever holds the [`Parked`] connection answers it later ([`Parked::answer`])
//! and serves it on; zxmpp-cm parks every BOSH request with its session, so a held request costs no task.
//!
//! # What it supports
//! * HTTP/1.0 and HTTP/1.1 requests (RFC 9112), parsed by `httparse`; origin-form, absolute-form and
//!   asterisk-form targets (the query is dropped: BOSH does not use it).
//! * Bodies with `Content-Length` or chunked (RFC 9112 §7.1: extensions ignored, trailer fields dropped; a
//!   proxy may forward a body chunked), up to [`Limits::max_body_bytes`] decoded, a chunked request's framing
//!   counting against head + body limits, in up to [`Limits::max_chunks`] chunks; `Expect: 100-continue` (curl sends it for bodies over 1 KiB):
//!   `100 Continue` is sent before the body is read, or 413 when the declared length is over the limit.
//! * Persistent connections per RFC 9112 §9.3 (HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
//!   `Connection: keep-alive`) and pipelining (answered in order, one at a time).
//! * Limits: head size (431), header count (431), body size (413), a deadline for a whole request once its
//!   first byte arrived (slowloris: 408, then close), an idle timeout between requests.
//!
//! # What it refuses (with the status, then closes the connection)
//! * A transfer coding other than chunked (`gzip`, …): 501. A `Transfer-Encoding` whose last coding is not
//!   chunked, that applies chunked twice, or in an HTTP/1.0 request (RFC 9112 §6.1), a malformed chunked body:
//!   400. `Transfer-Encoding` with `Content-Length` as well: 400 (a request-smuggling pattern).
//! * A POST with neither `Content-Length` nor a chunked body: 411. A duplicate or non-numeric `Content-Length`:
//!   400.
//! * An HTTP/1.1 request without exactly one `Host` (RFC 9112 §3.2): 400. Malformed syntax: 400.
//! * Versions other than 1.0 and 1.1: 505.
//!
//! It sends no chunked responses, no trailers, no 1xx other than `100 Continue`, and does no upgrades
//! (HTTP/2, WebSocket) or TLS (a reverse proxy in front does that).

mod request;
mod response;
mod serve;
#[cfg(test)]
mod tests;

pub(crate) use request::{Limits, Method, Request};
pub(crate) use response::{HeaderValue, Response};
#[cfg(test)]
pub(crate) use serve::serve_connection;
pub(crate) use serve::{Handled, Parked, serve_parking};
// The sans-IO parts and the injectable clock, for the tests (and the fuzz target, which includes request.rs).
#[cfg(test)]
pub(crate) use request::{ParseError, Parsed, parse};
#[cfg(test)]
pub(crate) use response::{Framing, InvalidHeaderValue};
#[cfg(test)]
pub(crate) use serve::serve_connection_with;

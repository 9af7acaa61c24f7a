//! Tests of the HTTP layer. Expected bytes are written by hand from RFC 9110 and RFC 9112, and an independent
//! client (ureq) talks to the driver.

mod parse;
mod response;
mod serve;

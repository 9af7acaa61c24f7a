//! Frames an XMPP stream read from standard input, 4 KiB at a time as from a socket, and prints
//! each stanza's offset, name and namespace (and a message's body).
//!
//! ```sh
//! cargo run -p zxmpp-examples --example frame_stdin < examples/data/stream.xml
//! ```

use std::io::Read;

use zxmpp_xml::{Config, Event, Status, StreamReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut stdin = std::io::stdin().lock();
    let mut reader = StreamReader::new(Config::default());
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stdin.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Status::Complete(event) = reader.next(&buf)? {
            match event {
                Event::StreamOpen(h) => println!("stream from {:?}, id {:?}", h.from(), h.id()),
                Event::StreamRestart(h) => println!("stream restarted, id {:?}", h.id()),
                Event::Stanza(stanza) => {
                    print!(
                        "{:>8}  {} in {}",
                        stanza.offset(),
                        stanza.qname(),
                        stanza.ns()
                    );
                    if let Some(body) = stanza.child("body", "jabber:client") {
                        print!(": {}", body.text());
                    }
                    println!();
                }
                Event::StreamClose => println!("stream closed"),
                _ => {}
            }
        }
        // Keep only the stanza in progress.
        let done = reader.discard();
        buf.drain(..done);
    }
    if !reader.is_between_stanzas() {
        eprintln!("the stream ends inside a stanza");
        std::process::exit(1);
    }
    Ok(())
}

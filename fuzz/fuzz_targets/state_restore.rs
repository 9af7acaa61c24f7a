//! Arbitrary bytes into snapshot decoding and client restore: a clear error, never a panic. With the first
//! byte odd, the rest is framed with a valid header (length and CRC-32), so that the JSON and postcard payload
//! decoders see the bytes instead of the checksum rejecting them. A snapshot that decodes must restore or fail
//! cleanly, and encode back to a snapshot equal to itself.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use zxmpp_state::{ClientSnapshot, Encoding, TransportSnapshot};

fuzz_target!(|data: &[u8]| {
    let framed;
    let input = match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 => {
            let crc = crc32fast::hash(rest);
            let mut out = Vec::with_capacity(rest.len() + 48);
            if mode & 2 == 0 {
                out.extend_from_slice(b"ZXST\x01\x00\x01\x00");
                out.extend_from_slice(&(rest.len() as u32).to_le_bytes());
                out.extend_from_slice(&crc.to_le_bytes());
            } else {
                out.extend_from_slice(format!("zxmpp-state 1 json {} {crc:08x}\n", rest.len()).as_bytes());
            }
            out.extend_from_slice(rest);
            framed = out;
            &framed[..]
        }
        _ => data,
    };
    let Ok(snapshot) = ClientSnapshot::decode(input) else { return };
    for encoding in [Encoding::Json, Encoding::Binary] {
        let bytes = snapshot.encode(encoding).expect("a decoded snapshot encodes");
        assert_eq!(ClientSnapshot::decode(&bytes).expect("re-encoded snapshot decodes"), snapshot);
    }
    let now = Instant::now();
    if let Some(TransportSnapshot::Bosh(bosh)) = &snapshot.transport {
        let _ = zxmpp_bosh::ClientSession::restore(bosh.clone(), now);
    }
    if let Ok(client) = zxmpp_client::Client::restore(snapshot, Some("pw".into()), now) {
        let _ = client.snapshot();
    }
});

//! SASL client mechanisms: PLAIN (RFC 4616) and SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677), without
//! channel binding, on the RustCrypto primitives.
//!
//! The nonce is passed in, so exchanges are reproducible; a real client derives it from a CSPRNG.
//! Passwords are used as given (no SASLprep): pass them already normalized if they are not ASCII.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};

/// Highest SCRAM iteration count accepted from a server (a hostile server could make the client spin).
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// A SASL mechanism this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// RFC 4616: the password in clear (only over TLS).
    Plain,
    /// RFC 5802 with SHA-1.
    ScramSha1,
    /// RFC 7677: SCRAM with SHA-256.
    ScramSha256,
}

impl Mechanism {
    /// The IANA name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha1 => "SCRAM-SHA-1",
            Self::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    /// The mechanism of an IANA name, if implemented.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Self::Plain),
            "SCRAM-SHA-1" => Some(Self::ScramSha1),
            "SCRAM-SHA-256" => Some(Self::ScramSha256),
            _ => None,
        }
    }
}

/// Why a SASL exchange failed on the client's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// A server message is not what the mechanism expects.
    #[error("malformed server message: {0}")]
    Malformed(&'static str),
    /// The server's nonce does not extend the client's.
    #[error("server nonce does not start with the client nonce")]
    NonceMismatch,
    /// The iteration count is 0 or above [`MAX_ITERATIONS`].
    #[error("iteration count {0} out of range 1..={MAX_ITERATIONS}")]
    Iterations(u32),
    /// The server's signature is wrong: it does not know the password (or a man in the middle).
    #[error("server signature does not verify")]
    ServerSignature,
    /// The server reported an error in its final message (`e=`).
    #[error("server error: {0}")]
    Server(String),
    /// A message came when none was expected.
    #[error("unexpected message in state {0}")]
    Unexpected(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
}

impl Hash {
    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC accepts keys of any length.
            let mut mac = match <M as KeyInit>::new_from_slice(key) {
                Ok(mac) => mac,
                Err(_) => return Vec::new(),
            };
            for p in parts {
                mac.update(p);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, parts),
            Self::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, parts),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Self::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            Self::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

/// The PLAIN initial response (RFC 4616 §2), not yet Base64-encoded: `authzid NUL authcid NUL passwd` with an
/// empty authzid.
#[must_use]
pub fn plain(authcid: &str, password: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(authcid.len() + password.len() + 2);
    out.push(0);
    out.extend_from_slice(authcid.as_bytes());
    out.push(0);
    out.extend_from_slice(password.as_bytes());
    out
}

/// Escapes a username for SCRAM (RFC 5802 §5.1: `=` → `=3D`, `,` → `=2C`).
fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// A SCRAM client exchange (RFC 5802 §3), one step at a time. The password is dropped once the proof is made.
#[derive(Debug, Clone)]
pub struct Scram {
    hash: Hash,
    password: String,
    client_first_bare: String,
    client_nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl Scram {
    /// Starts an exchange for `mechanism` (`ScramSha1` or `ScramSha256`; `None` for PLAIN). `nonce` must be
    /// printable ASCII without `,` (e.g. Base64 of 18+ random bytes).
    #[must_use]
    pub fn new(mechanism: Mechanism, username: &str, password: &str, nonce: &str) -> Option<Self> {
        let hash = match mechanism {
            Mechanism::ScramSha1 => Hash::Sha1,
            Mechanism::ScramSha256 => Hash::Sha256,
            Mechanism::Plain => return None,
        };
        Some(Self {
            hash,
            password: password.to_owned(),
            client_first_bare: format!("n={},r={nonce}", saslname(username)),
            client_nonce: nonce.to_owned(),
            server_signature: None,
        })
    }

    /// The client-first-message (`n,,n=user,r=nonce`).
    #[must_use]
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Takes the server-first-message and gives the client-final-message with the proof.
    ///
    /// # Errors
    /// [`SaslError`] when the message is malformed, the nonce does not extend ours, or the iteration count
    /// is out of range.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<String, SaslError> {
        if self.server_signature.is_some() {
            return Err(SaslError::Unexpected("final sent"));
        }
        let text = std::str::from_utf8(server_first)
            .map_err(|_| SaslError::Malformed("server-first-message is not UTF-8"))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for (i, attr) in text.split(',').enumerate() {
            let (key, value) = attr
                .split_once('=')
                .ok_or(SaslError::Malformed("attribute without `=`"))?;
            match (i, key) {
                (0, "m") => return Err(SaslError::Malformed("mandatory extension not supported")),
                (0, "r") => nonce = Some(value),
                (1, "s") => {
                    salt = Some(
                        B64.decode(value)
                            .map_err(|_| SaslError::Malformed("salt is not Base64"))?,
                    );
                }
                (2, "i") => {
                    iterations =
                        Some(value.parse::<u32>().map_err(|_| {
                            SaslError::Malformed("iteration count is not a number")
                        })?);
                }
                (0..=2, _) => return Err(SaslError::Malformed("expected r=, s=, i= in order")),
                _ => {} // extensions
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(SaslError::Malformed("missing r=, s= or i="));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(SaslError::NonceMismatch);
        }
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(SaslError::Iterations(iterations));
        }
        let h = self.hash;
        let salted = h.salted_password(self.password.as_bytes(), &salt, iterations);
        self.password.clear();
        let client_key = h.hmac(&salted, &[b"Client Key"]);
        let stored_key = h.digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = [
            self.client_first_bare.as_bytes(),
            b",",
            server_first,
            b",",
            without_proof.as_bytes(),
        ];
        let signature = h.hmac(&stored_key, &auth_message);
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = h.hmac(&salted, &[b"Server Key"]);
        self.server_signature = Some(h.hmac(&server_key, &auth_message));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final-message (`v=signature`).
    ///
    /// # Errors
    /// [`SaslError::Server`] for `e=`, [`SaslError::ServerSignature`] for a wrong signature.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), SaslError> {
        let Some(expected) = &self.server_signature else {
            return Err(SaslError::Unexpected("no final sent"));
        };
        let text = std::str::from_utf8(server_final)
            .map_err(|_| SaslError::Malformed("server-final-message is not UTF-8"))?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(err) = first.strip_prefix("e=") {
            return Err(SaslError::Server(err.to_owned()));
        }
        let v = first
            .strip_prefix("v=")
            .ok_or(SaslError::Malformed("expected v="))?;
        let v = B64
            .decode(v)
            .map_err(|_| SaslError::Malformed("signature is not Base64"))?;
        if &v == expected {
            Ok(())
        } else {
            Err(SaslError::ServerSignature)
        }
    }
}

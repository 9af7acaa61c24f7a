//! Hash algorithms by their wire names, incremental hashing and digests.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::Digest as _;

use crate::Error;

/// A hash algorithm as named on the wire.
///
/// XEP-0115 names algorithms with the IANA "Hash Function Textual Names" (`sha-1`, `sha-256`, `md5`, …);
/// XEP-0390 with the XEP-0300 names (`sha-256`, `sha3-256`, `blake2b-256`, …). Both registries share the
/// SHA-2 names. Names this crate cannot compute are kept in [`Algorithm::Other`] and written back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// `md5` (RFC 1321); only for old peers.
    Md5,
    /// `sha-1` (RFC 3174), the XEP-0115 default and mandatory algorithm.
    Sha1,
    /// `sha-224` (FIPS 180-4).
    Sha224,
    /// `sha-256` (FIPS 180-4), the XEP-0390 default.
    Sha256,
    /// `sha-384` (FIPS 180-4).
    Sha384,
    /// `sha-512` (FIPS 180-4).
    Sha512,
    /// `sha3-256` (FIPS 202).
    Sha3_256,
    /// `sha3-512` (FIPS 202).
    Sha3_512,
    /// `blake2b-256` (RFC 7693, 32-byte output).
    Blake2b256,
    /// `blake2b-512` (RFC 7693, 64-byte output).
    Blake2b512,
    /// Any other name, kept as written.
    Other(String),
}

impl Algorithm {
    /// Every algorithm this crate can compute.
    pub const KNOWN: [Algorithm; 10] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha224,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
        Algorithm::Sha3_256,
        Algorithm::Sha3_512,
        Algorithm::Blake2b256,
        Algorithm::Blake2b512,
    ];

    /// The algorithm with this wire name (exact, case-sensitive as both registries are lower case).
    #[must_use]
    pub fn from_name(name: &str) -> Algorithm {
        match name {
            "md5" => Algorithm::Md5,
            "sha-1" => Algorithm::Sha1,
            "sha-224" => Algorithm::Sha224,
            "sha-256" => Algorithm::Sha256,
            "sha-384" => Algorithm::Sha384,
            "sha-512" => Algorithm::Sha512,
            "sha3-256" => Algorithm::Sha3_256,
            "sha3-512" => Algorithm::Sha3_512,
            "blake2b-256" => Algorithm::Blake2b256,
            "blake2b-512" => Algorithm::Blake2b512,
            other => Algorithm::Other(other.to_owned()),
        }
    }

    /// The wire name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha-1",
            Algorithm::Sha224 => "sha-224",
            Algorithm::Sha256 => "sha-256",
            Algorithm::Sha384 => "sha-384",
            Algorithm::Sha512 => "sha-512",
            Algorithm::Sha3_256 => "sha3-256",
            Algorithm::Sha3_512 => "sha3-512",
            Algorithm::Blake2b256 => "blake2b-256",
            Algorithm::Blake2b512 => "blake2b-512",
            Algorithm::Other(name) => name,
        }
    }

    /// Whether this crate can compute the algorithm.
    #[must_use]
    pub fn is_known(&self) -> bool {
        !matches!(self, Algorithm::Other(_))
    }

    /// Whether the algorithm is in the IANA registry XEP-0115 uses and this crate computes it
    /// (`md5`, `sha-1`, `sha-224`, `sha-256`, `sha-384`, `sha-512`).
    #[must_use]
    pub fn is_xep0115(&self) -> bool {
        matches!(
            self,
            Algorithm::Md5
                | Algorithm::Sha1
                | Algorithm::Sha224
                | Algorithm::Sha256
                | Algorithm::Sha384
                | Algorithm::Sha512
        )
    }

    /// Whether the algorithm is one XEP-0390 peers use (XEP-0300 names: `sha-256`, `sha-512`, `sha3-256`,
    /// `sha3-512`, `blake2b-256`, `blake2b-512`).
    #[must_use]
    pub fn is_xep0390(&self) -> bool {
        matches!(
            self,
            Algorithm::Sha256
                | Algorithm::Sha512
                | Algorithm::Sha3_256
                | Algorithm::Sha3_512
                | Algorithm::Blake2b256
                | Algorithm::Blake2b512
        )
    }

    /// Output length in bytes, `None` for [`Algorithm::Other`].
    #[must_use]
    pub fn output_len(&self) -> Option<usize> {
        Some(match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha224 => 28,
            Algorithm::Sha256 | Algorithm::Sha3_256 | Algorithm::Blake2b256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 | Algorithm::Sha3_512 | Algorithm::Blake2b512 => 64,
            Algorithm::Other(_) => return None,
        })
    }

    /// A preference rank for picking one hash out of several (higher is preferred); `0` for unknown names.
    pub(crate) fn strength(&self) -> u8 {
        match self {
            Algorithm::Other(_) => 0,
            Algorithm::Md5 => 1,
            Algorithm::Sha1 => 2,
            Algorithm::Sha224 => 3,
            Algorithm::Sha256 => 6,
            Algorithm::Sha384 => 7,
            Algorithm::Sha512 => 8,
            Algorithm::Sha3_256 => 9,
            Algorithm::Blake2b256 => 5,
            Algorithm::Sha3_512 => 10,
            Algorithm::Blake2b512 => 4,
        }
    }

    /// Hashes `data` in one go.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for [`Algorithm::Other`].
    pub fn digest(&self, data: &[u8]) -> Result<Digest, Error> {
        let mut hasher = Hasher::new(self)?;
        hasher.update(data);
        Ok(hasher.finalize())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Algorithm::from_name(s))
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Algorithm::from_name(&name))
    }
}

/// Something the hash input can be written to: a hasher, or a `Vec<u8>` to look at the input itself.
pub trait Sink {
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// An incremental hasher for one [`Algorithm`].
#[derive(Clone)]
pub struct Hasher(Inner);

#[derive(Clone)]
enum Inner {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha3_256(sha3::Sha3_256),
    Sha3_512(sha3::Sha3_512),
    Blake2b256(blake2::Blake2b256),
    Blake2b512(blake2::Blake2b512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Hasher")
            .field(&self.algorithm().name())
            .finish()
    }
}

impl Hasher {
    /// A fresh hasher.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for [`Algorithm::Other`].
    pub fn new(algo: &Algorithm) -> Result<Hasher, Error> {
        Ok(Hasher(match algo {
            Algorithm::Md5 => Inner::Md5(md5::Md5::new()),
            Algorithm::Sha1 => Inner::Sha1(sha1::Sha1::new()),
            Algorithm::Sha224 => Inner::Sha224(sha2::Sha224::new()),
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => Inner::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
            Algorithm::Sha3_256 => Inner::Sha3_256(sha3::Sha3_256::new()),
            Algorithm::Sha3_512 => Inner::Sha3_512(sha3::Sha3_512::new()),
            Algorithm::Blake2b256 => Inner::Blake2b256(blake2::Blake2b256::new()),
            Algorithm::Blake2b512 => Inner::Blake2b512(blake2::Blake2b512::new()),
            Algorithm::Other(name) => return Err(Error::UnsupportedAlgorithm(name.clone())),
        }))
    }

    /// The algorithm this hasher computes.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match &self.0 {
            Inner::Md5(_) => Algorithm::Md5,
            Inner::Sha1(_) => Algorithm::Sha1,
            Inner::Sha224(_) => Algorithm::Sha224,
            Inner::Sha256(_) => Algorithm::Sha256,
            Inner::Sha384(_) => Algorithm::Sha384,
            Inner::Sha512(_) => Algorithm::Sha512,
            Inner::Sha3_256(_) => Algorithm::Sha3_256,
            Inner::Sha3_512(_) => Algorithm::Sha3_512,
            Inner::Blake2b256(_) => Algorithm::Blake2b256,
            Inner::Blake2b512(_) => Algorithm::Blake2b512,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Inner::Md5(h) => h.update(bytes),
            Inner::Sha1(h) => h.update(bytes),
            Inner::Sha224(h) => h.update(bytes),
            Inner::Sha256(h) => h.update(bytes),
            Inner::Sha384(h) => h.update(bytes),
            Inner::Sha512(h) => h.update(bytes),
            Inner::Sha3_256(h) => h.update(bytes),
            Inner::Sha3_512(h) => h.update(bytes),
            Inner::Blake2b256(h) => h.update(bytes),
            Inner::Blake2b512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finalize(self) -> Digest {
        let algo = self.algorithm();
        let mut out = [0u8; 64];
        let len = match self.0 {
            Inner::Md5(h) => copy(&mut out, &h.finalize()),
            Inner::Sha1(h) => copy(&mut out, &h.finalize()),
            Inner::Sha224(h) => copy(&mut out, &h.finalize()),
            Inner::Sha256(h) => copy(&mut out, &h.finalize()),
            Inner::Sha384(h) => copy(&mut out, &h.finalize()),
            Inner::Sha512(h) => copy(&mut out, &h.finalize()),
            Inner::Sha3_256(h) => copy(&mut out, &h.finalize()),
            Inner::Sha3_512(h) => copy(&mut out, &h.finalize()),
            Inner::Blake2b256(h) => copy(&mut out, &h.finalize()),
            Inner::Blake2b512(h) => copy(&mut out, &h.finalize()),
        };
        Digest {
            algo,
            bytes: out,
            len,
        }
    }
}

fn copy(out: &mut [u8; 64], digest: &[u8]) -> u8 {
    let n = digest.len().min(out.len());
    out[..n].copy_from_slice(&digest[..n]);
    // Every digest is at most 64 bytes.
    n as u8
}

impl Sink for Hasher {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// A computed hash: the algorithm and its output (at most 64 bytes, kept inline).
#[derive(Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct Digest {
    algo: Algorithm,
    bytes: [u8; 64],
    len: u8,
}

impl Digest {
    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> &Algorithm {
        &self.algo
    }

    /// The raw hash output.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Base64 (RFC 4648 §4, padded, no whitespace), as `ver` and XEP-0300 `<hash/>` carry it.
    #[must_use]
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.as_bytes())
    }

    /// Whether this digest equals the Base64 value `b64` as advertised (decoded, so only the bytes count).
    #[must_use]
    pub fn matches_base64(&self, b64: &str) -> bool {
        let mut buf = [0u8; 66];
        match BASE64.decode_slice(b64.trim().as_bytes(), &mut buf) {
            Ok(n) => buf.get(..n) == Some(self.as_bytes()),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({} {})", self.algo, self.to_base64())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// Decodes standard padded Base64 into bytes, `None` when it is not valid Base64.
pub(crate) fn decode_base64(b64: &str) -> Option<Vec<u8>> {
    BASE64.decode(b64.trim().as_bytes()).ok()
}

/// Encodes bytes as standard padded Base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

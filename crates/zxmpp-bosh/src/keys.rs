//! Key sequencing (XEP-0124 §15): SHA-1 hex chains, used in reverse order of generation.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// `hex(SHA-1(input))` in lowercase, the step of the key chain (XEP-0124 §15.3).
#[must_use]
pub fn next_key(input: &str) -> String {
    hex::encode(Sha1::digest(input.as_bytes()))
}

/// Whether `key` is a valid successor of `previous`: `hex(SHA-1(key))` equals `previous`, ignoring case (§15.4).
#[must_use]
pub fn verify_key(key: &str, previous: &str) -> bool {
    next_key(key).eq_ignore_ascii_case(previous)
}

/// The longest key chain: K(i) costs i − 1 hashes, so chains are kept short enough for that to stay cheap.
pub const MAX_CHAIN_LEN: u32 = 100_000;

/// One generated key sequence K(1) … K(n), of which the client sends K(n) first (as `newkey`) and then
/// K(n−1) … K(1) (as `key`).
///
/// Only K(1) and the position are stored; K(i) is recomputed with i − 1 hashes, so a snapshot stays small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChain {
    first: String,
    len: u32,
    /// Index of the next key to send as `key`; 0 before `newkey` was taken.
    next: u32,
}

impl KeyChain {
    /// A chain of `len` keys (2 to [`MAX_CHAIN_LEN`]) whose first key is `hex(SHA-1(seed))`.
    #[must_use]
    pub fn from_seed(seed: &[u8], len: u32) -> Self {
        let first = hex::encode(Sha1::digest(seed));
        Self::from_first_key(first, len)
    }

    /// A chain of `len` keys (2 to [`MAX_CHAIN_LEN`]) with the given K(1).
    #[must_use]
    pub fn from_first_key(first: String, len: u32) -> Self {
        Self {
            first,
            len: len.clamp(2, MAX_CHAIN_LEN),
            next: 0,
        }
    }

    /// K(i), 1-based; K(1) for i = 0.
    #[must_use]
    pub fn key(&self, index: u32) -> String {
        let mut key = self.first.clone();
        for _ in 1..index.min(MAX_CHAIN_LEN) {
            key = next_key(&key);
        }
        key
    }

    /// The `newkey` announcing this chain, K(n); the next [`KeyChain::take`] gives K(n−1).
    pub fn take_newkey(&mut self) -> String {
        self.next = self.len - 1;
        self.key(self.len)
    }

    /// The next `key` to send, and whether it was K(1), the last one (the caller must then switch chains).
    pub fn take(&mut self) -> (String, bool) {
        let index = self.next.max(1);
        self.next = index - 1;
        (self.key(index), index == 1)
    }

    /// Number of keys left to send as `key`.
    #[must_use]
    pub fn remaining(&self) -> u32 {
        self.next
    }
}

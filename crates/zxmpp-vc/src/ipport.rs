//! The pre-ICE address list (`VCNewCallerIPPortData`, `connectData`): a flat run of 40-byte
//! address records, carried as hex text in the `apple:iq:vc:*` stanzas.

use crate::error::{Error, Result};
use crate::record::{AddressRecord, RECORD_LEN, RecordKind, kinds};

/// The default limit on records in one list.
pub(crate) const DEFAULT_MAX_RECORDS: usize = 256;

/// A list of address records, as the pre-ICE protocol carries them.
///
/// ```
/// use zxmpp_vc::{AddressRecord, IpPortData};
/// let list = IpPortData::new(vec![
///     AddressRecord::new("en0", "10.0.0.2:16402".parse().unwrap()).unwrap(),
/// ]);
/// let hex = list.to_hex();
/// assert_eq!(hex.len(), 80);
/// assert_eq!(IpPortData::from_hex(&format!("\n{hex}")).unwrap(), list);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IpPortData {
    records: Vec<AddressRecord>,
}

impl IpPortData {
    /// A list of these records.
    #[must_use]
    pub fn new(records: Vec<AddressRecord>) -> Self {
        IpPortData { records }
    }

    /// Reads a list from bytes, at most 256 records.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::decode_with_limit(bytes, DEFAULT_MAX_RECORDS)
    }

    /// Reads a list from bytes, at most `max_records` records.
    pub fn decode_with_limit(bytes: &[u8], max_records: usize) -> Result<Self> {
        let rest = bytes.len() % RECORD_LEN;
        if rest != 0 {
            return Err(Error::Truncated {
                what: "address record",
                offset: bytes.len() - rest,
                needed: RECORD_LEN - rest,
            });
        }
        let count = bytes.len() / RECORD_LEN;
        if count > max_records {
            return Err(Error::TooMany {
                what: "address records",
                limit: max_records,
                offset: max_records.saturating_mul(RECORD_LEN),
            });
        }
        let mut records = Vec::with_capacity(count);
        for (i, chunk) in bytes.chunks(RECORD_LEN).enumerate() {
            records.push(AddressRecord::read(chunk, i * RECORD_LEN)?);
        }
        Ok(IpPortData { records })
    }

    /// Reads a list from hex text (whitespace and a leading line feed allowed).
    pub fn from_hex(text: &str) -> Result<Self> {
        Self::decode(&crate::hex::decode(text.as_bytes())?)
    }

    /// The list's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.records.len() * RECORD_LEN);
        for r in &self.records {
            r.write(&mut out);
        }
        out
    }

    /// The list as lowercase hex text.
    #[must_use]
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.to_bytes())
    }

    /// The records in order.
    #[must_use]
    pub fn records(&self) -> &[AddressRecord] {
        &self.records
    }

    /// Each record with its kind (`~` records recognised as complements).
    pub fn classified(&self) -> impl Iterator<Item = (&AddressRecord, RecordKind)> {
        self.records.iter().zip(kinds(&self.records))
    }

    /// Whether the list is empty (as in a declining response).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

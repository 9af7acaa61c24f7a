//! The SIP-ICE blob: iChat's ICE candidates inside VCICEData.
//!
//! The blob is a run of fixed-size groups, one per candidate; nothing in it counts the groups or
//! the records, so the layout below is what the samples show (see `docs/apple-vc.md`):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | 0 in every sample, kept |
//! | 4 | 4 | kind: 1 local, 3 external (NAT-mapped) — a guess from the samples |
//! | 8 | 4 | 1 in every sample, kept |
//! | 12 | 4 | random-looking, kept |
//! | 16 | 4 | unknown, kept |
//! | 20 | 2 | unknown (45, 70), kept |
//! | 22 | 2 | 0 in every sample, kept |
//! | 24 | 40 × n | address records: the candidate, its base, the base's complement (n = 3) |
//! | 24 + 40n | 4 | unknown trailer, kept |
//!
//! All multi-byte fields are big-endian. Every field is kept, so a decoded blob encodes back to
//! the same bytes.

use crate::error::{Error, Result};
use crate::record::{AddressRecord, RECORD_LEN, RecordKind, kinds};

/// Bytes in a group before its records.
pub(crate) const GROUP_HEADER_LEN: usize = 24;
/// Bytes in a group after its records.
pub(crate) const GROUP_TRAILER_LEN: usize = 4;

/// Limits and layout for reading a SIP-ICE blob.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SipIceConfig {
    /// Largest blob accepted (default 64 KiB).
    pub max_len: usize,
    /// Most groups accepted (default 64).
    pub max_groups: usize,
    /// Address records in each group (default 3, the only value seen).
    pub records_per_group: usize,
}

impl Default for SipIceConfig {
    fn default() -> Self {
        SipIceConfig {
            max_len: 64 * 1024,
            max_groups: 64,
            records_per_group: 3,
        }
    }
}

impl SipIceConfig {
    /// The size of one group with this layout.
    #[must_use]
    pub fn group_len(&self) -> usize {
        RECORD_LEN
            .saturating_mul(self.records_per_group)
            .saturating_add(GROUP_HEADER_LEN + GROUP_TRAILER_LEN)
    }
}

/// The kind field of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupKind {
    /// 1: a local (host) candidate (guessed from the samples).
    Local,
    /// 3: a NAT-mapped candidate, interface named `external` (guessed from the samples).
    External,
    /// Any other value, kept as written.
    Other(u32),
}

impl GroupKind {
    /// The wire value.
    #[must_use]
    pub fn to_u32(self) -> u32 {
        match self {
            GroupKind::Local => 1,
            GroupKind::External => 3,
            GroupKind::Other(v) => v,
        }
    }

    /// The kind of a wire value.
    #[must_use]
    pub fn from_u32(v: u32) -> Self {
        match v {
            1 => GroupKind::Local,
            3 => GroupKind::External,
            v => GroupKind::Other(v),
        }
    }
}

/// The 24-byte header and 4-byte trailer of a group, every field kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct GroupHeader {
    /// Offset 0 (0 in every sample).
    pub lead: u32,
    /// Offset 4: the candidate kind.
    pub kind: GroupKind,
    /// Offset 8 (1 in every sample; a component id or version, unknown).
    pub unknown_8: u32,
    /// Offset 12 (random-looking; a candidate id or priority, unknown).
    pub unknown_12: u32,
    /// Offset 16 (unknown).
    pub unknown_16: u32,
    /// Offset 20 (unknown).
    pub unknown_20: u16,
    /// Offset 22 (0 in every sample).
    pub unknown_22: u16,
    /// The 4 bytes after the records (unknown).
    pub trailer: u32,
}

impl GroupHeader {
    /// A header of the given kind with the values every sample shares (offset 8 = 1) and zeros.
    #[must_use]
    pub fn new(kind: GroupKind) -> Self {
        GroupHeader {
            lead: 0,
            kind,
            unknown_8: 1,
            unknown_12: 0,
            unknown_16: 0,
            unknown_20: 0,
            unknown_22: 0,
            trailer: 0,
        }
    }
}

/// One group: a candidate with its header fields and address records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// The header and trailer fields.
    pub header: GroupHeader,
    records: Vec<AddressRecord>,
}

impl Group {
    /// A group as iChat writes one: `candidate`, then its `base`, then the base's complement.
    ///
    /// ```
    /// use zxmpp_vc::{AddressRecord, Group, GroupKind};
    /// let host = AddressRecord::new("en1", "192.168.1.132:16402".parse().unwrap()).unwrap();
    /// let g = Group::new(GroupKind::Local, host.clone(), host).unwrap();
    /// assert_eq!(g.records().len(), 3);
    /// assert_eq!(g.records()[2].interface(), "en1~");
    /// ```
    pub fn new(kind: GroupKind, candidate: AddressRecord, base: AddressRecord) -> Result<Self> {
        let complement = base.complement()?;
        Ok(Group {
            header: GroupHeader::new(kind),
            records: vec![candidate, base, complement],
        })
    }

    /// A group from a header and any records. A blob holding it can be read back only with a
    /// [`SipIceConfig::records_per_group`] equal to `records.len()`.
    #[must_use]
    pub fn from_parts(header: GroupHeader, records: Vec<AddressRecord>) -> Self {
        Group { header, records }
    }

    /// The candidate kind.
    #[must_use]
    pub fn kind(&self) -> GroupKind {
        self.header.kind
    }

    /// The address records in order.
    #[must_use]
    pub fn records(&self) -> &[AddressRecord] {
        &self.records
    }

    /// The candidate's own record (the first).
    #[must_use]
    pub fn candidate(&self) -> Option<&AddressRecord> {
        self.records.first()
    }

    /// Each record with its kind: a `~` record is recognised as the complement of its base.
    pub fn classified(&self) -> impl Iterator<Item = (&AddressRecord, RecordKind)> {
        self.records.iter().zip(kinds(&self.records))
    }

    fn write(&self, out: &mut Vec<u8>) {
        let h = &self.header;
        out.extend_from_slice(&h.lead.to_be_bytes());
        out.extend_from_slice(&h.kind.to_u32().to_be_bytes());
        out.extend_from_slice(&h.unknown_8.to_be_bytes());
        out.extend_from_slice(&h.unknown_12.to_be_bytes());
        out.extend_from_slice(&h.unknown_16.to_be_bytes());
        out.extend_from_slice(&h.unknown_20.to_be_bytes());
        out.extend_from_slice(&h.unknown_22.to_be_bytes());
        for r in &self.records {
            r.write(out);
        }
        out.extend_from_slice(&h.trailer.to_be_bytes());
    }
}

/// A decoded SIP-ICE blob.
///
/// ```
/// use zxmpp_vc::{AddressRecord, Group, GroupKind, SipIce};
/// let host = AddressRecord::new("en1", "192.168.1.132:16402".parse().unwrap()).unwrap();
/// let mapped = AddressRecord::new("external", "93.139.37.211:49958".parse().unwrap()).unwrap();
/// let blob = SipIce::new(vec![
///     Group::new(GroupKind::Local, host.clone(), host.clone()).unwrap(),
///     Group::new(GroupKind::External, mapped, host).unwrap(),
/// ]);
/// let bytes = blob.to_bytes();
/// assert_eq!(bytes.len(), 296);
/// assert_eq!(SipIce::decode(&bytes).unwrap(), blob);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SipIce {
    groups: Vec<Group>,
}

impl SipIce {
    /// A blob of these groups.
    #[must_use]
    pub fn new(groups: Vec<Group>) -> Self {
        SipIce { groups }
    }

    /// Reads a blob with the default [`SipIceConfig`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::decode_with(bytes, &SipIceConfig::default())
    }

    /// Reads a blob with the given limits and layout.
    pub fn decode_with(bytes: &[u8], config: &SipIceConfig) -> Result<Self> {
        if bytes.len() > config.max_len {
            return Err(Error::TooLarge {
                what: "SIP-ICE blob",
                len: bytes.len(),
                limit: config.max_len,
            });
        }
        let group_len = config.group_len();
        let mut groups = Vec::new();
        let mut offset = 0usize;
        while offset < bytes.len() {
            if groups.len() >= config.max_groups {
                return Err(Error::TooMany {
                    what: "SIP-ICE groups",
                    limit: config.max_groups,
                    offset,
                });
            }
            let end = offset.saturating_add(group_len);
            let Some(g) = bytes.get(offset..end) else {
                return Err(Error::Truncated {
                    what: "SIP-ICE group",
                    offset,
                    needed: end - bytes.len(),
                });
            };
            groups.push(read_group(g, offset, config.records_per_group)?);
            offset += group_len;
        }
        Ok(SipIce { groups })
    }

    /// The blob's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write(&mut out);
        out
    }

    /// Appends the blob's bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        for g in &self.groups {
            g.write(out);
        }
    }

    /// The length of [`SipIce::to_bytes`].
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        self.groups
            .iter()
            .map(|g| GROUP_HEADER_LEN + RECORD_LEN * g.records.len() + GROUP_TRAILER_LEN)
            .sum()
    }

    /// The groups in order.
    #[must_use]
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The groups, to change.
    pub fn groups_mut(&mut self) -> &mut Vec<Group> {
        &mut self.groups
    }

    /// Adds a group at the end.
    pub fn push(&mut self, group: Group) {
        self.groups.push(group);
    }
}

fn read_group(g: &[u8], offset: usize, records: usize) -> Result<Group> {
    let u32_at = |i: usize| -> Result<u32> {
        g.get(i..i + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or(Error::Truncated {
                what: "SIP-ICE group",
                offset: offset + i,
                needed: 4,
            })
    };
    let word5 = u32_at(20)?;
    let header = GroupHeader {
        lead: u32_at(0)?,
        kind: GroupKind::from_u32(u32_at(4)?),
        unknown_8: u32_at(8)?,
        unknown_12: u32_at(12)?,
        unknown_16: u32_at(16)?,
        unknown_20: (word5 >> 16) as u16,
        unknown_22: (word5 & 0xffff) as u16,
        trailer: u32_at(GROUP_HEADER_LEN + RECORD_LEN * records)?,
    };
    let mut list = Vec::with_capacity(records);
    for i in 0..records {
        let at = GROUP_HEADER_LEN + RECORD_LEN * i;
        let rec = g.get(at..).unwrap_or_default();
        list.push(AddressRecord::read(rec, offset + at)?);
    }
    Ok(Group {
        header,
        records: list,
    })
}

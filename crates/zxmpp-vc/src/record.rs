//! The 40-byte address record shared by the pre-ICE address lists and the SIP-ICE blob.
//!
//! Layout (all multi-byte fields big-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | leading pad, 0 in every sample |
//! | 2 | 2 | address family: 0 IPv4, 1 IPv6 |
//! | 4 | 16 | interface name, NUL-padded (`en1`, `external`, `en1~`) |
//! | 20 | 16 | address: IPv4 in the first 4 bytes, or IPv6 |
//! | 36 | 2 | UDP port |
//! | 38 | 2 | trailing pad, 0 in every sample |
//!
//! Bytes after an interface name's NUL and after an IPv4 address are not always zero in what
//! iChat wrote (they look like reused buffers); they are kept so a record writes back unchanged.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, Result};

/// The size of one address record.
pub const RECORD_LEN: usize = 40;

/// The address family field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// 0: an IPv4 address in the first 4 address bytes.
    V4,
    /// 1: an IPv6 address in all 16 address bytes.
    V6,
    /// Any other value, kept as written.
    Other(u16),
}

impl Family {
    /// The wire value.
    #[must_use]
    pub fn to_u16(self) -> u16 {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
            Family::Other(v) => v,
        }
    }

    /// The family of a wire value.
    #[must_use]
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => Family::V4,
            1 => Family::V6,
            v => Family::Other(v),
        }
    }
}

/// Whether a record is an ordinary address or the complemented copy of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// An address as it is.
    Plain,
    /// A record whose interface name ends in `~` and whose address bytes are the bitwise
    /// complement (C's `~`) of another record's. `base` is the index of that record in the same
    /// group or list, when one is there.
    Complement {
        /// Index of the record this one complements.
        base: Option<usize>,
    },
}

/// One 40-byte address record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressRecord {
    lead: u16,
    family: Family,
    interface: [u8; 16],
    address: [u8; 16],
    port: u16,
    trail: u16,
}

impl AddressRecord {
    /// A record for `interface` (at most 15 bytes, no NUL) and `addr`, with every other byte zero.
    ///
    /// ```
    /// use zxmpp_vc::AddressRecord;
    /// let r = AddressRecord::new("en1", "192.168.1.132:16402".parse().unwrap()).unwrap();
    /// assert_eq!(r.interface(), "en1");
    /// assert_eq!(r.to_bytes()[2..4], [0, 0]); // IPv4
    /// ```
    pub fn new(interface: &str, addr: SocketAddr) -> Result<Self> {
        let name = interface.as_bytes();
        if name.len() > 15 || name.contains(&0) {
            return Err(Error::InterfaceName {
                name: interface.to_owned(),
            });
        }
        let mut iface = [0u8; 16];
        iface[..name.len()].copy_from_slice(name);
        let mut address = [0u8; 16];
        let family = match addr.ip() {
            IpAddr::V4(v4) => {
                address[..4].copy_from_slice(&v4.octets());
                Family::V4
            }
            IpAddr::V6(v6) => {
                address = v6.octets();
                Family::V6
            }
        };
        Ok(AddressRecord {
            lead: 0,
            family,
            interface: iface,
            address,
            port: addr.port(),
            trail: 0,
        })
    }

    /// A record from every field as written, for callers that must reproduce odd bytes.
    #[must_use]
    pub fn from_raw_parts(
        lead: u16,
        family: Family,
        interface: [u8; 16],
        address: [u8; 16],
        port: u16,
        trail: u16,
    ) -> Self {
        AddressRecord {
            lead,
            family,
            interface,
            address,
            port,
            trail,
        }
    }

    /// Reads a record from exactly 40 bytes.
    #[must_use]
    pub fn from_bytes(b: &[u8; RECORD_LEN]) -> Self {
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let mut interface = [0u8; 16];
        interface.copy_from_slice(&b[4..20]);
        let mut address = [0u8; 16];
        address.copy_from_slice(&b[20..36]);
        AddressRecord {
            lead: u16_at(0),
            family: Family::from_u16(u16_at(2)),
            interface,
            address,
            port: u16_at(36),
            trail: u16_at(38),
        }
    }

    /// Reads a record from the first 40 bytes of `bytes`; `offset` is where `bytes` starts in
    /// the input, for the error.
    pub fn read(bytes: &[u8], offset: usize) -> Result<Self> {
        match bytes
            .get(..RECORD_LEN)
            .and_then(|b| <&[u8; RECORD_LEN]>::try_from(b).ok())
        {
            Some(b) => Ok(Self::from_bytes(b)),
            None => Err(Error::Truncated {
                what: "address record",
                offset,
                needed: RECORD_LEN - bytes.len(),
            }),
        }
    }

    /// The 40 bytes of the record.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..2].copy_from_slice(&self.lead.to_be_bytes());
        b[2..4].copy_from_slice(&self.family.to_u16().to_be_bytes());
        b[4..20].copy_from_slice(&self.interface);
        b[20..36].copy_from_slice(&self.address);
        b[36..38].copy_from_slice(&self.port.to_be_bytes());
        b[38..40].copy_from_slice(&self.trail.to_be_bytes());
        b
    }

    /// Appends the 40 bytes of the record to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// The address family field.
    #[must_use]
    pub fn family(&self) -> Family {
        self.family
    }

    /// The interface name: the bytes before the first NUL (lossy UTF-8).
    #[must_use]
    pub fn interface(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.interface_name_bytes())
    }

    /// The interface name's bytes before the first NUL.
    #[must_use]
    pub fn interface_name_bytes(&self) -> &[u8] {
        let end = self
            .interface
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.interface.len());
        &self.interface[..end]
    }

    /// The whole 16-byte interface field as written, NUL padding (and whatever follows) included.
    #[must_use]
    pub fn interface_field(&self) -> &[u8; 16] {
        &self.interface
    }

    /// The whole 16-byte address field as written.
    #[must_use]
    pub fn address_field(&self) -> &[u8; 16] {
        &self.address
    }

    /// The address as written, read according to the family (`None` for an unknown family).
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        ip_of(self.family, &self.address)
    }

    /// The address and port as written.
    #[must_use]
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.ip().map(|ip| SocketAddr::new(ip, self.port))
    }

    /// The UDP port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The leading and trailing pad fields (0 in every sample).
    #[must_use]
    pub fn pads(&self) -> (u16, u16) {
        (self.lead, self.trail)
    }

    /// Whether the interface name ends in `~`, the mark of a complemented record.
    #[must_use]
    pub fn has_complement_mark(&self) -> bool {
        self.interface_name_bytes().last() == Some(&b'~')
    }

    /// Whether this record is the complement of `base`: its name is `base`'s name plus `~`, its
    /// 16 address bytes are the bitwise NOT of `base`'s, and the port and family are the same.
    #[must_use]
    pub fn is_complement_of(&self, base: &AddressRecord) -> bool {
        let name = self.interface_name_bytes();
        self.has_complement_mark()
            && name.get(..name.len() - 1) == Some(base.interface_name_bytes())
            && self
                .address
                .iter()
                .zip(base.address.iter())
                .all(|(a, b)| *a == !*b)
            && self.port == base.port
            && self.family == base.family
    }

    /// The complemented copy of this record, as iChat writes it after a candidate's base: name
    /// plus `~`, every address byte inverted, same port and family, pads and the rest of the name
    /// field zero. Fails when the name is 15 bytes long (no room for the `~`).
    ///
    /// ```
    /// use zxmpp_vc::AddressRecord;
    /// let base = AddressRecord::new("en1", "192.168.1.132:16402".parse().unwrap()).unwrap();
    /// let c = base.complement().unwrap();
    /// assert_eq!(c.interface(), "en1~");
    /// assert_eq!(c.socket_addr().unwrap().to_string(), "63.87.254.123:16402");
    /// assert!(c.is_complement_of(&base));
    /// ```
    pub fn complement(&self) -> Result<Self> {
        let name = self.interface_name_bytes();
        if name.len() >= 15 {
            return Err(Error::InterfaceName {
                name: format!("{}~", self.interface()),
            });
        }
        let mut interface = [0u8; 16];
        interface[..name.len()].copy_from_slice(name);
        interface[name.len()] = b'~';
        let mut address = self.address;
        for b in &mut address {
            *b = !*b;
        }
        Ok(AddressRecord {
            lead: 0,
            family: self.family,
            interface,
            address,
            port: self.port,
            trail: 0,
        })
    }

    /// The address the record stands for: as written for a plain record, inverted back for a
    /// record with the `~` mark.
    #[must_use]
    pub fn effective_socket_addr(&self) -> Option<SocketAddr> {
        if self.has_complement_mark() {
            let mut address = self.address;
            for b in &mut address {
                *b = !*b;
            }
            ip_of(self.family, &address).map(|ip| SocketAddr::new(ip, self.port))
        } else {
            self.socket_addr()
        }
    }
}

fn ip_of(family: Family, a: &[u8; 16]) -> Option<IpAddr> {
    match family {
        Family::V4 => Some(IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))),
        Family::V6 => Some(IpAddr::V6(Ipv6Addr::from(*a))),
        Family::Other(_) => None,
    }
}

/// The kind of each record in `records`: a record with the `~` mark is a complement, and its base
/// is the nearest record before it that it complements (else the first one after it).
pub(crate) fn kinds(records: &[AddressRecord]) -> Vec<RecordKind> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.has_complement_mark() {
                let before = records.get(..i).unwrap_or_default();
                let base = before
                    .iter()
                    .rposition(|b| r.is_complement_of(b))
                    .or_else(|| {
                        records
                            .iter()
                            .enumerate()
                            .skip(i + 1)
                            .find(|(_, b)| r.is_complement_of(b))
                            .map(|(j, _)| j)
                    });
                RecordKind::Complement { base }
            } else {
                RecordKind::Plain
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_odd_bytes() {
        let mut raw = [0xa5u8; RECORD_LEN];
        raw[2] = 0;
        raw[3] = 7;
        let r = AddressRecord::from_bytes(&raw);
        assert_eq!(r.family(), Family::Other(7));
        assert_eq!(r.ip(), None);
        assert_eq!(r.to_bytes(), raw);
    }

    #[test]
    fn v6_record() {
        let r = AddressRecord::new("en0", "[fe80::1]:5060".parse().unwrap()).unwrap();
        assert_eq!(r.family(), Family::V6);
        assert_eq!(r.to_bytes()[2..4], [0, 1]);
        assert_eq!(r.socket_addr().unwrap().to_string(), "[fe80::1]:5060");
    }

    #[test]
    fn names_too_long_are_refused() {
        let addr = "1.2.3.4:5".parse().unwrap();
        assert!(AddressRecord::new("0123456789abcdef", addr).is_err());
        assert!(AddressRecord::new("a\0b", addr).is_err());
        let r = AddressRecord::new("0123456789abcde", addr).unwrap();
        assert!(r.complement().is_err());
    }

    #[test]
    fn truncated_read() {
        assert_eq!(
            AddressRecord::read(&[0; 39], 80).unwrap_err(),
            Error::Truncated {
                what: "address record",
                offset: 80,
                needed: 1
            }
        );
    }
}

//! VCICEData (temporary: raw bytes until the typedstream layer lands).

use crate::error::Result;

/// The VCICEData value.
#[derive(Debug, Clone, PartialEq)]
pub struct IceData {
    raw: Vec<u8>,
}

impl IceData {
    /// Reads VCICEData.
    pub fn decode_with(bytes: &[u8], _config: &crate::SipIceConfig) -> Result<Self> {
        Ok(IceData {
            raw: bytes.to_vec(),
        })
    }

    /// Writes VCICEData.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.raw.clone())
    }
}

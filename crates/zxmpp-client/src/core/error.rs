//! The crate's error type.

/// Why a client could not be built or restored, or why a SASL exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured JID is not `local@domain` (with an optional `/resource`).
    #[error("invalid JID {0:?}: expected local@domain")]
    InvalidJid(String),
    /// A SASL step failed.
    #[error("SASL: {0}")]
    Sasl(#[from] crate::sasl::SaslError),
    /// The snapshot cannot be restored.
    #[error("cannot restore the snapshot: {0}")]
    Restore(&'static str),
    /// The caps cache in the snapshot cannot be restored.
    #[error("cannot restore the caps cache: {0}")]
    Caps(#[from] zxmpp_caps::Error),
}

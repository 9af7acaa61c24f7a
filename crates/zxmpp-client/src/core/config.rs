//! The client's configuration.

use std::time::Duration;

use zxmpp_state::Settings;

use crate::sasl::Mechanism;

/// Everything a [`crate::Client`] needs to log in: the persistent [`Settings`] plus the password.
#[derive(Clone)]
pub struct ClientConfig {
    /// What survives in snapshots.
    pub settings: Settings,
    /// The account's password (never part of a snapshot).
    pub password: String,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("settings", &self.settings)
            .field("password", &"…")
            .finish()
    }
}

impl ClientConfig {
    /// A configuration with the defaults of [`Settings::new`]. `entropy`: 32 bytes from a CSPRNG (SCRAM
    /// nonces and stanza ids are derived from it); tests may pass fixed bytes.
    #[must_use]
    pub fn new(jid: impl Into<String>, password: impl Into<String>, entropy: [u8; 32]) -> Self {
        Self {
            settings: Settings::new(jid, entropy),
            password: password.into(),
        }
    }

    /// Asks for this resource at bind time.
    #[must_use]
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.settings.resource = Some(resource.into());
        self
    }

    /// The SASL mechanisms allowed, most preferred first.
    #[must_use]
    pub fn with_mechanisms(mut self, mechanisms: &[Mechanism]) -> Self {
        self.settings.mechanisms = mechanisms.iter().map(|m| m.name().to_owned()).collect();
        self
    }

    /// Turns XEP-0198 stream management on or off.
    #[must_use]
    pub fn with_stream_management(mut self, on: bool) -> Self {
        self.settings.stream_management = on;
        self
    }

    /// Turns STARTTLS on or off (off: never upgrade, e.g. for a loopback test server).
    #[must_use]
    pub fn with_starttls(mut self, on: bool) -> Self {
        self.settings.starttls = on;
        self
    }

    /// Allows authentication over a connection that is not secure (loopback test servers only).
    #[must_use]
    pub fn allow_insecure_auth(mut self, on: bool) -> Self {
        self.settings.allow_insecure_auth = on;
        self
    }

    /// The timeout of iq requests.
    #[must_use]
    pub fn with_iq_timeout(mut self, timeout: Duration) -> Self {
        self.settings.iq_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Whether to fetch the roster at the start of each new session.
    #[must_use]
    pub fn with_roster_fetch(mut self, on: bool) -> Self {
        self.settings.fetch_roster = on;
        self
    }

    /// What this client answers to disco#info and advertises in its caps, under `node`.
    #[must_use]
    pub fn with_disco(
        mut self,
        node: impl Into<String>,
        info: zxmpp_caps::DiscoInfo<'static>,
    ) -> Self {
        self.settings.caps_node = node.into();
        self.settings.disco = info;
        self
    }

    /// Advertises iChat's legacy caps profile (`apple:ichat:caps` with version label `ver` and the AV `ext`
    /// bundles, as iChat and Z-XMPP did so that iChat offers calls) instead of an XEP-0115 hash, and answers
    /// disco#info queries on its nodes.
    #[must_use]
    pub fn with_ichat_caps(mut self, ver: impl Into<String>) -> Self {
        self.settings.ichat_caps = Some(ver.into());
        self
    }
}

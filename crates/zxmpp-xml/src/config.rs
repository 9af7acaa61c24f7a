//! Limits and options of the readers.

/// Limits that bound what a reader accepts and buffers.
///
/// The defaults are what an XMPP server would use: Prosody's 256 KiB stanza limit, 64 levels of
/// nesting, and generous counts of attributes and namespace declarations per element.
///
/// ```
/// let config = zxmpp_xml::Config::default().max_stanza_size(64 * 1024).max_depth(32);
/// assert_eq!(config.stanza_size_limit(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub(crate) max_stanza_size: usize,
    pub(crate) max_depth: usize,
    pub(crate) max_attributes: usize,
    pub(crate) max_namespace_declarations: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_stanza_size: 256 * 1024,
            max_depth: 64,
            max_attributes: 128,
            max_namespace_declarations: 32,
        }
    }
}

impl Config {
    /// The largest stanza, in bytes from its `<` to its last `>`, and so the most the reader asks the
    /// caller to buffer. Also bounds a stream header and a pending token between stanzas.
    #[must_use]
    pub fn max_stanza_size(mut self, bytes: usize) -> Self {
        self.max_stanza_size = bytes;
        self
    }

    /// The deepest nesting of elements inside a stanza (the stanza itself is at depth 1).
    #[must_use]
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// The most attributes on one element, namespace declarations included.
    #[must_use]
    pub fn max_attributes(mut self, count: usize) -> Self {
        self.max_attributes = count;
        self
    }

    /// The most namespace declarations (`xmlns`, `xmlns:p`) on one element.
    #[must_use]
    pub fn max_namespace_declarations(mut self, count: usize) -> Self {
        self.max_namespace_declarations = count;
        self
    }

    /// The configured stanza size limit.
    #[must_use]
    pub fn stanza_size_limit(&self) -> usize {
        self.max_stanza_size
    }

    /// The configured depth limit.
    #[must_use]
    pub fn depth_limit(&self) -> usize {
        self.max_depth
    }

    /// The configured limit of attributes per element.
    #[must_use]
    pub fn attribute_limit(&self) -> usize {
        self.max_attributes
    }

    /// The configured limit of namespace declarations per element.
    #[must_use]
    pub fn namespace_declaration_limit(&self) -> usize {
        self.max_namespace_declarations
    }
}

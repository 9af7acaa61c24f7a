//! Limits on what the reader accepts.

/// Limits on what [`Document::parse_with`](crate::Document::parse_with) and
/// [`Document::to_value_with`](crate::Document::to_value_with) accept.
///
/// The defaults are safe for untrusted input: nothing is allocated from a length read off the
/// input before that length is checked against the bytes that are actually there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest input, in bytes (default 64 MiB).
    pub max_input_size: u64,
    /// Most objects in the object table (default 1 048 576).
    pub max_objects: u64,
    /// Deepest nesting of arrays and dictionaries, counting the outermost (default 256).
    /// [`Document::to_value`](crate::Document::to_value) recurses this deep.
    pub max_depth: u64,
    /// Most entries in one array or dictionary (default 1 048 576).
    pub max_collection_len: u64,
    /// Most nodes in a value tree made by `to_value`: objects shared by several containers count
    /// once per use, so this stops "billion laughs" files (default 4 194 304).
    pub max_value_nodes: u64,
    /// Most bytes of data and string contents in a value tree made by `to_value`, shared
    /// objects counted once per use (default 256 MiB).
    pub max_value_bytes: u64,
}

impl Limits {
    /// The default limits.
    pub const DEFAULT: Limits = Limits {
        max_input_size: 64 * 1024 * 1024,
        max_objects: 1 << 20,
        max_depth: 256,
        max_collection_len: 1 << 20,
        max_value_nodes: 1 << 22,
        max_value_bytes: 256 * 1024 * 1024,
    };

    /// Sets [`Limits::max_input_size`].
    #[must_use]
    pub fn with_max_input_size(mut self, bytes: u64) -> Self {
        self.max_input_size = bytes;
        self
    }

    /// Sets [`Limits::max_objects`].
    #[must_use]
    pub fn with_max_objects(mut self, count: u64) -> Self {
        self.max_objects = count;
        self
    }

    /// Sets [`Limits::max_depth`].
    #[must_use]
    pub fn with_max_depth(mut self, depth: u64) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets [`Limits::max_collection_len`].
    #[must_use]
    pub fn with_max_collection_len(mut self, len: u64) -> Self {
        self.max_collection_len = len;
        self
    }

    /// Sets [`Limits::max_value_nodes`].
    #[must_use]
    pub fn with_max_value_nodes(mut self, nodes: u64) -> Self {
        self.max_value_nodes = nodes;
        self
    }
}

impl Limits {
    /// Sets [`Limits::max_value_bytes`].
    #[must_use]
    pub fn with_max_value_bytes(mut self, bytes: u64) -> Self {
        self.max_value_bytes = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

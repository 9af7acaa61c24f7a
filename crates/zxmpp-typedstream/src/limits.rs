//! Bounds on what the reader accepts.

/// Bounds on what [`decode_with`](crate::decode_with) accepts. Every read is also checked
/// against the input that remains, so no length read off the wire allocates more than the
/// input could hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest input, in bytes (default 16 MiB).
    pub max_input: usize,
    /// Deepest nesting of objects, arrays and structs, and longest class chain (default 64).
    /// The reader recurses once per level: keep this in the hundreds, not millions.
    pub max_depth: usize,
    /// Most entries in the object table (objects, classes, C strings) and, separately, in the
    /// shared-string table (default 65 536 each).
    pub max_objects: usize,
    /// Longest string, byte array or array length and largest NSData/NSArray/NSDictionary
    /// count (default 16 MiB).
    pub max_length: usize,
    /// Most values decoded in total, counting array elements and struct fields
    /// (default 1 048 576).
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input: 16 << 20,
            max_depth: 64,
            max_objects: 1 << 16,
            max_length: 16 << 20,
            max_values: 1 << 20,
        }
    }
}

impl Limits {
    /// The default limits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`Limits::max_input`].
    #[must_use]
    pub fn with_max_input(mut self, n: usize) -> Self {
        self.max_input = n;
        self
    }

    /// Sets [`Limits::max_depth`].
    #[must_use]
    pub fn with_max_depth(mut self, n: usize) -> Self {
        self.max_depth = n;
        self
    }

    /// Sets [`Limits::max_objects`].
    #[must_use]
    pub fn with_max_objects(mut self, n: usize) -> Self {
        self.max_objects = n;
        self
    }

    /// Sets [`Limits::max_length`].
    #[must_use]
    pub fn with_max_length(mut self, n: usize) -> Self {
        self.max_length = n;
        self
    }

    /// Sets [`Limits::max_values`].
    #[must_use]
    pub fn with_max_values(mut self, n: usize) -> Self {
        self.max_values = n;
        self
    }
}

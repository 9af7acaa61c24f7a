//! A queue that is empty whenever its session idles: one pointer wide then, allocated only when used.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A [`VecDeque`] behind an optional box: 8 bytes instead of 32 while unused (a connection manager keeps one
/// session per client, most of them idle, and a session has several such queues). The box stays while the
/// queue is busy and goes with [`RareDeque::shrink_to_fit`] or [`RareDeque::clear`] once it is empty.
/// Serialized as the sequence it holds, exactly like a `VecDeque`.
// The box is the point: 8 bytes inline while empty, where a `VecDeque` takes 32.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone)]
pub(crate) struct RareDeque<T>(Option<Box<VecDeque<T>>>);

impl<T> Default for RareDeque<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> RareDeque<T> {
    pub(crate) const fn new() -> Self {
        Self(None)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn front(&self) -> Option<&T> {
        self.0.as_ref()?.front()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter().flat_map(|q| q.iter())
    }

    pub(crate) fn contains(&self, x: &T) -> bool
    where
        T: PartialEq,
    {
        self.iter().any(|y| y == x)
    }

    pub(crate) fn push_back(&mut self, x: T) {
        self.0.get_or_insert_with(Box::default).push_back(x);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }

    pub(crate) fn retain(&mut self, f: impl FnMut(&T) -> bool) {
        if let Some(q) = self.0.as_mut() {
            q.retain(f);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }

    /// Gives back the queue's spare capacity (all of its memory when empty).
    pub(crate) fn shrink_to_fit(&mut self) {
        match self.0.as_mut() {
            Some(q) if q.is_empty() => self.0 = None,
            Some(q) => q.shrink_to_fit(),
            None => {}
        }
    }
}

impl<T: PartialEq> PartialEq for RareDeque<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Eq> Eq for RareDeque<T> {}

impl<T: Serialize> Serialize for RareDeque<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for RareDeque<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let q = VecDeque::<T>::deserialize(deserializer)?;
        Ok(if q.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(q)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RareDeque;

    #[test]
    fn empty_queue_owns_nothing() {
        let mut q = RareDeque::new();
        assert_eq!(std::mem::size_of::<RareDeque<String>>(), 8);
        q.push_back(1);
        q.push_back(2);
        assert!(q.contains(&2));
        assert_eq!(q.front(), Some(&1));
        assert_eq!(q.pop_front(), Some(1));
        q.retain(|x| *x != 2);
        assert!(q.is_empty());
        assert_eq!(q, RareDeque::default());
        q.shrink_to_fit();
        assert!(q.0.is_none());
        q.push_back(3);
        q.clear();
        assert!(q.0.is_none());
    }

    #[test]
    fn serializes_as_a_sequence() {
        let mut q = RareDeque::new();
        assert_eq!(serde_json::to_string(&q).unwrap(), "[]");
        q.push_back("a".to_owned());
        assert_eq!(serde_json::to_string(&q).unwrap(), r#"["a"]"#);
        let back: RareDeque<String> = serde_json::from_str(r#"["a"]"#).unwrap();
        assert_eq!(back, q);
        let empty: RareDeque<String> = serde_json::from_str("[]").unwrap();
        assert!(empty.0.is_none());
    }
}

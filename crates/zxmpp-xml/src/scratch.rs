//! Lists that are empty whenever a stream idles: one pointer wide then, allocated only when used.
//!
//! A connection manager keeps one reader per upstream stream, most of them idle; a reader's scratch lists are
//! 24 bytes each as `Vec`s even when empty. These keep the list behind an optional box: the box
//! comes with the first push, stays while the reader is busy, and goes with `shrink_to_fit` once the list is
//! empty.

use std::ops::{Deref, DerefMut};

/// A [`Vec`] that is one pointer wide until used; reads go through its slice.
// The box is the point: 8 bytes inline while unused, where a `Vec` takes 24.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone)]
pub(crate) struct LazyVec<T>(Option<Box<Vec<T>>>);

impl<T> LazyVec<T> {
    pub(crate) const fn new() -> Self {
        Self(None)
    }

    pub(crate) fn push(&mut self, x: T) {
        self.0.get_or_insert_with(Box::default).push(x);
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        self.0.as_mut()?.pop()
    }

    pub(crate) fn clear(&mut self) {
        if let Some(v) = self.0.as_mut() {
            v.clear();
        }
    }

    /// Gives back the list's spare capacity (all of its memory when empty).
    pub(crate) fn shrink_to_fit(&mut self) {
        match self.0.as_mut() {
            Some(v) if v.is_empty() => self.0 = None,
            Some(v) => v.shrink_to_fit(),
            None => {}
        }
    }
}

impl<T> Deref for LazyVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<T> DerefMut for LazyVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::LazyVec;

    #[test]
    fn lazy_vec_allocates_when_used_and_gives_back_when_empty() {
        let mut v = LazyVec::new();
        assert_eq!(std::mem::size_of::<LazyVec<(usize, usize)>>(), 8);
        assert!(v.is_empty());
        assert_eq!(v.pop(), None);
        v.push(1);
        v.push(2);
        v[0] = 3;
        assert_eq!(*v, [3, 2]);
        assert_eq!(v.last(), Some(&2));
        v.shrink_to_fit();
        assert_eq!(v.pop(), Some(2));
        v.clear();
        assert!(v.0.is_some());
        v.shrink_to_fit();
        assert!(v.0.is_none());
    }
}

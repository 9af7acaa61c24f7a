//! Lists that are empty whenever a stream idles: one pointer wide then, allocated only when used.
//!
//! A connection manager keeps one reader per upstream stream, most of them idle; a reader's scratch lists are
//! 24 or 32 bytes each as `Vec`/`VecDeque` even when empty. These keep the list behind an optional box: the box
//! comes with the first push, stays while the reader is busy, and goes with `shrink_to_fit` once the list is
//! empty.

use std::collections::VecDeque;
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

/// A [`VecDeque`] that is one pointer wide until used.
// The box is the point: 8 bytes inline while unused, where a `VecDeque` takes 32.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone)]
pub(crate) struct LazyDeque<T>(Option<Box<VecDeque<T>>>);

impl<T> LazyDeque<T> {
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

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.0.iter_mut().flat_map(|q| q.iter_mut())
    }

    pub(crate) fn push_back(&mut self, x: T) {
        self.0.get_or_insert_with(Box::default).push_back(x);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }

    pub(crate) fn clear(&mut self) {
        if let Some(q) = self.0.as_mut() {
            q.clear();
        }
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

#[cfg(test)]
mod tests {
    use super::{LazyDeque, LazyVec};

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

    #[test]
    fn lazy_deque_is_a_queue() {
        let mut q = LazyDeque::new();
        assert_eq!(std::mem::size_of::<LazyDeque<String>>(), 8);
        q.push_back(1);
        q.push_back(2);
        for x in q.iter_mut() {
            *x += 10;
        }
        assert_eq!((q.len(), q.front()), (2, Some(&11)));
        assert_eq!(q.pop_front(), Some(11));
        q.clear();
        assert!(q.is_empty());
        q.shrink_to_fit();
        assert!(q.0.is_none());
        assert_eq!(q.pop_front(), None);
    }
}

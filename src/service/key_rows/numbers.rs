//! Values a row refers to by a 4-byte number instead of holding them (an owner's 16-byte id,
//! a category's string): each distinct value gets the next number, never reused, so a row's
//! number stays valid. Bounded by the distinct values ever seen, far fewer than rows.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

pub struct Numbers<K> {
    of: HashMap<K, u32>,
}

impl<K> Default for Numbers<K> {
    fn default() -> Self {
        Self { of: HashMap::new() }
    }
}

impl<K: Hash + Eq> Numbers<K> {
    /// The number of `value`, giving it the next one if it has none yet.
    pub fn intern<Q>(&mut self, value: &Q) -> u32
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(n) = self.of.get(value) {
            return *n;
        }
        let n = super::to_u32(self.of.len());
        self.of.insert(value.to_owned(), n);
        n
    }

    /// What a filter on `wanted` compares rows with: `Some(None)` when there is no filter,
    /// `Some(Some(n))` for a known value, and `None` for a value no row ever had (the
    /// filter matches nothing).
    pub fn filter<Q>(&self, wanted: Option<&Q>) -> Option<Option<u32>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match wanted {
            None => Some(None),
            Some(value) => self.of.get(value).map(|n| Some(*n)),
        }
    }
}

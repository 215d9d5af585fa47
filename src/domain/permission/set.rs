//! A set of permissions as bits over catalog indices: a role's or a caller's permissions
//! fit in 40 bytes and are checked with one shift.

const WORDS: usize = 5;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet([u64; WORDS]);

impl PermissionSet {
    pub const CAPACITY: usize = WORDS * 64;

    pub fn contains(&self, index: usize) -> bool {
        index < Self::CAPACITY && self.0[index / 64] & (1 << (index % 64)) != 0
    }

    /// Indices past the capacity are ignored: the catalog is checked to fit when read.
    pub fn insert(&mut self, index: usize) {
        if index < Self::CAPACITY {
            self.0[index / 64] |= 1 << (index % 64);
        }
    }

    pub fn remove(&mut self, index: usize) {
        if index < Self::CAPACITY {
            self.0[index / 64] &= !(1 << (index % 64));
        }
    }

    pub fn union(mut self, other: PermissionSet) -> PermissionSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    pub fn difference(mut self, other: PermissionSet) -> PermissionSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a &= !b;
        }
        self
    }

    pub fn is_subset(&self, other: &PermissionSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Indices in ascending (catalog) order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..Self::CAPACITY).filter(|i| self.contains(*i))
    }
}

impl FromIterator<usize> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut set = PermissionSet::default();
        for i in iter {
            set.insert(i);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::PermissionSet;

    #[test]
    fn bits_round_trip() {
        let set: PermissionSet = [0, 63, 64, 299].into_iter().collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 63, 64, 299]);
        assert!(set.contains(64) && !set.contains(65));
        let mut smaller = set;
        smaller.remove(63);
        assert!(smaller.is_subset(&set) && !set.is_subset(&smaller));
        assert_eq!(set.difference(smaller).iter().collect::<Vec<_>>(), vec![63]);
        assert_eq!(smaller.union(set), set);
        assert!(!set.contains(PermissionSet::CAPACITY + 1));
    }
}

//! Paging and sorting shared by every list.

pub const DEFAULT_PAGE_SIZE: u32 = 10;
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub size: u32,
    /// 0-based.
    pub number: u32,
}

impl Page {
    pub fn offset(&self) -> u64 {
        u64::from(self.size) * u64::from(self.number)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            size: DEFAULT_PAGE_SIZE,
            number: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

//! An organization's folded key names in one buffer, so a substring filter is a single SIMD
//! search over a few megabytes instead of one search call per key (which cost more in call
//! overhead than in comparing bytes).

use super::to_u32;
use memchr::memmem::Finder;

/// Ends every name in the buffer. Names cannot hold control characters, so a match never
/// spans two names; a needle holding one matches nothing, as in the stores.
const END: u8 = 0;
const DEAD: u32 = u32::MAX;

/// Where a name lies in the buffer.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    offset: u32,
    len: u32,
}

#[derive(Default)]
pub struct Names {
    bytes: Vec<u8>,
    /// The start of every name in the buffer, in buffer order, with the row it names
    /// (`DEAD` once that row was renamed or deleted).
    starts: Vec<(u32, u32)>,
    dead_bytes: usize,
}

impl Names {
    pub fn push(&mut self, folded: &str, row: u32) -> Span {
        let offset = to_u32(self.bytes.len());
        self.bytes.extend_from_slice(folded.as_bytes());
        self.bytes.push(END);
        self.starts.push((offset, row));
        Span {
            offset,
            len: to_u32(folded.len()),
        }
    }

    pub fn get(&self, span: Span) -> &[u8] {
        let start = span.offset as usize;
        self.bytes
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    /// Forgets the name at `span`; its bytes are reclaimed by the next `compact`.
    pub fn kill(&mut self, span: Span) {
        if let Ok(i) = self.starts.binary_search_by_key(&span.offset, |s| s.0) {
            if let Some(start) = self.starts.get_mut(i) {
                start.1 = DEAD;
            }
        }
        self.dead_bytes += span.len as usize + 1;
    }

    /// Whether more than half the buffer is names no row holds any more.
    pub fn wasteful(&self) -> bool {
        self.dead_bytes > 4096 && self.dead_bytes * 2 > self.bytes.len()
    }

    /// Rebuilds the buffer from the names still held (`live`: each row's number and span);
    /// returns their new spans, in the same order.
    pub fn compact(&mut self, live: impl Iterator<Item = (u32, Span)>) -> Vec<Span> {
        let old = std::mem::take(self);
        live.map(|(row, span)| {
            let name = old.get(span);
            let offset = to_u32(self.bytes.len());
            self.bytes.extend_from_slice(name);
            self.bytes.push(END);
            self.starts.push((offset, row));
            Span {
                offset,
                len: span.len,
            }
        })
        .collect()
    }

    /// The rows whose name contains `needle` (folded, not empty), each once, in buffer order.
    pub fn rows_containing(&self, needle: &[u8]) -> Vec<u32> {
        if needle.contains(&END) {
            return Vec::new();
        }
        let mut rows = Vec::new();
        let mut next = 0;
        for at in Finder::new(needle).find_iter(&self.bytes) {
            // Later matches in a name already taken are skipped by `next`.
            if at < next {
                continue;
            }
            let at = to_u32(at);
            let i = self.starts.partition_point(|s| s.0 <= at).saturating_sub(1);
            let Some(&(_, row)) = self.starts.get(i) else {
                continue;
            };
            next = self
                .starts
                .get(i + 1)
                .map_or(self.bytes.len(), |s| s.0 as usize);
            if row != DEAD {
                rows.push(row);
            }
        }
        rows
    }

    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.starts.shrink_to_fit();
    }
}

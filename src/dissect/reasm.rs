//! Bounded byte-stream reassembly shared by the TLS-over-TCP and QUIC CRYPTO
//! trackers.
//!
//! Why it exists: a ClientHello can arrive in several TCP segments or QUIC
//! CRYPTO frames, out of order, duplicated or overlapping. This buffer puts
//! the bytes at their stream offset and tells how long the gap-free prefix
//! is.
//!
//! What it must never do: grow past the capacity fixed at creation, or track
//! more than [`MAX_RANGES`] separate filled ranges (each new hole costs a
//! slot; a stream that needs more is refused, not reallocated). It keeps only
//! the handshake bytes the owner asked it to keep, and the owner drops it as
//! soon as the handshake is parsed.
//!
//! Overlaps: later bytes overwrite earlier ones at the same offset. For
//! honest retransmissions the bytes are identical; for crafted conflicting
//! overlaps the observer's view is as good as any other choice.

/// Maximum number of disjoint filled ranges (that is, holes + 1) tracked at
/// once. Chrome's "chaos protection" splits a QUIC ClientHello into a dozen or
/// more CRYPTO frames sent in random order, so a handful is not enough; 32
/// costs 256 bytes per flow while a handshake is being reassembled.
pub(crate) const MAX_RANGES: usize = 32;

/// Why [`StreamBuf::insert`] refused data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// The data starts at or beyond the capacity.
    BeyondCap,
    /// Storing it would need more than [`MAX_RANGES`] disjoint ranges.
    TooFragmented,
}

/// A fixed-capacity buffer indexed by stream offset, with the list of
/// filled ranges.
#[derive(Debug)]
pub(crate) struct StreamBuf {
    buf: Box<[u8]>,
    /// Sorted, disjoint, non-adjacent `[start, end)` ranges.
    ranges: [(u32, u32); MAX_RANGES],
    n_ranges: usize,
}

impl StreamBuf {
    /// Allocates the buffer once (`cap` bytes, zeroed).
    pub(crate) fn new(cap: usize) -> Self {
        StreamBuf {
            buf: vec![0u8; cap].into_boxed_slice(),
            ranges: [(0, 0); MAX_RANGES],
            n_ranges: 0,
        }
    }

    /// Capacity in bytes.
    pub(crate) fn cap(&self) -> usize {
        self.buf.len()
    }

    /// Length of the gap-free prefix starting at offset 0.
    pub(crate) fn contiguous(&self) -> usize {
        match self.ranges.first() {
            Some(&(0, end)) if self.n_ranges > 0 => end as usize,
            _ => 0,
        }
    }

    /// The gap-free prefix.
    pub(crate) fn prefix(&self) -> &[u8] {
        let n = self.contiguous().min(self.buf.len());
        self.buf.get(..n).unwrap_or(&[])
    }

    /// Mutable access to the gap-free prefix (used to compact TLS records in
    /// place once a ClientHello is complete).
    pub(crate) fn prefix_mut(&mut self) -> &mut [u8] {
        let n = self.contiguous().min(self.buf.len());
        self.buf.get_mut(..n).unwrap_or(&mut [])
    }

    /// Stores `data` at stream offset `off`. Bytes past the capacity are
    /// dropped (the stored part is still recorded). Returns whether the
    /// gap-free prefix grew.
    pub(crate) fn insert(&mut self, off: u64, data: &[u8]) -> Result<bool, InsertError> {
        let cap = self.buf.len() as u64;
        if off >= cap {
            return Err(InsertError::BeyondCap);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let end = off.saturating_add(data.len() as u64).min(cap);
        let (start, end) = (off as u32, end as u32);

        // Merge [start, end) into the range list (into a scratch copy first,
        // so that a refusal leaves everything untouched).
        let mut merged = [(0u32, 0u32); MAX_RANGES];
        let mut n = 0usize;
        let (mut ns, mut ne) = (start, end);
        let mut placed = false;
        for &(s, e) in self.ranges.iter().take(self.n_ranges) {
            if e < ns {
                // Entirely before the new range (not adjacent).
                if n >= MAX_RANGES {
                    return Err(InsertError::TooFragmented);
                }
                merged[n] = (s, e);
                n += 1;
            } else if s > ne {
                // Entirely after: place the new range first.
                if !placed {
                    if n >= MAX_RANGES {
                        return Err(InsertError::TooFragmented);
                    }
                    merged[n] = (ns, ne);
                    n += 1;
                    placed = true;
                }
                if n >= MAX_RANGES {
                    return Err(InsertError::TooFragmented);
                }
                merged[n] = (s, e);
                n += 1;
            } else {
                // Overlapping or adjacent: absorb.
                ns = ns.min(s);
                ne = ne.max(e);
            }
        }
        if !placed {
            if n >= MAX_RANGES {
                return Err(InsertError::TooFragmented);
            }
            merged[n] = (ns, ne);
            n += 1;
        }

        let before = self.contiguous();
        let len = (end - start) as usize;
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(start as usize..end as usize),
            data.get(..len),
        ) {
            dst.copy_from_slice(src);
        }
        self.ranges = merged;
        self.n_ranges = n;
        Ok(self.contiguous() > before)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn in_order_and_out_of_order() {
        let mut b = StreamBuf::new(16);
        assert_eq!(b.insert(4, b"efgh"), Ok(false));
        assert_eq!(b.contiguous(), 0);
        assert_eq!(b.insert(0, b"abcd"), Ok(true));
        assert_eq!(b.prefix(), b"abcdefgh");
        // duplicate / overlap
        assert_eq!(b.insert(2, b"cdef"), Ok(false));
        assert_eq!(b.insert(6, b"ghij"), Ok(true));
        assert_eq!(b.prefix(), b"abcdefghij");
    }

    #[test]
    fn cap_and_fragmentation() {
        let mut b = StreamBuf::new(8);
        assert_eq!(b.insert(8, b"x"), Err(InsertError::BeyondCap));
        assert_eq!(b.insert(6, b"xyz"), Ok(false));
        assert_eq!(b.insert(0, b"012345"), Ok(true));
        assert_eq!(b.prefix(), b"012345xy");

        let mut b = StreamBuf::new(1000);
        for i in 0..MAX_RANGES as u64 {
            assert!(b.insert(1 + i * 2, b"a").is_ok());
        }
        assert_eq!(b.insert(200, b"a"), Err(InsertError::TooFragmented));
        // filling a hole still works: it merges ranges
        assert_eq!(b.insert(0, b"a"), Ok(true));
        assert_eq!(b.contiguous(), 2);
    }
}

//! The bundled demo capture as the text commands see it (`demo --report`, `demo --events`,
//! and `report` on a copy of assets/demo.pcap): made in memory by the scenario writer that
//! wrote assets/demo.pcap (tests/demo_capture.rs checks the two are the same bytes), so an
//! installed binary needs no file of the checkout.
//!
//! This module must never touch the network or the file system beyond reading the one file
//! it is asked to compare.

use std::io::Read;
use std::path::Path;

use crate::capture::PacketSource;
use crate::capture::memory::MemorySource;

/// The name reports give the demo capture.
pub(super) const NAME: &str = "demo.pcap";

/// Largest file compared with the demo: the demo capture is about 2 MB, so a larger file is
/// never it, and reading it to compare would only cost time.
const MAX_COMPARED: u64 = 8 << 20;

/// The demo's packets, in memory.
pub(super) fn source() -> Box<dyn PacketSource + Send> {
    Box::new(MemorySource::new(crate::scenario::demo().into_frames()))
}

/// Whether `path` holds exactly the bundled demo capture (a copy of assets/demo.pcap), so
/// the report can say in its body that it is synthetic. Any error reading means "no".
pub(super) fn is_bundled_demo(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() > MAX_COMPARED {
        return false;
    }
    let mut demo = Vec::new();
    if crate::scenario::demo().write_pcap(&mut demo).is_err() || demo.len() as u64 != meta.len() {
        return false;
    }
    let mut file = Vec::with_capacity(demo.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_COMPARED).read_to_end(&mut file))
        .is_ok_and(|_| file == demo)
}

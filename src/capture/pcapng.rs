//! pcapng files whose interfaces have different link types or snapshot lengths (an Ethernet
//! interface beside a loopback one, as dumpcap writes when capturing on several interfaces),
//! which libpcap refuses to read ("an interface has a type N different from the type of the
//! first interface"). Each packet is read with its own interface's link type, as Wireshark
//! does.
//!
//! It exists so that every pcapng file is read; libpcap stays the reader of every other file
//! and of live capture. The block layout is parsed by the `pcap-parser` crate (the rusticata
//! parser); this module only keeps the interface table of the current section and turns
//! Enhanced and Simple Packet Blocks into frames. It must never keep more than the current
//! block: one reusable buffer holds the frame it lends.

use std::fs::File;
use std::path::Path;

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{Block, PcapBlockOwned, PcapError, PcapNGReader};

use super::classic::RecordError;
use super::{LinkType, Timestamp};

/// Bytes of the parser's buffer: one whole block must fit. Packets are at most 262,144 bytes
/// (libpcap's largest snaplen, `classic::MAX_RECORD`); a block adds its headers and options.
const BUFFER: usize = 1 << 20;

/// Units per second of an interface without an `if_tsresol` option (pcapng spec §4.2:
/// microseconds).
const DEFAULT_RESOLUTION: u64 = 1_000_000;

/// What the current section says of one interface.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
    snaplen: u32,
}

/// Sequential reader of a pcapng file's packets, each with its interface's link type.
pub struct PcapngReader {
    blocks: PcapNGReader<File>,
    interfaces: Vec<Interface>,
    /// The last packet read: time, on-wire length, link type, snaplen of its interface.
    last: (Timestamp, u32, LinkType, u32),
    buf: Vec<u8>,
    /// Packet blocks still to pass over before the first one returned (those another reader
    /// already returned).
    skip: u64,
    /// Bytes of the file consumed so far (the offset of the next block).
    pub offset: u64,
}

impl std::fmt::Debug for PcapngReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapngReader")
            .field("interfaces", &self.interfaces.len())
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl PcapngReader {
    /// Open `path`, to return its packets after the first `skip` packet blocks.
    pub fn open(path: &Path, skip: u64) -> Result<Self, RecordError> {
        let file = File::open(path).map_err(|e| RecordError {
            offset: 0,
            message: e.to_string(),
        })?;
        let blocks = PcapNGReader::new(BUFFER, file).map_err(|e| RecordError {
            offset: 0,
            message: format!("not a readable pcapng file: {e}"),
        })?;
        Ok(Self {
            blocks,
            interfaces: Vec::new(),
            last: (Timestamp(0), 0, LinkType(0), 0),
            buf: Vec::new(),
            skip,
            offset: 0,
        })
    }

    /// Read up to the next packet. `Ok(false)` at the end of the file.
    pub fn advance(&mut self) -> Result<bool, RecordError> {
        loop {
            match self.next_block()? {
                Step::End => return Ok(false),
                Step::Other => {}
                Step::Packet if self.skip > 0 => self.skip -= 1,
                Step::Packet => return Ok(true),
            }
        }
    }

    /// The packet [`PcapngReader::advance`] read: time, on-wire length, link type, the snaplen
    /// of its interface (0: none), and its captured bytes.
    pub fn last(&self) -> (Timestamp, u32, LinkType, u32, &[u8]) {
        let (ts, wire, link, snaplen) = self.last;
        (ts, wire, link, snaplen, &self.buf)
    }

    /// Parse one block; a packet block leaves its frame in `buf`.
    fn next_block(&mut self) -> Result<Step, RecordError> {
        let mut refills = 0;
        let offset = self.offset;
        let error = |message: String| RecordError { offset, message };
        let (consumed, step) = loop {
            match self.blocks.next() {
                Ok((consumed, block)) => {
                    let step = match block {
                        PcapBlockOwned::NG(b) => on_block(
                            &b,
                            &mut self.interfaces,
                            &mut self.last,
                            &mut self.buf,
                            self.skip > 0,
                        ),
                        _ => Ok(Step::Other),
                    };
                    break (consumed, step);
                }
                Err(PcapError::Eof) => return Ok(Step::End),
                Err(PcapError::Incomplete(_)) => {
                    // One refill makes room for any block that fits the buffer; a second
                    // failure means the file ends inside a block.
                    refills += 1;
                    let exhausted = self.blocks.reader_exhausted();
                    if refills > 2 || exhausted && refills > 1 {
                        return Err(error(
                            "the file ends inside a block: it was cut short".to_string(),
                        ));
                    }
                    if let Err(e) = self.blocks.refill() {
                        return Err(error(format!("reading the file: {e}")));
                    }
                }
                Err(PcapError::UnexpectedEof) => {
                    return Err(error(
                        "the file ends inside a block: it was cut short".to_string(),
                    ));
                }
                Err(PcapError::BufferTooSmall) => {
                    return Err(error(format!(
                        "a block is larger than {BUFFER} bytes: the file is corrupt"
                    )));
                }
                Err(e) => return Err(error(format!("corrupt block: {e}"))),
            }
        };
        self.blocks.consume(consumed);
        self.offset += consumed as u64;
        step.map_err(error)
    }
}

/// What one block was.
enum Step {
    Packet,
    Other,
    End,
}

/// Account one block: interfaces are remembered per section, packets leave their frame.
fn on_block(
    b: &Block<'_>,
    interfaces: &mut Vec<Interface>,
    last: &mut (Timestamp, u32, LinkType, u32),
    buf: &mut Vec<u8>,
    skipping: bool,
) -> Result<Step, String> {
    match b {
        Block::SectionHeader(_) => interfaces.clear(),
        Block::InterfaceDescription(idb) => interfaces.push(Interface {
            link: LinkType(u32::from(idb.linktype.0 as u16)),
            resolution: idb.ts_resolution().unwrap_or(DEFAULT_RESOLUTION).max(1),
            offset_secs: idb.ts_offset(),
            snaplen: idb.snaplen,
        }),
        Block::EnhancedPacket(epb) => {
            let i = usize::try_from(epb.if_id).unwrap_or(usize::MAX);
            let Some(iface) = interfaces.get(i).copied() else {
                return Err(format!(
                    "a packet names interface {} but the section declares {}",
                    epb.if_id,
                    interfaces.len()
                ));
            };
            if !skipping {
                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let secs = i64::try_from(units / iface.resolution).unwrap_or(i64::MAX);
                let frac = units % iface.resolution;
                // frac < resolution, so frac * 1e9 / resolution < 1e9 (computed in u128).
                let nanos =
                    (u128::from(frac) * 1_000_000_000 / u128::from(iface.resolution)) as i64;
                let ts = Timestamp::from_parts(secs.saturating_add(iface.offset_secs), nanos);
                let caplen = usize::try_from(epb.caplen).unwrap_or(usize::MAX);
                let data = epb.data.get(..caplen).unwrap_or(epb.data);
                buf.clear();
                buf.extend_from_slice(data);
                *last = (ts, epb.origlen, iface.link, iface.snaplen);
            }
            return Ok(Step::Packet);
        }
        Block::SimplePacket(spb) => {
            // No timestamp and always interface 0 (pcapng spec §4.4).
            let Some(iface) = interfaces.first().copied() else {
                return Err("a simple packet block before any interface".to_string());
            };
            if !skipping {
                let caplen = if iface.snaplen > 0 {
                    spb.origlen.min(iface.snaplen)
                } else {
                    spb.origlen
                };
                let n = usize::try_from(caplen).unwrap_or(usize::MAX);
                buf.clear();
                buf.extend_from_slice(spb.data.get(..n).unwrap_or(spb.data));
                // Stamped with the previous packet's time, the nearest known.
                *last = (last.0, spb.origlen, iface.link, iface.snaplen);
            }
            return Ok(Step::Packet);
        }
        _ => {}
    }
    Ok(Step::Other)
}

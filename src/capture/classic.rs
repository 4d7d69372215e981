//! A reader for the classic pcap variants libpcap cannot read.
//!
//! Patched tcpdumps of the late 1990s (Red Hat 6.1's "SS990417"/"SS990915" family) wrote files
//! with the standard pcap magic number but 24-byte record headers (interface index, protocol,
//! packet type and padding after the usual four fields). libpcap trusts the magic and fails on
//! the second record; Wireshark recognises them by checking whether the first records make sense
//! with 16-byte headers or with 24-byte ones. Android capture tools still produce such files. This
//! reader is used only for files the check in [`detect_record_header_len`] finds to be of that
//! kind, and for files whose first records are longer than the snapshot length their header
//! declares ([`exceeds_snaplen`]): libpcap cuts such records to the declared snaplen and
//! throws the rest away, where Wireshark (and this reader) keep the whole record. Everything
//! else goes through libpcap.
//!
//! It must never read a record larger than [`MAX_RECORD`], and never panic on a damaged file:
//! reading stops with the offset of the record that could not be read.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use super::{LinkType, Timestamp};

/// Largest captured length accepted for one record: libpcap's own limit for the largest
/// snaplen it supports (262144, MAXIMUM_SNAPLEN in libpcap's pcap-int.h).
pub const MAX_RECORD: u32 = 262_144;

/// One record header, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RecordHeader {
    secs: u32,
    frac: u32,
    caplen: u32,
    len: u32,
}

fn parse_record_header(b: &[u8], swapped: bool) -> Option<RecordHeader> {
    let word = |i: usize| -> Option<u32> {
        let w: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
        Some(if swapped {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        })
    };
    Some(RecordHeader {
        secs: word(0)?,
        frac: word(4)?,
        caplen: word(8)?,
        len: word(12)?,
    })
}

fn plausible(h: &RecordHeader, nanos: bool) -> bool {
    let frac_limit = if nanos { 1_000_000_000 } else { 1_000_000 };
    h.caplen <= MAX_RECORD
        && h.caplen <= h.len.max(h.caplen)
        && h.len <= MAX_RECORD * 4
        && h.frac < frac_limit
        && h.caplen > 0
}

/// File header facts needed to read records.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    pub swapped: bool,
    pub nanos: bool,
    pub link: LinkType,
    /// The snapshot length the header declares (0: none).
    pub snaplen: u32,
}

/// Read the 24-byte file header of a classic pcap file.
pub fn read_header(head: &[u8]) -> Option<Header> {
    let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
    let (swapped, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => return None,
    };
    let word = |at: usize| -> Option<u32> {
        let w: [u8; 4] = head.get(at..at + 4)?.try_into().ok()?;
        Some(if swapped {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        })
    };
    let snaplen = word(16)?;
    let link = word(20)?;
    // The upper bits of the link-type field carry FCS length flags (pcap file format §4).
    Some(Header {
        swapped,
        nanos,
        link: LinkType(link & 0x0fff_ffff),
        snaplen,
    })
}

/// Decide the record header length of a classic pcap file with a standard magic number: 16
/// unless the first two records only make sense with 24-byte headers. Reads at most a few
/// records' worth of bytes.
pub fn detect_record_header_len(path: &Path) -> std::io::Result<u64> {
    let mut f = File::open(path)?;
    let mut head = [0u8; 24];
    if f.read_exact(&mut head).is_err() {
        return Ok(16);
    }
    let Some(h) = read_header(&head) else {
        return Ok(16);
    };
    let chain_ok = |f: &mut File, hdr_len: u64| -> std::io::Result<bool> {
        let mut pos = 24u64;
        for _ in 0..2 {
            f.seek(SeekFrom::Start(pos))?;
            let mut b = [0u8; 16];
            match f.read_exact(&mut b) {
                Ok(()) => {}
                // End of file right after a whole record: consistent.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(pos > 24),
                Err(e) => return Err(e),
            }
            let Some(r) = parse_record_header(&b, h.swapped) else {
                return Ok(false);
            };
            if !plausible(&r, h.nanos) {
                return Ok(false);
            }
            pos += hdr_len + u64::from(r.caplen);
        }
        Ok(true)
    };
    if chain_ok(&mut f, 16)? {
        return Ok(16);
    }
    if chain_ok(&mut f, 24)? {
        return Ok(24);
    }
    Ok(16)
}

/// Records checked by [`exceeds_snaplen`]: a writer that declares a wrong snaplen does so for
/// every record, so the first few show it, and the check stays a few small reads.
const SNAPLEN_CHECK_RECORDS: usize = 64;

/// Whether one of the first records of a classic pcap file (record headers `hdr_len` bytes)
/// holds more captured bytes than the snapshot length its file header declares.
pub fn exceeds_snaplen(path: &Path, hdr_len: u64) -> std::io::Result<bool> {
    let mut f = BufReader::with_capacity(1 << 12, File::open(path)?);
    let mut head = [0u8; 24];
    if f.read_exact(&mut head).is_err() {
        return Ok(false);
    }
    let Some(h) = read_header(&head) else {
        return Ok(false);
    };
    if h.snaplen == 0 || h.snaplen >= MAX_RECORD {
        return Ok(false);
    }
    let mut b = [0u8; 16];
    for _ in 0..SNAPLEN_CHECK_RECORDS {
        if f.read_exact(&mut b).is_err() {
            return Ok(false);
        }
        let Some(r) = parse_record_header(&b, h.swapped) else {
            return Ok(false);
        };
        if r.caplen > MAX_RECORD {
            return Ok(false);
        }
        if r.caplen > h.snaplen {
            return Ok(true);
        }
        let skip = hdr_len.saturating_sub(16) + u64::from(r.caplen);
        f.seek_relative(i64::try_from(skip).unwrap_or(i64::MAX))?;
    }
    Ok(false)
}

/// Why reading a record failed.
#[derive(Debug)]
pub struct RecordError {
    pub offset: u64,
    pub message: String,
}

/// Sequential reader of records with a given header length.
pub struct ClassicReader {
    input: BufReader<File>,
    header: Header,
    record_header_len: u64,
    buf: Vec<u8>,
    /// Timestamp and claimed on-wire length of the last record read.
    last: (Timestamp, u32),
    /// Byte offset of the next record.
    pub offset: u64,
}

impl ClassicReader {
    pub fn open(path: &Path, record_header_len: u64) -> std::io::Result<Option<Self>> {
        let mut input = BufReader::with_capacity(1 << 16, File::open(path)?);
        let mut head = [0u8; 24];
        input.read_exact(&mut head)?;
        let Some(header) = read_header(&head) else {
            return Ok(None);
        };
        Ok(Some(Self {
            input,
            header,
            record_header_len,
            buf: Vec::new(),
            last: (Timestamp::default(), 0),
            offset: 24,
        }))
    }

    pub fn link(&self) -> LinkType {
        self.header.link
    }

    /// The snapshot length the file header declares (0: none).
    pub fn snaplen(&self) -> u32 {
        self.header.snaplen
    }

    /// The record read by the last successful [`ClassicReader::advance`]: timestamp, on-wire
    /// length as the record header claims it (it may be less than the captured bytes),
    /// captured bytes.
    pub fn last(&self) -> (Timestamp, u32, &[u8]) {
        (self.last.0, self.last.1, &self.buf)
    }

    /// Read the next record; `Ok(false)` at a clean end of file.
    pub fn advance(&mut self) -> Result<bool, RecordError> {
        let mut hb = [0u8; 24];
        let hl = self.record_header_len as usize;
        let start = self.offset;
        let err = |message: String| RecordError {
            offset: start,
            message,
        };
        match read_full(&mut self.input, &mut hb[..hl]) {
            Ok(0) => return Ok(false),
            Ok(n) if n < hl => {
                return Err(err(format!("record header cut short ({n} of {hl} bytes)")));
            }
            Ok(_) => {}
            Err(e) => return Err(err(e.to_string())),
        }
        let Some(r) = parse_record_header(&hb, self.header.swapped) else {
            return Err(err("unreadable record header".into()));
        };
        if r.caplen > MAX_RECORD {
            return Err(err(format!(
                "record claims {} captured bytes, more than the {MAX_RECORD} any capture uses",
                r.caplen
            )));
        }
        self.buf.resize(r.caplen as usize, 0);
        match read_full(&mut self.input, &mut self.buf) {
            Ok(n) if n < self.buf.len() => {
                return Err(err(format!(
                    "record cut short: {n} of {} captured bytes present",
                    r.caplen
                )));
            }
            Ok(_) => {}
            Err(e) => return Err(err(e.to_string())),
        }
        self.offset += self.record_header_len + u64::from(r.caplen);
        let frac = if self.header.nanos {
            i64::from(r.frac)
        } else {
            i64::from(r.frac) * 1_000
        };
        self.last = (Timestamp::from_parts(i64::from(r.secs), frac), r.len);
        Ok(true)
    }
}

/// Read until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The file header of a classic pcap file at `path`, if it is one.
pub fn read_header_of(path: &Path) -> Option<Header> {
    let mut head = [0u8; 24];
    File::open(path).ok()?.read_exact(&mut head).ok()?;
    read_header(&head)
}

//! Saving what a capture read (`onlooker live -w FILE`): a minimal pcapng writer and a source
//! that hands every frame to it on the way through.
//!
//! It exists so that a live capture can be looked at again later (`onlooker report FILE`,
//! Wireshark) without a second capture running beside it. The file is pcapng, the format
//! tcpdump and Wireshark write today: a Section Header Block, one Interface Description Block
//! per link type met (with the live snaplen and nanosecond timestamps), and one Enhanced Packet
//! Block per frame with the packet's own timestamp and its length on the wire.
//!
//! Frames are written on the thread that reads them (the capture thread), through a buffer, so
//! the analysis and the dashboard never wait for the disk and the disk never waits for them.
//! This module must never change, drop or reorder a frame on its way to the analysis: a failed
//! write stops the saving (the failure is kept for the caller to report), never the capture.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{CaptureError, Frame, KernelStats, LinkType, Next, PacketSource, RecordAnomalies};

/// Block types (pcapng, draft-ietf-opsawg-pcapng section 4).
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
/// Written in our byte order: a reader tells the byte order of the section from it.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Option `if_tsresol`: timestamps in units of 10^-9 s, the resolution [`super::Timestamp`]
/// carries (libpcap, tshark and Wireshark read it).
const OPT_IF_TSRESOL: u16 = 9;
const TSRESOL_NANOS: u8 = 9;
/// Buffer between the capture thread and the file: large enough that a write(2) happens about
/// every forty full-size frames, small enough to lose little when the process is killed.
const BUFFER_BYTES: usize = 256 << 10;

/// Writes a pcapng stream: the section header at once, an interface block for each link type
/// the first time a frame of it comes.
pub struct PcapngWriter<W: Write> {
    out: W,
    snaplen: u32,
    /// Link types in the order their interface blocks were written (the interface id of a
    /// frame is its place here).
    links: Vec<LinkType>,
}

impl<W: Write> std::fmt::Debug for PcapngWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapngWriter")
            .field("snaplen", &self.snaplen)
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

fn block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(12 + body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "block too large"))?;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

impl<W: Write> PcapngWriter<W> {
    /// Write the section header; frames will be cut at `snaplen` bytes (0: no limit).
    pub fn new(mut out: W, snaplen: u32) -> io::Result<Self> {
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes()); // major version
        body.extend_from_slice(&0u16.to_le_bytes()); // minor version
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        block(&mut out, SHB, &body)?;
        Ok(Self {
            out,
            snaplen,
            links: Vec::new(),
        })
    }

    /// The interface id of `link`, its block written the first time.
    fn interface(&mut self, link: LinkType) -> io::Result<u32> {
        if let Some(i) = self.links.iter().position(|l| *l == link) {
            return Ok(i as u32);
        }
        let code = u16::try_from(link.0)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "link type out of range"))?;
        let mut body = Vec::with_capacity(20);
        body.extend_from_slice(&code.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes()); // reserved
        body.extend_from_slice(&self.snaplen.to_le_bytes());
        body.extend_from_slice(&OPT_IF_TSRESOL.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[TSRESOL_NANOS, 0, 0, 0]); // value, padded to 32 bits
        body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        block(&mut self.out, IDB, &body)?;
        self.links.push(link);
        Ok(self.links.len() as u32 - 1)
    }

    /// Write one frame with its timestamp and on-wire length, cut to the snaplen.
    pub fn write(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        let id = self.interface(frame.link)?;
        let ts = u64::try_from(frame.ts.as_nanos())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timestamp before 1970"))?;
        let keep = if self.snaplen == 0 {
            frame.data.len()
        } else {
            frame.data.len().min(self.snaplen as usize)
        };
        let caplen = u32::try_from(keep)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let pad = (4 - keep % 4) % 4;
        let total = u32::try_from(12 + 20 + keep + pad)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&EPB.to_le_bytes());
        head[4..8].copy_from_slice(&total.to_le_bytes());
        head[8..12].copy_from_slice(&id.to_le_bytes());
        head[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
        head[20..24].copy_from_slice(&caplen.to_le_bytes());
        head[24..28].copy_from_slice(&frame.wire_len.max(caplen).to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(&frame.data[..keep])?;
        self.out.write_all(&[0u8; 3][..pad])?;
        self.out.write_all(&total.to_le_bytes())
    }

    /// Flush what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flush and hand back the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Why saving a capture failed.
#[derive(Debug, thiserror::Error)]
#[error("saving the capture to {path}: {source}")]
pub struct SaveError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

#[derive(Debug)]
struct Shared {
    writer: Option<PcapngWriter<BufWriter<File>>>,
    failed: Option<io::Error>,
}

/// A capture file being written (`-w FILE`): the caller's end, to finish it whatever way the
/// capture ends (the thread that writes it may still be waiting for input then).
#[derive(Debug, Clone)]
pub struct SavedCapture {
    path: PathBuf,
    shared: Arc<Mutex<Shared>>,
}

impl SavedCapture {
    /// Create (or truncate) `path` and write the section header.
    pub fn create(path: &Path, snaplen: u32) -> Result<Self, SaveError> {
        let fail = |source| SaveError {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(fail)?;
        let writer = PcapngWriter::new(BufWriter::with_capacity(BUFFER_BYTES, file), snaplen)
            .map_err(fail)?;
        Ok(Self {
            path: path.to_path_buf(),
            shared: Arc::new(Mutex::new(Shared {
                writer: Some(writer),
                failed: None,
            })),
        })
    }

    /// Where the capture goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write the interface block of `link` now (a live capture's link type is known before
    /// its first packet), so that a capture that saw nothing still names its link type.
    pub fn declare(&self, link: LinkType) {
        let Ok(mut s) = self.shared.lock() else {
            return;
        };
        if let Some(w) = s.writer.as_mut()
            && let Err(e) = w.interface(link)
        {
            s.writer = None;
            s.failed = Some(e);
        }
    }

    fn write(&self, frame: &Frame<'_>) {
        let Ok(mut s) = self.shared.lock() else {
            return;
        };
        if let Some(w) = s.writer.as_mut()
            && let Err(e) = w.write(frame)
        {
            s.writer = None;
            s.failed = Some(e);
        }
    }

    /// Flush what is buffered and close the file; the first failure if saving stopped early.
    /// Frames read after this are not saved.
    pub fn finish(&self) -> Result<(), SaveError> {
        let fail = |source| SaveError {
            path: self.path.clone(),
            source,
        };
        let mut s = match self.shared.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if let Some(w) = s.writer.take()
            && let Err(e) = w.finish()
        {
            s.failed.get_or_insert(e);
        }
        match s.failed.take() {
            Some(e) => Err(fail(e)),
            None => Ok(()),
        }
    }

    /// The source `inner` with every frame it reads saved here on the way.
    pub fn record<S: PacketSource>(&self, inner: S) -> Recording<S> {
        Recording {
            inner,
            save: self.clone(),
        }
    }
}

/// A source whose frames are saved as they are read (see [`SavedCapture::record`]).
#[derive(Debug)]
pub struct Recording<S> {
    inner: S,
    save: SavedCapture,
}

impl<S: PacketSource> PacketSource for Recording<S> {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        let next = self.inner.next_frame()?;
        match &next {
            Next::Frame(f) => self.save.write(f),
            Next::Idle(_) => {
                // Nothing is coming: what is buffered reaches the file, so a capture killed
                // while idle loses nothing.
                if let Ok(mut s) = self.save.shared.lock()
                    && let Some(w) = s.writer.as_mut()
                    && let Err(e) = w.flush()
                {
                    s.writer = None;
                    s.failed = Some(e);
                }
            }
            Next::End => {}
        }
        Ok(next)
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.inner.kernel_stats()
    }

    fn record_anomalies(&mut self) -> RecordAnomalies {
        self.inner.record_anomalies()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn stream_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.stream_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    #[test]
    fn blocks_are_padded_and_lengths_agree() {
        let mut w = PcapngWriter::new(Vec::new(), 4).unwrap_or_else(|e| panic!("{e}"));
        let frame = Frame {
            ts: Timestamp::from_parts(1, 5),
            wire_len: 7,
            link: LinkType::ETHERNET,
            data: &[1, 2, 3, 4, 5, 6, 7],
        };
        w.write(&frame).unwrap_or_else(|e| panic!("{e}"));
        let out = w.finish().unwrap_or_else(|e| panic!("{e}"));
        // SHB 28, IDB 32, EPB 12 + 20 + 4 bytes kept (snaplen 4, no padding).
        assert_eq!(out.len(), 28 + 32 + 36);
        let epb = &out[60..];
        assert_eq!(&epb[4..8], &36u32.to_le_bytes());
        assert_eq!(&epb[32..36], &36u32.to_le_bytes());
        assert_eq!(&epb[20..24], &4u32.to_le_bytes()); // captured
        assert_eq!(&epb[24..28], &7u32.to_le_bytes()); // on the wire
        let ts = u64::from(u32::from_le_bytes([epb[12], epb[13], epb[14], epb[15]])) << 32
            | u64::from(u32::from_le_bytes([epb[16], epb[17], epb[18], epb[19]]));
        assert_eq!(ts, 1_000_000_005);
    }
}

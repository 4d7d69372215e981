//! Saved captures: pcap (both byte orders, micro- and nanosecond timestamps, the "modified"
//! variant) and pcapng, read by libpcap, several files in order as one capture. pcapng files
//! whose interfaces differ in link type, which libpcap refuses, are read by `pcapng`.
//!
//! Before libpcap sees a file, its first bytes are checked, so a compressed file or something
//! that is not a capture at all gets a one-line explanation instead of libpcap's terse error.
//! When a file ends in the middle of a record, or a record is corrupt, reading that file stops,
//! the error says at which byte offset, and everything read before it is kept.
//!
//! `-` is standard input, and an input that is not a regular file (a FIFO, a shell's
//! `<(...)`, a character device) is a stream: it can be read only once, front to back, so it
//! is never opened up front to check, its first bytes are checked as they are read, and
//! libpcap reads the whole stream, those bytes included, through a pipe of our own (see
//! [`open_stream`]). tcpdump and tshark read `-` the same way.
//!
//! This module must never guess at packet contents, and never stop the whole run because one
//! file of several is damaged.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use pcap::{Capture, Offline, Precision};

use super::classic::{self, ClassicReader};
use super::ffi::{
    PcapPkthdr, error_message, packet, pcap_file, pcap_get_selectable_fd, pcap_next_ex,
};
use super::pcapng::PcapngReader;
use super::{CaptureError, Frame, LinkType, Next, PacketSource, RecordAnomalies, Timestamp};

/// Size of the classic pcap file header (magic, versions, zone, sigfigs, snaplen, link type).
const PCAP_FILE_HEADER_LEN: u64 = 24;
/// Size of a classic pcap record header (ts_sec, ts_usec, incl_len, orig_len).
const PCAP_RECORD_HEADER_LEN: u64 = 16;
/// Size of a record header in the "modified" (Kuznetzov) pcap format, which adds ifindex,
/// protocol, pkt_type and padding.
const PCAP_MODIFIED_RECORD_HEADER_LEN: u64 = 24;

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Classic pcap, with the size of its record headers.
    Pcap {
        record_header_len: u64,
    },
    Pcapng,
}

/// Identify a capture file from its first four bytes.
///
/// Magic numbers: pcap 0xa1b2c3d4 (microseconds) and 0xa1b23c4d (nanoseconds) in either byte
/// order, "modified" pcap 0xa1b2cd34, pcapng's Section Header Block type 0x0a0d0d0a. Compressed
/// formats by their published magic: gzip 1f 8b, zstd 28 b5 2f fd, xz fd 37 7a 58, bzip2 "BZh",
/// lz4 frame 04 22 4d 18, zip "PK\x03\x04".
pub fn sniff(path: &Path, head: &[u8]) -> Result<FileKind, CaptureError> {
    if head.is_empty() {
        return Err(CaptureError::EmptyFile { path: path.into() });
    }
    let compressed = |format, hint| CaptureError::Compressed {
        path: path.into(),
        format,
        hint,
    };
    match head {
        [0xa1, 0xb2, 0xc3, 0xd4, ..]
        | [0xd4, 0xc3, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0x3c, 0x4d, ..]
        | [0x4d, 0x3c, 0xb2, 0xa1, ..] => Ok(FileKind::Pcap {
            record_header_len: PCAP_RECORD_HEADER_LEN,
        }),
        [0xa1, 0xb2, 0xcd, 0x34, ..] | [0x34, 0xcd, 0xb2, 0xa1, ..] => Ok(FileKind::Pcap {
            record_header_len: PCAP_MODIFIED_RECORD_HEADER_LEN,
        }),
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => Ok(FileKind::Pcapng),
        [0x1f, 0x8b, ..] => Err(compressed("gzip", "gunzip FILE")),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Err(compressed("zstd", "zstd -d FILE")),
        [0xfd, 0x37, 0x7a, 0x58, ..] => Err(compressed("xz", "unxz FILE")),
        [b'B', b'Z', b'h', ..] => Err(compressed("bzip2", "bunzip2 FILE")),
        [0x04, 0x22, 0x4d, 0x18, ..] => Err(compressed("lz4", "lz4 -d FILE")),
        [b'P', b'K', 0x03, 0x04, ..] => Err(compressed("zip", "unzip FILE")),
        _ => Err(CaptureError::NotACapture {
            path: path.into(),
            magic: head
                .iter()
                .take(4)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        }),
    }
}

/// Check that a path is a readable capture file and say which kind, without reading it whole.
pub fn probe(path: &Path) -> Result<FileKind, CaptureError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return Err(match e.kind() {
                ErrorKind::NotFound => CaptureError::NotFound { path: path.into() },
                ErrorKind::PermissionDenied => CaptureError::FileNotReadable { path: path.into() },
                _ => CaptureError::Open {
                    path: path.into(),
                    message: e.to_string(),
                },
            });
        }
    };
    if path.is_dir() {
        return Err(CaptureError::IsDirectory { path: path.into() });
    }
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(if e.raw_os_error() == Some(libc::EISDIR) {
                    CaptureError::IsDirectory { path: path.into() }
                } else {
                    CaptureError::Open {
                        path: path.into(),
                        message: e.to_string(),
                    }
                });
            }
        }
    }
    sniff(path, &head[..n])
}

fn handle(cap: &Capture<Offline>) -> *mut libc::c_void {
    cap.as_ptr().cast()
}

/// What reads the open file.
enum Reader {
    Libpcap(Capture<Offline>),
    /// A pcap variant libpcap cannot read (see `classic`).
    Classic(ClassicReader),
    /// A pcapng file whose interfaces differ in link type (see `pcapng`).
    Pcapng(PcapngReader),
}

/// libpcap's messages for a pcapng file whose interfaces differ in link type or snapshot
/// length, which it refuses to read.
fn mixed_link_types(message: &str) -> bool {
    message.contains("different from the type of the first interface")
        || message.contains("different from the snapshot length of the first interface")
}

/// The file currently open.
struct OpenFile {
    path: PathBuf,
    kind: FileKind,
    reader: Reader,
    link: LinkType,
    /// The snaplen of a classic pcap file header (0: none, or pcapng).
    snaplen: u32,
    records: u64,
    /// For classic pcap: byte offset just past the last record read.
    offset: u64,
    /// Read from a stream (standard input, a FIFO) through libpcap's pipe.
    stream: bool,
}

impl OpenFile {
    /// Where reading stopped, for error messages: exact for classic pcap, libpcap's stream
    /// position for pcapng.
    fn stop_offset(&mut self) -> u64 {
        let cap = match (&self.reader, self.kind) {
            (Reader::Classic(r), _) => return r.offset,
            (Reader::Pcapng(r), _) => return r.offset,
            (_, FileKind::Pcap { .. }) => return self.offset,
            (Reader::Libpcap(cap), FileKind::Pcapng) => cap,
        };
        {
            {
                // SAFETY: the handle is a live offline capture owned by `self.cap`; pcap_file
                // returns its FILE stream (or null), which we only query with ftell.
                let pos = unsafe {
                    let fp = pcap_file(handle(cap));
                    if fp.is_null() { -1 } else { libc::ftell(fp) }
                };
                u64::try_from(pos).unwrap_or(0)
            }
        }
    }
}

/// Reads capture files one after another as a single capture.
pub struct FileSource {
    pending: std::collections::VecDeque<PathBuf>,
    current: Option<OpenFile>,
    files_read: u64,
    anomalies: RecordAnomalies,
}

impl FileSource {
    /// Prepare to read `paths` in order. Every path is checked up front, and opened (its file
    /// header read) and closed again, so a typo in the last file name or a file whose header
    /// libpcap refuses is reported in one line before minutes of reading.
    pub fn new(paths: &[PathBuf]) -> Result<Self, CaptureError> {
        for p in paths {
            // A stream is read once: it is checked when its turn comes.
            if !is_stream(p) {
                drop(open_file(p.clone())?);
            }
        }
        Ok(Self {
            pending: paths.iter().cloned().collect(),
            current: None,
            files_read: 0,
            anomalies: RecordAnomalies::default(),
        })
    }

    /// Number of files opened so far.
    pub fn files_read(&self) -> u64 {
        self.files_read
    }

    fn open_next(&mut self) -> Result<bool, CaptureError> {
        let Some(path) = self.pending.pop_front() else {
            return Ok(false);
        };
        let file = open_file(path)?;
        self.files_read += 1;
        self.current = Some(file);
        Ok(true)
    }
}

/// The smallest whole file header: classic pcap's 24 bytes; for pcapng, a Section Header Block
/// without options (28 bytes).
fn file_header_len(kind: FileKind) -> u64 {
    match kind {
        FileKind::Pcap { .. } => PCAP_FILE_HEADER_LEN,
        FileKind::Pcapng => 28,
    }
}

/// The name that means standard input, as in tcpdump and tshark.
pub const STDIN: &str = "-";

/// Whether `path` is read as a stream: `-` (standard input), or anything that exists and is
/// not a regular file or a directory (a FIFO, a character device such as /dev/stdin).
pub fn is_stream(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    path.as_os_str() == STDIN
        || std::fs::metadata(path).is_ok_and(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_char_device() || t.is_socket()
        })
}

/// Bytes copied from a stream to libpcap's pipe at a time.
const STREAM_CHUNK: usize = 1 << 16;

/// Open a stream (see [`is_stream`]): read its first bytes to check what it is, then hand
/// libpcap the read end of a pipe that a thread fills with those bytes and the rest of the
/// stream as it comes, so nothing is read twice and nothing is stored. The thread ends at the
/// end of the stream, or when libpcap's side is closed (the write fails).
fn open_stream(path: PathBuf) -> Result<OpenFile, CaptureError> {
    use std::io::Write;
    use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd};
    let stdin = path.as_os_str() == STDIN;
    // Messages name standard input in words ("-: the file is empty" would puzzle).
    let path = if stdin {
        PathBuf::from("standard input")
    } else {
        path
    };
    let open_err = |message: String| CaptureError::Open {
        path: path.clone(),
        message,
    };
    let mut input: File = if stdin {
        let fd = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| open_err(e.to_string()))?;
        File::from(fd)
    } else {
        File::open(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => CaptureError::NotFound { path: path.clone() },
            ErrorKind::PermissionDenied => CaptureError::FileNotReadable { path: path.clone() },
            _ => open_err(e.to_string()),
        })?
    };
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match input.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(open_err(e.to_string())),
        }
    }
    let kind = sniff(&path, &head[..n])?;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe writes two new descriptors into the array it is given.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(open_err(format!(
            "making a pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: both descriptors were just created by pipe and are owned by nobody else.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut pipe = File::from(write_end);
    let head = head[..n].to_vec();
    std::thread::Builder::new()
        .name("stream".into())
        .spawn(move || {
            let mut buf = vec![0u8; STREAM_CHUNK];
            if pipe.write_all(&head).is_err() {
                return;
            }
            loop {
                match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(k) => {
                        if pipe.write_all(&buf[..k]).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // A read error ends the stream; libpcap then reports where it stopped.
                    Err(_) => return,
                }
            }
        })
        .map_err(|e| open_err(format!("starting the stream reader: {e}")))?;
    // SAFETY: the descriptor is ours and handed over whole: libpcap's stream owns and closes it.
    let cap =
        unsafe { Capture::from_raw_fd_with_precision(read_end.into_raw_fd(), Precision::Nano) }
            .map_err(|e| open_err(explain_libpcap(&e.to_string())))?;
    let link = LinkType(cap.get_datalink().0 as u32);
    Ok(OpenFile {
        path,
        kind,
        reader: Reader::Libpcap(cap),
        link,
        // The stream's header is libpcap's to read; records over its snaplen are cut by it.
        snaplen: 0,
        records: 0,
        offset: PCAP_FILE_HEADER_LEN,
        stream: true,
    })
}

/// Open one capture file for reading: its kind, its header, the reader that suits it.
fn open_file(path: PathBuf) -> Result<OpenFile, CaptureError> {
    if is_stream(&path) {
        return open_stream(path);
    }
    let kind = probe(&path)?;
    // A file that ends inside its own header gets a plain message (libpcap would say
    // "tried to read 24 file header bytes, only got 0" after consuming the magic).
    let size = std::fs::metadata(&path).map_or(u64::MAX, |m| m.len());
    let need = file_header_len(kind);
    if size < need {
        return Err(CaptureError::Open {
            path,
            message: format!(
                "the file ends inside its file header ({size} of {need} bytes): it was cut short"
            ),
        });
    }
    let open_err = |message: String| CaptureError::Open {
        path: path.clone(),
        message,
    };
    let mut kind = kind;
    if kind
        == (FileKind::Pcap {
            record_header_len: PCAP_RECORD_HEADER_LEN,
        })
    {
        let hl = classic::detect_record_header_len(&path).map_err(|e| open_err(e.to_string()))?;
        kind = FileKind::Pcap {
            record_header_len: hl,
        };
    }
    // libpcap cuts records longer than the declared snaplen to it and drops the rest; such
    // files are read whole by the classic reader instead (see `classic`).
    let wrong_snaplen = |hl: u64| {
        hl == PCAP_RECORD_HEADER_LEN && classic::exceeds_snaplen(&path, hl).unwrap_or(false)
    };
    let snaplen = match kind {
        FileKind::Pcap { .. } => classic::read_header_of(&path).map_or(0, |h| h.snaplen),
        // pcapng declares a snaplen per interface; libpcap applies it itself.
        FileKind::Pcapng => 0,
    };
    let (reader, link) = match kind {
        FileKind::Pcap { record_header_len }
            if (record_header_len != PCAP_RECORD_HEADER_LEN
                || wrong_snaplen(record_header_len))
                && classic::read_header_of(&path).is_some() =>
        {
            match ClassicReader::open(&path, record_header_len) {
                Ok(Some(r)) => {
                    let link = r.link();
                    (Reader::Classic(r), link)
                }
                Ok(None) => return Err(open_err("unreadable pcap header".into())),
                Err(e) => return Err(open_err(e.to_string())),
            }
        }
        _ => match Capture::from_file_with_precision(&path, Precision::Nano) {
            Ok(cap) => {
                let link = LinkType(cap.get_datalink().0 as u32);
                (Reader::Libpcap(cap), link)
            }
            Err(e) if kind == FileKind::Pcapng && mixed_link_types(&e.to_string()) => {
                let r = PcapngReader::open(&path, 0).map_err(|e| open_err(e.message))?;
                // Each frame carries its own interface's link type.
                (Reader::Pcapng(r), LinkType::ETHERNET)
            }
            Err(e) => return Err(open_err(explain_libpcap(&e.to_string()))),
        },
    };
    Ok(OpenFile {
        path,
        kind,
        reader,
        link,
        snaplen,
        records: 0,
        offset: PCAP_FILE_HEADER_LEN,
        stream: false,
    })
}

/// libpcap's messages are terse; add what a user needs to act on the common ones.
fn explain_libpcap(msg: &str) -> String {
    if msg.contains("different from the type of the first interface") {
        format!(
            "{msg} (libpcap reads a pcapng file only when all its interfaces share one link type; split it per interface, e.g. with tshark -r FILE -Y 'frame.interface_id == N' -w part.pcapng)"
        )
    } else {
        msg.to_string()
    }
}

impl PacketSource for FileSource {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        let (hdr, data) = loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(Next::End);
            }
            let Some(f) = self.current.as_mut() else {
                continue;
            };
            // The readers of our own (see `classic`, `pcapng`) say whether a record came.
            let advanced = match &mut f.reader {
                Reader::Libpcap(_) => None,
                Reader::Pcapng(r) => Some(r.advance()),
                Reader::Classic(r) => Some(r.advance()),
            };
            match advanced {
                Some(Ok(true)) => break (std::ptr::null_mut(), std::ptr::null()),
                Some(Ok(false)) => {
                    self.current = None;
                    continue;
                }
                Some(Err(e)) => {
                    let err = CaptureError::Partial {
                        path: f.path.clone(),
                        offset: e.offset,
                        records: f.records,
                        message: e.message,
                    };
                    self.current = None;
                    return Err(err);
                }
                None => {}
            }
            let Reader::Libpcap(cap) = &mut f.reader else {
                continue;
            };
            let mut hdr: *mut PcapPkthdr = std::ptr::null_mut();
            let mut data: *const libc::c_uchar = std::ptr::null();
            // SAFETY: the handle is open and owned by `f.cap`; pcap_next_ex only writes the two
            // out-pointers. The `pcap` crate's own `next_packet` cannot be used here because its
            // borrow of the handle would have to outlive this loop.
            let rc = unsafe { pcap_next_ex(handle(cap), &mut hdr, &mut data) };
            match rc {
                1 if !hdr.is_null() => break (hdr, data),
                -2 => self.current = None,
                _ => {
                    // SAFETY: the handle is open.
                    let message = unsafe { error_message(handle(cap)) };
                    if f.kind == FileKind::Pcapng && mixed_link_types(&message) {
                        // An interface of another link type declared mid-file: read on with
                        // the pcapng reader, past the records libpcap returned.
                        if let Ok(r) = PcapngReader::open(&f.path, f.records) {
                            f.reader = Reader::Pcapng(r);
                            continue;
                        }
                    }
                    let err = CaptureError::Partial {
                        path: f.path.clone(),
                        offset: f.stop_offset(),
                        records: f.records,
                        message: explain_libpcap(&message),
                    };
                    self.current = None;
                    return Err(err);
                }
            }
        };
        let Some(f) = self.current.as_mut() else {
            return Ok(Next::End);
        };
        if let Reader::Pcapng(r) = &f.reader {
            f.records += 1;
            let (ts, wire_len, link, snaplen, data) = r.last();
            let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
            self.anomalies.count(ts, caplen, wire_len, snaplen);
            return Ok(Next::Frame(Frame {
                ts,
                wire_len: wire_len.max(caplen),
                link,
                data,
            }));
        }
        if let Reader::Classic(r) = &f.reader {
            f.records += 1;
            let (ts, wire_len, data) = r.last();
            let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
            self.anomalies.count(ts, caplen, wire_len, r.snaplen());
            return Ok(Next::Frame(Frame {
                ts,
                wire_len: wire_len.max(caplen),
                link: f.link,
                data,
            }));
        }
        // SAFETY: pcap_next_ex returned 1; the frame borrows `self`, so no read on this
        // handle can happen while it lives.
        let (ts_sec, ts_frac, caplen, len, data) = unsafe { packet(hdr, data) };
        f.records += 1;
        let ts_sec = if let FileKind::Pcap { record_header_len } = f.kind {
            f.offset += record_header_len + u64::from(caplen);
            // Classic pcap seconds are an unsigned 32-bit field (draft-ietf-opsawg-pcap §5),
            // good until 2106; libpcap reads them as signed, which would put every record
            // after January 2038 before 1970.
            i64::from(ts_sec as u32)
        } else {
            ts_sec
        };
        // Opened with nanosecond precision: libpcap scales microsecond files for us.
        let ts = Timestamp::from_parts(ts_sec, ts_frac);
        self.anomalies.count(ts, caplen, len, f.snaplen);
        Ok(Next::Frame(Frame {
            ts,
            wire_len: len.max(caplen),
            link: f.link,
            data,
        }))
    }

    fn record_anomalies(&mut self) -> RecordAnomalies {
        self.anomalies
    }

    fn stream_fd(&self) -> Option<std::os::fd::RawFd> {
        // Files never make the reader wait long: only a stream is worth a look per frame.
        match &self.current.as_ref().filter(|f| f.stream)?.reader {
            // SAFETY: the handle is a live offline capture owned by `cap`; the call only reads it.
            Reader::Libpcap(cap) => {
                Some(unsafe { pcap_get_selectable_fd(handle(cap)) }).filter(|fd| *fd >= 0)
            }
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match &self.current {
            Some(f) => format!("file {}", f.path.display()),
            None => "files".to_string(),
        }
    }
}

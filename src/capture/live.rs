//! Live capture from an interface through libpcap.
//!
//! Immediate mode is off, so libpcap uses the kernel's TPACKET_V3 ring on Linux: packets are
//! packed one after another into blocks (a frame takes its own length, not a slot sized for the
//! 65535-byte snaplen as in the TPACKET_V2 ring that immediate mode forces), and a block is
//! handed over when it is full or [`READ_TIMEOUT_MS`] after it opened. Promiscuous mode is off
//! unless asked for, the snaplen defaults to 65535 so TLS and QUIC handshakes arrive whole, and
//! the kernel ring defaults to [`DEFAULT_BUFFER_BYTES`]. When no packet arrives for the read
//! timeout, the source reports an idle tick so flows can expire.
//!
//! This module must never decide anything about packets, and never swallow a libpcap error: a
//! missing privilege, an unknown interface and an interface that disappears each get their own
//! error, because each asks the user for a different action.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use pcap::{Active, Capture, Precision};

use super::ffi::{PcapPkthdr, error_message, packet, pcap_next_ex};
use super::{CaptureError, Frame, KernelStats, LinkType, Next, PacketSource, Timestamp};

/// Default snapshot length: the largest IPv4/IPv6 packet without jumbograms, so a ClientHello
/// (about 1.8 KB with post-quantum key shares, spread over segments) is never cut.
pub const DEFAULT_SNAPLEN: u32 = 65_535;

/// How long one wait for traffic may last before the source reports an idle tick, in ms, and how
/// long the kernel keeps a partly filled TPACKET_V3 block before handing it over (libpcap's
/// timeout), so no packet waits longer than this to be read. Short enough that Ctrl-C, idle
/// expiry and the dashboard answer promptly, long enough not to spin.
///
/// The handle is non-blocking and the wait is our own poll(2) on its descriptor: with
/// TPACKET_V3, libpcap's own read timeout does not fire while no packet arrives at all, so a
/// blocking read could hang an idle capture (and its Ctrl-C) indefinitely.
pub const READ_TIMEOUT_MS: i32 = 100;

/// How far behind the wall clock an idle tick is stamped, in ns: packets of a block the kernel
/// has not handed over yet are up to [`READ_TIMEOUT_MS`] old, so a tick at "now" could end a
/// flow whose next packet is still in the ring (and make that packet's time go backwards).
/// Twice the block timeout leaves room for the wake-up to be scheduled late.
const IDLE_LAG_NS: i64 = 2 * READ_TIMEOUT_MS as i64 * 1_000_000;

/// Default kernel capture ring, in bytes: 64 MiB. With libpcap's own default (2 MiB) the ring
/// holds about 7 ms of traffic at 200,000 packets/s of 1.5 KB frames, and dropped 1.5% of
/// such a replay (`ndpi/1kxun.pcap`, 30 s) on a busy 2-core machine; 32 MiB dropped nothing
/// there (docs/live-load.md, 2026-12-01), and this is twice that, about 0.2 s of such
/// traffic, for the moments the capture thread is not scheduled. The kernel allocates the
/// ring when the capture opens; it is mapped into the process, so its pages count in the
/// resident set (as shared memory) once packets have passed through them, and it is the only
/// memory this setting changes. `--buffer-size` sets another size.
pub const DEFAULT_BUFFER_BYTES: u32 = 64 << 20;

/// Options of a live capture.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    pub filter: Option<String>,
    pub promisc: bool,
    pub snaplen: u32,
    /// Kernel capture ring in bytes; [`DEFAULT_BUFFER_BYTES`] when `None`.
    pub buffer_size: Option<u32>,
}

/// A live capture handle.
pub struct LiveSource {
    cap: Capture<Active>,
    fd: std::os::fd::RawFd,
    interface: String,
    link: LinkType,
    /// Whether the handle delivers nanosecond timestamps (some kernels refuse and give
    /// microseconds).
    nanos: bool,
    stop: Arc<AtomicBool>,
    /// Timestamp of the last frame handed out: idle ticks never go before it.
    last_ts: Timestamp,
}

/// Path of the running binary, for the setcap hint.
fn exe_path() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "$(command -v onlooker)".to_string())
}

/// Map a libpcap open/activate error to what the user must do about it.
pub fn classify_open_error(interface: &str, message: String) -> CaptureError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        CaptureError::PermissionDenied {
            interface: interface.to_string(),
            message,
            exe: exe_path(),
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        CaptureError::NoSuchInterface {
            interface: interface.to_string(),
        }
    } else {
        CaptureError::Live {
            interface: interface.to_string(),
            message,
        }
    }
}

impl LiveSource {
    /// Open and activate the capture. `stop` ends the capture at the next read when set.
    pub fn open(opts: &LiveOptions, stop: Arc<AtomicBool>) -> Result<Self, CaptureError> {
        let iface = opts.interface.as_str();
        let buffer =
            i32::try_from(opts.buffer_size.unwrap_or(DEFAULT_BUFFER_BYTES)).unwrap_or(i32::MAX);
        let configure = |nano: bool| {
            Capture::from_device(iface).map(|c| {
                let c = c
                    .immediate_mode(false)
                    .promisc(opts.promisc)
                    .snaplen(i32::try_from(opts.snaplen).unwrap_or(i32::MAX))
                    .timeout(READ_TIMEOUT_MS)
                    .buffer_size(buffer);
                if nano {
                    c.precision(Precision::Nano)
                } else {
                    c
                }
            })
        };
        let mut nanos = true;
        let cap = configure(true)
            .and_then(|c| c.open())
            .or_else(|e| {
                nanos = false;
                // Some kernels refuse nanosecond timestamps; microseconds are fine then.
                if e.to_string().contains("precision") {
                    configure(false).and_then(|c| c.open())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| classify_open_error(iface, e.to_string()))?;
        let link = LinkType(cap.get_datalink().0 as u32);
        let cap = cap.setnonblock().map_err(|e| CaptureError::Live {
            interface: iface.to_string(),
            message: e.to_string(),
        })?;
        let mut cap = cap;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| CaptureError::BadFilter {
                filter: f.clone(),
                message: e.to_string(),
            })?;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&cap);
        Ok(Self {
            cap,
            fd,
            nanos,
            interface: iface.to_string(),
            link,
            stop,
            last_ts: Timestamp(i64::MIN),
        })
    }

    /// The link type of the interface.
    pub fn link(&self) -> LinkType {
        self.link
    }
}

/// The pending error of a socket (SO_ERROR), as text.
fn socket_error(fd: std::os::fd::RawFd) -> String {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are valid for the call and sized as SO_ERROR expects.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || err == 0 {
        "an error".to_string()
    } else {
        std::io::Error::from_raw_os_error(err).to_string()
    }
}

/// Wall-clock now, used only for idle ticks of a live capture (the clock its packets carry).
fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl PacketSource for LiveSource {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        let handle: *mut libc::c_void = self.cap.as_ptr().cast();
        let mut hdr: *mut PcapPkthdr = std::ptr::null_mut();
        let mut data: *const libc::c_uchar = std::ptr::null();
        // Whether poll(2) already reported an error on the descriptor: libpcap is asked once
        // more, so its own wording (and errno) reaches the user, before we give up on our own.
        let mut descriptor_error = false;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(Next::End);
            }
            // SAFETY: the handle is open and owned by `self.cap`; pcap_next_ex only writes the
            // two out-pointers.
            let rc = unsafe { pcap_next_ex(handle, &mut hdr, &mut data) };
            match rc {
                1 if !hdr.is_null() => break,
                // Non-blocking and nothing there: wait for the descriptor, at most the timeout.
                0 | 1 => {
                    let mut pfd = libc::pollfd {
                        fd: self.fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd for the duration of the call.
                    let n = unsafe { libc::poll(&mut pfd, 1, READ_TIMEOUT_MS) };
                    if n == 0 {
                        let lagged = Timestamp(wall_now().as_nanos().saturating_sub(IDLE_LAG_NS));
                        return Ok(Next::Idle(lagged.max(self.last_ts)));
                    }
                    if n < 0 {
                        let e = std::io::Error::last_os_error();
                        if e.kind() == std::io::ErrorKind::Interrupted {
                            continue; // a signal: the stop flag is checked at the loop's top
                        }
                        return Err(CaptureError::Live {
                            interface: self.interface.clone(),
                            message: format!("waiting for packets: {e}"),
                        });
                    }
                    if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
                        && pfd.revents & libc::POLLIN == 0
                    {
                        // On Linux, deleting the interface (or taking it down) sets ENETDOWN on
                        // the packet socket: POLLERR without POLLIN. libpcap's next read turns
                        // it into "The interface went down" / "The interface disappeared".
                        if descriptor_error {
                            return Err(CaptureError::InterfaceGone {
                                interface: self.interface.clone(),
                                message: format!(
                                    "the capture socket reported {} (interface down or removed)",
                                    socket_error(self.fd)
                                ),
                            });
                        }
                        descriptor_error = true;
                    }
                }
                -2 => return Ok(Next::End),
                _ => {
                    // SAFETY: the handle is open.
                    let message = unsafe { error_message(handle) };
                    let lower = message.to_ascii_lowercase();
                    return Err(
                        if lower.contains("went down")
                            || lower.contains("disappeared")
                            || lower.contains("no such device")
                            || lower.contains("no such device or address")
                            || lower.contains("network is down")
                            || lower.contains("hangup")
                        {
                            CaptureError::InterfaceGone {
                                interface: self.interface.clone(),
                                message,
                            }
                        } else {
                            CaptureError::Live {
                                interface: self.interface.clone(),
                                message,
                            }
                        },
                    );
                }
            }
        }
        // SAFETY: pcap_next_ex returned 1; the frame borrows `self`, so no read on this
        // handle can happen while it lives.
        let (ts_sec, ts_frac, caplen, len, data) = unsafe { packet(hdr, data) };
        let frac = if self.nanos { ts_frac } else { ts_frac * 1_000 };
        let ts = Timestamp::from_parts(ts_sec, frac);
        self.last_ts = self.last_ts.max(ts);
        Ok(Next::Frame(Frame {
            ts,
            wire_len: len.max(caplen),
            link: self.link,
            data,
        }))
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.cap.stats().ok().map(|s| KernelStats {
            received: u64::from(s.received),
            dropped_by_kernel: u64::from(s.dropped),
            dropped_by_interface: u64::from(s.if_dropped),
        })
    }

    fn describe(&self) -> String {
        format!("interface {}", self.interface)
    }
}

/// One capture interface as `onlooker interfaces` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<String>,
    pub up: bool,
    pub loopback: bool,
    /// Whether opening a capture on it succeeded.
    pub capture_permitted: bool,
    /// Why not, when it did not.
    pub reason: Option<String>,
}

/// List interfaces and try to open each, so the user learns whether capture would work.
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    let devices = pcap::Device::list().map_err(|e| CaptureError::Live {
        interface: "(all)".into(),
        message: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| {
            let probe =
                Capture::from_device(d.name.as_str()).and_then(|c| c.timeout(1).snaplen(64).open());
            let (capture_permitted, reason) = match probe {
                Ok(_) => (true, None),
                Err(e) => (
                    false,
                    Some(match classify_open_error(&d.name, e.to_string()) {
                        CaptureError::PermissionDenied { .. } => format!(
                            "no capture privilege ({e}); grant it: sudo setcap cap_net_raw=eip {}",
                            exe_path()
                        ),
                        other => other.to_string(),
                    }),
                ),
            };
            InterfaceInfo {
                addresses: d.addresses.iter().map(|a| a.addr.to_string()).collect(),
                up: d.flags.is_up(),
                loopback: d.flags.is_loopback(),
                name: d.name,
                description: d.desc,
                capture_permitted,
                reason,
            }
        })
        .collect())
}

//! Dissectors: read the few cleartext handshake fields a network observer
//! sees, so that onlooker can name the service behind a flow.
//!
//! Why this module exists: end-to-end encryption hides message content, but
//! the first packets of a flow still carry cleartext metadata (TLS SNI and
//! ALPN, the QUIC Initial that RFC 9001 lets any observer decrypt, DNS
//! answers, STUN/TURN attributes, RTP headers). Each submodule turns those
//! bytes into a small typed summary.
//!
//! Rules every dissector follows:
//! - never panic on any input, no `unsafe`, no `unwrap`/`expect` on
//!   input-dependent paths;
//! - never keep payload beyond the parsed fields (a reassembly buffer is
//!   dropped as soon as the handshake is parsed or the tracker gives up);
//! - the per-packet path does not allocate for packets that are not
//!   handshakes; a bounded buffer is allocated once per flow, only when a
//!   handshake actually starts (sizes are documented per module);
//! - every loop and buffer is bounded by a named constant.
//!
//! Submodules:
//! - [`tls`]: TLS ClientHello over TCP (reassembly + SNI/ALPN/version/ECH);
//! - [`quic`]: QUIC v1/v2/draft Initial decryption and ClientHello, gQUIC
//!   recognition;
//! - [`dns`]: DNS answers (A/AAAA/CNAME/HTTPS/SVCB) mapped back to the
//!   queried name;
//! - [`stun`]: STUN/TURN messages and TURN ChannelData;
//! - [`sip`], [`h225`], [`iax`]: call set-up in the clear (SIP, H.323, IAX2), counted;
//! - [`rtp`]: RFC 7983 demultiplexing of RTP/RTCP/SRTP/DTLS/STUN and a tiny
//!   RTP confirmation tracker.

pub mod cert;
pub mod dns;
pub mod h225;
pub mod iax;

pub mod quic;
pub mod rtp;
pub mod sip;
pub mod stun;
pub mod tls;

mod reasm;

/// Where a per-flow handshake tracker stands after a packet was pushed.
///
/// Once [`Progress::Done`] or [`Progress::GaveUp`] was returned, every later
/// push returns the same value at the cost of one branch, so the caller can
/// keep pushing without checking, or drop the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing that belongs to a handshake has been seen yet (cheap path:
    /// nothing was allocated or copied).
    Idle,
    /// A handshake started; more packets are needed.
    NeedMore,
    /// The handshake was parsed; the result is available from the tracker.
    Done,
    /// The tracker stopped for good; its buffers were freed.
    GaveUp(GiveUp),
}

impl Progress {
    /// True for [`Progress::Done`] and [`Progress::GaveUp`]: pushing more
    /// packets cannot change anything.
    pub fn is_final(self) -> bool {
        matches!(self, Progress::Done | Progress::GaveUp(_))
    }
}

/// Why a tracker gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GiveUp {
    /// The flow does not carry this protocol's handshake.
    #[error("the flow does not carry this handshake")]
    NotThisProtocol,
    /// The handshake message is larger than the documented buffer cap.
    #[error("handshake larger than the reassembly cap")]
    TooLarge,
    /// Too many packets went by without completing the handshake (gaps,
    /// too many holes, or retransmissions only).
    #[error("too many packets without completing the handshake")]
    TooManyPackets,
    /// The handshake bytes were present but did not parse.
    #[error("malformed handshake")]
    Malformed,
    /// QUIC Initial packets were seen but none could be decrypted.
    #[error("QUIC Initial packets could not be decrypted")]
    DecryptFailed,
    /// A QUIC version whose Initial protection is unknown (or gQUIC Q050+,
    /// which is recognised but deliberately not decrypted).
    #[error("unsupported QUIC version")]
    UnsupportedVersion,
}

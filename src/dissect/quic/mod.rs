//! QUIC Initial packets from the client: version, and the TLS ClientHello
//! that RFC 9001 makes readable to any observer.
//!
//! Why it exists: QUIC encrypts everything except the Initial packets, whose
//! keys derive from the client's Destination Connection ID and a public,
//! per-version salt (RFC 9001 §5.2, RFC 9369 §3.3). Decrypting them is what
//! every on-path observer can do, and it reveals the ClientHello (SNI, ALPN,
//! ECH presence) exactly as over TCP.
//!
//! What it must never do: decrypt anything but client Initial packets (no
//! Handshake, 0-RTT or 1-RTT packets, nothing from the server), keep payload
//! beyond the parsed fields (the CRYPTO buffer and the decryption scratch are
//! freed as soon as the ClientHello is parsed or the tracker gives up), or
//! decrypt gQUIC Q050 (recognised and reported only).
//!
//! Sources of the facts used here (no code was copied):
//! - RFC 9000 §16 (variable-length integers), §17.2 (long header), §17.2.2
//!   (Initial), §17.2.1 (Version Negotiation), §17.2.5 (Retry), §19 (frames),
//!   §12.2 (coalesced packets), Appendix A.3 (packet number decoding);
//! - RFC 9001 §5.2 (Initial secrets, v1 salt), §5.3 (AEAD nonce), §5.4
//!   (header protection), Appendix A (test vectors used in the tests);
//! - RFC 9369 §3.1–§3.3 (v2 version, packet types, salt, "quicv2" labels),
//!   Appendix A (test vectors); draft-ietf-quic-v2-04 §3.3.1 (salt of the
//!   provisional v2 codepoint 0x709a50c4);
//! - draft-ietf-quic-tls-22 / -23 / -29 §5.2 (draft salts); the T050/T051
//!   salts and the mvfst/Google version codepoints as published by the
//!   Wireshark QUIC dissector's version table;
//! - gQUIC wire layout (public header flags, CHLO tag/value message) from
//!   the Chromium QUIC crypto documentation.
//!
//! Versions: v1, v2 (and its provisional codepoint), IETF drafts 21–34,
//! Facebook mvfst and Google T050/T051 are decrypted. Reserved "greasing"
//! versions (0x?a?a?a?a) that clients send to force Version Negotiation are
//! tried with the v1, draft-29 and draft-23 salts (clients protect them with
//! a version they support; the AEAD tag tells which). T05x carry gQUIC frame
//! types: only PADDING/PING/CRYPTO are read, so a CRYPTO frame placed after
//! a gQUIC ACK frame in the same packet is not seen. gQUIC Q043–Q046 send
//! the CHLO in clear: its SNI tag is read; Q050+ is reported, not
//! decrypted. Version Negotiation and Retry packets are recognised and
//! skipped. Client Initials after the first keep the original DCID's keys
//! even when they carry the server's connection ID (RFC 9001 §5.2); after a
//! Retry, or a compatible version switch (RFC 9368), keys are re-derived
//! from the packet's DCID or for the new version.
//!
//! Bounds: one [`MAX_CRYPTO_BYTES`] (16 KiB) CRYPTO reassembly buffer, the
//! ring keys (< 1 KiB) and a scratch copy of the largest Initial packet seen
//! (≈1.2–1.5 KB; at most one UDP payload) are allocated per flow, only once a
//! client Initial of a known version is seen; at most [`MAX_DATAGRAMS`]
//! client datagrams, [`MAX_DECRYPT_FAILURES`] undecryptable Initials and
//! [`MAX_COALESCED`] packets per datagram are looked at.
//!
//! Layout: `version` (codepoints, salts, per-version protection profiles),
//! `packet` (varints, long header, Initial frames), `keys` (Initial secrets,
//! AEAD and header protection), `gquic` (gQUIC version and cleartext CHLO)
//! and `tracker` (the per-flow state machine tying them together); this file
//! only re-exports the public items.

mod gquic;
mod keys;
mod packet;
mod tracker;
mod version;

pub use gquic::{gquic_chlo_sni, gquic_version};
pub use packet::{read_varint, walk_initial_frames};
pub use tracker::{
    MAX_COALESCED, MAX_CRYPTO_BYTES, MAX_DATAGRAMS, MAX_DECRYPT_FAILURES, QuicInitialInfo,
    QuicInitialTracker,
};
pub use version::QuicVersionKind;

#[cfg(test)]
mod tests;

//! The server certificate of TLS 1.2 and older: names every observer reads in the clear.
//!
//! Before TLS 1.3 the server sends its certificate unencrypted, right after the ServerHello.
//! Its subject common name and DNS alternative names name the service even when the client sent
//! no SNI (apps that connect to a fixed address, or hide the SNI). This module collects the
//! first server-to-client bytes of a TLS connection in order, walks the handshake messages of
//! the first records, and reads the names of the first (leaf) certificate with `x509-parser`.
//!
//! Bounds: at most [`MAX_FLIGHT`] bytes are buffered per flow, and only until the Certificate
//! message is read, a TLS 1.3 ServerHello shows the certificate will be encrypted, a record
//! that is not a handshake arrives, or a segment arrives out of order. The buffer is then
//! dropped; only the names stay. This module must never keep certificate bytes.

use super::GiveUp;
use super::Progress;

/// Most server bytes buffered: a ServerHello and a certificate chain of three certificates fit
/// in 8 KB; 16 KiB leaves room for long chains without letting a flow hold more.
pub const MAX_FLIGHT: usize = 16 * 1024;

/// Names kept from one certificate.
const MAX_NAMES: usize = 8;

/// TLS record content types and handshake types (RFC 5246 §6.2.1, §7.4).
const CONTENT_HANDSHAKE: u8 = 22;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
/// supported_versions extension (RFC 8446 §4.2.1).
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const TLS13: u16 = 0x0304;

/// Collects the server's first flight of one TLS connection.
#[derive(Debug, Default)]
pub struct ServerCertReader {
    buf: Vec<u8>,
    next_seq: Option<u32>,
    names: Vec<String>,
    done: bool,
}

impl ServerCertReader {
    /// Names read from the leaf certificate (subject CN first, then DNS alternative names).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Take the names and free the buffer.
    pub fn take_names(&mut self) -> Vec<String> {
        self.buf = Vec::new();
        std::mem::take(&mut self.names)
    }

    /// Feed one server-to-client TCP segment.
    pub fn push(&mut self, seq: u32, payload: &[u8]) -> Progress {
        if self.done {
            return Progress::Done;
        }
        if payload.is_empty() {
            return Progress::NeedMore;
        }
        match self.next_seq {
            None => {
                // The flight must start with a handshake record.
                if payload.first() != Some(&CONTENT_HANDSHAKE) {
                    return self.finish(Progress::GaveUp(GiveUp::NotThisProtocol));
                }
            }
            Some(n) if n == seq => {}
            // A retransmission of what we have: ignore it.
            Some(n) if seq.wrapping_sub(n) > u32::MAX / 2 => return Progress::NeedMore,
            // A gap: reordering is rare in a server's first flight; give up rather than hold.
            Some(_) => return self.finish(Progress::GaveUp(GiveUp::TooManyPackets)),
        }
        let room = MAX_FLIGHT.saturating_sub(self.buf.len());
        self.buf
            .extend_from_slice(&payload[..payload.len().min(room)]);
        self.next_seq = Some(seq.wrapping_add(payload.len() as u32));
        match walk(&self.buf) {
            Walk::Names(names) => {
                self.names = names;
                self.finish(Progress::Done)
            }
            Walk::NoCertificate => self.finish(Progress::GaveUp(GiveUp::NotThisProtocol)),
            Walk::Malformed => self.finish(Progress::GaveUp(GiveUp::Malformed)),
            Walk::NeedMore if self.buf.len() >= MAX_FLIGHT => {
                self.finish(Progress::GaveUp(GiveUp::TooLarge))
            }
            Walk::NeedMore => Progress::NeedMore,
        }
    }

    fn finish(&mut self, p: Progress) -> Progress {
        self.done = true;
        self.buf = Vec::new();
        p
    }
}

enum Walk {
    Names(Vec<String>),
    NoCertificate,
    Malformed,
    NeedMore,
}

/// Join the handshake bytes of the leading handshake records and look for the certificate.
fn walk(buf: &[u8]) -> Walk {
    let mut hs = Vec::new();
    let mut off = 0;
    let mut complete_records = true;
    while off < buf.len() {
        let Some(h) = buf.get(off..off + 5) else {
            complete_records = false;
            break;
        };
        if h[0] != CONTENT_HANDSHAKE {
            break;
        }
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let Some(body) = buf.get(off + 5..off + 5 + len) else {
            // Use what is there of the last record: messages may already be whole.
            if let Some(part) = buf.get(off + 5..) {
                hs.extend_from_slice(part);
            }
            complete_records = false;
            break;
        };
        hs.extend_from_slice(body);
        off += 5 + len;
    }
    let mut m = 0;
    while let Some(h) = hs.get(m..m + 4) {
        let ty = h[0];
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let Some(body) = hs.get(m + 4..m + 4 + len) else {
            return Walk::NeedMore;
        };
        match ty {
            HS_SERVER_HELLO if server_hello_is_tls13(body) => return Walk::NoCertificate,
            HS_CERTIFICATE => return leaf_names(body),
            _ => {}
        }
        m += 4 + len;
    }
    if complete_records && off < buf.len() {
        // A non-handshake record came before any certificate.
        Walk::NoCertificate
    } else {
        Walk::NeedMore
    }
}

/// Whether a ServerHello body selects TLS 1.3 through supported_versions.
fn server_hello_is_tls13(b: &[u8]) -> bool {
    // version(2) random(32) session_id(1+n) cipher(2) compression(1) extensions(2+...)
    let Some(&sid_len) = b.get(34) else {
        return false;
    };
    let mut p = 35 + usize::from(sid_len) + 3;
    let Some(ext_len) = b
        .get(p..p + 2)
        .map(|x| usize::from(u16::from_be_bytes([x[0], x[1]])))
    else {
        return false;
    };
    p += 2;
    let end = (p + ext_len).min(b.len());
    while p + 4 <= end {
        let ty = u16::from_be_bytes([b[p], b[p + 1]]);
        let len = usize::from(u16::from_be_bytes([b[p + 2], b[p + 3]]));
        if ty == EXT_SUPPORTED_VERSIONS {
            return b
                .get(p + 4..p + 6)
                .is_some_and(|v| u16::from_be_bytes([v[0], v[1]]) == TLS13);
        }
        p += 4 + len;
    }
    false
}

/// Names of the first certificate of a Certificate message body (RFC 5246 §7.4.2).
fn leaf_names(body: &[u8]) -> Walk {
    let Some(first_len) = body.get(3..6) else {
        return Walk::Malformed;
    };
    let n = (usize::from(first_len[0]) << 16)
        | (usize::from(first_len[1]) << 8)
        | usize::from(first_len[2]);
    let Some(der) = body.get(6..6 + n) else {
        return Walk::Malformed;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Walk::Malformed;
    };
    let mut names: Vec<String> = Vec::new();
    for cn in cert.subject().iter_common_name() {
        if let Ok(s) = cn.as_str() {
            names.push(s.to_ascii_lowercase());
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for g in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = g {
                let d = d.to_ascii_lowercase();
                if names.len() < MAX_NAMES && !names.contains(&d) {
                    names.push(d);
                }
            }
        }
    }
    names.truncate(MAX_NAMES);
    Walk::Names(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn gives_up_on_tls13_server_hello() {
        // ServerHello with supported_versions = 0x0304.
        let mut body = vec![3, 3];
        body.extend([0u8; 32]);
        body.push(0); // session id
        body.extend([0x13, 0x01, 0]); // cipher, compression
        body.extend([0, 6, 0, 43, 0, 2, 3, 4]);
        let mut hs = vec![HS_SERVER_HELLO, 0, 0, body.len() as u8];
        hs.extend(body);
        let mut rec = vec![22, 3, 3, 0, hs.len() as u8];
        rec.extend(hs);
        let mut r = ServerCertReader::default();
        assert!(matches!(r.push(1000, &rec), Progress::GaveUp(_)));
        assert!(r.names().is_empty());
    }

    #[test]
    fn non_tls_first_segment_is_not_kept() {
        let mut r = ServerCertReader::default();
        assert!(matches!(
            r.push(1, b"HTTP/1.1 200 OK\r\n"),
            Progress::GaveUp(_)
        ));
    }

    #[test]
    fn never_panics_on_garbage() {
        for n in 0..200u32 {
            let mut r = ServerCertReader::default();
            let data: Vec<u8> = (0..n).map(|i| (i * 37 % 251) as u8).collect();
            let mut d = data.clone();
            if !d.is_empty() {
                d[0] = 22;
            }
            let _ = r.push(7, &d);
            let _ = r.push(7 + d.len() as u32, &data);
        }
    }
}

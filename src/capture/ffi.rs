//! The few libpcap calls the `pcap` crate does not expose in a usable form.
//!
//! The crate keeps its FFI private, and its `next_packet` returns a borrow that cannot be handed
//! out of a loop that may also move to the next file or wait for traffic; these declarations
//! bind directly to the libpcap the crate already links. Every use is wrapped in a safe function
//! of `offline` or `live` with its SAFETY argument.

/// libpcap's `struct pcap_pkthdr` on Linux and the BSDs.
#[repr(C)]
pub struct PcapPkthdr {
    pub ts: libc::timeval,
    pub caplen: u32,
    pub len: u32,
}

unsafe extern "C" {
    pub fn pcap_next_ex(
        p: *mut libc::c_void,
        header: *mut *mut PcapPkthdr,
        data: *mut *const libc::c_uchar,
    ) -> libc::c_int;
    pub fn pcap_geterr(p: *mut libc::c_void) -> *mut libc::c_char;
    /// The stdio stream of an offline handle (used only to report the byte offset where
    /// reading a pcapng file stopped).
    pub fn pcap_file(p: *mut libc::c_void) -> *mut libc::FILE;
    /// The descriptor an offline handle reads (used only to learn whether a stream has more
    /// input waiting).
    pub fn pcap_get_selectable_fd(p: *mut libc::c_void) -> libc::c_int;
}

/// The last error of a handle, as text.
///
/// # Safety
/// `handle` must be a live libpcap handle.
pub unsafe fn error_message(handle: *mut libc::c_void) -> String {
    // SAFETY: pcap_geterr returns the handle's NUL-terminated error buffer (the caller
    // guarantees the handle).
    unsafe {
        let e = pcap_geterr(handle);
        if e.is_null() {
            "unknown libpcap error".to_string()
        } else {
            std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// What a successful `pcap_next_ex` handed out: seconds, the sub-second field (micro- or
/// nanoseconds as the handle was opened), captured and on-wire lengths, and the bytes.
///
/// # Safety
/// `hdr` and `data` must come from a `pcap_next_ex` call that returned 1, and the returned
/// slice must not outlive the next read on the same handle.
pub unsafe fn packet<'a>(
    hdr: *const PcapPkthdr,
    data: *const libc::c_uchar,
) -> (i64, i64, u32, u32, &'a [u8]) {
    // SAFETY: the caller guarantees `hdr` points to a valid header and `data` to `caplen`
    // bytes that stay valid for `'a`.
    unsafe {
        let h = &*hdr;
        let bytes: &[u8] = if data.is_null() || h.caplen == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(data, h.caplen as usize)
        };
        (h.ts.tv_sec, h.ts.tv_usec, h.caplen, h.len, bytes)
    }
}

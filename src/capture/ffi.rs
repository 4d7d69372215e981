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
}

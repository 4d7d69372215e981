#!/usr/bin/env bash
# Build the seed corpora of the fuzz targets into fuzz/corpus/<target>/ from the shared pcap
# corpus (../shared/corpus/pcap relative to the repository) and the bundled catalog tables.
#
#   fuzz/seed.sh [PCAP_DIR]         # needs python3 (standard library only)
#
# Seeds are written in each target's input format (see the comment at the top of every
# fuzz_targets/*.rs) and named by their SHA-1, so re-running only adds what is new. At most
# MAX_PER_TARGET (default 300) files per target, each at most a few KB.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pcaps="${1:-$here/../../shared/corpus/pcap}"
export ONLOOKER_FUZZ_DIR="$here" ONLOOKER_PCAPS="$pcaps" MAX_PER_TARGET="${MAX_PER_TARGET:-300}"
exec python3 - <<'PY'
import glob, hashlib, os, struct, subprocess, sys
from collections import defaultdict

FUZZ = os.environ["ONLOOKER_FUZZ_DIR"]
PCAPS = os.environ["ONLOOKER_PCAPS"]
MAX = int(os.environ["MAX_PER_TARGET"])
# Same order as LINK_TYPES in fuzz_targets/decode.rs.
LINK_TYPES = [0, 1, 9, 12, 14, 50, 51, 101, 104, 108, 113, 192, 228, 229, 239, 258, 276]
counts = defaultdict(int)

def save(target, blob):
    if counts[target] >= MAX or not blob:
        return
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, hashlib.sha1(blob).hexdigest())
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(blob)
        counts[target] += 1

def pick(*pats, limit=40):
    out = []
    for pat in pats:
        for f in sorted(glob.glob(os.path.join(PCAPS, "**", pat), recursive=True)):
            if f not in out and os.path.getsize(f) < 30_000_000:
                out.append(f)
    # Spread over every source directory (a stable order, not the alphabetical one, so the
    # per-target cap does not fill from the first directory alone).
    out.sort(key=lambda f: hashlib.sha1(f.encode()).digest())
    return out[:limit]

def read_frames(path):
    """(linktype, bytes) of each frame of a pcap or pcapng file."""
    with open(path, "rb") as fh:
        b = fh.read()
    if len(b) < 24:
        return
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        lt = struct.unpack(e + "I", b[20:24])[0] & 0xFFFF
        o = 24
        while o + 16 <= len(b):
            incl = struct.unpack(e + "I", b[o + 8:o + 12])[0]
            o += 16
            if incl > 262144:
                return
            yield lt, b[o:o + incl]
            o += incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        e, o, ifaces = "<", 0, []
        while o + 12 <= len(b):
            bt = struct.unpack(e + "I", b[o:o + 4])[0]
            if bt == 0x0A0D0D0A:
                e = "<" if b[o + 8:o + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            bl = struct.unpack(e + "I", b[o + 4:o + 8])[0]
            if bl < 12:
                return
            if bt == 1:
                ifaces.append(struct.unpack(e + "H", b[o + 8:o + 10])[0])
            elif bt == 6:
                iface, = struct.unpack(e + "I", b[o + 8:o + 12])
                cap, = struct.unpack(e + "I", b[o + 20:o + 24])
                if iface < len(ifaces):
                    yield ifaces[iface], b[o + 28:o + 28 + cap]
            elif bt == 3:
                yield (ifaces[0] if ifaces else 1), b[o + 12:o + bl - 4]
            o += bl

def l4(lt, fr):
    """(proto, src, sport, dst, dport, payload) of a TCP/UDP frame, or None. Ethernet (with
    802.1Q tags), Linux cooked v1/v2, raw IP, NULL/LOOP; IPv4 (non-fragmented) and IPv6 with
    no extension headers. Enough to cut seeds; the project's decoder is what is fuzzed."""
    et, o = None, 0
    if lt == 1:
        if len(fr) < 14:
            return None
        et, o = struct.unpack(">H", fr[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(fr) >= o + 4:
            et, o = struct.unpack(">H", fr[o + 2:o + 4])[0], o + 4
    elif lt == 113:
        if len(fr) < 16:
            return None
        et, o = struct.unpack(">H", fr[14:16])[0], 16
    elif lt == 276:
        if len(fr) < 20:
            return None
        et, o = struct.unpack(">H", fr[0:2])[0], 20
    elif lt in (0, 108):
        o = 4
        et = 0x0800 if len(fr) > 4 and fr[4] >> 4 == 4 else 0x86DD
    elif lt in (12, 14, 101, 228, 229):
        et = 0x0800 if fr and fr[0] >> 4 == 4 else 0x86DD
    else:
        return None
    ip = fr[o:]
    if et == 0x0800 and len(ip) >= 20 and ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return None
        proto, srca, dsta = ip[9], ip[12:16], ip[16:20]
        seg = ip[ihl:max(ihl, min(total, len(ip)))]
    elif et == 0x86DD and len(ip) >= 40 and ip[0] >> 4 == 6:
        plen = struct.unpack(">H", ip[4:6])[0]
        proto, srca, dsta = ip[6], ip[8:24], ip[24:40]
        seg = ip[40:40 + plen]
    else:
        return None
    if proto == 6 and len(seg) >= 20:
        off = (seg[12] >> 4) * 4
        sp, dp, sq = struct.unpack(">HHI", seg[0:8])
        return ("tcp", srca, sp, dsta, dp, seg[off:], sq)
    if proto == 17 and len(seg) >= 8:
        sp, dp = struct.unpack(">HH", seg[0:4])
        return ("udp", srca, sp, dsta, dp, seg[8:], 0)
    return None

def segments(hdr, payload):
    """Seed in the tls_client_hello / cert record format: header, then records of delta 0."""
    out = bytearray(hdr)
    for i in range(0, len(payload), 1020):
        piece = payload[i:i + 1020]
        out += struct.pack(">hB", 0, (len(piece) + 3) // 4) + piece
    return bytes(out)

def tls_record_start(p, hs_type):
    return len(p) >= 6 and p[0] == 0x16 and p[1] == 3 and p[5] == hs_type

def looks_stun(p):
    return len(p) >= 20 and p[0] < 0x40 and p[4:8] == b"\x21\x12\xa4\x42"

DNS_PORTS = (53, 5353, 5355)
LIMIT_FRAMES = 20000

for path in pick("*.pcap", "*.pcapng", "*.cap", limit=1000):
    eth_run = []
    tcp_bufs = {}      # (src, sport, dst, dport) -> bytearray of a handshake being collected
    udp_streams = defaultdict(list)
    for n, (lt, fr) in enumerate(read_frames(path)):
        if n >= LIMIT_FRAMES:
            break
        if n < 3 and lt in LINK_TYPES and len(fr) <= 1600:
            save("decode", struct.pack("<I", LINK_TYPES.index(lt)) + fr)
        if lt == 1 and len(fr) <= 1600 and len(eth_run) < 24:
            eth_run.append(fr)
        t = l4(lt, fr)
        if t is None:
            continue
        proto, sa, sp, da, dp, pl, _seq = t
        if not pl:
            continue
        key = (sa, sp, da, dp)
        if proto == "tcp":
            if tls_record_start(pl, 1):
                tcp_bufs[key] = ["tls_client_hello", bytearray(pl)]
            elif tls_record_start(pl, 2):
                tcp_bufs[key] = ["cert", bytearray(pl)]
            elif key in tcp_bufs:
                tcp_bufs[key][1] += pl
            if key in tcp_bufs:
                kind, buf = tcp_bufs[key]
                need = 5 + struct.unpack(">H", bytes(buf[3:5]))[0] if len(buf) >= 5 else 1 << 30
                if (kind == "tls_client_hello" and len(buf) >= need) or len(buf) >= 8192:
                    data = bytes(buf[:16384])
                    if kind == "tls_client_hello":
                        save(kind, segments(b"\x00\x00\x00\x00\x00", data))
                        save(kind, data)  # for the one-shot parsers
                    else:
                        save(kind, segments(b"\x00\x00\x00\x01", data))
                    del tcp_bufs[key]
            if sp in DNS_PORTS or dp in DNS_PORTS:
                save("dns", pl)
            if looks_stun(pl) or (len(pl) > 22 and looks_stun(pl[2:])):
                save("stun", pl)
        else:
            if sp in DNS_PORTS or dp in DNS_PORTS:
                save("dns", pl)
                continue
            if looks_stun(pl):
                save("stun", pl)
            if 0x40 <= pl[0] <= 0x7F and len(pl) >= 4 and (sp != 3478 and dp != 3478):
                save("stun", pl)  # TURN ChannelData candidates
            udp_streams[key].append(pl)
    for kind, buf in tcp_bufs.values():
        if kind == "cert" and len(buf) > 200:
            save("cert", segments(b"\x00\x00\x00\x01", bytes(buf[:16384])))
    if eth_run:
        save("flow_pipeline", b"".join(struct.pack(">HB", len(f), 1) + f for f in eth_run))
    for (sa, sp, da, dp), dgs in udp_streams.items():
        first = dgs[0]
        # QUIC long header (Initial of v1, or any version for v2/drafts) or gQUIC 'Q0xx'.
        if first[0] & 0xC0 == 0xC0 or (len(first) > 13 and b"Q0" in first[:14]):
            save("quic_initial", b"".join(struct.pack(">H", len(d)) + d for d in dgs[:4]))
        # RTP/RTCP (first byte 128..191), DTLS (20..63), STUN (0..3): RFC 7983 ranges.
        media = [d for d in dgs if d[0] < 64 or 128 <= d[0] < 192][:8]
        if len(media) >= 2:
            save("rtp", b"".join(bytes([min(len(p), 255)]) + p[:255] for p in media))

# catalog: slices of the bundled tables, one per table file name the target tries.
for tsv in sorted(glob.glob(os.path.join(FUZZ, "..", "assets", "catalog", "*.tsv"))):
    with open(tsv, "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    for i in range(0, len(lines), 40):
        save("catalog", b"".join(lines[i:i + 40]))

for t in sorted(counts):
    print(f"{t}: {counts[t]} seeds")
PY

#!/usr/bin/env bash
# Build the seed corpora of the fuzz targets into fuzz/corpus/<target>/ from the shared pcap
# corpus (../shared/corpus/pcap relative to the repository) and the bundled catalog tables.
#
#   fuzz/seed.sh [PCAP_DIR]         # needs tshark and python3
#
# Seeds are written in each target's input format (see the comment at the top of every
# fuzz_targets/*.rs) and named by their SHA-1, so re-running only adds what is new. At most
# MAX_PER_TARGET (default 300) files per target, each at most a few KB.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pcaps="${1:-$here/../../shared/corpus/pcap}"
export ONLOOKER_FUZZ_DIR="$here" ONLOOKER_PCAPS="$pcaps" MAX_PER_TARGET="${MAX_PER_TARGET:-300}"
command -v tshark >/dev/null || { echo "seed.sh: tshark is needed" >&2; exit 1; }
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

def tshark(path, flt, fields, extra=()):
    cmd = ["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields", "-E", "separator=|",
           *extra, *sum((["-e", f] for f in fields), [])]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except subprocess.TimeoutExpired:
        return []
    return [l.split("|") for l in out.splitlines()]

def hexb(s):
    s = s.split(",")[0].replace(":", "")
    try:
        return bytes.fromhex(s)
    except ValueError:
        return b""

def segments(hdr, payload):
    """Seed in the tls_client_hello / cert record format: header, then records of delta 0."""
    out = bytearray(hdr)
    for i in range(0, len(payload), 1020):
        piece = payload[i:i + 1020]
        out += struct.pack(">hB", 0, (len(piece) + 3) // 4) + piece
    return bytes(out)

# decode + flow_pipeline: whole frames.
for path in pick("*.pcap", "*.pcapng", limit=400):
    eth_run = []
    for n, (lt, fr) in enumerate(read_frames(path)):
        if n >= 200:
            break
        if n < 3 and lt in LINK_TYPES and len(fr) <= 1600:
            save("decode", struct.pack("<I", LINK_TYPES.index(lt)) + fr)
        if lt == 1 and len(fr) <= 1600 and len(eth_run) < 24:
            eth_run.append(fr)
    if eth_run:
        save("flow_pipeline", b"".join(struct.pack(">HB", len(f), 1) + f for f in eth_run))

reasm = ["-o", "tcp.desegment_tcp_streams:TRUE"]
tls_files = pick("*tls*", "*443*", "*signal*", "*whatsapp*", "*telegram*", "*teams*", "*ech*", "*cert*")
for path in tls_files:
    for f in tshark(path, "tls.handshake.type == 1", ["tcp.reassembled.data", "tcp.payload", "tcp.seq_raw"], reasm):
        data = hexb(f[0]) or hexb(f[1])
        if data and len(data) <= 16384:
            save("tls_client_hello", segments(b"\x00\x00\x00\x00\x00", data))
            save("tls_client_hello", data)  # for the one-shot parsers
    for f in tshark(path, "tls.handshake.type == 11 || tls.handshake.type == 2",
                    ["tcp.reassembled.data", "tcp.payload"], reasm):
        data = hexb(f[0]) or hexb(f[1])
        if data and len(data) <= 16384:
            save("cert", segments(b"\x00\x00\x00\x01", data))

quic_files = pick("*quic*", "*youtube*", "*google*", "*facebook*", "*instagram*", "*whatsapp*")
for path in quic_files:
    streams = defaultdict(list)
    for f in tshark(path, "quic.long.packet_type == 0 || gquic", ["udp.stream", "udp.srcport", "udp.payload"]):
        if len(f) == 3:
            streams[f[0]].append((f[1], hexb(f[2])))
    for dgs in streams.values():
        client = dgs[0][0]
        client_dgs = [d for p, d in dgs if p == client][:4]
        save("quic_initial", b"".join(struct.pack(">H", len(d)) + d for d in client_dgs))

for path in pick("*dns*", "*mdns*", "*llmnr*", "*android*", "*whatsapp*", "*signal*"):
    for f in tshark(path, "dns || mdns || llmnr", ["udp.payload", "tcp.payload"]):
        save("dns", hexb(f[0]) or hexb(f[1]))

heur = ["--enable-heuristic", "stun_udp", "--enable-heuristic", "stun_tcp",
        "--enable-heuristic", "rtp_udp", "--enable-heuristic", "rtcp_udp"]
for path in pick("*stun*", "*turn*", "*webrtc*", "*zoom*", "*teams*", "*whatsapp*call*", "*signal*", "*rtp*", "*meet*", "*telegram*"):
    for f in tshark(path, "stun || classicstun", ["udp.payload", "tcp.payload"], heur):
        save("stun", hexb(f[0]) or hexb(f[1]))
    streams = defaultdict(list)
    for f in tshark(path, "rtp || rtcp || dtls || stun", ["udp.stream", "udp.payload"], heur):
        if len(f) == 2 and len(streams[f[0]]) < 8:
            streams[f[0]].append(hexb(f[1])[:255])
    for ps in streams.values():
        save("rtp", b"".join(bytes([len(p)]) + p for p in ps))

# catalog: slices of the bundled tables, one per table file name the target tries.
for tsv in sorted(glob.glob(os.path.join(FUZZ, "..", "assets", "catalog", "*.tsv"))):
    with open(tsv, "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    for i in range(0, len(lines), 40):
        save("catalog", b"".join(lines[i:i + 40]))

for t in sorted(counts):
    print(f"{t}: {counts[t]} seeds")
PY

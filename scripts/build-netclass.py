#!/usr/bin/env python3
"""Build assets/netclass/asn-classes.tsv: which autonomous systems are hosting/cloud networks
(a remote there is a server, e.g. a call relay) and which are access networks (residential or
mobile ISPs: a remote there is a person's device).

Input: the bundled ASN database (assets/geoip/asn.mmdb, ip-location-db asn, see
assets/geoip/README.md) read with the small MaxMind DB reader below (standard library only), and
the explicit AS numbers of EXPLICIT with their public source. Output: one row per AS the rule
matched; the rule and the counts go to stdout and into assets/netclass/README.md by hand.

The keyword rule reads only the organisation name of each AS. It was written from the meaning
of the words, not fitted on any capture. Usage: scripts/build-netclass.py [asn.mmdb] > tsv
"""
import datetime
import re
import struct
import sys
from collections import Counter

# A name with one of these words is a hosting or cloud network (data centres, server hosting,
# content delivery). Matched as whole words, case-insensitive.
HOSTING = [
    "hosting", "host", "hoster", "cloud", "data center", "data centre", "datacenter",
    "datacentre", "server", "servers", "colocation", "colo", "vps", "dedicated",
    "cdn", "content delivery",
    "amazon", "aws", "google", "microsoft", "azure", "akamai", "ovh", "hetzner", "digitalocean",
    "linode", "vultr", "leaseweb", "choopa", "contabo", "scaleway", "online s.a.s.", "ionos",
    "alibaba", "tencent", "oracle", "ibm", "softlayer", "rackspace", "fastly", "cloudflare",
    "limelight", "edgecast", "stackpath", "incapsula", "zenlayer", "m247", "i3d", "gcore",
    "g-core",
    # Data-centre, colocation and server-hosting companies whose registered names carry none
    # of the words above (brand names only), from their own descriptions of their business.
    "internap", "equinix", "digital realty", "coresite", "cyrusone", "flexential",
    "hivelocity", "psychz", "quadranet", "godaddy", "liquid web", "telehouse", "interxion",
    "strato ag", "aruba s.p.a.", "nforce", "worldstream", "serverius", "hostinger",
    "namecheap", "wholesale internet", "sharktech", "frantech", "datacamp limited",
    "tzulo", "reliablesite", "nexeon",
]
# A name with one of these words is an access network: it connects homes, offices or phones.
ACCESS = [
    "broadband", "mobile", "cable", "cablevision", "wireless", "dsl", "adsl", "vdsl", "fiber",
    "fibre", "ftth", "telecom", "telekom", "telecommunication", "telecommunications",
    "telefonica", "telefónica", "isp", "internet service provider", "cellular", "gsm", "lte",
    "4g", "5g", "3g", "wifi", "wi-fi", "residential", "kabel", "mobil", "movil", "móvil",
    "mobile telesystems", "vodafone", "orange", "comcast", "charter", "verizon", "at&t",
    "t-mobile", "iliad", "free sas", "proximus", "swisscom",
    "bouygues", "sfr", "telia", "telenor", "rostelecom", "jio", "airtel", "bharti",
    # Large fixed and mobile access operators whose registered names carry none of the words
    # above (brand names only), from public knowledge of each country's largest home and
    # mobile ISPs: Italy, UK, Netherlands, Australia, New Zealand, Canada, US, Portugal, Spain,
    # Nordics, Poland, Germany, Japan, China, Gulf, Turkey, Latin America, South and South-East
    # Asia, Russia and Ukraine, and satellite access.
    "fastweb", "wind tre", "virgin media", "sky uk", "talktalk", "kpn", "telstra", "optus",
    "rogers communications", "bell canada", "shaw communications", "cox communications",
    "frontier communications", "windstream", "mediacom communications", "centurylink",
    "suddenlink", "sonic.net", "liberty global", "nos comunicacoes", "meo", "euskaltel",
    "tele2", "elisa oyj", "elisa eesti", "dna oyj", "netia", "polkomtel", "netcologne", "versatel", "kddi",
    "ntt docomo", "softbank corp", "china unicom", "chinanet", "etisalat", "ooredoo",
    "turkcell", "superonline", "ttnet", "claro", "telmex", "hathway", "pldt",
    "true internet corporation", "viettel", "vnpt", "indosat", "starhub", "spark new zealand",
    "tpg internet", "iinet", "megafon", "vimpelcom", "kyivstar", "spacex",
]
# Service-owned networks: a call's remote there is the service's relay, never a peer (the
# service runs its own media servers; its staff are not callers on its backbone).
# Explicit AS numbers, each with its public source (the registry's own record, RIR whois, as
# shown by PeeringDB https://www.peeringdb.com/asn/N or bgp.he.net/ASN).
EXPLICIT = [
    (16509, "hosting", "Amazon.com (AWS); PeeringDB info_type Content; RIR whois ARIN AS16509"),
    (14618, "hosting", "Amazon.com (AWS EC2 us-east-1); RIR whois ARIN AS14618"),
    (15169, "service", "Google LLC; PeeringDB info_type Content; RIR whois ARIN AS15169"),
    (396982, "hosting", "Google Cloud; RIR whois ARIN AS396982"),
    (8075, "service", "Microsoft Corporation; PeeringDB info_type Content; RIR whois ARIN AS8075"),
    (32934, "service", "Facebook, Inc. (Meta); PeeringDB info_type Content; RIR whois ARIN AS32934"),
    (13335, "hosting", "Cloudflare, Inc.; PeeringDB info_type Content; RIR whois ARIN AS13335"),
    (20940, "hosting", "Akamai International B.V.; PeeringDB info_type Content; RIPE whois AS20940"),
    (49544, "hosting", "i3D.net B.V. (game and server hosting); PeeringDB info_type Content; RIPE whois AS49544"),
    (30103, "service", "Zoom Video Communications, Inc.; RIR whois ARIN AS30103"),
    (62041, "service", "Telegram Messenger Inc; RIPE whois AS62041"),
    (9286, "hosting", "KINX Inc. (Korea): colocation space and data-centre connectivity per its General Terms & Conditions (m.kinx.net/agreements, 1-6 Services); APNIC whois AS9286"),
    (59930, "service", "Telegram Messenger Inc; RIPE whois AS59930"),
    (62014, "service", "Telegram Messenger Inc; RIPE whois AS62014"),
    (44907, "service", "Telegram Messenger Inc; RIPE whois AS44907"),
    (211157, "service", "Telegram Messenger Inc; RIPE whois AS211157"),
    (714, "service", "Apple Inc.; RIR whois ARIN AS714"),
    (6185, "service", "Apple Inc.; RIR whois ARIN AS6185"),
    (13445, "service", "Cisco Webex LLC; RIR whois ARIN AS13445"),
]


class Reader:
    """A minimal MaxMind DB (format 2.0) reader: the search tree and the data section."""

    META = b"\xab\xcd\xefMaxMind.com"

    def __init__(self, buf):
        self.buf = buf
        m = buf.rfind(self.META)
        if m < 0:
            raise SystemExit("not a MaxMind DB file")
        meta, _ = self.decode(m + len(self.META), m + len(self.META))
        self.node_count = meta["node_count"]
        self.record_size = meta["record_size"]
        self.node_bytes = self.record_size * 2 // 8
        self.tree_size = self.node_count * self.node_bytes
        self.data_start = self.tree_size + 16

    def records(self, node):
        b = self.buf
        o = node * self.node_bytes
        if self.record_size == 24:
            return (int.from_bytes(b[o:o + 3], "big"), int.from_bytes(b[o + 3:o + 6], "big"))
        if self.record_size == 28:
            mid = b[o + 3]
            left = ((mid & 0xF0) << 20) | int.from_bytes(b[o:o + 3], "big")
            right = ((mid & 0x0F) << 24) | int.from_bytes(b[o + 4:o + 7], "big")
            return (left, right)
        return (int.from_bytes(b[o:o + 4], "big"), int.from_bytes(b[o + 4:o + 8], "big"))

    def decode(self, off, base):
        b = self.buf
        ctrl = b[off]
        off += 1
        t = ctrl >> 5
        if t == 0:
            t = 7 + b[off]
            off += 1
        if t == 1:  # pointer
            ss = (ctrl >> 3) & 3
            v = ctrl & 7
            if ss == 0:
                p = (v << 8) | b[off]
                off += 1
            elif ss == 1:
                p = ((v << 16) | int.from_bytes(b[off:off + 2], "big")) + 2048
                off += 2
            elif ss == 2:
                p = ((v << 24) | int.from_bytes(b[off:off + 3], "big")) + 526336
                off += 3
            else:
                p = int.from_bytes(b[off:off + 4], "big")
                off += 4
            val, _ = self.decode(base + p, base)
            return val, off
        size = ctrl & 31
        if size == 29:
            size = 29 + b[off]
            off += 1
        elif size == 30:
            size = 285 + int.from_bytes(b[off:off + 2], "big")
            off += 2
        elif size == 31:
            size = 65821 + int.from_bytes(b[off:off + 3], "big")
            off += 3
        if t == 2:
            return b[off:off + size].decode("utf-8"), off + size
        if t in (5, 6, 9, 10):
            return int.from_bytes(b[off:off + size], "big"), off + size
        if t == 8:
            return int.from_bytes(b[off:off + size], "big", signed=True), off + size
        if t == 3:
            return struct.unpack(">d", b[off:off + 8])[0], off + 8
        if t == 15:
            return struct.unpack(">f", b[off:off + 4])[0], off + 4
        if t == 4:
            return bytes(b[off:off + size]), off + size
        if t == 14:
            return bool(size), off
        if t == 7:
            d = {}
            for _ in range(size):
                k, off = self.decode(off, base)
                v, off = self.decode(off, base)
                d[k] = v
            return d, off
        if t == 11:
            a = []
            for _ in range(size):
                v, off = self.decode(off, base)
                a.append(v)
            return a, off
        raise SystemExit(f"unsupported MaxMind DB type {t}")

    def all_records(self):
        """Every distinct data record the tree points to."""
        seen = set()
        for node in range(self.node_count):
            for r in self.records(node):
                if r > self.node_count:
                    seen.add(r - self.node_count - 16)
        for p in sorted(seen):
            v, _ = self.decode(self.data_start + p, self.data_start)
            yield v


def words_re(words):
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in words) + r")(?![a-z0-9])")


def classify(org, hosting_re, access_re):
    o = org.lower()
    h = hosting_re.search(o)
    a = access_re.search(o)
    if h and not a:
        return "hosting", h.group(1)
    if a and not h:
        return "access", a.group(1)
    return None, None  # no word, or words of both classes: left unclassified


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "assets/geoip/asn.mmdb"
    with open(path, "rb") as f:
        r = Reader(f.read())
    orgs = {}
    for rec in r.all_records():
        asn = rec.get("autonomous_system_number")
        org = rec.get("autonomous_system_organization", "")
        if asn is not None:
            orgs[asn] = org
    hosting_re, access_re = words_re(HOSTING), words_re(ACCESS)
    rows = {}
    both = 0
    for asn, org in orgs.items():
        cls, word = classify(org, hosting_re, access_re)
        if cls is None:
            if hosting_re.search(org.lower()) and access_re.search(org.lower()):
                both += 1
            continue
        rows[asn] = (cls, org, f"keyword:{word}")
    for asn, cls, source in EXPLICIT:
        rows[asn] = (cls, orgs.get(asn, ""), f"explicit: {source}")
    counts = Counter(c for c, _, _ in rows.values())
    print("# onlooker network classes: which autonomous systems host servers and which connect people.")
    print("# Built by scripts/build-netclass.py from assets/geoip/asn.mmdb (ip-location-db asn 2.3.2026061719,")
    print("# data 2026-06-17) and the explicit AS numbers in the script. See assets/netclass/README.md for the rule.")
    print(f"# Generated: {datetime.datetime.now(datetime.timezone.utc).date().isoformat()}")
    print(f"# ASes in the database: {len(orgs)}; matched: hosting {counts['hosting']}, access {counts['access']},"
          f" service {counts['service']}; names with words of both classes left out: {both}.")
    print("# columns: asn, class (hosting|service|access), org (as in the database), source (the keyword or the explicit source)")
    print("asn\tclass\torg\tsource")
    for asn in sorted(rows):
        cls, org, src = rows[asn]
        org = org.replace("\t", " ")
        print(f"{asn}\t{cls}\t{org}\t{src}")
    print(f"ASes {len(orgs)}, hosting {counts['hosting']}, access {counts['access']}, service {counts['service']},"
          f" both-class names left out {both}", file=sys.stderr)


if __name__ == "__main__":
    main()

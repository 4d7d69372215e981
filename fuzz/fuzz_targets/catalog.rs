//! `Catalog::load_str` on arbitrary text (UTF-8, lossy), under each table's file name and under
//! a name that names no table (rows then start with the table's name), then a few lookups so
//! indexes built from hostile rows are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::naming::catalog::Catalog;

const FILES: [&str; 6] = [
    "domains.tsv",
    "ip-ranges.tsv",
    "asns.tsv",
    "ports.tsv",
    "stun.tsv",
    "user.tsv",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for file in FILES {
        let mut c = Catalog::default();
        let _ = c.load_str(file, &text);
        let _ = c.domain("www.example.com");
        let _ = c.domain("a.b.c.whatsapp.net");
        let _ = c.range("10.1.2.3".parse().unwrap());
        let _ = c.range("2001:db8::1".parse().unwrap());
        let _ = c.asn(32934);
        let _ = c.ports(17, 3478).count();
        let _ = c.markers().len();
        for (i, _) in c.services().iter().enumerate() {
            let _ = c.service_name(i as u16);
            let _ = c.asns_running(i as u16);
        }
    }
});

//! Destinations: the countries and networks each service's traffic went to.

use super::build::Builder;
use super::{CountryRow, DestRow, Finding, NetworkRow, list_and, score, words};

impl Builder<'_> {
    pub(super) fn destinations(&mut self) -> Vec<DestRow> {
        let mut rows = Vec::new();
        for (name, s) in &self.digest.services {
            if s.countries.is_empty() && s.networks.is_empty() {
                continue;
            }
            let mut countries: Vec<CountryRow> = s
                .countries
                .iter()
                .map(|(c, (f, b))| CountryRow {
                    code: c.clone(),
                    name: words::country(c),
                    flows: *f,
                    bytes: *b,
                })
                .collect();
            countries.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.code.cmp(&b.code)));
            let mut networks: Vec<NetworkRow> = s
                .networks
                .iter()
                .map(|(n, (f, b))| NetworkRow {
                    network: n.clone(),
                    flows: *f,
                    bytes: *b,
                })
                .collect();
            if s.networks_other.0 > 0 {
                networks.push(NetworkRow {
                    network: "other networks".into(),
                    flows: s.networks_other.0,
                    bytes: s.networks_other.1,
                });
            }
            networks.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.network.cmp(&b.network)));
            if !s.roles.is_empty() && !s.roles.keys().all(|r| r == "dns") && !countries.is_empty() {
                let names: Vec<String> = countries
                    .iter()
                    .take(3)
                    .map(|c| words::country_in_sentence(&c.code))
                    .collect();
                let nets: Vec<String> =
                    networks.iter().take(2).map(|n| n.network.clone()).collect();
                self.push(Finding {
                    score: score::DESTINATIONS,
                    sentence: format!(
                        "{name} traffic went to {}{}{}",
                        list_and(&names),
                        match countries.len() {
                            0..=3 => String::new(),
                            4 => " and 1 other country".to_string(),
                            n => format!(" and {} other countries", n - 3),
                        },
                        if nets.is_empty() {
                            String::new()
                        } else {
                            format!(", on {}", list_and(&nets))
                        }
                    )
                    .pipe_end(),
                    events: Vec::new(),
                    flows: s.examples.clone(),
                    kind: "destinations".into(),
                    mitigation: "vpn_destinations".into(),
                    start_ts: Some(s.first_ts),
                });
            }
            rows.push(DestRow {
                service: name.clone(),
                countries,
                networks,
            });
        }
        rows
    }
}

/// Ends a sentence with one full stop, also when it ends with an abbreviation ("Inc.").
trait SentenceEnd {
    fn pipe_end(self) -> String;
}

impl SentenceEnd for String {
    fn pipe_end(mut self) -> String {
        if !self.ends_with('.') {
            self.push('.');
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::observer::digest::{Digest, ServiceAgg};
    use crate::observer::testkit::{MONDAY, build, finding};

    #[test]
    fn countries_and_networks_rank_by_bytes_and_the_sentence_ends_once() {
        let whatsapp = ServiceAgg {
            first_ts: MONDAY,
            last_ts: MONDAY + 60.0,
            roles: BTreeMap::from([("chat".to_string(), 3)]),
            countries: BTreeMap::from([("PT".to_string(), (1, 100)), ("US".to_string(), (2, 500))]),
            networks: BTreeMap::from([
                ("AS32934 Facebook, Inc.".to_string(), (3, 600)),
                ("AS64500 Example".to_string(), (1, 50)),
            ]),
            networks_other: (1, 70),
            ..ServiceAgg::default()
        };
        let resolver = ServiceAgg {
            roles: BTreeMap::from([("dns".to_string(), 1)]),
            countries: BTreeMap::from([("DE".to_string(), (1, 80))]),
            ..ServiceAgg::default()
        };
        let digest = Digest {
            services: BTreeMap::from([
                ("Telegram".to_string(), resolver),
                ("WhatsApp".to_string(), whatsapp),
            ]),
            ..Digest::default()
        };
        let m = build(&digest, &[], false);
        let w = &m.destinations[1];
        let codes: Vec<&str> = w.countries.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["US", "PT"]);
        let nets: Vec<&str> = w.networks.iter().map(|n| n.network.as_str()).collect();
        assert_eq!(
            nets,
            [
                "AS32934 Facebook, Inc.",
                "other networks",
                "AS64500 Example"
            ]
        );
        assert_eq!(
            finding(&m, "destinations", "WhatsApp").sentence,
            "WhatsApp traffic went to the United States and Portugal, on AS32934 Facebook, Inc. \
             and other networks."
        );
        // A service seen only in DNS has its row, but no finding: its resolver's country says
        // nothing of where its traffic goes.
        assert_eq!(m.destinations[0].service, "Telegram");
        assert_eq!(
            m.findings
                .iter()
                .filter(|f| f.kind == "destinations")
                .count(),
            1
        );
    }

    #[test]
    fn a_sentence_ending_in_an_abbreviation_gets_no_second_full_stop() {
        use super::SentenceEnd;
        assert_eq!(
            "on Facebook, Inc.".to_string().pipe_end(),
            "on Facebook, Inc."
        );
        assert_eq!("on AS64500".to_string().pipe_end(), "on AS64500.");
    }
}

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

//! Country codes to approximate coordinates for the Map tab.
//!
//! The bundled IP metadata names countries, not coordinates, so a marker stands at the centre of
//! its country (assets/geo/country-centroids.tsv, with its public source in
//! assets/geo/README.md). A marker therefore shows a country, never a place inside it.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../../assets/geo/country-centroids.tsv");

/// A country's centre and English name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Centroid {
    pub lat: f64,
    pub lon: f64,
    pub name: &'static str,
}

fn table() -> &'static HashMap<&'static str, Centroid> {
    static T: OnceLock<HashMap<&'static str, Centroid>> = OnceLock::new();
    T.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut c = l.split('\t');
                let code = c.next()?;
                let lat = c.next()?.parse().ok()?;
                let lon = c.next()?.parse().ok()?;
                let name = c.next()?;
                Some((code, Centroid { lat, lon, name }))
            })
            .collect()
    })
}

/// The centre of a country given by its ISO 3166-1 alpha-2 code (any case).
pub fn centroid(code: &str) -> Option<Centroid> {
    let upper = code.to_ascii_uppercase();
    table().get(upper.as_str()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_plausible() {
        assert!(table().len() > 240, "every country of the source table");
        for (code, c) in table() {
            assert_eq!(code.len(), 2, "{code}");
            assert!((-90.0..=90.0).contains(&c.lat), "{code} latitude");
            assert!((-180.0..=180.0).contains(&c.lon), "{code} longitude");
        }
        // Portugal lies west of Spain, Australia south of the equator.
        let (pt, es) = (centroid("pt"), centroid("ES"));
        assert!(pt.zip(es).is_some_and(|(p, e)| p.lon < e.lon));
        assert!(centroid("AU").is_some_and(|a| a.lat < 0.0));
        assert_eq!(centroid("ZZ"), None);
    }
}

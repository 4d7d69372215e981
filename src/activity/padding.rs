//! What a service's padding leaves of a message's length. The facts are data, with their
//! sources: assets/catalog/padding.tsv, compiled in and read once. The sentence a message's
//! evidence gives is built here from the kind of padding, so the table holds numbers and
//! sources, never prose.

use std::sync::OnceLock;

use super::table::{self, TableFault, is_date};

/// The bundled table.
const BUNDLED: &str = include_str!("../../assets/catalog/padding.tsv");

/// The columns of the table, in order; its first line that is not a comment names them.
const HEADER: [&str; 5] = ["service", "padding", "bytes", "source", "date"];

/// How a service pads a message before encrypting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Padding {
    /// Up to a multiple of this many bytes: the record gives the length to within a block.
    Block(u32),
    /// A random number of bytes from the first to the second (inclusive): the record gives
    /// only an upper bound on the length.
    Random(u32, u32),
    /// A few bytes at most: the record's length is close to the message's.
    Little,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PaddingFact {
    pub(super) service: String,
    pub(super) padding: Padding,
}

/// A table that does not follow the format of assets/catalog/SOURCES.md.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum PaddingError {
    #[error("padding.tsv line {line}: {message}")]
    Row { line: usize, message: String },
    #[error("padding.tsv: no header line")]
    NoHeader,
}

/// Parse a padding table: `#` comments, a header line, then one row per service with its
/// padding, the bytes, a source and a date (`YYYY-MM-DD`).
pub(super) fn parse(text: &str) -> Result<Vec<PaddingFact>, PaddingError> {
    let rows = table::rows(text, &HEADER).map_err(|f| match f {
        TableFault::Row { line, message } => PaddingError::Row { line, message },
        TableFault::NoHeader => PaddingError::NoHeader,
    })?;
    let mut out: Vec<PaddingFact> = Vec::new();
    for (line, cols) in rows {
        let err = |message: String| PaddingError::Row { line, message };
        let [service, kind, bytes, source, date] = cols[..] else {
            return Err(err("a row of the wrong width".into()));
        };
        if service.is_empty() || source.is_empty() {
            return Err(err("every row names its service and its source".into()));
        }
        if !is_date(date) {
            return Err(err(format!("date {date:?} is not YYYY-MM-DD")));
        }
        let padding = match kind {
            "block" => match bytes.parse::<u32>() {
                Ok(n) if n > 0 => Padding::Block(n),
                _ => {
                    return Err(err(format!(
                        "block size {bytes:?} is not a positive number"
                    )));
                }
            },
            "random" => {
                let (lo, hi) = range(bytes).ok_or_else(|| err(format!("bad range {bytes:?}")))?;
                Padding::Random(lo, hi)
            }
            "little" if bytes == "-" || range(bytes).is_some() => Padding::Little,
            "little" => return Err(err(format!("bad range {bytes:?} (or '-')"))),
            _ => {
                return Err(err(format!(
                    "padding {kind:?} is none of block, random, little"
                )));
            }
        };
        if out.iter().any(|f| f.service == service) {
            return Err(err(format!("{service} is listed twice")));
        }
        out.push(PaddingFact {
            service: service.to_string(),
            padding,
        });
    }
    Ok(out)
}

/// An inclusive range `LO-HI` with LO <= HI.
fn range(s: &str) -> Option<(u32, u32)> {
    let (lo, hi) = s.split_once('-')?;
    let (lo, hi) = (lo.parse().ok()?, hi.parse().ok()?);
    (lo <= hi).then_some((lo, hi))
}

/// The bundled table, parsed on first use.
pub(super) fn bundled() -> &'static Result<Vec<PaddingFact>, PaddingError> {
    static TABLE: OnceLock<Result<Vec<PaddingFact>, PaddingError>> = OnceLock::new();
    TABLE.get_or_init(|| parse(BUNDLED))
}

/// How `service` pads its messages, if the table says. A bundled table that does not parse
/// (the unit tests make sure it does) says nothing.
pub(super) fn padding_of(service: &str) -> Option<Padding> {
    let table = bundled().as_deref().unwrap_or(&[]);
    table
        .iter()
        .find(|f| f.service == service)
        .map(|f| f.padding)
}

/// What a record's length still says about the message, by the service's padding.
pub(super) fn note(service: &str) -> String {
    match padding_of(service) {
        Some(Padding::Block(n)) => format!(
            "{service} pads messages to {n}-byte blocks, so the record gives the length to within {n} B"
        ),
        Some(Padding::Random(lo, hi)) => format!(
            "{service} adds {lo} to {hi} B of random padding, so the record gives only an upper bound on the length"
        ),
        Some(Padding::Little) => format!(
            "{service} pads only a little, so the record's length is close to the message's"
        ),
        None => {
            "encryption adds a fixed overhead, so the record bounds the message's length".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_names_services_of_the_catalog() {
        let table = bundled().as_ref().map_err(ToString::to_string);
        let Ok(table) = table else {
            panic!("{table:?}");
        };
        let services: Vec<&str> = table.iter().map(|f| f.service.as_str()).collect();
        assert_eq!(services, ["Signal", "Telegram", "WhatsApp"]);
        let catalog = crate::naming::catalog::Catalog::bundled().map_err(|e| e.to_string());
        let Ok(catalog) = catalog else {
            panic!("{catalog:?}");
        };
        for s in services {
            assert!(
                catalog.services().iter().any(|c| c == s),
                "{s} is no catalog service"
            );
        }
    }

    #[test]
    fn the_notes_are_built_from_the_kind_of_padding() {
        // The sentences the evidence has always given (outputs must not change).
        assert_eq!(
            note("Signal"),
            "Signal pads messages to 160-byte blocks, so the record gives the length to within 160 B"
        );
        assert_eq!(
            note("Telegram"),
            "Telegram adds 12 to 1024 B of random padding, so the record gives only an upper bound on the length"
        );
        assert_eq!(
            note("WhatsApp"),
            "WhatsApp pads only a little, so the record's length is close to the message's"
        );
        assert_eq!(
            note("Viber"),
            "encryption adds a fixed overhead, so the record bounds the message's length"
        );
    }

    #[test]
    fn rows_are_parsed_by_kind() {
        let text = "# a comment\nservice\tpadding\tbytes\tsource\tdate\n\
                    A\tblock\t64\ts\t2026-12-03\n# between rows\nB\trandom\t1-16\ts\t2026-12-03\n\
                    C\tlittle\t-\ts\t2026-12-03\n";
        let facts: Vec<(String, Padding)> = parse(text)
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.service, f.padding))
            .collect();
        assert_eq!(
            facts,
            [
                ("A".to_string(), Padding::Block(64)),
                ("B".to_string(), Padding::Random(1, 16)),
                ("C".to_string(), Padding::Little),
            ]
        );
    }

    #[test]
    fn a_row_without_its_facts_or_its_source_is_refused() {
        let header = "service\tpadding\tbytes\tsource\tdate\n";
        let line = |row: &str| match parse(&format!("{header}{row}\n")) {
            Err(PaddingError::Row { line, .. }) => line,
            other => panic!("{row:?} gave {other:?}"),
        };
        assert_eq!(line("A\tblock\t64\t\t2026-12-03"), 2);
        assert_eq!(line("A\tblock\t64\ts\t3 Dec 2026"), 2);
        assert_eq!(line("A\tblock\t0\ts\t2026-12-03"), 2);
        assert_eq!(line("A\trandom\t16-1\ts\t2026-12-03"), 2);
        assert_eq!(line("A\tzeros\t16\ts\t2026-12-03"), 2);
        assert_eq!(line("A\tblock\t64\ts"), 2);
        assert_eq!(
            parse(&format!(
                "{header}A\tlittle\t-\ts\t2026-12-03\nA\tlittle\t-\ts\t2026-12-03\n"
            )),
            Err(PaddingError::Row {
                line: 3,
                message: "A is listed twice".into()
            })
        );
        assert_eq!(parse("# only comments\n"), Err(PaddingError::NoHeader));
        assert!(matches!(
            parse("service\tbytes\n"),
            Err(PaddingError::Row { line: 1, .. })
        ));
    }
}

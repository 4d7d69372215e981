//! Which services answer every message a device receives at once, with a delivery receipt or a
//! transport-level ack sent by the receiving device. For those, a message-sized record that the
//! device leaves unanswered is no message for the user. The facts are data with their sources:
//! assets/catalog/receipts.tsv, compiled in and read once. It must never guess a service's
//! behaviour from the capture being analysed: a service not listed keeps its messages unchecked.

use std::sync::OnceLock;

use super::table::{self, TableFault, is_date};

/// The bundled table.
const BUNDLED: &str = include_str!("../../assets/catalog/receipts.tsv");

/// The columns of the table, in order; its first line that is not a comment names them.
const HEADER: [&str; 3] = ["service", "source", "date"];

/// Parse a receipts table: `#` comments, the header, then one row per service with a source
/// and a date (`YYYY-MM-DD`). Its faults stay the shared reader's: only the unit tests see
/// them, since a table that does not parse names no service.
pub(super) fn parse(text: &str) -> Result<Vec<String>, TableFault> {
    let rows = table::rows(text, &HEADER)?;
    let mut out = Vec::new();
    for (line, cols) in rows {
        let err = |message: &str| TableFault::Row {
            line,
            message: message.to_string(),
        };
        let [service, source, date] = cols[..] else {
            return Err(err("a row of the wrong width"));
        };
        if service.is_empty() || source.is_empty() {
            return Err(err("a row needs its service and its source"));
        }
        if !is_date(date) {
            return Err(err("the date must be written YYYY-MM-DD"));
        }
        out.push(service.to_string());
    }
    Ok(out)
}

/// The bundled table, parsed on first use.
fn bundled() -> &'static Result<Vec<String>, TableFault> {
    static TABLE: OnceLock<Result<Vec<String>, TableFault>> = OnceLock::new();
    TABLE.get_or_init(|| parse(BUNDLED))
}

/// Whether `service`'s clients answer every delivered message at once. A bundled table that
/// does not parse (the unit tests make sure it does) says no for every service.
pub(super) fn answers_each_delivery(service: &str) -> bool {
    bundled()
        .as_deref()
        .is_ok_and(|t| t.iter().any(|s| s == service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_names_services_of_the_catalog() {
        let table = bundled().as_ref();
        let Ok(table) = table else {
            panic!("{table:?}");
        };
        assert_eq!(table, &["Signal", "Threema", "WhatsApp"]);
        let catalog = crate::naming::catalog::Catalog::bundled().map_err(|e| e.to_string());
        let Ok(catalog) = catalog else {
            panic!("{catalog:?}");
        };
        for s in table {
            assert!(
                catalog.services().iter().any(|c| c == s),
                "{s} is no catalog service"
            );
        }
        assert!(answers_each_delivery("Signal"));
        assert!(!answers_each_delivery("XMPP"));
    }

    #[test]
    fn a_row_without_its_source_or_date_is_refused() {
        let header = "service\tsource\tdate\n";
        let line = |row: &str| match parse(&format!("# c\n{header}{row}\n")) {
            Err(TableFault::Row { line, .. }) => line,
            other => panic!("{row:?} gave {other:?}"),
        };
        assert_eq!(line("A\t\t2026-12-03"), 3);
        assert_eq!(line("A\ts\t3 Dec 2026"), 3);
        assert_eq!(line("A\ts"), 3);
        assert_eq!(parse("# none\n"), Err(TableFault::NoHeader));
        assert_eq!(
            parse(&format!("{header}A\ts\t2026-12-03\n")),
            Ok(vec!["A".to_string()])
        );
    }
}

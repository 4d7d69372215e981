//! The bundled tables of the activity model (padding facts, measured confidences) share one
//! form: tab-separated, `#` comments, a header line that names the columns, then rows of exactly
//! that many columns. This reads the form once; each table's module reads its own columns. It
//! must never accept a row it cannot place by line number: every error names its line.

/// Where a table goes wrong: on a line (1-based), or nowhere because it has no header.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TableFault {
    Row { line: usize, message: String },
    NoHeader,
}

/// The data rows of `text`, each with its line number and its trimmed columns, when its
/// header is exactly `header` and every row has as many columns.
pub(super) fn rows<'a>(
    text: &'a str,
    header: &[&str],
) -> Result<Vec<(usize, Vec<&'a str>)>, TableFault> {
    let mut seen_header = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fault = |message: String| TableFault::Row {
            line: i + 1,
            message,
        };
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if !seen_header {
            if cols != header {
                return Err(fault(format!("the header must be {}", header.join(", "))));
            }
            seen_header = true;
            continue;
        }
        if cols.len() != header.len() {
            return Err(fault(format!(
                "{} columns instead of {}",
                cols.len(),
                header.len()
            )));
        }
        out.push((i + 1, cols));
    }
    if seen_header {
        Ok(out)
    } else {
        Err(TableFault::NoHeader)
    }
}

/// A date written `YYYY-MM-DD`.
pub(super) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_with_their_line_and_faults_name_it() {
        let t = "# note\na\tb\n\nx\ty\n";
        assert_eq!(rows(t, &["a", "b"]), Ok(vec![(4, vec!["x", "y"])]));
        assert_eq!(rows("# none\n", &["a", "b"]), Err(TableFault::NoHeader));
        assert!(matches!(
            rows("a\tb\nx\n", &["a", "b"]),
            Err(TableFault::Row { line: 2, .. })
        ));
        assert!(matches!(
            rows("b\ta\n", &["a", "b"]),
            Err(TableFault::Row { line: 1, .. })
        ));
        assert!(is_date("2026-12-03") && !is_date("2026-1-03"));
    }
}

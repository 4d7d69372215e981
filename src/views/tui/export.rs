//! The dashboard's export key: the report of what is on screen, written into the export folder
//! named at start (`--export-dir`, the current folder by default) under a name that carries
//! the time, so one folder is all a sandbox needs to allow.
//!
//! It exists so that a live capture or a replay leaves a result behind without a second run.
//! It formats nothing itself: the report is [`crate::views::report::render`] of the observer
//! model the Observer tab shows. It must never write outside the export folder, and never
//! replace a file already there.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::observer::Model;
use crate::session::Snapshot;
use crate::views::report::{self, Inputs, ReportFormat};

/// Tries at a free name when reports are exported twice in one second.
const NAME_TRIES: u32 = 100;

/// Why an export failed, for the status bar.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("nothing to export yet")]
    Empty,
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// "onlooker-report-20261203-154412Z.md": the UTC time of the export, in a name that sorts
/// by time and needs no quoting in any shell or file system.
pub fn file_name(now: jiff::Timestamp, format: ReportFormat, n: u32) -> String {
    let ext = match format {
        ReportFormat::Json => "json",
        ReportFormat::Markdown => "md",
        ReportFormat::Text => "txt",
        ReportFormat::Html => "html",
    };
    let suffix = if n == 0 {
        String::new()
    } else {
        format!("-{n}")
    };
    format!(
        "onlooker-report-{}{suffix}.{ext}",
        now.strftime("%Y%m%d-%H%M%SZ")
    )
}

/// Write the report of `model` (the observer model of `snap`) into `dir`; the path written.
pub fn export(
    dir: &Path,
    model: Option<&Model>,
    snap: &Snapshot,
    format: ReportFormat,
    now: jiff::Timestamp,
) -> Result<PathBuf, ExportError> {
    let model = model.ok_or(ExportError::Empty)?;
    let inputs = Inputs {
        files: vec![snap.source.clone()],
        partial: snap.error.iter().cloned().collect(),
        synthetic: matches!(
            snap.kind,
            crate::session::SourceKind::Demo { synthetic: true }
        ),
    };
    let text = report::render(model, &inputs, format);
    let mut n = 0;
    loop {
        let path = dir.join(file_name(now, format, n));
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match opened {
            Ok(mut f) => {
                return f
                    .write_all(text.as_bytes())
                    .and_then(|()| f.flush())
                    .map(|()| path.clone())
                    .map_err(|source| ExportError::Write { path, source });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < NAME_TRIES => n += 1,
            Err(source) => return Err(ExportError::Write { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_time_and_never_replace_a_file() {
        let t = jiff::Timestamp::from_second(1_764_776_652).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(
            file_name(t, ReportFormat::Markdown, 0),
            "onlooker-report-20251203-154412Z.md"
        );
        assert_eq!(
            file_name(t, ReportFormat::Json, 2),
            "onlooker-report-20251203-154412Z-2.json"
        );
        let dir = std::env::temp_dir().join(format!("onlooker-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let snap = crate::views::tui::fixtures::sample();
        let zone = crate::observer::words::Zone::utc();
        let digest =
            crate::observer::digest::Digest::from_flows(snap.flows.iter().map(|f| f.as_ref()));
        let model = Model::build(&digest, &snap.events, &zone, false);
        let a = export(&dir, Some(&model), &snap, ReportFormat::Json, t);
        let b = export(&dir, Some(&model), &snap, ReportFormat::Json, t);
        let (a, b) = (a.ok(), b.ok());
        assert!(a.is_some() && b.is_some() && a != b, "{a:?} {b:?}");
        let text = a
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        assert!(text.contains("\"report_version\""), "{text}");
        assert!(matches!(
            export(&dir, None, &snap, ReportFormat::Json, t),
            Err(ExportError::Empty)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

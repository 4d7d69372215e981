//! Media: each upload and download as a row and a finding, with the kind of file its size
//! suggests (a guess from the size alone).

use super::build::Builder;
use super::{Finding, MediaRow, score, words};
use crate::model::EventKind;

impl Builder<'_> {
    pub(super) fn media(&mut self) -> Vec<MediaRow> {
        let mut rows = Vec::new();
        for e in self
            .events_of(|e| e.kind == EventKind::MediaUpload || e.kind == EventKind::MediaDownload)
        {
            let up = e.kind == EventKind::MediaUpload;
            let bytes = if up { e.bytes_out } else { e.bytes_in };
            let likely = words::size_class(e.size_class).to_string();
            let what = if up { "upload" } else { "download" };
            let sentence = match e.service.as_deref() {
                Some(name) => format!(
                    "{}: {} {name} {what} of {}, likely {likely}.",
                    self.zone.day_time(e.start_ts),
                    words::article(name),
                    words::bytes(bytes),
                ),
                None => format!(
                    "{}: {} {what} of {} (service not identified), likely {likely}.",
                    self.zone.day_time(e.start_ts),
                    words::article(what),
                    words::bytes(bytes),
                ),
            };
            let bonus = score::SIZE_BONUS * ((bytes as f64).max(1.0).log10() / 9.0).min(1.0);
            self.push(Finding {
                score: score::MEDIA + bonus,
                sentence,
                events: vec![e.id],
                flows: e.flows.iter().map(ToString::to_string).collect(),
                kind: "media".into(),
                mitigation: "timing_volume".into(),
                start_ts: Some(e.start_ts),
            });
            rows.push(MediaRow {
                event: e.id,
                service: e.service.clone(),
                direction: if up { "upload" } else { "download" },
                start_ts: e.start_ts,
                start: self.zone.day_time(e.start_ts),
                duration_secs: (e.end_ts - e.start_ts).max(0.0),
                bytes,
                size_class: e.size_class.map(|c| c.to_string()),
                likely,
            });
        }
        rows
    }
}

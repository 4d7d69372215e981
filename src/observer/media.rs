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

#[cfg(test)]
mod tests {
    use crate::model::{EventKind, SizeClass};
    use crate::observer::digest::Digest;
    use crate::observer::testkit::{HOUR, MONDAY, build, event, finding};

    #[test]
    fn transfers_name_their_size_and_the_larger_ranks_first() {
        let mut photo = event(
            1,
            EventKind::MediaUpload,
            MONDAY + HOUR,
            MONDAY + HOUR + 2.0,
        );
        photo.bytes_out = 250_000;
        let mut video = event(
            2,
            EventKind::MediaDownload,
            MONDAY + 2.0 * HOUR,
            MONDAY + 2.0 * HOUR + 9.0,
        );
        video.bytes_in = 12_000_000;
        video.size_class = Some(SizeClass::Video);
        video.service = None;
        let m = build(&Digest::default(), &[photo, video], false);
        let up = finding(&m, "media", "upload");
        assert_eq!(
            up.sentence,
            "Mon 01:00: a WhatsApp upload of 250 kB, likely a photo."
        );
        let down = finding(&m, "media", "download");
        assert_eq!(
            down.sentence,
            "Mon 02:00: a download of 12.0 MB (service not identified), likely a video."
        );
        assert!(down.score > up.score);
        let rows: Vec<(&str, u64, Option<&str>)> = m
            .media
            .iter()
            .map(|r| (r.direction, r.bytes, r.size_class.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("upload", 250_000, Some("photo")),
                ("download", 12_000_000, Some("video"))
            ]
        );
        assert_eq!(m.media[1].duration_secs, 9.0);
    }
}

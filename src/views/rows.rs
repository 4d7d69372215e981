//! The report's tables as rows of text: calls, messages and media, with their column heads.
//! Every form of the report (text, Markdown, HTML) draws these same rows, so the forms never
//! disagree on what a column holds. It must never count or decide anything: each row restates
//! one entry of the observer's model.

use crate::observer::{Model, words};

/// A table: its column heads and its rows, one cell per head.
pub struct Table {
    pub head: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

/// One row per call or attempt: when, how long (an attempt's in brackets), service, media,
/// path, the relay or peer, and its network and place with the event that says so.
pub fn calls(m: &Model) -> Table {
    let rows = m
        .calls
        .iter()
        .map(|c| {
            let place = words::place(c.city.as_deref(), c.country.as_deref());
            let attempt = c.kind == "call_attempt";
            vec![
                c.start.clone(),
                if attempt {
                    format!("({})", words::duration(c.duration_secs))
                } else {
                    words::duration(c.duration_secs)
                },
                c.service.clone().unwrap_or_else(|| "?".into()),
                if attempt {
                    "attempt".into()
                } else {
                    c.media.to_string()
                },
                c.path.to_string(),
                c.peer_ip.clone().unwrap_or_else(|| "-".into()),
                format!(
                    "{}{}; event {}",
                    c.network
                        .clone()
                        .unwrap_or_else(|| "network unknown".into()),
                    place.map(|p| format!(", {p}")).unwrap_or_default(),
                    c.event
                ),
            ]
        })
        .collect();
    Table {
        head: &[
            "start",
            "length",
            "service",
            "media",
            "path",
            "relay or peer",
            "network, place",
        ],
        rows,
    }
}

/// One row per service: messages sent and received, conversations, and when.
pub fn messages(m: &Model) -> Table {
    let rows = m
        .messages
        .per_service
        .iter()
        .map(|s| {
            vec![
                s.service.clone(),
                s.sent.to_string(),
                s.received.to_string(),
                s.conversations.to_string(),
                s.span.clone(),
            ]
        })
        .collect();
    Table {
        head: &["service", "sent", "received", "conversations", "when"],
        rows,
    }
}

/// One row per media transfer: when, service, sent or received, size, and the likely kind
/// with the event that says so.
pub fn media(m: &Model) -> Table {
    let rows = m
        .media
        .iter()
        .map(|x| {
            vec![
                x.start.clone(),
                x.service.clone().unwrap_or_else(|| "?".into()),
                if x.direction == "upload" {
                    "sent".into()
                } else {
                    "received".into()
                },
                words::bytes(x.bytes),
                format!("{} (from its size); event {}", x.likely, x.event),
            ]
        })
        .collect();
    Table {
        head: &["start", "service", "direction", "size", "likely kind"],
        rows,
    }
}

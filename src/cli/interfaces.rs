//! `onlooker interfaces`: the capture interfaces, their addresses, and whether capture is
//! permitted on each, telling a missing privilege from an interface that is down, and marking
//! the one `live` uses when no `-i` is given.

use std::io::{self, Write};

use anyhow::Context;

use super::{Failure, exit};
use crate::capture::live::InterfaceInfo;

/// Start of the reason libpcap's open failed for want of a privilege (as the capture stage
/// words it), the one case where "not permitted" is true.
const NO_PRIVILEGE: &str = "no capture privilege";

pub(super) fn interfaces(json: bool) -> Result<u8, Failure> {
    let list = crate::capture::live::list_interfaces()?;
    // The interface `live` opens without -i (libpcap's choice; none when it has none).
    let default = pcap::Device::lookup().ok().flatten().map(|d| d.name);
    let is_default = |i: &InterfaceInfo| default.as_deref() == Some(i.name.as_str());
    let mut out = io::stdout().lock();
    if json {
        let mut rows = Vec::with_capacity(list.len());
        for i in &list {
            let mut v = serde_json::to_value(i).context("writing the interface list")?;
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("state".into(), state(i).0.into());
                m.insert("default".into(), is_default(i).into());
            }
            rows.push(v);
        }
        serde_json::to_writer_pretty(&mut out, &rows).context("writing the interface list")?;
        writeln!(out).context("writing the interface list")?;
        return Ok(exit::OK);
    }
    for i in &list {
        writeln!(
            out,
            "{}{}{}{}\n    addresses: {}\n    {}",
            i.name,
            if i.up { " (up)" } else { " (down)" },
            if i.loopback { " loopback" } else { "" },
            if is_default(i) {
                "  <- default for `onlooker live` without -i"
            } else {
                ""
            },
            if i.addresses.is_empty() {
                "none".to_string()
            } else {
                i.addresses.join(", ")
            },
            state(i).1
        )
        .context("writing the interface list")?;
    }
    if default.is_none() && !list.is_empty() {
        writeln!(
            out,
            "no default interface: name one with `onlooker live -i NAME`"
        )
        .context("writing the interface list")?;
    }
    Ok(exit::OK)
}

/// The capture state of an interface: a word for JSON ("permitted", "not-permitted",
/// "down", "failed") and the line people read.
fn state(i: &InterfaceInfo) -> (&'static str, String) {
    let reason = i.reason.as_deref().unwrap_or("unknown");
    if i.capture_permitted {
        ("permitted", "capture permitted".to_string())
    } else if reason.starts_with(NO_PRIVILEGE) {
        ("not-permitted", format!("capture NOT permitted: {reason}"))
    } else if !i.up {
        (
            "down",
            "down (not a permission problem): nothing to capture until it is brought up"
                .to_string(),
        )
    } else {
        ("failed", format!("capture fails here: {reason}"))
    }
}

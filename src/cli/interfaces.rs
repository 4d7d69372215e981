//! `onlooker interfaces`: the capture interfaces, their addresses, and whether capture is
//! permitted on each.

use std::io::{self, Write};

use anyhow::Context;

use super::{Failure, exit};

pub(super) fn interfaces(json: bool) -> Result<u8, Failure> {
    let list = crate::capture::live::list_interfaces()?;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &list).context("writing the interface list")?;
        writeln!(out).context("writing the interface list")?;
    } else {
        for i in &list {
            let state = if i.capture_permitted {
                "capture permitted".to_string()
            } else {
                format!(
                    "capture NOT permitted: {}",
                    i.reason.as_deref().unwrap_or("unknown")
                )
            };
            writeln!(
                out,
                "{}{}{}\n    addresses: {}\n    {}",
                i.name,
                if i.up { " (up)" } else { " (down)" },
                if i.loopback { " loopback" } else { "" },
                if i.addresses.is_empty() {
                    "none".to_string()
                } else {
                    i.addresses.join(", ")
                },
                state
            )
            .context("writing the interface list")?;
        }
    }
    Ok(exit::OK)
}

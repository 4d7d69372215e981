//! `report --format html`: one self-contained page (nothing fetched from anywhere), with the
//! findings, the tables and inline SVG pictures, `--redact` applied as in the other formats,
//! and rendered by a real headless browser without errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap")
}

fn html(args: &[&str]) -> String {
    common::stdout_of(
        ["report", "--format", "html", "--tz", "UTC"]
            .iter()
            .chain(args),
    )
}

#[test]
fn the_page_is_self_contained_and_holds_the_report() {
    let page = html(&[demo().to_str().unwrap()]);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.trim_end().ends_with("</html>"));
    // Nothing that a browser would fetch.
    for bad in [
        "<script", "src=", "href=", "url(", "@import", "<link", "<img", "<iframe",
    ] {
        assert!(
            !page.to_lowercase().contains(bad),
            "the page contains {bad}"
        );
    }
    for section in [
        "Headline",
        "Timeline",
        "Hours of activity",
        "Calls",
        "Messages",
        "Where the traffic went",
        "What would have hidden it",
        "Every finding, with its evidence",
    ] {
        assert!(page.contains(&format!("<h2>{section}")), "no {section}");
    }
    assert!(page.matches("<svg ").count() >= 3, "{page}");
    assert!(
        page.contains("Synthetic capture"),
        "the demo's page says it is synthetic"
    );
    assert!(page.contains("WhatsApp"));
    // Tags the page opens, it closes.
    for tag in ["svg", "table", "ul", "ol", "html", "body"] {
        assert_eq!(
            page.matches(&format!("<{tag}")).count(),
            page.matches(&format!("</{tag}>")).count(),
            "<{tag}>"
        );
    }
}

#[test]
fn redact_hides_the_local_side_in_html_too() {
    let plain = html(&[demo().to_str().unwrap()]);
    assert!(
        plain.contains("192.168.1.23"),
        "the demo phone's address is in its flows"
    );
    let redacted = html(&["--redact", demo().to_str().unwrap()]);
    assert!(!redacted.contains("192.168.1.23"), "{redacted}");
    assert!(redacted.contains("device-1"), "{redacted}");
}

/// The first headless browser found (.ci/run installs chromium).
fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(b))
                    .find(|p| p.is_file())
            })
        })
}

#[test]
fn a_headless_browser_renders_the_page_to_an_image() {
    let Some(browser) = browser() else {
        println!(
            "SKIPPED a_headless_browser_renders_the_page_to_an_image: no chromium (apt-get install chromium)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html(&[demo().to_str().unwrap()])).unwrap();
    let shot = dir.path().join("report.png");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1000,2400",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", browser.display());
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {err}"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 10_000,
        "a near-empty image: {} bytes",
        png.len()
    );
}

//! The one-way shape of the crate, checked: every top-level module of `src/` may use only the
//! modules below it in [`LAYERS`] (docs/design.md draws the same order), and no source file
//! outside tests grows past [`MAX_LINES`].
//!
//! An arrow is any `crate::NAME` path or `use crate::{NAME, …}` group in non-test code. Test
//! code is left out wherever it stands: files declared as `#[cfg(test)] mod NAME;` and inline
//! `#[cfg(test)] mod NAME { … }` blocks.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules from the lowest to the highest. A module may name only those before it.
const LAYERS: &[&str] = &[
    "sandbox", "capture", "decode", "flow", "scenario", "dissect", "model", "naming", "activity",
    "observer", "analysis", "session", "views", "cli",
];

/// Longest source file allowed outside tests: past this a file holds more than one idea.
const MAX_LINES: usize = 1200;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, skipping files that a `#[cfg(test)] mod x;` declares.
fn sources(dir: &Path, test_files: &BTreeSet<PathBuf>, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if test_files.contains(&p) {
            continue;
        }
        if p.is_dir() {
            sources(&p, test_files, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Files (or folders) declared by `#[cfg(test)] mod NAME;` in `file`.
fn test_modules(file: &Path, text: &str) -> Vec<PathBuf> {
    let dir = match file.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") => file.parent().map(Path::to_path_buf),
        _ => file.with_extension("").into(),
    };
    let Some(dir) = dir else { return Vec::new() };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for w in lines.windows(2) {
        if w[0] == "#[cfg(test)]"
            && let Some(rest) = w[1].strip_prefix("mod ").or(w[1].strip_prefix("pub mod "))
            && let Some(name) = rest.strip_suffix(';')
        {
            out.push(dir.join(format!("{name}.rs")));
            out.push(dir.join(name));
        }
    }
    out
}

/// `text` without inline `#[cfg(test)] mod NAME { … }` blocks (brace-matched; braces inside
/// strings are rare enough in this code base that a test module's body is found whole).
fn without_test_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let is_test_attr = line.trim() == "#[cfg(test)]";
        let next_opens_block = lines
            .peek()
            .is_some_and(|n| n.trim_start().starts_with("mod ") && n.trim_end().ends_with('{'));
        if is_test_attr && next_opens_block {
            let mut depth = 0i32;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                if depth <= 0 {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Top-level modules a piece of code names through `crate::`.
fn arrows(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        // Not part of a longer path such as `onlooker_crate::` or `$crate::`.
        if code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::X, b, c::{..}}`: the first name of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The top-level module a file belongs to (`src/flow/table.rs` → `flow`).
fn top_module(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.strip_suffix(".rs").unwrap_or(first).to_string())
}

struct Tree {
    files: Vec<(PathBuf, String)>,
}

fn tree() -> Tree {
    // Two passes: first the files that test declarations exclude, then the rest.
    let mut all = Vec::new();
    sources(&src(), &BTreeSet::new(), &mut all);
    let mut excluded = BTreeSet::new();
    for f in &all {
        let text = fs::read_to_string(f).unwrap_or_default();
        excluded.extend(test_modules(f, &text));
    }
    let mut files = Vec::new();
    sources(&src(), &excluded, &mut files);
    let files = files
        .into_iter()
        .map(|f| {
            let text = fs::read_to_string(&f).unwrap_or_default();
            (f, text)
        })
        .collect();
    Tree { files }
}

#[test]
fn every_top_level_module_is_in_the_layer_list() {
    let tree = tree();
    let mut unknown = BTreeSet::new();
    for (f, _) in &tree.files {
        if let Some(m) = top_module(f)
            && !matches!(m.as_str(), "lib" | "main")
            && !LAYERS.contains(&m.as_str())
        {
            unknown.insert(m);
        }
    }
    assert!(
        unknown.is_empty(),
        "top-level modules missing from LAYERS in tests/layers.rs (place each in the order \
         of docs/design.md): {unknown:?}"
    );
    assert!(
        tree.files.len() > 20,
        "read only {} files",
        tree.files.len()
    );
}

#[test]
fn no_module_uses_a_module_above_it() {
    let tree = tree();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut upward = Vec::new();
    let mut seen = 0;
    for (f, text) in &tree.files {
        let Some(m) = top_module(f) else { continue };
        let Some(mine) = rank(&m) else { continue };
        for target in arrows(&without_test_blocks(text)) {
            seen += 1;
            if target == m || target == "self" || target == "super" {
                continue;
            }
            match rank(&target) {
                Some(t) if t < mine => {}
                _ => upward.push(format!(
                    "{} ({m}) uses crate::{target}",
                    f.strip_prefix(src()).unwrap_or(f).display()
                )),
            }
        }
    }
    assert!(
        seen > 50,
        "found only {seen} crate:: paths; is the scan broken?"
    );
    assert!(
        upward.is_empty(),
        "arrows against the layer order {LAYERS:?}:\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn no_source_file_outside_tests_is_over_the_limit() {
    let tree = tree();
    let long: Vec<String> = tree
        .files
        .iter()
        .filter_map(|(f, text)| {
            let code = without_test_blocks(text);
            let n = code.lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "source files over {MAX_LINES} lines outside tests:\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn the_scanner_sees_arrows_and_skips_test_code() {
    let code = "use crate::flow::Dir;\nuse crate::{decode::{Packet, proto}, capture};\n\
                fn f() { crate::model::x(); }\n#[cfg(test)]\nmod tests {\n    use crate::cli;\n}\n";
    let found = arrows(&without_test_blocks(code));
    let want: BTreeSet<String> = ["flow", "decode", "capture", "model"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
}

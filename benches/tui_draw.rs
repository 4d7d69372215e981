//! Dashboard frame cost with 100,000 flows: drawing each tab from a prepared snapshot (what
//! happens ten times a second), and the per-snapshot work (filter and sort) that drawing relies
//! on being cached (the dashboard's worker thread does it; `App::sync` does the same inline
//! here). Run: `cargo bench --bench tui_draw`. The UI thread's own cost per key and per
//! snapshot, inline and with the worker, is measured by `examples/dashboard-latency.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/synthetic.rs"]
mod synthetic;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use onlooker::session::Snapshot;
use onlooker::views::tui::App;
use onlooker::views::tui::app::{FlowCol, Tab};
use onlooker::views::tui::draw::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use synthetic::flow;

const FLOWS: u32 = 100_000;

fn snapshot() -> Arc<Snapshot> {
    synthetic::snapshot((0..FLOWS).map(|i| Arc::new(flow(i))).collect(), 0)
}

fn bench(c: &mut Criterion) {
    let snap = snapshot();
    for (w, h) in [(80u16, 24u16), (160, 50)] {
        for tab in [
            Tab::Observer,
            Tab::Timeline,
            Tab::Flows,
            Tab::Events,
            Tab::Map,
        ] {
            let mut app = App::new(false);
            app.tab = tab;
            // Sorted by bytes, descending, and a selection deep in the table.
            app.sort = FlowCol::Bytes;
            app.descending = true;
            app.sync(&snap);
            app.flows.selected = 50_000;
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            c.bench_function(&format!("draw {} {w}x{h}, 100k flows", tab.title()), |b| {
                b.iter(|| {
                    term.draw(|f| draw(f, &app, &snap)).unwrap();
                });
            });
        }
    }
    // Per-snapshot work: a new snapshot arrives, rows are filtered and sorted once.
    let mut group = c.benchmark_group("per snapshot");
    group.sample_size(20);
    for (name, sort, filter) in [
        ("derive + rows, start order", FlowCol::Start, ""),
        ("derive + rows, sort by server", FlowCol::Server, ""),
        (
            "derive + rows, filter service:whatsapp country:PT",
            FlowCol::Start,
            "service:whatsapp country:PT",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut app = App::new(false);
                    app.sort = sort;
                    app.tab = Tab::Flows;
                    app.on_key(crossterm::event::KeyEvent::from(
                        crossterm::event::KeyCode::Char('/'),
                    ));
                    for ch in filter.chars() {
                        app.on_key(crossterm::event::KeyEvent::from(
                            crossterm::event::KeyCode::Char(ch),
                        ));
                    }
                    app
                },
                |mut app| app.sync(&snap),
                criterion::BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

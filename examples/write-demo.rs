//! Writes the bundled demo capture, `assets/demo.pcap`, from the synthetic scenario in
//! `onlooker::scenario::demo`. Run after changing the scenario:
//! `cargo run --example write-demo`. A test checks the committed file matches.

fn main() -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    onlooker::scenario::demo().write_pcap(file)?;
    println!("wrote {}", path.display());
    Ok(())
}

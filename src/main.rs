//! The `onlooker` binary: see the library crate for the stages.

fn main() -> std::process::ExitCode {
    onlooker::cli::main()
}

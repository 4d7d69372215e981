//! `onlooker completions SHELL` and `onlooker man`: what an installed binary needs to feel
//! installed, generated from the same command-line definition as the parser, so they can never
//! disagree with it.
//!
//! This module must never read captures or write anywhere but standard output.

use std::io::{self, Write};

use anyhow::Context;
use clap::CommandFactory;

use super::{Cli, Failure, exit};

/// `onlooker completions SHELL`: the completion script for that shell, on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut cmd = Cli::command();
    let mut out = io::BufWriter::new(io::stdout().lock());
    clap_complete::generate(shell, &mut cmd, "onlooker", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(exit::OK)
}

/// `onlooker man`: the manual page (roff) on stdout, for `man -l -` or a man directory.
pub(super) fn man() -> Result<u8, Failure> {
    let cmd = Cli::command();
    let mut out = io::BufWriter::new(io::stdout().lock());
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("writing the manual page")?;
    out.flush().context("writing the manual page")?;
    Ok(exit::OK)
}

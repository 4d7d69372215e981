//! What a confined process tries, to show the confinement holds: write a file in the home
//! folder, connect to a local TCP port, run a program. Only tests call this (tests/sandbox.rs
//! runs it in a child process after [`confine`](super::confine)); the binary never does.
//!
//! This module must never be reachable from the command line.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// How long the connect attempt may wait: a local port answers at once.
const CONNECT_WAIT: Duration = Duration::from_secs(2);

/// One attempt and what came of it.
#[derive(Debug)]
pub struct Attempt {
    /// What was tried, in words.
    pub what: String,
    /// `Ok` when it was done (the sandbox let it through).
    pub outcome: io::Result<()>,
}

/// Try the three things a confined command must not be able to do: create `file` for writing,
/// connect to `addr`, and run `program`. What succeeded is undone (the file removed, the
/// connection closed).
pub fn forbidden(file: &Path, addr: SocketAddr, program: &Path) -> Vec<Attempt> {
    let write = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(file)
        .map(|_| {
            let _ = std::fs::remove_file(file);
        });
    let connect = TcpStream::connect_timeout(&addr, CONNECT_WAIT).map(drop);
    let exec = std::process::Command::new(program)
        .stdin(std::process::Stdio::null())
        .status()
        .and_then(|s| {
            if s.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!("ran, but {s}")))
            }
        });
    vec![
        Attempt {
            what: format!("write {}", file.display()),
            outcome: write,
        },
        Attempt {
            what: format!("connect to {addr}"),
            outcome: connect,
        },
        Attempt {
            what: format!("run {}", program.display()),
            outcome: exec,
        },
    ]
}

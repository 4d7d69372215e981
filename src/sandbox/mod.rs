//! Least power while parsing hostile bytes: every command confines itself once its sources
//! are open, its outputs created and its privileges dropped, and before any other thread
//! starts.
//!
//! onlooker parses bytes that anyone on the network can send (DNS, TLS, QUIC, STUN, RTP,
//! certificates). A parser bug that a crafted packet turned into code execution would inherit
//! whatever the process may still do; so, from that point on, the process may do only what
//! the running command needs ([`Plan`]):
//!
//! - **files** (Landlock): read only the inputs the command was given, write only inside the
//!   outputs the user named; nothing else, not even listing a folder. Already open
//!   descriptors (standard input and output, the capture handle) keep working;
//! - **network** (Landlock, ABI 4 and later): no TCP bind or connect; (seccomp) no new socket
//!   at all, except a local socket pair where the dashboard's signal handling needs one;
//! - **system calls** (seccomp, installed with seccomp(2) on every thread): an allow-list of
//!   what the command's threads call; everything else, execve, ptrace and socket included,
//!   fails with `EPERM` instead of killing the process, so a missing entry shows as an error
//!   message rather than a crash.
//!
//! On a kernel without Landlock, or with an older ABI, what could not be applied is said once
//! on stderr and the run goes on with the rest; `--no-sandbox` turns all of it off, with a
//! warning. docs/privileges.md lists what each command may still do.
//!
//! This module must never widen what a plan allows after confinement (there is no way back),
//! and must be called before the command starts any other thread: Landlock confines only the
//! calling thread and the threads it starts afterwards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(target_os = "linux")]
mod files;
pub mod probe;
#[cfg(target_os = "linux")]
mod syscalls;

/// Set once by `--no-sandbox`: the commands then run unconfined.
static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turn confinement off for this process (`--no-sandbox`, for debugging).
pub fn disable() {
    DISABLED.store(true, Ordering::SeqCst);
}

/// What a command may still do once confined, besides computing and using the descriptors it
/// already holds.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Files (or folders, with everything beneath) it may read: the inputs it was given.
    pub(crate) read: Vec<PathBuf>,
    /// Folders it may create new files in and write them (the dashboard's export folder).
    pub(crate) write_in: Vec<PathBuf>,
    /// Files it may write (an output file named on the command line).
    pub(crate) write: Vec<PathBuf>,
    /// It draws on a terminal: terminal ioctls, reopening /dev/tty, and the local socket pair
    /// the event loop's signal handling makes.
    pub(crate) terminal: bool,
    /// It reads a live capture: the packet socket's options and counters, never sending on it.
    pub(crate) capture: bool,
}

impl Plan {
    /// A plan that allows nothing beyond computing and the descriptors already open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also read these files (capture files, `-` and other streams included: a name that does
    /// not exist is left out).
    #[must_use]
    pub fn reading<P: AsRef<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.read
            .extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Also create and write files inside `dir`.
    #[must_use]
    pub fn writing_in(mut self, dir: &Path) -> Self {
        self.write_in.push(dir.to_path_buf());
        self
    }

    /// Also write the existing file `path`.
    #[must_use]
    pub fn writing(mut self, path: &Path) -> Self {
        self.write.push(path.to_path_buf());
        self
    }

    /// Draw on a terminal (the dashboard).
    #[must_use]
    pub fn terminal(mut self) -> Self {
        self.terminal = true;
        self
    }

    /// Whether this plan reads a live capture.
    pub fn is_capture(&self) -> bool {
        self.capture
    }

    /// Read a live capture already open.
    #[must_use]
    pub fn capture(mut self) -> Self {
        self.capture = true;
        self
    }
}

/// Why confinement could not be installed. Any of these stops the command: it never parses
/// with more power than it announced.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("confining file and network access (Landlock): {0}")]
    Landlock(String),
    #[error("installing the system call filter (seccomp): {0}")]
    Seccomp(String),
    #[error(
        "{0} threads already run; the sandbox must be installed before any other thread starts"
    )]
    Threads(usize),
}

/// What was put in force, for the tests and for the one line of warnings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Confined {
    /// Landlock ABI in force (0: none).
    pub landlock_abi: i32,
    /// Whether the system call filter is installed.
    pub seccomp: bool,
    /// What could not be applied, each in words.
    pub missing: Vec<String>,
}

/// Confine this process to `plan`, unless `--no-sandbox` was given. What the kernel cannot
/// enforce is said once on stderr; a failure to install what it offers is an error.
pub fn confine(plan: &Plan) -> Result<Option<Confined>, SandboxError> {
    if DISABLED.load(Ordering::SeqCst) {
        eprintln!(
            "onlooker: warning: --no-sandbox: parsing untrusted packets without confinement \
             (any file of this user can be read and written, programs run, connections made)"
        );
        return Ok(None);
    }
    let confined = apply(plan)?;
    if !confined.missing.is_empty() {
        eprintln!(
            "onlooker: warning: sandbox partly applied on this kernel: {} (see docs/privileges.md)",
            confined.missing.join("; ")
        );
    }
    Ok(Some(confined))
}

#[cfg(target_os = "linux")]
fn apply(plan: &Plan) -> Result<Confined, SandboxError> {
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, Iterator::count);
    if threads > 1 {
        return Err(SandboxError::Threads(threads));
    }
    let mut confined = Confined::default();
    // Looked up before Landlock closes /proc to the process.
    let packet = if plan.capture {
        syscalls::packet_sockets()
    } else {
        Vec::new()
    };
    files::restrict(plan, &mut confined)?;
    syscalls::install(plan, &packet, &mut confined)?;
    Ok(confined)
}

#[cfg(not(target_os = "linux"))]
fn apply(_plan: &Plan) -> Result<Confined, SandboxError> {
    Ok(Confined {
        missing: vec!["no sandbox on this operating system (Linux only)".into()],
        ..Confined::default()
    })
}

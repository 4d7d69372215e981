//! The system call filter: an allow-list per plan, installed with seccomp(2) on every thread
//! of the process (TSYNC) and inherited by the threads started later. Whatever is not listed
//! (execve, ptrace, socket, connect, mount, bpf, …) fails with `EPERM`: a call this list forgot
//! then shows as an error message that names it in `strace`, not as a killed process.
//!
//! The list was taken from `strace -f -c` of every command (flows, events, report, the
//! dashboard, live capture): what Rust's standard library, tokio, crossterm and libpcap call
//! once running. This must never allow creating a socket other than a local socket pair, nor
//! sending on the capture's packet socket.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::{Confined, Plan, SandboxError};

/// Calls every command makes once running: memory, threads and their synchronisation, clocks,
/// signals of its own, and reading and writing descriptors. Opening files is governed by
/// Landlock, not here.
const BASE: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_readv,
    libc::SYS_pread64,
    libc::SYS_lseek,
    libc::SYS_close,
    libc::SYS_openat,
    libc::SYS_newfstatat,
    libc::SYS_fstat,
    libc::SYS_statx,
    libc::SYS_readlinkat,
    libc::SYS_getdents64,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_pipe2,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    libc::SYS_mremap,
    libc::SYS_brk,
    libc::SYS_futex,
    libc::SYS_clone,
    libc::SYS_clone3,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_getrandom,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_gettid,
    libc::SYS_getpid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_uname,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_eventfd2,
    libc::SYS_getsockopt,
    // libpcap gives the capture ring back on close (PACKET_RX_RING with no frames).
    libc::SYS_setsockopt,
    libc::SYS_recvfrom,
    libc::SYS_recvmsg,
];

/// The x86-64 spellings of the same calls (aarch64 and riscv64 have only the `*at` forms).
#[cfg(target_arch = "x86_64")]
const LEGACY: &[libc::c_long] = &[
    libc::SYS_open,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_readlink,
    libc::SYS_access,
    libc::SYS_pipe,
    libc::SYS_poll,
    libc::SYS_select,
    libc::SYS_epoll_create,
    libc::SYS_epoll_wait,
    libc::SYS_arch_prctl,
];
#[cfg(not(target_arch = "x86_64"))]
const LEGACY: &[libc::c_long] = &[];

/// Calls that duplicate a descriptor: refused where a packet socket is open, so that it can
/// never be written under another number.
#[cfg(target_arch = "x86_64")]
const DUP: &[libc::c_long] = &[libc::SYS_dup, libc::SYS_dup2, libc::SYS_dup3];
#[cfg(not(target_arch = "x86_64"))]
const DUP: &[libc::c_long] = &[libc::SYS_dup, libc::SYS_dup3];

/// An ioctl request as the kernel compares it: the low 32 bits (the C type differs by libc).
#[allow(clippy::unnecessary_cast)] // `Ioctl` is u64 with glibc, i32 with musl.
const fn req(r: libc::Ioctl) -> u64 {
    (r as u64) & 0xffff_ffff
}

/// Terminal ioctls any command may make: is this a terminal (glibc asks with TCGETS2 where
/// the kernel has it), how large is it.
const IOCTL_READ: &[u64] = &[req(libc::TCGETS), req(libc::TCGETS2), req(libc::TIOCGWINSZ)];
/// Terminal ioctls of the dashboard: raw mode on and off again. TIOCSTI (typing into the
/// terminal) is never among them.
const IOCTL_TERMINAL: &[u64] = &[
    req(libc::TCSETS),
    req(libc::TCSETSW),
    req(libc::TCSETSF),
    req(libc::TCSETS2),
    req(libc::TCSETSW2),
    req(libc::TCSETSF2),
    req(libc::FIONBIO),
    req(libc::FIONREAD),
    req(libc::FIOCLEX),
    req(libc::TIOCGPGRP),
];

/// Interface ioctls of a live capture: libpcap asks whether the interface is still there
/// when the packet socket reports an error (read-only questions; nothing that sets).
const IOCTL_CAPTURE: &[u64] = &[req(libc::SIOCGIFFLAGS), req(libc::SIOCGIFINDEX)];

/// `prctl` options the threads use: naming themselves.
const PRCTL: &[u64] = &[libc::PR_SET_NAME as u64, libc::PR_GET_NAME as u64];

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

fn cond(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(arg, len, op, value).map_err(|e| SandboxError::Seccomp(e.to_string()))
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
    SeccompRule::new(conditions).map_err(|e| SandboxError::Seccomp(e.to_string()))
}

/// Allow `nr` when argument `arg` is one of `values`.
fn allow_values(
    rules: &mut Rules,
    nr: libc::c_long,
    arg: u8,
    len: SeccompCmpArgLen,
    values: &[u64],
) -> Result<(), SandboxError> {
    let list = rules.entry(nr).or_default();
    for &v in values {
        list.push(rule(vec![cond(arg, len.clone(), SeccompCmpOp::Eq, v)?])?);
    }
    Ok(())
}

/// Allow `nr` unless argument `arg` is one of `values` (an empty list: always).
fn allow_except(
    rules: &mut Rules,
    nr: libc::c_long,
    arg: u8,
    values: &[u64],
) -> Result<(), SandboxError> {
    let conditions = values
        .iter()
        .map(|&v| cond(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, v))
        .collect::<Result<Vec<_>, _>>()?;
    let list = if conditions.is_empty() {
        Vec::new()
    } else {
        vec![rule(conditions)?]
    };
    rules.insert(nr, list);
    Ok(())
}

/// Open descriptors that are packet sockets (the live capture's), by asking each socket its
/// domain.
pub(super) fn packet_sockets() -> Vec<u64> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::c_int>().ok())
        .filter(|&fd| {
            let mut domain: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: getsockopt writes at most `len` bytes into `domain`, an int it owns; on a
            // descriptor that is not a socket it only fails.
            let r = unsafe {
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_DOMAIN,
                    std::ptr::from_mut(&mut domain).cast(),
                    &mut len,
                )
            };
            r == 0 && domain == libc::AF_PACKET
        })
        .filter_map(|fd| u64::try_from(fd).ok())
        .collect()
}

fn filter(plan: &Plan, packet: &[u64]) -> Result<Rules, SandboxError> {
    let mut rules = Rules::new();
    for &nr in BASE.iter().chain(LEGACY) {
        rules.insert(nr, Vec::new());
    }
    let me = u64::from(std::process::id());
    // Signals only to this process (a panic's abort raises one).
    allow_values(
        &mut rules,
        libc::SYS_tgkill,
        0,
        SeccompCmpArgLen::Dword,
        &[me],
    )?;
    allow_values(
        &mut rules,
        libc::SYS_prctl,
        0,
        SeccompCmpArgLen::Dword,
        PRCTL,
    )?;
    // Reading resource limits (thread stacks), never setting them.
    allow_values(
        &mut rules,
        libc::SYS_prlimit64,
        2,
        SeccompCmpArgLen::Qword,
        &[0],
    )?;
    let mut ioctls = IOCTL_READ.to_vec();
    if plan.terminal {
        ioctls.extend_from_slice(IOCTL_TERMINAL);
        // tokio's signal handling wakes its loop through a local socket pair.
        allow_values(
            &mut rules,
            libc::SYS_socketpair,
            0,
            SeccompCmpArgLen::Dword,
            &[libc::AF_UNIX as u64],
        )?;
        // Its signal handler wakes the loop with send(2) on that pair: no address, and
        // never on a packet socket.
        let mut conditions = vec![cond(4, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, 0)?];
        for &fd in packet {
            conditions.push(cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, fd)?);
        }
        rules.insert(libc::SYS_sendto, vec![rule(conditions)?]);
    }
    if plan.capture {
        ioctls.extend_from_slice(IOCTL_CAPTURE);
    }
    allow_values(
        &mut rules,
        libc::SYS_ioctl,
        1,
        SeccompCmpArgLen::Dword,
        &ioctls,
    )?;
    // Writing: anywhere already open, except on the capture's packet socket, which would send
    // frames onto the network; nor can it be duplicated to be written under another number.
    for nr in [libc::SYS_write, libc::SYS_writev, libc::SYS_pwrite64] {
        allow_except(&mut rules, nr, 0, packet)?;
    }
    for &nr in DUP {
        allow_except(&mut rules, nr, 0, packet)?;
    }
    allow_except(&mut rules, libc::SYS_fcntl, 0, packet)?;
    if !packet.is_empty() {
        // fcntl on the packet socket itself: anything but duplicating it (F_GETFL and the like).
        let not_dup = [libc::F_DUPFD as u64, libc::F_DUPFD_CLOEXEC as u64]
            .iter()
            .map(|&v| cond(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, v))
            .collect::<Result<Vec<_>, _>>()?;
        rules
            .entry(libc::SYS_fcntl)
            .or_default()
            .push(rule(not_dup)?);
    }
    Ok(rules)
}

/// Install the filter of `plan`; `packet` are the descriptors of open packet sockets.
pub(super) fn install(
    plan: &Plan,
    packet: &[u64],
    confined: &mut Confined,
) -> Result<(), SandboxError> {
    let Ok(arch) = TargetArch::try_from(std::env::consts::ARCH) else {
        confined.missing.push(format!(
            "no system call filter on {} (seccomp lists exist for x86_64, aarch64, riscv64)",
            std::env::consts::ARCH
        ));
        return Ok(());
    };
    let err = |e: seccompiler::BackendError| SandboxError::Seccomp(e.to_string());
    let f = SeccompFilter::new(
        filter(plan, packet)?,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch,
    )
    .map_err(err)?;
    let program: BpfProgram = f.try_into().map_err(err)?;
    seccompiler::apply_filter_all_threads(&program)
        .map_err(|e| SandboxError::Seccomp(e.to_string()))?;
    confined.seccomp = true;
    Ok(())
}

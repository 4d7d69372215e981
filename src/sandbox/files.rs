//! File and TCP access after confinement, with Landlock: the ruleset handles every right the
//! kernel knows (up to [`TARGET`]), and grants back only the plan's reads and writes. With no
//! TCP port rule, bind and connect of TCP sockets are refused (ABI 4 and later); signals and
//! abstract Unix sockets are scoped to the process (ABI 6 and later).
//!
//! Best effort: what the running kernel lacks is left out and named in
//! [`Confined::missing`](super::Confined); this must never loosen a right the kernel has.

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

use super::{Confined, Plan, SandboxError};

/// The newest ABI this code asks for: 7 (Linux 6.15), the one its tests run on. Rights of
/// later ABIs are not handled, so they stay allowed until this is raised and tested.
const TARGET: ABI = ABI::V7;

/// What each ABI brings that an older kernel cannot enforce, in words for the warning.
const BY_ABI: &[(i32, &str)] = &[
    (1, "file access is not confined (no Landlock)"),
    (
        2,
        "renaming or linking files across folders is not confined (Landlock ABI 2)",
    ),
    (3, "truncating files is not confined (Landlock ABI 3)"),
    (
        4,
        "TCP bind and connect are not refused by Landlock (ABI 4; seccomp still refuses new sockets)",
    ),
    (
        5,
        "ioctl on newly opened devices is not confined (Landlock ABI 5)",
    ),
    (
        6,
        "signals to other processes and abstract Unix sockets are not scoped (Landlock ABI 6)",
    ),
];

/// `statfs` magic numbers of the kernel's internal file systems for pipes and sockets
/// (linux/magic.h).
const PIPEFS_MAGIC: i64 = 0x5049_5045;
const SOCKFS_MAGIC: i64 = 0x534F_434B;

/// Whether `path` leads to an anonymous pipe or socket (`/dev/stdin` on a pipe, a shell's
/// `<(…)`): Landlock takes no rule for those (EBADFD), and needs none, since it never
/// restricts opening objects of internal file systems.
fn anonymous(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a NUL-terminated path and a buffer of the size statfs writes.
    if unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: statfs succeeded, so it filled the buffer.
    // `f_type` is i64 with glibc on 64-bit machines, narrower elsewhere.
    #[allow(clippy::useless_conversion)]
    let kind = i64::from(unsafe { st.assume_init() }.f_type);
    kind == PIPEFS_MAGIC || kind == SOCKFS_MAGIC
}

pub(super) fn restrict(plan: &Plan, confined: &mut Confined) -> Result<(), SandboxError> {
    let err = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let read = AccessFs::from_read(TARGET);
    let write = AccessFs::WriteFile | AccessFs::Truncate;
    let create = write | AccessFs::MakeReg;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(TARGET))
        .map_err(err)?
        .handle_access(AccessNet::from_all(TARGET))
        .map_err(err)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rules(path_beneath_rules(
            plan.read.iter().filter(|p| !anonymous(p)),
            read,
        ))
        .map_err(err)?
        .add_rules(path_beneath_rules(&plan.write, write))
        .map_err(err)?
        .add_rules(path_beneath_rules(&plan.write_in, create))
        .map_err(err)?;
    if plan.terminal {
        // crossterm reopens the controlling terminal when standard input is not one.
        ruleset = ruleset
            .add_rules(path_beneath_rules(
                ["/dev/tty"],
                AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev,
            ))
            .map_err(err)?;
    }
    let status = ruleset.restrict_self().map_err(err)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as i32,
        LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => 0,
    };
    confined.landlock_abi = if status.ruleset == RulesetStatus::NotEnforced {
        0
    } else {
        abi
    };
    confined.missing.extend(missing(confined.landlock_abi));
    Ok(())
}

/// What a kernel offering Landlock ABI `abi` (0: none) cannot enforce of [`TARGET`], in words.
fn missing(abi: i32) -> Vec<String> {
    BY_ABI
        .iter()
        .filter(|(needs, _)| abi < *needs)
        .map(|(_, what)| (*what).to_string())
        // Without Landlock at all, the first line says it all.
        .take(if abi == 0 { 1 } else { usize::MAX })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_kernel_is_told_what_it_lacks() {
        assert_eq!(
            missing(0),
            vec!["file access is not confined (no Landlock)"]
        );
        let abi3 = missing(3);
        assert_eq!(abi3.len(), 3, "{abi3:?}");
        assert!(abi3[0].starts_with("TCP bind and connect"), "{abi3:?}");
        assert!(missing(TARGET as i32).is_empty());
        assert!(missing(6).is_empty());
        assert_eq!(missing(5).len(), 1);
    }
}

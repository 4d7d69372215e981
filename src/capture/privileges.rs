//! Giving up capture privileges once the capture handle is open.
//!
//! Opening a packet socket needs root or `CAP_NET_RAW`; reading from a socket that is already
//! open, installing nothing new, and reading its kernel counters need no privilege at all. So
//! `onlooker live` opens the handle with the rights it was started with and then drops them
//! before the first packet is read, for the whole rest of the run:
//!
//! - **under sudo** (effective uid 0, `SUDO_UID`/`SUDO_GID` naming a non-root user): the
//!   capability bounding set is emptied, then supplementary groups, gid and uid become the
//!   invoking user's (real, effective and saved), which clears every capability; a later
//!   `setuid(0)` is checked to fail;
//! - **a set-uid-root binary** (real uid not 0, effective uid 0): the same, switching to the
//!   real uid and gid;
//! - **file capabilities** (`setcap cap_net_raw=eip`, not root): permitted, effective,
//!   inheritable and ambient capabilities are cleared, and the bounding set too where the
//!   process may (it needs `CAP_SETPCAP`, which file capabilities for capture do not grant);
//! - **plain root without sudo**: there is no other user to become, so the uid stays 0 but every
//!   capability is dropped (bounding set included) and the securebits are locked so that uid 0
//!   can never regain one, not even through exec.
//!
//! In every case `PR_SET_NO_NEW_PRIVS` is set (no exec can grant anything again) and the
//! process is made non-dumpable (the invoking user cannot ptrace it to borrow the open packet
//! socket, which could also send). Then every thread of the process is checked in
//! `/proc/self/task`: if any still holds a capability or uid 0 where it should not, this is an
//! error and the caller must stop; it never continues with privileges it meant to drop.
//!
//! This module must never be called before the capture handle is open, and must be called
//! before any other thread is started (capabilities are per thread).

use std::fmt;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// Securebits (linux/securebits.h).
const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;
const SECBIT_NO_SETUID_FIXUP: libc::c_ulong = 1 << 2;
const SECBIT_NO_SETUID_FIXUP_LOCKED: libc::c_ulong = 1 << 3;
const SECBIT_KEEP_CAPS_LOCKED: libc::c_ulong = 1 << 5;
const SECBIT_NO_CAP_AMBIENT_RAISE: libc::c_ulong = 1 << 6;
const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: libc::c_ulong = 1 << 7;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// What was given up, for the one line on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// What the process was before.
    pub before: &'static str,
    pub uid: u32,
    pub gid: u32,
    /// Whether the capability bounding set could be emptied.
    pub bounding_cleared: bool,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dropped privileges ({}): now uid {} gid {}, no capabilities{}",
            self.before,
            self.uid,
            self.gid,
            if self.bounding_cleared {
                ""
            } else {
                " (bounding set kept: no CAP_SETPCAP; no_new_privs set)"
            }
        )
    }
}

/// Dropping failed: the caller must stop, the process may still hold privileges.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not drop capture privileges after opening the capture: {step}: {message}; stopping rather than capturing with privileges"
)]
pub struct PrivilegeError {
    pub step: &'static str,
    pub message: String,
}

fn fail(step: &'static str, message: impl Into<String>) -> PrivilegeError {
    PrivilegeError {
        step,
        message: message.into(),
    }
}

fn last_os_error(step: &'static str) -> PrivilegeError {
    fail(step, std::io::Error::last_os_error().to_string())
}

/// The calling thread's capability sets.
fn capget() -> Result<[CapData; 2], PrivilegeError> {
    let mut hdr = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: a version-3 header and two data words, as the syscall expects.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(last_os_error("capget"));
    }
    Ok(data)
}

/// Clear permitted, effective and inheritable capabilities of the calling thread.
fn capset_none() -> Result<(), PrivilegeError> {
    let mut hdr = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: a version-3 header and two data words, as the syscall expects.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    if rc != 0 {
        return Err(last_os_error("capset (clearing all capabilities)"));
    }
    Ok(())
}

fn holds_any(caps: &[CapData; 2]) -> bool {
    caps.iter()
        .any(|c| c.effective != 0 || c.permitted != 0 || c.inheritable != 0)
}

/// Highest capability number the kernel knows.
fn cap_last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Empty the bounding set. `Ok(false)` when the process may not (no `CAP_SETPCAP`).
fn drop_bounding_set() -> Result<bool, PrivilegeError> {
    for cap in 0..=cap_last_cap() {
        // SAFETY: prctl with integer arguments only.
        let inside = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if inside <= 0 {
            continue;
        }
        // SAFETY: as above.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EPERM) {
                return Ok(false);
            }
            return Err(fail("prctl(PR_CAPBSET_DROP)", e.to_string()));
        }
    }
    Ok(true)
}

fn clear_ambient() -> Result<(), PrivilegeError> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // EINVAL: a kernel before 4.3, which has no ambient set.
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(last_os_error("prctl(PR_CAP_AMBIENT_CLEAR_ALL)"));
    }
    Ok(())
}

fn no_new_privs_and_not_dumpable() -> Result<(), PrivilegeError> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(last_os_error("prctl(PR_SET_NO_NEW_PRIVS)"));
    }
    // SAFETY: as above.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(last_os_error("prctl(PR_SET_DUMPABLE, 0)"));
    }
    Ok(())
}

/// The supplementary groups of `uid` (with primary group `gid`) from the user database; just
/// `gid` when the user has no entry.
fn groups_of(uid: libc::uid_t, gid: libc::gid_t) -> Vec<libc::gid_t> {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; the buffer outlives every use of `pwd`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return vec![gid];
    }
    let mut n: libc::c_int = 64;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let asked = n;
        // SAFETY: `pw_name` is a NUL-terminated string in `buf`; `groups` holds `n` entries.
        let rc = unsafe { libc::getgrouplist(pwd.pw_name, gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            groups.truncate(n.max(0) as usize);
            return groups;
        }
        if n <= asked {
            n = asked * 2;
        }
        if n > 65_536 {
            return vec![gid];
        }
    }
}

/// Switch real, effective and saved ids to `uid`/`gid` with `groups`, after emptying the
/// bounding set, then check root cannot come back.
fn become_user(
    uid: libc::uid_t,
    gid: libc::gid_t,
    before: &'static str,
) -> Result<Dropped, PrivilegeError> {
    if uid == 0 {
        return Err(fail("switching user", "the target user is root"));
    }
    let bounding_cleared = drop_bounding_set()?;
    let groups = groups_of(uid, gid);
    // SAFETY: `groups` holds `len` gids.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } != 0 {
        return Err(last_os_error("setgroups"));
    }
    // SAFETY: plain integer arguments. glibc applies set*id to every thread of the process.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        return Err(last_os_error("setresgid"));
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(uid, uid, uid) } != 0 {
        return Err(last_os_error("setresuid"));
    }
    // Leaving uid 0 clears the capabilities (no SECBIT_KEEP_CAPS); make sure anyway.
    capset_none()?;
    clear_ambient()?;
    no_new_privs_and_not_dumpable()?;
    // SAFETY: plain integer argument; must fail now.
    if unsafe { libc::setuid(0) } == 0 {
        return Err(fail("checking", "setuid(0) succeeded after the switch"));
    }
    // SAFETY: as above.
    if unsafe { libc::setgid(0) } == 0 && gid != 0 {
        return Err(fail("checking", "setgid(0) succeeded after the switch"));
    }
    Ok(Dropped {
        before,
        uid,
        gid,
        bounding_cleared,
    })
}

/// Keep uid 0 but drop every capability for good.
fn root_without_capabilities() -> Result<Dropped, PrivilegeError> {
    // Lock root out of capabilities first (needs CAP_SETPCAP, which root has): uid 0 gets no
    // capabilities at exec, set*id does not restore them, none can become ambient.
    let bits = SECBIT_NOROOT
        | SECBIT_NOROOT_LOCKED
        | SECBIT_NO_SETUID_FIXUP
        | SECBIT_NO_SETUID_FIXUP_LOCKED
        | SECBIT_KEEP_CAPS_LOCKED
        | SECBIT_NO_CAP_AMBIENT_RAISE
        | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) } != 0 {
        return Err(last_os_error("prctl(PR_SET_SECUREBITS)"));
    }
    let bounding_cleared = drop_bounding_set()?;
    clear_ambient()?;
    capset_none()?;
    no_new_privs_and_not_dumpable()?;
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    Ok(Dropped {
        before: "root without sudo: uid kept",
        uid,
        gid,
        bounding_cleared,
    })
}

/// Clear the capabilities a non-root process was given (file capabilities, ambient).
fn clear_capabilities(before: &'static str) -> Result<Dropped, PrivilegeError> {
    let bounding_cleared = drop_bounding_set()?;
    clear_ambient()?;
    capset_none()?;
    no_new_privs_and_not_dumpable()?;
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    Ok(Dropped {
        before,
        uid,
        gid,
        bounding_cleared,
    })
}

fn env_id(name: &str) -> Option<u32> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Capability and uid lines of one thread's status file.
fn thread_status_ok(status: &str, allow_uid0: bool) -> Result<(), String> {
    for line in status.lines() {
        if let Some(v) = line
            .strip_prefix("CapEff:")
            .or_else(|| line.strip_prefix("CapPrm:"))
            .or_else(|| line.strip_prefix("CapInh:"))
            .or_else(|| line.strip_prefix("CapAmb:"))
        {
            if u64::from_str_radix(v.trim(), 16).unwrap_or(u64::MAX) != 0 {
                return Err(format!("still holds capabilities: {}", line.trim()));
            }
        }
        if !allow_uid0 {
            if let Some(v) = line.strip_prefix("Uid:") {
                if v.split_whitespace().any(|u| u == "0") {
                    return Err(format!("still has uid 0: {}", line.trim()));
                }
            }
        }
    }
    Ok(())
}

/// Check every thread of the process, not only the calling one (capabilities are per thread).
fn verify_all_threads(allow_uid0: bool) -> Result<(), PrivilegeError> {
    let caps = capget()?;
    if holds_any(&caps) {
        return Err(fail("checking", "capabilities remain after capset"));
    }
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|e| fail("checking /proc/self/task", e.to_string()))?;
    for t in tasks {
        let t = t.map_err(|e| fail("checking /proc/self/task", e.to_string()))?;
        let path = t.path().join("status");
        let Ok(status) = std::fs::read_to_string(&path) else {
            continue; // the thread ended meanwhile
        };
        thread_status_ok(&status, allow_uid0)
            .map_err(|m| fail("checking", format!("thread {}: {m}", path.display())))?;
    }
    Ok(())
}

/// Drop every privilege the process holds, as the module documentation describes. Call once,
/// after the capture handle is open and before any other thread starts. `Ok(None)` when there
/// was nothing to drop.
pub fn drop_privileges() -> Result<Option<Dropped>, PrivilegeError> {
    // SAFETY: these getters have no preconditions.
    let (ruid, euid, rgid) = unsafe { (libc::getuid(), libc::geteuid(), libc::getgid()) };
    let dropped = if euid == 0 {
        match (env_id("SUDO_UID"), env_id("SUDO_GID")) {
            (Some(uid), Some(gid)) if uid != 0 && ruid == 0 => {
                Some(become_user(uid, gid, "was root via sudo")?)
            }
            _ if ruid != 0 => Some(become_user(ruid, rgid, "was set-uid root")?),
            _ => Some(root_without_capabilities()?),
        }
    } else if holds_any(&capget()?) {
        Some(clear_capabilities("had file capabilities")?)
    } else {
        // Nothing held; still make sure nothing can be gained later.
        no_new_privs_and_not_dumpable()?;
        None
    };
    // SAFETY: geteuid has no preconditions.
    let allow_uid0 = unsafe { libc::geteuid() } == 0 && ruid == 0;
    verify_all_threads(allow_uid0)?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_check_spots_capabilities_and_root() {
        let clean = "Uid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n";
        assert!(thread_status_ok(clean, false).is_ok());
        let caps = clean.replace("CapPrm:\t0000000000000000", "CapPrm:\t0000000000002000");
        assert!(thread_status_ok(&caps, true).is_err());
        let root = clean.replace("Uid:\t1000\t1000\t1000\t1000", "Uid:\t1000\t0\t1000\t1000");
        assert!(thread_status_ok(&root, false).is_err());
        assert!(thread_status_ok(&root, true).is_ok());
    }

    #[test]
    fn message_names_what_is_left() {
        let d = Dropped {
            before: "was root via sudo",
            uid: 1000,
            gid: 1000,
            bounding_cleared: true,
        };
        assert_eq!(
            d.to_string(),
            "dropped privileges (was root via sudo): now uid 1000 gid 1000, no capabilities"
        );
    }
}

//! Where the headers come from: the host's `/usr/include`, a Debian `linux-libc-dev` tree
//! (`--headers DIR`, or downloaded for `--arch`), or one architecture's include directory; and
//! the include directories of an ABI in it.

use super::abi::Abi;
use crate::env::private_apt::{self, PrivateApt};
use crate::util::process::Result;
use std::path::{Path, PathBuf};
use uffd_probe::probe;

/// Where the headers come from.
pub enum Tree {
    /// The host's `/usr/include`.
    Host,
    /// A Debian `linux-libc-dev` tree (`usr/include`, `usr/lib/linux/uapi/<arch>`).
    Debian(PathBuf),
    /// One architecture's include directory (`make headers_install`'s `usr/include`, or any
    /// directory holding `linux/userfaultfd.h` and `asm/`).
    Single(PathBuf),
}

impl Tree {
    /// The tree of `--headers DIR` (whichever layout it has), else of `--arch` (the newest
    /// `linux-libc-dev` of Debian `suite`), else the host's; with its description for reports.
    pub fn resolve(
        headers: Option<&Path>,
        arch: Option<&str>,
        suite: &str,
    ) -> Result<(Tree, String)> {
        Ok(match (headers, arch) {
            (Some(dir), _) => {
                let dir =
                    std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                if dir.join("usr/lib/linux/uapi").is_dir() {
                    (
                        Tree::Debian(dir.clone()),
                        format!("{} (Debian-style tree)", dir.display()),
                    )
                } else if dir.join("usr/include/linux/userfaultfd.h").is_file() {
                    (
                        Tree::Single(dir.join("usr/include")),
                        format!("{}/usr/include", dir.display()),
                    )
                } else if dir.join("include/linux/userfaultfd.h").is_file() {
                    (
                        Tree::Single(dir.join("include")),
                        format!("{}/include", dir.display()),
                    )
                } else if dir.join("linux/userfaultfd.h").is_file() {
                    (Tree::Single(dir.clone()), dir.display().to_string())
                } else {
                    return Err(format!("{}: no linux/userfaultfd.h in it", dir.display()));
                }
            }
            (None, None) => (Tree::Host, "/usr/include (host)".to_string()),
            (None, Some(_)) => {
                let (dir, version) = debian_tree(suite)?;
                (
                    Tree::Debian(dir),
                    format!("Debian {suite} linux-libc-dev {version}"),
                )
            }
        })
    }

    /// The include directories of `abi` in this tree.
    pub fn includes(&self, abi: &Abi) -> Vec<PathBuf> {
        match self {
            Tree::Host => probe::host_includes(Path::new("gcc")),
            Tree::Single(dir) => vec![dir.clone()],
            Tree::Debian(root) => {
                let trip = root.join("usr/include").join(abi.triplet);
                let first = if !abi.triplet.is_empty() && trip.join("asm").is_dir() {
                    trip
                } else {
                    root.join("usr/lib/linux/uapi").join(abi.arch)
                };
                let mut v = vec![first, root.join("usr/include")];
                v.extend(libc_includes(abi));
                v
            }
        }
    }
}

/// The C library headers of `abi` installed on this machine (a cross compiler's sysroot, or
/// the host's multiarch `/usr/include`), searched after the kernel tree: only
/// `<sys/socket.h>` (`struct msghdr`, `SCM_RIGHTS`, not in the kernel's uapi) is read from them.
fn libc_includes(abi: &Abi) -> Vec<PathBuf> {
    let host = Path::new("/usr/include").join(abi.triplet);
    if !abi.triplet.is_empty() && host.join("sys/socket.h").is_file() {
        return vec![host, PathBuf::from("/usr/include")];
    }
    // Debian's cross sysroots: `/usr/<gnu triplet>/include` (i386's is i686's).
    let gnu = if abi.triplet == "i386-linux-gnu" {
        "i686-linux-gnu"
    } else {
        abi.triplet
    };
    let cross = Path::new("/usr").join(gnu).join("include");
    if !gnu.is_empty() && cross.join("sys/socket.h").is_file() {
        vec![cross]
    } else {
        Vec::new()
    }
}

/// Downloads (cached) and extracts the suite's `linux-libc-dev`.
fn debian_tree(suite: &str) -> Result<(PathBuf, String)> {
    let apt = PrivateApt::new(&format!("verify-layout-{suite}"), suite, "amd64")?;
    let deb = apt.download("linux-libc-dev")?;
    let dest = super::work_dir().join(format!("linux-libc-dev_{}", deb.version.replace(':', "_")));
    private_apt::extract(&deb, &dest)?;
    Ok((dest, deb.version))
}

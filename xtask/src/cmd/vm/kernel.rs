//! Kernels: resolved through a suite's `linux-image-<flavour>` metapackage in a private apt
//! configuration, downloaded (cached) and unpacked to what `qemu-system -kernel` loads.

use super::tables::{arch, Kernel};
use crate::env::apt;
use crate::env::private_apt::{self, PrivateApt};
use crate::util::process::{target_dir, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A downloaded, unpacked kernel ready for `-kernel`.
pub struct Image {
    pub path: PathBuf,
    /// e.g. `linux-image-6.1.0-41-amd64 6.1.158-1`.
    pub version: String,
}

/// Resolves `linux-image-<flavour>` in the suite to the ABI-numbered image package (and, from
/// forky/unstable on, its `linux-binary-*` package holding the kernel file), downloads (cached)
/// and unpacks it, and returns the kernel file.
pub fn fetch(k: &Kernel) -> Result<Image> {
    let a = arch(k.on)?;
    let apt = PrivateApt::new(
        &format!("kernel-{}-{}", k.suite, a.debarch),
        k.suite,
        a.debarch,
    )?;
    apt.update()?;
    let meta = format!("linux-image-{}", k.flavour);
    let image = apt
        .depends(&meta)?
        .into_iter()
        .find(|d| d.starts_with("linux-image-"))
        .ok_or_else(|| format!("{} {meta}: no linux-image-* dependency", k.suite))?;
    let pkg = apt
        .depends(&image)?
        .into_iter()
        .find(|d| d.starts_with("linux-binary-"))
        .unwrap_or(image);
    let deb = apt.download(&pkg)?;
    let dest = target_dir()
        .join("vm")
        .join("kernels")
        .join(format!("{pkg}_{}", deb.version));
    private_apt::extract(&deb, &dest)?;
    // `boot/vmlinu[xz]-<abi>` in the classic image package; `usr/lib/modules/<abi>/vmlinu[xz]`
    // in forky/unstable's `linux-binary-*`.
    let mut dirs = vec![dest.join("boot")];
    if let Ok(rd) = std::fs::read_dir(dest.join("usr/lib/modules")) {
        dirs.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz") || n.starts_with("vmlinux"))
        })
        .collect();
    files.sort();
    let file = files.pop().ok_or_else(|| {
        format!(
            "{pkg}: no vmlinuz/vmlinux in boot/ or usr/lib/modules/*/ of {}",
            dest.display()
        )
    })?;
    let path = unpack_zboot(&file)?;
    Ok(Image {
        path,
        version: format!("{pkg} {}", deb.version),
    })
}

/// An EFI zboot image ("MZ", "zimg" at 4, payload offset/size at 8/12, compression name at
/// 24) is unpacked to the raw kernel QEMU can load; anything else is returned as is.
fn unpack_zboot(file: &Path) -> Result<PathBuf> {
    let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if data.len() < 64 || &data[0..2] != b"MZ" || &data[4..8] != b"zimg" {
        return Ok(file.to_path_buf());
    }
    let le =
        |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]) as usize;
    let (off, size) = (le(8), le(12));
    let comp: String = data[24..32]
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let payload = data
        .get(off..off + size)
        .ok_or_else(|| format!("{}: zboot payload out of range", file.display()))?;
    let out = PathBuf::from(format!("{}.unpacked", file.display()));
    if out.exists() {
        return Ok(out);
    }
    let tool = match comp.as_str() {
        "gzip" => "gzip",
        "zstd" | "zstd22" => "zstd",
        "xz" => "xz",
        other => {
            return Err(format!(
                "{}: zboot compression {other:?} not handled",
                file.display()
            ))
        }
    };
    apt::install(&[tool])?;
    let mut child = Command::new(tool)
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{tool}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let payload = payload.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &payload));
    let res = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let _ = writer.join();
    if !res.status.success() {
        return Err(format!(
            "{tool} -dc of the zboot payload of {} failed",
            file.display()
        ));
    }
    std::fs::write(&out, res.stdout).map_err(|e| e.to_string())?;
    Ok(out)
}

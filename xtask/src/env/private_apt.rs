//! A private apt configuration under `target/apt/<name>`: its own sources list, package lists,
//! cache and (empty) dpkg status, so downloads never touch the machine's apt sources.
//!
//! Mirrors keep only the current version of a package in each suite, so callers name a suite
//! (and a package or metapackage), never an exact version; the version actually fetched is
//! returned so reports can print it.

use crate::util::process::{output, run, target_dir, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// One private apt root for one suite and one Debian architecture.
pub struct PrivateApt {
    dir: PathBuf,
    arch: String,
}

/// A downloaded package: its `.deb` file and exact version.
pub struct Deb {
    /// Path of the downloaded `.deb`.
    pub path: PathBuf,
    /// Its Debian version, e.g. `7.2.13-1`.
    pub version: String,
}

/// The Debian mirror of this machine: the first `URIs:` of `/etc/apt/sources.list.d/*.sources`,
/// else the first `deb` line of `/etc/apt/sources.list`, else deb.debian.org.
pub fn mirror() -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "sources"))
    {
        if let Ok(text) = std::fs::read_to_string(f) {
            for line in text.lines() {
                if let Some(uris) = line.strip_prefix("URIs:") {
                    if let Some(u) = uris.split_whitespace().find(|u| !u.contains("security")) {
                        return u.trim_end_matches('/').to_string();
                    }
                }
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string("/etc/apt/sources.list") {
        for line in text.lines() {
            let mut w = line.split_whitespace();
            if w.next() == Some("deb") {
                if let Some(u) = w.find(|w| w.starts_with("http")) {
                    if !u.contains("security") {
                        return u.trim_end_matches('/').to_string();
                    }
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

impl PrivateApt {
    /// A private apt root named `name` for `suite` (e.g. `unstable`, `bookworm-backports`) and
    /// Debian architecture `arch` (e.g. `amd64`, `arm64`), `main` component only (a foreign
    /// architecture's `-security` index is sometimes half-synced).
    pub fn new(name: &str, suite: &str, arch: &str) -> Result<Self> {
        let dir = target_dir().join("apt").join(name);
        for sub in ["lists/partial", "cache/archives/partial", "debs"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let status = dir.join("status");
        if !status.exists() {
            std::fs::write(&status, "").map_err(|e| e.to_string())?;
        }
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        let signed = if Path::new(keyring).exists() {
            format!("[signed-by={keyring}] ")
        } else {
            String::new()
        };
        let list = format!("deb {signed}{} {suite} main\n", mirror());
        std::fs::write(dir.join("sources.list"), list).map_err(|e| e.to_string())?;
        Ok(Self {
            dir,
            arch: arch.to_string(),
        })
    }

    fn opts(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("-oDir::Etc::SourceList={d}/sources.list"),
            "-oDir::Etc::SourceParts=/nonexistent".into(),
            format!("-oDir::State::Lists={d}/lists"),
            format!("-oDir::Cache={d}/cache"),
            format!("-oDir::State::status={d}/status"),
            format!("-oAPT::Architecture={}", self.arch),
            format!("-oAPT::Architectures::={}", self.arch),
            "-oDebug::NoLocking=1".into(),
            // Downloads land in our own folder, which the `_apt` sandbox user cannot write.
            "-oAPT::Sandbox::User=root".into(),
            "-qq".into(),
        ]
    }

    /// `apt-get update` of this root, skipped when its lists are younger than a day.
    pub fn update(&self) -> Result<()> {
        let stamp = self.dir.join("updated");
        let fresh = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age < Duration::from_secs(24 * 3600));
        if fresh {
            return Ok(());
        }
        run(Command::new("apt-get").args(self.opts()).arg("update"))?;
        std::fs::write(stamp, "").map_err(|e| e.to_string())
    }

    /// The candidate version of `pkg` in this suite.
    pub fn version(&self, pkg: &str) -> Result<String> {
        let out = output(Command::new("apt-cache").args(self.opts()).args([
            "show",
            "--no-all-versions",
            pkg,
        ]))?;
        out.lines()
            .find_map(|l| l.strip_prefix("Version: "))
            .map(str::to_string)
            .ok_or_else(|| format!("apt-cache show {pkg}: no version"))
    }

    /// Direct dependencies of `pkg` (names only), e.g. to resolve a kernel metapackage.
    pub fn depends(&self, pkg: &str) -> Result<Vec<String>> {
        let out = output(
            Command::new("apt-cache")
                .args(self.opts())
                .args(["depends", pkg]),
        )?;
        Ok(out
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .map(|s| s.trim_matches(|c| c == '<' || c == '>').to_string())
            .collect())
    }

    /// Downloads the suite's current `pkg` (cached by exact version) and returns it.
    pub fn download(&self, pkg: &str) -> Result<Deb> {
        self.update()?;
        let version = self.version(pkg)?;
        let debs = self.dir.join("debs");
        let file_version = version.replace(':', "%3a");
        let cached = std::fs::read_dir(&debs)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&format!("{pkg}_{file_version}_")) && n.ends_with(".deb")
                })
            });
        if let Some(path) = cached {
            return Ok(Deb { path, version });
        }
        run(Command::new("apt-get")
            .args(self.opts())
            .args(["download", pkg])
            .current_dir(&debs))?;
        let path = std::fs::read_dir(&debs)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{pkg}_{file_version}_")))
            })
            .ok_or_else(|| {
                format!(
                    "apt-get download {pkg}: no .deb appeared in {}",
                    debs.display()
                )
            })?;
        Ok(Deb { path, version })
    }
}

/// Unpacks `deb` into `dest` with `dpkg -x` (skipped if `dest` already holds it).
pub fn extract(deb: &Deb, dest: &Path) -> Result<()> {
    let stamp = dest.join(".extracted");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == deb.version) {
        return Ok(());
    }
    std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
    run(Command::new("dpkg").arg("-x").arg(&deb.path).arg(dest))?;
    std::fs::write(stamp, &deb.version).map_err(|e| e.to_string())
}

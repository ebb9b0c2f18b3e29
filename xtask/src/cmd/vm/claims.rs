//! The "Since Linux X" claims of the ABI docs, read from the docs themselves
//! (`src/abi/mod.rs`, `src/abi/pagemap.rs`): each `UFFD_FEATURE_*`, `_UFFDIO_*` command,
//! register mode, `USERFAULTFD_IOC_NEW`, `UFFD_USER_MODE_ONLY` and `PAGEMAP_SCAN`, with the
//! version after "Since Linux", and the architectures its doc names after "Not offered on:"
//! (`arch`, or `arch before X.Y`). `since.rs` checks them against the booted kernels.

use crate::util::process::{root, Result};

/// A kernel version (major, minor).
pub type Version = (u32, u32);

/// One documented item.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The constant's name (or a derived subject such as `register shmem MODE_WP`).
    pub item: String,
    /// "Since Linux X".
    pub since: Version,
    /// "Not offered on: a, b before X.Y": (arch, before).
    pub not_on: Vec<(String, Option<Version>)>,
    /// How a run shows it.
    pub what: Seen,
}

/// Where a run shows an item.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// A bit of `uffdio_api.features`.
    Feature(u64),
    /// A bit of `uffdio_api.ioctls`.
    ApiIoctl(u64),
    /// A bit of any `uffdio_register.ioctls`.
    RangeIoctl(u64),
    /// A register mode granted on any memory kind (`missing`, `wp`, `minor`).
    Mode(&'static str),
    /// A register mode granted on one memory kind.
    KindMode(&'static str, &'static str),
    /// An `open` probe answered ok (`device`, `user_mode_only`, `pagemap_scan`).
    Open(&'static str),
}

fn version(s: &str) -> Option<Version> {
    let mut p = s.split('.');
    let major = p.next()?.parse().ok()?;
    let minor: String = p.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

/// "Since Linux X.Y" in `doc`.
fn since(doc: &str) -> Option<Version> {
    let at = doc.find("Since Linux ")? + "Since Linux ".len();
    version(&doc[at..])
}

/// "Not offered on: a, b before X.Y" in `doc` (ends at `;`, `(`, or a `.` not inside a
/// version).
fn not_on(doc: &str) -> Vec<(String, Option<Version>)> {
    let Some(at) = doc.find("Not offered on: ") else {
        return Vec::new();
    };
    let rest = &doc[at + "Not offered on: ".len()..];
    let b = rest.as_bytes();
    let end = (0..b.len())
        .find(|&i| {
            b[i] == b';'
                || b[i] == b'('
                || (b[i] == b'.' && !b.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
        .unwrap_or(b.len());
    rest[..end]
        .split(',')
        .filter_map(|e| {
            let e = e.trim();
            let mut w = e.split_whitespace();
            let arch = w.next()?.to_string();
            let before = match (w.next(), w.next()) {
                (Some("before"), Some(v)) => version(v),
                _ => None,
            };
            Some((arch, before))
        })
        .collect()
}

/// `1 << n` or `0xNN` as the value of a constant definition.
fn value(def: &str) -> Option<u64> {
    let v = def.split('=').nth(1)?.trim().trim_end_matches(';').trim();
    if let Some(n) = v.strip_prefix("1 << ") {
        return n.parse().ok().map(|n: u32| 1u64 << n);
    }
    u64::from_str_radix(v.strip_prefix("0x")?, 16).ok()
}

/// Every claim of the docs of `text` (one source file).
pub(super) fn claims_in(text: &str) -> Vec<Claim> {
    let mut out = Vec::new();
    let mut doc = String::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(d) = l.strip_prefix("///") {
            doc.push_str(d.trim());
            doc.push(' ');
            continue;
        }
        if l.starts_with("#[") {
            continue;
        }
        if let Some(def) = l.strip_prefix("pub const ") {
            let name = def.split(':').next().unwrap_or("").trim().to_string();
            let seen = if let Some(f) = name.strip_prefix("UFFD_FEATURE_") {
                let _ = f;
                value(def).map(Seen::Feature)
            } else if name.starts_with("_UFFDIO_") {
                value(def).map(|nr| {
                    let bit = 1u64 << nr;
                    match name.as_str() {
                        "_UFFDIO_REGISTER" | "_UFFDIO_UNREGISTER" | "_UFFDIO_API" => {
                            Seen::ApiIoctl(bit)
                        }
                        _ => Seen::RangeIoctl(bit),
                    }
                })
            } else {
                match name.as_str() {
                    "UFFDIO_REGISTER_MODE_MISSING" => Some(Seen::Mode("missing")),
                    "UFFDIO_REGISTER_MODE_WP" => Some(Seen::Mode("wp")),
                    "UFFDIO_REGISTER_MODE_MINOR" => Some(Seen::Mode("minor")),
                    "USERFAULTFD_IOC_NEW" => Some(Seen::Open("device")),
                    "UFFD_USER_MODE_ONLY" => Some(Seen::Open("user_mode_only")),
                    "PAGEMAP_SCAN" => Some(Seen::Open("pagemap_scan")),
                    _ => None,
                }
            };
            if let (Some(what), Some(v)) = (seen, since(&doc)) {
                out.push(Claim {
                    item: name,
                    since: v,
                    not_on: not_on(&doc),
                    what,
                });
            }
        }
        doc.clear();
    }
    out
}

/// The claims of the crate's ABI docs, plus one per memory kind for the register modes whose
/// feature bit names the kind (they share the feature's claim).
pub fn claims() -> Result<Vec<Claim>> {
    let mut all = Vec::new();
    for f in ["src/abi/mod.rs", "src/abi/pagemap.rs"] {
        let p = root().join(f);
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        all.extend(claims_in(&text));
    }
    let derived = [
        ("UFFD_FEATURE_PAGEFAULT_FLAG_WP", "anon", "wp", "MODE_WP"),
        ("UFFD_FEATURE_WP_HUGETLBFS_SHMEM", "shmem", "wp", "MODE_WP"),
        (
            "UFFD_FEATURE_WP_HUGETLBFS_SHMEM",
            "hugetlbfs",
            "wp",
            "MODE_WP",
        ),
        ("UFFD_FEATURE_MINOR_SHMEM", "shmem", "minor", "MODE_MINOR"),
        (
            "UFFD_FEATURE_MINOR_HUGETLBFS",
            "hugetlbfs",
            "minor",
            "MODE_MINOR",
        ),
        (
            "UFFD_FEATURE_MISSING_SHMEM",
            "shmem",
            "missing",
            "MODE_MISSING",
        ),
        (
            "UFFD_FEATURE_MISSING_HUGETLBFS",
            "hugetlbfs",
            "missing",
            "MODE_MISSING",
        ),
    ];
    for (feature, kind, mode, label) in derived {
        let c = all
            .iter()
            .find(|c| c.item == feature)
            .ok_or_else(|| format!("no \"Since Linux\" claim found for {feature}"))?
            .clone();
        all.push(Claim {
            item: format!("register {kind} {label} (as {feature})"),
            what: Seen::KindMode(kind, mode),
            ..c
        });
    }
    Ok(all)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub const SRC: &str = "
/// Write-protect faults. Since Linux 5.7. Not offered on: armv7, aarch64 before 6.10 (no
/// `CONFIG_HAVE_ARCH_USERFAULTFD_WP`).
pub const UFFD_FEATURE_PAGEFAULT_FLAG_WP: u64 = 1 << 0;
/// `UFFDIO_MOVE`. Since Linux 6.8.
pub const UFFD_FEATURE_MOVE: u64 = 1 << 16;
/// Command number of `UFFDIO_COPY`. Since Linux 4.3.
pub const _UFFDIO_COPY: u32 = 0x03;
/// The device. Since Linux 6.1.
pub const USERFAULTFD_IOC_NEW: u32 = NATIVE.io(USERFAULTFD_IOC, 0x00);
/// No claim here.
pub const UFFD_API: u64 = 0xAA;
";

    #[test]
    fn claims_are_read_from_the_docs() {
        let c = claims_in(SRC);
        assert_eq!(c.len(), 4, "{c:?}");
        assert_eq!(c[0].item, "UFFD_FEATURE_PAGEFAULT_FLAG_WP");
        assert_eq!(c[0].since, (5, 7));
        assert_eq!(
            c[0].not_on,
            [("armv7".into(), None), ("aarch64".into(), Some((6, 10)))]
        );
        assert_eq!(c[1].what, Seen::Feature(1 << 16));
        assert_eq!(c[2].what, Seen::RangeIoctl(1 << 3));
        assert_eq!(c[3].what, Seen::Open("device"));
        assert_eq!(c[3].since, (6, 1));
    }
}

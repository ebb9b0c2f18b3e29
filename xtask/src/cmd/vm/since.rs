//! Every "Since Linux X" of the ABI docs, checked against the kernels `vm-test` booted.
//!
//! The claims come from the docs (`claims.rs`). What each
//! kernel offers comes from its raw handshake (`uffd-suite: features=` and the `uffd-offers:`
//! lines of `tests/suite/offers.rs`): features, the API ioctls, and the range ioctls and modes
//! `UFFDIO_REGISTER` grants on anonymous, shmem and hugetlbfs memory.
//!
//! A claim holds when every booted kernel older than X lacks the item and every one at least
//! X offers it, but for the architectures its doc names; a name that no booted kernel needs is
//! stale. Either contradiction fails `vm-test`.

use super::claims::{Claim, Seen, Version};
use crate::util::report::Report;
use std::collections::BTreeMap;

/// One booted kernel's evidence.
pub struct Boot<'a> {
    /// The kernel's architecture.
    pub on: &'a str,
    pub version: Version,
    pub report: &'a Report,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// Whether `b` offered the item; `None` where the run cannot tell (no such memory).
fn offered(c: &Claim, b: &Boot<'_>) -> Option<bool> {
    let r = b.report;
    let first = |s: &str| s.split_whitespace().next().map(str::to_string);
    let features = r.features.as_deref().and_then(first).and_then(|f| hex(&f));
    let api_ioctls = r
        .features
        .as_deref()
        .and_then(|f| f.split_whitespace().find_map(|w| w.strip_prefix("ioctls=")))
        .and_then(hex);
    let kinds = ["anon", "shmem", "hugetlbfs"];
    let modes = ["missing", "wp", "minor"];
    let reg = |kind: &str, mode: &str| -> Option<Option<u64>> {
        let key = format!("register {kind}.{mode}");
        if r.offers
            .contains_key(&format!("register {kind}.unavailable"))
        {
            return None;
        }
        r.offers.get(&key).map(|v| hex(v))
    };
    match c.what {
        Seen::Feature(bit) => features.map(|f| f & bit != 0),
        Seen::ApiIoctl(bit) => api_ioctls.map(|f| f & bit != 0),
        Seen::RangeIoctl(bit) => {
            let all: Vec<u64> = kinds
                .iter()
                .flat_map(|k| modes.iter().map(move |m| (k, m)))
                .filter_map(|(k, m)| reg(k, m).flatten())
                .collect();
            (!all.is_empty()).then(|| all.iter().any(|i| i & bit != 0))
        }
        Seen::Mode(m) => {
            let seen: Vec<bool> = kinds
                .iter()
                .filter_map(|k| reg(k, m))
                .map(|v| v.is_some())
                .collect();
            (!seen.is_empty()).then(|| seen.iter().any(|x| *x))
        }
        Seen::KindMode(k, m) => reg(k, m).map(|v| v.is_some()),
        Seen::Open(what) => r.offers.get(&format!("open.{what}")).map(|v| v == "ok"),
    }
}

/// A cell of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Offered, as claimed.
    Offered,
    /// Absent on a kernel older than the claim, as claimed.
    Absent,
    /// Absent where the doc names the architecture.
    Named,
    /// The run cannot tell (e.g. no huge pages).
    Unknown,
    /// Absent though claimed.
    ClaimedButAbsent,
    /// Offered before the claimed version.
    Early,
}

impl Cell {
    fn symbol(self) -> char {
        match self {
            Cell::Offered => '+',
            Cell::Absent => '-',
            Cell::Named => 'a',
            Cell::Unknown => '?',
            Cell::ClaimedButAbsent => '!',
            Cell::Early => 'E',
        }
    }
}

fn named(c: &Claim, b: &Boot<'_>) -> bool {
    c.not_on
        .iter()
        .any(|(a, before)| a == b.on && before.is_none_or(|v| b.version < v))
}

/// The cell of claim `c` on boot `b`.
pub fn cell(c: &Claim, b: &Boot<'_>) -> Cell {
    match offered(c, b) {
        None => Cell::Unknown,
        Some(true) if b.version < c.since => Cell::Early,
        Some(true) => Cell::Offered,
        Some(false) if b.version < c.since => Cell::Absent,
        Some(false) if named(c, b) => Cell::Named,
        Some(false) => Cell::ClaimedButAbsent,
    }
}

/// The table (markdown) and the contradictions: claimed-but-absent and early cells, and
/// "Not offered on" names that no booted kernel of that architecture needed.
pub fn check(claims: &[Claim], boots: &[Boot<'_>]) -> (String, Vec<String>) {
    let mut arches: Vec<&str> = Vec::new();
    for b in boots {
        if !arches.contains(&b.on) {
            arches.push(b.on);
        }
    }
    let order = |a: &str| -> Vec<&Boot<'_>> {
        let mut v: Vec<&Boot<'_>> = boots.iter().filter(|b| b.on == a).collect();
        v.sort_by_key(|b| b.version);
        v
    };
    let mut out = String::from("| item | since |");
    for a in &arches {
        let vs: Vec<String> = order(a)
            .iter()
            .map(|b| format!("{}.{}", b.version.0, b.version.1))
            .collect();
        out.push_str(&format!(" {a} ({}) |", vs.join(" ")));
    }
    out.push_str("\n|---|---|");
    for _ in &arches {
        out.push_str("---|");
    }
    out.push('\n');
    let mut problems = Vec::new();
    for c in claims {
        out.push_str(&format!("| `{}` | {}.{} |", c.item, c.since.0, c.since.1));
        let mut cells: BTreeMap<(&str, Version), Cell> = BTreeMap::new();
        for a in &arches {
            let mut s = String::new();
            for b in order(a) {
                let x = cell(c, b);
                cells.insert((b.on, b.version), x);
                s.push(x.symbol());
                match x {
                    Cell::ClaimedButAbsent => problems.push(format!(
                        "{}: Since Linux {}.{}, but {a} {}.{} lacks it (name {a} after \
                         \"Not offered on:\" in its doc if that is the architecture's)",
                        c.item, c.since.0, c.since.1, b.version.0, b.version.1
                    )),
                    Cell::Early => problems.push(format!(
                        "{}: Since Linux {}.{}, but {a} {}.{} offers it",
                        c.item, c.since.0, c.since.1, b.version.0, b.version.1
                    )),
                    _ => {}
                }
            }
            out.push_str(&format!(" `{s}` |"));
        }
        out.push('\n');
        for (a, before) in &c.not_on {
            let used = cells
                .iter()
                .any(|((on, v), x)| on == a && *x == Cell::Named && before.is_none_or(|b| *v < b));
            // Stale only where a covered kernel showed it offered (not where none could tell).
            let offered = cells.iter().any(|((on, v), x)| {
                on == a && *x == Cell::Offered && before.is_none_or(|b| *v < b)
            });
            if offered && !used {
                problems.push(format!(
                    "{}: its doc says not offered on {a}{}, but every booted {a} kernel it \
                     covers offers it",
                    c.item,
                    before.map_or(String::new(), |v| format!(" before {}.{}", v.0, v.1))
                ));
            }
        }
    }
    out.push_str(
        "\n`+` offered, `-` absent (older than the claim), `a` absent where the doc names the \
         architecture, `?` not seen (no such memory on that kernel), `!` claimed but absent, \
         `E` offered before the claimed version. Each cell holds that architecture's kernels, \
         oldest first.\n",
    );
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::super::claims::{claims_in, tests::SRC};
    use super::*;
    use crate::util::report::parse;

    fn report(features: &str, device: &str, anon: &str) -> Report {
        parse(&format!(
            "uffd-suite: features={features} ioctls=0x8000000000000003\n\
             uffd-offers: open syscall=ok device={device} user_mode_only=ok pagemap_scan=ENOTTY\n\
             uffd-offers: register anon {anon}\n"
        ))
    }

    #[test]
    fn cells_and_contradictions() {
        let c = claims_in(SRC);
        let old = report("0x1ff", "ENOENT", "missing=0x1c wp=0x5c minor=EINVAL");
        let arm = report("0xffe", "ok", "missing=0x1c wp=EINVAL minor=EINVAL");
        let new = report("0x1ffff", "ok", "missing=0x11c wp=0x15c minor=EINVAL");
        let boots = [
            Boot {
                on: "x86_64",
                version: (5, 10),
                report: &old,
            },
            Boot {
                on: "aarch64",
                version: (6, 1),
                report: &arm,
            },
            Boot {
                on: "x86_64",
                version: (7, 2),
                report: &new,
            },
        ];
        assert_eq!(cell(&c[0], &boots[1]), Cell::Named);
        assert_eq!(cell(&c[3], &boots[0]), Cell::Absent);
        assert_eq!(cell(&c[1], &boots[2]), Cell::Offered);
        let (table, problems) = check(&c, &boots);
        assert!(
            table.contains("| `UFFD_FEATURE_MOVE` | 6.8 | `-+` | `-` |"),
            "{table}"
        );
        // armv7 is named but never booted: not stale; nothing contradicts.
        assert_eq!(problems, Vec::<String>::new());
        // A kernel claimed to have MOVE that lacks it, and one that has the device too early.
        let bad = report("0x1ff", "ok", "missing=0x1c wp=0x5c minor=EINVAL");
        let boots = [Boot {
            on: "x86_64",
            version: (6, 0),
            report: &bad,
        }];
        let (_, problems) = check(&c, &boots);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("USERFAULTFD_IOC_NEW") && p.contains("offers it")),
            "{problems:?}"
        );
        let boots = [Boot {
            on: "x86_64",
            version: (6, 8),
            report: &bad,
        }];
        let (_, problems) = check(&c, &boots);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("UFFD_FEATURE_MOVE") && p.contains("lacks it")),
            "{problems:?}"
        );
    }
}

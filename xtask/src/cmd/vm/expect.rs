//! What one boot must show beyond "no case failed": a real feature mask, no ENOSYS skip on a
//! kernel that has userfaultfd, exactly the feature mask recorded for its kernel-table row (from
//! a real run on the package version named in the row), and exactly the skipped cases derived
//! from that mask, the kernel and the cases' requirements (`needs.rs`).

use super::needs;
use super::tables::Kernel;
use crate::util::report::{Outcome, Report};
use std::collections::BTreeSet;

/// The feature mask of a `features=0x<mask> ioctls=0x<mask>` line, if it is one.
fn mask(features: &str) -> Option<u64> {
    let hex = features.split_whitespace().next()?.strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}

/// Bit numbers set in `m`, as `[0, 3, 17]`.
fn bits(m: u64) -> String {
    let v: Vec<String> = (0..64)
        .filter(|b| m & (1 << b) != 0)
        .map(|b| b.to_string())
        .collect();
    format!("[{}]", v.join(", "))
}

/// Everything in `report` that contradicts the row `k`, run on package `version`.
pub fn problems(k: &Kernel, version: &str, report: &Report) -> Vec<String> {
    let mut p = Vec::new();
    let row = format!(
        "{} {} (expectation derived from {})",
        k.arch, k.suite, k.derived_from
    );
    if version != k.derived_from {
        p.push(format!(
            "{row}: this run booted {version}: re-derive the row's feature mask and skips \
             from a run on it"
        ));
    }
    let Some(m) = report.features.as_deref().and_then(mask) else {
        // A missing or non-hex line is already a problem of `Report::problems`/`boot`.
        return p;
    };
    if m == 0 {
        p.push(format!(
            "{row}: features=0x0: the kernel offered no feature at all"
        ));
    }
    let skipped: BTreeSet<&str> = report
        .cases
        .iter()
        .filter_map(|(n, o)| matches!(o, Outcome::Skip(_)).then_some(n.as_str()))
        .collect();
    if m != 0 {
        for (n, o) in &report.cases {
            if let Outcome::Skip(why) = o {
                if why.contains("ENOSYS") {
                    p.push(format!(
                        "{row}: {n} skipped with {why:?} although userfaultfd answered \
                         (features={m:#x})"
                    ));
                }
            }
        }
    }
    if m != k.features {
        p.push(format!(
            "{row}: features={m:#x}, expected {:#x} (bits only here: {}, bits missing: {})",
            k.features,
            bits(m & !k.features),
            bits(k.features & !m)
        ));
    }
    let derived = needs::skips(k, report.cases.iter().map(|(n, _)| n.as_str()));
    let expected: BTreeSet<&str> = derived.iter().map(String::as_str).collect();
    let extra: Vec<&str> = skipped.difference(&expected).copied().collect();
    let missing: Vec<&str> = expected.difference(&skipped).copied().collect();
    if !extra.is_empty() {
        p.push(format!("{row}: skipped but expected to run: {extra:?}"));
    }
    if !missing.is_empty() {
        p.push(format!("{row}: expected to skip but did not: {missing:?}"));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::report::parse;

    const ROW: Kernel = Kernel {
        arch: "x86_64",
        on: "x86_64",
        suite: "bookworm",
        flavour: "amd64",
        derived_from: "6.1.1-1",
        features: 0x1f,
        also_skips: &["b"],
    };

    fn run(features: &str, cases: &str) -> Report {
        parse(&format!(
            "uffd-suite: begin arch=x86_64 page_size=4096 cases=2\n\
             uffd-suite: features={features}\n{cases}"
        ))
    }

    #[test]
    fn the_recorded_mask_and_skips_pass() {
        let r = run(
            "0x1f ioctls=0x3",
            "uffd-case: a ... pass\nuffd-case: b ... skip: kernel lacks MOVE\n",
        );
        assert_eq!(problems(&ROW, "6.1.1-1", &r), Vec::<String>::new());
    }

    #[test]
    fn every_difference_is_named() {
        let ok = "uffd-case: a ... pass\nuffd-case: b ... skip: kernel lacks MOVE\n";
        let p = problems(&ROW, "6.1.2-1", &run("0x1f ioctls=0x3", ok));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("6.1.1-1") && p[0].contains("6.1.2-1"),
            "{p:?}"
        );

        let p = problems(&ROW, "6.1.1-1", &run("0x3f ioctls=0x3", ok));
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("bits only here: [5]"), "{p:?}");
        let p = problems(&ROW, "6.1.1-1", &run("0x0f ioctls=0x3", ok));
        assert!(p[0].contains("bits missing: [4]"), "{p:?}");

        let p = problems(&ROW, "6.1.1-1", &run("0x1f", "uffd-case: a ... skip: x\n"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("skipped but expected to run: [\"a\"]"),
            "{p:?}"
        );
        assert!(
            p[1].contains("expected to skip but did not: [\"b\"]"),
            "{p:?}"
        );
    }

    #[test]
    fn zero_features_and_enosys_with_userfaultfd_fail() {
        let ok = "uffd-case: a ... pass\nuffd-case: b ... skip: kernel lacks MOVE\n";
        let p = problems(&ROW, "6.1.1-1", &run("0x0 ioctls=0x3", ok));
        assert!(p.iter().any(|m| m.contains("features=0x0")), "{p:?}");
        let enosys = "uffd-case: a ... pass\nuffd-case: b ... skip: userfaultfd: ENOSYS\n";
        let p = problems(&ROW, "6.1.1-1", &run("0x1f ioctls=0x3", enosys));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("ENOSYS"), "{p:?}");
    }
}

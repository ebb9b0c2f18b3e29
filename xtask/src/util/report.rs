//! The result lines every harness of the shared suite prints, parsed, checked and summarised.
//!
//! `tests/vm-init` (and any harness that wants `cargo xtask` to check it) prints:
//!
//! ```text
//! uffd-suite: begin arch=<arch> page_size=<n> cases=<n>
//! uffd-suite: features=0x<mask>      (or: features=none (<why>))
//! uffd-suite: running <name>       (before each case: names a case that hangs)
//! uffd-case: <name> ... pass | skip: <reason> | fail: <message>
//! uffd-suite: end passed=<n> skipped=<n> failed=<n>
//! uffd-suite: panic: <message>       (instead of the rest, if it panicked)
//! ```
//!
//! Lines may be interleaved with kernel messages and carry `\r`: only lines holding a marker
//! count, from the marker on.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One case's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Skip(String),
    Fail(String),
}

/// Everything one run printed.
#[derive(Debug, Default)]
pub struct Report {
    /// `cases=` of the begin line.
    pub declared: Option<usize>,
    /// `page_size=` of the begin line.
    pub page_size: Option<usize>,
    /// `features=...` as printed.
    pub features: Option<String>,
    /// Cases in order of appearance.
    pub cases: Vec<(String, Outcome)>,
    /// `(passed, skipped, failed)` of the end line.
    pub end: Option<(usize, usize, usize)>,
    /// Panic messages.
    pub panics: Vec<String>,
    /// The case of the last `running` line.
    pub running: Option<String>,
    /// `uffd-offers: <subject> key=value ...` as `"<subject>.<key>" -> value` (e.g.
    /// `"open.device" -> "ENOENT"`, `"register anon.wp" -> "0x5c"`).
    pub offers: BTreeMap<String, String>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Parses every marker line of `text`.
pub fn parse(text: &str) -> Report {
    let mut r = Report::default();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(i) = line.find("uffd-offers: ") {
            let rest = &line[i + "uffd-offers: ".len()..];
            let words: Vec<&str> = rest.split_whitespace().collect();
            let n = words.iter().take_while(|w| !w.contains('=')).count();
            let subject = words[..n].join(" ");
            for w in &words[n..] {
                if let Some((k, v)) = w.split_once('=') {
                    r.offers.insert(format!("{subject}.{k}"), v.to_string());
                }
            }
        } else if let Some(i) = line.find("uffd-case: ") {
            let rest = &line[i + "uffd-case: ".len()..];
            let Some((name, result)) = rest.split_once(" ... ") else {
                r.panics.push(format!("malformed result line: {line:?}"));
                continue;
            };
            let outcome = if result == "pass" {
                Outcome::Pass
            } else if let Some(why) = result.strip_prefix("skip: ") {
                Outcome::Skip(why.to_string())
            } else if let Some(why) = result.strip_prefix("fail: ") {
                Outcome::Fail(why.to_string())
            } else {
                Outcome::Fail(format!("unparsable result {result:?}"))
            };
            r.cases.push((name.to_string(), outcome));
        } else if let Some(i) = line.find("uffd-suite: ") {
            let rest = &line[i + "uffd-suite: ".len()..];
            if let Some(b) = rest.strip_prefix("begin ") {
                r.declared = field(b, "cases").and_then(|n| n.parse().ok());
                r.page_size = field(b, "page_size").and_then(|n| n.parse().ok());
            } else if let Some(f) = rest.strip_prefix("features=") {
                r.features = Some(f.to_string());
            } else if let Some(e) = rest.strip_prefix("end ") {
                let n = |k| field(e, k).and_then(|n| n.parse().ok());
                r.end = match (n("passed"), n("skipped"), n("failed")) {
                    (Some(p), Some(s), Some(f)) => Some((p, s, f)),
                    _ => None,
                };
            } else if let Some(name) = rest.strip_prefix("running ") {
                r.running = Some(name.to_string());
            } else if let Some(p) = rest.strip_prefix("panic: ") {
                r.panics.push(p.to_string());
            }
        }
    }
    r
}

impl Report {
    pub fn count(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for (_, o) in &self.cases {
            match o {
                Outcome::Pass => c.0 += 1,
                Outcome::Skip(_) => c.1 += 1,
                Outcome::Fail(_) => c.2 += 1,
            }
        }
        c
    }

    /// Everything wrong with this run: failed cases, panics, missing or inconsistent lines.
    /// Empty means the run passed.
    pub fn problems(&self) -> Vec<String> {
        let mut p: Vec<String> = self.panics.iter().map(|m| format!("panic: {m}")).collect();
        for (name, o) in &self.cases {
            if let Outcome::Fail(m) = o {
                p.push(format!("{name}: FAILED: {m}"));
            }
        }
        let Some(declared) = self.declared else {
            p.push("no `uffd-suite: begin` line".into());
            return p;
        };
        if self.cases.len() != declared {
            p.push(format!(
                "{declared} cases declared, {} result lines",
                self.cases.len()
            ));
        }
        let mut seen = BTreeMap::new();
        for (name, _) in &self.cases {
            *seen.entry(name.as_str()).or_insert(0) += 1;
        }
        for (name, n) in seen.into_iter().filter(|(_, n)| *n > 1) {
            p.push(format!("{name}: {n} result lines"));
        }
        if self.features.is_none() {
            p.push("no `uffd-suite: features=` line".into());
        }
        match self.end {
            None => {
                let stuck = match &self.running {
                    Some(n) if !self.cases.iter().any(|(c, _)| c == n) => {
                        format!("; case {n} started and never reported")
                    }
                    _ => String::new(),
                };
                p.push(format!(
                    "no `uffd-suite: end` line (crashed or timed out?){stuck}"
                ))
            }
            Some(end) if end != self.count() => p.push(format!(
                "end line says {end:?}, result lines say {:?}",
                self.count()
            )),
            Some(_) => {}
        }
        p
    }

    /// Skip reasons with how many cases gave each.
    pub fn skip_reasons(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for (_, o) in &self.cases {
            if let Outcome::Skip(why) = o {
                *m.entry(why.as_str()).or_insert(0) += 1;
            }
        }
        m
    }

    /// "P passed, S skipped (n× reason; ...), F failed".
    pub fn summary(&self) -> String {
        let (p, s, f) = self.count();
        let mut out = format!("{p} passed, {s} skipped");
        let reasons = self.skip_reasons();
        if !reasons.is_empty() {
            out.push_str(" (");
            for (i, (why, n)) in reasons.iter().enumerate() {
                let _ = write!(out, "{}{n}x {why}", if i > 0 { "; " } else { "" });
            }
            out.push(')');
        }
        let _ = write!(out, ", {f} failed");
        out
    }
}

/// Prints a table with a header row; columns padded to their widest cell. A `|` inside a
/// cell (e.g. `Features(A | B)`) is printed as `+`.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.replace(" | ", "+").replace('|', "+"))
                .collect()
        })
        .collect();
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from("|");
        for (i, c) in cells.iter().enumerate() {
            let _ = write!(s, " {c:<0$} |", w[i]);
        }
        println!("{s}");
    };
    line(header.to_vec());
    println!(
        "|{}|",
        w.iter()
            .map(|n| "-".repeat(n + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[    1.0] boot noise\r\nuffd-suite: begin arch=x86_64 page_size=4096 cases=3\r\n\
        uffd-suite: features=0x1ffff\r\nuffd-case: a ... pass\r\nuffd-case: b ... skip: kernel lacks MOVE\r\n\
        [    2.0] noise uffd-case: c ... pass\r\nuffd-suite: end passed=2 skipped=1 failed=0\r\n";

    #[test]
    fn a_complete_run_passes() {
        let r = parse(GOOD);
        assert_eq!(r.problems(), Vec::<String>::new());
        assert_eq!(r.features.as_deref(), Some("0x1ffff"));
        assert_eq!(r.page_size, Some(4096));
        assert_eq!(
            r.summary(),
            "2 passed, 1 skipped (1x kernel lacks MOVE), 0 failed"
        );
    }

    #[test]
    fn failures_panics_and_missing_lines_are_problems() {
        let failed = GOOD.replace(
            "b ... skip: kernel lacks MOVE",
            "b ... fail: expected 1, got 2",
        );
        assert!(parse(&failed)
            .problems()
            .iter()
            .any(|p| p.contains("b: FAILED: expected 1, got 2")));
        let truncated = &GOOD[..GOOD.find("uffd-case: b").unwrap()];
        let p = parse(truncated).problems();
        assert!(
            p.iter()
                .any(|p| p.contains("3 cases declared, 1 result lines")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.contains("no `uffd-suite: end` line")),
            "{p:?}"
        );
        let panicked = format!("{truncated}uffd-suite: panic: boom at x.rs:1\n");
        assert!(parse(&panicked)
            .problems()
            .iter()
            .any(|p| p == "panic: boom at x.rs:1"));
        assert!(!parse("").problems().is_empty());
        let dup = GOOD.replace("c ... pass", "a ... pass");
        assert!(parse(&dup)
            .problems()
            .iter()
            .any(|p| p == "a: 2 result lines"));
        let lying = GOOD.replace("passed=2", "passed=3");
        assert!(parse(&lying)
            .problems()
            .iter()
            .any(|p| p.starts_with("end line says")));
    }
}

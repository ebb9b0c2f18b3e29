//! Judging each item (C value against the crate's) and printing the table.

use super::rust::RustValues;
use uffd_probe::manifest;
use uffd_probe::probe::{self, Ctx, Plan, Probe};

/// The verdict of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// C and Rust agree.
    Ok,
    /// They differ, or the header has something the crate lacks.
    Fail(String),
    /// Not in this header (too old).
    Skip(String),
    /// Shown, not compared.
    Info(String),
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Row {
    pub key: String,
    pub c: Option<u64>,
    pub rust: Option<u64>,
    pub status: Status,
}

/// Compares every item of `probe` with `rust` (manifest order), plus the header's extras.
pub fn judge(probe: &Probe, rust: &RustValues, ctx: Ctx) -> Vec<Row> {
    let mut rows = Vec::new();
    for ((it, c), r) in manifest::items()
        .iter()
        .zip(&probe.values)
        .zip(&rust.values)
    {
        let status = match probe::plan(it, *c, probe.version, ctx) {
            Plan::Compare(c) => match r {
                Some(r) if *r == c => Status::Ok,
                Some(r) => Status::Fail(format!("MISMATCH: C {c:#x} ({c}), Rust {r:#x} ({r})")),
                None => Status::Fail("the crate lacks it".into()),
            },
            Plan::Skip(why) => Status::Skip(why),
            Plan::Info(_, why) => Status::Info(why),
            Plan::Fail(why) => Status::Fail(why),
        };
        rows.push(Row {
            key: it.key.clone(),
            c: *c,
            rust: *r,
            status,
        });
    }
    for e in &probe.extras {
        rows.push(Row {
            key: e.clone(),
            c: None,
            rust: None,
            status: Status::Fail("in the header, missing from the crate".into()),
        });
    }
    rows
}

/// Counts of one table.
pub struct Printed {
    pub failures: usize,
    pub summary: String,
}

/// Prints the table (every row with `verbose`, else failures, skips and infos) and counts.
pub fn print(rows: &[Row], verbose: bool) -> Printed {
    let hex = |v: Option<u64>| v.map(|v| format!("{v:#x}")).unwrap_or_else(|| "-".into());
    println!("    {:<58} {:>20} {:>20}  status", "item", "C", "Rust");
    let (mut ok, mut fail, mut skip, mut info) = (0, 0, 0, 0);
    for r in rows {
        let (show, status) = match &r.status {
            Status::Ok => {
                ok += 1;
                (verbose, "ok".to_string())
            }
            Status::Fail(w) => {
                fail += 1;
                (true, format!("FAIL: {w}"))
            }
            Status::Skip(w) => {
                skip += 1;
                (true, format!("skip: {w}"))
            }
            Status::Info(w) => {
                info += 1;
                (true, format!("not compared: {w}"))
            }
        };
        if show {
            println!(
                "    {:<58} {:>20} {:>20}  {status}",
                r.key,
                hex(r.c),
                hex(r.rust)
            );
        }
    }
    if !verbose && ok > 0 {
        println!("    ... and {ok} more rows with status ok (-v shows them)");
    }
    Printed {
        failures: fail,
        summary: format!("{ok} equal, {fail} failed, {skip} not in header, {info} not compared"),
    }
}

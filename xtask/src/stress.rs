//! `cargo xtask stress [--bytes N] [--pages P]`: the long uffd-stress run (tests/stress.rs in
//! release mode, default 1 GiB bounced), printing its totals.

use crate::util::{root, run as sh, Result};
use std::process::Command;

pub fn run(args: &[String]) -> Result<()> {
    let mut bytes: u64 = 1 << 30;
    let mut pages: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--bytes" => bytes = val()?.parse().map_err(|e| format!("--bytes: {e}"))?,
            "--pages" => pages = Some(val()?),
            _ => return Err(format!("unknown argument {a:?} (--bytes N, --pages P)")),
        }
    }
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root())
        .args(["test", "--release", "-p", "uffd", "--test", "stress"])
        .args(["--", "--nocapture"])
        .env("UFFD_STRESS_BYTES", bytes.to_string());
    if let Some(p) = pages {
        c.env("UFFD_STRESS_PAGES", p);
    }
    sh(&mut c)
}

//! `cargo xtask stress [--bytes N] [--pages P]`: the long uffd-stress run (tests/stress.rs in
//! release mode, default 1 GiB bounced), printing its totals.

use crate::util::process::{cargo, run as sh, Result};
use bpaf::{construct, long, Parser};

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "the uffd-stress port (tests/stress.rs), a long run in release mode";

/// The options.
#[derive(Clone, Debug)]
pub struct Args {
    /// `--bytes N`: bytes bounced in total.
    pub bytes: u64,
    /// `--pages P`: pages per area (the test's default if unset).
    pub pages: Option<String>,
}

pub fn parser() -> impl Parser<Args> {
    let bytes = long("bytes")
        .help("bytes bounced in total (UFFD_STRESS_BYTES)")
        .argument::<u64>("N")
        .fallback(1 << 30)
        .display_fallback();
    let pages = long("pages")
        .help("pages per area (UFFD_STRESS_PAGES; default: the test's)")
        .argument::<String>("P")
        .optional();
    construct!(Args { bytes, pages })
}

pub fn run(a: &Args) -> Result<()> {
    let mut c = cargo();
    c.args(["test", "--release", "-p", "uffd", "--test", "stress"])
        .args(["--", "--nocapture"])
        .env("UFFD_STRESS_BYTES", a.bytes.to_string());
    if let Some(p) = &a.pages {
        c.env("UFFD_STRESS_PAGES", p);
    }
    sh(&mut c)
}

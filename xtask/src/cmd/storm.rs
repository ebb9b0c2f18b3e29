//! `cargo xtask storm [--seeds N] [--from S] [--ops K] [--watchdog SECS]`: the pager's
//! randomized storm (`tests/storm/`) in release mode: per seed, regions served by workers
//! while touchers verify every page they read and a chaos thread unmaps, moves, shrinks,
//! splits, drops and writes pages and forks children served by their own pager. Prints a
//! line per seed and the totals (seeds, chaos operations, pages verified, forks, faults);
//! fails if any seed fails, naming it (rerun one with `--from S --seeds 1`). A seed that
//! stops progressing ends the run after `--watchdog` seconds with a diagnosis.

use crate::util::process::{cargo, run as sh, Result};
use bpaf::{construct, long, Parser};

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "the pager's randomized storm (tests/storm/), many seeds in release mode";

/// The options.
#[derive(Clone, Debug)]
pub struct Args {
    /// `--seeds N`: how many seeds.
    pub seeds: u64,
    /// `--from S`: the first seed.
    pub from: u64,
    /// `--ops K`: chaos operations per seed.
    pub ops: u64,
    /// `--watchdog SECS`: how long a seed may go without progress.
    pub watchdog: u64,
}

impl Args {
    /// The short run `ci` does.
    pub const SHORT: Args = Args {
        seeds: 24,
        from: 1,
        ops: 200,
        watchdog: 30,
    };
}

pub fn parser() -> impl Parser<Args> {
    let seeds = long("seeds")
        .help("how many seeds to run (UFFD_STORM_SEEDS)")
        .argument::<u64>("N")
        .fallback(300)
        .display_fallback();
    let from = long("from")
        .help("the first seed (UFFD_STORM_FROM)")
        .argument::<u64>("S")
        .fallback(1)
        .display_fallback();
    let ops = long("ops")
        .help("chaos operations per seed (UFFD_STORM_OPS)")
        .argument::<u64>("K")
        .fallback(400)
        .display_fallback();
    let watchdog = long("watchdog")
        .help("seconds a seed may go without progress before the run ends with a diagnosis")
        .argument::<u64>("SECS")
        .fallback(30)
        .display_fallback();
    construct!(Args {
        seeds,
        from,
        ops,
        watchdog
    })
}

pub fn run(a: &Args) -> Result<()> {
    if a.seeds == 0 || a.ops == 0 || a.watchdog == 0 {
        return Err("--seeds, --ops and --watchdog must be at least 1".into());
    }
    sh(cargo()
        .args(["test", "--release", "-p", "uffd", "--features", "std"])
        .args(["--test", "storm", "--", "--nocapture"])
        .env("UFFD_STORM_SEEDS", a.seeds.to_string())
        .env("UFFD_STORM_FROM", a.from.to_string())
        .env("UFFD_STORM_OPS", a.ops.to_string())
        .env("UFFD_STORM_WATCHDOG", a.watchdog.to_string()))
}

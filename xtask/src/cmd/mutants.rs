//! `cargo xtask mutants [--set core|pager|pagemap] [--list]`: [cargo-mutants](https://mutants.rs)
//! over one set of files: `core` the handle, the events and the errors (`src/uffd/`,
//! `src/event.rs`, `src/error.rs`, ~220 mutants, the crate's whole test suite each), `pager`
//! the fault-serving engine (`src/pager/`, ~770 mutants), `pagemap` the dirty tracking
//! (`src/pagemap/`, ~170 mutants); the last two run only the tests that reach them (the unit
//! tests, the engines' integration tests, the suite's pager cases and the storm's short run),
//! which keeps a mutant at ~15 s. Each mutant (a function body replaced, an operator flipped) is built and
//! the tests run against it; a mutant the tests do not catch is a behaviour nothing checks.
//!
//! `--shard K/N` runs one slice, `--re REGEX` the mutants named by it, `--jobs N` N at once.
//! Prints how many mutants were caught, missed, unviable (did not build) and timed out, the
//! missed ones by name, and the duration; any missed mutant fails the command, and so does a
//! timed-out one unless its set lists it as an endless loop (its timeout is then its catch).
//! Not part of `ci`: a full run takes far longer than its ten-minute budget.

use crate::env::tools;
use crate::util::process::{cargo, target_dir, Result};
use bpaf::{construct, long, Parser};
use std::time::Instant;

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "cargo-mutants over one set of files (core: the handle, pager, pagemap)";

/// A set of files mutated together, with the tests that judge them.
pub struct Set {
    /// `--set NAME`.
    pub name: &'static str,
    /// The files mutated (globs relative to the workspace root, as `cargo mutants -f` takes
    /// them).
    pub files: &'static [&'static str],
    /// Mutants left out (`cargo mutants --exclude-re`), each with why.
    pub excluded: &'static [(&'static str, &'static str)],
    /// `cargo test` target selection (`--cargo-arg`: the build links only these); empty: every
    /// test of the crate.
    pub tests: &'static [&'static str],
    /// Mutants that make a loop run forever (names as cargo-mutants prints them, without the
    /// `file:line:col: ` prefix), each with the test it hangs: their timeout is their catch.
    /// Any other timeout fails the run.
    pub loops: &'static [(&'static str, &'static str)],
}

/// The tests that reach the pager: its unit tests, its integration tests, the suite's pager
/// cases (`kernel`) and the storm's short run.
const PAGER_TESTS: &[&str] = &[
    "--lib",
    "--test",
    "pager",
    "--test",
    "pager_readahead",
    "--test",
    "pager_faults",
    "--test",
    "kernel",
    "--test",
    "storm",
];

/// The tests that reach the pagemap module.
const PAGEMAP_TESTS: &[&str] = &[
    "--lib",
    "--test",
    "pager",
    "--test",
    "pager_faults",
    "--test",
    "pagemap",
    "--test",
    "storm",
    "--test",
    "received_fd",
];

/// Every set, `core` first (the default).
pub const SETS: &[Set] = &[
    Set {
        name: "core",
        files: &["src/uffd/**", "src/event.rs", "src/error.rs"],
        excluded: CORE_EXCLUDED,
        tests: &[],
        loops: &[],
    },
    Set {
        name: "pager",
        files: &["src/pager/**"],
        excluded: PAGER_EXCLUDED,
        tests: PAGER_TESTS,
        loops: &[
            (
                "replace < with <= in Bits<'a>::each",
                "at `i == hi` the word walk stays at `hi` (the bitmap unit tests, set_count_runs)",
            ),
            (
                "replace * with + in Bits<'a>::each",
                "a word's end below its start: the walk never advances (set_count_runs)",
            ),
            (
                "replace + with * in Bits<'a>::each",
                "word 0's end is 0: the walk never advances (set_count_runs)",
            ),
            (
                "replace == with != in Gate::shared",
                "the shared side waits while no writer holds the gate, forever (every pager \
                 test with events negotiated, e.g. remove_then_fault_gives_zeros…)",
            ),
            (
                "replace & with | in Gate::shared",
                "`state | WRITER` is never 0: the shared side waits forever (as above)",
            ),
            (
                "replace & with ^ in Gate::shared",
                "`state ^ WRITER` is 0 only while a writer holds it: the shared side waits \
                 forever when none does (as above)",
            ),
        ],
    },
    Set {
        name: "pagemap",
        files: &["src/pagemap/**"],
        excluded: PAGEMAP_EXCLUDED,
        tests: PAGEMAP_TESTS,
        loops: &[
            (
                "replace += with -= in <impl Iterator for Written<'_>>::next",
                "the entry walk moves backwards and never reaches the range's end \
                 (three_epochs_of_threaded_writes_exact)",
            ),
            (
                "replace Regions<'_>::call -> Result<(), Error> with Ok(())",
                "no ioctl, so no progress: the iterator asks again forever \
                 (three_epochs_of_threaded_writes_exact)",
            ),
            (
                "replace Regions<'_>::next_batch -> Option<Result<&[page_region], Error>> with \
                 Some(Ok(Vec::leak(vec![Default::default()])))",
                "a batch every call, never `None` (three_epochs_of_threaded_writes_exact, \
                 through dirty_batched)",
            ),
            (
                "replace += with *= in Regions<'_>::take_buffered",
                "the buffer index stays 0: the first region comes back forever \
                 (three_epochs_of_threaded_writes_exact)",
            ),
        ],
    },
];

/// Mutants of `pager` left out, each with why. (cargo-mutants does not apply `--exclude-re` to
/// its "delete field" mutants of struct-update expressions: none is listed here; write the
/// struct out where such a mutant cannot change behaviour.)
const PAGER_EXCLUDED: &[(&str, &str)] = &[
    (
        r"replace < with <= in Worker<'_, '_>::fill_range",
        "the range loop's bound: at `b == hi` the search of the empty range finds nothing \
         and the loop ends as it would have",
    ),
    (
        r"delete match arm \(Source::Continue, _\) in cap",
        "CONTINUE needs no scratch; without the arm a hugetlb CONTINUE run is capped at the \
         scratch's huge pages (at least one): the same pages placed, in more ioctls",
    ),
    (
        r"replace > with (==|<|>=) in Pager<'_>::(copy|wake)$",
        "whether a placement goes through `Uffd::hugetlb(ps)` or the base handle: the same \
         ioctl either way, its range checked against the huge page or the base page; the \
         pager's runs are aligned to their region's page size, and the kernel checks a \
         hugetlb range's alignment itself",
    ),
    (
        r"replace - with \+ in Bits<'a>::clear_run_end",
        "`64 - leading_zeros` is where the mask ends: the word's end, or `hi` inside the last \
         word; `64 + leading_zeros` differs only in the second case, where the result is \
         clamped to `hi` anyway",
    ),
    (
        r"in backoff$|replace backoff with \(\)",
        "a spin-wait's pacing (spin, then 20 µs sleeps so a holder on the same CPU runs): \
         every caller loops until its condition holds, so only how long a wait burns CPU \
         changes; timing, not an outcome",
    ),
    (
        r"replace (match guard run.pages > 1 with false|> with <) in Pager<'_>::place$",
        "halving a run the kernel refused with ENOENT only finds in one call how much lies \
         before a split; without it the fill's recheck places the run's first page and the \
         range goes on page by page, and readahead stops at the split: the same pages end up \
         placed (a_mapping_split_under_the_fill_is_filled_around counts them)",
    ),
    (
        r"replace (< with <=|- with /) in bucket$",
        "the last bucket is open-ended: at `i == BUCKETS - 1` both branches give it, and \
         `BUCKETS / 1` only moves the bound to where `i` would land in it anyway",
    ),
    (
        r"replace Gate::clear_wanted with \(\)",
        "the safety net for a stale 'events wanted' mark (set by a worker whose batch another \
         worker read meanwhile); every successful batch read clears the mark too, so only that \
         race leaves it set, which no test stages deterministically",
    ),
    (
        r"replace (match guard !hugetlb with false|\| with \^) in check_ioctls",
        "`ZEROPAGE | COPY` and `ZEROPAGE` are disjoint bits (`^` is the same value), and a \
         base-page region gets ZEROPAGE added below the match anyway (the guard's arm and \
         the default arm then need the same set)",
    ),
    (
        r"worker.rs:\d+:\d+: replace \* with \+$",
        "the fault queue's capacity (2 x 64 read at once): 66 holds a whole batch as well; \
         only how many faults wait in a worker between reads changes (the ones with no room \
         are woken to fault again: more_faults_than_the_queue_holds_with_an_event_behind_them)",
    ),
    (
        r"replace == with != in Worker<'w, 'a>::drain",
        "whether `drain` (after an EAGAIN) waits 50 µs for the event's thread to finish when \
         its read found nothing: the events are read and the faults queued either way; \
         timing, not an outcome",
    ),
    (
        r"delete ! in Worker<'w, 'a>::serve_until",
        "`!u.is_readable()` guards the call of `Gate::clear_wanted` (excluded above, same \
         race-only reason): clearing the mark also when the descriptor is readable only lets \
         a fill piece start before the worker reads",
    ),
    (
        r"replace > with >= in Worker<'w, 'a>::serve_fault",
        "a window of one page: the run end found from `bit + 1` over an empty range is \
         `bit + 1`, the same one page",
    ),
    (
        r"stopped_early",
        "reached only when a fill piece stops early (another worker waits for events, an \
         EAGAIN, a table change), which no test stages deterministically; the pages are placed \
         and marked either way: only `fill_pieces`/`fill_bytes` and whether the caller sees \
         `Interrupted` (and serves events before filling on) differ",
    ),
];

/// Mutants of `pagemap` left out, each with why.
const PAGEMAP_EXCLUDED: &[(&str, &str)] = &[
    (
        r"replace \| with \^ in (Pagemap::open_path|entry_is_written)",
        "disjoint bits (`O_RDONLY | O_CLOEXEC`; `PM_PRESENT | PM_SWAP`, `PM_UFFD_WP | \
         PM_GUARD_REGION`): `^` is the same value",
    ),
    (
        r"replace (match guard self.arg.flags & crate::abi::PM_SCAN_CHECK_WPASYNC != 0 with true|& with \|) in Regions<'_>::call",
        "PAGEMAP_SCAN's only EPERM is PM_SCAN_CHECK_WPASYNC's (pagemap_scan_test_walk in \
         fs/proc/task_mmu.c), so the guard holds wherever an EPERM comes; it is there for a \
         future kernel's other EPERM (`^` is caught: CHECK_WPASYNC alone)",
    ),
    (
        r"replace < with <= in Pagemap::read_entries",
        "one more `pread64`, of 0 bytes once the buffer is full: it returns 0 and the loop \
         ends with the same count",
    ),
    (
        r"replace \+= with \*= in Pagemap::read_entries",
        "pagemap reads short only at the end of the address space, after which every larger \
         offset reads nothing: `offset * n` lands past the end as `offset + n` does \
         (`-=` is caught by read_entries_stop_at_the_end_of_the_address_space)",
    ),
    (
        r"replace (/ with \*|- with \+) in <impl Iterator for Written<'_>>::next$",
        "the entries read per call are capped by the buffer, not the range's rest: the walk \
         still stops at the range's end, having read some entries past it (a longer \
         pread64, nothing observable)",
    ),
];

/// Mutants of `core` left out, each with why.
const CORE_EXCLUDED: &[(&str, &str)] = &[
    (
        r"replace \| with & in (read_api_line|open_device)",
        "the open flags of fdinfo (`O_RDONLY | O_CLOEXEC`) and of /dev/userfaultfd (`O_RDWR | \
         O_CLOEXEC`): `&` gives 0, read-only without O_CLOEXEC, for a descriptor closed before \
         the function returns (USERFAULTFD_IOC_NEW works on a read-only one): only a fork+exec \
         in another thread during those microseconds could tell",
    ),
    (
        r"replace & with \| in check_range$",
        "`(start | len) | mask == 0` is never true: every range goes to the full check, which \
         answers the same (the fast path only saves time; `fast_path_agrees_with_the_full_check`)",
    ),
    (
        r"replace match guard ask.contains\(Features::EVENT_FORK\) with true in Builder::create",
        "UFFDIO_API refuses with EPERM only for EVENT_FORK without CAP_SYS_PTRACE, so the guard \
         is always true where reached; it is there so that an EPERM for another reason (a \
         future kernel) is returned instead of retried forever",
    ),
    (
        r"replace \| with \^ in (read_api_line|open_device)",
        "open flags are disjoint bits (`O_RDONLY`/`O_RDWR` | `O_CLOEXEC`): `^` is the same value",
    ),
    (
        "Error::from_range_result",
        "`#[cfg(fuzzing)]`: not built by `cargo test`, so no test can see it; the \
         `range_result` fuzz target checks it against its own decoding",
    ),
];

/// The options.
#[derive(Clone, Debug)]
pub struct Args {
    /// `--list`: only list the mutants.
    pub list: bool,
    /// `--shard K/N`: only the K-th of N slices of the mutants (cargo-mutants' `--shard`).
    pub shard: Option<String>,
    /// `--re REGEX`: only the mutants whose name matches (cargo-mutants' `--re`).
    pub re: Option<String>,
    /// `--set NAME`: which files (one of [`SETS`]).
    pub set: &'static Set,
    /// `--jobs N`: mutants built and tested at once (cargo-mutants' `-j`).
    pub jobs: usize,
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

pub fn parser() -> impl Parser<Args> {
    let list = long("list")
        .help("only list the mutants (no build, no tests)")
        .switch();
    let shard = long("shard")
        .help("only the K-th (from 0) of N slices of the mutants, as cargo-mutants' --shard")
        .argument::<String>("K/N")
        .optional();
    let re = long("re")
        .help(
            "only the mutants whose name (file:line: change) matches REGEX, as cargo-mutants' --re",
        )
        .argument::<String>("REGEX")
        .optional();
    let set = long("set")
        .help("the files to mutate: core (src/uffd/, src/event.rs, src/error.rs), pager (src/pager/) or pagemap (src/pagemap/)")
        .argument::<String>("NAME")
        .parse(|n| {
            SETS.iter()
                .find(|s| s.name == n)
                .ok_or_else(|| format!("no set {n:?}: core, pager or pagemap"))
        })
        .fallback(&SETS[0]);
    let jobs = long("jobs")
        .short('j')
        .help("mutants built and tested at once (default 1: the tests use both cores)")
        .argument::<usize>("N")
        .guard(|&n| n > 0, "--jobs is at least 1")
        .fallback(1);
    construct!(Args {
        list,
        shard,
        re,
        set,
        jobs
    })
}

/// `"key": N` in cargo-mutants' `outcomes.json`.
fn count(json: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{key}\""))?;
    let rest = json[at + key.len() + 2..].trim_start().strip_prefix(':')?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

pub fn run(a: &Args) -> Result<()> {
    tools::cargo_install("cargo-mutants", &["cargo", "mutants"])?;
    let set = a.set;
    let out = target_dir().join("mutants").join(set.name);
    let mut c = cargo();
    // With `std`: its glue (`AsFd`, `IntoRawFd`, `From<Uffd> for OwnedFd`) lives in
    // `src/uffd/`, and without the feature those mutants are not even built (counted missed).
    c.args(["mutants", "-p", "uffd", "--features", "std"]);
    for f in set.files {
        c.args(["-f", f]);
    }
    for (re, _why) in set.excluded {
        c.args(["--exclude-re", re]);
    }
    // For the build too (`cargo test --no-run`): the other test binaries are not linked.
    for t in set.tests {
        c.arg(format!("--cargo-arg={t}"));
    }
    if let Some(k_n) = &a.shard {
        c.args(["--shard", k_n]);
    }
    if let Some(re) = &a.re {
        c.args(["--re", re]);
    }
    if a.list {
        c.arg("--list");
        return crate::util::process::run(&mut c);
    }
    // One job by default: the machine has two cores and the tests use both. The auto-set
    // test timeout (5x the unmutated run, 36 s here) is exceeded by a mutant that changes
    // nothing a test waits on when another build shares the cores: at least 45 s.
    c.arg("-j")
        .arg(a.jobs.to_string())
        .args(["--minimum-test-timeout", "45", "--output"])
        .arg(&out);
    // A mutant that stops the pager leaves test threads blocked on faults: the pager tests'
    // own deadline and the storm's watchdog fail them in 10 s rather than at the timeout.
    // No debug info: a mutant's build is mostly linking the test binaries.
    c.env("UFFD_TEST_DEADLINE", "10")
        .env("UFFD_STORM_WATCHDOG", "10")
        .env("CARGO_PROFILE_DEV_DEBUG", "0");
    // cargo-mutants creates `mutants.out` under `--output`, but not `--output` itself.
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let started = Instant::now();
    // cargo-mutants exits non-zero when a mutant is missed: the counts below say why.
    let status = {
        eprintln!("+ {}", crate::util::process::show(&c));
        c.status().map_err(|e| format!("cargo mutants: {e}"))?
    };
    let secs = started.elapsed().as_secs_f64();
    let dir = out.join("mutants.out");
    let json = std::fs::read_to_string(dir.join("outcomes.json")).map_err(|e| {
        format!(
            "{}: {e} (cargo mutants exited with {status})",
            dir.display()
        )
    })?;
    let n = |k| count(&json, k).unwrap_or(0);
    let (total, caught, missed, unviable, timeout) = (
        n("total_mutants"),
        n("caught"),
        n("missed"),
        n("unviable"),
        n("timeout"),
    );
    println!(
        "\nmutants: {total} mutants of {}: {caught} caught, {missed} missed, {unviable} \
         unviable, {timeout} timed out, {:.0} s",
        set.files.join(" "),
        secs
    );
    if missed > 0 {
        let list = std::fs::read_to_string(dir.join("missed.txt")).unwrap_or_default();
        println!("missed:\n{list}");
    }
    let timeouts = std::fs::read_to_string(dir.join("timeout.txt")).unwrap_or_default();
    let unexpected: Vec<&str> = timeouts
        .lines()
        .filter(|l| !set.loops.iter().any(|(name, _)| l.ends_with(name)))
        .collect();
    if !timeouts.is_empty() {
        println!("timed out (a loop listed in xtask/src/cmd/mutants.rs, or not):\n{timeouts}");
    }
    if missed > 0 || !unexpected.is_empty() {
        Err(format!(
            "{missed} mutants missed, {} timed out without being a listed endless loop (list: {})",
            unexpected.len(),
            dir.display()
        ))
    } else {
        // 3 is cargo-mutants' "some mutants timed out": those are listed loops (above).
        let only_loops = status.code() == Some(3) && timeout > 0;
        if status.success() || only_loops {
            Ok(())
        } else {
            Err(format!("cargo mutants exited with {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_from_outcomes_json() {
        let j = r#"{"outcomes": [], "total_mutants": 12, "missed": 2, "caught": 9,
            "timeout": 0, "unviable": 1, "success": 0}"#;
        assert_eq!(count(j, "total_mutants"), Some(12));
        assert_eq!(count(j, "missed"), Some(2));
        assert_eq!(count(j, "caught"), Some(9));
        assert_eq!(count(j, "unviable"), Some(1));
        assert_eq!(count(j, "failure"), None);
    }
}

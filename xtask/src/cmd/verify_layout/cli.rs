//! The command line of `verify-layout`: its options and their help.

use bpaf::{construct, long, short, Parser};
use std::path::PathBuf;

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "the crate against the real kernel headers: C probes per ABI";

/// The options.
#[derive(Clone, Debug)]
pub struct Args {
    /// `--arch NAME|all`.
    pub arch: Option<String>,
    /// `--headers DIR`.
    pub headers: Option<PathBuf>,
    /// `--suite SUITE` (default `unstable`).
    pub suite: String,
    /// `--unstable-7-3`: the provisional 7.3-rc items too.
    pub unstable: bool,
    /// `-v`: every row of every table.
    pub verbose: bool,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            arch: None,
            headers: None,
            suite: "unstable".into(),
            unstable: false,
            verbose: false,
        }
    }
}

pub fn parser() -> impl Parser<Args> {
    let arch = long("arch")
        .help(
            "a kernel architecture (arch/<name>: x86, arm64, powerpc, mips, ...) or an ABI name \
             (x86_64, i386, x32, aarch64, ppc64le, ...), or `all`: every ABI of a Debian tree \
             (without --headers: Debian's newest linux-libc-dev, downloaded)",
        )
        .argument::<String>("NAME")
        .optional();
    let headers = long("headers")
        .help(
            "a header tree: a `make headers_install` directory, an extracted linux-libc-dev, or \
             any directory holding linux/userfaultfd.h (default: /usr/include with the host gcc)",
        )
        .argument::<PathBuf>("DIR")
        .optional();
    let suite = long("suite")
        .help("the Debian suite whose linux-libc-dev --arch downloads")
        .argument::<String>("SUITE")
        .fallback("unstable".to_string())
        .display_fallback();
    let unstable = long("unstable-7-3")
        .help("also the provisional 7.3-rc items (rebuilds the xtask with uffd/unstable-7-3)")
        .switch();
    let verbose = short('v')
        .long("verbose")
        .help("every row of every table (default: failures, skips and uncompared rows)")
        .switch();
    construct!(Args {
        arch,
        headers,
        suite,
        unstable,
        verbose
    })
}

impl Args {
    /// These options as a command line (for the rebuilt xtask of `--unstable-7-3`).
    pub fn to_cli(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(a) = &self.arch {
            v.extend(["--arch".to_string(), a.clone()]);
        }
        if let Some(h) = &self.headers {
            v.extend(["--headers".to_string(), h.display().to_string()]);
        }
        v.extend(["--suite".to_string(), self.suite.clone()]);
        if self.unstable {
            v.push("--unstable-7-3".into());
        }
        if self.verbose {
            v.push("--verbose".into());
        }
        v
    }
}

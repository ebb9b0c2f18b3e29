//! `cargo xtask <command>`: the project's checks and tools.
//!
//! Commands: `bench`, `ci`, `verify-layout`, `cross-test`, `vm-test`.

mod apt;
mod bench;
mod ci;
mod cross;
mod initramfs;
mod provision;
mod report;
mod stress;
mod util;
mod verify_layout;
mod vm;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "bench" => bench::run(rest),
        "ci" => ci::run(rest),
        "cross-test" => cross::run(rest),
        "vm-test" => vm::run(rest),
        "verify-layout" => verify_layout::run(rest),
        "stress" => stress::run(rest),
        _ => {
            eprintln!("usage: cargo xtask <bench|ci|verify-layout|cross-test|vm-test> [options]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {cmd}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `cargo xtask <command>`: the project's checks and tools. `cargo xtask --help` lists the
//! commands; `cargo xtask <command> --help` describes one and its options.
//!
//! # Layout
//!
//! Each folder imports only the ones listed after it, so the imports form a tree:
//!
//! | path | what | imports |
//! |---|---|---|
//! | `main.rs` | the command line (with [`bpaf`]) and the dispatch | `cmd` |
//! | `cmd/` | one module per command: `ci`, `bench`, `stress`, `storm`, `cross` (`cross-test`), `vm` (`vm-test`), `verify_layout`, `msrv`, `mutants`, `package` | `targets`, `env`, `util` |
//! | `targets.rs` | the Rust targets (cross compiler, Debian arch, QEMU), the cargo command for one, building `tests/vm-init` | `env`, `util` |
//! | `env/` | what the machine must have: rustup targets, components and toolchains, Debian packages (host apt, and the private apt for kernels and headers), cross compilers, QEMU. Installed as root; named with the exact command otherwise | `util` |
//! | `util/` | leaves: running programs, the workspace's paths, the suite's result lines and tables | nothing |
//!
//! Command modules never import each other; `ci` calls the others through their `run` only.
//! Inside a command's folder each file imports only its parent and the files its module doc
//! lists before it. `/work/shared/tools/import-cycles xtask/src` prints nothing.
//!
//! # Adding a command
//!
//! A module in `cmd/` with `Args`, `parser()` (the options and their help), `ABOUT` (its line
//! in `cargo xtask --help`) and `run(&Args)`; a line in [`Cmd`] and one in [`cli`]. What it
//! needs from the machine it asks of `env/` (or of `targets.rs` for a target's toolchain).
//!
//! # The parser
//!
//! [`bpaf`], combinators only (no derive), chosen by measured clean-build cost: the main job,
//! `cargo xtask verify-layout` from an empty `target/`, builds the xtask first, so every
//! dependency of it is paid there. Alone, a clean build of a two-command CLI took 0.4-0.55 s with
//! lexopt or pico-args (they generate no help), 1.4-1.8 s with bpaf, 3.5-4.5 s with clap
//! (builder; `std,help,usage,error-context`), 6.2-7.4 s with clap's derive, 7.2-9 s with argh
//! or bpaf's derive (proc macros). In the main job, adding clap on top cost 2-2.7 s more (wall,
//! under load) and 4-5 s of CPU. bpaf is the cheapest that writes every `--help` and the usage
//! shown on an error from the option definitions themselves.
//!
//! The main job itself: 10.2-11.8 s before this layout (object and cc as build-dependencies,
//! built twice), 6.9-8.1 s after (uffd-probe reads ELF itself; no cc), same machine, same load.

mod cmd;
mod env;
mod targets;
mod util;

use bpaf::{construct, Args, OptionParser, ParseFailure, Parser};
use cmd::{bench, ci, cross, msrv, mutants, package, storm, stress, verify_layout, vm};
use std::process::ExitCode;

/// A command and its options.
#[derive(Clone, Debug)]
enum Cmd {
    Ci(ci::Args),
    VerifyLayout(verify_layout::Args),
    CrossTest(cross::Args),
    VmTest(vm::Args),
    Bench(bench::Args),
    Stress(stress::Args),
    Storm(storm::Args),
    Msrv(msrv::Args),
    Mutants(mutants::Args),
    Package(package::Args),
}

/// `name`: a command with its one-line `about` (its line in `cargo xtask --help`) and options.
fn command<T: 'static>(
    name: &'static str,
    about: &'static str,
    options: impl Parser<T> + 'static,
) -> impl Parser<T> {
    options.to_options().descr(about).command(name).help(about)
}

/// The whole command line.
fn cli() -> OptionParser<Cmd> {
    let ci = command("ci", ci::ABOUT, ci::parser().map(Cmd::Ci));
    let verify = command(
        "verify-layout",
        verify_layout::ABOUT,
        verify_layout::parser().map(Cmd::VerifyLayout),
    );
    let cross = command(
        "cross-test",
        cross::ABOUT,
        cross::parser().map(Cmd::CrossTest),
    );
    let vm = command("vm-test", vm::ABOUT, vm::parser().map(Cmd::VmTest));
    let bench = command("bench", bench::ABOUT, bench::parser().map(Cmd::Bench));
    let stress = command("stress", stress::ABOUT, stress::parser().map(Cmd::Stress));
    let storm = command("storm", storm::ABOUT, storm::parser().map(Cmd::Storm));
    let msrv = command("msrv", msrv::ABOUT, msrv::parser().map(Cmd::Msrv));
    let mutants = command(
        "mutants",
        mutants::ABOUT,
        mutants::parser().map(Cmd::Mutants),
    );
    let package = command(
        "package",
        package::ABOUT,
        package::parser().map(Cmd::Package),
    );
    construct!([ci, verify, cross, vm, bench, stress, storm, msrv, mutants, package])
        .to_options()
        .descr("The uffd project's checks and tools. `cargo xtask <COMMAND> --help` for one's options.")
}

/// Parses `args` as `cargo xtask <args>`.
fn parse(args: &[String]) -> Result<Cmd, ParseFailure> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli().run_inner(Args::from(&args[..]).set_name("cargo xtask"))
}

/// The `Usage:` line of `args`' command (of `cargo xtask` if it names none).
fn usage(args: &[String]) -> String {
    let mut help: Vec<String> = args
        .first()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .into_iter()
        .collect();
    help.push("--help".into());
    match parse(&help) {
        Err(ParseFailure::Stdout(doc, _)) => {
            let text = doc.to_string();
            let from = text.find("Usage:").unwrap_or(0);
            text[from..].split("\n\n").next().unwrap_or("").to_string()
        }
        _ => String::new(),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // No command: the list of commands, as an error (exit status 2, as before).
    if args.is_empty() {
        if let Err(ParseFailure::Stdout(doc, _)) = parse(&["--help".to_string()]) {
            eprintln!("{doc}");
        }
        return ExitCode::from(2);
    }
    let cmd = match parse(&args) {
        Ok(cmd) => cmd,
        Err(ParseFailure::Stdout(doc, _)) => {
            println!("{doc}");
            return ExitCode::SUCCESS;
        }
        Err(ParseFailure::Completion(s)) => {
            print!("{s}");
            return ExitCode::SUCCESS;
        }
        Err(ParseFailure::Stderr(doc)) => {
            eprintln!(
                "error: {doc}\n\n{}\n\nFor more, try '--help'.",
                usage(&args)
            );
            return ExitCode::from(2);
        }
    };
    let name = args[0].as_str();
    let result = match &cmd {
        Cmd::Ci(a) => ci::run(a),
        Cmd::VerifyLayout(a) => verify_layout::run(a),
        Cmd::CrossTest(a) => cross::run(a),
        Cmd::VmTest(a) => vm::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Stress(a) => stress::run(a),
        Cmd::Storm(a) => storm::run(a),
        Cmd::Msrv(a) => msrv::run(a),
        Cmd::Mutants(a) => mutants::run(a),
        Cmd::Package(a) => package::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {name}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    /// `cargo xtask --help` lists every command, one line each.
    #[test]
    fn help_lists_every_command() {
        let Err(ParseFailure::Stdout(doc, _)) = parse(&args("--help")) else {
            panic!("--help did not print help");
        };
        let text = doc.to_string();
        for c in [
            "ci",
            "verify-layout",
            "cross-test",
            "vm-test",
            "bench",
            "stress",
            "storm",
            "msrv",
            "mutants",
            "package",
        ] {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{c} "))),
                "{c} missing from:\n{text}"
            );
        }
    }

    /// Every command answers `--help`, with a usage line naming it and each option described.
    #[test]
    fn every_command_has_help() {
        for (c, option) in [
            ("ci", ""),
            ("verify-layout", "--arch"),
            ("cross-test", "--target"),
            ("vm-test", "--kernel"),
            ("bench", "--callgrind"),
            ("stress", "--bytes"),
            ("storm", "--seeds"),
            ("msrv", ""),
            ("package", ""),
        ] {
            let Err(ParseFailure::Stdout(doc, _)) = parse(&args(&format!("{c} --help"))) else {
                panic!("{c} --help did not print help");
            };
            let text = doc.to_string();
            assert!(text.contains(&format!("Usage: cargo xtask {c}")), "{text}");
            assert!(text.contains(option), "{c}: no {option} in:\n{text}");
        }
    }

    /// Unknown arguments and commands are errors, and the usage of the command is shown.
    #[test]
    fn unknown_arguments_are_errors_with_usage() {
        assert!(matches!(
            parse(&args("bench --nope")),
            Err(ParseFailure::Stderr(_))
        ));
        assert!(usage(&args("bench --nope")).starts_with("Usage: cargo xtask bench"));
        assert!(matches!(
            parse(&args("ci extra")),
            Err(ParseFailure::Stderr(_))
        ));
        assert!(matches!(parse(&args("nope")), Err(ParseFailure::Stderr(_))));
        assert!(usage(&args("--nope")).starts_with("Usage: cargo xtask"));
    }

    #[test]
    fn options_parse() {
        let Ok(Cmd::VerifyLayout(v)) = parse(&args("verify-layout --arch all -v")) else {
            panic!()
        };
        assert_eq!(v.arch.as_deref(), Some("all"));
        assert!(v.verbose);
        assert_eq!(v.suite, "unstable");
        let Ok(Cmd::VmTest(v)) = parse(&args("vm-test --arch x86_64 --arch s390x")) else {
            panic!()
        };
        assert_eq!(v.arches, ["x86_64", "s390x"]);
        assert_eq!(v.timeout, 150);
        let Ok(Cmd::Bench(b)) = parse(&args("bench --pages 100 --no-patterns --cg-pages 1,2"))
        else {
            panic!()
        };
        assert_eq!(b.pass, ["--pages", "100", "--no-patterns"]);
        assert_eq!(b.cg_pages, Some((1, 2)));
        assert!(parse(&args("bench --cg-pages 2,1")).is_err());
        let Ok(Cmd::Stress(s)) = parse(&args("stress")) else {
            panic!()
        };
        assert_eq!(s.bytes, 1 << 30);
        let Ok(Cmd::Storm(s)) = parse(&args("storm --seeds 500 --from 7")) else {
            panic!()
        };
        assert_eq!((s.seeds, s.from, s.ops, s.watchdog), (500, 7, 400, 30));
        assert!(parse(&args("storm --seeds x")).is_err());
    }
}

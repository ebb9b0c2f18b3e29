//! The commands, one module each. Each has `Args` (its options), `parser()` (their `--help` text,
//! with [`bpaf`]), `ABOUT` (its line in `cargo xtask --help`) and `run(&Args)`.
//!
//! A command imports [`crate::targets`], [`crate::env`] and [`crate::util`], never another
//! command; [`ci`] alone calls the others, through their `run` only.

pub mod bench;
pub mod ci;
pub mod cross;
pub mod msrv;
pub mod mutants;
pub mod package;
pub mod storm;
pub mod stress;
pub mod verify_layout;
pub mod vm;

//! Leaves: helpers that know nothing of the project's commands, targets or machines, and import
//! nothing else of the xtask.
//!
//! - [`process`]: running programs, the workspace's paths, `is_root`;
//! - [`report`]: the result lines of the shared suite, parsed and judged, and plain tables.

pub mod process;
pub mod report;

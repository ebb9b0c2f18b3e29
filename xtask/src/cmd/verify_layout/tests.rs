//! Self-tests of verify-layout: a deliberately broken value must make it fail, with a message
//! naming the item and both values. They probe the host's real `/usr/include` with gcc.

use super::abi::{host_abi, ABIS};
use super::rust::{build_rust_values, family_values, RustValues};
use super::select::compiler;
use super::table::{judge, Row, Status};
use super::tree::Tree;
use super::work_dir;
use crate::util::process::root;
use std::path::PathBuf;
use uffd_probe::manifest;
use uffd_probe::probe::{self, Ctx, Probe};

/// `target/verify-layout/selftest/<name>`: one test's files.
fn selftest_dir(name: &str) -> PathBuf {
    work_dir().join("selftest").join(name)
}

fn host_probe(name: &str) -> Probe {
    let (cc, note) = compiler(host_abi(), &Tree::Host).expect("the host gcc");
    assert!(note.is_none(), "{note:?}");
    probe::run(&cc, &selftest_dir(name)).expect("host probe")
}

/// The context of a crate built without `unstable-7-3`.
fn ctx(sys: bool, rust_target: bool) -> Ctx {
    Ctx {
        unstable: false,
        sys,
        rust_target,
    }
}

fn failures(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| matches!(r.status, Status::Fail(_)))
        .collect()
}

/// The crate's values for none of the items.
fn no_rust_values(n: usize) -> RustValues {
    RustValues {
        values: vec![None; n],
        source: String::new(),
    }
}

fn index(key: &str) -> usize {
    manifest::items()
        .iter()
        .position(|i| i.key == key)
        .expect(key)
}

#[test]
fn host_headers_pass() {
    let p = host_probe("pass");
    let host = build_rust_values(host_abi().rust.unwrap(), None, false, true).expect("soft build");
    let rows = judge(&p, &host, ctx(probe::crate_has_sys(&root()), true));
    let bad = failures(&rows);
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(rows.iter().filter(|r| r.status == Status::Ok).count() > 100);
}

/// `UFFDIO_WAKE` encoded with the other direction (`_IOW` instead of `_IOR`, the bug a VMM
/// shipped), on the powerpc family: the table names it with both values.
#[test]
fn wake_with_the_other_direction_on_powerpc_fails() {
    let mut p = host_probe("wake");
    let ppc = ABIS
        .iter()
        .find(|a| a.arch == "powerpc" && a.rust.is_none())
        .unwrap();
    let enc = uffd::ioctl::IocEncoding::POWERPC;
    let wrong = enc.iow(uffd::abi::UFFDIO, uffd::abi::_UFFDIO_WAKE, 16) as u64;
    let right = enc.ior(uffd::abi::UFFDIO, uffd::abi::_UFFDIO_WAKE, 16) as u64;
    assert_eq!(right, 0x4010_aa02);
    // The C side of a powerpc probe, as a broken header would give it.
    p.values[index("UFFDIO_WAKE")] = Some(wrong);
    let rust = family_values(ppc, &no_rust_values(p.values.len()));
    let rows = judge(&p, &rust, ctx(false, false));
    let row = rows.iter().find(|r| r.key == "UFFDIO_WAKE").unwrap();
    assert_eq!(
        row.status,
        Status::Fail(format!(
            "MISMATCH: C {wrong:#x} ({wrong}), Rust {right:#x} ({right})"
        ))
    );
}

/// An offset of `uffd_msg` off by one: the crate compiled for the target fails to build, and
/// rustc's message names the item and shows both values.
#[test]
fn uffd_msg_offset_off_by_one_fails_in_rustc() {
    let mut p = host_probe("offset");
    let i = index("offsetof(struct uffd_msg, arg.pagefault.feat.ptid)");
    assert_eq!(p.values[i], Some(24), "the real header");
    p.values[i] = Some(25);
    let file = selftest_dir("offset").join("broken.txt");
    std::fs::write(&file, probe::to_values_file(&p)).unwrap();
    let target = host_abi().rust.unwrap();
    let Err((true, msg)) = build_rust_values(target, Some(&file), false, false) else {
        panic!("the broken value did not fail the rustc check");
    };
    assert!(
        msg.contains("offsetof_struct_uffd_msg_arg_pagefault_feat_ptid_c_vs_rust_low32"),
        "item not named:\n{msg}"
    );
    assert!(
        msg.contains("expected an array with a size of 25, found one with a size of 24"),
        "values not shown:\n{msg}"
    );
    // And the soft build still gives the crate's value for the table.
    let v = build_rust_values(target, Some(&file), false, true).expect("soft build");
    assert_eq!(v.values[i], Some(24));
    let rows = judge(&p, &v, ctx(probe::crate_has_sys(&root()), true));
    let bad = failures(&rows);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(
        bad[0].key,
        "offsetof(struct uffd_msg, arg.pagefault.feat.ptid)"
    );
    assert_eq!(
        bad[0].status,
        Status::Fail("MISMATCH: C 0x19 (25), Rust 0x18 (24)".into())
    );
}

#[test]
fn header_items_missing_from_the_crate_fail() {
    let mut p = host_probe("extra");
    p.extras.push("#define UFFD_FEATURE_NEW_THING".into());
    let rows = judge(&p, &no_rust_values(p.values.len()), ctx(false, true));
    let row = rows
        .iter()
        .find(|r| r.key == "#define UFFD_FEATURE_NEW_THING")
        .unwrap();
    assert!(matches!(row.status, Status::Fail(_)));
}

#[test]
fn values_file_round_trips() {
    let p = host_probe("roundtrip");
    let q = probe::from_values_file(&probe::to_values_file(&p)).unwrap();
    assert_eq!(p.values, q.values);
    assert_eq!(p.version, q.version);
    assert_eq!(p.extras, q.extras);
}

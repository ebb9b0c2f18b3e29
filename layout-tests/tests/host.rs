//! Run-time comparison of the probed C values with the crate (the build already asserted them at
//! compile time; this prints what was compared, what was skipped, and why).

#[test]
fn c_values_equal_the_crate() {
    eprintln!(
        "C values: {} (LINUX_VERSION_CODE {})",
        layout_tests::SOURCE,
        layout_tests::HEADER_VERSION
    );
    let mut bad = Vec::new();
    for c in layout_tests::CHECKS {
        if c.c != c.rust {
            bad.push(format!("{}: C {:#x}, Rust {:#x}", c.key, c.c, c.rust));
        }
    }
    for (key, why) in layout_tests::FAILURES {
        bad.push(format!("{key}: {why}"));
    }
    for n in layout_tests::NOT_COMPARED {
        match n.c {
            Some(c) => eprintln!("  not compared: {} = {c:#x}: {}", n.key, n.why),
            None => eprintln!("  not compared: {}: {}", n.key, n.why),
        }
    }
    eprintln!(
        "{} items compared, {} equal, {} not compared, {} failures",
        layout_tests::CHECKS.len(),
        layout_tests::CHECKS.len() - bad.len().min(layout_tests::CHECKS.len()),
        layout_tests::NOT_COMPARED.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

#[test]
fn the_host_header_was_probed() {
    // On the host (no LAYOUT_TESTS_C_VALUES) the probe must have run: a build without C values
    // would compare nothing and prove nothing.
    assert!(
        !layout_tests::CHECKS.is_empty(),
        "no C values: {}",
        layout_tests::SOURCE
    );
    let keys: Vec<&str> = layout_tests::CHECKS.iter().map(|c| c.key).collect();
    for must in [
        "UFFDIO_API",
        "UFFDIO_WAKE",
        "sizeof(struct uffd_msg)",
        "offsetof(struct uffd_msg, arg.pagefault.feat.ptid)",
    ] {
        assert!(keys.contains(&must), "{must} was not compared");
    }
}

#[test]
fn rust_values_static_matches_checks() {
    // The static the xtask reads from the rlib holds the same values rustc compared.
    let present = layout_tests::UFFD_LAYOUT_RUST_PRESENT
        .iter()
        .filter(|p| **p == 1)
        .count();
    assert!(present >= layout_tests::CHECKS.len());
}

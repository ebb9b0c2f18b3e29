//! `cargo xtask vm-test [--arch A | all] [--kernel K | all] [--timeout S]`: the shared suite as a
//! static, libc-free `/init` (`tests/vm-init`) booted on real Debian kernels under
//! `qemu-system-<arch>` (TCG: this machine's /dev/kvm is a nested paravirtual one that hangs).
//!
//! Kernels come through private apt configurations under `target/apt/` (the machine's mirror,
//! never its sources), resolved through suite + `linux-image-<flavour>` metapackage because
//! mirrors keep only current versions; the exact package and version are printed with every
//! result. QEMU's exit status is always 0, so the verdict comes from the console only.

use crate::apt::{self, PrivateApt};
use crate::cross::{self, Target};
use crate::report::{self, Report};
use crate::util::{target_dir, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How each architecture boots.
pub struct Arch {
    /// Name for `--arch`, as `tests/vm-init` prints it.
    pub name: &'static str,
    /// The Rust target `/init` is built for.
    pub target: &'static str,
    /// Debian architecture of its kernels.
    pub debarch: &'static str,
    /// QEMU program and machine options.
    pub qemu: &'static [&'static str],
    /// Kernel console.
    pub console: &'static str,
    /// Extra kernel command line.
    pub append: &'static str,
}

pub const ARCHES: &[Arch] = &[
    Arch {
        name: "x86_64",
        target: "x86_64-unknown-linux-gnu",
        debarch: "amd64",
        qemu: &["qemu-system-x86_64", "-M", "q35", "-accel", "tcg"],
        console: "ttyS0",
        append: "",
    },
    Arch {
        name: "i686",
        target: "i686-unknown-linux-gnu",
        debarch: "i386",
        qemu: &[
            "qemu-system-i386",
            "-M",
            "pc",
            "-cpu",
            "max",
            "-accel",
            "tcg",
        ],
        console: "ttyS0",
        append: "",
    },
    Arch {
        name: "aarch64",
        target: "aarch64-unknown-linux-gnu",
        debarch: "arm64",
        qemu: &["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57"],
        console: "ttyAMA0",
        append: "",
    },
    Arch {
        name: "armv7",
        target: "armv7-unknown-linux-gnueabihf",
        debarch: "armhf",
        qemu: &["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15"],
        console: "ttyAMA0",
        append: "",
    },
    Arch {
        name: "riscv64",
        target: "riscv64gc-unknown-linux-gnu",
        debarch: "riscv64",
        qemu: &["qemu-system-riscv64", "-M", "virt"],
        console: "ttyS0",
        append: "",
    },
    Arch {
        name: "ppc64le",
        target: "powerpc64le-unknown-linux-gnu",
        debarch: "ppc64el",
        qemu: &["qemu-system-ppc64", "-M", "pseries", "-cpu", "power9"],
        console: "hvc0",
        append: "",
    },
    Arch {
        name: "s390x",
        target: "s390x-unknown-linux-gnu",
        debarch: "s390x",
        qemu: &["qemu-system-s390x", "-M", "s390-ccw-virtio"],
        console: "",
        append: "",
    },
];

/// One kernel to boot: Debian suite and flavour (`linux-image-<flavour>` is the metapackage).
pub struct Kernel {
    pub arch: &'static str,
    pub suite: &'static str,
    pub flavour: &'static str,
}

/// Every kernel `vm-test` boots: the one place suites and flavours are named.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        arch: "x86_64",
        suite: "bookworm",
        flavour: "amd64",
    },
    Kernel {
        arch: "x86_64",
        suite: "bookworm-backports",
        flavour: "amd64",
    },
    Kernel {
        arch: "x86_64",
        suite: "unstable",
        flavour: "amd64",
    },
    Kernel {
        arch: "aarch64",
        suite: "bookworm",
        flavour: "arm64",
    },
    Kernel {
        arch: "aarch64",
        suite: "bookworm-backports",
        flavour: "arm64",
    },
    Kernel {
        arch: "aarch64",
        suite: "unstable",
        flavour: "arm64",
    },
    Kernel {
        arch: "i686",
        suite: "bookworm",
        flavour: "686-pae",
    },
    Kernel {
        arch: "armv7",
        suite: "bookworm",
        flavour: "armmp",
    },
    Kernel {
        arch: "riscv64",
        suite: "trixie",
        flavour: "riscv64",
    },
    Kernel {
        arch: "ppc64le",
        suite: "bookworm",
        flavour: "powerpc64le",
    },
    Kernel {
        arch: "s390x",
        suite: "bookworm",
        flavour: "s390x",
    },
];

fn arch(name: &str) -> Result<&'static Arch> {
    ARCHES.iter().find(|a| a.name == name).ok_or_else(|| {
        let names: Vec<&str> = ARCHES.iter().map(|a| a.name).collect();
        format!("unknown arch {name:?}; known: {} or all", names.join(", "))
    })
}

/// The Rust target an arch's `/init` is built for, with its cross linker.
fn rust_target(a: &Arch) -> Result<&'static Target> {
    const HOST: Target = Target {
        triple: "x86_64-unknown-linux-gnu",
        gcc: None,
        qemu: "qemu-x86_64",
        native: true,
        vm_init: true,
    };
    if a.target == HOST.triple {
        return Ok(&HOST);
    }
    cross::target(a.target)
}

/// A downloaded, unpacked kernel ready for `-kernel`.
pub struct Image {
    pub path: PathBuf,
    /// e.g. `linux-image-6.1.0-41-amd64 6.1.158-1`.
    pub version: String,
}

/// Resolves `linux-image-<flavour>` in the suite to the ABI-numbered image package (and, from
/// forky/unstable on, its `linux-binary-*` package holding the kernel file), downloads (cached)
/// and unpacks it, and returns the kernel file.
pub fn fetch(k: &Kernel) -> Result<Image> {
    let a = arch(k.arch)?;
    let apt = PrivateApt::new(
        &format!("kernel-{}-{}", k.suite, a.debarch),
        k.suite,
        a.debarch,
    )?;
    apt.update()?;
    let meta = format!("linux-image-{}", k.flavour);
    let image = apt
        .depends(&meta)?
        .into_iter()
        .find(|d| d.starts_with("linux-image-"))
        .ok_or_else(|| format!("{} {meta}: no linux-image-* dependency", k.suite))?;
    let pkg = apt
        .depends(&image)?
        .into_iter()
        .find(|d| d.starts_with("linux-binary-"))
        .unwrap_or(image);
    let deb = apt.download(&pkg)?;
    let dest = target_dir()
        .join("vm")
        .join("kernels")
        .join(format!("{pkg}_{}", deb.version));
    apt::extract(&deb, &dest)?;
    // `boot/vmlinu[xz]-<abi>` in the classic image package; `usr/lib/modules/<abi>/vmlinu[xz]`
    // in forky/unstable's `linux-binary-*`.
    let mut dirs = vec![dest.join("boot")];
    if let Ok(rd) = std::fs::read_dir(dest.join("usr/lib/modules")) {
        dirs.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz") || n.starts_with("vmlinux"))
        })
        .collect();
    files.sort();
    let file = files.pop().ok_or_else(|| {
        format!(
            "{pkg}: no vmlinuz/vmlinux in boot/ or usr/lib/modules/*/ of {}",
            dest.display()
        )
    })?;
    let path = unpack_zboot(&file)?;
    Ok(Image {
        path,
        version: format!("{pkg} {}", deb.version),
    })
}

/// An EFI zboot image ("MZ", "zimg" at 4, payload offset/size at 8/12, compression name at
/// 24) is unpacked to the raw kernel QEMU can load; anything else is returned as is.
fn unpack_zboot(file: &Path) -> Result<PathBuf> {
    let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if data.len() < 64 || &data[0..2] != b"MZ" || &data[4..8] != b"zimg" {
        return Ok(file.to_path_buf());
    }
    let le =
        |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]) as usize;
    let (off, size) = (le(8), le(12));
    let comp: String = data[24..32]
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let payload = data
        .get(off..off + size)
        .ok_or_else(|| format!("{}: zboot payload out of range", file.display()))?;
    let out = PathBuf::from(format!("{}.unpacked", file.display()));
    if out.exists() {
        return Ok(out);
    }
    let tool = match comp.as_str() {
        "gzip" => "gzip",
        "zstd" | "zstd22" => "zstd",
        "xz" => "xz",
        other => {
            return Err(format!(
                "{}: zboot compression {other:?} not handled",
                file.display()
            ))
        }
    };
    crate::ci::apt_install(&[tool])?;
    let mut child = Command::new(tool)
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{tool}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let payload = payload.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &payload));
    let res = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let _ = writer.join();
    if !res.status.success() {
        return Err(format!(
            "{tool} -dc of the zboot payload of {} failed",
            file.display()
        ));
    }
    std::fs::write(&out, res.stdout).map_err(|e| e.to_string())?;
    Ok(out)
}

/// What one boot showed.
pub struct Boot {
    pub report: Report,
    pub problems: Vec<String>,
    pub secs: f64,
    pub log: PathBuf,
}

/// Boots `kernel` with `initrd` and reads the console until QEMU exits or `timeout`.
pub fn boot(a: &Arch, kernel: &Path, initrd: &Path, timeout: Duration, log: &Path) -> Result<Boot> {
    let mut append = String::new();
    if !a.console.is_empty() {
        append.push_str(&format!("console={} ", a.console));
    }
    append.push_str("panic=-1 quiet");
    if !a.append.is_empty() {
        append.push(' ');
        append.push_str(a.append);
    }
    let mut cmd = Command::new(a.qemu[0]);
    cmd.args(&a.qemu[1..])
        .args([
            "-m",
            "1024",
            "-smp",
            "1",
            "-nographic",
            "-no-reboot",
            "-nic",
            "none",
            "-kernel",
        ])
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    eprintln!("+ {cmd:?}");
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", a.qemu[0]))?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut readers = Vec::new();
    for mut src in [
        Box::new(child.stdout.take().ok_or("no stdout")?) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().ok_or("no stderr")?),
    ] {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = src.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let mut console = Vec::new();
    let mut shown = 0;
    let deadline = started + timeout;
    let mut timed_out = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        match rx.recv_timeout(deadline - now) {
            Ok(chunk) => {
                console.extend_from_slice(&chunk);
                // Echo the suite's lines as they come.
                while let Some(nl) = console[shown..].iter().position(|b| *b == b'\n') {
                    let line = String::from_utf8_lossy(&console[shown..shown + nl]);
                    let line = line.trim_end_matches('\r');
                    if (line.contains("uffd-") && !line.contains("uffd-suite: running"))
                        || line.contains("Kernel panic")
                    {
                        eprintln!("  [{:5.1} s] {line}", started.elapsed().as_secs_f64());
                    }
                    shown += nl + 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if timed_out {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    for r in readers {
        let _ = r.join();
    }
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&console).into_owned();
    std::fs::write(log, &text).map_err(|e| format!("{}: {e}", log.display()))?;
    let report = report::parse(&text);
    let mut problems = report.problems();
    // On a real kernel an empty suite or no negotiated features would make "ok" meaningless.
    if report.declared == Some(0) {
        problems.push("the suite has no cases: nothing was tested".into());
    }
    if let Some(f) = report.features.as_deref().filter(|f| !f.starts_with("0x")) {
        problems.push(format!("no feature mask negotiated on a real kernel: {f}"));
    }
    if timed_out {
        problems.push(format!("timed out after {} s", timeout.as_secs()));
    }
    for marker in ["Kernel panic", "Attempted to kill init"] {
        if let Some(line) = text.lines().find(|l| l.contains(marker)) {
            problems.push(format!("kernel: {}", line.trim()));
        }
    }
    if !timed_out && !status.success() {
        problems.push(format!("{} exited with {status}", a.qemu[0]));
    }
    Ok(Boot {
        report,
        problems,
        secs,
        log: log.to_path_buf(),
    })
}

/// Builds `/init` for `a` and packs it; returns the initramfs.
fn initramfs(a: &Arch) -> Result<PathBuf> {
    let init = cross::build_vm_init(rust_target(a)?)?;
    let bytes = std::fs::read(&init).map_err(|e| format!("{}: {e}", init.display()))?;
    let dir = target_dir().join("vm").join(a.name);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("initramfs.cpio.gz");
    std::fs::write(
        &path,
        crate::initramfs::gzip_stored(&crate::initramfs::cpio(&bytes)),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

/// Provisions rustup targets, cross linkers and QEMU for `arches`.
pub fn provision(arches: &[&Arch]) -> Result<()> {
    let mut targets = Vec::new();
    for a in arches {
        targets.push(rust_target(a)?);
    }
    crate::provision::rustup_targets(&targets.iter().map(|t| t.triple).collect::<Vec<_>>())?;
    crate::provision::cross_gcc(&targets.iter().filter_map(|t| t.gcc).collect::<Vec<_>>())?;
    crate::provision::qemu(&arches.iter().map(|a| a.qemu[0]).collect::<Vec<_>>())
}

pub fn run(args: &[String]) -> Result<()> {
    let (mut arches, mut suites) = (Vec::<&str>::new(), Vec::<String>::new());
    let mut timeout = Duration::from_secs(150);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--arch" => {
                let v = value()?;
                if v != "all" {
                    arches.push(arch(v)?.name);
                }
            }
            "--kernel" => {
                let v = value()?;
                if v != "all" {
                    if !KERNELS.iter().any(|k| k.suite == v) {
                        let mut names: Vec<&str> = KERNELS.iter().map(|k| k.suite).collect();
                        names.dedup();
                        return Err(format!("unknown kernel {v:?}; known suites: {} or all", names.join(", ")));
                    }
                    suites.push(v.clone());
                }
            }
            "--timeout" => {
                timeout = Duration::from_secs(value()?.parse().map_err(|e| format!("--timeout: {e}"))?);
            }
            _ => return Err(format!("unknown argument {a:?} (vm-test [--arch A | all] [--kernel SUITE | all] [--timeout S])")),
        }
    }
    let kernels: Vec<&Kernel> = KERNELS
        .iter()
        .filter(|k| arches.is_empty() || arches.contains(&k.arch))
        .filter(|k| suites.is_empty() || suites.iter().any(|s| s == k.suite))
        .collect();
    if kernels.is_empty() {
        return Err("no kernel in the table matches that --arch/--kernel".into());
    }
    let mut used: Vec<&Arch> = Vec::new();
    for k in &kernels {
        let a = arch(k.arch)?;
        if !used.iter().any(|u| u.name == a.name) {
            used.push(a);
        }
    }
    provision(&used)?;
    let logs = target_dir().join("vm").join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut failed = 0;
    for a in &used {
        let initrd = initramfs(a);
        for k in kernels.iter().filter(|k| k.arch == a.name) {
            eprintln!(
                "\n=== vm-test {} on {} linux-image-{}",
                a.name, k.suite, k.flavour
            );
            let log = logs.join(format!("{}-{}.log", a.name, k.suite));
            let mut version = "?".to_string();
            let res = initrd.clone().and_then(|initrd| {
                let image = fetch(k)?;
                version = image.version.clone();
                eprintln!("kernel: {} ({})", image.version, image.path.display());
                boot(a, &image.path, &initrd, timeout, &log)
            });
            let row = match res {
                Ok(b) => {
                    let verdict = if b.problems.is_empty() {
                        "ok".to_string()
                    } else {
                        failed += 1;
                        format!(
                            "FAILED: {} (log: {})",
                            b.problems.join("; "),
                            b.log.display()
                        )
                    };
                    eprintln!(
                        "{} {} [{version}]: {} -> {verdict}",
                        a.name,
                        k.suite,
                        b.report.summary()
                    );
                    vec![
                        a.name.to_string(),
                        format!("{} ({version})", k.suite),
                        b.report.page_size.map_or("?".into(), |p| p.to_string()),
                        b.report.summary(),
                        b.report.features.clone().unwrap_or_else(|| "?".into()),
                        format!("{:.1} s", b.secs),
                        verdict,
                    ]
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("{} {}: FAILED: {e}", a.name, k.suite);
                    let verdict = format!("FAILED: {e}");
                    vec![
                        a.name.into(),
                        format!("{} ({version})", k.suite),
                        "?".into(),
                        "-".into(),
                        "?".into(),
                        "-".into(),
                        verdict,
                    ]
                }
            };
            rows.push(row);
        }
    }
    println!("\nvm-test summary");
    report::table(
        &[
            "arch",
            "kernel (package version)",
            "page",
            "cases",
            "features",
            "boot+run",
            "verdict",
        ],
        &rows,
    );
    if failed > 0 {
        Err(format!("{failed} of {} boots failed", rows.len()))
    } else {
        Ok(())
    }
}

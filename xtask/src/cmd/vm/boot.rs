//! One boot: `/init` built and packed into an initramfs, the kernel booted under
//! `qemu-system-<arch>`, the console read and judged.

use super::tables::{rust_target, Arch};
use crate::targets::{self, build_vm_init};
use crate::util::process::{target_dir, Result};
use crate::util::report::{self, Report};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What one boot showed.
pub struct Boot {
    pub report: Report,
    pub problems: Vec<String>,
    pub secs: f64,
    pub log: PathBuf,
    /// Why this is a second boot (the first hit a kernel BUG), if it is.
    pub retried: Option<String>,
}

/// [`boot`], and once more if the kernel itself hit a `BUG()` ("Kernel bug detected") while
/// no case had failed: mips64el's 6.12 does now and then in the pager's hugetlb case (once in
/// five boots here, a BUG() in `__do_page_fault` for a fault result it does not handle). The
/// second boot's verdict stands and the row says so; the first console log is kept beside the
/// log as `.crash.log`. A second BUG fails the row as any crash does.
pub fn boot_again_after_kernel_bug(
    a: &Arch,
    kernel: &Path,
    initrd: &Path,
    timeout: Duration,
    log: &Path,
) -> Result<Boot> {
    let first = boot(a, kernel, initrd, timeout, log)?;
    let console = std::fs::read_to_string(&first.log).unwrap_or_default();
    let case_failed = first
        .report
        .cases
        .iter()
        .any(|(_, o)| matches!(o, report::Outcome::Fail(_)));
    if !console.contains("Kernel bug detected") || case_failed {
        return Ok(first);
    }
    let kept = log.with_extension("crash.log");
    std::fs::copy(log, &kept).map_err(|e| format!("{}: {e}", kept.display()))?;
    let during = first.report.running.as_deref().unwrap_or("?").to_string();
    eprintln!("the kernel hit a BUG() during case {during}: booting once more");
    let mut again = boot(a, kernel, initrd, timeout, log)?;
    again.retried = Some(format!(
        "booted twice: the first boot hit a kernel BUG() during case {during} (log: {})",
        kept.display()
    ));
    Ok(again)
}

/// Boots `kernel` with `initrd` and reads the console until QEMU exits or `timeout`.
pub fn boot(a: &Arch, kernel: &Path, initrd: &Path, timeout: Duration, log: &Path) -> Result<Boot> {
    let mut append = String::new();
    if !a.console.is_empty() {
        append.push_str(&format!("console={} ", a.console));
    }
    // A few default-size huge pages reserved at boot (before memory fragments), so the suite's
    // hugetlb cases run: the kernel ignores the option where it has no hugetlbfs.
    append.push_str("panic=-1 quiet hugepages=4");
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
        retried: None,
    })
}

/// Builds `/init` for `a` and packs it; returns the initramfs.
pub fn initramfs(a: &Arch) -> Result<PathBuf> {
    let init = build_vm_init(rust_target(a)?)?;
    let bytes = std::fs::read(&init).map_err(|e| format!("{}: {e}", init.display()))?;
    let dir = target_dir().join("vm").join(a.name);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("initramfs.cpio.gz");
    std::fs::write(
        &path,
        super::initramfs::gzip_stored(&super::initramfs::cpio(&bytes)),
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
    targets::provision(
        &targets,
        &arches.iter().map(|a| a.qemu[0]).collect::<Vec<_>>(),
    )
}

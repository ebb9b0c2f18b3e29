//! A gzip'd newc cpio initramfs holding `/dev/console` (5:1), `/proc` and `/init`, written here: no
//! cpio or gzip program needed. The gzip member uses stored (uncompressed) deflate blocks: the
//! payload is one small binary, and the kernel's gunzip takes any valid deflate stream.

/// `newc` archive of `/dev`, `/dev/console`, `/proc` (mount points) and `/init` (the bytes of `init`).
pub fn cpio(init: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 1;
    let mut entry = |out: &mut Vec<u8>, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]| {
        let namesize = name.len() + 1;
        let header = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{namesize:08x}{:08x}",
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime
            data.len(),
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            0, // check
        );
        ino += 1;
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad4(out);
        out.extend_from_slice(data);
        pad4(out);
    };
    entry(&mut out, "dev", 0o040755, (0, 0), &[]);
    entry(&mut out, "dev/console", 0o020600, (5, 1), &[]);
    entry(&mut out, "proc", 0o040755, (0, 0), &[]);
    entry(&mut out, "init", 0o100755, (0, 0), init);
    entry(&mut out, "TRAILER!!!", 0, (0, 0), &[]);
    out
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// A gzip member (RFC 1952) of `data` in stored deflate blocks (RFC 1951, BTYPE 00).
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = chunk.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE, reflected, as gzip uses it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    /// The system's gzip and cpio (where installed) read back what we wrote.
    #[test]
    fn gzip_and_cpio_round_trip() {
        let init: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let gz = gzip_stored(&cpio(&init));
        let mut child = match Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!("gzip is part of every Debian system: {e}"),
        };
        child.stdin.take().unwrap().write_all(&gz).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, cpio(&init));
        // Parse our own newc back: names, modes, rdev and data.
        let a = &out.stdout;
        let mut off = 0;
        let mut seen = Vec::new();
        loop {
            let hex = |i: usize| {
                u32::from_str_radix(
                    std::str::from_utf8(&a[off + 6 + 8 * i..off + 14 + 8 * i]).unwrap(),
                    16,
                )
                .unwrap()
            };
            assert_eq!(&a[off..off + 6], b"070701");
            let (mode, size, rmaj, rmin, namesize) =
                (hex(1), hex(6) as usize, hex(9), hex(10), hex(11) as usize);
            let name = std::str::from_utf8(&a[off + 110..off + 110 + namesize - 1])
                .unwrap()
                .to_string();
            off = (off + 110 + namesize).next_multiple_of(4);
            let data = &a[off..off + size];
            off = (off + size).next_multiple_of(4);
            if name == "TRAILER!!!" {
                break;
            }
            if name == "init" {
                assert_eq!(data, &init[..]);
            }
            seen.push((name, mode, rmaj, rmin));
        }
        assert_eq!(
            seen,
            [
                ("dev".to_string(), 0o040755, 0, 0),
                ("dev/console".to_string(), 0o020600, 5, 1),
                ("proc".to_string(), 0o040755, 0, 0),
                ("init".to_string(), 0o100755, 0, 0)
            ]
        );
        assert_eq!(off, a.len());
    }
}

//! Just enough ELF and `ar` to read a symbol's bytes out of a relocatable object file (a C probe
//! compiled with `-c`) or out of the objects of an rlib: ELF32 and ELF64, either byte order
//! (the ELF header says which), the section headers, `.symtab` and its string table; GNU and BSD
//! archive member names.
//!
//! Written here rather than taken from the `object` crate: that crate and `memchr` were most of
//! the build of both `layout-tests/build.rs` and the xtask, and every clean `cargo xtask
//! verify-layout` paid them twice (once per profile), for a symbol lookup.
//!
//! References: the System V ABI's "Object Files" chapter (ELF header, section header and symbol
//! table entry layouts); `ar(5)` of GNU binutils (member headers, `//` long names, `#1/` names).

/// A parsed ELF file: its bytes, class and byte order, and where its sections are.
pub struct Elf<'a> {
    data: &'a [u8],
    is64: bool,
    /// Little-endian (`EI_DATA == ELFDATA2LSB`).
    pub little: bool,
    shoff: usize,
    shentsize: usize,
    shnum: usize,
}

/// One section header's fields that matter here.
struct Section {
    kind: u32,
    addr: u64,
    offset: usize,
    size: usize,
    link: usize,
    entsize: usize,
}

/// `SHT_SYMTAB`, `SHT_NOBITS` (a section with no bytes in the file, e.g. `.bss`).
const SHT_SYMTAB: u32 = 2;
const SHT_NOBITS: u32 = 8;
/// Section indices at and above `SHN_LORESERVE` are special (`SHN_ABS`, `SHN_COMMON`, ...).
const SHN_LORESERVE: usize = 0xff00;

impl<'a> Elf<'a> {
    /// Parses the ELF header of `data`.
    pub fn parse(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 52 || &data[..4] != b"\x7fELF" {
            return Err("not an ELF file".into());
        }
        let is64 = match data[4] {
            1 => false,
            2 => true,
            c => return Err(format!("unknown ELF class {c}")),
        };
        let little = match data[5] {
            1 => true,
            2 => false,
            d => return Err(format!("unknown ELF byte order {d}")),
        };
        let mut e = Elf {
            data,
            is64,
            little,
            shoff: 0,
            shentsize: 0,
            shnum: 0,
        };
        let (shoff, at) = if is64 {
            (e.u64(0x28)?, 0x3a)
        } else {
            (u64::from(e.u32(0x20)?), 0x2e)
        };
        e.shoff = shoff as usize;
        e.shentsize = e.u16(at)? as usize;
        e.shnum = e.u16(at + 2)? as usize;
        if e.shentsize < if is64 { 64 } else { 40 } {
            return Err(format!("section header size {} too small", e.shentsize));
        }
        Ok(e)
    }

    fn bytes<const N: usize>(&self, at: usize) -> Result<[u8; N], String> {
        self.data
            .get(at..at + N)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("ELF file truncated at {at:#x}"))
    }

    fn u16(&self, at: usize) -> Result<u16, String> {
        let b = self.bytes::<2>(at)?;
        Ok(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Result<u32, String> {
        let b = self.bytes::<4>(at)?;
        Ok(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&self, at: usize) -> Result<u64, String> {
        let b = self.bytes::<8>(at)?;
        Ok(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }

    /// A field that is 8 bytes in ELF64 and 4 in ELF32.
    fn word(&self, at64: usize, at32: usize) -> Result<u64, String> {
        if self.is64 {
            self.u64(at64)
        } else {
            self.u32(at32).map(u64::from)
        }
    }

    fn section(&self, i: usize) -> Result<Section, String> {
        if i >= self.shnum {
            return Err(format!("section {i} of {}", self.shnum));
        }
        let h = self.shoff + i * self.shentsize;
        Ok(Section {
            kind: self.u32(h + 4)?,
            addr: self.word(h + 16, h + 12)?,
            offset: self.word(h + 24, h + 16)? as usize,
            size: self.word(h + 32, h + 20)? as usize,
            link: self.u32(h + if self.is64 { 40 } else { 24 })? as usize,
            entsize: self.word(h + 56, h + 36)? as usize,
        })
    }

    /// The NUL-terminated string at `at` of the string table section `strtab`.
    fn string(&self, strtab: &Section, at: usize) -> Result<&'a [u8], String> {
        let table = self
            .data
            .get(strtab.offset..strtab.offset + strtab.size)
            .ok_or("string table beyond the file")?;
        let s = table
            .get(at..)
            .ok_or("symbol name beyond its string table")?;
        Ok(&s[..s.iter().position(|b| *b == 0).unwrap_or(s.len())])
    }

    /// `len` bytes of the symbol `name`, from its section (zeros for a `SHT_NOBITS` one).
    pub fn symbol(&self, name: &str, len: usize) -> Result<Vec<u8>, String> {
        for i in 0..self.shnum {
            let symtab = self.section(i)?;
            if symtab.kind != SHT_SYMTAB {
                continue;
            }
            let strtab = self.section(symtab.link)?;
            let entsize = if symtab.entsize > 0 {
                symtab.entsize
            } else if self.is64 {
                24
            } else {
                16
            };
            for s in 0..symtab.size / entsize {
                let e = symtab.offset + s * entsize;
                if self.string(&strtab, self.u32(e)? as usize)? != name.as_bytes() {
                    continue;
                }
                let (value, shndx) = if self.is64 {
                    (self.u64(e + 8)?, self.u16(e + 6)?)
                } else {
                    (u64::from(self.u32(e + 4)?), self.u16(e + 14)?)
                };
                let shndx = shndx as usize;
                if shndx == 0 || shndx >= SHN_LORESERVE {
                    return Err(format!("symbol {name} has no section"));
                }
                let section = self.section(shndx)?;
                if section.kind == SHT_NOBITS {
                    return Ok(vec![0; len]);
                }
                let start = value
                    .checked_sub(section.addr)
                    .ok_or_else(|| format!("symbol {name} before its section"))?
                    as usize;
                return self
                    .data
                    .get(section.offset..section.offset + section.size)
                    .and_then(|b| b.get(start..start + len))
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| {
                        format!("symbol {name}: {len} bytes at {start} beyond its section")
                    });
            }
        }
        Err(format!("symbol {name} not in the object file"))
    }
}

/// The members of an `ar` archive (an rlib) as `(name, bytes)`, the symbol tables left out.
pub fn archive_members(data: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
    let body = data.strip_prefix(b"!<arch>\n").ok_or("not an ar archive")?;
    let mut members = Vec::new();
    let mut long_names: &[u8] = &[];
    let mut at = 0;
    while at + 60 <= body.len() {
        let header = &body[at..at + 60];
        if &header[58..60] != b"`\n" {
            return Err(format!("bad ar member header at {}", at + 8));
        }
        let field =
            |r: std::ops::Range<usize>| String::from_utf8_lossy(&header[r]).trim().to_string();
        let size: usize = field(48..58)
            .parse()
            .map_err(|_| format!("bad ar member size at {}", at + 8))?;
        let mut content = body
            .get(at + 60..at + 60 + size)
            .ok_or("ar member beyond the archive")?;
        let raw = field(0..16);
        let name = if raw == "/" || raw == "/SYM64/" || raw == "__.SYMDEF" {
            None
        } else if raw == "//" {
            long_names = content;
            None
        } else if let Some(off) = raw.strip_prefix('/') {
            // GNU: `/<offset>` into the `//` member, each name ending in "/\n".
            let off: usize = off.parse().map_err(|_| format!("bad ar name {raw:?}"))?;
            let rest = long_names
                .get(off..)
                .ok_or("ar long name beyond its table")?;
            let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            Some(
                String::from_utf8_lossy(&rest[..end])
                    .trim_end_matches('/')
                    .to_string(),
            )
        } else if let Some(len) = raw.strip_prefix("#1/") {
            // BSD: the name is the first `len` bytes of the member.
            let len: usize = len.parse().map_err(|_| format!("bad ar name {raw:?}"))?;
            let n = content.get(..len).ok_or("ar name beyond its member")?;
            content = &content[len..];
            Some(
                String::from_utf8_lossy(n)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        } else {
            Some(raw.trim_end_matches('/').to_string())
        };
        if let Some(name) = name {
            members.push((name, content));
        }
        at += 60 + size + size % 2;
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A C file with two known arrays, compiled by `cc args -c`; `None` if that compiler is not
    /// installed.
    fn compile(name: &str, cc: &str, args: &[&str]) -> Option<Vec<u8>> {
        let dir =
            std::env::temp_dir().join(format!("uffd-probe-elf-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("t.c");
        let obj = dir.join(format!("{name}.o"));
        std::fs::write(
            &src,
            "const unsigned long long vals[3] = { 0x0102030405060708ULL, 42, 0xffffffffffffffffULL };\n\
             const unsigned char flags[3] = { 1, 0, 1 };\n\
             unsigned char zeros[16];\n\
             int other = 7;\n",
        )
        .unwrap();
        let status = Command::new(cc)
            .args(args)
            .args(["-fno-common", "-c", "-o"])
            .arg(&obj)
            .arg(&src)
            .status()
            .ok()?;
        assert!(status.success(), "{cc} {args:?} failed");
        Some(std::fs::read(&obj).unwrap())
    }

    fn check(obj: &[u8], little: bool) {
        let e = Elf::parse(obj).unwrap();
        assert_eq!(e.little, little);
        let v = e.symbol("vals", 24).unwrap();
        let first: [u8; 8] = v[..8].try_into().unwrap();
        let first = if little {
            u64::from_le_bytes(first)
        } else {
            u64::from_be_bytes(first)
        };
        assert_eq!(first, 0x0102_0304_0506_0708);
        assert_eq!(&v[16..], &[0xff; 8]);
        assert_eq!(e.symbol("flags", 3).unwrap(), [1, 0, 1]);
        assert_eq!(e.symbol("zeros", 16).unwrap(), [0; 16]);
        assert!(e
            .symbol("nope", 1)
            .unwrap_err()
            .contains("not in the object file"));
        assert!(e
            .symbol("flags", 4096)
            .unwrap_err()
            .contains("beyond its section"));
    }

    /// ELF64 and ELF32 (little-endian) from the host gcc: gcc is needed by every check here.
    #[test]
    fn host_objects() {
        check(&compile("m64", "gcc", &["-m64"]).expect("gcc"), true);
        check(&compile("m32", "gcc", &["-m32"]).expect("gcc"), true);
        check(&compile("mx32", "gcc", &["-mx32"]).expect("gcc"), true);
    }

    /// Big-endian ELF64 and ELF32 objects of `testdata/t.c`, made once by Debian's cross
    /// compilers (`testdata/make.sh` has the commands): no cross compiler needed here.
    #[test]
    fn big_endian_objects() {
        for (name, obj, class64) in [
            (
                "s390x",
                &include_bytes!("../testdata/be64-s390x.o")[..],
                true,
            ),
            (
                "powerpc",
                &include_bytes!("../testdata/be32-powerpc.o")[..],
                false,
            ),
            (
                "powerpc64",
                &include_bytes!("../testdata/be64-powerpc64.o")[..],
                true,
            ),
            (
                "mips64",
                &include_bytes!("../testdata/be64-mips64.o")[..],
                true,
            ),
        ] {
            assert_eq!(obj[4], if class64 { 2 } else { 1 }, "{name}: ELF class");
            assert_eq!(obj[5], 2, "{name}: big-endian");
            check(obj, false);
        }
    }

    /// The same source compiled now by whichever big-endian cross compilers are installed
    /// (`verify-layout --arch all` installs them); none installed is not a failure.
    #[test]
    fn big_endian_objects_compiled_here() {
        for (cc, args) in [
            ("s390x-linux-gnu-gcc", &[][..]),
            ("powerpc-linux-gnu-gcc", &[][..]),
            ("powerpc-linux-gnu-gcc", &["-m64"][..]),
            ("mips64el-linux-gnuabi64-gcc", &["-EB", "-mabi=64"][..]),
        ] {
            if let Some(obj) = compile(&format!("{cc}{}", args.join("")), cc, args) {
                check(&obj, false);
            }
        }
    }

    #[test]
    fn not_elf() {
        assert!(Elf::parse(
            b"MZ not an elf file, but long enough to hold a header of fifty-two bytes"
        )
        .is_err());
        assert!(Elf::parse(b"\x7fELF").is_err());
    }

    /// An archive made by `ar`, with a name too long for the 16-byte field.
    #[test]
    fn archives() {
        let obj = compile("ar", "gcc", &["-m64"]).expect("gcc");
        let dir = std::env::temp_dir().join(format!("uffd-probe-ar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let long = dir.join("a_member_name_longer_than_sixteen.o");
        let short = dir.join("s.o");
        std::fs::write(&long, &obj).unwrap();
        std::fs::write(&short, b"odd").unwrap();
        let lib = dir.join("lib.a");
        let _ = std::fs::remove_file(&lib);
        let status = Command::new("ar")
            .arg("rcs")
            .arg(&lib)
            .arg(&short)
            .arg(&long)
            .status()
            .expect("ar (binutils, with gcc)");
        assert!(status.success());
        let data = std::fs::read(&lib).unwrap();
        let members = archive_members(&data).unwrap();
        let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s.o", "a_member_name_longer_than_sixteen.o"]);
        assert_eq!(members[0].1, b"odd");
        check(members[1].1, true);
        assert!(archive_members(b"not an archive").is_err());
    }
}

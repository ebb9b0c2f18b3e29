//! Checking a configuration before serving: regions, sources, page sizes, registrations.

use super::config::{Policy, Region, Source};
use super::error::ConfigError;
use crate::flags::Ioctls;

/// Checks the regions and policy against the base page size; returns the total page count.
pub(crate) fn validate(
    base: usize,
    regions: &[Region<'_>],
    policy: &Policy,
) -> Result<usize, ConfigError> {
    if base == 0 {
        return Err(ConfigError::NoPageSize);
    }
    if regions.is_empty() {
        return Err(ConfigError::NoRegions);
    }
    if let Some(r) = policy.readahead {
        if r.max == 0 || r.initial > r.max {
            return Err(ConfigError::BadPolicy);
        }
    }
    if policy.fill_piece == Some(0) {
        return Err(ConfigError::BadPolicy);
    }
    let mut pages = 0usize;
    for (i, r) in regions.iter().enumerate() {
        let ps = r.page_size;
        if r.len == 0 || r.start.checked_add(r.len).is_none() {
            return Err(ConfigError::BadRange { region: i });
        }
        if !ps.is_power_of_two() || ps < base {
            return Err(ConfigError::BadPageSize {
                region: i,
                page_size: ps,
            });
        }
        if r.start % ps != 0 || r.len % ps != 0 {
            return Err(ConfigError::Unaligned {
                region: i,
                page_size: ps,
            });
        }
        if let Some(have) = r.source.len() {
            if r.offset % ps as u64 != 0 {
                return Err(ConfigError::UnalignedOffset {
                    region: i,
                    offset: r.offset,
                    page_size: ps,
                });
            }
            let needed = r.offset.saturating_add(r.len as u64);
            if needed > have {
                return Err(ConfigError::SourceTooShort {
                    region: i,
                    needed,
                    available: have,
                });
            }
        }
        if let Some(ioctls) = r.ioctls {
            check_ioctls(i, r, base, ioctls)?;
        }
        for (j, o) in regions[..i].iter().enumerate() {
            if r.start < o.start.saturating_add(o.len) && o.start < r.start + r.len {
                return Err(ConfigError::Overlap {
                    first: j,
                    second: i,
                });
            }
        }
        pages += r.pages();
    }
    Ok(pages)
}

/// Checks what `UFFDIO_REGISTER` returned for region `i` against its page size and source.
pub(crate) fn check_ioctls(
    i: usize,
    r: &Region<'_>,
    base: usize,
    ioctls: Ioctls,
) -> Result<(), ConfigError> {
    // The kernel answers a hugetlb range with the "basic" set, which lacks ZEROPAGE; anonymous
    // memory and shmem get it.
    let hugetlb = !ioctls.contains(Ioctls::ZEROPAGE);
    if hugetlb != (r.page_size > base) {
        return Err(ConfigError::PageSizeMismatch {
            region: i,
            page_size: r.page_size,
            hugetlb,
        });
    }
    let needed = match r.source {
        Source::Continue => Ioctls::CONTINUE,
        Source::Zeros if !hugetlb => Ioctls::ZEROPAGE | Ioctls::COPY,
        _ => Ioctls::COPY,
    };
    // A REMOVE'd page of a non-hugetlb region is served with ZEROPAGE.
    let needed = if hugetlb || matches!(r.source, Source::Continue) {
        needed
    } else {
        needed | Ioctls::ZEROPAGE
    };
    let missing = needed.difference(ioctls);
    if !missing.is_empty() {
        return Err(ConfigError::Unsupported { region: i, missing });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pager::config::Source;

    const B: usize = 4096;

    fn check(regions: &[Region<'_>]) -> Result<usize, ConfigError> {
        validate(B, regions, &Policy::demand())
    }

    #[test]
    fn bad_configurations_are_typed() {
        let src = [0u8; 8 * B];
        let ok = Region::new(0x10000, 4 * B, B, Source::Bytes(&src));
        assert_eq!(check(&[ok]), Ok(4));
        assert_eq!(check(&[]), Err(ConfigError::NoRegions));
        assert_eq!(
            validate(0, &[ok], &Policy::demand()),
            Err(ConfigError::NoPageSize)
        );
        let overlap = Region::new(0x13000, B, B, Source::Zeros);
        assert_eq!(
            check(&[ok, overlap]),
            Err(ConfigError::Overlap {
                first: 0,
                second: 1
            })
        );
        let adjacent = Region::new(0x14000, B, B, Source::Zeros);
        assert_eq!(check(&[ok, adjacent]), Ok(5));
        let short = ok.offset(5 * B as u64);
        assert_eq!(
            check(&[short]),
            Err(ConfigError::SourceTooShort {
                region: 0,
                needed: 9 * B as u64,
                available: 8 * B as u64
            })
        );
        for ps in [3 * B, 1000, 0] {
            assert_eq!(
                check(&[Region::new(0, 6 * B, ps, Source::Zeros)]),
                Err(ConfigError::BadPageSize {
                    region: 0,
                    page_size: ps
                })
            );
        }
        assert_eq!(
            check(&[Region::new(0x1000, 2 << 20, 2 << 20, Source::Zeros)]),
            Err(ConfigError::Unaligned {
                region: 0,
                page_size: 2 << 20
            })
        );
        assert_eq!(
            check(&[Region::new(0x1000, 0, B, Source::Zeros)]),
            Err(ConfigError::BadRange { region: 0 })
        );
        assert_eq!(
            check(&[Region::new(usize::MAX - B + 1, 2 * B, B, Source::Zeros)]),
            Err(ConfigError::BadRange { region: 0 })
        );
        assert_eq!(
            validate(B, &[ok], &Policy::demand().fill(0)),
            Err(ConfigError::BadPolicy)
        );
        assert_eq!(
            validate(B, &[ok], &Policy::demand().readahead_from(8 * B, B)),
            Err(ConfigError::BadPolicy)
        );
    }

    #[test]
    fn registration_checks() {
        let anon = Ioctls::WAKE | Ioctls::COPY | Ioctls::ZEROPAGE;
        let huge = Ioctls::WAKE | Ioctls::COPY;
        // A base-page range whose registration lacks COPY (as a MODE_MINOR-only one could):
        // zeros and bytes both need it (bytes for their pages, zeros for the REMOVE'd ones
        // too: ZEROPAGE).
        let no_copy = Ioctls::WAKE | Ioctls::ZEROPAGE;
        let src = [0u8; B];
        for source in [Source::Zeros, Source::Bytes(&src)] {
            assert_eq!(
                check(&[Region::new(0, B, B, source).registered(no_copy)]),
                Err(ConfigError::Unsupported {
                    region: 0,
                    missing: Ioctls::COPY
                })
            );
        }
        let r4k = Region::new(0, B, B, Source::Zeros).registered(huge);
        assert_eq!(
            check(&[r4k]),
            Err(ConfigError::PageSizeMismatch {
                region: 0,
                page_size: B,
                hugetlb: true
            })
        );
        let r2m = Region::new(0, 2 << 20, 2 << 20, Source::Zeros).registered(anon);
        assert_eq!(
            check(&[r2m]),
            Err(ConfigError::PageSizeMismatch {
                region: 0,
                page_size: 2 << 20,
                hugetlb: false
            })
        );
        let minor = Region::new(0, B, B, Source::Continue).registered(anon);
        assert_eq!(
            check(&[minor]),
            Err(ConfigError::Unsupported {
                region: 0,
                missing: Ioctls::CONTINUE
            })
        );
        assert_eq!(
            check(&[Region::new(0, 2 << 20, 2 << 20, Source::Zeros).registered(huge)]),
            Ok(1)
        );
    }
}

//! SVG charts of the pager benchmark (plotters): pages populated over time per contender, the
//! demand-fault latency histogram, and toucher time against fault stall (the Pareto picture).

use std::path::Path;

use super::run::{Contender, Outcome};
use super::Pattern;
use plotters::prelude::*;

const COLORS: [RGBColor; 9] = [
    RGBColor(0x44, 0x44, 0x44),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
];

fn err(e: impl std::fmt::Display) -> String {
    format!("chart: {e}")
}

/// The legend at `pos`, the file written, its path printed.
fn finish<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    root: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    pos: SeriesLabelPosition,
    path: &Path,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(pos)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    println!("chart: {}", path.display());
    Ok(())
}

/// Pages populated (%) over time in the last round of each contender; a cross marks when its
/// toucher finished.
pub fn populated(
    dir: &Path,
    mode: &str,
    p: Pattern,
    cs: &[Contender],
    res: &[Vec<Outcome>],
    n: usize,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(err)?;
    let path = dir.join(format!("pager-populated-{}-{mode}.svg", p.slug()));
    // The per-page C handler can take seconds: cut the x axis at the slowest other contender
    // (its line leaves the chart; its finish is in the table).
    let last = |k: usize| res[k].last();
    let end = |o: &Outcome| o.series.last().map_or(0, |s| s.0).max(o.total);
    let xmax = cs
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != Contender::CPerPage)
        .filter_map(|(k, _)| last(k).map(end))
        .max()
        .unwrap_or(1) as f64
        / 1e6
        * 1.1;
    let root = SVGBackend::new(&path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("pages populated over time — {} toucher, {mode}", p.name()),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..xmax, 0f64..100f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("ms since the handler was ready")
        .y_desc("% of pages populated")
        .draw()
        .map_err(err)?;
    for (k, c) in cs.iter().enumerate() {
        let Some(o) = last(k) else { continue };
        let color = COLORS[k % COLORS.len()];
        let pts: Vec<(f64, f64)> = o
            .series
            .iter()
            .map(|&(t, pages)| (t as f64 / 1e6, 100.0 * pages as f64 / n as f64))
            .take_while(|&(t, _)| t <= xmax)
            .collect();
        let finish = if *c == Contender::Floor {
            String::new()
        } else {
            format!(", toucher done {:.0} ms", o.total as f64 / 1e6)
        };
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(format!("{}{finish}", c.name()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        let t = o.total as f64 / 1e6;
        if *c != Contender::Floor && t <= xmax {
            // Populated share when the toucher finished (the last sample before it).
            let y = pts
                .iter()
                .take_while(|q| q.0 <= t)
                .last()
                .map_or(0.0, |q| q.1);
            chart
                .draw_series(std::iter::once(Cross::new(
                    (t, y),
                    7,
                    color.stroke_width(3),
                )))
                .map_err(err)?;
        }
    }
    finish(&mut chart, &root, SeriesLabelPosition::LowerRight, &path)
}

/// Demand-fault latency histogram (touches that faulted, all runs and patterns pooled): share
/// of faults per power-of-two µs bucket.
pub fn latency(
    dir: &Path,
    mode: &str,
    cs: &[Contender],
    all: &[Vec<Vec<Outcome>>],
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(err)?;
    let path = dir.join(format!("pager-latency-{mode}.svg"));
    const B: usize = 18; // 2^0 .. 2^17 µs
    let root = SVGBackend::new(&path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("demand-fault latency seen by the toucher — {mode}"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((1f64..(1u64 << B) as f64).log_scale(), 0f64..100f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency (µs, bucket lower bound, log scale)")
        .y_desc("% of touches that faulted (took ≥ 2 µs)")
        .draw()
        .map_err(err)?;
    for (k, c) in cs.iter().enumerate() {
        if matches!(c, Contender::Eager | Contender::Floor) {
            continue; // no userfaults (eager's slow touches are TLB and scheduling)
        }
        let mut h = [0u64; B];
        for o in all.iter().flat_map(|p| p[k].iter()) {
            for &(_, ns) in &o.faults {
                let us = (ns as u64 / 1000).max(1);
                let b = (63 - us.leading_zeros() as usize).min(B - 1);
                h[b] += 1;
            }
        }
        let total: u64 = h.iter().sum();
        if total == 0 {
            continue;
        }
        let color = COLORS[k % COLORS.len()];
        let pts: Vec<(f64, f64)> = h
            .iter()
            .enumerate()
            .map(|(b, &x)| ((1u64 << b) as f64, 100.0 * x as f64 / total as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(err)?
            .label(format!("{} ({total} faulting touches, all runs)", c.name()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperRight, &path)
}

/// The Pareto picture: each contender's toucher time (median over rounds) against its median
/// demand-fault stall (all rounds pooled), one marker per pattern; down and to the left is
/// better on both. Contenders without userfaults (eager, the floor) are horizontal lines.
pub fn pareto(
    dir: &Path,
    mode: &str,
    cs: &[Contender],
    pats: &[Pattern],
    all: &[Vec<Vec<Outcome>>],
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(err)?;
    let path = dir.join(format!("pager-pareto-{mode}.svg"));
    // (contender, pattern, total ms, p50 µs)
    let mut pts = Vec::new();
    for (p, res) in pats.iter().zip(all) {
        for (k, c) in cs.iter().enumerate() {
            if res[k].is_empty() {
                continue;
            }
            let total = super::median(
                &mut res[k]
                    .iter()
                    .map(|o| o.total as f64 / 1e6)
                    .collect::<Vec<_>>(),
            );
            let mut lat: Vec<f64> = res[k]
                .iter()
                .flat_map(|o| o.faults.iter().map(|f| f.1 as f64 / 1e3))
                .collect();
            let p50 = (!lat.is_empty()).then(|| super::median(&mut lat));
            pts.push((k, *c, *p, total, p50));
        }
    }
    let ymax = pts.iter().map(|x| x.3).fold(1.0, f64::max) * 1.1;
    let root = SVGBackend::new(&path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "toucher time against fault stall — {mode} (● sequential, ▲ random, ■ random 10 %)"
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d((1f64..10_000f64).log_scale(), 0f64..ymax)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("median demand-fault stall (µs, log scale)")
        .y_desc("toucher done (ms, median)")
        .draw()
        .map_err(err)?;
    for (k, c) in cs.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let mine: Vec<_> = pts.iter().filter(|x| x.0 == k).collect();
        if mine.is_empty() {
            continue;
        }
        let style = color.filled();
        for &&(_, _, p, total, p50) in &mine {
            let Some(us) = p50 else {
                // No userfaults (eager, the floor): the time alone, a thin line across.
                chart
                    .draw_series(LineSeries::new(
                        [(1.0, total), (10_000.0, total)],
                        color.stroke_width(1),
                    ))
                    .map_err(err)?;
                continue;
            };
            let at = (us.clamp(1.0, 9_999.0), total);
            match p {
                Pattern::Sequential => chart
                    .draw_series(std::iter::once(Circle::new(at, 6, style)))
                    .map(|_| ()),
                Pattern::Random => chart
                    .draw_series(std::iter::once(TriangleMarker::new(at, 7, style)))
                    .map(|_| ()),
                Pattern::WorkingSet => chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (at.0 / 1.08, at.1 - ymax / 120.0),
                            (at.0 * 1.08, at.1 + ymax / 120.0),
                        ],
                        style,
                    )))
                    .map(|_| ()),
            }
            .map_err(err)?;
        }
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label(c.name())
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperRight, &path)
}

//! The SVG charts of `compare`, drawn with plotters: throughput by client
//! and message size (producing, consuming) and latency percentiles by
//! client.

use std::path::Path;

use plotters::prelude::*;

use super::plan::{Case, Client, Group};
use super::protocol::Kind;
use super::report::{rows, RunRecord};

/// One line of a chart: its name and its points.
pub type Series = (String, Vec<(f64, f64)>);

const WIDTH: u32 = 900;
const HEIGHT: u32 = 560;
/// The legend's column, right of the plot, so that it hides no line.
const LEGEND_WIDTH: u32 = 260;

fn err(what: &str, path: &Path) -> impl Fn(String) -> String {
    let place = format!("{what} {}", path.display());
    move |e| format!("cannot draw {place}: {e}")
}

/// The (lowest, highest) positive y of `series`, widened a little, for a
/// log axis.
fn y_bounds(series: &[Series]) -> Option<(f64, f64)> {
    let ys = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .filter(|y| *y > 0.0);
    let lo = ys.clone().fold(f64::INFINITY, f64::min);
    let hi = ys.fold(0.0, f64::max);
    (lo.is_finite() && hi > 0.0).then(|| (lo / 1.5, hi * 1.5))
}

/// A chart of `series` over message sizes (log x), log y, into `path`.
pub fn by_size(path: &Path, title: &str, y_desc: &str, series: &[Series]) -> Result<(), String> {
    let e = err("chart", path);
    let (y_lo, y_hi) = y_bounds(series).ok_or_else(|| e("no figures to draw".into()))?;
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
    let x_lo = xs.clone().fold(f64::INFINITY, f64::min).max(1.0);
    let x_hi = xs.fold(0.0, f64::max).max(x_lo * 2.0);
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let (plot, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
    legend(&side, series).map_err(&e)?;
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_lo / 1.3..x_hi * 1.3).log_scale(),
            (y_lo..y_hi).log_scale(),
        )
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("payload bytes per record")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format_size(*x))
        .y_label_formatter(&|y| format_number(*y))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, (_, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = points.iter().copied().filter(|&(_, y)| y > 0.0).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(|x| e(x.to_string()))?;
    }
    root.present().map_err(|x| e(x.to_string()))
}

/// The percentiles a latency chart shows, in order.
pub const PERCENTILES: [&str; 3] = ["p50", "p99", "p99.9"];

/// A chart of latency percentiles (x: p50, p99, p99.9; log y in µs), one
/// line per client, into `path`.
pub fn latency(path: &Path, title: &str, series: &[Series]) -> Result<(), String> {
    let e = err("chart", path);
    let (y_lo, y_hi) = y_bounds(series).ok_or_else(|| e("no figures to draw".into()))?;
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let (plot, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
    legend(&side, series).map_err(&e)?;
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.3f64..2.3f64, (y_lo..y_hi).log_scale())
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_labels(PERCENTILES.len())
        .x_desc("percentile")
        .y_desc("end-to-end latency, µs")
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.05 && (0.0..3.0).contains(&i) {
                PERCENTILES[i as usize].to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format_number(*y))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, (_, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = points.iter().copied().filter(|&(_, y)| y > 0.0).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(|x| e(x.to_string()))?;
    }
    root.present().map_err(|x| e(x.to_string()))
}

/// The series' names with their colours, one a line, in `area`.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    series: &[Series],
) -> Result<(), String> {
    for (i, (name, _)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let y = 60 + 22 * i as i32;
        area.draw(&PathElement::new(
            vec![(8, y), (32, y)],
            color.stroke_width(3),
        ))
        .map_err(|x| x.to_string())?;
        area.draw(&Text::new(name.as_str(), (40, y - 7), ("sans-serif", 14)))
            .map_err(|x| x.to_string())?;
    }
    Ok(())
}

fn format_size(x: f64) -> String {
    if x >= 1024.0 {
        format!("{:.0} KiB", x / 1024.0)
    } else {
        format!("{x:.0} B")
    }
}

fn format_number(y: f64) -> String {
    if y >= 10.0 {
        super::report::thousands(y)
    } else {
        format!("{y:.2}")
    }
}

/// MB/s by size for every client of the size sweep (headline figures at
/// 100 B), for `kind`.
fn size_series(cases: &[Case], records: &[RunRecord], kind: Kind) -> Vec<Series> {
    let sweep: Vec<&Case> = cases
        .iter()
        .filter(|c| c.kind == kind && matches!(c.group, Group::Sizes | Group::Headline))
        .collect();
    let mut clients: Vec<Client> = Vec::new();
    for case in sweep.iter().filter(|c| c.group == Group::Sizes) {
        for client in &case.clients {
            if !clients.contains(client) {
                clients.push(client.clone());
            }
        }
    }
    if clients.is_empty() {
        // No sweep: the headline's main variants alone.
        for case in sweep.iter() {
            for client in case.clients.iter().filter(|c| c.tuned) {
                if !clients.iter().any(|c| c.family == client.family) {
                    clients.push(client.clone());
                }
            }
        }
    }
    clients
        .into_iter()
        .map(|client| {
            let mut points: Vec<(f64, f64)> = sweep
                .iter()
                .filter_map(|case| {
                    rows(case, records)
                        .into_iter()
                        .find(|r| r.client == client)
                        .and_then(|r| r.mb_per_s)
                        .map(|s| (case.size as f64, s.median))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (client.label(), points)
        })
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

/// Draws every chart the figures allow into `dir` and returns the file
/// names written.
pub fn write_all(dir: &Path, cases: &[Case], records: &[RunRecord]) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for (kind, name, title) in [
        (
            Kind::Produce,
            "produce-throughput.svg",
            "Producer throughput by message size (MB = 10^6 bytes)",
        ),
        (
            Kind::Consume,
            "consume-throughput.svg",
            "Consumer throughput by message size (MB = 10^6 bytes)",
        ),
    ] {
        let series = size_series(cases, records, kind);
        if !series.is_empty() {
            by_size(&dir.join(name), title, "MB/s (median)", &series)?;
            written.push(name.to_string());
        }
    }
    for case in cases.iter().filter(|c| c.kind == Kind::Latency) {
        let series: Vec<Series> = rows(case, records)
            .into_iter()
            .filter_map(|r| {
                let p = [r.p50_us?, r.p99_us?, r.p999_us?];
                Some((
                    r.client.label(),
                    p.iter()
                        .enumerate()
                        .map(|(i, s)| (i as f64, s.median))
                        .collect(),
                ))
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        let pct = (case.rate_fraction * 100.0).round();
        let rate = records
            .iter()
            .filter(|r| r.case == case.id)
            .map(|r| r.rate)
            .max()
            .unwrap_or(0);
        let name = format!("latency-{pct:.0}pct.svg");
        let title = format!(
            "End-to-end latency at {rate} records/s ({pct:.0}% of the slowest headline produce rate)"
        );
        latency(&dir.join(&name), &title, &series)?;
        written.push(name);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::report::tests::{case, client, record};

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kafkit-charts-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn charts_are_svg_files_with_the_series_names() {
        let dir = temp_dir("all");
        let clients = vec![client("kafkit", "send", true), client("raw", "raw", true)];
        let headline = case(Kind::Produce, 100, clients.clone());
        let big = case(Kind::Produce, 10_240, clients.clone());
        let lat = case(Kind::Latency, 100, clients.clone());
        let mut records = Vec::new();
        for c in [&headline, &big, &lat] {
            records.push(record(c, &clients[0], 0, 500_000.0));
            records.push(record(c, &clients[1], 0, 700_000.0));
        }
        let names = write_all(&dir, &[headline, big, lat], &records).unwrap();
        assert_eq!(names, ["produce-throughput.svg", "latency-50pct.svg"]);
        for name in &names {
            let svg = std::fs::read_to_string(dir.join(name)).unwrap();
            assert!(
                svg.starts_with("<svg"),
                "{name}: {}",
                &svg[..svg.len().min(80)]
            );
            assert!(
                svg.contains("kafkit send") && svg.contains("raw raw"),
                "{name}"
            );
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_to_draw_is_an_error_not_an_empty_chart() {
        let dir = temp_dir("empty");
        let e = by_size(&dir.join("x.svg"), "t", "y", &[("a".into(), vec![])]).unwrap_err();
        assert!(e.contains("no figures"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

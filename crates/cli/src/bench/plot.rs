//! The comparison picture: time and bytes per variant, imgflow vs Pillow vs sharp.

use super::tables::variant_totals;
use super::ImageResult;
use anyhow::Context as _;
use plotters::prelude::*;
use std::path::Path;

const TOOLS: &[(&str, RGBColor)] = &[
    ("imgflow", RGBColor(0xd9, 0x5f, 0x02)),
    ("Pillow", RGBColor(0x1b, 0x9e, 0x77)),
    ("sharp", RGBColor(0x75, 0x70, 0xb3)),
];
const STEPS: &[&str] = &["decode", "compressed", "low", "webp", "png", "thumbnail"];

pub fn draw(results: &[ImageResult], path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).context("plot")?;
    let (left, right) = root.split_horizontally(550);
    panel(
        &left,
        "encode time, whole corpus, 1 thread (s)",
        STEPS,
        |tool, step| variant_totals(results, tool, step).0.map(|ms| ms / 1000.0),
    )?;
    // Decoding makes no bytes: the bytes panel starts at the first variant.
    panel(
        &right,
        "output bytes, whole corpus (MB)",
        &STEPS[1..],
        |tool, step| {
            variant_totals(results, tool, step)
                .1
                .map(|b| b as f64 / 1e6)
        },
    )?;
    root.present().context("writing the plot")?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    steps: &[&str],
    value: impl Fn(&str, &str) -> Option<f64>,
) -> anyhow::Result<()> {
    let tools: Vec<_> = TOOLS
        .iter()
        .filter(|(t, _)| steps.iter().any(|s| value(t, s).is_some()))
        .collect();
    let max = steps
        .iter()
        .flat_map(|s| tools.iter().filter_map(|(t, _)| value(t, s)))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..steps.len() as f64, 0f64..max)
        .context("plot")?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(steps.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 0.01 {
                steps.get(i).map(|s| s.to_string()).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()
        .context("plot")?;
    let width = 0.8 / tools.len().max(1) as f64;
    for (k, (tool, color)) in tools.iter().enumerate() {
        let bars: Vec<_> = steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let v = value(tool, s)?;
                let x0 = i as f64 + 0.1 + k as f64 * width;
                Some(Rectangle::new([(x0, 0.0), (x0 + width, v)], color.filled()))
            })
            .collect();
        chart
            .draw_series(bars)
            .context("plot")?
            .label(*tool)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .context("plot")?;
    Ok(())
}

//! Charts of summaries: estimates with their intervals, one row per item
//! (a forest plot), and paired counts as stacked bars, arranged as panels
//! of one SVG. `procura demo` draws its many-market summary with them.

use std::ops::Range;

use anyhow::{Context, Result};
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    axis_range, drawable, font, readable, text_width, tick_formatter, title_size, GRID_ROW_HEIGHT,
    GRID_TITLE_HEIGHT, GRID_WIDTH, LABEL_SIZE, PALETTE, PANEL_TITLE_SIZE, X_TICKS,
};

/// One estimate: a mean and its interval.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimate {
    /// Row label, e.g. `"qmia"`.
    pub label: String,
    /// The estimate; a non-finite one draws nothing but its label.
    pub mean: f64,
    /// Its 95% interval `(low, high)`, drawn when both ends are finite.
    pub interval: Option<(f64, f64)>,
}

/// A panel of estimates, one row each, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EstimatePanel {
    /// The panel's caption.
    pub title: String,
    /// The x axis description.
    pub x_label: String,
    /// The rows.
    pub estimates: Vec<Estimate>,
}

/// Counts of the parts of a whole, e.g. markets above, equal to and below
/// a reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tally {
    /// Row label.
    pub label: String,
    /// One count per part of its panel.
    pub counts: [u64; 3],
}

/// A panel of tallies: one stacked bar per row, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TallyPanel {
    /// The panel's caption.
    pub title: String,
    /// The x axis description.
    pub x_label: String,
    /// The names of the three parts, in the legend above the bars.
    pub parts: [String; 3],
    /// The rows.
    pub tallies: Vec<Tally>,
}

/// Fill colours of the three parts of a tally: blue, light grey, orange.
const PART_COLORS: [RGBColor; 3] = [PALETTE[0], RGBColor(0xc7, 0xc7, 0xc7), PALETTE[1]];

/// A panel of a summary chart.
enum SummaryPanel<'a> {
    Estimates(&'a EstimatePanel),
    Tallies(&'a TallyPanel),
}

/// An SVG of panels, two to a row: the estimate panels, then the tally
/// panels. Every text is made [`readable`]; the output is a pure function
/// of the input.
pub(crate) fn summary_chart(
    title: &str,
    estimates: &[EstimatePanel],
    tallies: &[TallyPanel],
) -> Result<String> {
    let panels: Vec<SummaryPanel<'_>> = estimates
        .iter()
        .map(SummaryPanel::Estimates)
        .chain(tallies.iter().map(SummaryPanel::Tallies))
        .collect();
    let cols = 2;
    let rows = panels.len().div_ceil(cols).max(1);
    let height = GRID_TITLE_HEIGHT + rows as u32 * GRID_ROW_HEIGHT;
    let title = readable(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (GRID_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)
            .context("cannot draw the chart background")?;
        let grid = root
            .titled(&title, font(title_size(&title, GRID_WIDTH)))
            .context("cannot draw the chart title")?;
        for (panel, area) in panels.iter().zip(grid.split_evenly((rows, cols))) {
            match panel {
                SummaryPanel::Estimates(panel) => draw_estimates(&root, &area, panel)?,
                SummaryPanel::Tallies(panel) => draw_tallies(&root, &area, panel)?,
            }
        }
        root.present().context("cannot render the chart")?;
    }
    Ok(svg)
}

/// Width of a row-label area for `labels`, with room for the gap.
fn label_area(labels: impl Iterator<Item = String>) -> u32 {
    let widest = labels
        .map(|label| text_width(LABEL_SIZE, &label))
        .fold(0.0, f64::max);
    (widest + 18.0).ceil().max(40.0) as u32
}

/// Draws `labels` (top to bottom) right-aligned left of the rows of a
/// panel whose `row_y(i)` is row i's centre in pixels and `left` the plot's
/// left edge.
fn draw_row_labels(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    labels: &[String],
    left: i32,
    row_y: impl Fn(usize) -> i32,
) -> Result<()> {
    let style = font(LABEL_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
    for (index, label) in labels.iter().enumerate() {
        root.draw(&Text::new(label.as_str(), (left - 8, row_y(index)), &style))
            .context("cannot draw a row label")?;
    }
    Ok(())
}

/// The segment of row `index` of `count`, the first row on top.
fn row_segment(index: usize, count: usize) -> usize {
    count - 1 - index
}

/// A forest plot: each estimate's mean as a dot and its interval as a
/// horizontal bar, one row each.
fn draw_estimates(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &EstimatePanel,
) -> Result<()> {
    let count = panel.estimates.len().max(1);
    let labels: Vec<String> = panel.estimates.iter().map(|e| readable(&e.label)).collect();
    let x_range: Range<f64> = axis_range(panel.estimates.iter().flat_map(|e| {
        let (lo, hi) = e
            .interval
            .filter(|(lo, hi)| drawable(*lo) && drawable(*hi))
            .unwrap_or((e.mean, e.mean));
        [e.mean, lo, hi]
    }));
    let mut chart = ChartBuilder::on(area)
        .caption(readable(&panel.title), font(PANEL_TITLE_SIZE))
        .margin(8)
        .margin_right(20)
        .x_label_area_size(45)
        .y_label_area_size(label_area(labels.iter().cloned()))
        .build_cartesian_2d(x_range.clone(), (0..count - 1).into_segmented())
        .context("cannot lay out the chart")?;
    let x_format = tick_formatter(&x_range, X_TICKS);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(readable(&panel.x_label))
        .x_labels(X_TICKS)
        .x_label_formatter(&x_format)
        .y_labels(count)
        .y_label_formatter(&|_| String::new())
        .y_label_style(font(LABEL_SIZE).color(&TRANSPARENT))
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(LABEL_SIZE))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
        .draw()
        .context("cannot draw the axes")?;
    let row_y = |index: usize| {
        chart
            .backend_coord(&(
                x_range.start,
                SegmentValue::CenterOf(row_segment(index, count)),
            ))
            .1
    };
    let left = chart
        .backend_coord(&(x_range.start, SegmentValue::Exact(0)))
        .0;
    for (index, estimate) in panel.estimates.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let y = row_y(index);
        if let Some((lo, hi)) = estimate
            .interval
            .filter(|(lo, hi)| drawable(*lo) && drawable(*hi))
        {
            let x = |v: f64| chart.backend_coord(&(v, SegmentValue::Exact(0))).0;
            let (low, high) = (x(lo), x(hi));
            for segment in [
                vec![(low, y), (high, y)],
                vec![(low, y - 5), (low, y + 5)],
                vec![(high, y - 5), (high, y + 5)],
            ] {
                root.draw(&PathElement::new(segment, color.stroke_width(2)))
                    .context("cannot draw an interval")?;
            }
        }
        if drawable(estimate.mean) {
            let x = chart
                .backend_coord(&(estimate.mean, SegmentValue::Exact(0)))
                .0;
            root.draw(&Circle::new((x, y), 5, color.filled()))
                .context("cannot draw an estimate")?;
        }
    }
    draw_row_labels(root, &labels, left, row_y)
}

/// Stacked bars: each tally's three counts side by side along x, with the
/// count written in each part wide enough for it, and a legend of the
/// parts in a row above the bars.
fn draw_tallies(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &TallyPanel,
) -> Result<()> {
    // One more row, on top, for the legend.
    let rows = panel.tallies.len() + 1;
    let labels: Vec<String> = panel.tallies.iter().map(|t| readable(&t.label)).collect();
    let total = panel
        .tallies
        .iter()
        .map(|t| t.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let x_range = 0.0..total as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(readable(&panel.title), font(PANEL_TITLE_SIZE))
        .margin(8)
        .margin_right(20)
        .x_label_area_size(45)
        .y_label_area_size(label_area(labels.iter().cloned()))
        .build_cartesian_2d(x_range.clone(), (0..rows - 1).into_segmented())
        .context("cannot lay out the chart")?;
    // Whole counts only: at most one tick a market.
    let ticks = X_TICKS.min(total as usize + 1);
    let x_format = tick_formatter(&x_range, ticks);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(readable(&panel.x_label))
        .x_labels(ticks)
        .x_label_formatter(&x_format)
        .y_labels(rows)
        .y_label_formatter(&|_| String::new())
        .y_label_style(font(LABEL_SIZE).color(&TRANSPARENT))
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(LABEL_SIZE))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
        .draw()
        .context("cannot draw the axes")?;
    // Row i of the tallies is row i + 1 of the chart, under the legend.
    let row_y = |index: usize| {
        chart
            .backend_coord(&(0.0, SegmentValue::CenterOf(row_segment(index + 1, rows))))
            .1
    };
    let x = |v: f64| chart.backend_coord(&(v, SegmentValue::Exact(0))).0;
    let count_style = font(LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Center));
    let half_height = ((row_y(0) - row_y(1)).abs() / 3).clamp(3, 14);
    for (index, tally) in panel.tallies.iter().enumerate() {
        let y = row_y(index);
        let mut start = 0u64;
        for (part, &count) in tally.counts.iter().enumerate() {
            let (from, to) = (x(start as f64), x((start + count) as f64));
            start += count;
            if count == 0 {
                continue;
            }
            root.draw(&Rectangle::new(
                [(from, y - half_height), (to, y + half_height)],
                PART_COLORS[part].filled(),
            ))
            .context("cannot draw a bar")?;
            let text = count.to_string();
            if f64::from(to - from) >= text_width(LABEL_SIZE, &text) + 4.0 {
                root.draw(&Text::new(text, ((from + to) / 2, y), &count_style))
                    .context("cannot draw a count")?;
            }
        }
    }
    // The legend row: a swatch and the part's name, left to right.
    let legend_y = chart
        .backend_coord(&(0.0, SegmentValue::CenterOf(row_segment(0, rows))))
        .1;
    let mut at = x(0.0);
    let name_style = font(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    for (part, name) in panel.parts.iter().enumerate() {
        let name = readable(name);
        root.draw(&Rectangle::new(
            [(at, legend_y - 6), (at + 12, legend_y + 6)],
            PART_COLORS[part].filled(),
        ))
        .context("cannot draw the legend")?;
        root.draw(&Text::new(name.clone(), (at + 17, legend_y), &name_style))
            .context("cannot draw the legend")?;
        at += 17 + text_width(LABEL_SIZE, &name).ceil() as i32 + 14;
    }
    let left = x(0.0);
    draw_row_labels(root, &labels, left, row_y)
}

#[cfg(test)]
mod tests {
    use super::super::tests::texts;
    use super::*;

    fn estimates(title: &str) -> EstimatePanel {
        EstimatePanel {
            title: title.to_owned(),
            x_label: "mean over 50 markets (95% t-interval)".to_owned(),
            estimates: ["qmia", "volume", "all data"]
                .iter()
                .enumerate()
                .map(|(i, label)| Estimate {
                    label: (*label).to_owned(),
                    mean: 0.7 + f64::from(i as u8) / 100.0,
                    interval: Some((0.69, 0.73 + f64::from(i as u8) / 100.0)),
                })
                .collect(),
        }
    }

    fn tallies() -> TallyPanel {
        TallyPanel {
            title: "test_accuracy: markets against Q-MIA".to_owned(),
            x_label: "markets".to_owned(),
            parts: ["above", "equal", "below"].map(str::to_owned),
            tallies: vec![
                Tally {
                    label: "mut".to_owned(),
                    counts: [3, 40, 7],
                },
                Tally {
                    label: "volume".to_owned(),
                    counts: [11, 0, 39],
                },
            ],
        }
    }

    #[test]
    fn a_summary_chart_has_a_panel_per_metric_and_counts() {
        let svg = summary_chart(
            "procura demo: 50 markets",
            &[estimates("test accuracy"), estimates("value")],
            &[tallies()],
        )
        .expect("the chart renders");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains(r#"width="900" height="665""#),
            "{}",
            &svg[..100]
        );
        let texts = texts(&svg);
        for text in [
            "procura demo: 50 markets",
            "test accuracy",
            "value",
            "test accuracy: markets against Q-MIA",
            "above",
            "equal",
            "below",
            "mean over 50 markets (95% t-interval)",
        ] {
            assert!(texts.iter().any(|t| t == text), "no {text:?} in {texts:?}");
        }
        // Every row label in each panel: 3 estimates × 2 panels, 2 tallies.
        for (label, times) in [("qmia", 2), ("all data", 2), ("mut", 1), ("volume", 3)] {
            assert_eq!(
                texts.iter().filter(|t| *t == label).count(),
                times,
                "{label}"
            );
        }
        // Counts wide enough to print are printed; the empty part is not
        // drawn.
        for count in ["3", "40", "7", "11", "39"] {
            assert!(texts.iter().any(|t| t == count), "no count {count}");
        }
        // 6 dots.
        assert_eq!(svg.matches("<circle").count(), 6);
    }
}

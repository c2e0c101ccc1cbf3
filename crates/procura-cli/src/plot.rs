//! SVG charts for experiment and demo reports: a line chart (one line per
//! mechanism against a swept parameter, with 95% confidence intervals) and a
//! bar chart.
//!
//! Both render with `plotters` into an in-memory [`SVGBackend`] and return
//! the SVG document as a `String`; writing it (atomically) is the caller's
//! job. The output is a pure function of the input, so the same data always
//! gives the same bytes.
//!
//! # Text without fonts
//!
//! `plotters` is built with only its `svg_backend`, `line_series` and
//! `errorbar` features (all pure Rust), without `ttf`, so no font files and
//! no system libraries (fontconfig, freetype) are needed. In that configuration
//! `plotters` lays out text with a built-in estimate of its size (about 0.56
//! em a character) and the SVG backend writes every title, axis label, tick
//! label, legend entry and bar value as a native, escaped `<text>` element
//! with `font-family="sans-serif"`: the viewer picks the actual font. The
//! margins below are sized with the same estimate ([`text_width`]), with
//! some slack, so that texts do not overlap even when a viewer's font is a
//! little wider than estimated.

use std::ops::Range;

use anyhow::{Context, Result};
use plotters::coord::ranged1d::{IntoSegmentedCoord, Ranged, SegmentValue};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every chart, in pixels.
const WIDTH: u32 = 800;
/// Height of every chart, in pixels.
const HEIGHT: u32 = 500;
/// Font family of every text; the SVG viewer resolves it.
const FONT: &str = "sans-serif";
/// Font size of the title, in SVG pixels (like every font size here).
const TITLE_SIZE: f64 = 20.0;
/// Font size of the axis descriptions.
const AXIS_DESC_SIZE: f64 = 14.0;
/// Font size of tick labels, legend entries and bar values.
const LABEL_SIZE: f64 = 12.0;
/// Smallest font size of bar labels and values when many bars share the x
/// axis, and of legend entries when many series share a chart.
const MIN_LABEL_SIZE: f64 = 7.5;
/// At most this many tick labels on the x axis of a line chart.
const X_TICKS: usize = 10;
/// At most this many tick labels on the y axis.
const Y_TICKS: usize = 8;
/// Fraction of the data range added on each side of an axis.
const PAD: f64 = 0.05;
/// Largest magnitude drawn: beyond it, axis spans overflow and `plotters`'
/// tick search does not end, so such values count as non-finite.
const MAX_ABS: f64 = 1e300;

/// Colours of the series, in order (the Tableau 10 palette); series past
/// the tenth reuse them with another marker shape.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// One line of a line chart: a mechanism's metric against the swept
/// parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// Legend entry, e.g. `"qmia"`.
    pub label: String,
    /// The points of the line, sorted by `x` by the caller. Points with a
    /// non-finite coordinate (or one beyond ±1e300) are skipped.
    pub points: Vec<Point>,
}

/// One point of a [`Series`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    /// The swept parameter.
    pub x: f64,
    /// The metric.
    pub y: f64,
    /// 95% confidence interval `(low, high)` of `y`, drawn as an error bar;
    /// ignored unless both ends are finite (and within ±1e300).
    pub interval: Option<(f64, f64)>,
}

/// One bar of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    /// Label under the bar, on the x axis.
    pub label: String,
    /// Height of the bar, drawn from 0 (downwards when negative). A
    /// non-finite value (or one beyond ±1e300) draws no bar, only its label
    /// and the value's text.
    pub value: f64,
}

/// Marker shapes, one per round of the palette.
#[derive(Debug, Clone, Copy)]
enum Marker {
    /// A filled circle (series 1 to 10).
    Circle,
    /// A filled square (series 11 to 20).
    Square,
    /// A filled triangle (series 21 to 30, then circles again).
    Triangle,
}

/// The colour and marker of the series at `index`.
fn series_style(index: usize) -> (RGBColor, Marker) {
    let color = PALETTE[index % PALETTE.len()];
    let marker = match (index / PALETTE.len()) % 3 {
        0 => Marker::Circle,
        1 => Marker::Square,
        _ => Marker::Triangle,
    };
    (color, marker)
}

/// `plotters`' own estimate of the width in pixels of `text` at font size
/// `size` without the `ttf` feature (its `naive` font back end: 0.7 / 1.24
/// em a character), plus 15% slack for wider real fonts (DejaVu Sans digits
/// are 0.64 em wide).
fn text_width(size: f64, text: &str) -> f64 {
    size / 1.24 * 0.7 * text.chars().count() as f64 * 1.15
}

/// `size` rounded down to half a pixel, for tidy `font-size` attributes.
fn half_pixels(size: f64) -> f64 {
    (size * 2.0).floor() / 2.0
}

/// Whether `v` can be drawn: finite and at most [`MAX_ABS`] in magnitude.
fn drawable(v: f64) -> bool {
    v.abs() <= MAX_ABS
}

/// Font size of a title: [`TITLE_SIZE`], smaller for a title too long for
/// the chart's width.
fn title_size(title: &str) -> f64 {
    let width = text_width(TITLE_SIZE, title);
    let room = f64::from(WIDTH) - 60.0;
    if width > room {
        half_pixels(TITLE_SIZE * room / width).max(10.0)
    } else {
        TITLE_SIZE
    }
}

/// A text style of the chart font at `size` SVG pixels. (`plotters`' sizes
/// are 1.24 times larger: its SVG backend writes `font-size` as the size
/// over 1.24.)
fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size * 1.24).into_font())
}

/// The axis range of drawable `values`: their span with [`PAD`] on each
/// side; a window around a single value; `0..1` when there is no drawable
/// value.
fn axis_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| drawable(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    padded(lo, hi, PAD, PAD)
}

/// `lo..hi` (both drawable) widened by `below` and `above` times its
/// span. A span too narrow for distinct ticks (zero, or below a billionth
/// of the values) becomes a window of half a unit, or of 10% of the
/// values, on each side of its middle.
fn padded(lo: f64, hi: f64, below: f64, above: f64) -> Range<f64> {
    let span = hi - lo;
    if span > 1e-9 * lo.abs().max(hi.abs()) && span > 1e-250 {
        return lo - span * below..hi + span * above;
    }
    let middle = lo + span / 2.0;
    let half = (middle.abs() * 0.1).max(0.5);
    middle - half..middle + half
}

/// Decimal places that print every value of `keys` (tick positions)
/// exactly, at most 6.
fn decimals(keys: &[f64]) -> usize {
    (0..=6)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            keys.iter().all(|k| {
                let scaled = k * scale;
                (scaled - scaled.round()).abs() <= 1e-6 * scaled.abs().max(1.0)
            })
        })
        .unwrap_or(6)
}

/// Whether tick labels of `keys` need scientific notation: huge or tiny
/// magnitudes.
fn scientific(keys: &[f64]) -> bool {
    let max = keys.iter().fold(0.0f64, |m, k| m.max(k.abs()));
    max >= 1e6 || (max > 0.0 && max < 1e-4)
}

/// Mantissa decimal places that print every value of `keys` (tick
/// positions) exactly in scientific notation, at most 5.
fn mantissa_decimals(keys: &[f64]) -> usize {
    keys.iter()
        .map(|k| {
            let text = format!("{k:.5e}");
            let mantissa = text.split('e').next().unwrap_or_default();
            mantissa
                .trim_end_matches('0')
                .split('.')
                .nth(1)
                .map_or(0, str::len)
        })
        .max()
        .unwrap_or(0)
}

/// A tick-label formatter for an axis over `range` with at most `ticks`
/// labels, at the precision of the tick step: `0.25, 0.50, 0.75` but
/// `1, 2, 3`, and `5.0e5, 1.0e6, 1.5e6` for huge or tiny magnitudes.
fn tick_formatter(range: &Range<f64>, ticks: usize) -> impl Fn(&f64) -> String {
    let keys = RangedCoordf64::from(range.clone()).key_points(ticks);
    let scientific = scientific(&keys);
    let decimals = if scientific {
        mantissa_decimals(&keys)
    } else {
        decimals(&keys)
    };
    move |v: &f64| {
        if scientific {
            return if *v == 0.0 {
                "0".to_owned()
            } else {
                format!("{v:.decimals$e}")
            };
        }
        let scale = 10f64.powi(decimals as i32);
        let rounded = (v * scale).round() / scale;
        // Adding 0.0 turns -0.0 into 0.0: no "-0" labels.
        format!("{:.*}", decimals, rounded + 0.0)
    }
}

/// The widest tick label of an axis over `range`.
fn widest_tick(range: &Range<f64>, ticks: usize) -> f64 {
    let format = tick_formatter(range, ticks);
    RangedCoordf64::from(range.clone())
        .key_points(ticks)
        .iter()
        .map(|k| text_width(LABEL_SIZE, &format(k)))
        .fold(0.0, f64::max)
}

/// Width of the y label area: the axis description (rotated), the widest
/// tick label and the tick marks.
fn y_label_area(range: &Range<f64>) -> u32 {
    let desc = AXIS_DESC_SIZE * 1.3;
    (desc + widest_tick(range, Y_TICKS) + 20.0).ceil().max(60.0) as u32
}

/// A bar's value as printed above it: four significant digits, trailing
/// zeros dropped; scientific notation for huge or tiny magnitudes; `NaN`,
/// `inf` and `-inf` as such.
fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3.0 - magnitude).clamp(0.0, 7.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Font size of the legend entries of `entries` series: [`LABEL_SIZE`] up
/// to 14 entries, smaller past that so that the legend fits the height.
fn legend_size(entries: usize) -> f64 {
    if entries <= 14 {
        LABEL_SIZE
    } else {
        half_pixels(LABEL_SIZE * 14.0 / entries as f64).max(MIN_LABEL_SIZE)
    }
}

/// Points that show where a line chart has ink: each point, its interval
/// ends, and eight points along each segment of its line.
fn ink(series: &[Vec<Point>]) -> Vec<(f64, f64)> {
    let mut ink = Vec::new();
    for points in series {
        for p in points {
            ink.push((p.x, p.y));
            if let Some((lo, hi)) = p.interval {
                ink.extend([(p.x, lo), (p.x, hi)]);
            }
        }
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            ink.extend((1..=8).map(|k| {
                let t = f64::from(k) / 9.0;
                (a.x + t * (b.x - a.x), a.y + t * (b.y - a.y))
            }));
        }
    }
    ink
}

/// The legend corner of a line chart: the first of upper right, upper
/// left, lower right and lower left whose box (in fractions of the plot
/// area) holds the fewest points of [`ink`].
fn legend_position(
    points: &[(f64, f64)],
    x: &Range<f64>,
    y: &Range<f64>,
    entries: usize,
    widest: f64,
) -> SeriesLabelPosition {
    let plot_width = f64::from(WIDTH) * 0.8;
    let plot_height = f64::from(HEIGHT) * 0.7;
    let w = ((widest + 50.0) / plot_width).min(1.0);
    let h =
        ((entries as f64 * 22.0 * legend_size(entries) / LABEL_SIZE + 20.0) / plot_height).min(1.0);
    let fraction = |v: f64, r: &Range<f64>| {
        if r.end > r.start {
            (v - r.start) / (r.end - r.start)
        } else {
            0.5
        }
    };
    let count = |right: bool, upper: bool| {
        points
            .iter()
            .filter(|(px, py)| {
                let fx = fraction(*px, x);
                let fy = fraction(*py, y);
                let in_x = if right { fx >= 1.0 - w } else { fx <= w };
                let in_y = if upper { fy >= 1.0 - h } else { fy <= h };
                in_x && in_y
            })
            .count()
    };
    [
        (SeriesLabelPosition::UpperRight, count(true, true)),
        (SeriesLabelPosition::UpperLeft, count(false, true)),
        (SeriesLabelPosition::LowerRight, count(true, false)),
        (SeriesLabelPosition::LowerLeft, count(false, false)),
    ]
    .into_iter()
    .min_by_key(|(_, n)| *n)
    .map(|(pos, _)| pos)
    .unwrap_or(SeriesLabelPosition::UpperRight)
}

/// An SVG line chart: one line (with markers and CI error bars) per series,
/// labelled axes, a title and a legend.
///
/// Axis ranges cover every finite point and interval end with a little
/// padding. Points with a non-finite `x` or `y` (or one beyond ±1e300) are
/// skipped (the line joins its neighbours); a chart with nothing finite
/// still has its title, axes and legend. Colours follow a fixed palette in
/// series order (markers change shape past the tenth series); the legend
/// goes to the corner with the least ink.
pub(crate) fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String> {
    let finite: Vec<Vec<Point>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|p| drawable(p.x) && drawable(p.y))
                .map(|p| Point {
                    interval: p.interval.filter(|(lo, hi)| drawable(*lo) && drawable(*hi)),
                    ..*p
                })
                .collect()
        })
        .collect();
    let x_range = axis_range(finite.iter().flatten().map(|p| p.x));
    let y_range = axis_range(finite.iter().flatten().flat_map(|p| {
        let (lo, hi) = p.interval.unwrap_or((p.y, p.y));
        [p.y, lo, hi]
    }));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .context("cannot draw the chart background")?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, font(title_size(title)))
            .margin(15)
            .margin_right(25)
            .x_label_area_size(55)
            .y_label_area_size(y_label_area(&y_range))
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .context("cannot lay out the chart")?;
        let x_format = tick_formatter(&x_range, X_TICKS);
        let y_format = tick_formatter(&y_range, Y_TICKS);
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_labels(X_TICKS)
            .y_labels(Y_TICKS)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
            .draw()
            .context("cannot draw the axes")?;

        for (index, (s, points)) in series.iter().zip(&finite).enumerate() {
            let (color, marker) = series_style(index);
            chart
                .draw_series(points.iter().filter_map(|p| {
                    p.interval.map(|(lo, hi)| {
                        ErrorBar::new_vertical(p.x, lo, p.y, hi, color.stroke_width(1), 8)
                    })
                }))
                .context("cannot draw the confidence intervals")?;
            let annotation = chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.x, p.y)),
                    color.stroke_width(2),
                ))
                .context("cannot draw a line")?;
            annotation.label(s.label.as_str());
            // The legend shows the line with the series' marker on it.
            let line = move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (20, 0)], color.stroke_width(2))
            };
            let style = color.filled();
            match marker {
                Marker::Circle => {
                    annotation.legend(move |p| line(p) + Circle::new((10, 0), 4, style))
                }
                Marker::Square => {
                    annotation.legend(move |p| line(p) + Rectangle::new([(6, -4), (14, 4)], style))
                }
                Marker::Triangle => {
                    annotation.legend(move |p| line(p) + TriangleMarker::new((10, 0), 5, style))
                }
            };
            let drawn = match marker {
                Marker::Circle => chart
                    .draw_series(points.iter().map(|p| Circle::new((p.x, p.y), 4, style)))
                    .map(drop),
                Marker::Square => chart
                    .draw_series(points.iter().map(|p| {
                        EmptyElement::at((p.x, p.y)) + Rectangle::new([(-4, -4), (4, 4)], style)
                    }))
                    .map(drop),
                Marker::Triangle => chart
                    .draw_series(
                        points
                            .iter()
                            .map(|p| TriangleMarker::new((p.x, p.y), 5, style)),
                    )
                    .map(drop),
            };
            drawn.context("cannot draw the markers")?;
        }

        if !series.is_empty() {
            let size = legend_size(series.len());
            let widest = series
                .iter()
                .map(|s| text_width(size, &s.label))
                .fold(0.0, f64::max);
            chart
                .configure_series_labels()
                .position(legend_position(
                    &ink(&finite),
                    &x_range,
                    &y_range,
                    series.len(),
                    widest,
                ))
                .label_font(font(size))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(0xa0, 0xa0, 0xa0))
                .margin(10)
                .draw()
                .context("cannot draw the legend")?;
        }
        root.present().context("cannot render the chart")?;
    }
    Ok(svg)
}

/// Plot-area height left after the margins, the title and an x label area
/// of `x_area` pixels (an estimate, with slack, of `plotters`' layout).
fn plot_height(x_area: u32) -> f64 {
    f64::from(HEIGHT) - 30.0 - 40.0 - f64::from(x_area)
}

/// Where the texts of a bar chart go and how big they are.
struct BarLayout {
    /// The y axis range: 0, every drawable value, room for the values.
    y_range: Range<f64>,
    /// Width of the y label area.
    y_area: u32,
    /// Height of the x label area.
    x_area: u32,
    /// The x labels, shortened when rotated and too long.
    labels: Vec<String>,
    /// Font size of the x labels.
    label_size: f64,
    /// Whether the x labels are rotated to read upwards.
    labels_rotated: bool,
    /// The printed values.
    values: Vec<String>,
    /// Font size of the printed values.
    value_size: f64,
    /// Whether the printed values are rotated to read upwards.
    values_rotated: bool,
}

/// Longest rotated x label, in pixels; longer labels are shortened.
const MAX_ROTATED_LABEL: f64 = 140.0;

/// Horizontal texts shrink down to this font size before they are rotated.
const MIN_HORIZONTAL_SIZE: f64 = 9.0;

/// Font size and rotation of texts of width `widest` (at [`LABEL_SIZE`])
/// in slots `slot` pixels wide: horizontal if they fit at
/// [`MIN_HORIZONTAL_SIZE`] or more, else rotated at the size whose line
/// height fits the slot.
fn fit(widest: f64, slot: f64) -> (f64, bool) {
    let horizontal = if widest > 0.0 {
        half_pixels(LABEL_SIZE * 0.9 * slot / widest).min(LABEL_SIZE)
    } else {
        LABEL_SIZE
    };
    if horizontal >= MIN_HORIZONTAL_SIZE {
        (horizontal, false)
    } else {
        (
            half_pixels(slot / 1.3).clamp(MIN_LABEL_SIZE, LABEL_SIZE),
            true,
        )
    }
}

/// `text` cut in the middle to at most `max` pixels at font size `size`,
/// with an ellipsis where cut: both ends stay, since labels often differ
/// only at the end (`"mechanism 1"`, `"mechanism 2"`).
fn shorten(text: &str, size: f64, max: f64) -> String {
    if text_width(size, text) <= max {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    // Every character has the same estimated width: keep as many as fit
    // with the ellipsis, the extra one at the start.
    let per_char = text_width(size, "x");
    let keep = (((max / per_char).floor() as usize).saturating_sub(1)).min(chars.len());
    let tail = keep / 2;
    let head = keep - tail;
    let mut short: String = chars[..head].iter().collect();
    short.push('…');
    short.extend(&chars[chars.len() - tail..]);
    short
}

impl BarLayout {
    fn new(bars: &[Bar]) -> Self {
        let drawable_values = bars.iter().map(|b| b.value).filter(|v| drawable(*v));
        let (lo, hi) = drawable_values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let count = bars.len().max(1);
        let values: Vec<String> = bars.iter().map(|b| format_value(b.value)).collect();

        // The y label area first, from a provisional range: the slots
        // depend on it, the final range (and so its ticks) barely does.
        let provisional = if lo == hi {
            0.0..1.0
        } else {
            padded(lo, hi, 0.1, 0.1)
        };
        let y_area = y_label_area(&provisional);
        let slot = (f64::from(WIDTH) - 40.0 - f64::from(y_area)) / count as f64;

        let widest = |texts: &mut dyn Iterator<Item = &str>| {
            texts.map(|t| text_width(LABEL_SIZE, t)).fold(0.0, f64::max)
        };
        let (label_size, labels_rotated) =
            fit(widest(&mut bars.iter().map(|b| b.label.as_str())), slot);
        let labels: Vec<String> = bars
            .iter()
            .map(|b| {
                if labels_rotated {
                    shorten(&b.label, label_size, MAX_ROTATED_LABEL)
                } else {
                    b.label.clone()
                }
            })
            .collect();
        let x_area = if labels_rotated {
            let longest = labels
                .iter()
                .map(|l| text_width(label_size, l))
                .fold(0.0, f64::max);
            (longest + 20.0).ceil() as u32
        } else {
            (label_size * 1.3 + 20.0).ceil() as u32
        };

        let (value_size, values_rotated) =
            fit(widest(&mut values.iter().map(String::as_str)), slot);
        // Room, in pixels, that a value needs beyond the end of its bar.
        let extent = |text: &str| {
            if values_rotated {
                text_width(value_size, text) + 8.0
            } else {
                value_size * 1.3 + 8.0
            }
        };
        let (mut above, mut below) = (0.0f64, 0.0f64);
        for (bar, text) in bars.iter().zip(&values) {
            if bar.value < 0.0 && drawable(bar.value) {
                below = below.max(extent(text));
            } else {
                above = above.max(extent(text));
            }
        }
        let height = plot_height(x_area);
        let a = (above / height).min(0.35);
        let b = (below / height).min(0.35);
        // Padding fractions of the span such that the padding takes `a`
        // (and `b`) of the whole axis.
        let y_range = if lo == hi {
            0.0..1.0
        } else {
            padded(lo, hi, b / (1.0 - a - b), a / (1.0 - a - b))
        };
        let y_area = y_area.max(y_label_area(&y_range));
        BarLayout {
            y_range,
            y_area,
            x_area,
            labels,
            label_size,
            labels_rotated,
            values,
            value_size,
            values_rotated,
        }
    }
}

/// An SVG bar chart with a labelled y axis, a title and the value printed
/// above each bar.
///
/// Bars start at 0, so negative values point down (their values printed
/// below them) and the y axis always shows 0. When many bars share the x
/// axis, labels and values shrink, then turn to read upwards (long labels
/// are then shortened with an ellipsis). A non-finite value (or one beyond
/// ±1e300) draws no bar but keeps its label and prints its value (`NaN`,
/// `inf`) at 0; an empty list gives empty axes.
pub(crate) fn bar_chart(title: &str, y_label: &str, bars: &[Bar]) -> Result<String> {
    let layout = BarLayout::new(bars);
    let count = bars.len().max(1);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .context("cannot draw the chart background")?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, font(title_size(title)))
            .margin(15)
            .margin_right(25)
            .x_label_area_size(layout.x_area)
            .y_label_area_size(layout.y_area)
            // An integer range includes its end: `0..count - 1` is `count`
            // segments.
            .build_cartesian_2d((0..count - 1).into_segmented(), layout.y_range.clone())
            .context("cannot lay out the chart")?;
        let y_format = tick_formatter(&layout.y_range, Y_TICKS);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(y_label)
            .x_labels(count)
            .y_labels(Y_TICKS)
            .y_label_formatter(&y_format)
            .label_style(font(LABEL_SIZE))
            // Tick marks only: the x labels are drawn below, to rotate them
            // when needed; the SVG backend writes no transparent text.
            .x_label_formatter(&|_| String::new())
            .x_label_style(font(LABEL_SIZE).color(&TRANSPARENT))
            .axis_desc_style(font(AXIS_DESC_SIZE))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
            .draw()
            .context("cannot draw the axes")?;

        let slot = chart.plotting_area().dim_in_pixel().0 as f64 / count as f64;
        let gap = (slot * 0.15).round().clamp(1.0, 40.0) as u32;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| drawable(b.value))
                    .map(|(i, b)| {
                        let color = PALETTE[i % PALETTE.len()];
                        let mut bar = Rectangle::new(
                            [
                                (SegmentValue::Exact(i), 0.0),
                                (SegmentValue::Exact(i + 1), b.value),
                            ],
                            color.filled(),
                        );
                        bar.set_margin(0, 0, gap, gap);
                        bar
                    }),
            )
            .context("cannot draw the bars")?;

        let value_style = |below: bool| {
            let style = font(layout.value_size);
            match (layout.values_rotated, below) {
                (false, false) => style.pos(Pos::new(HPos::Center, VPos::Bottom)),
                (false, true) => style.pos(Pos::new(HPos::Center, VPos::Top)),
                (true, false) => style
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
                (true, true) => style
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            }
        };
        chart
            .draw_series(
                bars.iter()
                    .zip(&layout.values)
                    .enumerate()
                    .map(|(i, (b, text))| {
                        let below = b.value < 0.0 && drawable(b.value);
                        let y = if drawable(b.value) { b.value } else { 0.0 };
                        let offset = if below { 4 } else { -4 };
                        EmptyElement::at((SegmentValue::CenterOf(i), y))
                            + Text::new(text.clone(), (0, offset), value_style(below))
                    }),
            )
            .context("cannot draw the bar values")?;

        // The zero line, so that negative bars hang from a visible base.
        if layout.y_range.start < 0.0 {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
                    BLACK.stroke_width(1),
                )))
                .context("cannot draw the zero line")?;
        }

        let label_style = if layout.labels_rotated {
            font(layout.label_size)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center))
        } else {
            font(layout.label_size).pos(Pos::new(HPos::Center, VPos::Top))
        };
        for (i, label) in layout.labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i), layout.y_range.start));
            root.draw(&Text::new(label.as_str(), (x, y + 8), &label_style))
                .context("cannot draw a bar label")?;
        }
        root.present().context("cannot render the chart")?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, y: f64) -> Point {
        Point {
            x,
            y,
            interval: None,
        }
    }

    fn sample_series() -> Vec<Series> {
        let make = |label: &str, offset: f64| Series {
            label: label.to_owned(),
            points: (0..6)
                .map(|i| {
                    let x = 0.1 * f64::from(i);
                    let y = offset + 0.3 * x * x + 0.05 * f64::from(i % 2);
                    Point {
                        x,
                        y,
                        interval: Some((y - 0.03, y + 0.04)),
                    }
                })
                .collect(),
        };
        vec![
            make("qmia", 0.5),
            make("posted price", 0.3),
            make("vcg", 0.1),
        ]
    }

    fn sample_bars() -> Vec<Bar> {
        [
            ("qmia", 0.82),
            ("posted price", 0.61),
            ("vcg", -0.12),
            ("random", 0.05),
        ]
        .into_iter()
        .map(|(label, value)| Bar {
            label: label.to_owned(),
            value,
        })
        .collect()
    }

    /// The text contents of the `<text>` elements of `svg`.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|chunk| {
                let start = chunk.find('>').expect("a <text> tag closes") + 1;
                let end = chunk.find("</text>").expect("a <text> element ends");
                chunk[start..end].trim().to_owned()
            })
            .collect()
    }

    fn assert_svg(svg: &str) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r#"width="800" height="500""#));
    }

    fn assert_has_text(svg: &str, text: &str) {
        assert!(
            texts(svg).iter().any(|t| t == text),
            "no <text> {text:?} in {:?}",
            texts(svg)
        );
    }

    #[test]
    fn line_chart_has_title_axes_and_legend_as_text() {
        let svg = line_chart("Revenue vs budget", "budget B", "revenue", &sample_series())
            .expect("the chart renders");
        assert_svg(&svg);
        for text in [
            "Revenue vs budget",
            "budget B",
            "revenue",
            "qmia",
            "posted price",
            "vcg",
        ] {
            assert_has_text(&svg, text);
        }
        // The sans-serif font is named, not embedded: the viewer renders it.
        assert!(svg.contains(r#"font-family="sans-serif""#));
        // Ticks at the precision of the step.
        assert_has_text(&svg, "0.1");
        assert!(!texts(&svg).iter().any(|t| t.starts_with("-0")
            && t.trim_start_matches("-0")
                .trim_start_matches('.')
                .chars()
                .all(|c| c == '0')));
        // Lines, markers and error bars are drawn.
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("<circle"));
        for color in ["#1F77B4", "#FF7F0E", "#2CA02C"] {
            assert!(svg.contains(color), "no colour {color}");
        }
    }

    #[test]
    fn bar_chart_has_title_axis_labels_and_values_as_text() {
        let svg =
            bar_chart("Welfare", "welfare per round", &sample_bars()).expect("the chart renders");
        assert_svg(&svg);
        for text in [
            "Welfare",
            "welfare per round",
            "qmia",
            "posted price",
            "vcg",
            "random",
        ] {
            assert_has_text(&svg, text);
        }
        for value in ["0.82", "0.61", "-0.12", "0.05"] {
            assert_has_text(&svg, value);
        }
        assert_has_text(&svg, "0.0");
        assert!(svg.contains("<rect"));
    }

    #[test]
    fn output_is_deterministic() {
        let a = line_chart("t", "x", "y", &sample_series()).expect("the chart renders");
        let b = line_chart("t", "x", "y", &sample_series()).expect("the chart renders");
        assert_eq!(a, b);
        let a = bar_chart("t", "y", &sample_bars()).expect("the chart renders");
        let b = bar_chart("t", "y", &sample_bars()).expect("the chart renders");
        assert_eq!(a, b);
    }

    #[test]
    fn special_characters_are_escaped() {
        let series = vec![Series {
            label: "a<b & c".to_owned(),
            points: vec![point(1.0, 2.0)],
        }];
        let svg = line_chart("x < y & \"z\"", "x", "y", &series).expect("the chart renders");
        assert!(svg.contains("a&lt;b &amp; c"));
        assert!(!svg.contains("a<b"));
    }

    #[test]
    fn line_chart_edge_cases_render() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        let cases: Vec<(&str, Vec<Series>)> = vec![
            ("no series", vec![]),
            (
                "empty series",
                vec![Series {
                    label: "empty".to_owned(),
                    points: vec![],
                }],
            ),
            (
                "single x",
                vec![Series {
                    label: "one".to_owned(),
                    points: vec![Point {
                        x: 3.0,
                        y: 0.5,
                        interval: Some((0.4, 0.6)),
                    }],
                }],
            ),
            (
                "equal y",
                vec![Series {
                    label: "flat".to_owned(),
                    points: (0..5).map(|i| point(f64::from(i), 2.0)).collect(),
                }],
            ),
            (
                "all zero",
                vec![Series {
                    label: "zero".to_owned(),
                    points: vec![point(0.0, 0.0), point(0.0, 0.0)],
                }],
            ),
            (
                "nothing finite",
                vec![Series {
                    label: "nan".to_owned(),
                    points: vec![point(nan, 1.0), point(1.0, inf), point(-inf, nan)],
                }],
            ),
            (
                "some non-finite",
                vec![Series {
                    label: "mixed".to_owned(),
                    points: vec![
                        point(0.0, 1.0),
                        point(1.0, nan),
                        Point {
                            x: 2.0,
                            y: 3.0,
                            interval: Some((nan, 4.0)),
                        },
                        Point {
                            x: 3.0,
                            y: 2.0,
                            interval: Some((1.0, inf)),
                        },
                        point(inf, 2.0),
                    ],
                }],
            ),
            (
                "negative",
                vec![Series {
                    label: "neg".to_owned(),
                    points: vec![point(-5.0, -1e-3), point(-1.0, -2e-3)],
                }],
            ),
            (
                "huge",
                vec![Series {
                    label: "huge".to_owned(),
                    points: vec![point(-f64::MAX, f64::MAX), point(f64::MAX, -f64::MAX)],
                }],
            ),
            (
                "narrow span",
                vec![Series {
                    label: "narrow".to_owned(),
                    points: vec![point(1e9, 1e9), point(1e9 + 1e-7, 1e9 + 1e-6)],
                }],
            ),
            (
                "subnormal",
                vec![Series {
                    label: "tiny".to_owned(),
                    points: vec![point(5e-324, 1e-310), point(1e-323, 2e-310)],
                }],
            ),
            (
                "wide",
                vec![Series {
                    label: "wide".to_owned(),
                    points: vec![point(-1e300, 1e300), point(1e300, -1e300)],
                }],
            ),
            (
                "large and tiny",
                vec![Series {
                    label: "scale".to_owned(),
                    points: vec![point(1e-9, 1e7), point(2e-9, 3e7)],
                }],
            ),
            (
                "many series",
                (0..25)
                    .map(|i| Series {
                        label: format!("s{i}"),
                        points: vec![point(0.0, f64::from(i)), point(1.0, f64::from(i) + 1.0)],
                    })
                    .collect(),
            ),
        ];
        for (title, series) in cases {
            let svg = line_chart(title, "x label", "y label", &series)
                .unwrap_or_else(|e| panic!("{title}: {e:#}"));
            assert_svg(&svg);
            assert_has_text(&svg, title);
            assert_has_text(&svg, "x label");
            assert_has_text(&svg, "y label");
            for s in &series {
                assert_has_text(&svg, &s.label);
            }
            assert!(
                !svg.contains("NaN") && !svg.contains("inf"),
                "{title}: {svg}"
            );
        }
    }

    #[test]
    fn bar_chart_edge_cases_render() {
        let bar = |label: &str, value: f64| Bar {
            label: label.to_owned(),
            value,
        };
        let cases: Vec<(&str, Vec<Bar>)> = vec![
            ("no bars", vec![]),
            ("one bar", vec![bar("only", 3.0)]),
            ("all zero", vec![bar("a", 0.0), bar("b", 0.0)]),
            ("all equal", vec![bar("a", 2.0), bar("b", 2.0)]),
            ("all negative", vec![bar("a", -2.0), bar("b", -0.5)]),
            (
                "non-finite",
                vec![
                    bar("nan", f64::NAN),
                    bar("inf", f64::INFINITY),
                    bar("ok", 1.0),
                ],
            ),
            (
                "nothing finite",
                vec![bar("nan", f64::NAN), bar("-inf", f64::NEG_INFINITY)],
            ),
            ("huge", vec![bar("max", f64::MAX), bar("min", -f64::MAX)]),
            ("wide", vec![bar("max", 1e300), bar("min", -1e300)]),
            ("tiny", vec![bar("a", 1e-310), bar("b", 5e-324)]),
            (
                "many bars",
                (0..40)
                    .map(|i| bar(&format!("mechanism {i}"), f64::from(i)))
                    .collect(),
            ),
        ];
        for (title, bars) in cases {
            let svg =
                bar_chart(title, "y label", &bars).unwrap_or_else(|e| panic!("{title}: {e:#}"));
            assert_svg(&svg);
            assert_has_text(&svg, title);
            assert_has_text(&svg, "y label");
            for b in &bars {
                assert_has_text(&svg, &b.label);
                assert_has_text(&svg, &format_value(b.value));
            }
        }
    }

    #[test]
    fn negative_bars_hang_from_zero() {
        let svg = bar_chart(
            "t",
            "y",
            &[Bar {
                label: "a".to_owned(),
                value: -1.0,
            }],
        )
        .expect("the chart renders");
        assert_has_text(&svg, "-1");
        assert_has_text(&svg, "0.0");
    }

    #[test]
    fn crowded_bars_turn_their_texts() {
        let bars: Vec<Bar> = (0..30)
            .map(|i| Bar {
                label: format!("a rather long mechanism name number {i}"),
                value: 1.0 / f64::from(i + 7),
            })
            .collect();
        let svg = bar_chart("Crowded", "value", &bars).expect("the chart renders");
        assert!(svg.contains("rotate(270"));
        let shortened: Vec<String> = texts(&svg)
            .into_iter()
            .filter(|t| t.starts_with("a rather") && t.contains('…'))
            .collect();
        assert_eq!(shortened.len(), 30);
        assert!(
            shortened.iter().any(|t| t.ends_with("umber 29")),
            "{shortened:?}"
        );
        assert_has_text(&svg, &format_value(1.0 / 7.0));
    }

    #[test]
    fn shorten_cuts_with_an_ellipsis() {
        assert_eq!(shorten("short", LABEL_SIZE, 100.0), "short");
        let cut = shorten("a very long label indeed number 12", LABEL_SIZE, 100.0);
        assert!(cut.starts_with("a very") && cut.ends_with(" 12"), "{cut}");
        assert!(cut.contains('…'));
        assert!(text_width(LABEL_SIZE, &cut) <= 100.0);
        assert_eq!(shorten("abc", LABEL_SIZE, 1.0), "…");
    }

    #[test]
    fn series_past_the_palette_change_marker() {
        let series: Vec<Series> = (0..12)
            .map(|i| Series {
                label: format!("s{i}"),
                points: vec![point(0.0, f64::from(i))],
            })
            .collect();
        let svg = line_chart("t", "x", "y", &series).expect("the chart renders");
        // Series 11 and 12 draw squares, in the plot and in the legend.
        let squares = svg.matches("<rect").count();
        let ten = line_chart("t", "x", "y", &series[..10]).expect("the chart renders");
        assert_eq!(squares - ten.matches("<rect").count(), 4);
    }

    #[test]
    fn legend_avoids_the_data() {
        let rising = [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)];
        let x = 0.0..1.0;
        let y = 0.0..1.0;
        // A rising line crosses the upper-right and lower-left corners.
        assert_eq!(
            legend_position(&rising, &x, &y, 2, 60.0),
            SeriesLabelPosition::UpperLeft
        );
        assert_eq!(
            legend_position(&[], &x, &y, 2, 60.0),
            SeriesLabelPosition::UpperRight
        );
    }

    #[test]
    fn values_and_ticks_are_formatted_readably() {
        assert_eq!(format_value(0.8234567), "0.8235");
        assert_eq!(format_value(12.0), "12");
        assert_eq!(format_value(1234.6), "1235");
        assert_eq!(format_value(-0.12), "-0.12");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(2.5e7), "2.500e7");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-inf");
        let format = tick_formatter(&(0.0..1.0), 10);
        assert_eq!(format(&0.1), "0.1");
        assert_eq!(format(&-0.0), "0.0");
        let format = tick_formatter(&(0.0..100.0), 10);
        assert_eq!(format(&20.0), "20");
        let format = tick_formatter(&(0.0..3e7), 8);
        assert_eq!(format(&2e7), "2.0e7");
        let format = tick_formatter(&(0.0..4e6), 10);
        assert_eq!(format(&5e5), "5.0e5");
        assert_eq!(format(&1e6), "1.0e6");
        assert_eq!(format(&0.0), "0");
    }

    /// Renders a set of sample charts (lines, bars, crowded, long labels,
    /// nothing finite) and checks each is a complete SVG document. With
    /// `PROCURA_CHART_SAMPLES=DIR` set, also writes them to DIR to look at:
    /// `PROCURA_CHART_SAMPLES=/tmp cargo test -p procura-cli write_samples`.
    #[test]
    fn write_samples() {
        let many: Vec<Bar> = (0..14)
            .map(|i| Bar {
                label: format!("mechanism {i}"),
                value: f64::from(i * i) / 7.0,
            })
            .collect();
        let crowded_series: Vec<Series> = (0..14)
            .map(|i| Series {
                label: format!("mechanism {i}"),
                points: (0..5)
                    .map(|j| point(1e6 * f64::from(j), f64::from(i * j) * 1e-5))
                    .collect(),
            })
            .collect();
        let crowded_bars: Vec<Bar> = (0..30)
            .map(|i| Bar {
                label: format!("a rather long mechanism name number {i}"),
                value: 1.0 / f64::from(i + 7) - 0.05,
            })
            .collect();
        let empty = vec![Series {
            label: "nan".to_owned(),
            points: vec![point(f64::NAN, 1.0)],
        }];
        let samples = [
            (
                "procura-line.svg",
                line_chart(
                    "Revenue against the budget (95% CI)",
                    "budget B",
                    "revenue per round",
                    &sample_series(),
                ),
            ),
            (
                "procura-bars.svg",
                bar_chart("Mean welfare by mechanism", "welfare", &sample_bars()),
            ),
            (
                "procura-many-bars.svg",
                bar_chart("Many bars", "value", &many),
            ),
            (
                "procura-crowded.svg",
                line_chart(
                    "Fourteen series",
                    "population size",
                    "loss",
                    &crowded_series,
                ),
            ),
            (
                "procura-crowded-bars.svg",
                bar_chart("Thirty bars, long labels", "value", &crowded_bars),
            ),
            (
                "procura-empty.svg",
                line_chart("Nothing finite", "x", "y", &empty),
            ),
        ];
        let dir = std::env::var_os("PROCURA_CHART_SAMPLES").map(std::path::PathBuf::from);
        for (name, chart) in samples {
            let svg = chart.expect("the chart renders");
            assert!(svg.starts_with("<svg"), "{name} starts as an SVG document");
            assert!(svg.trim_end().ends_with("</svg>"), "{name} is complete");
            if let Some(dir) = &dir {
                std::fs::write(dir.join(name), svg).expect("the sample chart is written");
            }
        }
    }
}

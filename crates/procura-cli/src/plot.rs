//! SVG charts for experiment and demo reports: a line chart (one line per
//! mechanism against a swept parameter, with 95% confidence intervals), a
//! bar chart, panels of estimates and paired counts ([`panels`]), and the
//! paired-difference figure of a claim ([`paired`]).
//!
//! All render with `plotters` into an in-memory [`SVGBackend`] and return
//! the SVG document as a `String`; writing it (atomically) is the caller's
//! job. The output is a pure function of the input, so the same data always
//! gives the same bytes.
//!
//! # Many series
//!
//! A line chart holds at most [`MAX_SERIES`] series a plot. More are split
//! into small multiples: one panel per value of the other swept keys (the
//! experiment's labels `mechanism (key=value, …)`), else panels of six in
//! order, all sharing their axes. Within a panel every series has its own
//! colour, marker shape and dash pattern (`stroke-dasharray`, written into
//! the SVG after rendering: the backend has none), and is shifted a few
//! pixels sideways, so that identical lines stay visible. Configuration
//! keys read as words everywhere ([`readable`]): `strategic.max_rounds` is
//! shown as `strategic: max rounds`.
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

pub(crate) mod paired;
mod panels;

use std::ops::Range;

use anyhow::{Context, Result};
use plotters::coord::ranged1d::{IntoSegmentedCoord, Ranged, SegmentValue};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub(crate) use panels::{summary_chart, Estimate, EstimatePanel, Tally, TallyPanel};

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

/// Most series drawn in one panel: a line chart with more is split into
/// panels (small multiples) of at most this many, so that within a panel
/// no colour, marker or dash pattern repeats and the legend stays small.
pub(crate) const MAX_SERIES: usize = 6;

/// Marker shapes of the series of a panel, in order: all filled, all
/// different, so that lines that coincide still show each marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Plus,
}

/// Dash patterns (SVG `stroke-dasharray`) of the series of a panel, in
/// order: the first solid, the others with different dash and gap lengths,
/// so that a dashed line drawn over an identical one leaves it visible in
/// its gaps.
const DASHES: [Option<&str>; MAX_SERIES] = [
    None,
    Some("9 4"),
    Some("2 3"),
    Some("12 3 3 3"),
    Some("6 2 2 2 2 2"),
    Some("4 7"),
];

/// The markers, in series order.
const MARKERS: [Marker; MAX_SERIES] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Plus,
];

/// How the series at `index` of its panel is drawn: a colour, a marker and
/// a dash pattern, each different from those of the panel's other series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeriesStyle {
    color: RGBColor,
    marker: Marker,
    dash: Option<&'static str>,
}

/// The style of the series at `index` (< [`MAX_SERIES`]) of a panel.
fn series_style(index: usize) -> SeriesStyle {
    let index = index % MAX_SERIES;
    SeriesStyle {
        color: PALETTE[index],
        marker: MARKERS[index],
        dash: DASHES[index],
    }
}

/// The vertices of `marker` around (0, 0), in pixels (about 10 across).
fn marker_shape(marker: Marker) -> Vec<(i32, i32)> {
    match marker {
        // A 12-gon: a circle at marker size.
        Marker::Circle => vec![
            (5, 0),
            (4, 3),
            (3, 4),
            (0, 5),
            (-3, 4),
            (-4, 3),
            (-5, 0),
            (-4, -3),
            (-3, -4),
            (0, -5),
            (3, -4),
            (4, -3),
        ],
        Marker::Square => vec![(-4, -4), (4, -4), (4, 4), (-4, 4)],
        Marker::TriangleUp => vec![(0, -6), (5, 4), (-5, 4)],
        Marker::Diamond => vec![(0, -6), (5, 0), (0, 6), (-5, 0)],
        Marker::TriangleDown => vec![(0, 6), (5, -4), (-5, -4)],
        Marker::Plus => vec![
            (-2, -6),
            (2, -6),
            (2, -2),
            (6, -2),
            (6, 2),
            (2, 2),
            (2, 6),
            (-2, 6),
            (-2, 2),
            (-6, 2),
            (-6, -2),
            (-2, -2),
        ],
    }
}

/// `marker` centred at `at` (pixels), filled with `color`.
fn marker_at(marker: Marker, at: (i32, i32), color: RGBColor) -> Polygon<(i32, i32)> {
    let points = marker_shape(marker)
        .into_iter()
        .map(|(x, y)| (at.0 + x, at.1 + y))
        .collect::<Vec<_>>();
    Polygon::new(points, color.filled())
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
/// a chart `chart_width` pixels wide.
fn title_size(title: &str, chart_width: u32) -> f64 {
    let width = text_width(TITLE_SIZE, title);
    let room = f64::from(chart_width) - 60.0;
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
/// area, `plot` pixels wide and high) holds the fewest points of [`ink`].
fn legend_position(
    points: &[(f64, f64)],
    x: &Range<f64>,
    y: &Range<f64>,
    entries: usize,
    widest: f64,
    plot: (f64, f64),
) -> SeriesLabelPosition {
    let (plot_width, plot_height) = (plot.0.max(1.0), plot.1.max(1.0));
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

/// Whether `run` is a dotted configuration key such as
/// `strategic.max_rounds`: two or more parts, each a lower-case word
/// (letters, digits and `_`) that starts with a letter.
fn is_key(run: &str) -> bool {
    let parts: Vec<&str> = run.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|part| {
            part.starts_with(|c: char| c.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// A dotted key in words: `strategic.max_rounds` → `strategic: max
/// rounds`, `threshold.cost.high` → `threshold cost: high`.
fn readable_key(key: &str) -> String {
    let words = |part: &str| part.replace('_', " ");
    match key.rsplit_once('.') {
        Some((section, name)) => format!(
            "{}: {}",
            section.split('.').map(words).collect::<Vec<_>>().join(" "),
            words(name)
        ),
        None => words(key),
    }
}

/// `text` as a chart shows it: every dotted configuration key in words
/// ([`readable_key`]), `key=value` as `key = value`, and the underscores
/// of other identifiers (`expected_data`) as spaces. Numbers (`0.25`,
/// `1e9`) and everything else are kept.
///
/// ```text
/// "qmia (strategic.max_rounds=3)" → "qmia (strategic: max rounds = 3)"
/// "mean expected_data (95% CI)"   → "mean expected data (95% CI)"
/// ```
pub(crate) fn readable(text: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(word) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
        // A run's trailing dots end a sentence; they are not the key's.
        let run = tail[..end].trim_end_matches('.');
        let dots = &tail[run.len()..end];
        rest = &tail[end..];
        if is_key(run) {
            out.push_str(&readable_key(run));
            if dots.is_empty() {
                if let Some(after) = rest.strip_prefix('=') {
                    out.push_str(" = ");
                    rest = after;
                }
            }
        } else if run.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str(&run.replace('_', " "));
        } else {
            out.push_str(run);
        }
        out.push_str(dots);
    }
    out.push_str(rest);
    out
}

/// One panel of a line chart: its series against the chart's x axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    /// The panel's caption; empty for a chart of one panel.
    pub title: String,
    /// The y axis description.
    pub y_label: String,
    /// At most [`MAX_SERIES`] series.
    pub series: Vec<Series>,
}

/// Whether the panels of a line chart share their y axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum YScale {
    /// One y range for every panel: the panels show one metric.
    Shared,
    /// Each panel its own range: the panels show different metrics.
    PerPanel,
}

/// A line chart of one or more panels (small multiples).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facets<'a> {
    /// The chart's title.
    pub title: &'a str,
    /// The x axis description, shared by every panel.
    pub x_label: &'a str,
    /// The panels, drawn row by row, two to a row.
    pub panels: &'a [Panel],
    /// Whether the panels share their y range (the x range is always
    /// shared).
    pub y_scale: YScale,
    /// A horizontal line drawn across every panel, such as 0 under
    /// differences.
    pub reference: Option<f64>,
}

/// The mechanism and the rest of a series label of the form
/// `mechanism (key=value, …)`, the labels `procura experiment` gives the
/// lines of a sweep over several keys.
fn split_label(label: &str) -> Option<(&str, &str)> {
    let (name, rest) = label.split_once(" (")?;
    let rest = rest.strip_suffix(')')?;
    (!name.is_empty() && rest.contains('=')).then_some((name, rest))
}

/// The panels of `series`: one panel when there are at most
/// [`MAX_SERIES`]; else one panel per value of the other swept keys when
/// every label is `mechanism (key=value, …)` and no such group is larger
/// than [`MAX_SERIES`] (the panel titled by the values, its lines by the
/// mechanism); else panels of [`MAX_SERIES`] series in order.
fn facets(series: &[Series], y_label: &str) -> Vec<Panel> {
    let panel = |title: String, series: Vec<Series>| Panel {
        title,
        y_label: y_label.to_owned(),
        series,
    };
    if series.len() <= MAX_SERIES {
        return vec![panel(String::new(), series.to_vec())];
    }
    let split: Option<Vec<(&str, &str)>> = series.iter().map(|s| split_label(&s.label)).collect();
    if let Some(split) = split {
        let mut groups: Vec<(&str, Vec<Series>)> = Vec::new();
        for (s, (name, rest)) in series.iter().zip(split) {
            let line = Series {
                label: name.to_owned(),
                points: s.points.clone(),
            };
            match groups.iter_mut().find(|(key, _)| *key == rest) {
                Some((_, lines)) => lines.push(line),
                None => groups.push((rest, vec![line])),
            }
        }
        if groups.iter().all(|(_, lines)| lines.len() <= MAX_SERIES) {
            return groups
                .into_iter()
                .map(|(rest, lines)| panel(rest.to_owned(), lines))
                .collect();
        }
    }
    let n = series.len();
    series
        .chunks(MAX_SERIES)
        .enumerate()
        .map(|(index, chunk)| {
            let first = index * MAX_SERIES + 1;
            let last = first + chunk.len() - 1;
            panel(format!("series {first}–{last} of {n}"), chunk.to_vec())
        })
        .collect()
}

/// An SVG line chart: one line (with markers and CI error bars) per series,
/// labelled axes, a title and a legend.
///
/// Up to [`MAX_SERIES`] series share one plot; more are split into panels
/// (small multiples, see [`facets`]) with shared axes. Within a panel each
/// series has its own colour, marker shape and dash pattern, and is shifted
/// a few pixels sideways, so that lines that coincide stay visible. Axis
/// names, titles and legend entries are made [`readable`]. Axis ranges
/// cover every finite point and interval end with a little padding. Points
/// with a non-finite `x` or `y` (or one beyond ±1e300) are skipped (the
/// line joins its neighbours); a chart with nothing finite still has its
/// title, axes and legend. The legend goes to the corner of its panel with
/// the least ink.
pub(crate) fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String> {
    let panels = facets(series, y_label);
    faceted_chart(&Facets {
        title,
        x_label,
        panels: &panels,
        y_scale: YScale::Shared,
        reference: None,
    })
}

/// The drawable points of `series`: non-finite points dropped, intervals
/// with a non-finite end dropped.
fn drawable_points(series: &Series) -> Vec<Point> {
    series
        .points
        .iter()
        .filter(|p| drawable(p.x) && drawable(p.y))
        .map(|p| Point {
            interval: p.interval.filter(|(lo, hi)| drawable(*lo) && drawable(*hi)),
            ..*p
        })
        .collect()
}

/// The y range of `points` (values and interval ends) and of `reference`.
fn y_range_of<'a>(points: impl Iterator<Item = &'a Point>, reference: Option<f64>) -> Range<f64> {
    axis_range(
        points
            .flat_map(|p| {
                let (lo, hi) = p.interval.unwrap_or((p.y, p.y));
                [p.y, lo, hi]
            })
            .chain(reference),
    )
}

/// Width of a chart of several panels.
const GRID_WIDTH: u32 = 900;
/// Height of each row of panels.
const GRID_ROW_HEIGHT: u32 = 310;
/// Height of a grid's title area.
const GRID_TITLE_HEIGHT: u32 = 45;
/// Colour of a panel's reference line (dark grey: not an axis, not a
/// series).
const REFERENCE_COLOR: RGBColor = RGBColor(0x40, 0x40, 0x40);
/// Font size of panel captions.
const PANEL_TITLE_SIZE: f64 = 14.0;

/// Pixels the series at `index` of `count` is shifted sideways, so that
/// coinciding lines, markers and error bars stay apart: 3 pixels between
/// neighbours, centred on the true position.
fn dodge(index: usize, count: usize) -> i32 {
    (3.0 * (index as f64 - (count as f64 - 1.0) / 2.0)).round() as i32
}

/// The SVG colour of `color`, as the SVG backend writes it.
fn svg_color(color: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2)
}

/// Gives the series lines of a rendered line chart their dash patterns.
/// The SVG backend writes no `stroke-dasharray`; within a line chart the
/// only 2-pixel polylines of a series colour are that series' line and its
/// legend sample, so the pattern goes on those.
fn dash_lines(svg: &str) -> String {
    let mut svg = svg.to_owned();
    for index in 0..MAX_SERIES {
        let style = series_style(index);
        let Some(dash) = style.dash else {
            continue;
        };
        let stroke = format!(r#"stroke="{}" stroke-width="2" "#, svg_color(style.color));
        svg = svg.replace(
            &format!("{stroke}points="),
            &format!(r#"{stroke}stroke-dasharray="{dash}" points="#),
        );
    }
    svg
}

/// A line chart of one or more panels; see [`line_chart`]. Fails if a
/// panel has more than [`MAX_SERIES`] series.
pub(crate) fn faceted_chart(facets: &Facets<'_>) -> Result<String> {
    if let Some(panel) = facets.panels.iter().find(|p| p.series.len() > MAX_SERIES) {
        anyhow::bail!(
            "chart panel {:?} has {} series, more than {MAX_SERIES}",
            panel.title,
            panel.series.len()
        );
    }
    let finite: Vec<Vec<Vec<Point>>> = facets
        .panels
        .iter()
        .map(|panel| panel.series.iter().map(drawable_points).collect())
        .collect();
    let all = || finite.iter().flatten().flatten();
    let x_range = axis_range(all().map(|p| p.x));
    let shared = y_range_of(all(), facets.reference);
    let y_ranges: Vec<Range<f64>> = finite
        .iter()
        .map(|panel| match facets.y_scale {
            YScale::Shared => shared.clone(),
            YScale::PerPanel => y_range_of(panel.iter().flatten(), facets.reference),
        })
        .collect();
    let title = readable(facets.title);
    let x_label = readable(facets.x_label);

    let one = facets.panels.len() <= 1;
    let cols = if one { 1 } else { 2 };
    let rows = facets.panels.len().div_ceil(cols).max(1);
    let (width, height) = if one {
        (WIDTH, HEIGHT)
    } else {
        (
            GRID_WIDTH,
            GRID_TITLE_HEIGHT + rows as u32 * GRID_ROW_HEIGHT,
        )
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .context("cannot draw the chart background")?;
        if one {
            let empty = Panel {
                title: String::new(),
                y_label: String::new(),
                series: Vec::new(),
            };
            let panel = facets.panels.first().unwrap_or(&empty);
            let layout = PanelLayout {
                caption: (title.clone(), title_size(&title, width)),
                x_label: &x_label,
                x_range: &x_range,
                y_range: &shared,
                reference: facets.reference,
                margin: 15,
                x_area: 55,
            };
            let finite = finite.first().cloned().unwrap_or_default();
            draw_panel(&root, &root, panel, &finite, &layout)?;
        } else {
            let grid = root
                .titled(&title, font(title_size(&title, width)))
                .context("cannot draw the chart title")?;
            let areas = grid.split_evenly((rows, cols));
            for (((panel, points), area), y_range) in
                facets.panels.iter().zip(&finite).zip(&areas).zip(&y_ranges)
            {
                let caption = readable(&panel.title);
                let size = half_pixels(PANEL_TITLE_SIZE.min(
                    PANEL_TITLE_SIZE * (f64::from(GRID_WIDTH / 2) - 30.0)
                        / text_width(PANEL_TITLE_SIZE, &caption).max(1.0),
                ))
                .max(MIN_LABEL_SIZE);
                let layout = PanelLayout {
                    caption: (caption, size),
                    x_label: &x_label,
                    x_range: &x_range,
                    y_range,
                    reference: facets.reference,
                    margin: 8,
                    x_area: 45,
                };
                draw_panel(&root, area, panel, points, &layout)?;
            }
        }
        root.present().context("cannot render the chart")?;
    }
    Ok(dash_lines(&svg))
}

/// Where and how a panel is drawn.
struct PanelLayout<'a> {
    /// The caption and its font size (no caption when empty).
    caption: (String, f64),
    x_label: &'a str,
    x_range: &'a Range<f64>,
    y_range: &'a Range<f64>,
    reference: Option<f64>,
    /// Margin around the panel, in pixels.
    margin: u32,
    /// Height of the x label area.
    x_area: u32,
}

/// Draws one panel of a line chart into `area`; the series go on `root`
/// (the whole chart, in pixels), shifted sideways by [`dodge`].
fn draw_panel(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    finite: &[Vec<Point>],
    layout: &PanelLayout<'_>,
) -> Result<()> {
    let mut builder = ChartBuilder::on(area);
    let (caption, caption_size) = &layout.caption;
    if !caption.is_empty() {
        builder.caption(caption, font(*caption_size));
    }
    let mut chart = builder
        .margin(layout.margin)
        .margin_right(layout.margin + 10)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(y_label_area(layout.y_range))
        .build_cartesian_2d(layout.x_range.clone(), layout.y_range.clone())
        .context("cannot lay out the chart")?;
    let x_format = tick_formatter(layout.x_range, X_TICKS);
    let y_format = tick_formatter(layout.y_range, Y_TICKS);
    chart
        .configure_mesh()
        .x_desc(layout.x_label)
        .y_desc(readable(&panel.y_label))
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
    if let Some(reference) = layout.reference.filter(|r| drawable(*r)) {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![
                    (layout.x_range.start, reference),
                    (layout.x_range.end, reference),
                ],
                REFERENCE_COLOR.stroke_width(1),
            )))
            .context("cannot draw the reference line")?;
    }

    let count = panel.series.len();
    for (index, (s, points)) in panel.series.iter().zip(finite).enumerate() {
        let style = series_style(index);
        let color = style.color;
        let shift = dodge(index, count);
        let pixel = |x: f64, y: f64| {
            let (px, py) = chart.backend_coord(&(x, y));
            (px + shift, py)
        };
        for p in points {
            let Some((lo, hi)) = p.interval else {
                continue;
            };
            let (x, low) = pixel(p.x, lo);
            let (_, high) = pixel(p.x, hi);
            let bar = color.stroke_width(1);
            for segment in [
                vec![(x, low), (x, high)],
                vec![(x - 4, low), (x + 4, low)],
                vec![(x - 4, high), (x + 4, high)],
            ] {
                root.draw(&PathElement::new(segment, bar))
                    .context("cannot draw the confidence intervals")?;
            }
        }
        if points.len() >= 2 {
            root.draw(&PathElement::new(
                points.iter().map(|p| pixel(p.x, p.y)).collect::<Vec<_>>(),
                color.stroke_width(2),
            ))
            .context("cannot draw a line")?;
        }
        for p in points {
            root.draw(&marker_at(style.marker, pixel(p.x, p.y), color))
                .context("cannot draw the markers")?;
        }
        // The legend shows the line, dashed as it is, with its marker.
        let marker = style.marker;
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .context("cannot draw a legend entry")?
            .label(readable(&s.label))
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (24, 0)], color.stroke_width(2))
                    + Polygon::new(
                        marker_shape(marker)
                            .into_iter()
                            .map(|(dx, dy)| (12 + dx, dy))
                            .collect::<Vec<_>>(),
                        color.filled(),
                    )
            });
    }

    if count > 0 {
        let size = legend_size(count);
        let widest = panel
            .series
            .iter()
            .map(|s| text_width(size, &readable(&s.label)))
            .fold(0.0, f64::max);
        let (plot_width, plot_height) = chart.plotting_area().dim_in_pixel();
        let mut ink = ink(finite);
        if let Some(reference) = layout.reference {
            ink.extend((0..=8).map(|k| {
                let t = f64::from(k) / 8.0;
                (
                    layout.x_range.start + t * (layout.x_range.end - layout.x_range.start),
                    reference,
                )
            }));
        }
        chart
            .configure_series_labels()
            .position(legend_position(
                &ink,
                layout.x_range,
                layout.y_range,
                count,
                widest,
                (f64::from(plot_width), f64::from(plot_height)),
            ))
            .label_font(font(size))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xa0, 0xa0, 0xa0))
            .margin(8)
            .draw()
            .context("cannot draw the legend")?;
    }
    Ok(())
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
/// `inf`) at 0; an empty list gives empty axes. The title and the axis
/// name are made [`readable`].
pub(crate) fn bar_chart(title: &str, y_label: &str, bars: &[Bar]) -> Result<String> {
    let (title, y_label) = (readable(title), readable(y_label));
    let layout = BarLayout::new(bars);
    let count = bars.len().max(1);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .context("cannot draw the chart background")?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, font(title_size(&title, WIDTH)))
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
            .y_desc(&y_label)
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
    pub(super) fn texts(svg: &str) -> Vec<String> {
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
        // One plot, or panels two to a row.
        assert!(
            svg.contains(r#"width="800" height="500""#) || svg.contains(r#"width="900" height=""#)
        );
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
        assert!(svg.contains("<polygon"));
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

    /// The `stroke-dasharray` of every dashed polyline of `svg`.
    fn dash_arrays(svg: &str) -> Vec<String> {
        svg.split("stroke-dasharray=\"")
            .skip(1)
            .map(|chunk| chunk[..chunk.find('"').expect("the attribute closes")].to_owned())
            .collect()
    }

    /// The fill colour and shape (its vertices relative to the first) of
    /// every marker polygon of `svg`.
    fn markers(svg: &str) -> Vec<(String, Vec<(i32, i32)>)> {
        svg.split("<polygon")
            .skip(1)
            .map(|chunk| {
                let attribute = |name: &str| {
                    let start =
                        chunk.find(&format!("{name}=\"")).expect("the attribute") + name.len() + 2;
                    chunk[start..start + chunk[start..].find('"').expect("it closes")].to_owned()
                };
                let points: Vec<(i32, i32)> = attribute("points")
                    .split_whitespace()
                    .map(|pair| {
                        let (x, y) = pair.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect();
                let (x0, y0) = points[0];
                let shape = points.iter().map(|(x, y)| (x - x0, y - y0)).collect();
                (attribute("fill"), shape)
            })
            .collect()
    }

    /// Twelve series as `procura experiment` labels a sweep over three
    /// keys: two mechanisms × six values of the other two keys, each
    /// mechanism's lines identical.
    fn twelve_series() -> Vec<Series> {
        let mut series = Vec::new();
        for reserve in ["0.6", "1.0", "1.6"] {
            for budget in ["5.0", "1e9"] {
                for mechanism in ["withdrawal-simultaneous", "withdrawal-small-first"] {
                    series.push(Series {
                        label: format!(
                            "{mechanism} (threshold.reserve_price={reserve}, threshold.budget={budget})"
                        ),
                        points: (0..4)
                            .map(|i| Point {
                                x: 0.2 + 0.2 * f64::from(i),
                                y: f64::from(i) / 4.0,
                                interval: Some((f64::from(i) / 4.0 - 0.05, f64::from(i) / 4.0 + 0.05)),
                            })
                            .collect(),
                    });
                }
            }
        }
        series
    }

    #[test]
    fn twelve_series_become_six_panels_of_two() {
        let svg = line_chart(
            "p1b-null: null",
            "threshold.threshold_fraction",
            "mean null (95% CI)",
            &twelve_series(),
        )
        .expect("the chart renders");
        assert!(
            svg.contains(r#"width="900" height="975""#),
            "{}",
            &svg[..120]
        );
        let texts = texts(&svg);
        // One caption per panel, in words.
        let captions: Vec<&String> = texts
            .iter()
            .filter(|t| t.starts_with("threshold: reserve price = "))
            .collect();
        assert_eq!(captions.len(), 6, "{texts:?}");
        assert!(texts
            .iter()
            .any(|t| t == "threshold: reserve price = 0.6, threshold: budget = 1e9"));
        // Readable axis names, in every panel; no raw dotted key anywhere.
        assert_eq!(
            texts
                .iter()
                .filter(|t| *t == "threshold: threshold fraction")
                .count(),
            6
        );
        assert_eq!(
            texts.iter().filter(|t| *t == "mean null (95% CI)").count(),
            6
        );
        assert!(!svg.contains("threshold.threshold_fraction") && !svg.contains("reserve_price"));
        // Each panel's legend: its two mechanisms (2 ≤ 6 entries a panel).
        for mechanism in ["withdrawal-simultaneous", "withdrawal-small-first"] {
            assert_eq!(
                texts.iter().filter(|t| *t == mechanism).count(),
                6,
                "{mechanism}"
            );
        }
        assert_eq!(
            svg.matches(r#"opacity="0.85""#).count(),
            6,
            "one legend box a panel"
        );
        // The second line of each panel is dashed, on the plot and in the
        // legend; the first is solid.
        assert_eq!(
            dash_arrays(&svg),
            vec![DASHES[1].expect("dashed").to_owned(); 12]
        );
        // Identical lines stay apart: the second panel's markers are a
        // different shape and shifted sideways from the first's.
        let markers = markers(&svg);
        let blue: Vec<_> = markers
            .iter()
            .filter(|(fill, _)| fill == "#1F77B4")
            .collect();
        let orange: Vec<_> = markers
            .iter()
            .filter(|(fill, _)| fill == "#FF7F0E")
            .collect();
        // 6 panels × (4 points + 1 legend sample).
        assert_eq!((blue.len(), orange.len()), (30, 30));
        assert_ne!(blue[0].1, orange[0].1);
    }

    #[test]
    fn series_without_a_common_form_are_split_in_order() {
        let series: Vec<Series> = (0..14)
            .map(|i| Series {
                label: format!("s{i}"),
                points: vec![point(0.0, f64::from(i)), point(1.0, f64::from(i))],
            })
            .collect();
        let panels = facets(&series, "y");
        let sizes: Vec<usize> = panels.iter().map(|p| p.series.len()).collect();
        assert_eq!(sizes, [6, 6, 2]);
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "series 1–6 of 14",
                "series 7–12 of 14",
                "series 13–14 of 14"
            ]
        );
        let svg = line_chart("t", "x", "y", &series).expect("the chart renders");
        // Within a panel no colour, marker or dash repeats: six different
        // of each, and every panel uses the same six.
        let styles: Vec<SeriesStyle> = (0..MAX_SERIES).map(series_style).collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert!(a.color != b.color && a.marker != b.marker && a.dash != b.dash);
            }
        }
        let mut dashes = dash_arrays(&svg);
        dashes.sort();
        dashes.dedup();
        assert_eq!(dashes.len(), MAX_SERIES - 1, "{dashes:?}");
        let mut shapes: Vec<Vec<(i32, i32)>> = markers(&svg).into_iter().map(|(_, s)| s).collect();
        shapes.sort();
        shapes.dedup();
        assert_eq!(shapes.len(), MAX_SERIES);
    }

    #[test]
    fn six_series_share_one_plot() {
        let series: Vec<Series> = twelve_series().into_iter().take(6).collect();
        assert_eq!(facets(&series, "y").len(), 1);
        let svg = line_chart("t", "x", "y", &series).expect("the chart renders");
        assert!(svg.contains(r#"width="800" height="500""#));
        // The legend keeps the whole label, in words.
        assert_has_text(
            &svg,
            "withdrawal-small-first (threshold: reserve price = 0.6, threshold: budget = 5.0)",
        );
    }

    #[test]
    fn keys_read_as_words() {
        let check = |text: &str, expected: &str| assert_eq!(readable(text), expected, "{text}");
        check("strategic.max_rounds", "strategic: max rounds");
        check("threshold.cost.high", "threshold cost: high");
        check(
            "qmia (strategic.max_rounds=3)",
            "qmia (strategic: max rounds = 3)",
        );
        check("mean expected_data (95% CI)", "mean expected data (95% CI)");
        check("budget 0.25, 1e9 and 1.5e-3", "budget 0.25, 1e9 and 1.5e-3");
        check("see procurement.budget.", "see procurement: budget.");
        check("withdrawal-small-first", "withdrawal-small-first");
        check("A.b", "A.b");
        check("", "");
    }

    #[test]
    fn a_panel_of_more_than_six_series_is_refused() {
        let panel = Panel {
            title: "p".to_owned(),
            y_label: "y".to_owned(),
            series: sample_series().into_iter().cycle().take(7).collect(),
        };
        let error = faceted_chart(&Facets {
            title: "t",
            x_label: "x",
            panels: &[panel],
            y_scale: YScale::Shared,
            reference: None,
        })
        .expect_err("too many series");
        assert!(error.to_string().contains("more than 6"), "{error}");
    }

    #[test]
    fn legend_avoids_the_data() {
        let rising = [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)];
        let x = 0.0..1.0;
        let y = 0.0..1.0;
        // A rising line crosses the upper-right and lower-left corners.
        assert_eq!(
            legend_position(&rising, &x, &y, 2, 60.0, (640.0, 350.0)),
            SeriesLabelPosition::UpperLeft
        );
        assert_eq!(
            legend_position(&[], &x, &y, 2, 60.0, (640.0, 350.0)),
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
                "procura-twelve.svg",
                line_chart(
                    "p1b-null: null",
                    "threshold.threshold_fraction",
                    "mean null (95% CI)",
                    &twelve_series(),
                ),
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

//! The figure of the paired differences a claim is judged on. P1-c
//! (`experiments/p1c-protocols.toml`) compares small-first against
//! simultaneous withdrawal on the same assignments: its judge
//! ([`procura::experiment::claims::p1c`]) asks, in every cell with slack,
//! for a 95% interval of the paired per-replicate difference on the
//! claimed side of 0. The means of each protocol, which the experiment's
//! other figures show, hide that pairing; this figure shows the
//! differences themselves, their intervals and the line at 0.

use procura::experiment::design::Design;
use procura::experiment::statistics::paired_difference;
use procura::experiment::{CellResult, Column};

use super::{faceted_chart, Facets, Panel, Point, Series, YScale};

/// Where [`figure`] goes in an experiment's folder.
pub(crate) const FILE: &str = "figures/paired-differences.svg";

/// The side of 0 a claim needs a difference's interval on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The interval must lie above 0.
    Above,
    /// The interval must lie below 0.
    Below,
    /// Reported, not judged.
    Reported,
}

impl Side {
    fn words(self) -> &'static str {
        match self {
            Side::Above => "claim: above 0",
            Side::Below => "claim: below 0",
            Side::Reported => "reported, not judged",
        }
    }
}

/// One judged difference: `metric` of `first` minus `metric` of `second`,
/// paired by replicate.
#[derive(Debug, Clone, Copy)]
struct Difference {
    metric: &'static str,
    first: &'static str,
    second: &'static str,
    side: Side,
}

const SMALL_FIRST: &str = "withdrawal-small-first";
const SIMULTANEOUS: &str = "withdrawal-simultaneous";

/// P1-c's differences, as its rule states them ([`Claim::rule`] of
/// `Claim::P1c`).
///
/// [`Claim::rule`]: procura::experiment::claims::Claim::rule
const P1C: [Difference; 4] = [
    Difference {
        metric: "success",
        first: SMALL_FIRST,
        second: SIMULTANEOUS,
        side: Side::Above,
    },
    Difference {
        metric: "expected_data",
        first: SMALL_FIRST,
        second: SIMULTANEOUS,
        side: Side::Above,
    },
    Difference {
        metric: "spend",
        first: SIMULTANEOUS,
        second: SMALL_FIRST,
        side: Side::Below,
    },
    Difference {
        metric: "participants",
        first: SMALL_FIRST,
        second: SIMULTANEOUS,
        side: Side::Reported,
    },
];

/// A protocol's name without its family: `small-first`.
fn short(mechanism: &str) -> &str {
    mechanism.strip_prefix("withdrawal-").unwrap_or(mechanism)
}

/// The paired differences of a P1-c experiment (its `claim` is `P1-c`) as
/// an SVG, a panel per difference against the first swept key, a line per
/// value of the other keys; `None` for any other experiment, or one
/// without a swept key.
pub(crate) fn figure(design: &Design, results: &[CellResult]) -> anyhow::Result<Option<String>> {
    if design.claim() != Some("P1-c") || design.keys().is_empty() {
        return Ok(None);
    }
    let keys = design.keys();
    let panels: Vec<Panel> = P1C
        .iter()
        .map(|difference| {
            let mut series: Vec<Series> = Vec::new();
            for result in results {
                let Some(cell) = design.cells().get(result.cell() as usize) else {
                    continue;
                };
                let Some(mean) = paired(result, difference) else {
                    continue;
                };
                let others: Vec<String> = keys[1..]
                    .iter()
                    .zip(&cell.labels()[1..])
                    .map(|(key, label)| format!("{key}={label}"))
                    .collect();
                let label = if others.is_empty() {
                    "difference".to_owned()
                } else {
                    others.join(", ")
                };
                let point = Point {
                    x: cell.point()[0],
                    y: mean.mean,
                    interval: (!mean.ci_low.is_nan()).then_some((mean.ci_low, mean.ci_high)),
                };
                match series.iter_mut().find(|s| s.label == label) {
                    Some(line) => line.points.push(point),
                    None => series.push(Series {
                        label,
                        points: vec![point],
                    }),
                }
            }
            for line in &mut series {
                line.points.sort_by(|a, b| a.x.total_cmp(&b.x));
            }
            Panel {
                title: format!(
                    "{}: {} − {} ({})",
                    difference.metric,
                    short(difference.first),
                    short(difference.second),
                    difference.side.words()
                ),
                y_label: "paired difference (95% CI)".to_owned(),
                series,
            }
        })
        .collect();
    let title = format!(
        "{}: paired differences per cell, same assignments (95% CI)",
        design.name()
    );
    faceted_chart(&Facets {
        title: &title,
        x_label: &keys[0],
        panels: &panels,
        y_scale: YScale::PerPanel,
        reference: Some(0.0),
    })
    .map(Some)
}

/// The paired difference `difference` in `result`; `None` when the cell
/// lacks one of its mechanisms or its metric.
fn paired(
    result: &CellResult,
    difference: &Difference,
) -> Option<procura::experiment::statistics::Summary> {
    let column = Column::named(result.market(), difference.metric)?;
    let mechanisms = result.mechanisms();
    let index = |name: &str| mechanisms.iter().position(|m| m.to_string() == name);
    let first = result.column(index(difference.first)?, column)?;
    let second = result.column(index(difference.second)?, column)?;
    Some(paired_difference(&first, &second))
}

#[cfg(test)]
mod tests {
    use super::super::tests::texts;
    use super::*;
    use procura::experiment::design::{parse_design, run_design};
    use procura::experiment::Shard;

    /// P1-c's experiment, shrunk to 20 replicates of two slacks and two
    /// shock means.
    fn p1c() -> Design {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../experiments/p1c-protocols.toml"
        ))
        .expect("the shipped P1-c experiment")
        .replace(
            "values = [0.0, 0.25, 0.5, 0.75, 1.0]",
            "values = [0.0, 0.5]",
        );
        parse_design(&source)
            .and_then(|design| design.with_replicates(20))
            .expect("a valid design")
    }

    #[test]
    fn the_p1c_figure_shows_each_judged_difference_against_zero() {
        let design = p1c();
        let results = run_design(&design, Shard::WHOLE, &|| {}).expect("the experiment runs");
        let svg = figure(&design, &results)
            .expect("the figure renders")
            .expect("P1-c has a paired figure");
        assert_eq!(FILE, "figures/paired-differences.svg");
        if let Some(dir) = std::env::var_os("PROCURA_CHART_SAMPLES") {
            let path = std::path::Path::new(&dir).join("procura-p1c-paired.svg");
            std::fs::write(path, &svg).expect("the sample chart is written");
        }
        let texts = texts(&svg);
        for caption in [
            "success: small-first − simultaneous (claim: above 0)",
            "expected data: small-first − simultaneous (claim: above 0)",
            "spend: simultaneous − small-first (claim: below 0)",
            "participants: small-first − simultaneous (reported, not judged)",
            "threshold: slack",
        ] {
            assert!(
                texts.iter().any(|t| t == caption),
                "no {caption:?} in {texts:?}"
            );
        }
        // A line per shock mean in each of the 4 panels, named in words.
        for shock in [
            "threshold: shock mean = 0.25",
            "threshold: shock mean = 1.0",
        ] {
            assert_eq!(texts.iter().filter(|t| *t == shock).count(), 4, "{shock}");
        }
        // The line at 0 in each panel, in dark grey.
        assert_eq!(svg.matches(r##"stroke="#404040""##).count(), 4);
        // The differences are those of the judge: small-first − simultaneous
        // success at slack 0.5, σ = 0.25 is the first panel's.
        let result = &results[2];
        let cell = &design.cells()[result.cell() as usize];
        assert_eq!(cell.point(), [0.5, 0.25]);
        let success = paired(result, &P1C[0]).expect("both protocols");
        assert_eq!(success.n, 20);
    }

    #[test]
    fn other_experiments_have_no_paired_figure() {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../experiments/p1b-null.toml"
        ))
        .expect("the shipped P1-b experiment");
        let design = parse_design(&source).expect("a valid design");
        assert_eq!(figure(&design, &[]).expect("nothing to draw"), None);
    }
}

//! Clearing cost of Q-MIA against the pay-as-bid volume baseline, in the
//! same run, at n = 10³ … 10⁶ providers (issue: Q-MIA within 2× of the
//! baseline at every n, which shows its payments are O(n log n)).
//!
//! The `unilateral` group times the auditor's unilateral screen
//! (`ReportGame::unilateral_utilities`: one provider's view of the market,
//! built once, then 64 reports), which best-response dynamics and every
//! audit run per participant.
//!
//! Run: `cargo bench -p procura --bench clear`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use procura::game::ReportGame;
use procura::procurement::{clear, Auction, UnilateralView};
use procura::synthetic;

fn clearing(c: &mut Criterion) {
    let mut group = c.benchmark_group("clear");
    for n in [1_000, 10_000, 100_000, 1_000_000] {
        let market = synthetic::market(n, 2026);
        let (samples, time) = if n >= 100_000 {
            (10, Duration::from_secs(8))
        } else {
            (30, Duration::from_secs(3))
        };
        group.sample_size(samples).measurement_time(time);
        for mechanism in [Auction::Qmia, Auction::Volume] {
            group.bench_with_input(
                BenchmarkId::new(mechanism.name(), n),
                &market,
                |b, market| b.iter(|| clear(black_box(market), mechanism)),
            );
        }
    }
    group.finish();
}

/// 64 reports for `participant`, spread over its report bounds (and, for
/// `trust`, over claims), as the auditor's grid spreads them.
fn reports(
    mechanism: Auction,
    market: &procura::procurement::Instance,
    participant: usize,
) -> Vec<Vec<f64>> {
    let bounds = mechanism
        .report_bounds(market, participant)
        .expect("participant exists");
    let (low, high) = bounds[0];
    (0..64)
        .map(|k| {
            let bid = low + (high - low) * (f64::from(k) / 64.0).powi(3);
            match mechanism {
                Auction::Trust => vec![bid, 0.5 + f64::from(k % 8) / 16.0],
                _ => vec![bid],
            }
        })
        .collect()
}

fn unilateral(c: &mut Criterion) {
    let mut group = c.benchmark_group("unilateral");
    for n in [1_000, 100_000] {
        let market = synthetic::market(n, 2026);
        let participant = n / 2;
        group.sample_size(20);
        for mechanism in Auction::ALL {
            let reports = reports(mechanism, &market, participant);
            group.bench_with_input(
                BenchmarkId::new(mechanism.name(), n),
                &market,
                |b, market| {
                    b.iter(|| {
                        mechanism.unilateral_utilities(black_box(market), participant, &reports)
                    })
                },
            );
        }
    }
    group.finish();
}

/// The per-report hot path alone: one provider's view built once, then 64
/// reports valued through it (O(log n) each; O(n) for MUT).
fn unilateral_reports(c: &mut Criterion) {
    let mut group = c.benchmark_group("unilateral-report");
    for n in [1_000, 100_000] {
        let market = synthetic::market(n, 2026);
        let participant = n / 2;
        let cost = market.providers()[participant].bid();
        group.sample_size(20);
        for mechanism in Auction::ALL {
            let reports = reports(mechanism, &market, participant);
            let view = UnilateralView::with_cost(mechanism, &market, participant, cost)
                .expect("participant exists");
            group.bench_function(BenchmarkId::new(mechanism.name(), n), |b| {
                b.iter(|| {
                    reports
                        .iter()
                        .map(|report| view.utility(black_box(report)))
                        .collect::<Vec<_>>()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, clearing, unilateral, unilateral_reports);
criterion_main!(benches);

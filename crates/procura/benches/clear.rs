//! Clearing cost of Q-MIA against the pay-as-bid volume baseline, in the
//! same run, at n = 10³ … 10⁶ providers (issue: Q-MIA within 2× of the
//! baseline at every n, which shows its payments are O(n log n)).
//!
//! Run: `cargo bench -p procura --bench clear`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use procura::procurement::{clear, Auction};
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

criterion_group!(benches, clearing);
criterion_main!(benches);

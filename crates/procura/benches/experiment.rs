//! Throughput of the experiment engine (issue: ≥ 100,000 Q-MIA instances
//! of 100 providers per second on 2 cores): `experiment::run` on one cell of
//! 10,000 replicates, each a fresh 100-provider draw cleared by Q-MIA, with
//! its records collected. Also the parts alone, on one thread: drawing an
//! instance, and drawing and clearing it.
//!
//! Run: `cargo bench -p procura --bench experiment`
//! (instances per second = 10,000 / the `run` time).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use procura::experiment::{run, run_replicate, Cell, CellIndex, MarketPopulation};
use procura::population::{Distribution, Population, PopulationSpec};
use procura::procurement::{clear, Auction};
use procura::Mechanism;

fn population(providers: usize) -> Population {
    let uniform = |low, high| Distribution::Uniform { low, high };
    Population::new(PopulationSpec {
        providers,
        budget_fraction: 0.3,
        token_budget_fraction: None,
        liquidity: None,
        token_pool: None,
        cost: uniform(0.5, 1.5),
        quality: uniform(0.5, 1.0),
        utility: uniform(0.0, 1.0),
        volume: None,
        claimed_quality: None,
    })
    .expect("a valid population")
}

fn throughput(c: &mut Criterion) {
    let population = population(100);
    let cell = Cell::new(
        MarketPopulation::Procurement(population.clone()),
        vec![Mechanism::Auction(Auction::Qmia)],
    )
    .expect("a valid cell");
    let cells = [(CellIndex::own(0), cell.clone())];

    let mut group = c.benchmark_group("experiment");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("run/qmia/100-providers/10000-replicates", |b| {
        b.iter(|| run(black_box(&cells), 10_000, 7, &|| {}))
    });
    group.finish();

    let mut parts = c.benchmark_group("experiment-parts");
    parts.throughput(Throughput::Elements(1));
    let mut index = 0;
    parts.bench_function("draw/100-providers", |b| {
        b.iter(|| {
            index += 1;
            population.draw(7, black_box(index))
        })
    });
    parts.bench_function("draw+clear/qmia/100-providers", |b| {
        b.iter(|| {
            index += 1;
            clear(&population.draw(7, black_box(index)), Auction::Qmia)
        })
    });
    parts.bench_function("replicate/qmia/100-providers", |b| {
        b.iter(|| {
            index += 1;
            run_replicate(&cell, 7, black_box(index))
        })
    });
    parts.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);

//! Cost of the withdrawal protocols (spec §B.4): the exact solvers at 20
//! assigned users, the largest they take (goal: < 1 s each), and the grid
//! approximation at 10,000 users (goal: < 5 s each); plus the assignment
//! stage with its Myerson payments (§B.3) at 10,000 users, and on the
//! hostile market of issue 14 where every payment integrates over many
//! tiny capacities past the end of the fill (5,000 + 5,000 and 50,000 +
//! 50,000 users; the plain walk took 67 ms and 8.2 s, the closed form
//! takes about 4 ms and 40 ms).
//!
//! Run: `cargo bench -p procura --bench threshold`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use procura::threshold::protocol::{evaluate_with, Solver};
use procura::threshold::{withdrawal, Protocol, ThresholdInstance, ThresholdSpec, UserSpec};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` users with costs in [0, 1), capacities in [0.5, 1.5) and benefits in
/// [0, 0.3); the target T' = T·(1 + slack), slack 0.25, is `share` of the
/// total capacity, so that about that share of the users is assigned.
/// Shocks of mean `shock_mean` make every user's stay uncertain.
fn market(n: usize, share: f64, shock_mean: f64, seed: u64) -> ThresholdInstance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let users: Vec<UserSpec> = (0..n)
        .map(|i| UserSpec {
            id: format!("u{i:05}"),
            cost: rng.random_range(0.0..1.0),
            capacity: rng.random_range(0.5..1.5),
            benefit: Some(rng.random_range(0.0..0.3)),
        })
        .collect();
    let total: f64 = users.iter().map(|user| user.capacity).sum();
    let slack = 0.25;
    let spec = ThresholdSpec {
        threshold: share * total / (1.0 + slack),
        reserve_price: Some(1.2),
        slack: Some(slack),
        reversibility: Some(0.5),
        shock_mean: Some(shock_mean),
        belief: Some(1.0),
        users,
        ..ThresholdSpec::default()
    };
    ThresholdInstance::new(spec).expect("synthetic market is valid")
}

/// `n` identical users (cost 0.4, reserve 0.5, so t_i = 0.5 each; ρ = 1,
/// benefit 1, σ = 0.05) of whom `need` reach T: each would rather the
/// others stay, and the simultaneous iteration cycles.
fn free_riders(n: usize, need: usize) -> ThresholdInstance {
    let users = (0..n)
        .map(|i| UserSpec {
            id: format!("u{i:02}"),
            cost: 0.4,
            capacity: 1.0,
            benefit: Some(1.0),
        })
        .collect();
    let threshold = need as f64 - 0.5;
    let spec = ThresholdSpec {
        threshold,
        reserve_price: Some(0.5),
        slack: Some(n as f64 / threshold - 1.0),
        reversibility: Some(1.0),
        shock_mean: Some(0.05),
        users,
        ..ThresholdSpec::default()
    };
    ThresholdInstance::new(spec).expect("free-rider market is valid")
}

fn protocols(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol");
    // Exact: all 20 users assigned (share just below 1); success ≈ 0.96.
    let exact = withdrawal::assign(&market(20, 0.97, 0.3, 2026)).expect("reserve_price");
    assert_eq!(exact.assignments().len(), 20);
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for protocol in Protocol::ALL {
        group.bench_with_input(
            BenchmarkId::new(format!("exact/{protocol}"), exact.assignments().len()),
            &exact,
            |b, allocation| {
                b.iter(|| evaluate_with(black_box(allocation), protocol, Solver::Exact))
            },
        );
    }
    // Exact, simultaneous, on a market where free riding makes the
    // iteration cycle instead of converging (the spec's 10,000 rounds).
    let cycling = withdrawal::assign(&free_riders(20, 18)).expect("reserve_price");
    group.bench_with_input(
        BenchmarkId::new("exact/simultaneous-cycling", cycling.assignments().len()),
        &cycling,
        |b, allocation| {
            b.iter(|| evaluate_with(black_box(allocation), Protocol::Simultaneous, Solver::Exact))
        },
    );
    // Grid: 10,000 users, 8,002 assigned; success ≈ 0.93 (simultaneous)
    // and 0.96 (sequential), so that no protocol is trivially decided.
    let grid = withdrawal::assign(&market(10_000, 0.8, 0.36, 2026)).expect("reserve_price");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for protocol in Protocol::ALL {
        group.bench_with_input(
            BenchmarkId::new(format!("grid/{protocol}"), grid.assignments().len()),
            &grid,
            |b, allocation| b.iter(|| evaluate_with(black_box(allocation), protocol, Solver::Grid)),
        );
    }
    group.finish();
}

fn assignment(c: &mut Criterion) {
    let mut group = c.benchmark_group("assign");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (n, share) in [(10_000, 0.1), (10_000, 0.8)] {
        let instance = market(n, share, 0.36, 2026);
        group.bench_with_input(
            BenchmarkId::new(format!("withdrawal/share={share}"), n),
            &instance,
            |b, instance| b.iter(|| withdrawal::assign(black_box(instance))),
        );
    }
    group.finish();
}

/// `assigned` users of capacity 2⁻¹⁰ and costs 0.1 + i·10⁻⁶ who fill T
/// exactly, then `tail` users of capacity 10⁻¹³ and costs 0.5 + i·10⁻⁶;
/// reserve 1. Each assigned user's second phase passes every tail user.
fn tiny_tail(assigned: usize, tail: usize) -> ThresholdInstance {
    let capacity = 1.0 / 1024.0;
    let mut users: Vec<UserSpec> = (0..assigned)
        .map(|i| UserSpec::new(format!("a{i:06}"), 0.1 + i as f64 * 1e-6, capacity))
        .collect();
    users
        .extend((0..tail).map(|i| UserSpec::new(format!("b{i:06}"), 0.5 + i as f64 * 1e-6, 1e-13)));
    let spec = ThresholdSpec {
        threshold: assigned as f64 * capacity,
        reserve_price: Some(1.0),
        users,
        ..ThresholdSpec::default()
    };
    ThresholdInstance::new(spec).expect("tiny-tail market is valid")
}

fn hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("assign-tiny-tail");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for n in [5_000, 50_000] {
        let instance = tiny_tail(n, n);
        group.bench_with_input(
            BenchmarkId::new("withdrawal", format!("{n}+{n}")),
            &instance,
            |b, instance| b.iter(|| withdrawal::assign(black_box(instance))),
        );
    }
    group.finish();
}

criterion_group!(benches, protocols, assignment, hostile);
criterion_main!(benches);

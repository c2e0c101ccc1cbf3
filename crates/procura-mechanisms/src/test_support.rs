//! Proptest strategies shared by the tests of every procura crate: random
//! procurement instances (ordinary ones and ones over the whole range of
//! doubles) and random threshold instances, written once.
//!
//! Behind the `test-support` feature, which only dev-dependencies turn on
//! (`procura-mechanisms = { path = "…", features = ["test-support"] }`):
//! an ordinary build of this crate does not depend on proptest.
//!
//! The strategies are the union of the copies that the test files used to
//! carry. Those drew the same kinds of numbers from slightly different
//! ranges and special values, and mixed continuous draws and special
//! values 3:1, 2:1 or 1:2; here every number takes the widest range and
//! every special value any copy had, mixed 3:1. A test that needs a
//! narrower shape (truthful claims, say) narrows the instance it is given.
//!
//! ```
//! use procura_mechanisms::test_support::procurement_instance;
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let instance = procurement_instance(4).new_tree(&mut runner).unwrap().current();
//! assert!((1..=4).contains(&instance.providers().len()));
//! ```

use proptest::prelude::*;

use crate::procurement::{Instance, InstanceSpec, ProviderSpec};
use crate::threshold::{Protocol, ThresholdInstance, ThresholdSpec, UserSpec};

/// Numbers in `[low, high]` three times out of four, and one of `specials`
/// otherwise, so that ties in ratio, zero scores, zero bids and boundary
/// values actually occur.
pub fn mostly_continuous(low: f64, high: f64, specials: &'static [f64]) -> BoxedStrategy<f64> {
    prop_oneof![
        3 => low..=high,
        1 => proptest::sample::select(specials),
    ]
    .boxed()
}

/// The edges of the range of doubles that [`extreme_f64`] draws often.
const EDGES: &[f64] = &[
    5e-324,
    1e-323,
    f64::MIN_POSITIVE,
    1e-300,
    0.5,
    1.0,
    1e300,
    f64::MAX / 3.0,
    f64::MAX / 2.0,
    f64::MAX,
];

/// Numbers whose neighbours, a few ulps away, [`extreme_f64`] draws, so that
/// different fields and providers often hold the same number or numbers one
/// ulp apart.
const ANCHORS: &[f64] = &[
    f64::MIN_POSITIVE,
    1e-300,
    0.6,
    1.0,
    3.0,
    1e300,
    f64::MAX / 3.0,
];

/// Doubles over the whole range: log-uniform from 1e-300 to 1e300 six
/// times in ten; otherwise 0, a subnormal (uniform over their bit
/// patterns), an edge of the range (5e-324, the smallest normal double,
/// f64::MAX / 3, f64::MAX / 2, f64::MAX, …), or a number at most two ulps
/// from one of a few anchors (so that equal numbers and numbers one ulp
/// apart meet), one time in ten each. Never negative, never infinite.
pub fn extreme_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-300.0f64..300.0).prop_map(|exponent| 10f64.powf(exponent)),
        1 => Just(0.0),
        1 => (1u64..(1u64 << 52)).prop_map(f64::from_bits),
        1 => proptest::sample::select(EDGES),
        1 => (proptest::sample::select(ANCHORS), 0u64..=4)
            .prop_map(|(anchor, step)| f64::from_bits(anchor.to_bits() + step - 2)),
    ]
}

/// A share in [0, 1] over its whole range: uniform three times in five,
/// otherwise an edge (0, 1, one ulp below 1, one half, the smallest
/// normal and subnormal doubles).
fn extreme_share() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0f64..=1.0,
        2 => proptest::sample::select(&[
            0.0,
            1.0,
            1.0 - f64::EPSILON / 2.0,
            0.5,
            f64::MIN_POSITIVE,
            5e-324,
        ][..]),
    ]
}

/// A record id out of input order, so that ties in a key exercise the id
/// rule: `p00` … `p10` for the first 11 records ((7·i) mod 11), then the
/// index itself, so that ids stay distinct however many records there are.
fn record_id(prefix: char, index: usize) -> String {
    let number = if index < 11 { (index * 7) % 11 } else { index };
    format!("{prefix}{number:02}")
}

/// Provider `index` of a random procurement instance (§A.1): bid in
/// [0, 5], quality in [0, 1], utility in [0, 3], volume in [0, 2000], each
/// with its special values, and a claimed quality in [0, 1] half the time
/// (its default, the verified quality, otherwise).
pub fn provider(index: usize) -> impl Strategy<Value = ProviderSpec> {
    (
        mostly_continuous(0.0, 5.0, &[0.0, 0.5, 1.0, 2.0, 2.5]),
        mostly_continuous(0.0, 1.0, &[0.0, 0.5, 1.0]),
        mostly_continuous(0.0, 3.0, &[0.0, 1.0, 2.0]),
        mostly_continuous(0.0, 2000.0, &[0.0, 1.0, 2.0, 10.0, 50.0, 100.0, 1000.0]),
        proptest::option::of(mostly_continuous(0.0, 1.0, &[0.0, 1.0])),
    )
        .prop_map(
            move |(bid, quality, utility, volume, claimed_quality)| ProviderSpec {
                id: record_id('p', index),
                bid,
                quality,
                utility,
                volume: Some(volume),
                claimed_quality,
            },
        )
}

/// A random valid procurement instance (§A.1) with 1 to `max_providers`
/// providers ([`provider`]): budget in [0.1, 12], and, each given 85% of
/// the time (so that their defaults R = 0, λ = 1 and Π = 1 occur too, and
/// MUT sometimes refuses), token budget in [0, 8], liquidity in [0, 1]
/// (only with a token budget, so that Mixed-MIA always clears) and token
/// pool in [0.5, 1000].
pub fn procurement_instance(max_providers: usize) -> impl Strategy<Value = Instance> {
    (1..=max_providers.max(1))
        .prop_flat_map(|n| {
            (
                mostly_continuous(0.1, 12.0, &[1.0, 2.0, 3.0, 4.0, 5.0]),
                proptest::option::weighted(0.85, mostly_continuous(0.0, 8.0, &[0.0, 1.0, 2.0])),
                proptest::option::weighted(0.85, mostly_continuous(0.0, 1.0, &[0.0, 0.5, 1.0])),
                proptest::option::weighted(
                    0.85,
                    mostly_continuous(0.5, 1000.0, &[1.0, 10.0, 1000.0]),
                ),
                (0..n).map(provider).collect::<Vec<_>>(),
            )
        })
        .prop_map(|(budget, token_budget, liquidity, token_pool, providers)| {
            // Without a token budget, λ is left at its default 1: Mixed-MIA
            // refuses λ < 1 without one, as MUT refuses any instance
            // without one, and the suites expect Mixed-MIA to clear.
            let liquidity = liquidity.filter(|_| token_budget.is_some());
            let spec = InstanceSpec {
                budget,
                token_budget,
                liquidity,
                token_pool,
                providers,
            };
            Instance::new(spec).unwrap_or_else(|error| unreachable!("generated instance: {error}"))
        })
}

/// A procurement instance specification whose numbers span the whole range
/// of doubles: budget, token budget, token pool and every provider's bid,
/// utility and volume from [`extreme_f64`] (0, subnormals, 1e-300 to
/// 1e300, f64::MAX / 3 and the other edges, numbers one ulp apart), with
/// budget and pool > 0; quality, claimed quality and liquidity in [0, 1],
/// edges included (0, 1, one ulp below 1, subnormals); 1 to 6 providers.
/// Some break the checks of [`Instance::new`] (a subnormal budget, a total
/// that could overflow), which refuses them; the rest must clear, keeping
/// every promise.
pub fn extreme_procurement_spec() -> impl Strategy<Value = InstanceSpec> {
    (
        extreme_f64().prop_filter("budget > 0", |budget| *budget > 0.0),
        extreme_f64(),
        extreme_share(),
        extreme_f64().prop_filter("token pool > 0", |pool| *pool > 0.0),
        proptest::collection::vec(
            (
                extreme_f64(),
                extreme_share(),
                extreme_f64(),
                extreme_f64(),
                proptest::option::of(extreme_share()),
            ),
            1..7,
        ),
    )
        .prop_map(
            |(budget, token_budget, liquidity, token_pool, providers)| InstanceSpec {
                budget,
                token_budget: Some(token_budget),
                liquidity: Some(liquidity),
                token_pool: Some(token_pool),
                providers: providers
                    .into_iter()
                    .enumerate()
                    .map(
                        |(i, (bid, quality, utility, volume, claimed_quality))| ProviderSpec {
                            volume: Some(volume),
                            claimed_quality,
                            ..ProviderSpec::new(format!("p{i}"), bid, quality, utility)
                        },
                    )
                    .collect(),
            },
        )
}

/// User `index` of a random threshold instance (§B.1): cost in [0, 3],
/// capacity in [0.05, 3], benefit in [0, 1], each with its special values.
pub fn user(index: usize) -> impl Strategy<Value = UserSpec> {
    (
        mostly_continuous(0.0, 3.0, &[0.0, 1.0, 2.0]),
        mostly_continuous(0.05, 3.0, &[0.5, 1.0]),
        mostly_continuous(0.0, 1.0, &[0.0, 0.5]),
    )
        .prop_map(move |(cost, capacity, benefit)| UserSpec {
            id: record_id('u', index),
            cost,
            capacity,
            benefit: Some(benefit),
        })
}

/// A random valid threshold instance (§B.1) with 1 to `max_users` users
/// ([`user`]) and every optional field given. The threshold is a share of
/// the users' total capacity (so that both null and busy instances occur);
/// the reserve price lies in [0.5, 5]; the budget, when there is one, is a
/// multiple in [0.3, 1.5] of r·T', so that it binds about half the time;
/// slack, reversibility, belief in [0, 1], shock mean in [0, 2], payment
/// in [0, 5], floor in [0.1, 2], and any protocol.
pub fn threshold_instance(max_users: usize) -> impl Strategy<Value = ThresholdInstance> {
    (1..=max_users.max(1))
        .prop_flat_map(|n| {
            (
                (
                    mostly_continuous(0.05, 0.9, &[0.5, 1.0]),
                    mostly_continuous(0.5, 5.0, &[1.0, 2.0]),
                    proptest::option::of(mostly_continuous(0.3, 1.5, &[0.5, 1.0])),
                    mostly_continuous(0.0, 1.0, &[0.0, 0.5]),
                    mostly_continuous(0.0, 1.0, &[0.0, 1.0]),
                    mostly_continuous(0.0, 2.0, &[0.0]),
                ),
                (
                    mostly_continuous(0.0, 1.0, &[0.0, 1.0]),
                    proptest::sample::select(Protocol::ALL.to_vec()),
                    mostly_continuous(0.0, 5.0, &[0.0, 2.0]),
                    mostly_continuous(0.1, 2.0, &[1.0]),
                ),
                (0..n).map(user).collect::<Vec<_>>(),
            )
        })
        .prop_map(
            |(
                (share, reserve_price, budget_factor, slack, reversibility, shock_mean),
                (belief, protocol, payment, floor),
                users,
            )| {
                let capacity: f64 = users.iter().map(|user| user.capacity).sum();
                let threshold = share * capacity;
                let budget =
                    budget_factor.map(|factor| factor * reserve_price * threshold * (1.0 + slack));
                let spec = ThresholdSpec {
                    threshold,
                    reserve_price: Some(reserve_price),
                    budget,
                    slack: Some(slack),
                    reversibility: Some(reversibility),
                    shock_mean: Some(shock_mean),
                    payment: Some(payment),
                    floor: Some(floor),
                    protocol: Some(protocol),
                    belief: Some(belief),
                    users,
                };
                ThresholdInstance::new(spec)
                    .unwrap_or_else(|error| unreachable!("generated instance: {error}"))
            },
        )
}

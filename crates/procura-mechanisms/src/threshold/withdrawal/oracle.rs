//! The test oracle for the payments of [`super::assign`]: the plain walk
//! that computed them before the closed form of [`super::Tail::rest`],
//! kept verbatim. It is O(m·n) when many tiny capacities follow the fill
//! (50,000 + 50,000 such users: 8 s in release on the `assign-tiny-tail`
//! bench's market, 42 s on issue 14's), so only tests run it.
//!
//! The properties: the production payments equal the walk's to the last
//! bit wherever the walk stays within [`super::WALK`] segments, and
//! wherever the walk's arithmetic is exact (amounts and costs on a dyadic
//! grid); cut after any number of segments, they agree with it to within
//!
//! ```text
//! |t − t_walk| ≤ (r − c_i)·(10⁻⁹·T' + 16·(n + 2)·ε·cap_i) + 4·ε·r·x_i
//! ```
//!
//! the closed form's and the walk's rounding (n subtractions each), plus
//! one segment's worth of the stop rule where a rounding moves the stop.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::super::instance::ThresholdInstance;
use super::super::{reaches, ThresholdSpec, UserSpec};
use super::{assign, assign_with, WALK};
use crate::tolerance::FILL_RELATIVE;

/// The payments of the assigned users, in allocation order, as
/// `(user, amount, payment)`, computed by the plain walk.
fn walk_payments(instance: &ThresholdInstance) -> Vec<(usize, f64, f64)> {
    let reserve = instance.effective_reserve().expect("reserve_price");
    let target = instance.target();
    let users = instance.users();

    let mut eligible: Vec<usize> = (0..users.len())
        .filter(|&index| users[index].cost() <= reserve)
        .collect();
    eligible.sort_by(|&a, &b| {
        let (a, b) = (&users[a], &users[b]);
        a.cost()
            .total_cmp(&b.cost())
            .then_with(|| a.id().as_bytes().cmp(b.id().as_bytes()))
    });
    let costs: Vec<f64> = eligible.iter().map(|&index| users[index].cost()).collect();
    let capacities: Vec<f64> = eligible
        .iter()
        .map(|&index| users[index].capacity())
        .collect();

    let capacity = capacities.iter().fold(0.0, |sum, capacity| sum + capacity);
    if !reaches(capacity, instance.threshold()) {
        return Vec::new();
    }

    let mut passed = Vec::with_capacity(capacities.len() + 1);
    passed.push(0.0);
    for capacity in &capacities {
        passed.push(passed[passed.len() - 1] + capacity);
    }
    let fill = WalkFill {
        costs: &costs,
        capacities: &capacities,
        passed,
        reserve,
        stop: FILL_RELATIVE * target,
    };
    let mut assignments = Vec::new();
    let mut remainder = target;
    for (position, &user) in eligible.iter().enumerate() {
        let amount = capacities[position].min(remainder);
        let payment = fill.quantity_payment(position, remainder, amount);
        assignments.push((user, amount, payment));
        remainder -= amount;
        if remainder <= fill.stop {
            break;
        }
    }
    assignments
}

struct WalkFill<'a> {
    costs: &'a [f64],
    capacities: &'a [f64],
    passed: Vec<f64>,
    reserve: f64,
    stop: f64,
}

impl WalkFill<'_> {
    /// The former `Fill::quantity_payment`: binary search for phase 1,
    /// then a walk over every segment of phase 2.
    fn quantity_payment(&self, position: usize, remainder: f64, amount: f64) -> f64 {
        let cost = self.costs[position];
        let capacity = self.capacities[position];
        let n_others = self.costs.len() - 1 - position;
        let remainder_after = |k: usize| {
            let passed = self.passed[position + 1 + k] - self.passed[position + 1];
            (remainder - passed).max(0.0)
        };
        let full = |k: usize| {
            let left = remainder_after(k);
            left >= capacity && left > self.stop
        };
        let upper = |k: usize| {
            self.costs
                .get(position + k + 1)
                .copied()
                .unwrap_or(self.reserve)
        };

        let (mut low, mut high) = (0, n_others + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            if full(middle) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let first_partial = low;

        let mut payment = cost * amount;
        if first_partial > 0 {
            payment += capacity * (upper(first_partial - 1) - cost);
        }
        if first_partial <= n_others {
            let mut left = remainder_after(first_partial);
            for k in first_partial..=n_others {
                if left <= self.stop {
                    break;
                }
                payment += capacity.min(left) * (upper(k) - self.costs[position + k]);
                if k < n_others {
                    left -= self.capacities[position + k + 1].min(left);
                }
            }
        }
        payment.min(self.reserve * amount)
    }
}

// ---------------------------------------------------------------------------
// Instances.

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    }
}

fn build(
    threshold: f64,
    reserve: f64,
    slack: f64,
    users: Vec<(f64, f64)>,
) -> Option<ThresholdInstance> {
    let users = users
        .into_iter()
        .enumerate()
        .map(|(i, (cost, capacity))| UserSpec::new(format!("u{i:04}"), cost, capacity))
        .collect();
    ThresholdInstance::new(ThresholdSpec {
        threshold,
        reserve_price: Some(reserve),
        slack: Some(slack),
        users,
        ..ThresholdSpec::default()
    })
    .ok()
}

/// Ordinary markets: costs and capacities of similar size, the target a
/// share of the capacity; costs drawn from few values so that ties occur.
fn ordinary() -> impl Strategy<Value = ThresholdInstance> {
    (
        prop::collection::vec((0u32..40, 0.05f64..3.0), 1..60),
        0.05f64..1.2,
        0.0f64..0.5,
        0.2f64..1.5,
    )
        .prop_filter_map(
            "valid instance",
            |(users, share, slack, reserve): (Vec<(u32, f64)>, f64, f64, f64)| {
                let total: f64 = users.iter().map(|user| user.1).sum();
                let users = users
                    .into_iter()
                    .map(|(cost, capacity)| (f64::from(cost) / 32.0 + 0.013, capacity))
                    .collect();
                build(share * total / (1.0 + slack), reserve, slack, users)
            },
        )
}

/// A tail user: (cost in [0, 1), exponent, mantissa) of capacity mantissa·10^exponent.
type TinyUser = (f64, i32, f64);

/// Markets whose walks are long: a few users, a share of whose capacity
/// is the threshold, then many others with capacities from 1 down to
/// 10⁻¹⁴ of theirs, so that the second phase runs far past the end of the
/// fill; their costs spread to the reserve or bunch just past the head's.
fn long_walks() -> impl Strategy<Value = ThresholdInstance> {
    (
        prop::collection::vec((0.0f64..1.0, 0.1f64..2.0), 1..12),
        prop::collection::vec((0.0f64..1.0, -14i32..0, 1.0f64..10.0), 1..400),
        0.3f64..1.0,
        prop::bool::ANY,
    )
        .prop_filter_map(
            "valid instance",
            |(head, tail, share, spread): (Vec<(f64, f64)>, Vec<TinyUser>, f64, bool)| {
                let threshold = share * head.iter().map(|user| user.1).sum::<f64>();
                let mut users: Vec<(f64, f64)> = head
                    .into_iter()
                    .map(|(cost, capacity)| (cost * 0.3, capacity))
                    .collect();
                for (cost, exponent, mantissa) in tail {
                    let capacity = mantissa * 10f64.powi(exponent);
                    let cost = if spread {
                        0.3 + 0.6 * cost
                    } else {
                        0.3 + 1e-3 * cost
                    };
                    users.push((cost, capacity));
                }
                build(threshold, 1.0, 0.0, users)
            },
        )
}

/// Markets on a dyadic grid, where every step of the walk is exact: costs
/// multiples of 1/64 below 1, capacities multiples of 1/16 up to 4, the
/// threshold and reserve on the same grids, no slack.
fn dyadic() -> impl Strategy<Value = ThresholdInstance> {
    (
        prop::collection::vec((0u32..64, 1u32..64), 1..80),
        1u32..64,
        1u32..=64,
    )
        .prop_filter_map(
            "valid instance",
            |(users, threshold, reserve): (Vec<(u32, u32)>, u32, u32)| {
                let users = users
                    .into_iter()
                    .map(|(cost, capacity)| (f64::from(cost) / 64.0, f64::from(capacity) / 16.0))
                    .collect();
                build(
                    f64::from(threshold) / 4.0,
                    f64::from(reserve) / 64.0,
                    0.0,
                    users,
                )
            },
        )
}

// ---------------------------------------------------------------------------
// Comparisons.

/// `(user, amount, payment)` of the production code cut after `walk`.
fn payments(instance: &ThresholdInstance, walk: usize) -> Vec<(usize, f64, f64)> {
    assign_with(instance, walk)
        .expect("reserve_price")
        .assignments()
        .iter()
        .map(|assignment| (assignment.user, assignment.amount, assignment.payment))
        .collect()
}

fn same_bits(actual: &[(usize, f64, f64)], expected: &[(usize, f64, f64)]) -> bool {
    actual.len() == expected.len()
        && actual.iter().zip(expected).all(|(a, e)| {
            a.0 == e.0 && a.1.to_bits() == e.1.to_bits() && a.2.to_bits() == e.2.to_bits()
        })
}

/// The stated bound on |t − t_walk| for the user at `user`.
fn bound(instance: &ThresholdInstance, user: usize, amount: f64) -> f64 {
    let reserve = instance.effective_reserve().expect("reserve_price");
    let n = instance.users().len() as f64;
    let cost = instance.users()[user].cost();
    let capacity = instance.users()[user].capacity();
    (reserve - cost)
        * (FILL_RELATIVE * instance.target() + 16.0 * (n + 2.0) * f64::EPSILON * capacity)
        + 4.0 * f64::EPSILON * reserve * amount
}

fn within_bound(
    instance: &ThresholdInstance,
    actual: &[(usize, f64, f64)],
) -> Result<(), TestCaseError> {
    let expected = walk_payments(instance);
    prop_assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(&expected) {
        prop_assert_eq!(a.0, e.0);
        prop_assert_eq!(a.1.to_bits(), e.1.to_bits());
        let gap = (a.2 - e.2).abs();
        let bound = bound(instance, a.0, a.1);
        prop_assert!(
            gap <= bound,
            "user {}: payment {:?}, walk {:?}, gap {:e} > bound {:e}",
            a.0,
            a.2,
            e.2,
            gap,
            bound
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(400, 0x5eed_1301))]

    /// Uncut, the production code is the walk, bit for bit.
    #[test]
    fn uncut_is_the_walk(instance in prop_oneof![ordinary(), long_walks()]) {
        prop_assert!(same_bits(&payments(&instance, usize::MAX), &walk_payments(&instance)));
    }

    /// On ordinary markets no walk reaches `WALK` segments, so the
    /// payments are the walk's, bit for bit.
    #[test]
    fn ordinary_markets_are_the_walk(instance in ordinary()) {
        prop_assert!(same_bits(&payments(&instance, WALK), &walk_payments(&instance)));
    }

    /// Where every step of the walk is exact, so is the closed form, from
    /// the first segment on.
    #[test]
    fn exact_walks_are_kept(instance in dyadic()) {
        prop_assert!(same_bits(&payments(&instance, 0), &walk_payments(&instance)));
    }

    /// Cut anywhere, the payments agree with the walk to the stated bound.
    #[test]
    fn cut_walks_agree_to_the_bound(
        instance in prop_oneof![ordinary(), long_walks()],
        walk in prop_oneof![Just(0usize), 1usize..4, Just(WALK)],
    ) {
        within_bound(&instance, &payments(&instance, walk))?;
    }
}

/// The hostile case of issue 14 at a size the walk still finishes: 2,000
/// assigned users, then 2,000 of capacity 10⁻¹³ that the second phase
/// passes one by one. The production payments agree with the walk.
#[test]
fn tiny_tail_agrees_with_the_walk() {
    let mut users: Vec<(f64, f64)> = (0..2000)
        .map(|i| (0.1 + f64::from(i) * 1e-6, 1e-3))
        .collect();
    users.extend((0..2000).map(|i| (0.5 + f64::from(i) * 1e-6, 1e-13)));
    let instance = build(2.0, 1.0, 0.0, users).expect("valid");
    let actual = payments(&instance, WALK);
    within_bound(&instance, &actual).expect("within the bound");
    assert_eq!(
        assign(&instance).expect("reserve").assignments().len(),
        2000
    );
}

proptest! {
    #![proptest_config(config(300, 0x5eed_1302))]

    /// [`super::Tail::rest`] is the sum it closes, from any segment, before
    /// the end of the fill (backward sums) or past it (forward sums).
    #[test]
    fn rest_is_the_sum_it_closes(
        users in prop::collection::vec((0.0f64..1.0, 0.001f64..2.0), 2..40),
        assigned in 1usize..40,
        from in 0usize..40,
        left in 0.01f64..3.0,
    ) {
        let mut users = users;
        users.sort_by(|a, b| a.0.total_cmp(&b.0));
        let costs: Vec<f64> = users.iter().map(|user| user.0).collect();
        let capacities: Vec<f64> = users.iter().map(|user| user.1).collect();
        let n = costs.len();
        let (assigned, from) = (assigned.min(n), from.min(n - 1));
        let (reserve, stop) = (1.0, 1e-9);
        let tail = super::Tail::new(&costs, &capacities, reserve, assigned);
        let cost = |j: usize| costs.get(j).copied().unwrap_or(reserve);
        // The walk: subtract capacities one by one until the stop.
        let (mut expected, mut remaining, mut scale) = (0.0, left, 0.0f64);
        for j in from..n {
            if remaining <= stop {
                break;
            }
            expected += remaining * (cost(j + 1) - cost(j));
            if j + 1 < n {
                remaining -= capacities[j + 1];
            }
        }
        for sum in &tail.sums {
            scale = scale.max(sum.abs());
        }
        let actual = tail.rest(from, left, stop);
        let bound = (64.0 * (n as f64) * f64::EPSILON * (left + scale) + stop) * reserve;
        prop_assert!(
            (actual - expected).abs() <= bound,
            "rest {actual:?}, walk {expected:?}, bound {bound:e}"
        );
    }
}

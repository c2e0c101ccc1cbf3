//! Withdrawal rights: cost reports, personalized assignment and Myerson
//! quantity payments (spec §B.3), followed by a withdrawal protocol (§B.4).
//!
//! Users report unit costs. Those at or below the reserve r are eligible;
//! if their capacity cannot reach T the outcome is null and nothing
//! happens. Otherwise the target T' = T·(1 + slack) is filled greedily,
//! cheapest first, and each assigned user is paid its Myerson quantity
//! payment, held in escrow until training happens. The assignment stage is
//! DSIC and IR, and it never leaks: money moves only if the model is
//! trained.

use super::instance::ThresholdInstance;
use super::protocol::{self, Game, Protocol, ProtocolReport};
use super::{reaches, Assignment, ClearError};
use crate::tolerance::FILL_RELATIVE;

/// The assignment stage of withdrawal rights (§B.3, steps 1–5): who gives
/// how much, and for what payment. The protocols of §B.4 play on it
/// ([`protocol::evaluate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    null: bool,
    reserve: f64,
    target: f64,
    assignments: Vec<Assignment>,
    total_payment: f64,
    game: Game,
}

impl Allocation {
    /// Whether the outcome is null: the eligible users' capacity does not
    /// reach T, so nothing is collected and nothing is paid.
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.null
    }
    /// The per-unit reserve r used, after the budget cap.
    #[must_use]
    pub fn reserve(&self) -> f64 {
        self.reserve
    }
    /// The target T' = T·(1 + slack).
    #[must_use]
    pub fn target(&self) -> f64 {
        self.target
    }
    /// The assigned users in allocation order (ascending (cost, id)), each
    /// with x_i > 0 and its payment t_i. Empty when null.
    #[must_use]
    pub fn assignments(&self) -> &[Assignment] {
        &self.assignments
    }
    /// Σ t_i, a left fold in allocation order.
    #[must_use]
    pub fn total_payment(&self) -> f64 {
        self.total_payment
    }
    /// The assignment of user `index`, or `None` if it gives nothing.
    #[must_use]
    pub fn assignment_of(&self, index: usize) -> Option<&Assignment> {
        self.assignments
            .iter()
            .find(|assignment| assignment.user == index)
    }

    pub(crate) fn game(&self) -> &Game {
        &self.game
    }
}

/// The result of withdrawal rights (§B.3 and §B.4): the allocation and the
/// statistics of the protocol played on it.
#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawalOutcome {
    allocation: Allocation,
    protocol: Option<ProtocolReport>,
}

impl WithdrawalOutcome {
    /// The assignment stage.
    #[must_use]
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }
    /// Whether the outcome is null (§B.3, step 3).
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.allocation.is_null()
    }
    /// The assigned users in allocation order (ascending (cost, id)).
    #[must_use]
    pub fn assignments(&self) -> &[Assignment] {
        self.allocation.assignments()
    }
    /// Σ t_i over the assigned users, held in escrow.
    #[must_use]
    pub fn total_payment(&self) -> f64 {
        self.allocation.total_payment()
    }
    /// Money paid for a model that is not trained: always 0, since payments
    /// are released only if training happens (§B.3, step 6).
    #[must_use]
    pub fn leakage(&self) -> f64 {
        0.0
    }
    /// The protocol's statistics; `None` when the outcome is null.
    #[must_use]
    pub fn protocol(&self) -> Option<&ProtocolReport> {
        self.protocol.as_ref()
    }
}

/// Clears `instance` with withdrawal rights (§B.3) and plays `protocol` on
/// the allocation (§B.4); pass `instance.protocol()` for the instance's
/// own. Fails when the instance has no `reserve_price`.
pub fn clear(
    instance: &ThresholdInstance,
    protocol: Protocol,
) -> Result<WithdrawalOutcome, ClearError> {
    let allocation = assign(instance)?;
    let report = protocol::evaluate(&allocation, protocol);
    Ok(WithdrawalOutcome {
        allocation,
        protocol: report,
    })
}

/// The assignment stage of withdrawal rights (§B.3, steps 1–5).
///
/// ```text
/// T' = T·(1 + slack)          r = min(reserve_price, budget / T')
/// eligible: c_i ≤ r           null unless Σ_eligible cap_i reaches T
/// greedy fill of T' in ascending (c_i, id)
/// t_i = c_i·x_i(c_i) + ∫_{c_i}^{r} x_i(z) dz
/// ```
///
/// The greedy fill keeps a running remainder R, starting at T'; each user
/// in turn gets min(cap_i, R), which is subtracted from R, and the fill
/// stops as soon as R ≤ 10⁻⁹·T' (spec "Numerics"). The eligible capacity
/// of the null test is a left fold in the same order.
///
/// The outcome lists the assigned users in allocation order. It costs one
/// sort, then per assigned user a binary search and a walk over the others
/// whose places lie within cap_i of the end of the fill: O(n log n) on
/// ordinary markets, O(n·m) in the worst case (m assigned users followed
/// by very many tiny capacities; 10,000 + 100,000 such users take about
/// 3 s).
///
/// Fails when the instance has no `reserve_price`.
pub fn assign(instance: &ThresholdInstance) -> Result<Allocation, ClearError> {
    let reserve = instance.effective_reserve().ok_or(ClearError {
        field: "reserve_price",
        mechanism: "withdrawal",
    })?;
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
        return Ok(Allocation {
            null: true,
            reserve,
            target,
            assignments: Vec::new(),
            total_payment: 0.0,
            game: Game::new(instance, &[]),
        });
    }

    let mut passed = Vec::with_capacity(capacities.len() + 1);
    passed.push(0.0);
    for capacity in &capacities {
        passed.push(passed[passed.len() - 1] + capacity);
    }
    let fill = Fill {
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
        assignments.push(Assignment {
            user,
            amount,
            payment,
        });
        remainder -= amount;
        if remainder <= fill.stop {
            break;
        }
    }
    let total_payment = assignments
        .iter()
        .fold(0.0, |sum, assignment| sum + assignment.payment);
    let game = Game::new(instance, &assignments);
    Ok(Allocation {
        null: false,
        reserve,
        target,
        assignments,
        total_payment,
        game,
    })
}

/// The eligible users in allocation order, and the fill's parameters.
struct Fill<'a> {
    costs: &'a [f64],
    capacities: &'a [f64],
    /// `passed[k]` = Σ of the first k capacities, in allocation order.
    passed: Vec<f64>,
    reserve: f64,
    /// The fill stops once the remainder is ≤ this (10⁻⁹·T').
    stop: f64,
}

impl Fill<'_> {
    /// The Myerson payment of the user at `position` p of the allocation
    /// order, who meets the running remainder R₀ = `remainder` and is
    /// assigned `amount` (§B.3, step 5).
    ///
    /// Reporting z ∈ (c_i, r] keeps i eligible, so the eligible set, and
    /// whether the outcome is null, do not change with z; only i's place in
    /// the order does. When z lies between the costs of the k-th and the
    /// (k+1)-th other user after p, i comes after those k users, and the
    /// greedy fill leaves it R_k:
    ///
    /// ```text
    /// R_k = max(0, R₀ − Σ_{j=1..k} cap_{p+j})
    /// x_i(z) = min(cap_i, R_k)   if R_k > 10⁻⁹·T',  else 0
    /// t_i = c_i·x_i + Σ_k x_i(segment k) · (c_{p+k+1} − c_{p+k})
    /// ```
    ///
    /// with c_{p+0} = c_i and c_{p+k+1} = r past the last eligible user.
    /// Equal costs give empty segments, which is how the id tie-break
    /// enters: z = c_i itself is a single point, which the integral
    /// ignores. x_i is non-increasing, so the sum has two phases:
    ///
    /// 1. while R_k ≥ cap_i (and above the stop), x_i = cap_i, and the
    ///    segments telescope to cap_i · (c_{p+k₁} − c_i), where k₁, the
    ///    first k that leaves less, is found by binary search on the prefix
    ///    sums of the capacities;
    /// 2. from k₁ on, the walk subtracts capacities one by one, like the
    ///    fill itself, until R_k falls to the stop.
    ///
    /// Phase 2 passes only the others whose place in the order lies within
    /// cap_i of the end of the fill: few on ordinary markets, but all of
    /// them when many tiny capacities follow (see [`assign`]). Summing
    /// phase 2 from prefix sums instead would cancel catastrophically when
    /// what is left is tiny next to T'.
    ///
    /// In real arithmetic c_i·x_i ≤ t_i ≤ r·x_i; the result is clamped at
    /// r·x_i so that rounding can never show as t_i > r·x_i.
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
        // The upper end of segment k.
        let upper = |k: usize| {
            self.costs
                .get(position + k + 1)
                .copied()
                .unwrap_or(self.reserve)
        };

        // Invariant: full(k) for k < low, and !full(k) for k ≥ high.
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

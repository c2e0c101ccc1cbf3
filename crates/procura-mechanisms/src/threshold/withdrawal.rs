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

#[cfg(test)]
mod oracle;

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
/// of the null test ([`is_feasible`]) is a left fold in the same order.
///
/// The outcome lists the assigned users in allocation order. It costs one
/// sort, then per assigned user a binary search, a walk of at most 256
/// segments and two more binary searches: O(n log n) in all cases, even
/// when very many tiny capacities follow the fill (the walk alone was
/// O(m·n) there: 50,000 + 50,000 such users took 8 s and now take about
/// 40 ms, `cargo bench -p procura --bench threshold -- assign-tiny-tail`).
///
/// Fails when the instance has no `reserve_price`.
pub fn assign(instance: &ThresholdInstance) -> Result<Allocation, ClearError> {
    assign_with(instance, WALK)
}

/// Whether withdrawal rights can collect on `instance`: whether the users
/// whose cost is at most the effective reserve r can reach T (§B.3, step
/// 3). When it is `false`, [`assign`] (and [`clear`]) give the null
/// outcome; this is the same test, written once.
///
/// ```text
/// feasible  ⇔  Σ_{c_i ≤ r} cap_i reaches T      (summed in ascending (c_i, id))
/// ```
///
/// ```
/// use procura_mechanisms::threshold::{withdrawal, ThresholdInstance, ThresholdSpec, UserSpec};
///
/// let spec = ThresholdSpec {
///     threshold: 3.0,
///     reserve_price: Some(1.0),
///     users: vec![UserSpec::new("a", 0.5, 2.0), UserSpec::new("b", 2.0, 2.0)],
///     ..ThresholdSpec::default()
/// };
/// let instance = ThresholdInstance::new(spec)?;
/// // Only `a` accepts the reserve, and 2 units do not reach 3.
/// assert_eq!(withdrawal::is_feasible(&instance), Ok(false));
/// assert!(withdrawal::assign(&instance)?.is_null());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Fails when the instance has no `reserve_price`.
pub fn is_feasible(instance: &ThresholdInstance) -> Result<bool, ClearError> {
    Eligible::of(instance).map(|eligible| eligible.feasible)
}

/// The numbers of the null test (§B.3, step 3), to say why an outcome is
/// null or not ([`null_test`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NullTest {
    /// The effective reserve r: `reserve_price`, lowered to budget / T'.
    pub reserve: f64,
    /// How many users have c_i ≤ r.
    pub eligible_users: usize,
    /// Their total capacity Σ cap_i, a left fold in ascending (c_i, id).
    pub eligible_capacity: f64,
    /// The threshold T it is tested against.
    pub threshold: f64,
    /// Whether the eligible capacity reaches T ([`super::reaches`]); the
    /// outcome is null exactly when it does not.
    pub feasible: bool,
}

/// The null test of withdrawal rights with its numbers: the effective
/// reserve, the users who accept it, their capacity against T, and the
/// verdict of [`is_feasible`] (the same computation, written once).
///
/// ```
/// use procura_mechanisms::threshold::{withdrawal, ThresholdInstance, ThresholdSpec, UserSpec};
///
/// let instance = ThresholdInstance::new(ThresholdSpec {
///     threshold: 3.0,
///     reserve_price: Some(1.0),
///     users: vec![UserSpec::new("a", 0.5, 2.0), UserSpec::new("b", 2.0, 2.0)],
///     ..ThresholdSpec::default()
/// })?;
/// let test = withdrawal::null_test(&instance)?;
/// assert_eq!((test.eligible_users, test.eligible_capacity, test.feasible), (1, 2.0, false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Fails when the instance has no `reserve_price`.
pub fn null_test(instance: &ThresholdInstance) -> Result<NullTest, ClearError> {
    let eligible = Eligible::of(instance)?;
    Ok(NullTest {
        reserve: eligible.reserve,
        eligible_users: eligible.users.len(),
        eligible_capacity: eligible.capacity,
        threshold: instance.threshold(),
        feasible: eligible.feasible,
    })
}

/// The users who accept the effective reserve, in allocation order, and
/// whether their capacity reaches T: the null test of §B.3, step 3.
struct Eligible {
    /// The effective reserve r.
    reserve: f64,
    /// Indices of the users with c_i ≤ r, in ascending (c_i, id).
    users: Vec<usize>,
    /// Σ cap_i over them, a left fold in that order.
    capacity: f64,
    /// Whether `capacity` reaches T.
    feasible: bool,
}

impl Eligible {
    /// Fails when the instance has no `reserve_price`.
    fn of(instance: &ThresholdInstance) -> Result<Eligible, ClearError> {
        let reserve = instance.effective_reserve().ok_or(ClearError {
            field: "reserve_price",
            mechanism: "withdrawal",
        })?;
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
        let capacity = eligible
            .iter()
            .fold(0.0, |sum, &index| sum + users[index].capacity());
        Ok(Eligible {
            reserve,
            feasible: reaches(capacity, instance.threshold()),
            capacity,
            users: eligible,
        })
    }
}

/// How many segments of a payment's second phase are summed one by one
/// before the rest is summed in closed form from [`Tail`]'s prefix sums
/// (see [`Fill::quantity_payment`]). Walks on ordinary markets are a few
/// segments long, so they never reach it, and their payments are the
/// plain walk's to the last bit.
const WALK: usize = 256;

/// [`assign`], with the payments' walks cut after `walk` segments (tests
/// compare cuts against the full walk).
pub(crate) fn assign_with(
    instance: &ThresholdInstance,
    walk: usize,
) -> Result<Allocation, ClearError> {
    let Eligible {
        reserve,
        users: eligible,
        feasible,
        ..
    } = Eligible::of(instance)?;
    let target = instance.target();
    let users = instance.users();
    let costs: Vec<f64> = eligible.iter().map(|&index| users[index].cost()).collect();
    let capacities: Vec<f64> = eligible
        .iter()
        .map(|&index| users[index].capacity())
        .collect();

    if !feasible {
        return Ok(Allocation {
            null: true,
            reserve,
            target,
            assignments: Vec::new(),
            total_payment: 0.0,
            game: Game::new(instance, &[]),
        });
    }

    // The fill: the remainder each assigned user meets, and its amount.
    let stop = FILL_RELATIVE * target;
    let mut met = Vec::new();
    let mut remainder = target;
    for &capacity in &capacities {
        let amount = capacity.min(remainder);
        met.push((remainder, amount));
        remainder -= amount;
        if remainder <= stop {
            break;
        }
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
        stop,
        tail: Tail::new(&costs, &capacities, reserve, met.len()),
        walk,
    };
    let assignments: Vec<Assignment> = met
        .iter()
        .enumerate()
        .map(|(position, &(remainder, amount))| Assignment {
            user: eligible[position],
            amount,
            payment: fill.quantity_payment(position, remainder, amount),
        })
        .collect();
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
    /// Sums taken from the end of the fill.
    tail: Tail<'a>,
    /// Segments of phase 2 walked one by one before [`Tail::rest`].
    walk: usize,
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
    /// 2. from k₁ on, x_i = R_k < cap_i: the walk subtracts capacities one
    ///    by one, like the fill itself, until R_k falls to the stop.
    ///
    /// Phase 2 passes the others whose place in the order lies within
    /// cap_i of the end of the fill: few on ordinary markets, but all of
    /// them when very many tiny capacities follow, which would make the
    /// walk O(m·n). So after [`WALK`] segments the rest of phase 2 is
    /// summed in closed form ([`Tail::rest`]) from prefix sums that start
    /// at the end of the fill, not at the first user: they hold only
    /// what lies past T', so nothing small is lost next to T' (prefix
    /// sums from the start would cancel catastrophically there). The
    /// closed form is exact in real arithmetic; in doubles it agrees with
    /// the walk to within (r − c_i)·(10⁻⁹·T' + 16·(n + 2)·ε·cap_i) +
    /// 4·ε·r·x_i, the second term for both sides' rounding and the first
    /// for a rounding that moves the stop by a segment (the walk, kept as
    /// the test oracle in `withdrawal/oracle.rs`, checks this bound; on its
    /// random markets the largest gap is about 2·ε·r·cap_i).
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
                let segment = position + k;
                if k - first_partial >= self.walk {
                    payment += self.tail.rest(segment, left, self.stop);
                    break;
                }
                payment += capacity.min(left) * (upper(k) - self.costs[segment]);
                if k < n_others {
                    left -= self.capacities[segment + 1].min(left);
                }
            }
        }
        payment.min(self.reserve * amount)
    }
}

/// Sums over the eligible users taken from the end of the fill, for the
/// closed form of a payment's second phase ([`Tail::rest`]).
///
/// With m assigned users among n eligible ones, and segment j running
/// from c_j to c_{j+1} (c_n = r):
///
/// ```text
/// S_m = 0        S_{j+1} = S_j + cap_j  (j ≥ m)       S_j = S_{j+1} − cap_j  (j < m)
/// W_{m−1} = 0    W_{j+1} = W_j + S_{j+1}·(c_{j+1} − c_j)  (j ≥ m − 1),  backwards below
/// ```
///
/// so that S_j = Σ_{i<j} cap_i − Σ_{i<m} cap_i and, for a ≤ b,
/// W_b − W_a = Σ_{a≤j<b} S_{j+1}·(c_{j+1} − c_j). Both are folds outward
/// from the end of the fill, so near it they hold only what lies within a
/// few capacities of T' and stay small next to it. Second phases lie
/// there: past the end of the fill in real arithmetic, and at most a few
/// segments before it by rounding.
struct Tail<'a> {
    /// c_j, in allocation order.
    costs: &'a [f64],
    /// c_n = r.
    reserve: f64,
    /// S_j, j = 0..=n.
    sums: Vec<f64>,
    /// W_j, j = 0..=n.
    weighted: Vec<f64>,
}

impl<'a> Tail<'a> {
    /// The sums after `assigned` ≥ 1 users of the eligible users `costs`
    /// and `capacities` (allocation order), with reserve `reserve`.
    fn new(costs: &'a [f64], capacities: &[f64], reserve: f64, assigned: usize) -> Tail<'a> {
        let n = costs.len();
        let mut sums = vec![0.0; n + 1];
        for j in assigned..n {
            sums[j + 1] = sums[j] + capacities[j];
        }
        for j in (0..assigned).rev() {
            sums[j] = sums[j + 1] - capacities[j];
        }
        let mut tail = Tail {
            costs,
            reserve,
            sums,
            weighted: vec![0.0; n + 1],
        };
        let origin = assigned - 1;
        for j in origin..n {
            let term = tail.sums[j + 1] * (tail.cost(j + 1) - tail.cost(j));
            tail.weighted[j + 1] = tail.weighted[j] + term;
        }
        for j in (0..origin).rev() {
            let term = tail.sums[j + 1] * (tail.cost(j + 1) - tail.cost(j));
            tail.weighted[j] = tail.weighted[j + 1] - term;
        }
        tail
    }

    /// c_j, for 0 ≤ j ≤ n (c_n = r).
    fn cost(&self, j: usize) -> f64 {
        self.costs.get(j).copied().unwrap_or(self.reserve)
    }

    /// The rest of a payment's second phase from segment `from` = j₀ on,
    /// where the walk has `left` = R, with `stop` < R < cap_i: the user is
    /// assigned R_j = R − (S_{j+1} − S_{j₀+1}) on segment j until that
    /// falls to the stop, at the first j = e (or n):
    ///
    /// ```text
    /// Σ_{j=j₀..e−1} R_j·(c_{j+1} − c_j) = (R + S_{j₀+1})·(c_e − c_{j₀}) − (W_e − W_{j₀})
    /// ```
    ///
    /// e is found by binary search on S. Every S and W involved is at most
    /// about cap_i (times r), so the subtraction loses no more than a few
    /// ε·cap_i·r.
    fn rest(&self, from: usize, left: f64, stop: f64) -> f64 {
        let n = self.costs.len();
        let base = self.sums[from + 1];
        let live = |j: usize| left - (self.sums[j + 1] - base) > stop;
        // Invariant: live(j) for j < low, and !live(j) for j ≥ high.
        let (mut low, mut high) = (from + 1, n);
        while low < high {
            let middle = low + (high - low) / 2;
            if live(middle) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let width = self.cost(low) - self.cost(from);
        ((left + base) * width - (self.weighted[low] - self.weighted[from])).max(0.0)
    }
}

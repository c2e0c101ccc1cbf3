//! How the auctions compute when the spec's formulas leave the normal range
//! of doubles (issue 14): the one home of that decision.
//!
//! # The decision
//!
//! The spec's formulas (r = b/w, the share (B·w)/W, θ = w·min(r', B/W),
//! the MUT share (Π·w)/W_A and its worth R·τ/Π, Mixed-MIA's λ·θ and
//! (1 − λ)·θ) are evaluated in [`Wide`]: doubles with the same 53-bit
//! significand and round-to-nearest, but an **unbounded exponent**, built
//! by scaling with powers of two, which is exact. Each operation rounds
//! once, to 53 bits, and nothing underflows or overflows in between.
//!
//! - **In the normal range nothing changes.** Where every intermediate of
//!   a formula lies in the normal range of doubles (or is exactly 0),
//!   [`Wide`] rounds exactly as IEEE does, so outcomes are bit for bit
//!   those of the plain double formulas.
//! - **Outside it, the formulas keep their relative precision** where
//!   plain doubles lose it: a product B·w that would be subnormal keeps all
//!   its bits (issue 14, class 1: B = 0.6 against w = 5e-324 paid 1.0), a
//!   quotient B/W that would underflow to 0 stays B/W (class 2: a winner
//!   bidding 1e-300 was paid 0), and a ratio b/w that would underflow to a
//!   subnormal keeps its place in the ranking. Rankings compare the ratios
//!   as [`Wide`] numbers: the spec's doubles wherever those are normal.
//! - **Amounts are rounded to doubles once, at the end.** A payment, a
//!   number of tokens or a token's worth is exact whenever it is at least
//!   2⁻¹⁰²² (the smallest normal double): its 53 bits fit. Below that the
//!   doubles are subnormal, spaced 2⁻¹⁰⁷⁴ apart, and the amount is
//!   **rounded up** to the next of them ([`Wide::to_amount`]), so that
//!   rounding never takes a winner below its bid and adds at most 2⁻¹⁰⁷⁴
//!   per winner to a budget's total. The one exception is Mixed-MIA's
//!   tokens, rounded **down** below 2⁻¹⁰²², the difference paid in cash
//!   ([`super::mixed`]): a token budget may be subnormal, the cash budget
//!   may not.
//! - **What is refused.** Validation ([`super::Instance::new`]) refuses a
//!   budget or a token pool that is subnormal (positive but below
//!   2⁻¹⁰²²): 2⁻¹⁰⁷⁴ per winner is then no longer small against it, and no
//!   rounding of each winner's amount on its own keeps both IR and the
//!   budget (two winners each owed half of B = 2⁻¹⁰⁷⁴ get 0 or 2⁻¹⁰⁷⁴
//!   each). It refuses a budget, token budget, pool, Mixed-MIA effective
//!   budget or total score whose promised totals could round past the
//!   largest double ([`crate::tolerance::rounding_bound`]), and nothing
//!   else: the products B·w that validation used to bound cannot overflow
//!   any more.
//!
//! # What is promised, exactly
//!
//! With n the number of providers and ε_n =
//! [`rounding_bound(n)`](crate::tolerance::rounding_bound) = (8n + 16)·2⁻⁵³,
//! every outcome of a valid instance keeps, at every magnitude:
//!
//! ```text
//! reward_i ≥ b_i·(1 − ε_n)      every winner (cash + tokens at face value; R·τ/Π for MUT)
//! Σ cash   ≤ B·(1 + ε_n)        Q-MIA, Mixed-MIA
//! Σ tokens ≤ R·(1 + ε_n)        Mixed-MIA
//! Σ τ      ≤ Π·(1 + ε_n)        MUT
//! Σ cash   ≤ B, reward_i = b_i  the baselines: exactly
//! ```
//!
//! and every amount and total is finite. These identities are exact in
//! real arithmetic; the slack is the rounding of the spec's formulas in
//! doubles, which the normal range already shows (a lone Q-MIA winner is
//! paid w·(B/w): 37·(0.6/37) = 0.6000000000000001 > B = 0.6, and
//! 49·(1/49) = 1 − 2⁻⁵³ to a winner bidding 1). The error analysis, with
//! u = 2⁻⁵³, every [`Wide`] operation and every sum of non-negative doubles
//! rounding once by at most u relative:
//!
//! - **IR, Q-MIA.** A winner at place p passed b ≤ (B·w)/W, so
//!   b/w ≤ (B/W)(1+u)². If the search for m* stops at or after its place,
//!   θ ≥ w·min(r', B/W) with r' ≥ its own ratio ≥ (b/w)(1−u): θ ≥
//!   b(1−u)²/(1+u)². If it stops before (a rounding-level failure of the
//!   predicate r'_m ≤ B/(W'_m + w)), the running scores it compares are
//!   subsets of W summed in another order, within ((1+u)/(1−u))^p of W, so
//!   θ ≥ b((1−u)/(1+u))^(p+2) ≥ b(1 − 2(n+1)u).
//! - **IR, Mixed-MIA**: λ·θ and (1 − λ)·θ, then their sum, round three
//!   more times (four when the tokens' rounding moves to cash): ≥
//!   b(1 − (2n+6)u). **MUT**: every admitted ratio is at most
//!   the last one, itself ≤ (R/W_A)(1+u)³, so R·τ/Π ≥ b(1−u)⁵/(1+u)³ ≥
//!   b(1 − 8u). Rounding amounts up below 2⁻¹⁰²² only adds to these, and
//!   Mixed-MIA's tokens rounded down are made up in cash.
//! - **Budgets.** Each critical value is at most w_i·(B/W)·(1+u)⁴/(1−u)ⁿ⁻¹
//!   with W the winners' exact total score (Singer's bound: either m* covers
//!   every other winner, or r'_{m*+1} is a winner's ratio, at most the last
//!   winner's), and the left fold of k payments adds (1+u)ᵏ⁻¹: (2n+2)u to
//!   first order, (2n+4)u for Mixed-MIA's cash and tokens (λ·B_eff ≤
//!   B(1+u), (1 − λ)·B_eff ≤ R(1+u)) and MUT's shares. Rounding up below
//!   2⁻¹⁰²² adds at most 2⁻¹⁰⁷⁴ ≤ 2u·B per winner (B, Π ≥ 2⁻¹⁰²²), twice that
//!   for Mixed-MIA's cash when it takes over the tokens' rounding, nothing
//!   to Mixed-MIA's tokens: at most (6n + 4)u in all, to first order. ε_n
//!   leaves 2n + 12 roundings for the higher-order terms, which is enough
//!   for any n below 2⁴⁰.

/// The arithmetic the auctions' formulas are written in, once, generically:
/// [`Wide`] at every magnitude, or plain `f64` where [`FastRange`] has
/// proved that every intermediate stays in the normal range (or is exactly
/// 0). There [`Wide`] rounds exactly as IEEE does (see above), so both give
/// the same bits; `f64` only skips the exponent bookkeeping.
pub(crate) trait Arith: Copy + PartialOrd + std::fmt::Debug {
    /// The double `value` (≥ 0), exactly.
    fn of(value: f64) -> Self;
    /// `dividend / divisor`, rounded once ([`Wide::quotient`]).
    fn quotient(dividend: f64, divisor: f64) -> Self;
    /// `(a · b) / divisor`, each step rounded once ([`Wide::product_over`]).
    fn product_over(a: f64, b: f64, divisor: f64) -> Self;
    /// `self · other`, rounded once.
    #[must_use]
    fn mul(self, other: Self) -> Self;
    /// `self + other`, rounded once.
    #[must_use]
    fn add(self, other: Self) -> Self;
    /// `self − other`, 0 for `other ≥ self` ([`Wide::sub`]).
    #[must_use]
    fn sub(self, other: Self) -> Self;
    /// The smaller of the two (`self` on a tie).
    #[must_use]
    fn min(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
    /// [`Wide::is_below_normal`].
    fn is_below_normal(self) -> bool;
    /// [`Wide::to_f64`].
    fn to_f64(self) -> f64;
    /// [`Wide::to_amount`].
    fn to_amount(self) -> f64;
    /// [`Wide::to_amount_down`].
    fn to_amount_down(self) -> f64;
}

impl Arith for Wide {
    fn of(value: f64) -> Wide {
        Wide::new(value)
    }
    fn quotient(dividend: f64, divisor: f64) -> Wide {
        Wide::quotient(dividend, divisor)
    }
    fn product_over(a: f64, b: f64, divisor: f64) -> Wide {
        Wide::product_over(a, b, divisor)
    }
    fn mul(self, other: Wide) -> Wide {
        Wide::mul(self, other)
    }
    fn add(self, other: Wide) -> Wide {
        Wide::add(self, other)
    }
    fn sub(self, other: Wide) -> Wide {
        Wide::sub(self, other)
    }
    fn min(self, other: Wide) -> Wide {
        Wide::min(self, other)
    }
    fn is_below_normal(self) -> bool {
        Wide::is_below_normal(self)
    }
    fn to_f64(self) -> f64 {
        Wide::to_f64(self)
    }
    fn to_amount(self) -> f64 {
        Wide::to_amount(self)
    }
    fn to_amount_down(self) -> f64 {
        Wide::to_amount_down(self)
    }
}

/// Plain IEEE doubles: only where [`FastRange`] holds, which keeps every
/// result normal or 0, so that each operation is the one rounding [`Wide`]
/// makes and the amounts need no rounding of their own.
impl Arith for f64 {
    fn of(value: f64) -> f64 {
        value
    }
    fn quotient(dividend: f64, divisor: f64) -> f64 {
        dividend / divisor
    }
    fn product_over(a: f64, b: f64, divisor: f64) -> f64 {
        (a * b) / divisor
    }
    fn mul(self, other: f64) -> f64 {
        self * other
    }
    fn add(self, other: f64) -> f64 {
        self + other
    }
    fn sub(self, other: f64) -> f64 {
        if other >= self {
            0.0
        } else {
            self - other
        }
    }
    fn is_below_normal(self) -> bool {
        self > 0.0 && self < f64::MIN_POSITIVE
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn to_amount(self) -> f64 {
        self.min(f64::MAX)
    }
    fn to_amount_down(self) -> f64 {
        self.min(f64::MAX)
    }
}

/// The range check that lets the formulas run in plain `f64` ([`Arith`]):
/// every number an instance feeds them is 0 or within [2⁻²⁰⁰, 2²⁰⁰]
/// ([`FastRange::instance`]), and every number a single call adds (a
/// deviating bid, a MUT share) is 0 or within [2⁻⁴⁰⁰, 2⁴⁰⁰]
/// ([`FastRange::report`]).
///
/// Why that keeps every intermediate normal or exactly 0, with k = 200,
/// n < 2³² providers and u = 2⁻⁵³ (a sum of n non-negative doubles, each
/// ≤ 2ᵏ, is at most n·2ᵏ·(1+u)ⁿ < 2ᵏ⁺³³, and a positive one is at least
/// its largest term, ≥ 2⁻ᵏ):
///
/// - budgets B, R, B_eff, the pool Π, λ and 1 − λ, scores w, bids b and
///   the baselines' weights (volume, claimed quality · volume) are checked
///   directly: in [2⁻ᵏ, 2ᵏ] or 0;
/// - a ratio b/w of the instance lies in [2⁻²ᵏ, 2²ᵏ] (or is 0); of a
///   deviating bid in [2⁻⁶⁰⁰, 2⁶⁰⁰];
/// - B/W lies in [2⁻²ᵏ⁻³³, 2²ᵏ]; B·w in [2⁻²ᵏ, 2²ᵏ], (B·w)/W in
///   [2⁻³ᵏ⁻³³, 2³ᵏ]; Π·w/W_A likewise;
/// - θ = w·min(r', B/W) lies in [2⁻³ᵏ⁻³³, 2³ᵏ] (or is 0), λ·θ and
///   (1 − λ)·θ in [2⁻⁴ᵏ⁻³³, 2³ᵏ] = [2⁻⁸³³, 2⁶⁰⁰];
/// - a critical bid r·w in [2⁻³ᵏ, 2³ᵏ]; a MUT share's worth R·τ/Π in
///   [2⁻⁸⁰⁰, 2⁸⁰⁰].
///
/// All within [2⁻¹⁰²², 2¹⁰²³], the normal doubles; a value that is 0 stays
/// exactly 0 in both arithmetics. Sums and differences of doubles outside
/// the formulas (running scores and bids, B − spent) are doubles on both
/// paths.
pub(crate) struct FastRange;

impl FastRange {
    /// 2⁻²⁰⁰.
    const LOW: f64 = f64::from_bits((1023 - 200) << 52);
    /// 2²⁰⁰.
    const HIGH: f64 = f64::from_bits((1023 + 200) << 52);
    /// 2⁻⁴⁰⁰.
    const REPORT_LOW: f64 = f64::from_bits((1023 - 400) << 52);
    /// 2⁴⁰⁰.
    const REPORT_HIGH: f64 = f64::from_bits((1023 + 400) << 52);

    /// Whether `value` is 0 or within [2⁻²⁰⁰, 2²⁰⁰].
    pub(crate) fn holds(value: f64) -> bool {
        !FastRange::outside(value, FastRange::LOW, FastRange::HIGH)
    }

    /// Whether `value`, one call's own number, is 0 or within
    /// [2⁻⁴⁰⁰, 2⁴⁰⁰].
    pub(crate) fn report(value: f64) -> bool {
        !FastRange::outside(value, FastRange::REPORT_LOW, FastRange::REPORT_HIGH)
    }

    /// Whether `value` is neither +0 nor within [low, high] (positive
    /// doubles): on the bits, which order positive doubles as numbers, so
    /// that negative numbers, −0, ∞ and NaN fall outside too. Without
    /// branches, so that a check over every provider stays cheap.
    fn outside(value: f64, low: f64, high: f64) -> bool {
        let bits = value.to_bits();
        (bits != 0) & (bits.wrapping_sub(low.to_bits()) > high.to_bits() - low.to_bits())
    }

    /// Whether every number of `instance` that the formulas of any
    /// mechanism read is in range ([`FastRange::holds`]), with fewer than
    /// 2³² providers. O(1): the instance counts its providers outside the
    /// range as it is built and changed ([`FastRange::count_outside`]).
    pub(crate) fn instance(instance: &super::Instance) -> bool {
        let liquidity = instance.liquidity();
        instance.outside_fast_range() == 0
            && u32::try_from(instance.providers().len()).is_ok()
            && [
                instance.budget(),
                instance.token_budget(),
                instance.token_pool(),
                liquidity,
                1.0 - liquidity,
                super::mixed::effective_budget(instance),
            ]
            .into_iter()
            .all(FastRange::holds)
    }

    /// Whether some number of `provider` that a formula reads (bid, score,
    /// volume, trust weight) is outside [2⁻²⁰⁰, 2²⁰⁰] and not 0.
    pub(crate) fn outside_provider(provider: &super::Provider) -> bool {
        let out = |value| FastRange::outside(value, FastRange::LOW, FastRange::HIGH);
        out(provider.bid())
            | out(provider.score())
            | out(provider.volume())
            | out(provider.claimed_quality() * provider.volume())
    }

    /// How many of `providers` are [outside](FastRange::outside_provider).
    pub(crate) fn count_outside(providers: &[super::Provider]) -> usize {
        providers
            .iter()
            .map(|provider| usize::from(FastRange::outside_provider(provider)))
            .sum()
    }
}

/// 2⁶⁴, to bring a subnormal double into the normal range exactly.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
/// The significand bits of a double.
const SIGNIFICAND_BITS: u64 = (1 << 52) - 1;

/// A non-negative number with a 53-bit significand and an unbounded
/// exponent: `significand · 2^exponent`, the significand in [1, 2), or
/// exactly 0. Operations round to nearest, ties to even, once, as IEEE
/// doubles do, so that they agree with doubles bit for bit wherever the
/// double result is normal; they never underflow or overflow.
///
/// The fields are ordered so that the derived comparison, exponent first,
/// is the order of the numbers: significands lie in [1, 2), and 0 has the
/// smallest exponent of all.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct Wide {
    /// i32::MIN for 0.
    exponent: i32,
    /// In [1, 2), or 0.
    significand: f64,
}

/// How a number below the normal range is rounded to a double.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subnormal {
    /// To the nearest subnormal, ties to even: what IEEE arithmetic does.
    Nearest,
    /// Up, to the next subnormal at or above the number.
    Up,
    /// Down, to the next subnormal at or below the number.
    Down,
}

/// Beyond this difference of exponents, the smaller of two numbers is below
/// a quarter of the larger's last place, and adding or subtracting it
/// leaves the larger unchanged once rounded.
const NEGLIGIBLE: i32 = 60;

/// 2^`exponent` as a double, for -1022 ≤ `exponent` ≤ 1023.
fn power_of_two(exponent: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&exponent));
    f64::from_bits(u64::from((exponent + 1023).unsigned_abs()) << 52)
}

impl Wide {
    /// Zero.
    pub(crate) const ZERO: Wide = Wide {
        exponent: i32::MIN,
        significand: 0.0,
    };

    /// The double `value`, exactly. `value` must be ≥ 0 (every number the
    /// auctions compute with is); +∞ reads as 2¹⁰²⁴, above every finite
    /// double.
    pub(crate) fn new(value: f64) -> Wide {
        debug_assert!(value >= 0.0, "Wide holds non-negative numbers: {value}");
        if value == 0.0 || value.is_nan() {
            return Wide::ZERO;
        }
        if value.is_infinite() {
            return Wide {
                significand: 1.0,
                exponent: 1024,
            };
        }
        let bits = value.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        if biased == 0 {
            // Subnormal: scaling by 2⁶⁴ is exact and makes it normal.
            let scaled = Wide::new(value * TWO_POW_64);
            return Wide {
                exponent: scaled.exponent - 64,
                ..scaled
            };
        }
        Wide {
            significand: f64::from_bits((bits & SIGNIFICAND_BITS) | (1023 << 52)),
            exponent: biased - 1023,
        }
    }

    /// `dividend / divisor` for doubles ≥ 0 (the divisor > 0), rounded once
    /// to 53 bits: [`Wide::div`] of the two, and, whenever the double
    /// quotient is normal, that double itself (IEEE rounds the same way
    /// there), which is the fast path of every ranking key.
    pub(crate) fn quotient(dividend: f64, divisor: f64) -> Wide {
        let quotient = dividend / divisor;
        if quotient > f64::MIN_POSITIVE && quotient <= f64::MAX {
            Wide::new(quotient)
        } else {
            Wide::new(dividend).div(Wide::new(divisor))
        }
    }

    /// `(a · b) / divisor` for doubles ≥ 0 (the divisor > 0), each step
    /// rounded once to 53 bits; the doubles themselves whenever both steps
    /// stay in the normal range, as [`Wide::quotient`].
    pub(crate) fn product_over(a: f64, b: f64, divisor: f64) -> Wide {
        let product = a * b;
        if product > f64::MIN_POSITIVE && product <= f64::MAX {
            Wide::quotient(product, divisor)
        } else {
            Wide::new(a).mul(Wide::new(b)).div(Wide::new(divisor))
        }
    }

    /// Whether this is 0.
    pub(crate) fn is_zero(self) -> bool {
        self.significand == 0.0
    }

    /// `self · other`, rounded once to 53 bits.
    #[must_use]
    pub(crate) fn mul(self, other: Wide) -> Wide {
        if self.is_zero() || other.is_zero() {
            return Wide::ZERO;
        }
        // Two significands in [1, 2): the product lies in [1, 4), a normal
        // double, so this is the one rounding to 53 bits.
        let product = self.significand * other.significand;
        let exponent = self.exponent + other.exponent;
        if product >= 2.0 {
            Wide {
                significand: product * 0.5,
                exponent: exponent + 1,
            }
        } else {
            Wide {
                significand: product,
                exponent,
            }
        }
    }

    /// `self / other`, rounded once to 53 bits; `other` must not be 0.
    #[must_use]
    pub(crate) fn div(self, other: Wide) -> Wide {
        debug_assert!(!other.is_zero(), "Wide division by zero");
        if self.is_zero() || other.is_zero() {
            return Wide::ZERO;
        }
        // The quotient of significands lies in (1/2, 2), a normal double.
        let quotient = self.significand / other.significand;
        let exponent = self.exponent - other.exponent;
        if quotient < 1.0 {
            Wide {
                significand: quotient * 2.0,
                exponent: exponent - 1,
            }
        } else {
            Wide {
                significand: quotient,
                exponent,
            }
        }
    }

    /// `self + other`, rounded once to 53 bits.
    #[must_use]
    pub(crate) fn add(self, other: Wide) -> Wide {
        let (large, small) = if other > self {
            (other, self)
        } else {
            (self, other)
        };
        if small.is_zero() || large.exponent - small.exponent > NEGLIGIBLE {
            return large;
        }
        // The smaller significand shifted by at most 2⁻⁶⁰ stays exact; the
        // sum, in [1, 4), is rounded once.
        let shift = power_of_two(small.exponent - large.exponent);
        Wide::scaled(
            large.significand + small.significand * shift,
            large.exponent,
        )
    }

    /// `self − other` for `other ≤ self`, rounded once to 53 bits (0 for
    /// `other ≥ self`).
    #[must_use]
    pub(crate) fn sub(self, other: Wide) -> Wide {
        if other >= self {
            return Wide::ZERO;
        }
        if other.is_zero() || self.exponent - other.exponent > NEGLIGIBLE {
            return self;
        }
        // As in `add`: one exact shift, one rounding. The difference is a
        // multiple of 2⁻¹¹² in (0, 2), a normal double.
        let shift = power_of_two(other.exponent - self.exponent);
        Wide::scaled(self.significand - other.significand * shift, self.exponent)
    }

    /// `value · 2^exponent` for a positive normal double `value`, exactly.
    fn scaled(value: f64, exponent: i32) -> Wide {
        let normalised = Wide::new(value);
        Wide {
            exponent: normalised.exponent + exponent,
            ..normalised
        }
    }

    /// Whether this is positive and below 2⁻¹⁰²², the smallest normal
    /// double: as a double it would be subnormal (or 0), and lose bits.
    pub(crate) fn is_below_normal(self) -> bool {
        !self.is_zero() && self.exponent < -1022
    }

    /// The smaller of the two.
    #[must_use]
    pub(crate) fn min(self, other: Wide) -> Wide {
        if other < self {
            other
        } else {
            self
        }
    }

    /// The nearest double, as IEEE rounds (+∞ beyond the largest double).
    pub(crate) fn to_f64(self) -> f64 {
        self.rounded(Subnormal::Nearest)
    }

    /// An amount paid or valued (a payment, tokens, a token's worth) as a
    /// double: exact from 2⁻¹⁰²² up, rounded **up** to the next subnormal
    /// below (see the module's decision). Validation keeps the amounts
    /// below the largest double; beyond it, this saturates there.
    pub(crate) fn to_amount(self) -> f64 {
        self.rounded(Subnormal::Up).min(f64::MAX)
    }

    /// As [`Wide::to_amount`], but rounded **down** below 2⁻¹⁰²² (see
    /// Mixed-MIA's tokens in the module's decision).
    pub(crate) fn to_amount_down(self) -> f64 {
        self.rounded(Subnormal::Down).min(f64::MAX)
    }

    fn rounded(self, subnormal: Subnormal) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        if self.exponent > 1023 {
            return f64::INFINITY;
        }
        if self.exponent >= -1022 {
            // Normal: the 53 bits fit exactly.
            return self.significand * power_of_two(self.exponent);
        }
        // Below 2⁻¹⁰²²: count in units of the smallest subnormal, 2⁻¹⁰⁷⁴.
        let shift = self.exponent + 1074;
        let units = if shift >= -1 {
            // significand · 2^shift < 2⁵², exactly representable.
            self.significand * power_of_two(shift)
        } else {
            // Below half a unit: only its position against 0 and 1 matters.
            0.25
        };
        let whole = match subnormal {
            Subnormal::Nearest => units.round_ties_even(),
            Subnormal::Up => units.ceil(),
            Subnormal::Down => units.floor(),
        };
        // A count of at most 2⁵² units is the bit pattern of that double.
        f64::from_bits(whole as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::Wide;

    const SUBNORMAL_STEP: f64 = 5e-324;

    #[test]
    fn doubles_round_trip_exactly() {
        for value in [
            0.0,
            SUBNORMAL_STEP,
            3.0 * SUBNORMAL_STEP,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE - SUBNORMAL_STEP,
            0.6,
            1.0,
            1e300,
            f64::MAX,
        ] {
            assert_eq!(Wide::new(value).to_f64().to_bits(), value.to_bits());
            assert_eq!(Wide::new(value).to_amount().to_bits(), value.to_bits());
        }
    }

    #[test]
    fn operations_agree_with_doubles_in_the_normal_range() {
        let values = [0.1, 0.6, 1.0 / 3.0, 7.0, 1e-300, 1e300, 49.0, 2.5e-8];
        for a in values {
            for b in values {
                let (x, y) = (Wide::new(a), Wide::new(b));
                let product = a * b;
                if product.is_finite() && product > f64::MIN_POSITIVE {
                    assert_eq!(x.mul(y).to_f64().to_bits(), product.to_bits(), "{a}·{b}");
                }
                let quotient = a / b;
                if quotient.is_finite() && quotient > f64::MIN_POSITIVE {
                    assert_eq!(x.div(y).to_f64().to_bits(), quotient.to_bits(), "{a}/{b}");
                }
                assert_eq!(x.partial_cmp(&y), a.partial_cmp(&b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_the_general_operations() {
        let values = [
            0.0,
            SUBNORMAL_STEP,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE * 3.0,
            0.6,
            37.0,
            1e-300,
            1e300,
            f64::MAX,
        ];
        for a in values {
            for b in values {
                for c in values.into_iter().filter(|c| *c > 0.0) {
                    let (x, y, z) = (Wide::new(a), Wide::new(b), Wide::new(c));
                    assert_eq!(Wide::quotient(a, c), x.div(z), "{a}/{c}");
                    assert_eq!(Wide::product_over(a, b, c), x.mul(y).div(z), "{a}·{b}/{c}");
                }
            }
        }
    }

    #[test]
    fn nothing_underflows_or_overflows_in_between() {
        // 0.6·2⁻¹⁰⁷⁴ / 2⁻¹⁰⁷⁴ = 0.6, where doubles give 1.
        let step = Wide::new(SUBNORMAL_STEP);
        assert_eq!(Wide::new(0.6).mul(step).div(step).to_f64(), 0.6);
        // 1e30·(1e-300/1e30) = 1e-300, where doubles give 0.
        let big = Wide::new(1e30);
        let back = big.mul(Wide::new(1e-300).div(big)).to_f64();
        assert!((back - 1e-300).abs() <= 1e-300 * 1e-15, "{back}");
        // 1e300·1e300 / 1e300 = 1e300, where doubles give +∞.
        let huge = Wide::new(1e300);
        assert_eq!(huge.mul(huge).div(huge).to_f64(), 1e300);
    }

    #[test]
    fn sums_and_differences_round_once() {
        let values = [0.1, 0.6, 1.0 / 3.0, 7.0, 1e-300, 1e300, 2.5e-8, 1.0];
        for a in values {
            for b in values {
                let (x, y) = (Wide::new(a), Wide::new(b));
                assert_eq!(x.add(y).to_f64().to_bits(), (a + b).to_bits(), "{a}+{b}");
                if a >= b {
                    assert_eq!(x.sub(y).to_f64().to_bits(), (a - b).to_bits(), "{a}-{b}");
                } else {
                    assert!(x.sub(y).is_zero());
                }
            }
        }
        // Below the normal range, the same roundings as at 1: the smallest
        // subnormal times (0.6 + 0.7) − 0.7 is (0.6 + 0.7) − 0.7 of it.
        let step = Wide::new(SUBNORMAL_STEP);
        let (six, seven) = (Wide::new(0.6).mul(step), Wide::new(0.7).mul(step));
        assert_eq!(
            six.add(seven).sub(seven).div(step).to_f64(),
            (0.6 + 0.7) - 0.7
        );
        assert!(six.is_below_normal() && !Wide::new(1.0).is_below_normal());
    }

    #[test]
    fn amounts_below_the_normal_range_round_up() {
        let step = Wide::new(SUBNORMAL_STEP);
        let half = step.div(Wide::new(2.0));
        assert_eq!(half.to_f64(), 0.0, "a tie rounds to even");
        assert_eq!(half.to_amount(), SUBNORMAL_STEP);
        let tiny = step.div(Wide::new(1e300));
        assert_eq!(tiny.to_f64(), 0.0);
        assert_eq!(tiny.to_amount(), SUBNORMAL_STEP);
        let third = Wide::new(f64::MIN_POSITIVE).div(Wide::new(3.0));
        assert_eq!(third.to_f64(), f64::MIN_POSITIVE / 3.0);
        assert!(third.to_amount() >= f64::MIN_POSITIVE / 3.0);
        assert!(third.to_amount() - f64::MIN_POSITIVE / 3.0 <= SUBNORMAL_STEP);
        assert_eq!(half.to_amount_down(), 0.0);
        assert_eq!(
            Wide::new(2.5).mul(step).to_amount_down(),
            2.0 * SUBNORMAL_STEP
        );
        let beyond = Wide::new(f64::MAX).mul(Wide::new(2.0));
        assert_eq!(beyond.to_f64(), f64::INFINITY);
        assert_eq!(beyond.to_amount(), f64::MAX);
    }
}

//! Small threshold cases derived by hand, with the arithmetic in the
//! comments (§B.2–§B.4), and the validation rules of §B.1 with their
//! messages.

use procura_mechanisms::threshold::{
    protocol, subsidy, withdrawal, ClearError, Protocol, ThresholdError, ThresholdInstance,
    ThresholdSpec, UserSpec,
};
use procura_mechanisms::tolerance::{approx_eq, GOLDEN_RELATIVE};

fn user(id: &str, cost: f64, capacity: f64, benefit: f64) -> UserSpec {
    UserSpec {
        benefit: Some(benefit),
        ..UserSpec::new(id, cost, capacity)
    }
}

/// An instance with threshold T, reserve r and the given users; other
/// fields from `rest`.
fn market(
    threshold: f64,
    reserve: f64,
    users: Vec<UserSpec>,
    rest: &ThresholdSpec,
) -> ThresholdInstance {
    ThresholdInstance::new(ThresholdSpec {
        threshold,
        reserve_price: Some(reserve),
        users,
        ..*rest
    })
    .expect("hand-written instance is valid")
}

/// Checks the withdrawal allocation: (id, amount, payment) in allocation
/// order.
fn check_allocation(instance: &ThresholdInstance, expected: &[(&str, f64, f64)]) {
    let allocation = withdrawal::assign(instance).expect("reserve_price given");
    let got: Vec<(&str, f64, f64)> = allocation
        .assignments()
        .iter()
        .map(|a| (instance.users()[a.user].id(), a.amount, a.payment))
        .collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "got {got:?}, expected {expected:?}"
    );
    for (got, expected) in got.iter().zip(expected) {
        assert_eq!(got.0, expected.0, "order: {got:?} vs {expected:?}");
        assert!(
            approx_eq(got.1, expected.1, GOLDEN_RELATIVE)
                && approx_eq(got.2, expected.2, GOLDEN_RELATIVE),
            "got {got:?}, expected {expected:?}"
        );
    }
}

/// Checks a protocol's (success, payment, participants, data).
fn check_protocol(instance: &ThresholdInstance, protocol: Protocol, expected: [f64; 4]) {
    let outcome = withdrawal::clear(instance, protocol).expect("reserve_price given");
    let report = outcome.protocol().expect("outcome is not null");
    let got = [
        report.success_probability,
        report.expected_payment,
        report.expected_participants,
        report.expected_data,
    ];
    for (got_value, expected_value) in got.iter().zip(expected) {
        assert!(
            approx_eq(*got_value, expected_value, 1e-12),
            "{protocol}: got {got:?}, expected {expected:?}"
        );
    }
}

fn g(cutoff: f64, shock_mean: f64) -> f64 {
    1.0 - (-cutoff / shock_mean).exp()
}

#[test]
fn two_users_fill_the_threshold_cheapest_first() {
    // T = 2, r = 3: u1 (cost 1) takes its whole 1.5, u2 (cost 2) the
    // remaining 0.5.
    // t_1: x_1(z) = 1.5 for z < 2; above 2, u2 goes first with 1.5 and
    //      leaves 0.5: t_1 = 1·1.5 + 1.5·(2 − 1) + 0.5·(3 − 2) = 3.5.
    // t_2: x_2(z) = 0.5 up to r: t_2 = 2·0.5 + 0.5·(3 − 2) = 1.5.
    let users = vec![user("u1", 1.0, 1.5, 0.0), user("u2", 2.0, 1.5, 0.0)];
    let instance = market(2.0, 3.0, users, &ThresholdSpec::default());
    check_allocation(&instance, &[("u1", 1.5, 3.5), ("u2", 0.5, 1.5)]);
    // No shocks, no slack, belief 1: both stay in every protocol, so
    // training is sure and pays 3.5 + 1.5 = 5 for 2 units.
    for protocol in Protocol::ALL {
        check_protocol(&instance, protocol, [1.0, 5.0, 2.0, 2.0]);
    }
}

#[test]
fn a_budget_lowers_the_reserve() {
    // Budget 4 over T' = 2: r = min(3, 4/2) = 2.
    // t_1 = 1·1.5 + 1.5·(2 − 1) = 3; t_2 = 2·0.5 = 1. Σ t = 4 = budget.
    let users = vec![user("u1", 1.0, 1.5, 0.0), user("u2", 2.0, 1.5, 0.0)];
    let rest = ThresholdSpec {
        budget: Some(4.0),
        ..ThresholdSpec::default()
    };
    let instance = market(2.0, 3.0, users, &rest);
    check_allocation(&instance, &[("u1", 1.5, 3.0), ("u2", 0.5, 1.0)]);
    let allocation = withdrawal::assign(&instance).expect("reserve_price");
    assert_eq!(allocation.reserve(), 2.0);
    assert!(approx_eq(allocation.total_payment(), 4.0, GOLDEN_RELATIVE));
}

#[test]
fn equal_costs_are_ordered_by_id() {
    // "b" is listed first, but "a" < "b" takes the lead at equal cost 1.
    // T = 1.5, r = 2: a gets 1, b gets 0.5.
    // t_a: any z > 1 puts b first (b takes 1), leaving 0.5 for a:
    //      t_a = 1·1 + 0.5·(2 − 1) = 1.5.
    // t_b: b is behind a for every z ≥ 1: t_b = 1·0.5 + 0.5·(2 − 1) = 1.
    let users = vec![user("b", 1.0, 1.0, 0.0), user("a", 1.0, 1.0, 0.0)];
    let instance = market(1.5, 2.0, users, &ThresholdSpec::default());
    check_allocation(&instance, &[("a", 1.0, 1.5), ("b", 0.5, 1.0)]);
}

#[test]
fn slack_and_shocks_without_benefits() {
    // T = 1, slack 0.5: T' = 1.5. u1 (cost 0.5) takes 1, u2 (cost 1) 0.5.
    // t_1 = 0.5·1 + 1·(1 − 0.5) + 0.5·(2 − 1) = 1.5 (above 1, u2 goes
    //       first and leaves 0.5); t_2 = 1·0.5 + 0.5·(2 − 1) = 1.
    // With ρ = 0 and b = 0 the cutoff is k_i = t_i whenever π⁺ > 0:
    // s_1 = G(1.5), s_2 = G(1) with σ = 1. u1 alone reaches T (1 ≥ 1), u2
    // alone does not (0.5), so training happens iff u1 stays, in every
    // protocol:
    //   success = s_1, payment = s_1·(1.5 + s_2·1),
    //   participants = s_1·(1 + s_2), data = s_1·(1 + 0.5·s_2).
    let users = vec![user("u1", 0.5, 1.0, 0.0), user("u2", 1.0, 1.0, 0.0)];
    let rest = ThresholdSpec {
        slack: Some(0.5),
        shock_mean: Some(1.0),
        ..ThresholdSpec::default()
    };
    let instance = market(1.0, 2.0, users, &rest);
    check_allocation(&instance, &[("u1", 1.0, 1.5), ("u2", 0.5, 1.0)]);
    let (s1, s2) = (g(1.5, 1.0), g(1.0, 1.0));
    let expected = [s1, s1 * (1.5 + s2), s1 * (1.0 + s2), s1 * (1.0 + 0.5 * s2)];
    for protocol in Protocol::ALL {
        check_protocol(&instance, protocol, expected);
    }
}

#[test]
fn free_riding_on_a_benefit() {
    // T = 1, slack 1: T' = 2; two users of cost 0 and capacity 1, r = 1:
    // each gets 1 and is paid t = 0 + 1·(1 − 0) = 1 (the other, at cost 0,
    // goes first for any z > 0 and leaves exactly 1). Either alone reaches
    // T. b = 1, ρ = 0, σ = 1.
    let users = vec![user("u1", 0.0, 1.0, 1.0), user("u2", 0.0, 1.0, 1.0)];
    let rest = ThresholdSpec {
        slack: Some(1.0),
        shock_mean: Some(1.0),
        ..ThresholdSpec::default()
    };
    let instance = market(1.0, 1.0, users, &rest);
    check_allocation(&instance, &[("u1", 1.0, 1.0), ("u2", 1.0, 1.0)]);

    // Simultaneous: π⁺ = 1 and π⁻ = s (the other stays), so
    // k = 1 + 1 − s and the symmetric fixed point solves s = G(2 − s).
    // success = 1 − (1 − s)², payment = participants = data = 2·s.
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if g(2.0 - middle, 1.0) > middle {
            low = middle;
        } else {
            high = middle;
        }
    }
    let s = low;
    let simultaneous = [1.0 - (1.0 - s) * (1.0 - s), 2.0 * s, 2.0 * s, 2.0 * s];
    check_protocol(&instance, Protocol::Simultaneous, simultaneous);

    // Sequential (u1 then u2 for small-first; u2 then u1 for large-first,
    // the same by symmetry). The second mover:
    //   after a stay (T reached): π⁺ = π⁻ = 1, k = 1, stays w.p. s' = G(1);
    //   after a withdrawal: π⁺ = 1, π⁻ = 0, k = 2, stays w.p. s'' = G(2).
    // The first mover: π⁺ = 1, π⁻ = s'', k = 2 − s'', s₁ = G(2 − s'').
    // success = s₁ + (1 − s₁)·s''
    // payment = participants = data = s₁·(1 + s') + (1 − s₁)·s''.
    let (s_after_stay, s_after_withdrawal) = (g(1.0, 1.0), g(2.0, 1.0));
    let s_first = g(2.0 - s_after_withdrawal, 1.0);
    let counted = s_first * (1.0 + s_after_stay) + (1.0 - s_first) * s_after_withdrawal;
    let sequential = [
        s_first + (1.0 - s_first) * s_after_withdrawal,
        counted,
        counted,
        counted,
    ];
    check_protocol(&instance, Protocol::SmallFirst, sequential);
    check_protocol(&instance, Protocol::LargeFirst, sequential);
}

#[test]
fn coordination_failure_needs_a_pessimistic_belief() {
    // Same market as the first case (both users needed, σ = 0, slack 0).
    // belief 0: each sees π⁺ = P(its 1.5 or 0.5 alone reaches 2) = 0 and
    // withdraws; nobody ever moves. Sequential play has no such failure.
    let users = vec![user("u1", 1.0, 1.5, 0.0), user("u2", 2.0, 1.5, 0.0)];
    let rest = ThresholdSpec {
        belief: Some(0.0),
        ..ThresholdSpec::default()
    };
    let instance = market(2.0, 3.0, users, &rest);
    check_protocol(&instance, Protocol::Simultaneous, [0.0, 0.0, 0.0, 0.0]);
    check_protocol(&instance, Protocol::SmallFirst, [1.0, 5.0, 2.0, 2.0]);
    check_protocol(&instance, Protocol::LargeFirst, [1.0, 5.0, 2.0, 2.0]);
}

#[test]
fn a_single_user_stays_by_its_own_cutoff() {
    // One user, T = 1, r = 2, cost 0.5, capacity 3: x = 1, t = 2·1 = 2.
    // ρ = 0.5, b = 0.25, σ = 2: k = (2 − 0.5·0.5·1) + 0.25 − 0.25·0/1 = 2,
    // s = G(2) = 1 − e^(−1).
    let users = vec![user("u1", 0.5, 3.0, 0.25)];
    let rest = ThresholdSpec {
        reversibility: Some(0.5),
        shock_mean: Some(2.0),
        ..ThresholdSpec::default()
    };
    let instance = market(1.0, 2.0, users, &rest);
    check_allocation(&instance, &[("u1", 1.0, 2.0)]);
    let s = g(2.0, 2.0);
    for protocol in Protocol::ALL {
        check_protocol(&instance, protocol, [s, 2.0 * s, s, s]);
    }
}

#[test]
fn the_subsidy_leaks_where_floors_fall_short_and_withdrawal_rights_do_not() {
    // T = 3, f = 1, P = 2. u1 (cost 1, cap 2): 1·1 ≤ 2, gives 1.
    // u2 (cost 3): 3·1 > 2, gives nothing. u3 (cap 0.5 < f): nothing.
    // X = 1 < 3: not improved, and the spend 2 is all leakage.
    let users = vec![
        user("u1", 1.0, 2.0, 0.0),
        user("u2", 3.0, 2.0, 0.0),
        user("u3", 0.5, 0.5, 0.0),
    ];
    let rest = ThresholdSpec {
        payment: Some(2.0),
        floor: Some(1.0),
        ..ThresholdSpec::default()
    };
    let instance = market(3.0, 2.0, users, &rest);
    let outcome = subsidy::clear(&instance).expect("payment and floor");
    assert!(!outcome.improved());
    assert_eq!(outcome.collected(), 1.0);
    assert_eq!(outcome.total_payment(), 2.0);
    assert_eq!(outcome.leakage(), 2.0);
    let ids: Vec<&str> = outcome
        .assignments()
        .iter()
        .map(|a| instance.users()[a.user].id())
        .collect();
    assert_eq!(ids, ["u1"]);

    // Withdrawal rights with r = 2: eligible u1 and u3 hold 2.5 < 3, so the
    // outcome is null: nothing is collected, paid or wasted.
    let outcome = withdrawal::clear(&instance, Protocol::SmallFirst).expect("reserve_price");
    assert!(outcome.is_null());
    assert!(outcome.assignments().is_empty());
    assert_eq!(outcome.total_payment(), 0.0);
    assert_eq!(outcome.leakage(), 0.0);
    assert!(outcome.protocol().is_none());
}

#[test]
fn the_subsidy_does_not_leak_when_it_succeeds() {
    // T = 2, f = 1, P = 1.5: u1 (1·1 ≤ 1.5) and u2 (1.5 ≤ 1.5) give 1 each,
    // in input order; X = 2 reaches T; spend 3, leakage 0.
    let users = vec![user("u2", 1.5, 1.0, 0.0), user("u1", 1.0, 1.0, 0.0)];
    let rest = ThresholdSpec {
        payment: Some(1.5),
        floor: Some(1.0),
        ..ThresholdSpec::default()
    };
    let instance = market(2.0, 2.0, users, &rest);
    let outcome = subsidy::clear(&instance).expect("payment and floor");
    assert!(outcome.improved());
    assert_eq!(outcome.total_payment(), 3.0);
    assert_eq!(outcome.leakage(), 0.0);
    let ids: Vec<&str> = outcome
        .assignments()
        .iter()
        .map(|a| instance.users()[a.user].id())
        .collect();
    assert_eq!(ids, ["u2", "u1"]);
}

// ---------------------------------------------------------------------------
// Validation (§B.1).

fn base() -> ThresholdSpec {
    ThresholdSpec {
        threshold: 1.0,
        users: vec![UserSpec::new("u1", 1.0, 2.0), UserSpec::new("u2", 0.5, 1.0)],
        ..ThresholdSpec::default()
    }
}

/// Validates `edit(base())` and compares the error message.
fn check_error(edit: impl FnOnce(&mut ThresholdSpec), message: &str) {
    let mut spec = base();
    edit(&mut spec);
    let error = ThresholdInstance::new(spec).expect_err("instance must be rejected");
    assert_eq!(error.to_string(), message);
}

#[test]
fn invalid_numbers_name_the_field_and_the_user() {
    check_error(|s| s.threshold = 0.0, "threshold 0 is not > 0");
    check_error(|s| s.threshold = f64::NAN, "threshold NaN is not finite");
    check_error(
        |s| s.reserve_price = Some(0.0),
        "reserve_price 0 is not > 0",
    );
    check_error(|s| s.threshold = -1.0, "threshold -1 is not > 0");
    check_error(|s| s.budget = Some(-1.0), "budget -1 is not > 0");
    check_error(|s| s.slack = Some(-0.5), "slack -0.5 is negative");
    check_error(
        |s| s.reversibility = Some(1.5),
        "reversibility 1.5 is outside [0, 1]",
    );
    check_error(
        |s| s.shock_mean = Some(f64::INFINITY),
        "shock_mean inf is not finite",
    );
    check_error(|s| s.payment = Some(-2.0), "payment -2 is negative");
    check_error(|s| s.floor = Some(0.0), "floor 0 is not > 0");
    check_error(|s| s.belief = Some(-0.1), "belief -0.1 is outside [0, 1]");
    check_error(
        |s| s.users[0].cost = -1.0,
        r#"user "u1" (#0): cost -1 is negative"#,
    );
    check_error(
        |s| s.users[1].capacity = 0.0,
        r#"user "u2" (#1): capacity 0 is not > 0"#,
    );
    check_error(
        |s| s.users[1].benefit = Some(f64::NAN),
        r#"user "u2" (#1): benefit NaN is not finite"#,
    );
    check_error(|s| s.users[0].id = String::new(), "user #0: id is empty");
    check_error(
        |s| s.users[1].id = "u1".to_owned(),
        r#"user "u1" (#1): id is a duplicate of user #0"#,
    );
    check_error(
        |s| {
            s.threshold = 2.0;
            s.slack = Some(f64::MAX);
        },
        "threshold·(1 + slack) = inf overflows f64",
    );
    check_error(
        |s| {
            s.users[0].capacity = f64::MAX;
            s.users[1].capacity = f64::MAX;
        },
        "Σ capacity = inf overflows f64",
    );
    check_error(
        |s| {
            s.threshold = 2.0;
            s.reserve_price = Some(f64::MAX);
        },
        "reserve·threshold·(1 + slack) = inf overflows f64",
    );
}

#[test]
fn defaults_follow_the_spec() {
    let instance = ThresholdInstance::new(base()).expect("valid");
    assert_eq!(instance.slack(), 0.0);
    assert_eq!(instance.reversibility(), 0.0);
    assert_eq!(instance.shock_mean(), 0.0);
    assert_eq!(instance.belief(), 1.0);
    assert_eq!(instance.protocol(), Protocol::Simultaneous);
    assert_eq!(instance.users()[0].benefit(), 0.0);
    assert_eq!(instance.budget(), None);
    assert_eq!(ThresholdInstance::new(instance.to_spec()), Ok(instance));
}

#[test]
fn mechanisms_name_the_field_they_miss() {
    let instance = ThresholdInstance::new(base()).expect("valid");
    let error = withdrawal::clear(&instance, Protocol::Simultaneous).expect_err("no reserve");
    assert_eq!(error.to_string(), "reserve_price is required by withdrawal");
    let error = subsidy::clear(&instance).expect_err("no payment");
    assert_eq!(error.to_string(), "payment is required by subsidy");
    let mut spec = base();
    spec.payment = Some(1.0);
    let instance = ThresholdInstance::new(spec).expect("valid");
    assert_eq!(
        subsidy::clear(&instance).expect_err("no floor"),
        ClearError {
            field: "floor",
            mechanism: "subsidy"
        }
    );
}

#[test]
fn deviations_are_validated() {
    let instance = ThresholdInstance::new(base()).expect("valid");
    assert_eq!(
        instance.with_cost(5, 1.0),
        Err(ThresholdError::NoSuchUser { index: 5, len: 2 })
    );
    let error = instance.with_cost(1, -3.0).expect_err("negative cost");
    assert_eq!(error.to_string(), r#"user "u2" (#1): cost -3 is negative"#);
    assert_eq!(
        instance.with_cost(1, 0.25).map(|i| i.users()[1].cost()),
        Ok(0.25)
    );
}

/// Parses an instance file.
fn parse(json: &str) -> Result<ThresholdSpec, String> {
    serde_json::from_str(json).map_err(|error| error.to_string())
}

#[test]
fn instance_files_are_strict() {
    let user = r#"{"id": "u1", "cost": 1, "capacity": 2}"#;
    let ok = format!(r#"{{"threshold": 1, "protocol": "large-first", "users": [{user}]}}"#);
    let spec = parse(&ok).expect("valid file");
    assert_eq!(spec.protocol, Some(Protocol::LargeFirst));

    for (json, needle) in [
        (
            format!(r#"{{"threshold": 1, "colour": 2, "users": [{user}]}}"#),
            "unknown field `colour`",
        ),
        (
            format!(r#"{{"threshold": 1, "protocol": "both-first", "users": [{user}]}}"#),
            "unknown variant `both-first`",
        ),
        (
            format!(r#"{{"threshold": 1, "payment": null, "users": [{user}]}}"#),
            "invalid type: null",
        ),
        (
            r#"{"threshold": 1, "users": [["u1", 1, 2]]}"#.to_owned(),
            "expected an object",
        ),
        (
            r#"{"threshold": 1, "users": [{"id": "u1", "cost": 1, "capacity": 2, "size": 3}]}"#
                .to_owned(),
            "unknown field `size`",
        ),
        (r#"{"users": []}"#.to_owned(), "missing field `threshold`"),
    ] {
        let error = parse(&json).expect_err("file must be rejected");
        assert!(error.contains(needle), "{json}: {error}");
    }
}

#[test]
fn protocol_names_round_trip() {
    for protocol in Protocol::ALL {
        assert_eq!(protocol.name().parse::<Protocol>(), Ok(protocol));
    }
    assert!("sequential".parse::<Protocol>().is_err());
    for protocol in Protocol::ALL {
        let mechanism = procura_mechanisms::Mechanism::Withdrawal(protocol);
        assert_eq!(mechanism.to_string().parse(), Ok(mechanism));
    }
    // The grid is documented to be used only beyond the exact limit.
    assert_eq!(protocol::EXACT_LIMIT, 20);
}

#[test]
fn a_budget_lowered_reserve_never_overspends_by_rounding() {
    // T = 11, reserve 50, budget 100: r = 100/11, which rounds up, so that
    // r·11 = 100.00000000000001 in doubles. The reserve is stepped down by
    // ulps until r·T' ≤ budget, and the one user's payment r·x stays within
    // the budget exactly.
    let instance = market(
        11.0,
        50.0,
        vec![user("a", 0.0, 11.0, 0.0)],
        &ThresholdSpec {
            budget: Some(100.0),
            ..ThresholdSpec::default()
        },
    );
    let allocation = withdrawal::assign(&instance).expect("reserve_price given");
    assert!(
        allocation.total_payment() <= 100.0,
        "{}",
        allocation.total_payment()
    );
    assert!(approx_eq(allocation.total_payment(), 100.0, 1e-15));
}

#[test]
fn a_huge_benefit_does_not_round_the_margin_away() {
    // T = 1, slack 1 (T' = 2), r = 1, σ = 1, ρ = 0: both users (cost 0.5,
    // capacity 1) are assigned 1 unit; a report z ∈ (0.5, 1] still gets 1
    // unit, so t = 0.5 + 0.5 = 1 and the margin t − ρ·c·x is 1.
    // Small-first, a then b. If a stayed, b is not pivotal (π⁺ = π⁻ = 1):
    // its cutoff is the margin, 1, and it stays w.p. s = 1 − e^(−1). If a
    // withdrew, b is pivotal (π⁺ = 1, π⁻ = 0) and stays for sure. So for a,
    // π⁺ = π⁻ = 1 too, and it stays w.p. s. Training always happens, and
    // E[stayers] = s·(1 + s) + (1 − s)·1 = 1 + s² ≈ 1.40.
    // With b = 1e17, (margin + b) − b·π⁻/π⁺ rounds the margin away (cutoff
    // 0, s = 0, E = 1); margin + b·((π⁺ − π⁻)/π⁺) keeps it.
    let users = vec![user("a", 0.5, 1.0, 1e17), user("b", 0.5, 1.0, 1e17)];
    let rest = ThresholdSpec {
        slack: Some(1.0),
        shock_mean: Some(1.0),
        ..ThresholdSpec::default()
    };
    let instance = market(1.0, 1.0, users, &rest);
    let outcome = withdrawal::clear(&instance, Protocol::SmallFirst).expect("reserve_price given");
    let report = outcome.protocol().expect("not null");
    let stay = 1.0 - (-1.0f64).exp();
    let expected = 1.0 + stay * stay;
    assert!(
        approx_eq(report.expected_participants, expected, 1e-9),
        "{} vs {expected}",
        report.expected_participants
    );
}

#[test]
fn an_empty_id_is_reported_as_empty_even_when_shared() {
    let error = ThresholdInstance::new(ThresholdSpec {
        threshold: 1.0,
        users: vec![UserSpec::new("", 0.5, 1.0), UserSpec::new("", 0.5, 1.0)],
        ..ThresholdSpec::default()
    })
    .expect_err("empty ids");
    assert_eq!(error.to_string(), "user #0: id is empty");
}

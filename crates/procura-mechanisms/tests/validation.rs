//! Every rule of §A.1, checked one broken field at a time. Each case is one
//! line: how to break a valid instance, and the exact message expected.

use procura_mechanisms::procurement::{
    Instance, InstanceSpec, ProviderIds, ProviderNumbers, ProviderSpec,
};

fn valid() -> InstanceSpec {
    InstanceSpec {
        budget: 10.0,
        token_budget: Some(5.0),
        liquidity: Some(0.5),
        token_pool: Some(1.0),
        providers: vec![
            ProviderSpec {
                volume: Some(1200.0),
                claimed_quality: Some(0.95),
                ..ProviderSpec::new("acme", 2.0, 0.9, 1.5)
            },
            ProviderSpec::new("beta", 1.0, 0.5, 1.0),
        ],
    }
}

fn check(edit: impl FnOnce(&mut InstanceSpec), expected: &str) {
    let mut spec = valid();
    edit(&mut spec);
    let error = Instance::new(spec).expect_err(expected);
    assert_eq!(error.to_string(), expected);
}

#[test]
fn the_base_instance_is_valid() {
    let instance = Instance::new(valid()).expect("valid");
    assert_eq!(instance.providers().len(), 2);
    // Defaults: volume 0 and claimed_quality = quality.
    assert_eq!(instance.providers()[1].volume(), 0.0);
    assert_eq!(instance.providers()[1].claimed_quality(), 0.5);
    assert_eq!(
        Instance::new(instance.to_spec()).expect("round trip"),
        instance
    );
}

#[test]
fn top_level_fields() {
    check(|s| s.budget = 0.0, "budget 0 is not > 0");
    check(|s| s.budget = -1.0, "budget -1 is not > 0");
    check(|s| s.budget = f64::NAN, "budget NaN is not finite");
    check(|s| s.budget = f64::INFINITY, "budget inf is not finite");
    check(
        |s| s.token_budget = Some(-0.5),
        "token_budget -0.5 is negative",
    );
    check(
        |s| s.token_budget = Some(f64::NEG_INFINITY),
        "token_budget -inf is not finite",
    );
    check(
        |s| s.liquidity = Some(1.5),
        "liquidity 1.5 is outside [0, 1]",
    );
    check(
        |s| s.liquidity = Some(f64::NAN),
        "liquidity NaN is not finite",
    );
    check(|s| s.token_pool = Some(0.0), "token_pool 0 is not > 0");
}

#[test]
fn provider_fields() {
    check(
        |s| s.providers[0].bid = -2.0,
        r#"provider "acme" (#0): bid -2 is negative"#,
    );
    check(
        |s| s.providers[0].bid = f64::NAN,
        r#"provider "acme" (#0): bid NaN is not finite"#,
    );
    check(
        |s| s.providers[0].quality = 1.5,
        r#"provider "acme" (#0): quality 1.5 is outside [0, 1]"#,
    );
    check(
        |s| s.providers[0].quality = -0.1,
        r#"provider "acme" (#0): quality -0.1 is outside [0, 1]"#,
    );
    check(
        |s| s.providers[0].utility = -1.0,
        r#"provider "acme" (#0): utility -1 is negative"#,
    );
    check(
        |s| s.providers[0].utility = f64::INFINITY,
        r#"provider "acme" (#0): utility inf is not finite"#,
    );
    check(
        |s| s.providers[0].volume = Some(-3.0),
        r#"provider "acme" (#0): volume -3 is negative"#,
    );
    check(
        |s| s.providers[0].claimed_quality = Some(2.0),
        r#"provider "acme" (#0): claimed_quality 2 is outside [0, 1]"#,
    );
    check(
        |s| s.providers[1].id = String::new(),
        "provider #1: id is empty",
    );
    check(
        |s| s.providers[1].id = "acme".to_owned(),
        r#"provider "acme" (#1): id is a duplicate of provider #0"#,
    );
}

#[test]
fn negative_zero_is_zero() {
    let mut spec = valid();
    spec.providers[0].bid = -0.0;
    let instance = Instance::new(spec).expect("-0 is ≥ 0");
    assert!(instance.providers()[0].bid().is_sign_positive());
}

#[test]
fn subnormal_budgets_are_refused() {
    let subnormal = "is subnormal: below 2.2250738585072014e-308, the smallest normal double";
    check(|s| s.budget = 5e-324, &format!("budget 5e-324 {subnormal}"));
    check(
        |s| s.token_pool = Some(2e-308),
        &format!("token_pool 2e-308 {subnormal}"),
    );
    // The smallest normal double is fine, and so is any token budget:
    // Mixed-MIA rounds tokens below the normal range down (numerics.rs).
    let mut spec = valid();
    spec.budget = f64::MIN_POSITIVE;
    spec.token_budget = Some(5e-324);
    spec.token_pool = Some(f64::MIN_POSITIVE);
    assert!(Instance::new(spec).is_ok());
}

/// Only totals that could round past the largest double are refused
/// (issue 14, class 3): budgets of f64::MAX / 1.5 (above MAX/2, once
/// refused because the check doubled B) and products B·w beyond it are
/// fine.
#[test]
fn only_totals_that_could_overflow_are_refused() {
    let accepted = |edit: fn(&mut InstanceSpec)| {
        let mut spec = valid();
        edit(&mut spec);
        Instance::new(spec).expect("valid")
    };
    accepted(|s| {
        s.budget = 1e300;
        s.providers[0].utility = 1e300;
    });
    accepted(|s| s.budget = f64::MAX / 1.5);
    accepted(|s| {
        s.budget = f64::MAX;
        s.providers.clear();
    });
    accepted(|s| {
        // Nobody has a positive score: nothing is paid by proportional share.
        s.budget = f64::MAX;
        s.token_budget = Some(f64::MAX);
        s.token_pool = Some(f64::MAX);
        s.providers[0].quality = 0.0;
        s.providers[1].utility = 0.0;
    });
    accepted(|s| {
        // λ = 1: B_eff = B.
        s.budget = 1e308;
        s.token_budget = Some(1e308);
        s.liquidity = Some(1.0);
    });

    accepted(|s| s.providers[0].utility = f64::MAX);
    check(
        |s| {
            s.providers[0].quality = 1.0;
            s.providers[0].utility = f64::MAX;
        },
        "providers: total score Σ quality·utility 1.7976931348623157e308 is within rounding of the \
         largest double: totals kept against it may exceed it by a relative 3.552713678800501e-15 \
         and overflow f64",
    );
    check(
        |s| {
            s.providers[0].utility = f64::MAX;
            s.providers[1].utility = f64::MAX;
        },
        "providers: total score Σ quality·utility overflows f64",
    );
    check(
        |s| s.budget = f64::MAX,
        "budget 1.7976931348623157e308 is within rounding of the largest double: totals kept \
         against it may exceed it by a relative 3.552713678800501e-15 and overflow f64",
    );
    check(
        |s| s.token_pool = Some(f64::MAX * (1.0 - 1e-15)),
        "token_pool 1.797693134862314e308 is within rounding of the largest double: totals \
         kept against it may exceed it by a relative 3.552713678800501e-15 and overflow f64",
    );
    check(
        |s| {
            s.budget = 1e308;
            s.token_budget = Some(1e308);
        },
        "Mixed-MIA's effective budget min(budget / liquidity, token_budget / (1 − liquidity)) \
         overflows f64",
    );
}

#[test]
fn edits_are_validated() {
    let instance = Instance::new(valid()).expect("valid");
    let error = instance.with_bid(0, -1.0).expect_err("negative bid");
    assert_eq!(
        error.to_string(),
        r#"provider "acme" (#0): bid -1 is negative"#
    );
    let error = instance.with_bid(7, 1.0).expect_err("no such provider");
    assert_eq!(error.to_string(), "providers: no provider #7 (there are 2)");
    let error = instance.with_claimed_quality(1, 1.2).expect_err("claim");
    assert_eq!(
        error.to_string(),
        r#"provider "beta" (#1): claimed_quality 1.2 is outside [0, 1]"#
    );
}

/// `Instance::with_ids` counts the numbers it is given against the ids, and
/// stops at the first one too many, so an endless iterator is refused
/// rather than read forever.
#[test]
fn shared_ids_take_exactly_one_provider_per_id() {
    let ids = ProviderIds::new(vec!["a".to_owned(), "b".to_owned()]).expect("distinct ids");
    let numbers = ProviderNumbers {
        bid: 1.0,
        quality: 1.0,
        utility: 1.0,
        volume: None,
        claimed_quality: None,
    };
    let spec = || InstanceSpec {
        budget: 1.0,
        ..InstanceSpec::default()
    };
    let two = Instance::with_ids(spec(), &ids, std::iter::repeat_n(numbers, 2));
    assert_eq!(two.expect("two ids, two numbers").providers().len(), 2);
    let one = Instance::with_ids(spec(), &ids, [numbers]);
    assert_eq!(
        one.expect_err("too few").to_string(),
        "providers: 2 ids but 1 providers' numbers"
    );
    let endless = Instance::with_ids(spec(), &ids, std::iter::repeat(numbers));
    assert_eq!(
        endless.expect_err("too many").to_string(),
        "providers: 2 ids but more providers' numbers"
    );
}

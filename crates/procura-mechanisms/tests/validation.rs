//! Every rule of §A.1, checked one broken field at a time. Each case is one
//! line: how to break a valid instance, and the exact message expected.

use procura_mechanisms::procurement::{Instance, InstanceSpec, ProviderSpec};

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
fn scores_too_large_to_price_are_refused() {
    check(
        |s| {
            s.budget = 1e300;
            s.providers[0].utility = 1e300;
        },
        "providers: total score Σ quality·utility = 9e299 times budget 1e300 overflows f64",
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

//! The report games never panic on indices and instances that their types
//! allow: a participant past the last, and a truth and reports of different
//! sizes, come back as typed errors ([`GameError`]); a report outside a
//! field's domain as `None`. One line per call, for every procurement
//! auction and for withdrawal rights' assignment stage.

use procura_mechanisms::game::{GameError, ReportGame};
use procura_mechanisms::procurement::{
    clear, Auction, Instance, InstanceSpec, ProviderSpec, UnilateralView,
};
use procura_mechanisms::threshold::{
    ThresholdInstance, ThresholdSpec, UserSpec, WithdrawalAssignment,
};

fn market(n: usize) -> Instance {
    Instance::new(InstanceSpec {
        budget: 10.0,
        token_budget: Some(3.0),
        providers: (0..n)
            .map(|i| ProviderSpec {
                volume: Some(10.0),
                ..ProviderSpec::new(format!("p{i}"), 1.0 + i as f64, 0.5, 1.0)
            })
            .collect(),
        ..InstanceSpec::default()
    })
    .expect("valid")
}

fn users(n: usize) -> ThresholdInstance {
    ThresholdInstance::new(ThresholdSpec {
        threshold: 1.0,
        reserve_price: Some(2.0),
        users: (0..n)
            .map(|i| UserSpec::new(format!("u{i}"), 0.5 + i as f64 / 10.0, 1.0))
            .collect(),
        ..ThresholdSpec::default()
    })
    .expect("valid")
}

fn no_such(participant: usize, participants: usize) -> GameError {
    GameError::NoSuchParticipant {
        participant,
        participants,
    }
}

/// Every method that takes a participant, asked about one past the last
/// (and about `usize::MAX`), fails naming the index and the count; the
/// last participant still works; evaluating reports of another size fails
/// naming both sizes.
fn check_game<M: ReportGame>(game: &M, instance: &M::Instance, smaller: &M::Instance) {
    let n = game.participants(instance);
    let report = game.report(instance, n - 1).expect("last participant");
    let name = game.name();
    for missing in [n, n + 1, usize::MAX] {
        let error = no_such(missing, n);
        assert_eq!(game.participant_id(instance, missing), Err(error), "{name}");
        assert_eq!(game.report(instance, missing), Err(error), "{name}");
        assert!(
            matches!(game.with_report(instance, missing, &report), Err(e) if e == error),
            "{name}"
        );
        assert!(
            matches!(
                game.with_reports(instance, &[(0, report.as_slice()), (missing, report.as_slice())]),
                Err(e) if e == error
            ),
            "{name}"
        );
        assert_eq!(
            game.critical_reports(instance, missing),
            Err(error),
            "{name}"
        );
        assert_eq!(game.report_bounds(instance, missing), Err(error), "{name}");
        assert_eq!(
            game.unilateral_utilities(instance, missing, std::slice::from_ref(&report)),
            Err(error),
            "{name}"
        );
        assert_eq!(
            error.to_string(),
            format!("no participant #{missing} (there are {n})")
        );
    }
    let m = game.participants(smaller);
    assert_eq!(
        game.evaluate(instance, smaller),
        Err(GameError::MismatchedInstances {
            truth: n,
            reported: m
        }),
        "{name}"
    );
    assert_eq!(
        game.evaluate(smaller, instance),
        Err(GameError::MismatchedInstances {
            truth: m,
            reported: n
        }),
        "{name}"
    );

    // Reports outside the domain, or too short, are `None`, not errors.
    for bad in [vec![], vec![-1.0], vec![f64::NAN], vec![f64::INFINITY]] {
        assert!(
            matches!(game.with_report(instance, n - 1, &bad), Ok(None)),
            "{name}: {bad:?}"
        );
        assert_eq!(
            game.unilateral_utilities(instance, n - 1, &[bad]),
            Ok(vec![None]),
            "{name}"
        );
    }
    // The last participant is answered, and its truthful utility agrees.
    let truthful = game.evaluate(instance, instance).expect("same instance");
    assert_eq!(truthful.utilities.len(), n);
    assert_eq!(truthful.utility(n), None);
    let screened = game
        .unilateral_utilities(instance, n - 1, std::slice::from_ref(&report))
        .expect("last participant");
    assert_eq!(screened, [truthful.utility(n - 1)], "{name}");
}

#[test]
fn report_games_refuse_missing_participants_and_mismatched_instances() {
    let (instance, smaller) = (market(3), market(2));
    for auction in Auction::ALL {
        check_game(&auction, &instance, &smaller);
    }
    check_game(&WithdrawalAssignment, &users(3), &users(2));
}

#[test]
fn the_unilateral_view_refuses_a_missing_provider() {
    let instance = market(3);
    for auction in Auction::ALL {
        for missing in [3, usize::MAX] {
            let error = UnilateralView::with_cost(auction, &instance, missing, 1.0)
                .expect_err("no such provider");
            assert_eq!(error, no_such(missing, 3));
        }
        let view = UnilateralView::with_cost(auction, &instance, 2, 3.0).expect("provider 2");
        assert_eq!(view.utility(&[]), None);
        assert_eq!(view.utility(&[-1.0]), None);
    }
}

#[test]
fn outcomes_answer_for_indices_past_the_last_provider() {
    let instance = market(3);
    for auction in Auction::ALL {
        let outcome = clear(&instance, auction).expect("clears");
        for missing in [3, usize::MAX] {
            assert_eq!(outcome.award_of(missing), None);
            assert_eq!(auction.reward(&instance, &outcome, missing), 0.0);
        }
    }
}

/// MUT without a token budget clears nothing whatever the reports, and the
/// fast screen says so too: every in-domain report is worth 0.
#[test]
fn mut_without_a_token_budget_screens_as_it_evaluates() {
    let mut spec = market(3).to_spec();
    spec.token_budget = None;
    let instance = Instance::new(spec).expect("valid");
    let reports: Vec<Vec<f64>> = [0.0, 0.5, 2.0, 100.0].map(|bid| vec![bid]).into();
    for participant in 0..3 {
        let screened = Auction::Mut
            .unilateral_utilities(&instance, participant, &reports)
            .expect("participant exists");
        for (report, screened) in reports.iter().zip(screened) {
            let reported = Auction::Mut
                .with_report(&instance, participant, report)
                .expect("participant exists")
                .expect("valid report");
            let full = Auction::Mut
                .evaluate(&instance, &reported)
                .expect("same participants")
                .utility(participant);
            assert_eq!(screened, full, "{report:?}");
            assert_eq!(screened, Some(0.0));
        }
    }
}

//! The assignment stage of withdrawal rights (§B.3) as a game the auditor
//! can probe ([`crate::game::ReportGame`]).
//!
//! Users report costs; the rest of a user (capacity, benefit) is public.
//! A user's assignment-stage utility at its true cost c_i is
//!
//! ```text
//! u_i = t_i − c_i · x_i
//! ```
//!
//! with x_i and t_i from [`withdrawal::assign`]. The stage is DSIC and IR
//! (Myerson quantity payments), which the auditor checks; the protocols of
//! §B.4 that follow are not part of this game.

use super::withdrawal::{self, Allocation};
use super::{ThresholdError, ThresholdInstance, User};
use crate::game::{Evaluation, GameError, ReportGame};
use crate::tolerance::{at_most, ROUNDING_RELATIVE};

/// Withdrawal rights' assignment stage, as audited by `procura audit
/// --mechanism withdrawal`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WithdrawalAssignment;

impl WithdrawalAssignment {
    /// The allocation of `instance`, or `None` when it has no reserve
    /// price (withdrawal rights cannot run; the CLI refuses it up front).
    fn allocation(instance: &ThresholdInstance) -> Option<Allocation> {
        withdrawal::assign(instance).ok()
    }
}

/// User `participant` of `instance`, or the [`GameError`] naming it.
fn user(instance: &ThresholdInstance, participant: usize) -> Result<&User, GameError> {
    let users = instance.users();
    users.get(participant).ok_or(GameError::NoSuchParticipant {
        participant,
        participants: users.len(),
    })
}

impl ReportGame for WithdrawalAssignment {
    type Instance = ThresholdInstance;

    fn name(&self) -> &'static str {
        "withdrawal"
    }

    fn participants(&self, instance: &ThresholdInstance) -> usize {
        instance.users().len()
    }

    fn participant_id<'a>(
        &self,
        instance: &'a ThresholdInstance,
        participant: usize,
    ) -> Result<&'a str, GameError> {
        Ok(user(instance, participant)?.id())
    }

    fn report_fields(&self) -> &'static [&'static str] {
        &["cost"]
    }

    fn report(
        &self,
        instance: &ThresholdInstance,
        participant: usize,
    ) -> Result<Vec<f64>, GameError> {
        Ok(vec![user(instance, participant)?.cost()])
    }

    fn with_report(
        &self,
        instance: &ThresholdInstance,
        participant: usize,
        report: &[f64],
    ) -> Result<Option<ThresholdInstance>, GameError> {
        self.check_participant(instance, participant)?;
        let Some(&cost) = report.first() else {
            return Ok(None);
        };
        match instance.with_cost(participant, cost) {
            Ok(instance) => Ok(Some(instance)),
            Err(ThresholdError::NoSuchUser { index, len }) => Err(GameError::NoSuchParticipant {
                participant: index,
                participants: len,
            }),
            Err(_) => Ok(None),
        }
    }

    fn evaluate(
        &self,
        truth: &ThresholdInstance,
        reported: &ThresholdInstance,
    ) -> Result<Evaluation, GameError> {
        let n = self.check_instances(truth, reported)?;
        let mut utilities = vec![0.0; n];
        let Some(allocation) = Self::allocation(reported) else {
            return Ok(Evaluation {
                utilities,
                ir_violations: 0,
                budget_ok: true,
            });
        };
        let reserve = allocation.reserve();
        let mut ir_violations = 0;
        let mut within_reserve = true;
        for assignment in allocation.assignments() {
            let user = assignment.user;
            utilities[user] = assignment.payment - truth.users()[user].cost() * assignment.amount;
            let reported_cost = reported.users()[user].cost() * assignment.amount;
            if !at_most(reported_cost, assignment.payment, ROUNDING_RELATIVE) {
                ir_violations += 1;
            }
            within_reserve &= at_most(
                assignment.payment,
                reserve * assignment.amount,
                ROUNDING_RELATIVE,
            );
        }
        let within_budget = reported
            .budget()
            .is_none_or(|budget| at_most(allocation.total_payment(), budget, ROUNDING_RELATIVE));
        Ok(Evaluation {
            utilities,
            ir_violations,
            budget_ok: within_reserve && within_budget,
        })
    }

    /// The breakpoints of x_i(z) (§B.3 step 5): the other users' costs and
    /// the reserve, where the user's place in the greedy fill or its
    /// eligibility changes.
    fn critical_reports(
        &self,
        instance: &ThresholdInstance,
        participant: usize,
    ) -> Result<Vec<Vec<f64>>, GameError> {
        self.check_participant(instance, participant)?;
        let mut costs: Vec<f64> = instance
            .users()
            .iter()
            .enumerate()
            .filter(|&(index, _)| index != participant)
            .map(|(_, user)| user.cost())
            .collect();
        costs.extend(instance.effective_reserve());
        costs.push(0.0);
        Ok(costs.into_iter().map(|cost| vec![cost]).collect())
    }

    fn report_bounds(
        &self,
        instance: &ThresholdInstance,
        participant: usize,
    ) -> Result<Vec<(f64, f64)>, GameError> {
        let cost = user(instance, participant)?.cost();
        let reserve = instance.effective_reserve().unwrap_or(0.0);
        let top = 2.0 * reserve + cost + 1.0;
        Ok(vec![(0.0, top.min(f64::MAX))])
    }
}

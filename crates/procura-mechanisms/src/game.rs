//! The abstraction every mechanism offers to the auditor (and, later, the
//! simulator): who the participants are, what each can misreport, and how
//! an outcome is worth to a participant at its true type.
//!
//! A mechanism here is a *game*: participants submit reports (a vector of
//! numbers each: a bid, a claimed quality, a cost), the rules turn reports
//! into an outcome, and each participant values the outcome with its own
//! true type. The instance a mechanism reads holds the reports; the auditor
//! treats the instance as given as the truth and searches over other
//! reports.
//!
//! Participants are named by their index in the instance. Every method that
//! takes one checks it and fails with [`GameError::NoSuchParticipant`]
//! rather than panicking; [`ReportGame::evaluate`] fails with
//! [`GameError::MismatchedInstances`] when the truth and the reports do not
//! have the same participants. A report outside a field's domain is not an
//! error but `None`: the auditor's grids cross those domains routinely.

/// Why a [`ReportGame`] call has no answer: it named a participant that the
/// instance does not have, or paired instances of different sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GameError {
    /// A participant index at or past the number of participants.
    #[error("no participant #{participant} (there are {participants})")]
    NoSuchParticipant {
        /// The index asked for.
        participant: usize,
        /// The number of participants in the instance.
        participants: usize,
    },
    /// [`ReportGame::evaluate`] got a truth and a reported instance with
    /// different numbers of participants.
    #[error("the truth has {truth} participants but the reported instance {reported}")]
    MismatchedInstances {
        /// Participants in the truth.
        truth: usize,
        /// Participants in the reported instance.
        reported: usize,
    },
}

/// The result of clearing a reported instance, valued at the true types.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Utility of every participant, at its true type, in participant order.
    pub utilities: Vec<f64>,
    /// Participants who are worse off than by not participating (utility
    /// below zero beyond rounding), measured at the reported types. Under
    /// truthful reports this is the individual-rationality check.
    pub ir_violations: usize,
    /// Whether every budget the mechanism promises to keep was kept.
    pub budget_ok: bool,
}

impl Evaluation {
    /// The utility of `participant`, or `None` past the last participant.
    #[must_use]
    pub fn utility(&self, participant: usize) -> Option<f64> {
        self.utilities.get(participant).copied()
    }
}

/// A mechanism, seen as a game the auditor can probe.
///
/// `Sync` so that audits run in parallel. Reports are `Vec<f64>` in the
/// order of [`ReportGame::report_fields`].
///
/// An implementation fails only as this trait documents:
/// [`GameError::NoSuchParticipant`] exactly for an index at or past
/// [`ReportGame::participants`], [`GameError::MismatchedInstances`] exactly
/// when `evaluate`'s instances differ in size. The auditor relies on it.
pub trait ReportGame: Sync {
    /// The instances this mechanism clears; they hold everyone's reports.
    type Instance: Clone + Send + Sync;

    /// The mechanism's name, as on the command line.
    fn name(&self) -> &'static str;

    /// Number of participants in `instance`.
    fn participants(&self, instance: &Self::Instance) -> usize;

    /// `Ok` when `instance` has a participant `participant`.
    fn check_participant(
        &self,
        instance: &Self::Instance,
        participant: usize,
    ) -> Result<(), GameError> {
        let participants = self.participants(instance);
        if participant < participants {
            Ok(())
        } else {
            Err(GameError::NoSuchParticipant {
                participant,
                participants,
            })
        }
    }

    /// The number of participants of `truth` and `reported`, when they
    /// agree.
    fn check_instances(
        &self,
        truth: &Self::Instance,
        reported: &Self::Instance,
    ) -> Result<usize, GameError> {
        let (truth, reported) = (self.participants(truth), self.participants(reported));
        if truth == reported {
            Ok(truth)
        } else {
            Err(GameError::MismatchedInstances { truth, reported })
        }
    }

    /// The id of `participant`.
    fn participant_id<'a>(
        &self,
        instance: &'a Self::Instance,
        participant: usize,
    ) -> Result<&'a str, GameError>;

    /// The names of the numbers a participant reports and may misreport,
    /// e.g. `["bid"]`, or `["bid", "claimed_quality"]` for `trust`.
    fn report_fields(&self) -> &'static [&'static str];

    /// The report of `participant` in `instance`.
    fn report(&self, instance: &Self::Instance, participant: usize) -> Result<Vec<f64>, GameError>;

    /// `instance` with `participant` reporting `report` instead, or
    /// `Ok(None)` when the report is outside a field's domain (e.g. a
    /// negative bid) or too short.
    fn with_report(
        &self,
        instance: &Self::Instance,
        participant: usize,
        report: &[f64],
    ) -> Result<Option<Self::Instance>, GameError>;

    /// `instance` with several participants' reports replaced at once (a
    /// coalition's deviation), or `Ok(None)` when a report is outside its
    /// domain. Every participant is checked first. The default applies
    /// [`ReportGame::with_report`] in turn; a mechanism may do it with a
    /// single copy.
    fn with_reports(
        &self,
        instance: &Self::Instance,
        reports: &[(usize, &[f64])],
    ) -> Result<Option<Self::Instance>, GameError> {
        for &(participant, _) in reports {
            self.check_participant(instance, participant)?;
        }
        let mut changed = instance.clone();
        for &(participant, report) in reports {
            match self.with_report(&changed, participant, report)? {
                Some(next) => changed = next,
                None => return Ok(None),
            }
        }
        Ok(Some(changed))
    }

    /// Clears `reported` and values the outcome for every participant at its
    /// true type, read from `truth`. Both instances must have the same
    /// participants in the same order; instances of different sizes are a
    /// [`GameError::MismatchedInstances`].
    fn evaluate(
        &self,
        truth: &Self::Instance,
        reported: &Self::Instance,
    ) -> Result<Evaluation, GameError>;

    /// Reports worth trying for `participant`: the points where its outcome
    /// can change (other participants' ratios or costs, budget-share
    /// boundaries, ...). The auditor adds ε-neighbourhoods, a grid and local
    /// refinement.
    fn critical_reports(
        &self,
        instance: &Self::Instance,
        participant: usize,
    ) -> Result<Vec<Vec<f64>>, GameError>;

    /// A box `[low, high]` for each report field, wide enough to hold every
    /// report that can matter; the auditor's grid spans it.
    fn report_bounds(
        &self,
        instance: &Self::Instance,
        participant: usize,
    ) -> Result<Vec<(f64, f64)>, GameError>;

    /// The utility of `participant` (at its true type) when it reports each
    /// of `reports` and everyone else tells the truth; `None` for a report
    /// outside the domain. The auditor screens thousands of candidate
    /// reports with it.
    ///
    /// The default clears the mechanism once per report. A mechanism may
    /// override it with a faster computation that agrees with
    /// [`ReportGame::evaluate`] up to rounding; the auditor re-evaluates the
    /// reports it reports with `evaluate`, so reported gains replay exactly.
    fn unilateral_utilities(
        &self,
        truth: &Self::Instance,
        participant: usize,
        reports: &[Vec<f64>],
    ) -> Result<Vec<Option<f64>>, GameError> {
        self.check_participant(truth, participant)?;
        reports
            .iter()
            .map(
                |report| match self.with_report(truth, participant, report)? {
                    Some(reported) => Ok(self.evaluate(truth, &reported)?.utility(participant)),
                    None => Ok(None),
                },
            )
            .collect()
    }
}

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

/// A mechanism, seen as a game the auditor can probe.
///
/// `Sync` so that audits run in parallel. Reports are `Vec<f64>` in the
/// order of [`ReportGame::report_fields`].
pub trait ReportGame: Sync {
    /// The instances this mechanism clears; they hold everyone's reports.
    type Instance: Clone + Send + Sync;

    /// The mechanism's name, as on the command line.
    fn name(&self) -> &'static str;

    /// Number of participants in `instance`.
    fn participants(&self, instance: &Self::Instance) -> usize;

    /// The id of `participant`.
    fn participant_id<'a>(&self, instance: &'a Self::Instance, participant: usize) -> &'a str;

    /// The names of the numbers a participant reports and may misreport,
    /// e.g. `["bid"]`, or `["bid", "claimed_quality"]` for `trust`.
    fn report_fields(&self) -> &'static [&'static str];

    /// The report of `participant` in `instance`.
    fn report(&self, instance: &Self::Instance, participant: usize) -> Vec<f64>;

    /// `instance` with `participant` reporting `report` instead, or `None`
    /// when the report is outside the field's domain (e.g. a negative bid).
    fn with_report(
        &self,
        instance: &Self::Instance,
        participant: usize,
        report: &[f64],
    ) -> Option<Self::Instance>;

    /// `instance` with several participants' reports replaced at once (a
    /// coalition's deviation). The default applies [`ReportGame::with_report`]
    /// in turn; a mechanism may do it with a single copy.
    fn with_reports(
        &self,
        instance: &Self::Instance,
        reports: &[(usize, &[f64])],
    ) -> Option<Self::Instance> {
        let mut changed = instance.clone();
        for &(participant, report) in reports {
            changed = self.with_report(&changed, participant, report)?;
        }
        Some(changed)
    }

    /// Clears `reported` and values the outcome for every participant at its
    /// true type, read from `truth`. Both instances have the same
    /// participants in the same order.
    fn evaluate(&self, truth: &Self::Instance, reported: &Self::Instance) -> Evaluation;

    /// Reports worth trying for `participant`: the points where its outcome
    /// can change (other participants' ratios or costs, budget-share
    /// boundaries, ...). The auditor adds ε-neighbourhoods, a grid and local
    /// refinement.
    fn critical_reports(&self, instance: &Self::Instance, participant: usize) -> Vec<Vec<f64>>;

    /// A box `[low, high]` for each report field, wide enough to hold every
    /// report that can matter; the auditor's grid spans it.
    fn report_bounds(&self, instance: &Self::Instance, participant: usize) -> Vec<(f64, f64)>;

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
    ) -> Vec<Option<f64>> {
        reports
            .iter()
            .map(|report| {
                let reported = self.with_report(truth, participant, report)?;
                Some(self.evaluate(truth, &reported).utilities[participant])
            })
            .collect()
    }
}

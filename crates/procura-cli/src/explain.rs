//! `procura clear --explain`: the explanations that
//! `procura_mechanisms::procurement::explain` computes, written as JSON, a
//! table or CSV, with a sentence per provider and a note on what the
//! mechanism's payments mean.
//!
//! JSON shape, per mechanism (several are keyed by mechanism name):
//! `mechanism`, `summary`, `admission` (`proportional-share` or
//! `pay-as-bid`), `allocation_budget`, `providers` (ranked ones in rank
//! order, then those of weight 0), the outcome's totals, `total_reward`,
//! `total_winning_bids`, `total_premium` and `note`. Each provider has
//! `id`, `rank` (null when unranked), `bid`, `score` (w = q·μ), `weight`
//! (what its bid is divided by), `ratio` (bid / weight: r for the
//! ratio-ranked mechanisms), `won`, `cash`, `tokens`, `reward` (cash
//! equivalent), `premium` (reward − bid), `lost_because` (`share-test`,
//! `budget`, `after-cutoff`, `zero-weight` or null) and `why`.

use procura::procurement::explain::{Admission, Explanation, Loss, ProviderExplanation, Verdict};
use procura::procurement::{Auction, Instance};
use serde::Serialize;

use crate::clear::Format;
use crate::tabulate::{csv, number, table, Keyed};

#[derive(Serialize)]
struct ExplanationJson<'a> {
    mechanism: &'static str,
    summary: &'static str,
    admission: &'static str,
    allocation_budget: f64,
    providers: Vec<ProviderJson<'a>>,
    total_cash: f64,
    total_tokens: f64,
    value: f64,
    total_reward: f64,
    total_winning_bids: f64,
    total_premium: f64,
    note: String,
}

#[derive(Serialize)]
struct ProviderJson<'a> {
    id: &'a str,
    rank: Option<usize>,
    bid: f64,
    score: f64,
    weight: f64,
    ratio: Option<f64>,
    won: bool,
    cash: f64,
    tokens: f64,
    reward: f64,
    premium: Option<f64>,
    lost_because: Option<&'static str>,
    why: String,
}

fn admission_name(admission: Admission) -> &'static str {
    match admission {
        Admission::ProportionalShare => "proportional-share",
        Admission::PayAsBid => "pay-as-bid",
    }
}

/// The short name of a loss, as JSON and CSV write it.
fn loss_name(loss: Loss) -> &'static str {
    match loss {
        Loss::ZeroWeight => "zero-weight",
        Loss::ShareTest { .. } => "share-test",
        Loss::Budget { .. } => "budget",
        Loss::AfterCutoff { .. } => "after-cutoff",
    }
}

/// What the ranking weight is, in words, for `mechanism`.
fn weight_name(mechanism: Auction) -> &'static str {
    match mechanism {
        Auction::Volume => "volume",
        Auction::Trust => "claimed_quality × volume",
        Auction::Qmia | Auction::Mut | Auction::Mixed => "score w",
    }
}

/// Why a provider won or lost, in a sentence, with numbers written by
/// `show`.
fn why(
    explanation: &Explanation,
    line: &ProviderExplanation,
    show: &dyn Fn(f64) -> String,
) -> String {
    let mechanism = explanation.mechanism();
    let budget = show(explanation.allocation_budget());
    let budget_name = budget_name(mechanism);
    match line.verdict {
        Verdict::Won { reward, .. } => match mechanism {
            Auction::Qmia | Auction::Mixed => format!(
                "won: paid its critical value {}, the highest bid with which it would still win",
                show(reward)
            ),
            Auction::Mut => format!(
                "won: a share of the pool pro rata to its score, worth {}",
                show(reward)
            ),
            Auction::Volume | Auction::Trust => "won: paid its bid".to_owned(),
        },
        Verdict::Lost(Loss::ZeroWeight) => format!(
            "lost: its {} is 0, so it is not ranked",
            weight_name(mechanism)
        ),
        Verdict::Lost(Loss::ShareTest {
            share,
            running_score,
        }) => format!(
            "lost: fails the share test, bid {} > {budget_name}·w/W = {} × {} / {} = {}",
            show(line.bid),
            budget,
            show(line.score),
            show(running_score),
            show(share)
        ),
        Verdict::Lost(Loss::Budget { spent }) => format!(
            "lost: over the budget, {} already spent + bid {} > {budget_name} = {}",
            show(spent),
            show(line.bid),
            budget
        ),
        Verdict::Lost(Loss::AfterCutoff { cutoff_rank }) => {
            format!("lost: ranked after #{cutoff_rank}, the first to fail, where admission stops")
        }
    }
}

/// What the mechanism's payments mean, with this instance's numbers.
fn note(explanation: &Explanation, show: &dyn Fn(f64) -> String) -> String {
    let budget = explanation.allocation_budget();
    let reward = explanation.total_reward();
    let premium = reward - explanation.total_winning_bids();
    let share = if budget > 0.0 {
        format!(" ({}%)", number(100.0 * reward / budget))
    } else {
        String::new()
    };
    let here = format!(
        "Here the winners receive {} of the allocation budget {}{share}, {} above their bids.",
        show(reward),
        show(budget),
        show(premium)
    );
    let rule = match explanation.mechanism() {
        Auction::Qmia => {
            "Q-MIA pays each winner its critical value, not its bid, so it usually spends nearly \
             the whole budget and pays winners above their bids. That premium is what buys \
             truthful bids: no provider can gain by misreporting its cost (DSIC)."
        }
        Auction::Mixed => {
            "Mixed-MIA is Q-MIA at the effective budget B_eff = min(B/λ, R/(1−λ)), paid λ in \
             cash and 1−λ in tokens: like Q-MIA it usually spends nearly the whole budget and \
             pays winners above their bids, and that premium is what buys truthful bids (DSIC \
             when tokens count at face value)."
        }
        Auction::Mut => {
            "MUT divides the token pool among the admitted providers pro rata to their scores. \
             Every share is worth at least its bid (IR), but a loser can gain by underbidding to \
             get in, so bids are not truthful (not DSIC)."
        }
        Auction::Volume | Auction::Trust => {
            "A pay-as-bid baseline pays each winner exactly its bid, so a provider gains by \
             bidding above its cost: bids are not truthful (not DSIC)."
        }
    };
    format!("{rule} {here}")
}

fn provider_json<'a>(
    instance: &'a Instance,
    explanation: &Explanation,
    line: &ProviderExplanation,
) -> ProviderJson<'a> {
    let (cash, tokens, reward) = match line.verdict {
        Verdict::Won { award, reward } => (award.cash, award.tokens, reward),
        Verdict::Lost(_) => (0.0, 0.0, 0.0),
    };
    ProviderJson {
        id: instance.providers()[line.provider].id(),
        rank: line.rank,
        bid: line.bid,
        score: line.score,
        weight: line.weight,
        ratio: line.key,
        won: matches!(line.verdict, Verdict::Won { .. }),
        cash,
        tokens,
        reward,
        premium: line.premium(),
        lost_because: match line.verdict {
            Verdict::Lost(loss) => Some(loss_name(loss)),
            Verdict::Won { .. } => None,
        },
        why: why(explanation, line, &|value| value.to_string()),
    }
}

fn explanation_json<'a>(instance: &'a Instance, explanation: &Explanation) -> ExplanationJson<'a> {
    let outcome = explanation.outcome();
    let mechanism = explanation.mechanism();
    ExplanationJson {
        mechanism: mechanism.name(),
        summary: mechanism.summary(),
        admission: admission_name(explanation.admission()),
        allocation_budget: explanation.allocation_budget(),
        providers: explanation
            .providers()
            .iter()
            .map(|line| provider_json(instance, explanation, line))
            .collect(),
        total_cash: outcome.total_cash(),
        total_tokens: outcome.total_tokens(),
        value: outcome.value(),
        total_reward: explanation.total_reward(),
        total_winning_bids: explanation.total_winning_bids(),
        total_premium: explanation.total_reward() - explanation.total_winning_bids(),
        note: note(explanation, &|value| value.to_string()),
    }
}

/// The symbol of the budget a mechanism allocates: B, MUT's token budget
/// R, or Mixed-MIA's effective budget B_eff (§A.3 to §A.6).
fn budget_name(mechanism: Auction) -> &'static str {
    match mechanism {
        Auction::Qmia | Auction::Volume | Auction::Trust => "B",
        Auction::Mut => "R",
        Auction::Mixed => "B_eff",
    }
}

fn explanation_table(instance: &Instance, label: &str, explanation: &Explanation) -> String {
    let mechanism = explanation.mechanism();
    let budget_name = budget_name(mechanism);
    let rule = match explanation.admission() {
        Admission::ProportionalShare => {
            format!("admits down the ranking while bid ≤ {budget_name}·w/W")
        }
        Admission::PayAsBid => {
            format!("admits down the ranking while the bids paid so far fit in {budget_name}")
        }
    };
    let mut text = format!(
        "{label}: {}\nallocation budget {budget_name} = {}; ranks by bid / {}; {rule}\n\n",
        mechanism.summary(),
        number(explanation.allocation_budget()),
        weight_name(mechanism),
    );
    let rows = explanation
        .providers()
        .iter()
        .map(|line| {
            let json = provider_json(instance, explanation, line);
            vec![
                line.rank.map_or("-".to_owned(), |rank| rank.to_string()),
                json.id.to_owned(),
                number(line.bid),
                number(line.score),
                line.key.map_or("-".to_owned(), number),
                if json.won { "won" } else { "lost" }.to_owned(),
                number(json.cash),
                number(json.tokens),
                number(json.reward),
                line.premium().map_or("-".to_owned(), number),
                why(explanation, line, &number),
            ]
        })
        .collect();
    text.push_str(&table(
        [
            "rank", "provider", "bid", "score w", "ratio r", "result", "cash", "tokens", "reward",
            "premium", "why",
        ]
        .map(str::to_owned)
        .to_vec(),
        &[0, 2, 3, 4, 6, 7, 8, 9],
        rows,
    ));
    let outcome = explanation.outcome();
    text.push_str(&format!(
        "\ntotal cash {}, total tokens {}, value {}\n{}\n",
        number(outcome.total_cash()),
        number(outcome.total_tokens()),
        number(outcome.value()),
        note(explanation, &number)
    ));
    text
}

/// The explanations in `format`: one JSON object, or several keyed by
/// mechanism name; tables one after another; CSV rows of every mechanism.
pub(crate) fn render(
    instance: &Instance,
    explanations: &[(&'static str, Explanation)],
    format: Format,
    single: bool,
) -> anyhow::Result<String> {
    match format {
        Format::Json => {
            let documents: Vec<(&'static str, ExplanationJson<'_>)> = explanations
                .iter()
                .map(|(label, explanation)| (*label, explanation_json(instance, explanation)))
                .collect();
            Ok(match documents.as_slice() {
                [(_, document)] if single => procura_format::write::to_json(document),
                _ => procura_format::write::to_json(&Keyed(&documents)),
            })
        }
        Format::Table => Ok(explanations
            .iter()
            .map(|(label, explanation)| explanation_table(instance, label, explanation))
            .collect::<Vec<_>>()
            .join("\n")),
        Format::Csv => {
            let rows = explanations
                .iter()
                .flat_map(|(label, explanation)| {
                    explanation.providers().iter().map(move |line| {
                        let json = provider_json(instance, explanation, line);
                        let optional =
                            |value: Option<f64>| value.map_or(String::new(), |v| v.to_string());
                        vec![
                            (*label).to_owned(),
                            line.rank.map_or(String::new(), |rank| rank.to_string()),
                            json.id.to_owned(),
                            line.bid.to_string(),
                            line.score.to_string(),
                            line.weight.to_string(),
                            optional(line.key),
                            json.won.to_string(),
                            json.cash.to_string(),
                            json.tokens.to_string(),
                            json.reward.to_string(),
                            optional(line.premium()),
                            json.lost_because.unwrap_or("").to_owned(),
                            json.why,
                        ]
                    })
                })
                .collect();
            csv(
                &[
                    "mechanism",
                    "rank",
                    "id",
                    "bid",
                    "score",
                    "weight",
                    "ratio",
                    "won",
                    "cash",
                    "tokens",
                    "reward",
                    "premium",
                    "lost_because",
                    "why",
                ],
                rows,
            )
        }
    }
}

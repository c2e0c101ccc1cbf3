//! One procurement round on text: the wine demo's round
//! ([`procura::round`]) with snippets for rows and providers that pad
//! their reviews with off-task text.
//!
//! ```text
//! reviews       shuffled (seed) ─▶ test (N_TEST) │ trusted (N_TRUSTED) │ pool (the rest)
//! providers     pool split among n providers (split_among_providers): volumes ∝ Exp(1),
//!               label noise ρ_i ~ U(0, max_noise), duplicates δ_i ~ U(0, max_duplicates);
//!               the off-task snippets split among the first ⌈n/3⌉ of them the same way
//!               (their labels are random already; no noise is added), so those providers'
//!               off-task shares run from a few per cent to most of their rows
//! cost          c_i = v_i · u_i,   u_i ~ LogNormal(0, unit_cost_sigma),  v_i = i's snippets
//! projection    every embedding onto the 32 leading principal directions of the trusted ones
//! quality       q_i = share of i's labels that a logistic regression trained on the
//!               trusted snippets predicts (quality_scores)
//! utility       μ_i = max(0, Σ_{snippets of i} KNN-Shapley value, on the trusted snippets)
//! budget        B = budget_fraction · Σ c_i, the same cash-equivalent budget for every
//!               mechanism (procura::round), providers best-respond where a mechanism is
//!               not truthful
//! probe         a logistic regression on the embeddings of what each mechanism bought,
//!               scored on the test snippets
//! ```
//!
//! A snippet bought is *noisy* when it is a review whose label the split
//! flipped, *off-task* when it is not a review; the shares are exact counts
//! over the snippets bought (duplicates included), not expectations.
//!
//! The embeddings are projected onto the [`DIRECTIONS`] leading principal
//! directions of the market's trusted reviews ([`Projection`], fitted on
//! their embeddings alone) before anything is measured: the valuation, the
//! quality model and the probes all see the projected snippets. KNN
//! distances are Euclidean there; `procura embed` writes unit-length
//! vectors, whose Euclidean distance ranks neighbours as cosine similarity
//! does.
//!
//! Every draw is a ChaCha8 stream of the library, keyed by a seed derived
//! from the market's ([`procura::seed::cell_seed`], one per use): the
//! shuffle is a one-provider [`split_among_providers`] (no noise, no
//! duplicates: the rows in a seeded random order) and the unit costs are
//! the bids of a [`Population`] draw. The round is a pure function of
//! `(corpus, config, seed)`, the same bits on any number of threads.

use std::collections::HashMap;

use anyhow::Context as _;
use procura::audit::{best_response_dynamics, Equilibrium};
use procura::offer::{instance_from_valuations, Offer};
use procura::population::{Distribution, Population, PopulationSpec};
use procura::procurement::mut_token::token_value;
use procura::procurement::{Auction, Instance, InstanceSpec};
use procura::round::{Purchase, Reference, RoundConfig};
use procura::seed::cell_seed;
use procura::valuation::{
    accuracy, knn_shapley, quality_scores, split_among_providers, Dataset, Model, Players,
    Progress, SplitConfig,
};

use super::corpus::{bits, Corpus};
use super::projection::Projection;

/// Reviews held out to score the probes.
pub(crate) const N_TEST: usize = 400;
/// Reviews the buyer trusts: the quality reference and the utility set.
pub(crate) const N_TRUSTED: usize = 200;
/// Leading principal directions of the trusted embeddings that every
/// snippet is projected onto ([`Projection`]).
pub(crate) const DIRECTIONS: usize = 32;
/// Stages told to the progress callback: the valuation, then one per
/// mechanism.
pub(crate) const STAGES: usize = 1 + Auction::ALL.len();

/// The seeds derived from a market's seed, one per draw.
mod stream {
    /// The test/trusted/pool shuffle of the reviews.
    pub(super) const HOLDOUT: u64 = 0;
    /// The split of the pool's reviews among the providers.
    pub(super) const REVIEWS: u64 = 1;
    /// The split of the off-task snippets among the padding providers.
    pub(super) const OFF_TASK: u64 = 2;
    /// The providers' unit costs.
    pub(super) const COSTS: u64 = 3;
}

/// What a provider's snippet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A review with its true label.
    Clean,
    /// A review whose label was flipped.
    Noisy,
    /// Not a review: off-task text under a review's label.
    OffTask,
}

/// The providers' snippets: rows provider by provider (each provider's
/// reviews, then its off-task snippets), with the kind of each row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Providers {
    /// Every provider's snippets, duplicates included.
    pub(crate) data: Dataset,
    /// The provider of each row of `data`.
    pub(crate) players: Players,
    /// The kind of each row of `data`.
    pub(crate) kinds: Vec<Kind>,
}

/// Counts of the snippets of some rows, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mix {
    /// Snippets, duplicates included.
    pub(crate) snippets: usize,
    /// Reviews whose label was flipped.
    pub(crate) noisy: usize,
    /// Off-task snippets.
    pub(crate) off_task: usize,
}

impl Mix {
    /// The mix of `rows` (rows of `kinds`).
    pub(crate) fn of(kinds: &[Kind], rows: &[usize]) -> Mix {
        rows.iter().fold(Mix::default(), |mut mix, &row| {
            mix.snippets += 1;
            match kinds.get(row) {
                Some(Kind::Noisy) => mix.noisy += 1,
                Some(Kind::OffTask) => mix.off_task += 1,
                Some(Kind::Clean) | None => {}
            }
            mix
        })
    }

    /// noisy / snippets (0 without snippets).
    pub(crate) fn noisy_share(&self) -> f64 {
        share(self.noisy, self.snippets)
    }

    /// off_task / snippets (0 without snippets).
    pub(crate) fn off_task_share(&self) -> f64 {
        share(self.off_task, self.snippets)
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One purchase and the mix of what it bought.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextPurchase {
    /// The purchase; its `label_noise` is the exact noisy share,
    /// [`Mix::noisy_share`], and its `accuracy` the probe's.
    pub(crate) purchase: Purchase,
    /// What it bought.
    pub(crate) mix: Mix,
}

/// Everything one text market produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextMarket {
    /// The market's seed.
    pub(crate) seed: u64,
    /// The providers' snippets.
    pub(crate) providers: Providers,
    /// Providers that pad their reviews with off-task snippets.
    pub(crate) n_padding: usize,
    /// The market at true costs.
    pub(crate) truth: Instance,
    /// Cash-equivalent budget B of every mechanism.
    pub(crate) budget: f64,
    /// One purchase per mechanism, in [`Auction::ALL`] order.
    pub(crate) purchases: Vec<TextPurchase>,
    /// Every provider's snippets, at their true cost, and their mix.
    pub(crate) all_data: (Reference, Mix),
    /// No snippets.
    pub(crate) no_purchase: (Reference, Mix),
}

/// Providers that pad their reviews with off-task snippets, of
/// `n_providers`: a third, rounded up.
pub(crate) fn n_padding(n_providers: usize) -> usize {
    n_providers.div_ceil(3)
}

/// Runs market `seed` of `corpus` under `config` (see the module
/// documentation), telling `progress` of each of [`STAGES`].
pub(crate) fn run(
    corpus: &Corpus,
    config: &RoundConfig,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<TextMarket> {
    let reviews = &corpus.reviews;
    let n_reviews = reviews.n_rows();
    if N_TEST + N_TRUSTED >= n_reviews {
        anyhow::bail!(
            "the corpus has {n_reviews} reviews; the demo holds out {N_TEST} test and \
             {N_TRUSTED} trusted ones and needs more for the providers"
        );
    }
    let shuffled = shuffled(reviews, cell_seed(seed, stream::HOLDOUT))?;
    let part = |rows: std::ops::Range<usize>| -> anyhow::Result<Dataset> {
        let rows: Vec<usize> = rows.collect();
        shuffled
            .select(&rows)
            .context("the holdout's rows are the corpus's")
    };
    let test = part(0..N_TEST)?;
    let trusted = part(N_TEST..N_TEST + N_TRUSTED)?;
    let pool = part(N_TEST + N_TRUSTED..n_reviews)?;

    let n_providers = config.n_providers();
    let n_padding = n_padding(n_providers);
    let dealt = deal(&pool, &corpus.speeches, config, n_padding, seed)?;
    let projection = Projection::fit(&trusted, DIRECTIONS)?;
    let (test, trusted) = (projection.apply(&test)?, projection.apply(&trusted)?);
    let providers = Providers {
        data: projection.apply(&dealt.data)?,
        ..dealt
    };
    let (data, players) = (&providers.data, &providers.players);

    let costs = unit_costs(n_providers, config.unit_cost_sigma(), seed)?
        .iter()
        .enumerate()
        .map(|(provider, unit)| players.rows_of(provider).len() as f64 * unit)
        .collect::<Vec<f64>>();
    let logistic = Model::Logistic(config.logistic());
    let quality = quality_scores(&trusted, data, players, &logistic)?;
    let values = knn_shapley(data, &trusted, config.knn(), players, &|_| {})?;
    progress(Progress {
        done: 1,
        total: STAGES,
    });

    let total_cost: f64 = costs.iter().sum();
    let budget = config.budget_fraction() * total_cost;
    let width = (n_providers - 1).to_string().len();
    let ids: Vec<String> = (0..n_providers)
        .map(|provider| format!("p{provider:0width$}"))
        .collect();
    let offers: Vec<Offer> = ids
        .iter()
        .zip(&costs)
        .map(|(id, &cost)| Offer::new(id.clone(), cost))
        .collect();
    let cash_market = InstanceSpec {
        budget,
        ..InstanceSpec::default()
    };
    let truth = instance_from_valuations(cash_market, &ids, players, &quality, &values, &offers)?;

    let probe = |rows: &[usize]| accuracy(&logistic, data, rows, &test);
    let mut purchases = Vec::with_capacity(Auction::ALL.len());
    for (stage, mechanism) in Auction::ALL.into_iter().enumerate() {
        let market = market(&truth, mechanism, budget, config)?;
        let Equilibrium {
            reports,
            outcome,
            rounds,
            converged,
            ..
        } = best_response_dynamics(&market, mechanism, config.best_response())?;
        let mut rows: Vec<usize> = outcome
            .winners()
            .flat_map(|winner| players.rows_of(winner).iter().copied())
            .collect();
        rows.sort_unstable();
        let tokens = match mechanism {
            Auction::Mut => token_value(&market, outcome.total_tokens()),
            _ => outcome.total_tokens(),
        };
        let cost = outcome
            .winners()
            .fold(0.0, |sum, winner| sum + costs[winner]);
        let mix = Mix::of(&providers.kinds, &rows);
        purchases.push(TextPurchase {
            purchase: Purchase {
                mechanism,
                cash: outcome.total_cash(),
                tokens,
                cost,
                label_noise: mix.noisy_share(),
                accuracy: probe(&rows)?,
                rows,
                reports,
                outcome,
                rounds,
                converged,
            },
            mix,
        });
        progress(Progress {
            done: stage + 2,
            total: STAGES,
        });
    }

    let all_rows: Vec<usize> = (0..data.n_rows()).collect();
    let all_mix = Mix::of(&providers.kinds, &all_rows);
    let all_data = Reference {
        cost: total_cost,
        n_providers,
        n_rows: all_rows.len(),
        value: truth
            .providers()
            .iter()
            .fold(0.0, |sum, provider| sum + provider.score()),
        label_noise: all_mix.noisy_share(),
        accuracy: probe(&all_rows)?,
    };
    let no_purchase = Reference {
        cost: 0.0,
        n_providers: 0,
        n_rows: 0,
        value: 0.0,
        label_noise: 0.0,
        accuracy: probe(&[])?,
    };
    Ok(TextMarket {
        seed,
        providers,
        n_padding,
        truth,
        budget,
        purchases,
        all_data: (all_data, all_mix),
        no_purchase: (no_purchase, Mix::default()),
    })
}

/// The rows of `data` in a seeded random order: the one provider of a
/// split without noise or duplicates ([`split_among_providers`] deals the
/// rows in a seeded random order and, with ρ = δ = 0, changes no label and
/// appends no copy).
fn shuffled(data: &Dataset, seed: u64) -> anyhow::Result<Dataset> {
    let one = SplitConfig {
        n_providers: 1,
        max_noise: 0.0,
        max_duplicates: 0.0,
    };
    Ok(split_among_providers(data, &one, seed)?.data)
}

/// Deals the pool's reviews among `config.n_providers()` providers and the
/// off-task snippets among the first `n_padding` of them, and tells each
/// row's kind: a review is noisy when its label differs from the pool's
/// row with the same embedding (every embedding of the corpus is distinct,
/// [`super::corpus::read`]).
fn deal(
    pool: &Dataset,
    off_task: &Dataset,
    config: &RoundConfig,
    n_padding: usize,
    seed: u64,
) -> anyhow::Result<Providers> {
    let n_providers = config.n_providers();
    let reviews = split_among_providers(
        pool,
        &SplitConfig {
            n_providers,
            max_noise: config.max_noise(),
            max_duplicates: config.max_duplicates(),
        },
        cell_seed(seed, stream::REVIEWS),
    )?;
    let padding = split_among_providers(
        off_task,
        &SplitConfig {
            n_providers: n_padding,
            max_noise: 0.0,
            max_duplicates: config.max_duplicates(),
        },
        cell_seed(seed, stream::OFF_TASK),
    )
    .with_context(|| {
        format!(
            "splitting {} off-task snippets among {n_padding} providers",
            off_task.n_rows()
        )
    })?;
    let true_label: HashMap<Vec<u64>, usize> =
        pool.iter().map(|(row, label)| (bits(row), label)).collect();

    let dim = pool.n_features();
    let review_rows: Vec<(&[f64], usize)> = reviews.data.iter().collect();
    let padding_rows: Vec<(&[f64], usize)> = padding.data.iter().collect();
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut of_row = Vec::new();
    let mut kinds = Vec::new();
    for provider in 0..n_providers {
        let own = reviews.players.rows_of(provider).iter().map(|&row| {
            let (x, label) = review_rows[row];
            let kind = match true_label.get(&bits(x)) {
                Some(&truth) if truth == label => Kind::Clean,
                _ => Kind::Noisy,
            };
            (x, label, kind)
        });
        let padded = if provider < n_padding {
            padding.players.rows_of(provider)
        } else {
            &[]
        };
        let off_task = padded.iter().map(|&row| {
            let (x, label) = padding_rows[row];
            (x, label, Kind::OffTask)
        });
        for (x, label, kind) in own.chain(off_task) {
            features.extend_from_slice(x);
            labels.push(label);
            of_row.push(provider);
            kinds.push(kind);
        }
    }
    Ok(Providers {
        data: Dataset::new(features, dim, labels, pool.n_classes())?,
        players: Players::groups(of_row)?,
        kinds,
    })
}

/// Each provider's per-snippet cost u_i ~ LogNormal(0, σ) (1 when σ = 0),
/// drawn as the bids of a [`Population`] of `n_providers`.
fn unit_costs(n_providers: usize, sigma: f64, seed: u64) -> anyhow::Result<Vec<f64>> {
    let constant = |value| Distribution::Constant { value };
    let cost = if sigma > 0.0 {
        Distribution::LogNormal { mu: 0.0, sigma }
    } else {
        constant(1.0)
    };
    let population = Population::new(PopulationSpec {
        providers: n_providers,
        budget_fraction: 1.0,
        token_budget_fraction: None,
        liquidity: None,
        token_pool: None,
        cost,
        quality: constant(1.0),
        utility: constant(1.0),
        volume: None,
        claimed_quality: None,
    })?;
    let draw = population.draw(cell_seed(seed, stream::COSTS), 0);
    Ok(draw.providers().iter().map(|p| p.bid()).collect())
}

/// The market `mechanism` clears: the true market with that mechanism's
/// share of the budget B, as in [`procura::round`]:
///
/// ```text
/// qmia, volume, trust   cash budget B
/// mut                   token budget R = B, pool Π = token_pool
/// mixed                 cash λ·B and tokens (1 − λ)·B
/// ```
fn market(
    truth: &Instance,
    mechanism: Auction,
    budget: f64,
    config: &RoundConfig,
) -> anyhow::Result<Instance> {
    let spec = truth.to_spec();
    let spec = match mechanism {
        Auction::Qmia | Auction::Volume | Auction::Trust => spec,
        Auction::Mut => InstanceSpec {
            token_budget: Some(budget),
            token_pool: Some(config.token_pool()),
            ..spec
        },
        Auction::Mixed => InstanceSpec {
            budget: config.liquidity() * budget,
            token_budget: Some((1.0 - config.liquidity()) * budget),
            liquidity: Some(config.liquidity()),
            ..spec
        },
    };
    Ok(Instance::new(spec)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_count_kinds() {
        let kinds = [Kind::Clean, Kind::Noisy, Kind::OffTask, Kind::OffTask];
        let mix = Mix::of(&kinds, &[0, 1, 2, 3, 3]);
        assert_eq!(
            mix,
            Mix {
                snippets: 5,
                noisy: 1,
                off_task: 3
            }
        );
        assert_eq!((mix.noisy_share(), mix.off_task_share()), (0.2, 0.6));
        assert_eq!(Mix::of(&kinds, &[]).noisy_share(), 0.0);
    }

    #[test]
    fn a_third_of_the_providers_pad() {
        let check = |n, expected| assert_eq!(n_padding(n), expected, "{n}");
        check(1, 1);
        check(3, 1);
        check(4, 2);
        check(30, 10);
    }

    #[test]
    fn the_shuffle_permutes_rows_and_keeps_labels() {
        let data =
            Dataset::new((0..20).map(f64::from).collect(), 1, [0, 1].repeat(10), 2).expect("valid");
        let shuffled = shuffled(&data, 7).expect("shuffles");
        assert_ne!(shuffled, data);
        let mut rows: Vec<(u64, usize)> = shuffled
            .iter()
            .map(|(x, label)| (x[0] as u64, label))
            .collect();
        rows.sort_unstable();
        let expected: Vec<(u64, usize)> = (0..20).map(|i| (i, (i % 2) as usize)).collect();
        assert_eq!(rows, expected);
        assert_eq!(shuffled, super::shuffled(&data, 7).expect("shuffles"));
    }

    /// A toy corpus: reviews of class 0 in [0, 800), of class 1 in
    /// [10000, 10800), off-task rows from 50000.
    fn toy() -> Corpus {
        let reviews = Dataset::new(
            (0..800)
                .map(|i| f64::from(i) + if i % 2 == 0 { 0.0 } else { 10_000.0 })
                .collect(),
            1,
            (0..800).map(|i| i % 2).collect(),
            2,
        )
        .expect("valid");
        let speeches = Dataset::new(
            (0..100).map(|i| 50_000.0 + f64::from(i)).collect(),
            1,
            (0..100).map(|i| i % 2).collect(),
            2,
        )
        .expect("valid");
        Corpus {
            reviews,
            speeches,
            classes: vec!["fresh".to_owned(), "rotten".to_owned()],
        }
    }

    #[test]
    fn the_deal_gives_off_task_rows_to_the_padding_providers_and_tells_kinds() {
        let corpus = toy();
        let config = RoundConfig::demo().with_n_providers(6).expect("valid");
        let providers = deal(&corpus.reviews, &corpus.speeches, &config, 2, 3).expect("deals");
        assert_eq!(providers.players.n_players(), 6);
        let (x, labels) = (providers.data.features(), providers.data.labels());
        let mut off_task = 0;
        for (row, kind) in providers.kinds.iter().enumerate() {
            let provider = providers.players.of_row()[row];
            // Off-task rows are the speeches', of the first two providers.
            assert_eq!(*kind == Kind::OffTask, x[row] >= 50_000.0, "row {row}");
            if *kind == Kind::OffTask {
                assert!(provider < 2, "row {row} of provider {provider}");
                off_task += 1;
            } else {
                // Noisy rows are the reviews whose label is not their
                // range's.
                let truth = usize::from(x[row] >= 10_000.0);
                assert_eq!(*kind == Kind::Noisy, labels[row] != truth, "row {row}");
            }
        }
        // Every speech is dealt, some more than once.
        assert!(off_task >= 100, "{off_task}");
        assert!(providers.kinds.contains(&Kind::Noisy));
    }

    #[test]
    fn the_round_buys_within_budget_and_counts_what_it_bought() {
        let config = RoundConfig::demo().with_n_providers(6).expect("valid");
        let market = run(&toy(), &config, 3, &|_| {}).expect("runs");
        let providers = &market.providers;
        assert_eq!(market.n_padding, 2);
        let (all, mix) = &market.all_data;
        assert_eq!(mix.snippets, providers.data.n_rows());
        assert_eq!(all.n_rows, mix.snippets);
        assert_eq!(
            *mix,
            Mix::of(&providers.kinds, &(0..mix.snippets).collect::<Vec<_>>())
        );
        for bought in &market.purchases {
            let purchase = &bought.purchase;
            assert!(purchase.spend() <= market.budget * (1.0 + 1e-12));
            assert_eq!(bought.mix, Mix::of(&providers.kinds, &purchase.rows));
            assert_eq!(purchase.label_noise, bought.mix.noisy_share());
        }
        // The same seed, the same market.
        assert_eq!(market, run(&toy(), &config, 3, &|_| {}).expect("runs"));
    }
}

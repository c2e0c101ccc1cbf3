//! Offers: what providers ask for their data, turned into the procurement
//! instance (spec §A.1) that the buyer's measurements of that data make.
//!
//! procura-valuation measures what each provider's rows are worth and how
//! good their labels are; it knows nothing of auctions. This is the one
//! place where those numbers become an instance, for `procura value
//! --emit-instance` and for a procurement round ([`crate::round`]):
//!
//! ```text
//! utility_i          max(0, value_i)   (rows that lower the model's score are worth
//!                                       nothing, and can never win a score-ranked mechanism)
//! quality_i          the measured quality
//! bid_i              the offer's bid
//! volume_i           the offer's volume, by default the provider's row count
//! claimed_quality_i  the offer's claim, by default quality_i
//! ```
//!
//! Every provider with rows must offer, once, and no one else may.

use std::collections::HashMap;

use procura_mechanisms::procurement::{Instance, InstanceError, InstanceSpec, ProviderSpec};
use procura_valuation::Players;

/// One provider's offer: the bid, and optionally the volume and the quality
/// it claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The provider, by the name its rows carry.
    pub provider: String,
    /// The bid b_i (checked with the instance: finite, ≥ 0).
    pub bid: f64,
    /// The volume offered; `None` means the provider's row count.
    pub volume: Option<f64>,
    /// The quality claimed (read only by `trust`); `None` means the
    /// measured quality.
    pub claimed_quality: Option<f64>,
}

impl Offer {
    /// An offer of `bid` for all of `provider`'s rows, claiming nothing.
    pub fn new(provider: impl Into<String>, bid: f64) -> Offer {
        Offer {
            provider: provider.into(),
            bid,
            volume: None,
            claimed_quality: None,
        }
    }
}

/// Why offers and valuations make no instance. Messages name the provider;
/// `offer` is the offer's index, for a caller that knows where it was read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// An offer names a provider with no rows.
    #[error("provider {provider:?} has no rows in the training set")]
    UnknownProvider {
        /// Index of the offer.
        offer: usize,
        /// The provider it names.
        provider: String,
    },
    /// A second offer of the same provider.
    #[error("provider {provider:?} bids twice")]
    Twice {
        /// Index of the second offer.
        offer: usize,
        /// The provider.
        provider: String,
    },
    /// A provider with rows made no offer.
    #[error("provider {provider:?} of the training set has no bid")]
    NoOffer {
        /// The provider.
        provider: String,
    },
    /// The per-provider inputs disagree on the number of providers.
    #[error(
        "{names} names, {players} players, {quality} quality scores and {values} values: \
         expected one of each per provider"
    )]
    Lengths {
        /// Names given.
        names: usize,
        /// Players of the partition.
        players: usize,
        /// Quality scores given.
        quality: usize,
        /// Values given.
        values: usize,
    },
    /// The instance breaks a rule of §A.1 (the message names the field).
    #[error(transparent)]
    Instance(#[from] InstanceError),
}

/// The instance of `offers`, in their order, priced by the buyer's
/// measurements (see the module documentation): provider `p` is named
/// `names[p]`, owns `players.rows_of(p)`, and was measured at quality
/// `quality[p]` and value `values[p]`. The offers' providers are appended
/// to `market`'s (usually none), whose budget and token fields are kept;
/// [`Instance::new`] validates the result.
///
/// ```
/// use procura_lab::offer::{instance_from_valuations, Offer, OfferError};
/// use procura_mechanisms::procurement::InstanceSpec;
/// use procura_valuation::Players;
///
/// let names = ["a".to_owned(), "b".to_owned()];
/// let players = Players::groups(vec![0, 0, 1])?;
/// let market = InstanceSpec { budget: 5.0, ..InstanceSpec::default() };
/// let offers = [Offer::new("b", 1.0), Offer::new("a", 2.0)];
/// let instance =
///     instance_from_valuations(market.clone(), &names, &players, &[0.9, 0.8], &[0.3, -0.1], &offers)?;
/// let b = &instance.providers()[0];
/// assert_eq!((b.id(), b.utility(), b.volume()), ("b", 0.0, 1.0));
/// assert_eq!(instance.providers()[1].volume(), 2.0);
///
/// let error = instance_from_valuations(market, &names, &players, &[0.9, 0.8], &[0.3, 0.1], &offers[..1]);
/// assert_eq!(error.unwrap_err().to_string(), "provider \"a\" of the training set has no bid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn instance_from_valuations(
    market: InstanceSpec,
    names: &[String],
    players: &Players,
    quality: &[f64],
    values: &[f64],
    offers: &[Offer],
) -> Result<Instance, OfferError> {
    let n = players.n_players();
    if names.len() != n || quality.len() != n || values.len() != n {
        return Err(OfferError::Lengths {
            names: names.len(),
            players: n,
            quality: quality.len(),
            values: values.len(),
        });
    }
    let player_of: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(player, name)| (name.as_str(), player))
        .collect();
    let mut seen = vec![false; n];
    let mut providers = market.providers;
    providers.reserve(offers.len());
    for (index, offer) in offers.iter().enumerate() {
        let Some(&player) = player_of.get(offer.provider.as_str()) else {
            return Err(OfferError::UnknownProvider {
                offer: index,
                provider: offer.provider.clone(),
            });
        };
        if std::mem::replace(&mut seen[player], true) {
            return Err(OfferError::Twice {
                offer: index,
                provider: offer.provider.clone(),
            });
        }
        let volume = offer.volume.unwrap_or(players.rows_of(player).len() as f64);
        providers.push(ProviderSpec {
            volume: Some(volume),
            claimed_quality: offer.claimed_quality,
            ..ProviderSpec::new(
                offer.provider.clone(),
                offer.bid,
                quality[player],
                values[player].max(0.0),
            )
        });
    }
    if let Some(player) = seen.iter().position(|seen| !seen) {
        return Err(OfferError::NoOffer {
            provider: names[player].clone(),
        });
    }
    Ok(Instance::new(InstanceSpec {
        providers,
        ..market
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("p{i}")).collect()
    }

    #[test]
    fn offers_are_matched_once_each_and_every_provider_offers() {
        let players = Players::groups(vec![0, 1, 1]).expect("groups");
        let market = InstanceSpec {
            budget: 1.0,
            ..InstanceSpec::default()
        };
        let build = |offers: &[Offer]| {
            instance_from_valuations(
                market.clone(),
                &names(2),
                &players,
                &[1.0, 1.0],
                &[1.0, 1.0],
                offers,
            )
        };
        assert_eq!(
            build(&[Offer::new("p0", 1.0), Offer::new("x", 1.0)]),
            Err(OfferError::UnknownProvider {
                offer: 1,
                provider: "x".to_owned()
            })
        );
        assert_eq!(
            build(&[Offer::new("p1", 1.0), Offer::new("p1", 2.0)]),
            Err(OfferError::Twice {
                offer: 1,
                provider: "p1".to_owned()
            })
        );
        assert!(matches!(
            build(&[Offer::new("p0", -1.0), Offer::new("p1", 1.0)]),
            Err(OfferError::Instance(_))
        ));
        let claimed = Offer {
            volume: Some(7.0),
            claimed_quality: Some(0.5),
            ..Offer::new("p1", 3.0)
        };
        let instance = build(&[claimed, Offer::new("p0", 1.0)]).expect("valid");
        let ids: Vec<&str> = instance.providers().iter().map(|p| p.id()).collect();
        assert_eq!(ids, ["p1", "p0"]);
        assert_eq!(instance.providers()[0].volume(), 7.0);
        assert_eq!(instance.providers()[0].claimed_quality(), 0.5);
        assert_eq!(instance.providers()[1].volume(), 1.0);
    }

    #[test]
    fn mismatched_inputs_are_an_error_not_a_panic() {
        let players = Players::groups(vec![0, 1]).expect("two players");
        let error = instance_from_valuations(
            InstanceSpec::default(),
            &names(2),
            &players,
            &[1.0],
            &[1.0, 1.0],
            &[],
        );
        assert!(matches!(error, Err(OfferError::Lengths { quality: 1, .. })));
    }
}

//! [`Mechanism`]: the one name of every mechanism, shared by the command
//! line, experiment files, result tables and every other edge.

use std::fmt;
use std::str::FromStr;

use crate::procurement::Auction;
use crate::threshold::Protocol;

/// The two markets of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Market {
    /// Procurement auctions (Part A): instances with `providers`.
    Procurement,
    /// Threshold contributions (Part B): instances with `users`.
    Threshold,
}

impl Market {
    /// `procurement` or `threshold`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Market::Procurement => "procurement",
            Market::Threshold => "threshold",
        }
    }

    /// The instance field that holds the records: `providers` or `users`.
    #[must_use]
    pub fn records(self) -> &'static str {
        match self {
            Market::Procurement => "providers",
            Market::Threshold => "users",
        }
    }
}

/// Every mechanism procura clears, with what it needs to be played.
///
/// Names, as in files, tables and on the command line: the auctions'
/// (`qmia`, `mut`, `mixed`, `volume`, `trust`), `subsidy`, and
/// `withdrawal-PROTOCOL` (`withdrawal-simultaneous`,
/// `withdrawal-small-first`, `withdrawal-large-first`): withdrawal rights
/// are one mechanism whose outcome depends on the protocol users withdraw
/// under (§B.4), so the protocol is part of its name.
///
/// ```
/// use procura_mechanisms::{procurement::Auction, threshold::Protocol, Mechanism};
///
/// assert_eq!("qmia".parse(), Ok(Mechanism::Auction(Auction::Qmia)));
/// let withdrawal: Mechanism = "withdrawal-small-first".parse()?;
/// assert_eq!(withdrawal, Mechanism::Withdrawal(Protocol::SmallFirst));
/// assert_eq!(withdrawal.to_string(), "withdrawal-small-first");
/// assert_eq!(withdrawal.family(), "withdrawal");
/// # Ok::<(), procura_mechanisms::UnknownMechanism>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// A procurement auction (Part A).
    Auction(Auction),
    /// The posted subsidy (§B.2).
    Subsidy,
    /// Withdrawal rights (§B.3) played under a protocol (§B.4).
    Withdrawal(Protocol),
}

impl Mechanism {
    /// The market whose instances the mechanism clears.
    #[must_use]
    pub fn market(self) -> Market {
        match self {
            Mechanism::Auction(_) => Market::Procurement,
            Mechanism::Subsidy | Mechanism::Withdrawal(_) => Market::Threshold,
        }
    }

    /// The name without the protocol: `withdrawal` for withdrawal rights
    /// under any protocol, the full name otherwise. Outcomes carry it in
    /// their `mechanism` field (§A.2, §B.3).
    #[must_use]
    pub fn family(self) -> &'static str {
        match self {
            Mechanism::Auction(auction) => auction.name(),
            Mechanism::Subsidy => "subsidy",
            Mechanism::Withdrawal(_) => "withdrawal",
        }
    }

    /// One line on what the mechanism does and which properties it keeps.
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Mechanism::Auction(auction) => auction.summary(),
            Mechanism::Subsidy => {
                "subsidy: pay `payment` to everyone who gives `floor` units, on submission; \
                 leaks the whole spend when the threshold fails (§B.2)"
            }
            Mechanism::Withdrawal(_) => {
                "withdrawal rights: cost reports, greedy assignment up to threshold·(1+slack), \
                 Myerson quantity payments in escrow; DSIC, IR, never leaks (§B.3, §B.4)"
            }
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mechanism::Withdrawal(protocol) => write!(f, "withdrawal-{protocol}"),
            _ => f.write_str(self.family()),
        }
    }
}

/// A name that is not a [`Mechanism`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown mechanism {0:?}: expected one of qmia, mut, mixed, volume, trust, subsidy, \
     withdrawal-simultaneous, withdrawal-small-first, withdrawal-large-first"
)]
pub struct UnknownMechanism(pub String);

impl FromStr for Mechanism {
    type Err = UnknownMechanism;
    fn from_str(name: &str) -> Result<Mechanism, UnknownMechanism> {
        if let Ok(auction) = name.parse::<Auction>() {
            return Ok(Mechanism::Auction(auction));
        }
        if name == "subsidy" {
            return Ok(Mechanism::Subsidy);
        }
        name.strip_prefix("withdrawal-")
            .and_then(|protocol| protocol.parse().ok())
            .map(Mechanism::Withdrawal)
            .ok_or_else(|| UnknownMechanism(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back() {
        let all = Auction::ALL
            .map(Mechanism::Auction)
            .into_iter()
            .chain([Mechanism::Subsidy])
            .chain(Protocol::ALL.map(Mechanism::Withdrawal));
        for mechanism in all {
            assert_eq!(mechanism.to_string().parse(), Ok(mechanism));
        }
        for bad in ["withdrawal", "withdrawal-", "QMIA", "withdrawal-fast", ""] {
            assert_eq!(
                bad.parse::<Mechanism>(),
                Err(UnknownMechanism(bad.to_owned()))
            );
        }
    }
}

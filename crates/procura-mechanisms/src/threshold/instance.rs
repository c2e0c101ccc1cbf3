//! Threshold instances and their validation (spec §B.1).
//!
//! [`ThresholdSpec`] is what a user wrote: plain data, possibly wrong.
//! [`ThresholdInstance::new`] checks every rule of §B.1 and returns a
//! [`ThresholdInstance`], which is valid by construction: its fields are
//! private and no method can make it invalid. Mechanisms take
//! `&ThresholdInstance` and never re-check.

use std::collections::HashMap;

use super::protocol::Protocol;
use crate::validate::{check, Number, RecordRef, Rule};

/// Which user an error is about (see [`crate::procurement::RecordRef`]).
pub type UserRef = RecordRef;
#[cfg(feature = "serde")]
use crate::validate::{objects, present};

/// One user as written in an instance file, before validation (§B.1).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct UserSpec {
    /// User name: non-empty and unique.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub id: String,
    /// Reported unit cost c_i: finite, ≥ 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub cost: f64,
    /// Most units the user can give, cap_i: finite, > 0.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub capacity: f64,
    /// What the user gains if the model improves, b_i: finite, ≥ 0;
    /// default 0.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0)))]
    pub benefit: Option<f64>,
}

impl UserSpec {
    /// A user with the three required fields and no benefit.
    pub fn new(id: impl Into<String>, cost: f64, capacity: f64) -> UserSpec {
        UserSpec {
            id: id.into(),
            cost,
            capacity,
            benefit: None,
        }
    }
}

/// A threshold instance as written, before validation (§B.1).
///
/// Optional fields take the defaults of §B.1 when absent. Fields that only
/// one mechanism reads (`reserve_price` for withdrawal rights, `payment`
/// and `floor` for the subsidy) stay optional in the validated instance,
/// and the mechanism that needs one reports its absence.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ThresholdSpec {
    /// Threshold T that the data used in training must reach: finite, > 0.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub threshold: f64,
    /// Per-unit reserve price r: finite, > 0; required by `withdrawal`.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", extend("exclusiveMinimum" = 0)))]
    pub reserve_price: Option<f64>,
    /// Budget cap on the payments: finite, > 0; absent means no cap.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", extend("exclusiveMinimum" = 0)))]
    pub budget: Option<f64>,
    /// Slack: the withdrawal target is T·(1 + slack). Finite, ≥ 0;
    /// default 0.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0)))]
    pub slack: Option<f64>,
    /// Reversibility ρ, the share of the cost incurred only if the data is
    /// used: in [0, 1]; default 0.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0, max = 1)))]
    pub reversibility: Option<f64>,
    /// Mean σ of the exponential regret shocks: finite, ≥ 0; default 0
    /// (no shocks).
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0)))]
    pub shock_mean: Option<f64>,
    /// Lump subsidy P: finite, ≥ 0; required by `subsidy`.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0)))]
    pub payment: Option<f64>,
    /// Floor contribution f that earns the subsidy: finite, > 0; required
    /// by `subsidy`.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", extend("exclusiveMinimum" = 0)))]
    pub floor: Option<f64>,
    /// Withdrawal protocol; default `simultaneous`.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "Protocol"))]
    pub protocol: Option<Protocol>,
    /// Initial stay probability of the simultaneous protocol: in [0, 1];
    /// default 1.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "present"))]
    #[cfg_attr(feature = "schema", schemars(with = "f64", range(min = 0, max = 1)))]
    pub belief: Option<f64>,
    /// The users, in any order.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "objects"))]
    pub users: Vec<UserSpec>,
}

/// A validated user. Every field satisfies §B.1.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    id: String,
    cost: f64,
    capacity: f64,
    benefit: f64,
}

impl User {
    /// User name, unique within its instance.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Reported unit cost c_i.
    #[must_use]
    pub fn cost(&self) -> f64 {
        self.cost
    }
    /// Capacity cap_i.
    #[must_use]
    pub fn capacity(&self) -> f64 {
        self.capacity
    }
    /// Benefit b_i from an improved model.
    #[must_use]
    pub fn benefit(&self) -> f64 {
        self.benefit
    }

    fn to_spec(&self) -> UserSpec {
        UserSpec {
            id: self.id.clone(),
            cost: self.cost,
            capacity: self.capacity,
            benefit: Some(self.benefit),
        }
    }
}

/// A validated threshold instance (§B.1).
///
/// The only way to get one is [`ThresholdInstance::new`] (or a method that
/// validates its change), so every instance satisfies every rule of §B.1.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdInstance {
    threshold: f64,
    reserve_price: Option<f64>,
    budget: Option<f64>,
    slack: f64,
    reversibility: f64,
    shock_mean: f64,
    payment: Option<f64>,
    floor: Option<f64>,
    protocol: Protocol,
    belief: f64,
    users: Vec<User>,
}

/// Why a [`ThresholdSpec`] is not a valid instance. Every variant names the
/// field and, for user fields, the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ThresholdError {
    /// A top-level number breaks its rule.
    #[error("{field} {} {rule}", Number(*.value))]
    Field {
        /// The field's name in the instance file.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The rule it breaks.
        rule: Rule,
    },
    /// A user's number breaks its rule.
    #[error("user {user}: {field} {} {rule}", Number(*.value))]
    UserField {
        /// The user.
        user: UserRef,
        /// The field's name in the instance file.
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The rule it breaks.
        rule: Rule,
    },
    /// A user's id is the empty string.
    #[error("user {user}: id is empty")]
    EmptyId {
        /// The user.
        user: UserRef,
    },
    /// Two users share an id.
    #[error("user {user}: id is a duplicate of user #{first}")]
    DuplicateId {
        /// The later of the two users.
        user: UserRef,
        /// Index of the first user with that id.
        first: usize,
    },
    /// The numbers are individually valid but too large to work with in
    /// doubles: a quantity the mechanisms compute overflows.
    #[error("{quantity} = {} overflows f64", Number(*.value))]
    Overflow {
        /// The quantity, as a formula over instance fields.
        quantity: &'static str,
        /// Its value (±∞).
        value: f64,
    },
    /// An edit named a user that does not exist.
    #[error("users: no user #{index} (there are {len})")]
    NoSuchUser {
        /// The index asked for.
        index: usize,
        /// The number of users.
        len: usize,
    },
}

fn top_level(field: &'static str, value: f64, rule: Rule) -> Result<f64, ThresholdError> {
    check(field, value, rule).map_err(|(field, value, rule)| ThresholdError::Field {
        field,
        value,
        rule,
    })
}

fn optional(
    field: &'static str,
    value: Option<f64>,
    rule: Rule,
) -> Result<Option<f64>, ThresholdError> {
    value.map(|value| top_level(field, value, rule)).transpose()
}

fn validate_user(index: usize, spec: UserSpec) -> Result<User, ThresholdError> {
    if spec.id.is_empty() {
        return Err(ThresholdError::EmptyId {
            user: UserRef { index, id: None },
        });
    }
    let field = |field, value, rule| {
        check(field, value, rule).map_err(|(field, value, rule)| ThresholdError::UserField {
            user: UserRef {
                index,
                id: Some(spec.id.clone()),
            },
            field,
            value,
            rule,
        })
    };
    let cost = field("cost", spec.cost, Rule::NonNegative)?;
    let capacity = field("capacity", spec.capacity, Rule::Positive)?;
    let benefit = field("benefit", spec.benefit.unwrap_or(0.0), Rule::NonNegative)?;
    Ok(User {
        id: spec.id,
        cost,
        capacity,
        benefit,
    })
}

impl ThresholdInstance {
    /// Validates `spec` against every rule of §B.1.
    ///
    /// Beyond §B.1, it refuses instances in which a quantity that the
    /// mechanisms compute overflows a double: the target T·(1 + slack), the
    /// total capacity, the most the withdrawal payments can reach
    /// (r·T·(1 + slack), with r lowered by the budget), and the subsidy's
    /// largest spend and collection (P and f times the number of users).
    ///
    /// ```
    /// use procura_mechanisms::threshold::{ThresholdInstance, ThresholdSpec, UserSpec};
    /// let spec = ThresholdSpec {
    ///     threshold: 1.0,
    ///     users: vec![UserSpec::new("u1", -1.0, 2.0)],
    ///     ..ThresholdSpec::default()
    /// };
    /// let error = ThresholdInstance::new(spec).unwrap_err();
    /// assert_eq!(error.to_string(), r#"user "u1" (#0): cost -1 is negative"#);
    /// ```
    pub fn new(spec: ThresholdSpec) -> Result<ThresholdInstance, ThresholdError> {
        let threshold = top_level("threshold", spec.threshold, Rule::Positive)?;
        let reserve_price = optional("reserve_price", spec.reserve_price, Rule::Positive)?;
        let budget = optional("budget", spec.budget, Rule::Positive)?;
        let slack = top_level("slack", spec.slack.unwrap_or(0.0), Rule::NonNegative)?;
        let reversibility = top_level(
            "reversibility",
            spec.reversibility.unwrap_or(0.0),
            Rule::UnitInterval,
        )?;
        let shock_mean = top_level(
            "shock_mean",
            spec.shock_mean.unwrap_or(0.0),
            Rule::NonNegative,
        )?;
        let payment = optional("payment", spec.payment, Rule::NonNegative)?;
        let floor = optional("floor", spec.floor, Rule::Positive)?;
        let protocol = spec.protocol.unwrap_or_default();
        let belief = top_level("belief", spec.belief.unwrap_or(1.0), Rule::UnitInterval)?;

        let mut first_index: HashMap<&str, usize> = HashMap::with_capacity(spec.users.len());
        for (index, user) in spec.users.iter().enumerate() {
            // An empty id is its own error, even when two users share it.
            if user.id.is_empty() {
                return Err(ThresholdError::EmptyId {
                    user: UserRef { index, id: None },
                });
            }
            if let Some(&first) = first_index.get(user.id.as_str()) {
                return Err(ThresholdError::DuplicateId {
                    user: UserRef {
                        index,
                        id: Some(user.id.clone()),
                    },
                    first,
                });
            }
            first_index.insert(user.id.as_str(), index);
        }
        drop(first_index);
        let mut users = Vec::with_capacity(spec.users.len());
        for (index, user) in spec.users.into_iter().enumerate() {
            users.push(validate_user(index, user)?);
        }

        let instance = ThresholdInstance {
            threshold,
            reserve_price,
            budget,
            slack,
            reversibility,
            shock_mean,
            payment,
            floor,
            protocol,
            belief,
            users,
        };
        instance.check_scale()?;
        Ok(instance)
    }

    /// Every product and sum the mechanisms form must stay finite.
    fn check_scale(&self) -> Result<(), ThresholdError> {
        let finite = |quantity: &'static str, value: f64| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(ThresholdError::Overflow { quantity, value })
            }
        };
        let target = self.target();
        finite("threshold·(1 + slack)", target)?;
        let total_capacity = self.users.iter().fold(0.0, |sum, user| sum + user.capacity);
        finite("Σ capacity", total_capacity)?;
        if let Some(reserve) = self.effective_reserve() {
            finite("reserve·threshold·(1 + slack)", reserve * target)?;
        }
        let n_users = self.users.len() as f64;
        if let Some(payment) = self.payment {
            finite("payment·(number of users)", payment * n_users)?;
        }
        if let Some(floor) = self.floor {
            finite("floor·(number of users)", floor * n_users)?;
        }
        Ok(())
    }

    /// Threshold T.
    #[must_use]
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    /// Reserve price r as given, if given (`withdrawal` needs it).
    #[must_use]
    pub fn reserve_price(&self) -> Option<f64> {
        self.reserve_price
    }
    /// Budget cap on the payments, if any.
    #[must_use]
    pub fn budget(&self) -> Option<f64> {
        self.budget
    }
    /// Slack of the withdrawal target.
    #[must_use]
    pub fn slack(&self) -> f64 {
        self.slack
    }
    /// Reversibility ρ.
    #[must_use]
    pub fn reversibility(&self) -> f64 {
        self.reversibility
    }
    /// Mean σ of the regret shocks (0: no shocks).
    #[must_use]
    pub fn shock_mean(&self) -> f64 {
        self.shock_mean
    }
    /// Lump subsidy P, if given (`subsidy` needs it).
    #[must_use]
    pub fn payment(&self) -> Option<f64> {
        self.payment
    }
    /// Floor contribution f, if given (`subsidy` needs it).
    #[must_use]
    pub fn floor(&self) -> Option<f64> {
        self.floor
    }
    /// The instance's withdrawal protocol (a caller may override it).
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// Initial stay probability of the simultaneous protocol.
    #[must_use]
    pub fn belief(&self) -> f64 {
        self.belief
    }
    /// The users, in input order. Outcomes refer to them by index.
    #[must_use]
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The withdrawal target (§B.3, step 2).
    ///
    /// ```text
    /// T' = T·(1 + slack)
    /// ```
    #[must_use]
    pub fn target(&self) -> f64 {
        self.threshold * (1.0 + self.slack)
    }

    /// The per-unit reserve that withdrawal rights use (§B.3, step 2):
    /// `reserve_price`, lowered to budget/T' when a budget is given. `None`
    /// when the instance has no `reserve_price`.
    ///
    /// ```text
    /// r = min(reserve_price, budget / T')
    /// ```
    #[must_use]
    pub fn effective_reserve(&self) -> Option<f64> {
        let reserve = self.reserve_price?;
        Some(match self.budget {
            Some(budget) if budget / self.target() <= reserve => {
                // budget/T' can round up, so that r·T' exceeds the budget by
                // an ulp; step down until it does not, keeping Σ t ≤ r·T' ≤
                // budget exact.
                let mut lowered = budget / self.target();
                while lowered * self.target() > budget && lowered > 0.0 {
                    lowered = lowered.next_down();
                }
                lowered
            }
            _ => reserve,
        })
    }

    /// The specification this instance was built from, with defaults filled
    /// in. `ThresholdInstance::new(instance.to_spec())` gives back an equal
    /// instance.
    pub fn to_spec(&self) -> ThresholdSpec {
        ThresholdSpec {
            threshold: self.threshold,
            reserve_price: self.reserve_price,
            budget: self.budget,
            slack: Some(self.slack),
            reversibility: Some(self.reversibility),
            shock_mean: Some(self.shock_mean),
            payment: self.payment,
            floor: self.floor,
            protocol: Some(self.protocol),
            belief: Some(self.belief),
            users: self.users.iter().map(User::to_spec).collect(),
        }
    }

    /// The same instance with user `index` reporting `cost` instead: the
    /// unilateral deviation that incentive properties talk about.
    pub fn with_cost(&self, index: usize, cost: f64) -> Result<ThresholdInstance, ThresholdError> {
        let Some(user) = self.users.get(index) else {
            return Err(ThresholdError::NoSuchUser {
                index,
                len: self.users.len(),
            });
        };
        let mut spec = user.to_spec();
        spec.cost = cost;
        let user = validate_user(index, spec)?;
        let mut instance = self.clone();
        instance.users[index] = user;
        Ok(instance)
    }
}

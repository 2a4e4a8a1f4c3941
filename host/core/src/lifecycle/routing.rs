//! Routing a sales-ready lead: rules pick a team, capacity-weighted
//! round-robin picks the person.
//!
//! Rules are tried in order; the first whose conditions all hold picks its
//! team (a rule without conditions matches everything), else the default
//! team. Within one list-valued condition any value may match, compared
//! case-insensitively. When the matching rule says `account_owner_wins` and
//! the lead's account already has an owner who is not marked inactive in
//! that team, the owner gets the lead and the round-robin does not move.
//!
//! The round-robin is smooth weighted round-robin (as in nginx): each pick
//! adds every active member's capacity to its running weight, takes the
//! largest (the first listed on a tie) and subtracts the total capacity from
//! it. Over any run of `sum(capacity)` picks each member gets exactly its
//! capacity, spread out rather than in bursts. Inactive members and members
//! of capacity 0 are skipped. [`RoundRobin`] is plain data for the store.

use super::UserId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The tenant's routing configuration.
///
/// ```json
/// { "rules": [ { "name": "nordic pulp", "country": ["FI", "SE"],
///                "industry": ["Pulp & Paper"], "team": "nordics",
///                "account_owner_wins": true } ],
///   "default_team": "inside-sales",
///   "teams": { "nordics": { "members": [ { "id": "anna", "capacity": 3, "active": true } ] },
///              "inside-sales": { "members": [ { "id": "bob", "capacity": 1, "active": true } ] } } }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    /// Tried in order.
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
    /// The team when no rule matches.
    pub default_team: String,
    /// The teams by name.
    pub teams: BTreeMap<String, Team>,
}

/// One routing rule. Empty conditions are not checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// For people reading the config and the assignment log.
    pub name: String,
    /// Country codes.
    #[serde(default)]
    pub country: Vec<String>,
    /// Sales territories.
    #[serde(default)]
    pub territory: Vec<String>,
    /// Industries.
    #[serde(default)]
    pub industry: Vec<String>,
    /// Products or product lines; any one the lead is interested in matches.
    #[serde(default)]
    pub product: Vec<String>,
    /// The team picked.
    pub team: String,
    /// Whether an existing account owner gets the lead.
    #[serde(default)]
    pub account_owner_wins: bool,
}

/// A sales team.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Its people, in tie-breaking order.
    pub members: Vec<Member>,
}

/// One person of a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The user id.
    pub id: UserId,
    /// The relative share of leads (0 takes none).
    pub capacity: u32,
    /// Whether they take leads now (holiday, left).
    pub active: bool,
}

/// What routing knows about a lead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeadFacts {
    /// Country code.
    pub country: Option<String>,
    /// Sales territory.
    pub territory: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Products the lead showed interest in.
    pub product_interest: Vec<String>,
    /// The owner of the lead's account, if it has one.
    pub account_owner: Option<UserId>,
    /// A person not to pick (the owner who let the SLA expire).
    pub exclude: Option<UserId>,
}

/// Who gets a lead, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The team.
    pub team: String,
    /// The person.
    pub owner: UserId,
    /// The index of the rule that matched; `None` for the default team.
    pub rule: Option<usize>,
    /// Whether the owner is the account owner rather than the round-robin's pick.
    pub account_owner: bool,
}

/// The round-robin's running weights, per team and member.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoundRobin {
    /// Team name → member id → running weight.
    pub current: BTreeMap<String, BTreeMap<UserId, i64>>,
}

impl RoundRobin {
    /// Picks the next person of `team`, skipping inactive members, members
    /// of capacity 0 and `exclude`; `None` when nobody is left.
    pub fn pick(&mut self, team_name: &str, team: &Team, exclude: Option<&str>) -> Option<UserId> {
        let eligible: Vec<&Member> = team
            .members
            .iter()
            .filter(|m| m.active && m.capacity > 0 && Some(m.id.as_str()) != exclude)
            .collect();
        if eligible.is_empty() {
            return None;
        }
        let weights = self.current.entry(team_name.to_string()).or_default();
        // Forget people who left or are inactive, so they restart fresh.
        weights.retain(|id, _| team.members.iter().any(|m| &m.id == id && m.active));
        let mut total = 0_i64;
        let mut best: Option<(&Member, i64)> = None;
        for m in &eligible {
            let w = weights.entry(m.id.clone()).or_insert(0);
            *w += i64::from(m.capacity);
            total += i64::from(m.capacity);
            if best.is_none_or(|(_, b)| *w > b) {
                best = Some((m, *w));
            }
        }
        let (chosen, _) = best?;
        if let Some(w) = weights.get_mut(&chosen.id) {
            *w -= total;
        }
        Some(chosen.id.clone())
    }
}

/// Routing that cannot complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// A rule or the default names a team that is not configured.
    #[error("unknown team {0:?}")]
    UnknownTeam(String),
    /// The team has nobody active with capacity.
    #[error("team {0:?} has no active member with capacity")]
    NoActiveMember(String),
    /// The config is not valid JSON of the routing shape.
    #[error("invalid routing JSON: {0}")]
    Json(String),
}

impl RoutingRules {
    /// Parses and checks routing rules from the tenant's JSON config.
    pub fn from_json(json: &str) -> Result<RoutingRules, RoutingError> {
        let rules: RoutingRules =
            serde_json::from_str(json).map_err(|e| RoutingError::Json(e.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    /// Checks that every team named is configured.
    pub fn validate(&self) -> Result<(), RoutingError> {
        let names = std::iter::once(&self.default_team).chain(self.rules.iter().map(|r| &r.team));
        for name in names {
            if !self.teams.contains_key(name) {
                return Err(RoutingError::UnknownTeam(name.clone()));
            }
        }
        Ok(())
    }
}

/// Picks the team and the person for a lead.
pub fn route(
    facts: &LeadFacts,
    rules: &RoutingRules,
    round_robin: &mut RoundRobin,
) -> Result<Assignment, RoutingError> {
    let matched = rules
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| rule_matches(r, facts));
    let (team_name, rule, owner_wins) = match matched {
        Some((i, r)) => (&r.team, Some(i), r.account_owner_wins),
        None => (&rules.default_team, None, false),
    };
    let team = rules
        .teams
        .get(team_name)
        .ok_or_else(|| RoutingError::UnknownTeam(team_name.clone()))?;
    if owner_wins
        && let Some(owner) = &facts.account_owner
        && facts.exclude.as_ref() != Some(owner)
        && !team.members.iter().any(|m| &m.id == owner && !m.active)
    {
        return Ok(Assignment {
            team: team_name.clone(),
            owner: owner.clone(),
            rule,
            account_owner: true,
        });
    }
    let owner = round_robin
        .pick(team_name, team, facts.exclude.as_deref())
        .ok_or_else(|| RoutingError::NoActiveMember(team_name.clone()))?;
    Ok(Assignment {
        team: team_name.clone(),
        owner,
        rule,
        account_owner: false,
    })
}

fn rule_matches(rule: &RoutingRule, facts: &LeadFacts) -> bool {
    any_eq(&rule.country, facts.country.as_deref())
        && any_eq(&rule.territory, facts.territory.as_deref())
        && any_eq(&rule.industry, facts.industry.as_deref())
        && (rule.product.is_empty()
            || facts
                .product_interest
                .iter()
                .any(|p| any_eq(&rule.product, Some(p))))
}

/// An empty list accepts anything; otherwise the value must equal one entry.
fn any_eq(accepted: &[String], value: Option<&str>) -> bool {
    accepted.is_empty() || value.is_some_and(|v| accepted.iter().any(|a| a.eq_ignore_ascii_case(v)))
}

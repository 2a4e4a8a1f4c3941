//! Lead scoring from tenant-configured rules: explicit *fit* (who the person
//! is, from reported traits) plus implicit *engagement* (what they did, from
//! touchpoints), with exponential decay, per-rule caps, time windows,
//! negative signals, an explanation for every point, and a hot / warm / cold
//! grade with hysteresis.
//!
//! # The rules format (version 1)
//!
//! ```json
//! {
//!   "version": 1,
//!   "half_life_days": 30,
//!   "grades": { "hot": 60, "warm": 25, "hysteresis": 5 },
//!   "fit": [
//!     { "name": "decision maker", "points": 20, "job_title": ["director", "head of *", "vp"] },
//!     { "name": "pulp and paper", "points": 15, "industry": ["Pulp & Paper", "Forestry"] },
//!     { "name": "mid-size", "points": 10, "company_size": { "min": 200, "max": 5000 } },
//!     { "name": "nordics", "points": 5, "country": ["FI", "SE", "NO"] },
//!     { "name": "key account", "points": 25,
//!       "attribute": { "name": "account_tier", "values": ["key", "A"] } },
//!     { "name": "student", "points": -30, "job_title": ["student", "intern"] }
//!   ],
//!   "engagement": [
//!     { "name": "pricing page", "points": 5, "kind": ["page-view"],
//!       "url_prefix": "https://example.com/pricing", "cap": 15 },
//!     { "name": "closing content", "points": 10, "stage": ["closing"],
//!       "topic": ["refiners"], "window_days": 90 },
//!     { "name": "quote request", "points": 30, "kind": ["quote-requested"], "channel": ["eservices"] },
//!     { "name": "webinar campaign", "points": 8, "campaign": ["spring-webinar"],
//!       "source": ["linkedin"], "medium": ["paid"], "url_contains": "/webinar" },
//!     { "name": "unsubscribed", "points": -40, "kind": ["unsubscribed"], "decay": false },
//!     { "name": "hard bounce", "points": -20, "kind": ["email-bounced"], "cap": 20 },
//!     { "name": "competitor", "points": -50, "email_domain": ["rival.example"],
//!       "cap": 50, "decay": false },
//!     { "name": "free mail", "points": -5, "email_domain": ["gmail.com", "hotmail.com"],
//!       "cap": 5, "decay": false }
//!   ]
//! }
//! ```
//!
//! Top level (unknown fields are refused everywhere):
//!
//! - `version` (required): must be `1`.
//! - `half_life_days` (required, > 0): engagement points are worth
//!   `points × 0.5^(age_days / half_life_days)`, where the age runs from the
//!   touchpoint's `occurred_at` to the scoring time (a future or missing
//!   `occurred_at` counts as age 0).
//! - `grades` (required): `hot` and `warm` thresholds on the total
//!   (`warm < hot`), and `hysteresis` (≥ 0, default 0): how far below a
//!   threshold a lead must fall to lose the grade; see [`grade`].
//! - `fit`, `engagement` (optional, default empty): lists of rules.
//!
//! Every rule has a `name` (non-empty) and `points` (finite, not 0; negative
//! subtracts) and at least one condition. All the conditions a rule gives must
//! hold; within one list-valued condition any value may match. Text compares
//! case-insensitively.
//!
//! Fit rules, each added once when it matches the lead's traits:
//!
//! - `job_title`: patterns. A pattern without `*` matches anywhere in the
//!   title (`"director"` matches `"Mill Director"`); with `*` it must match the
//!   whole title, `*` standing for any run of characters (`"head of *"`).
//! - `industry`, `country`: exact values.
//! - `company_size`: `{"min": n, "max": m}`, both inclusive, either optional.
//! - `attribute`: `{"name": "...", "values": [...]}` against `Traits::other`,
//!   e.g. the account's importance tier.
//!
//! Engagement rules, applied to every matching touchpoint:
//!
//! - `kind`: stored kind names (`"page-view"`, `"custom:chat-started"`, ...).
//! - `channel`: `web`, `email`, `social`, `eservices`, `portal`, `events`, `other`.
//! - `topic`, `campaign`, `source`: exact values of the touchpoint's properties.
//! - `stage`: `connecting`, `educating`, `closing`.
//! - `medium`: `organic`, `paid`, `referral`, `direct`, `email`, `social`.
//! - `url_prefix`, `url_contains`: on the touchpoint's URL.
//! - `email_domain`: the domain of the e-mail seen, or the company domain
//!   (competitors, free-mail providers).
//! - `cap` (> 0): the largest magnitude the rule contributes in total, after
//!   decay; touchpoints are taken oldest first and the one that reaches the cap
//!   is trimmed, later ones add 0 (and still show in the ledger).
//! - `window_days` (> 0): only touchpoints at most this old count.
//! - `decay` (default `true`): `false` keeps the full points however old, for
//!   signals such as an unsubscribe that should not fade.

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{
    AttributeMatch, EngagementRule, FitRule, MAX_ENGAGEMENT_RULES, RULES_VERSION, Rules,
    RulesError, Section, SizeRange, Thresholds,
};

use crate::touchpoint::{
    Acquisition, Channel, ContentStage, Timestamp, Touchpoint, TouchpointKind, Traits,
};

const MS_PER_DAY: f64 = 86_400_000.0;

/// One explained contribution to a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// Fit or engagement.
    pub section: Section,
    /// The rule's position in its list.
    pub rule_index: usize,
    /// The rule's name.
    pub rule_name: String,
    /// The touchpoint's external id; `None` for fit rules.
    pub touchpoint: Option<String>,
    /// When the touchpoint happened; `None` for fit rules or when unknown.
    pub occurred_at: Option<Timestamp>,
    /// The rule's points as configured.
    pub points: f64,
    /// After decay (equal to `points` for fit rules and undecayed rules).
    pub decayed: f64,
    /// After the cap: what this delta adds to the score.
    pub applied: f64,
}

/// A lead's score with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// `fit + engagement`.
    pub total: f64,
    /// The sum of the fit deltas.
    pub fit: f64,
    /// The sum of the engagement deltas.
    pub engagement: f64,
    /// Every contribution: fit rules in order, then engagement rules in
    /// order, each by touchpoint oldest first.
    pub ledger: Vec<Delta>,
}

/// Scores a lead at time `now` (milliseconds since the epoch).
///
/// The result does not depend on the order of `touchpoints`: they are taken
/// sorted by `(occurred_at, external_id)`.
pub fn score(rules: &Rules, traits: &Traits, touchpoints: &[&Touchpoint], now: Timestamp) -> Score {
    let mut counted: Vec<Counted<'_>> = touchpoints
        .iter()
        .map(|t| Counted {
            external_id: &t.external_id,
            occurred_at: t.occurred_at,
            matched: matching_rules(rules, t),
        })
        .collect();
    counted.sort_by(Counted::order);
    score_matched(rules, traits, &counted, now, true)
}

/// A set of engagement rules (by index) one touchpoint matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RuleSet(u128);

impl RuleSet {
    /// Adds rule `index` (below [`MAX_ENGAGEMENT_RULES`]).
    pub fn insert(&mut self, index: usize) {
        if index < MAX_ENGAGEMENT_RULES {
            self.0 |= 1 << index;
        }
    }

    /// Whether rule `index` is in the set.
    pub fn contains(self, index: usize) -> bool {
        index < MAX_ENGAGEMENT_RULES && self.0 & (1 << index) != 0
    }

    /// Whether no rule matched.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many rules matched.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The rule indexes, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let index = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(index)
        })
    }
}

/// What engagement rules look at in a touchpoint, borrowed: from a
/// [`Touchpoint`] ([`Facts::of`]) or from a caller's own compact copy.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// What happened.
    pub kind: &'a TouchpointKind,
    /// Where.
    pub channel: Channel,
    /// Content topic.
    pub topic: Option<&'a str>,
    /// Content stage.
    pub stage: Option<ContentStage>,
    /// The URL, as given.
    pub url: Option<&'a str>,
    /// Campaign.
    pub campaign: Option<&'a str>,
    /// Acquisition source.
    pub source: Option<&'a str>,
    /// Acquisition medium.
    pub medium: Option<Acquisition>,
    /// The domain of the e-mail seen.
    pub email_domain: Option<&'a str>,
    /// The company domain seen.
    pub company_domain: Option<&'a str>,
}

impl<'a> Facts<'a> {
    /// The facts of a touchpoint.
    pub fn of(t: &'a Touchpoint) -> Facts<'a> {
        let p = &t.properties;
        Facts {
            kind: &t.kind,
            channel: t.channel,
            topic: p.topic.as_deref(),
            stage: p.content_stage,
            url: p.url.as_deref(),
            campaign: p.campaign.as_deref(),
            source: p.source.as_deref(),
            medium: p.medium,
            email_domain: t
                .identities
                .email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d),
            company_domain: t.identities.company_domain.as_deref(),
        }
    }
}

/// One touchpoint as scoring counts it: its id (for the ledger), its time
/// and the engagement rules it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted<'a> {
    /// The touchpoint's external id.
    pub external_id: &'a str,
    /// When it happened.
    pub occurred_at: Option<Timestamp>,
    /// The engagement rules it matched.
    pub matched: RuleSet,
}

impl Counted<'_> {
    /// The order engagement is counted in, which decides what a cap trims:
    /// oldest first, then by external id.
    pub fn order(a: &Counted<'_>, b: &Counted<'_>) -> std::cmp::Ordering {
        (a.occurred_at, a.external_id).cmp(&(b.occurred_at, b.external_id))
    }
}

/// The engagement rules a touchpoint matches.
///
/// Matching depends only on the rules and the touchpoint, not on the time,
/// so a caller that keeps touchpoints can match each once and score many
/// times with [`score_matched`].
pub fn matching_rules(rules: &Rules, touchpoint: &Touchpoint) -> RuleSet {
    matching(rules, &Facts::of(touchpoint))
}

/// The engagement rules these facts match.
pub fn matching(rules: &Rules, facts: &Facts<'_>) -> RuleSet {
    let mut set = RuleSet::default();
    let mut url: Option<Option<String>> = None;
    for (index, rule) in rules.engagement.iter().enumerate() {
        if !engagement_matches_cheap(rule, facts) {
            continue;
        }
        if rule.url_prefix.is_some() || rule.url_contains.is_some() {
            let lower = url.get_or_insert_with(|| facts.url.map(str::to_lowercase));
            let lower = lower.as_deref();
            let prefix_ok = rule
                .url_prefix
                .as_ref()
                .is_none_or(|pre| lower.is_some_and(|u| u.starts_with(pre.as_str())));
            let contains_ok = rule
                .url_contains
                .as_ref()
                .is_none_or(|part| lower.is_some_and(|u| u.contains(part.as_str())));
            if !(prefix_ok && contains_ok) {
                continue;
            }
        }
        set.insert(index);
    }
    set
}

/// [`score`] for touchpoints already matched with [`matching_rules`] and
/// sorted by [`Counted::order`]; the same arithmetic in the same order, so
/// the totals are identical. With `explain` false the ledger is left empty.
pub fn score_matched(
    rules: &Rules,
    traits: &Traits,
    signals: &[Counted<'_>],
    now: Timestamp,
    explain: bool,
) -> Score {
    let mut ledger = Vec::new();
    let mut fit = 0.0;
    for (index, rule) in rules.fit.iter().enumerate() {
        if fit_matches(rule, traits) {
            fit += rule.points;
            if explain {
                ledger.push(Delta {
                    section: Section::Fit,
                    rule_index: index,
                    rule_name: rule.name.clone(),
                    touchpoint: None,
                    occurred_at: None,
                    points: rule.points,
                    decayed: rule.points,
                    applied: rule.points,
                });
            }
        }
    }

    // Per rule: the magnitude used against its cap, and its sum. Touchpoints
    // come oldest first, so each rule sees its own matches oldest first.
    let count = rules.engagement.len();
    let mut used = vec![0.0_f64; count];
    let mut sums = vec![0.0_f64; count];
    let mut deltas = Vec::new();
    for t in signals {
        if t.matched.is_empty() {
            continue;
        }
        let age_days = t.occurred_at.map_or(0.0, |at| {
            (now.saturating_sub(at)).max(0) as f64 / MS_PER_DAY
        });
        // One decay factor per touchpoint: the half-life is the tenant's.
        let factor = 0.5_f64.powf(age_days / rules.half_life_days);
        for index in t.matched.iter() {
            let Some(rule) = rules.engagement.get(index) else {
                continue;
            };
            if rule.window_days.is_some_and(|w| age_days > w) {
                continue;
            }
            let decayed = if rule.decay {
                rule.points * factor
            } else {
                rule.points
            };
            let applied = match rule.cap {
                None => decayed,
                Some(cap) => {
                    let room = (cap - used[index]).max(0.0);
                    decayed.clamp(-room, room)
                }
            };
            used[index] += applied.abs();
            sums[index] += applied;
            if explain {
                deltas.push(Delta {
                    section: Section::Engagement,
                    rule_index: index,
                    rule_name: rule.name.clone(),
                    touchpoint: Some(t.external_id.to_string()),
                    occurred_at: t.occurred_at,
                    points: rule.points,
                    decayed,
                    applied,
                });
            }
        }
    }
    // Stable: within a rule the deltas stay oldest first.
    deltas.sort_by_key(|d| d.rule_index);
    ledger.extend(deltas);
    let engagement: f64 = sums.iter().sum();

    Score {
        total: fit + engagement,
        fit,
        engagement,
        ledger,
    }
}

/// A lead's temperature.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    /// Below warm.
    Cold,
    /// At or above warm.
    Warm,
    /// At or above hot.
    Hot,
}

impl Grade {
    /// The stored (kebab-case) name.
    pub fn name(self) -> &'static str {
        match self {
            Grade::Cold => "cold",
            Grade::Warm => "warm",
            Grade::Hot => "hot",
        }
    }
}

/// The grade for `total`, given the lead's previous grade.
///
/// Moving up needs the threshold itself; moving down needs the total to fall
/// more than `hysteresis` below the threshold of the grade held, so a total
/// wobbling around a threshold does not make the grade flap.
pub fn grade(previous: Option<Grade>, total: f64, rules: &Rules) -> Grade {
    let g = rules.grades;
    let plain = if total >= g.hot {
        Grade::Hot
    } else if total >= g.warm {
        Grade::Warm
    } else {
        Grade::Cold
    };
    match previous {
        Some(held) if plain < held => {
            // Keep the highest grade not above the one held whose threshold,
            // lowered by the hysteresis, the total still reaches.
            if held == Grade::Hot && total >= g.hot - g.hysteresis {
                Grade::Hot
            } else if total >= g.warm - g.hysteresis {
                Grade::Warm
            } else {
                Grade::Cold
            }
        }
        _ => plain,
    }
}

fn fit_matches(rule: &FitRule, traits: &Traits) -> bool {
    let title_ok = rule.job_title.is_empty()
        || traits
            .job_title
            .as_deref()
            .is_some_and(|t| rule.job_title.iter().any(|p| pattern_matches(p, t)));
    let industry_ok = any_eq(&rule.industry, traits.industry.as_deref());
    let country_ok = any_eq(&rule.country, traits.country.as_deref());
    let size_ok = rule.company_size.is_none_or(|r| {
        traits
            .company_size
            .is_some_and(|s| r.min.is_none_or(|lo| s >= lo) && r.max.is_none_or(|hi| s <= hi))
    });
    let attribute_ok = rule.attribute.as_ref().is_none_or(|a| {
        traits
            .other
            .iter()
            .any(|o| o.name == a.name && a.values.iter().any(|v| v.eq_ignore_ascii_case(&o.value)))
    });
    title_ok && industry_ok && country_ok && size_ok && attribute_ok
}

/// Every condition of `rule` but the URL ones, which [`matching`] checks
/// with the URL lower-cased once per touchpoint.
fn engagement_matches_cheap(rule: &EngagementRule, f: &Facts<'_>) -> bool {
    (rule.kind.is_empty() || rule.kind.contains(f.kind))
        && (rule.channel.is_empty() || rule.channel.contains(&f.channel))
        && any_eq(&rule.topic, f.topic)
        && (rule.stage.is_empty() || f.stage.is_some_and(|s| rule.stage.contains(&s)))
        && any_eq(&rule.campaign, f.campaign)
        && any_eq(&rule.source, f.source)
        && (rule.medium.is_empty() || f.medium.is_some_and(|m| rule.medium.contains(&m)))
        && (rule.email_domain.is_empty()
            || rule.email_domain.iter().any(|d| {
                f.email_domain.is_some_and(|e| e.eq_ignore_ascii_case(d))
                    || f.company_domain.is_some_and(|c| c.eq_ignore_ascii_case(d))
            }))
}

/// An empty list accepts anything; otherwise the value must equal one entry.
fn any_eq(accepted: &[String], value: Option<&str>) -> bool {
    accepted.is_empty() || value.is_some_and(|v| accepted.iter().any(|a| a.eq_ignore_ascii_case(v)))
}

/// Case-insensitive: without `*` a substring match, with `*` a whole-string
/// glob where `*` is any run of characters.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let text = text.to_lowercase();
    if !pattern.contains('*') {
        return text.contains(&pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut tail) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for part in middle {
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

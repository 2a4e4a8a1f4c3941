//! The send-time policy: whether a message may go out now, on which channel,
//! or when it may instead. The tenant's [`NurturePolicy`] format is in the
//! [module documentation](super).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::assign::LeadFacts;
use super::channel::DEFAULT_FALLBACK;
use super::json::{delivery_channel, get, time_of_day, unknown};
use super::local::{MS_PER_DAY, QuietHours};
use super::plan::SentRecord;
use crate::touchpoint::{Channel, ConsentSignal, Timestamp, Touchpoint};

/// The only policy format version this crate reads.
pub const POLICY_VERSION: u64 = 1;

/// Why a tenant's nurture policy was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON, or the top level is not an object.
    #[error("nurture policy is not valid JSON: {0}")]
    Json(String),
    /// A `version` this crate does not read.
    #[error("nurture policy version {found} is not supported (expected {POLICY_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// A field is missing, unknown or wrong.
    #[error("nurture policy: field `{field}`: {reason}")]
    Field {
        /// Its path, e.g. `caps[1].per_days`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// At most `max` messages per `per_days` days, on one channel or on all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrequencyCap {
    /// How many messages (≥ 1).
    pub max: u32,
    /// In how many days (> 0), a sliding window.
    pub per_days: f64,
    /// Only messages on this channel; `None`: all channels together.
    pub channel: Option<Channel>,
}

impl FrequencyCap {
    fn period(&self) -> i64 {
        (self.per_days * MS_PER_DAY as f64).round() as i64
    }

    /// Whether the cap counts messages on `channel`.
    pub fn applies_to(&self, channel: Channel) -> bool {
        self.channel.is_none_or(|c| c == channel)
    }

    /// The earliest time at or after `now` at which one more message on
    /// `channel` stays within the cap. A message sent at `s` counts until
    /// `s + period` (exclusive), so with `n ≥ max` messages in the window,
    /// oldest first `s[0]…`, the answer is `s[n - max] + period`.
    pub fn earliest(&self, sent: &[SentRecord], channel: Channel, now: Timestamp) -> Timestamp {
        if !self.applies_to(channel) {
            return now;
        }
        let period = self.period();
        let mut times: Vec<Timestamp> = sent
            .iter()
            .filter(|s| self.applies_to(s.channel) && s.at <= now && s.at > now - period)
            .map(|s| s.at)
            .collect();
        times.sort_unstable();
        let max = self.max as usize;
        if times.len() < max {
            now
        } else {
            times[times.len() - max] + period
        }
    }
}

/// A tenant's validated send-time policy.
#[derive(Debug, Clone, PartialEq)]
pub struct NurturePolicy {
    quiet_hours: Option<QuietHours>,
    caps: Vec<FrequencyCap>,
    consent_defaults: BTreeMap<String, bool>,
    fallback: Vec<Channel>,
}

impl Default for NurturePolicy {
    /// No quiet hours, no caps, `marketing` allowed unless withdrawn, the
    /// default fallback order: what `{"version": 1}` gives.
    fn default() -> Self {
        NurturePolicy {
            quiet_hours: None,
            caps: Vec::new(),
            consent_defaults: BTreeMap::from([("marketing".to_string(), true)]),
            fallback: DEFAULT_FALLBACK.to_vec(),
        }
    }
}

const POLICY_FIELDS: &[&str] = &[
    "version",
    "quiet_hours",
    "caps",
    "consent_defaults",
    "fallback",
];

impl NurturePolicy {
    /// Parses and validates a policy in the JSON format of the module
    /// documentation.
    pub fn from_json(json: &str) -> Result<NurturePolicy, PolicyError> {
        let top = super::json::top(json).map_err(PolicyError::Json)?;
        let err = |field: &str, reason: String| PolicyError::Field {
            field: field.to_string(),
            reason,
        };
        if let Some(k) = unknown(&top, POLICY_FIELDS) {
            return Err(err(&k, "unknown field".into()));
        }
        let version: u64 = get(&top, "version")
            .map_err(|r| err("version", r))?
            .ok_or_else(|| err("version", "missing".into()))?;
        if version != POLICY_VERSION {
            return Err(PolicyError::UnsupportedVersion { found: version });
        }
        let mut policy = NurturePolicy::default();

        if let Some(q) =
            get::<Map<String, Value>>(&top, "quiet_hours").map_err(|r| err("quiet_hours", r))?
        {
            if let Some(k) = unknown(&q, &["from", "to"]) {
                return Err(err(&format!("quiet_hours.{k}"), "unknown field".into()));
            }
            let from = time_of_day(&q, "from").map_err(|r| err("quiet_hours.from", r))?;
            let to = time_of_day(&q, "to").map_err(|r| err("quiet_hours.to", r))?;
            if from == to {
                return Err(err("quiet_hours.to", "must differ from `from`".into()));
            }
            policy.quiet_hours = Some(QuietHours { from, to });
        }

        let caps: Vec<Value> = get(&top, "caps")
            .map_err(|r| err("caps", r))?
            .unwrap_or_default();
        for (i, cap) in caps.iter().enumerate() {
            let path = |k: &str| format!("caps[{i}]{k}");
            let Value::Object(c) = cap else {
                return Err(err(&path(""), "a cap must be an object".into()));
            };
            if let Some(k) = unknown(c, &["max", "per_days", "channel"]) {
                return Err(err(&path(&format!(".{k}")), "unknown field".into()));
            }
            let max: u32 = get(c, "max")
                .map_err(|r| err(&path(".max"), r))?
                .ok_or_else(|| err(&path(".max"), "missing".into()))?;
            if max == 0 {
                return Err(err(&path(".max"), "must be 1 or more".into()));
            }
            let per_days: f64 = get(c, "per_days")
                .map_err(|r| err(&path(".per_days"), r))?
                .ok_or_else(|| err(&path(".per_days"), "missing".into()))?;
            if !(per_days.is_finite() && per_days > 0.0 && per_days <= 3650.0) {
                return Err(err(
                    &path(".per_days"),
                    "must be a number above 0 (at most 3650)".into(),
                ));
            }
            let channel =
                match get::<String>(c, "channel").map_err(|r| err(&path(".channel"), r))? {
                    None => None,
                    Some(name) => Some(delivery_channel(&name).ok_or_else(|| {
                        err(
                            &path(".channel"),
                            format!("{name:?} is not a delivery channel"),
                        )
                    })?),
                };
            policy.caps.push(FrequencyCap {
                max,
                per_days,
                channel,
            });
        }

        let defaults: BTreeMap<String, bool> = get(&top, "consent_defaults")
            .map_err(|r| err("consent_defaults", r))?
            .unwrap_or_default();
        if defaults.keys().any(|k| k.trim().is_empty()) {
            return Err(err("consent_defaults", "purposes must not be empty".into()));
        }
        policy.consent_defaults.extend(defaults);

        if let Some(names) = get::<Vec<String>>(&top, "fallback").map_err(|r| err("fallback", r))? {
            let mut order = Vec::new();
            for name in &names {
                let c = delivery_channel(name).ok_or_else(|| {
                    err("fallback", format!("{name:?} is not a delivery channel"))
                })?;
                if order.contains(&c) {
                    return Err(err("fallback", format!("{name:?} is listed twice")));
                }
                order.push(c);
            }
            if order.is_empty() {
                return Err(err("fallback", "needs at least one channel".into()));
            }
            policy.fallback = order;
        }
        Ok(policy)
    }

    /// The quiet hours, if any.
    pub fn quiet_hours(&self) -> Option<QuietHours> {
        self.quiet_hours
    }

    /// The frequency caps.
    pub fn caps(&self) -> &[FrequencyCap] {
        &self.caps
    }

    /// The fallback order of channels.
    pub fn fallback(&self) -> &[Channel] {
        &self.fallback
    }

    /// Whether a purpose is allowed when the person never said: the
    /// tenant's `consent_defaults`, else `marketing` allowed and every
    /// other purpose not.
    pub fn consent_default(&self, purpose: &str) -> bool {
        self.consent_defaults.get(purpose).copied().unwrap_or(false)
    }
}

/// A consent signal with its time, from the person's touchpoints.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsentRecord {
    /// When it was given or withdrawn.
    pub at: Timestamp,
    /// What.
    pub signal: ConsentSignal,
}

impl ConsentRecord {
    /// The consent signals on touchpoints, in their order; a touchpoint
    /// without a time counts as the oldest.
    pub fn from_touchpoints(touchpoints: &[&Touchpoint]) -> Vec<ConsentRecord> {
        touchpoints
            .iter()
            .flat_map(|t| {
                t.consent.iter().map(|signal| ConsentRecord {
                    at: t.occurred_at.unwrap_or(Timestamp::MIN),
                    signal: signal.clone(),
                })
            })
            .collect()
    }
}

/// Whether the person allows `purpose` on `channel`: the latest signal for
/// that purpose on that channel or on every channel wins (on equal times,
/// the later in `consents`); without one, the policy's default.
pub fn consent_given(
    policy: &NurturePolicy,
    consents: &[ConsentRecord],
    purpose: &str,
    channel: Channel,
) -> bool {
    consents
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.signal.purpose == purpose && r.signal.channel.is_none_or(|c| c == channel)
        })
        .max_by_key(|(i, r)| (r.at, *i))
        .map_or_else(
            || policy.consent_default(purpose),
            |(_, r)| r.signal.granted,
        )
}

/// Why a message does not go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No consent for the purpose on any reachable channel.
    NoConsent,
    /// The person unsubscribed.
    Unsubscribed,
    /// The person must not be contacted.
    DoNotContact,
    /// It is quiet hours in the person's local time.
    QuietHours,
    /// A frequency cap is reached.
    FrequencyCap,
    /// No channel can reach the person.
    NoReachableChannel,
}

impl Reason {
    /// The name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Reason::NoConsent => "no-consent",
            Reason::Unsubscribed => "unsubscribed",
            Reason::DoNotContact => "do-not-contact",
            Reason::QuietHours => "quiet-hours",
            Reason::FrequencyCap => "frequency-cap",
            Reason::NoReachableChannel => "no-reachable-channel",
        }
    }
}

/// The policy's answer when a message may not go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Never: record it as skipped.
    Skip(Reason),
    /// Not before `at`: postpone the enrollment to then.
    Reschedule {
        /// The earliest time the policy allows.
        at: Timestamp,
        /// What holds it now.
        reason: Reason,
    },
}

impl Refusal {
    /// The reason.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::Skip(r) | Refusal::Reschedule { reason: r, .. } => *r,
        }
    }
}

/// Who a message is for, as the policy needs it.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The lead (flags and UTC offset).
    pub facts: &'a LeadFacts,
    /// Consents given and withdrawn.
    pub consents: &'a [ConsentRecord],
    /// Every nurturing message sent to the person, any enrollment.
    pub sent: &'a [SentRecord],
}

/// The earliest time at or after `now` that quiet hours and every cap on
/// `channel` allow, and what held it at `now` (quiet hours are reported
/// before a cap). Quiet hours and caps are applied in turn until neither
/// moves the time: a cap's time may fall in quiet hours and vice versa.
pub fn earliest_send(
    policy: &NurturePolicy,
    to: &Recipient<'_>,
    channel: Channel,
    now: Timestamp,
) -> (Timestamp, Option<Reason>) {
    let offset = to.facts.utc_offset_minutes;
    let mut at = now;
    let mut first = None;
    // Each round only moves forward, and after a cap moves the time past
    // quiet hours nothing moves it again; a few rounds settle it.
    for _ in 0..16 {
        let before = at;
        if let Some(q) = policy.quiet_hours
            && q.contains(at, offset)
        {
            at = q.end_after(at, offset);
            first.get_or_insert(Reason::QuietHours);
        }
        for cap in &policy.caps {
            let allowed = cap.earliest(to.sent, channel, at);
            if allowed > at {
                at = allowed;
                first.get_or_insert(Reason::FrequencyCap);
            }
        }
        if at == before {
            break;
        }
    }
    (at, first)
}

/// Whether a message for `purpose` may go out on `channel` at `now`.
///
/// Skipped for good: the person is do-not-contact or unsubscribed (an
/// unsubscribe stops all nurturing, whatever the purpose), or the consent
/// for the purpose on the channel is withdrawn (or was never given for a
/// purpose whose default is "not allowed"). Rescheduled: quiet hours in the
/// person's local time, or a frequency cap, to the earliest time both allow.
pub fn may_send(
    policy: &NurturePolicy,
    to: &Recipient<'_>,
    purpose: &str,
    channel: Channel,
    now: Timestamp,
) -> Result<(), Refusal> {
    if to.facts.do_not_contact {
        return Err(Refusal::Skip(Reason::DoNotContact));
    }
    if to.facts.unsubscribed {
        return Err(Refusal::Skip(Reason::Unsubscribed));
    }
    if !consent_given(policy, to.consents, purpose, channel) {
        return Err(Refusal::Skip(Reason::NoConsent));
    }
    match earliest_send(policy, to, channel, now) {
        (at, Some(reason)) if at > now => Err(Refusal::Reschedule { at, reason }),
        _ => Ok(()),
    }
}

/// The channel a message goes out on now: the first of `candidates` (from
/// [`super::delivery_order`], so reachable ones in preference order) with
/// consent for `purpose`, checked by [`may_send`].
///
/// No candidates: skipped, `no-reachable-channel`. Candidates but none with
/// consent: skipped, `no-consent`. A cap or quiet hours on the chosen
/// channel reschedule rather than fall back, so a cap is never dodged by
/// switching channel.
pub fn choose_channel(
    policy: &NurturePolicy,
    to: &Recipient<'_>,
    purpose: &str,
    candidates: &[Channel],
    now: Timestamp,
) -> Result<Channel, Refusal> {
    if candidates.is_empty() {
        return Err(Refusal::Skip(Reason::NoReachableChannel));
    }
    let consented = candidates
        .iter()
        .copied()
        .find(|&c| consent_given(policy, to.consents, purpose, c));
    match consented {
        Some(channel) => may_send(policy, to, purpose, channel, now).map(|()| channel),
        None => {
            // Unsubscribe and do-not-contact say more than "no consent".
            may_send(policy, to, purpose, candidates[0], now)?;
            Err(Refusal::Skip(Reason::NoConsent))
        }
    }
}

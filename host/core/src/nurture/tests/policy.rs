//! The preferred channel and the send-time policy.

use super::*;
use crate::touchpoint::{
    Attribute, Channel, ConsentSignal, Properties, Touchpoint, TouchpointKind, Traits,
};

fn policy(json: &str) -> NurturePolicy {
    NurturePolicy::from_json(json).unwrap()
}

fn policy_refusal(json: &str) -> String {
    NurturePolicy::from_json(json).unwrap_err().to_string()
}

fn sent(channel: Channel, at: Timestamp) -> SentRecord {
    SentRecord {
        step: format!("s{at}"),
        key: format!("k{at}"),
        channel,
        at,
    }
}

fn tp(kind: TouchpointKind, at: Timestamp) -> Touchpoint {
    Touchpoint {
        external_id: format!("t{at}"),
        occurred_at: Some(at),
        channel: Channel::Other,
        kind,
        identities: Default::default(),
        traits: Traits::default(),
        properties: Properties::default(),
        consent: vec![],
    }
}

fn consent(at: Timestamp, purpose: &str, channel: Option<Channel>, granted: bool) -> ConsentRecord {
    ConsentRecord {
        at,
        signal: ConsentSignal {
            purpose: purpose.into(),
            channel,
            granted,
        },
    }
}

#[test]
fn the_documented_policy_parses() {
    let p = policy(&doc_block("# The nurture policy format"));
    let q = p.quiet_hours().unwrap();
    assert_eq!(
        (q.from.to_string(), q.to.to_string()),
        ("20:00".into(), "08:00".into())
    );
    assert_eq!(
        p.caps(),
        &[
            FrequencyCap {
                max: 2,
                per_days: 7.0,
                channel: None
            },
            FrequencyCap {
                max: 1,
                per_days: 2.0,
                channel: Some(Channel::Email)
            }
        ]
    );
    assert!(p.consent_default("marketing"));
    assert!(!p.consent_default("events"));
    assert!(
        !p.consent_default("surveys"),
        "unlisted purposes are not allowed"
    );
    assert_eq!(p.fallback(), DEFAULT_FALLBACK);
    assert_eq!(policy(r#"{"version": 1}"#), NurturePolicy::default());
}

#[test]
fn policy_errors_name_the_field() {
    assert_eq!(
        policy_refusal(
            r#"{"version": 1, "caps": [{"max": 1, "per_days": 1}, {"max": 2, "per_days": 0}]}"#
        ),
        "nurture policy: field `caps[1].per_days`: must be a number above 0 (at most 3650)"
    );
    assert_eq!(
        policy_refusal(r#"{"version": 1, "caps": [{"max": 0, "per_days": 1}]}"#),
        "nurture policy: field `caps[0].max`: must be 1 or more"
    );
    assert_eq!(
        policy_refusal(r#"{"version": 1, "caps": [{"max": 1, "per_days": 1, "channel": "web"}]}"#),
        "nurture policy: field `caps[0].channel`: \"web\" is not a delivery channel"
    );
    assert_eq!(
        policy_refusal(r#"{"version": 1, "fallback": ["email", "email"]}"#),
        "nurture policy: field `fallback`: \"email\" is listed twice"
    );
    assert_eq!(
        policy_refusal(r#"{"version": 1, "quiet_hours": {"from": "8pm", "to": "08:00"}}"#),
        "nurture policy: field `quiet_hours.from`: \"8pm\" is not a time HH:MM (00:00 to 24:00)"
    );
    assert_eq!(
        policy_refusal(r#"{"version": 1, "quiet": {}}"#),
        "nurture policy: field `quiet`: unknown field"
    );
    assert_eq!(
        policy_refusal(r#"{"version": 3}"#),
        "nurture policy version 3 is not supported (expected 1)"
    );
}

#[test]
fn quiet_hours_reschedule_to_their_end_in_local_time() {
    let p = policy(r#"{"version": 1, "quiet_hours": {"from": "20:00", "to": "08:00"}}"#);
    let f = facts(); // UTC+02:00
    let to = Recipient {
        facts: &f,
        consents: &[],
        sent: &[],
    };
    // 22:30 local on Tuesday → 08:00 local on Wednesday (06:00 UTC).
    let evening = utc(2024, 6, 4, 20, 30);
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, evening),
        Err(Refusal::Reschedule {
            at: utc(2024, 6, 5, 6, 0),
            reason: Reason::QuietHours
        })
    );
    // 03:00 local → 08:00 local the same day.
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, utc(2024, 6, 5, 1, 0)),
        Err(Refusal::Reschedule {
            at: utc(2024, 6, 5, 6, 0),
            reason: Reason::QuietHours
        })
    );
    // 08:00 local sharp and 19:59 local are fine.
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, utc(2024, 6, 5, 6, 0)),
        Ok(())
    );
    assert_eq!(
        may_send(
            &p,
            &to,
            "marketing",
            Channel::Email,
            utc(2024, 6, 5, 17, 59)
        ),
        Ok(())
    );
    assert_eq!(Reason::QuietHours.name(), "quiet-hours");
}

#[test]
fn frequency_caps_reschedule_to_the_earliest_allowed_time() {
    let p = policy(
        r#"{"version": 1, "caps": [{"max": 2, "per_days": 7}, {"max": 1, "per_days": 2, "channel": "email"}]}"#,
    );
    let f = facts();
    let d0 = utc(2024, 6, 3, 10, 0);
    let history = [
        sent(Channel::Email, d0),
        sent(Channel::Portal, d0 + MS_PER_DAY),
    ];
    let to = Recipient {
        facts: &f,
        consents: &[],
        sent: &history,
    };
    // Two in seven days: the next is allowed when the first leaves the window.
    let now = d0 + 2 * MS_PER_DAY + 2 * MS_PER_HOUR;
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Portal, now),
        Err(Refusal::Reschedule {
            at: d0 + 7 * MS_PER_DAY,
            reason: Reason::FrequencyCap
        })
    );
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Portal, d0 + 7 * MS_PER_DAY),
        Ok(())
    );

    // One email in two days; the portal is not held by the email cap.
    let one = [sent(Channel::Email, d0)];
    let to = Recipient {
        facts: &f,
        consents: &[],
        sent: &one,
    };
    let next_morning = d0 + 23 * MS_PER_HOUR;
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, next_morning),
        Err(Refusal::Reschedule {
            at: d0 + 2 * MS_PER_DAY,
            reason: Reason::FrequencyCap
        })
    );
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Portal, next_morning),
        Ok(())
    );
}

#[test]
fn a_cap_that_ends_in_quiet_hours_moves_on_to_their_end() {
    let p = policy(
        r#"{"version": 1, "quiet_hours": {"from": "20:00", "to": "08:00"}, "caps": [{"max": 1, "per_days": 1}]}"#,
    );
    let f = facts(); // UTC+02:00
    // The last message went out at 19:30 local (17:30 UTC).
    let at = utc(2024, 6, 4, 17, 30);
    let history = [sent(Channel::Email, at)];
    let to = Recipient {
        facts: &f,
        consents: &[],
        sent: &history,
    };
    // Asked at 12:00 local the next day: the cap frees it at 19:30 local.
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, utc(2024, 6, 5, 10, 0)),
        Err(Refusal::Reschedule {
            at: at + MS_PER_DAY,
            reason: Reason::FrequencyCap
        })
    );
    // With a 25-hour window the cap ends at 20:30 local, in quiet hours:
    // the answer is 08:00 local the morning after.
    let p = policy(
        r#"{"version": 1, "quiet_hours": {"from": "20:00", "to": "08:00"}, "caps": [{"max": 1, "per_days": 1.0416666666666667}]}"#,
    );
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, utc(2024, 6, 5, 10, 0)),
        Err(Refusal::Reschedule {
            at: utc(2024, 6, 6, 6, 0),
            reason: Reason::FrequencyCap
        })
    );
}

#[test]
fn consent_withdrawn_for_email_falls_back_to_the_portal() {
    let p = NurturePolicy::default();
    let f = facts();
    let t = utc(2024, 6, 1, 12, 0);
    let consents = [
        consent(t, "marketing", Some(Channel::Email), false),
        consent(t, "marketing", Some(Channel::Portal), true),
    ];
    let to = Recipient {
        facts: &f,
        consents: &consents,
        sent: &[],
    };
    let opens: Vec<Touchpoint> = (0..3)
        .map(|i| tp(TouchpointKind::EmailOpened, t - i * MS_PER_DAY))
        .collect();
    let refs: Vec<&Touchpoint> = opens.iter().collect();
    let now = utc(2024, 6, 4, 8, 0);
    let preferred = preferred_channel(None, &refs, now);
    assert_eq!(preferred, Some(Channel::Email));
    let order = delivery_order(
        preferred,
        p.fallback(),
        &[Channel::Portal, Channel::Email, Channel::Eservices],
    );
    assert_eq!(order, [Channel::Email, Channel::Portal]);
    assert_eq!(
        choose_channel(&p, &to, "marketing", &order, now),
        Ok(Channel::Portal)
    );
    assert_eq!(
        may_send(&p, &to, "marketing", Channel::Email, now),
        Err(Refusal::Skip(Reason::NoConsent))
    );

    // A later grant for every channel wins over the email withdrawal.
    let later = [consents[0].clone(), consent(t + 1, "marketing", None, true)];
    let to2 = Recipient {
        consents: &later,
        ..to
    };
    assert_eq!(
        choose_channel(&p, &to2, "marketing", &order, now),
        Ok(Channel::Email)
    );
    // A later withdrawal for every channel: nothing left.
    let none = [
        consents[1].clone(),
        consent(t + 1, "marketing", None, false),
    ];
    let to3 = Recipient {
        consents: &none,
        ..to
    };
    assert_eq!(
        choose_channel(&p, &to3, "marketing", &order, now),
        Err(Refusal::Skip(Reason::NoConsent))
    );
    // A purpose with no default needs a grant.
    assert_eq!(
        choose_channel(&p, &to, "surveys", &order, now),
        Err(Refusal::Skip(Reason::NoConsent))
    );
    assert_eq!(
        choose_channel(&p, &to, "marketing", &[], now),
        Err(Refusal::Skip(Reason::NoReachableChannel))
    );
    let mut gone = facts();
    gone.unsubscribed = true;
    let to4 = Recipient { facts: &gone, ..to };
    assert_eq!(
        choose_channel(&p, &to4, "marketing", &order, now),
        Err(Refusal::Skip(Reason::Unsubscribed))
    );
}

#[test]
fn the_preferred_channel_is_learned_with_recency_and_an_override() {
    let now = utc(2024, 6, 4, 8, 0);
    let mut all: Vec<Touchpoint> = (0..3)
        .map(|_| tp(TouchpointKind::EmailOpened, now - 60 * MS_PER_DAY))
        .collect();
    all.extend((0..20).map(|i| tp(TouchpointKind::PageView, now - i)));
    let refs: Vec<&Touchpoint> = all.iter().collect();
    let totals = engagement_weights(&refs, now);
    // Three opens at two half-lives: 3 × 1 × 0.25.
    assert!((totals[0].1 - 0.75).abs() < 1e-12, "{totals:?}");
    assert_eq!(learned_channel(&refs, now), Some(Channel::Email));

    // One recent event attendance outweighs old opens.
    all.push(tp(TouchpointKind::EventAttended, now - 2 * MS_PER_DAY));
    let refs: Vec<&Touchpoint> = all.iter().collect();
    assert_eq!(learned_channel(&refs, now), Some(Channel::Events));
    let events = engagement_weights(&refs, now)[2].1;
    assert!((events - 5.0 * 0.5_f64.powf(2.0 / 30.0)).abs() < 1e-12);

    // An explicit preference wins; web is no delivery channel.
    assert_eq!(
        preferred_channel(Some(Channel::Portal), &refs, now),
        Some(Channel::Portal)
    );
    assert_eq!(
        preferred_channel(Some(Channel::Web), &refs, now),
        Some(Channel::Events)
    );
    let mut stated = tp(TouchpointKind::Identified, now);
    stated.traits.other.push(Attribute {
        name: "preferred_channel".into(),
        value: "social".into(),
    });
    assert_eq!(explicit_channel(&[&stated]), Some(Channel::Social));

    // Page views alone learn nothing; the fallback order decides.
    let views: Vec<&Touchpoint> = refs
        .iter()
        .copied()
        .filter(|t| t.kind == TouchpointKind::PageView)
        .collect();
    assert_eq!(learned_channel(&views, now), None);
    assert_eq!(
        delivery_order(None, &DEFAULT_FALLBACK, &[Channel::Social, Channel::Portal]),
        [Channel::Portal, Channel::Social]
    );
}

fn engagement_weights(refs: &[&Touchpoint], now: Timestamp) -> Vec<(Channel, f64)> {
    channel::engagement_by_channel(refs, now)
}

/// A small xorshift64* generator: deterministic randomness without a crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const LOOPING_MODEL: &str = r#"{"version": 1, "name": "loops", "steps": [
    {"id": "welcome", "send": {"content": "a", "stage": "connecting", "text": "t"}},
    {"id": "w1", "wait": {"hours": 20}},
    {"id": "slot", "wait_until": {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "21:00"}},
    {"id": "check", "branch": {"if": {"clicked": "welcome"}, "then": "closing", "else": "nudge"}},
    {"id": "nudge", "send": {"content": "b", "stage": "educating", "text": "t"}},
    {"id": "w2", "wait": {"days": 2}},
    {"id": "check2", "branch": {"if": {"opened": "nudge"}, "then": "closing", "else": "visit"}},
    {"id": "visit", "branch": {"if": {"visited": "/pricing"}, "then": "closing", "else": "w3"}},
    {"id": "w3", "wait": {"days": 5}},
    {"id": "back", "branch": {"if": {"score_above": 50}, "then": "closing", "else": "slot"}},
    {"id": "closing", "send": {"content": "c", "stage": "closing", "text": "t"}}
  ],
  "goal": {"stage": ["customer"]} }"#;

#[test]
fn random_engagement_never_repeats_a_step_nor_sends_in_quiet_hours() {
    let model = CareModel::from_json(LOOPING_MODEL).unwrap();
    let p = policy(
        r#"{"version": 1, "quiet_hours": {"from": "20:00", "to": "08:00"},
            "caps": [{"max": 2, "per_days": 3}]}"#,
    );
    let quiet = p.quiet_hours().unwrap();
    let mut finished = 0;
    let mut held = [0_u32; 2];
    for seed in 1..=300_u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut f = facts();
        f.utc_offset_minutes = [-300, 0, 120, 330, 600][rng.below(5) as usize];
        let mut eng = Engagement::default();
        let start = utc(2024, 1, 1, 0, 0) + rng.below(14 * MS_PER_DAY as u64) as i64;
        let mut e = Enrollment::start(&model, f.person, 1, start);
        let mut now = start;
        let mut history: Vec<SentRecord> = Vec::new();
        for _ in 0..400 {
            let d = advance(&model, &mut e, &f, &eng, now);
            match d.as_slice() {
                [Decision::Send(out)] => {
                    let to = Recipient {
                        facts: &f,
                        consents: &[],
                        sent: &history,
                    };
                    let order = delivery_order(None, p.fallback(), &[Channel::Email]);
                    match choose_channel(&p, &to, &out.purpose, &order, now) {
                        Ok(c) => {
                            assert!(
                                !quiet.contains(now, f.utc_offset_minutes),
                                "seed {seed}: sent in quiet hours"
                            );
                            e.record_sent(out, c, now);
                            history.push(e.sent[e.sent.len() - 1].clone());
                        }
                        Err(Refusal::Reschedule { at, reason }) => {
                            assert!(at > now);
                            held[usize::from(reason == Reason::FrequencyCap)] += 1;
                            e.postpone(at);
                        }
                        Err(Refusal::Skip(r)) => panic!("seed {seed}: skipped {r:?}"),
                    }
                }
                [Decision::WaitUntil(t)] => {
                    assert!(*t > now, "seed {seed}: a wait must be in the future");
                    // The host may come late.
                    now = *t + rng.below(3) as i64 * MS_PER_HOUR;
                }
                [Decision::Finished(_)] => {
                    finished += 1;
                    break;
                }
                other => panic!("seed {seed}: {other:?}"),
            }
            // Random engagement with what was sent, and random facts.
            if let Some(s) = e.sent.get(rng.below(e.sent.len() as u64 + 1) as usize) {
                match rng.below(6) {
                    0 => {
                        eng.clicked.insert(s.key.clone());
                    }
                    1 => {
                        eng.opened.insert(s.key.clone());
                    }
                    _ => {}
                }
            }
            if rng.below(40) == 0 {
                eng.visits.push(Visit {
                    url: "https://x.fi/pricing".into(),
                    at: Some(now),
                });
            }
            f.score = rng.below(60) as f64;
            if rng.below(300) == 0 {
                f.stage = Stage::Customer;
            }
        }
        let mut steps: Vec<&str> = e.sent.iter().map(|s| s.step.as_str()).collect();
        let count = steps.len();
        steps.sort_unstable();
        steps.dedup();
        assert_eq!(steps.len(), count, "seed {seed}: a step was sent twice");
        // Caps held: never more than 2 in any 3 days.
        for (i, s) in history.iter().enumerate() {
            let in_window = history[..i]
                .iter()
                .filter(|o| o.at > s.at - 3 * MS_PER_DAY)
                .count();
            assert!(in_window < 2, "seed {seed}: cap broken");
        }
    }
    assert!(finished > 250, "most journeys finish: {finished}");
    // Both rules were exercised: quiet hours and the cap held messages.
    assert!(held[0] > 0 && held[1] > 0, "{held:?}");
}

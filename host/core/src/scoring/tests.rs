use super::*;
use crate::touchpoint::{
    Acquisition, Attribute, Channel, ContentStage, Identities, Properties, TouchpointKind,
};

const DAY: Timestamp = 86_400_000;
const NOW: Timestamp = 1_800_000_000_000;

/// The module doc's example, verbatim.
const EXAMPLE: &str = r#"{
  "version": 1,
  "half_life_days": 30,
  "grades": { "hot": 60, "warm": 25, "hysteresis": 5 },
  "fit": [
    { "name": "decision maker", "points": 20, "job_title": ["director", "head of *", "vp"] },
    { "name": "pulp and paper", "points": 15, "industry": ["Pulp & Paper", "Forestry"] },
    { "name": "mid-size", "points": 10, "company_size": { "min": 200, "max": 5000 } },
    { "name": "nordics", "points": 5, "country": ["FI", "SE", "NO"] },
    { "name": "key account", "points": 25,
      "attribute": { "name": "account_tier", "values": ["key", "A"] } },
    { "name": "student", "points": -30, "job_title": ["student", "intern"] }
  ],
  "engagement": [
    { "name": "pricing page", "points": 5, "kind": ["page-view"],
      "url_prefix": "https://example.com/pricing", "cap": 15 },
    { "name": "closing content", "points": 10, "stage": ["closing"],
      "topic": ["refiners"], "window_days": 90 },
    { "name": "quote request", "points": 30, "kind": ["quote-requested"], "channel": ["eservices"] },
    { "name": "webinar campaign", "points": 8, "campaign": ["spring-webinar"],
      "source": ["linkedin"], "medium": ["paid"], "url_contains": "/webinar" },
    { "name": "unsubscribed", "points": -40, "kind": ["unsubscribed"], "decay": false },
    { "name": "hard bounce", "points": -20, "kind": ["email-bounced"], "cap": 20 },
    { "name": "competitor", "points": -50, "email_domain": ["rival.example"],
      "cap": 50, "decay": false },
    { "name": "free mail", "points": -5, "email_domain": ["gmail.com", "hotmail.com"],
      "cap": 5, "decay": false }
  ]
}"#;

fn rules_with(engagement: &str) -> Rules {
    Rules::from_json(&format!(
        r#"{{"version":1,"half_life_days":30,"grades":{{"hot":60,"warm":25,"hysteresis":5}},
            "engagement":[{engagement}]}}"#
    ))
    .unwrap()
}

fn tp(id: &str, kind: TouchpointKind, channel: Channel, at: Timestamp) -> Touchpoint {
    Touchpoint {
        external_id: id.into(),
        occurred_at: Some(at),
        channel,
        kind,
        identities: Identities::default(),
        traits: Traits::default(),
        properties: Properties::default(),
        consent: vec![],
    }
}

fn view(id: &str, url: &str, at: Timestamp) -> Touchpoint {
    let mut t = tp(id, TouchpointKind::PageView, Channel::Web, at);
    t.properties.url = Some(url.into());
    t
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn ledger_sum(s: &Score) -> f64 {
    s.ledger.iter().map(|d| d.applied).sum()
}

use crate::test_rng::XorShift;

#[test]
fn the_documented_example_parses() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    assert_eq!(rules.half_life_days(), 30.0);
    assert_eq!(
        rules.grades(),
        Thresholds {
            hot: 60.0,
            warm: 25.0,
            hysteresis: 5.0
        }
    );
    assert_eq!(rules.fit().len(), 6);
    assert_eq!(rules.engagement().len(), 8);
    assert_eq!(
        rules.fit()[2].company_size,
        Some(SizeRange {
            min: Some(200),
            max: Some(5000)
        })
    );
    let pricing = &rules.engagement()[0];
    assert_eq!(pricing.kind, vec![TouchpointKind::PageView]);
    assert_eq!(pricing.cap, Some(15.0));
    assert!(pricing.decay);
    assert!(!rules.engagement()[4].decay);
    assert_eq!(rules.engagement()[1].stage, vec![ContentStage::Closing]);
    assert_eq!(rules.engagement()[1].window_days, Some(90.0));
    assert_eq!(rules.engagement()[2].channel, vec![Channel::Eservices]);
    assert_eq!(rules.engagement()[3].medium, vec![Acquisition::Paid]);
}

#[test]
fn the_module_doc_shows_the_same_example() {
    let source = include_str!("mod.rs");
    let doc: String = source
        .lines()
        .skip_while(|l| *l != "//! ```json")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
        .collect();
    assert!(!doc.is_empty());
    assert_eq!(Rules::from_json(&doc), Rules::from_json(EXAMPLE));
}

#[test]
fn optional_parts_have_defaults() {
    let rules = Rules::from_json(r#"{"version":1,"half_life_days":7,"grades":{"hot":2,"warm":1}}"#)
        .unwrap();
    assert_eq!(rules.grades().hysteresis, 0.0);
    assert!(rules.fit().is_empty() && rules.engagement().is_empty());
}

fn setting_error(json: &str) -> (String, String) {
    match Rules::from_json(json) {
        Err(RulesError::Setting { field, reason }) => (field, reason),
        other => panic!("expected a setting error for {json}, got {other:?}"),
    }
}

#[test]
fn top_level_errors_name_the_field() {
    assert!(matches!(
        Rules::from_json("{not json"),
        Err(RulesError::Json(_))
    ));
    assert!(matches!(Rules::from_json("[1]"), Err(RulesError::Json(_))));
    assert_eq!(
        Rules::from_json(r#"{"version":2,"half_life_days":30,"grades":{"hot":2,"warm":1}}"#),
        Err(RulesError::UnsupportedVersion { found: 2 })
    );
    let g = r#""grades":{"hot":60,"warm":25}"#;
    for (json, field, reason_part) in [
        (
            format!(r#"{{"half_life_days":30,{g}}}"#),
            "version",
            "missing",
        ),
        (
            format!(r#"{{"version":"1","half_life_days":30,{g}}}"#),
            "version",
            "invalid type",
        ),
        (
            format!(r#"{{"version":1,{g}}}"#),
            "half_life_days",
            "missing",
        ),
        (
            format!(r#"{{"version":1,"half_life_days":0,{g}}}"#),
            "half_life_days",
            "above 0",
        ),
        (
            format!(r#"{{"version":1,"half_life_days":-3,{g}}}"#),
            "half_life_days",
            "above 0",
        ),
        (
            format!(r#"{{"version":1,"half_life_days":30,{g},"extra":1}}"#),
            "extra",
            "unknown",
        ),
        (
            r#"{"version":1,"half_life_days":30}"#.to_string(),
            "grades",
            "missing",
        ),
        (
            r#"{"version":1,"half_life_days":30,"grades":{"warm":1}}"#.to_string(),
            "grades.hot",
            "missing",
        ),
        (
            r#"{"version":1,"half_life_days":30,"grades":{"hot":1}}"#.to_string(),
            "grades.warm",
            "missing",
        ),
        (
            r#"{"version":1,"half_life_days":30,"grades":{"hot":10,"warm":10}}"#.to_string(),
            "grades.warm",
            "below grades.hot",
        ),
        (
            r#"{"version":1,"half_life_days":30,"grades":{"hot":10,"warm":1,"hysteresis":-1}}"#
                .to_string(),
            "grades.hysteresis",
            "0 or more",
        ),
        (
            r#"{"version":1,"half_life_days":30,"grades":{"hot":10,"warm":1,"cold":0}}"#
                .to_string(),
            "grades.cold",
            "unknown",
        ),
        (
            format!(r#"{{"version":1,"half_life_days":30,{g},"fit":{{}}}}"#),
            "fit",
            "invalid type",
        ),
    ] {
        let (f, reason) = setting_error(&json);
        assert_eq!(f, field, "{json}");
        assert!(reason.contains(reason_part), "{json}: {reason}");
    }
}

fn rule_error(section: &str, rule: &str) -> (Section, usize, String, String) {
    // The faulty rule sits at index 1, after a valid one of its section.
    let ok = if section == "fit" {
        r#"{"name":"fine","points":1,"job_title":["x"]}"#
    } else {
        r#"{"name":"fine","points":1,"kind":["page-view"]}"#
    };
    let json = format!(
        r#"{{"version":1,"half_life_days":30,"grades":{{"hot":60,"warm":25}},"{section}":[{ok},{rule}]}}"#
    );
    match Rules::from_json(&json) {
        Err(RulesError::Rule {
            section,
            index,
            field,
            reason,
        }) => (section, index, field, reason),
        other => panic!("expected a rule error for {rule}, got {other:?}"),
    }
}

#[test]
fn rule_errors_name_the_rule_and_field() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("fit", r#"3"#, "", "must be an object"),
        ("fit", r#"{"points":1,"country":["FI"]}"#, "name", "missing"),
        (
            "fit",
            r#"{"name":" ","points":1,"country":["FI"]}"#,
            "name",
            "empty",
        ),
        (
            "fit",
            r#"{"name":"a","country":["FI"]}"#,
            "points",
            "missing",
        ),
        (
            "fit",
            r#"{"name":"a","points":0,"country":["FI"]}"#,
            "points",
            "other than 0",
        ),
        (
            "fit",
            r#"{"name":"a","points":"5","country":["FI"]}"#,
            "points",
            "invalid type",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"title":["x"]}"#,
            "title",
            "unknown",
        ),
        (
            "fit",
            r#"{"name":"a","points":1}"#,
            "",
            "at least one condition",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"job_title":"vp"}"#,
            "job_title",
            "invalid type",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"industry":[""]}"#,
            "industry",
            "empty",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"company_size":{}}"#,
            "company_size",
            "min or max",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"company_size":{"min":10,"max":5}}"#,
            "company_size",
            "min is above max",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"company_size":{"min":-1}}"#,
            "company_size.min",
            "invalid value",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"company_size":{"least":1}}"#,
            "company_size.least",
            "unknown",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"attribute":{"values":["A"]}}"#,
            "attribute.name",
            "missing",
        ),
        (
            "fit",
            r#"{"name":"a","points":1,"attribute":{"name":"tier","values":[]}}"#,
            "attribute.values",
            "at least one",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1}"#,
            "",
            "at least one condition",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"kind":["page-vew"]}"#,
            "kind",
            "unknown",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"kind":["custom:"]}"#,
            "kind",
            "unknown",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"channel":["fax"]}"#,
            "channel",
            "unknown",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"stage":["late"]}"#,
            "stage",
            "unknown",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"medium":["tv"]}"#,
            "medium",
            "unknown",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"kind":["download"],"cap":0}"#,
            "cap",
            "above 0",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"kind":["download"],"window_days":-2}"#,
            "window_days",
            "above 0",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"kind":["download"],"decay":"no"}"#,
            "decay",
            "invalid type",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"url_prefix":""}"#,
            "url_prefix",
            "empty",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"topic":[" "]}"#,
            "topic",
            "empty",
        ),
        (
            "engagement",
            r#"{"name":"a","points":1,"kind":["download"],"job_title":["x"]}"#,
            "job_title",
            "unknown",
        ),
    ];
    for (section, rule, field, reason_part) in cases {
        let (s, index, f, reason) = rule_error(section, rule);
        assert_eq!(s.to_string(), *section, "{rule}");
        assert_eq!(index, 1, "{rule}");
        assert_eq!(f, *field, "{rule}");
        assert!(reason.contains(reason_part), "{rule}: {reason}");
    }
}

#[test]
fn rule_errors_read_well() {
    let err = Rules::from_json(
        r#"{"version":1,"half_life_days":30,"grades":{"hot":60,"warm":25},
            "engagement":[{"name":"ok","points":1,"kind":["download"]},
                          {"name":"bad","points":1,"kind":["download"],"cap":-1}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "engagement rule 1: field `cap`: must be a number above 0 (it bounds the magnitude)"
    );
}

#[test]
fn job_title_patterns() {
    assert!(pattern_matches("director", "Mill Director"));
    assert!(!pattern_matches("director", "Directrice"));
    assert!(pattern_matches("head of *", "Head of Production"));
    assert!(!pattern_matches("head of *", "Deputy Head of Production"));
    assert!(pattern_matches("*manager", "Mill Manager"));
    assert!(!pattern_matches("*manager", "Manager, Mill"));
    assert!(pattern_matches(
        "*mill*manager*",
        "Paper Mill Site Manager (acting)"
    ));
    assert!(pattern_matches("a*a", "aa"));
    assert!(!pattern_matches("ab*ba", "aba"));
    assert!(pattern_matches("*", "anything"));
}

#[test]
fn fit_rules_match_traits() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    let traits = Traits {
        job_title: Some("Head of Maintenance".into()),
        industry: Some("pulp & paper".into()),
        company_size: Some(200),
        country: Some("fi".into()),
        other: vec![Attribute {
            name: "account_tier".into(),
            value: "KEY".into(),
        }],
        ..Traits::default()
    };
    let s = score(&rules, &traits, &[], NOW);
    let names: Vec<&str> = s.ledger.iter().map(|d| d.rule_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "decision maker",
            "pulp and paper",
            "mid-size",
            "nordics",
            "key account"
        ]
    );
    assert_eq!(s.fit, 75.0);
    assert_eq!(s.engagement, 0.0);
    assert_eq!(s.total, 75.0);
    assert!(
        s.ledger
            .iter()
            .all(|d| d.section == Section::Fit && d.touchpoint.is_none() && d.points == d.applied)
    );

    let student = Traits {
        job_title: Some("PhD Student".into()),
        company_size: Some(5001),
        ..Traits::default()
    };
    let s = score(&rules, &student, &[], NOW);
    assert_eq!(s.ledger.len(), 1);
    assert_eq!((s.ledger[0].rule_index, s.total), (5, -30.0));
    // Unknown traits match nothing.
    assert_eq!(score(&rules, &Traits::default(), &[], NOW).ledger, vec![]);
}

#[test]
fn engagement_points_caps_and_explanations() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    let a = view("v1", "https://example.com/pricing/a", NOW);
    let b = view("v2", "https://EXAMPLE.com/Pricing", NOW - DAY);
    let c = view("v3", "https://example.com/pricing?x", NOW - 2 * DAY);
    let d = view("v4", "https://example.com/pricing", NOW - 3 * DAY);
    let other = view("v5", "https://example.com/about", NOW);
    let s = score(&rules, &Traits::default(), &[&a, &b, &c, &d, &other], NOW);
    // Oldest first: v4, v3, v2 fill the cap of 15 (decayed values are a little
    // under 5 each), v1 is trimmed to what is left.
    let ids: Vec<&str> = s
        .ledger
        .iter()
        .map(|d| d.touchpoint.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["v4", "v3", "v2", "v1"]);
    assert!(close(s.engagement, 15.0));
    let first = &s.ledger[0];
    assert_eq!(
        (
            first.rule_index,
            first.rule_name.as_str(),
            first.occurred_at
        ),
        (0, "pricing page", Some(NOW - 3 * DAY))
    );
    assert_eq!(first.points, 5.0);
    assert!(close(first.decayed, 5.0 * 0.5_f64.powf(3.0 / 30.0)));
    assert_eq!(first.applied, first.decayed);
    let last = &s.ledger[3];
    assert_eq!(last.decayed, 5.0);
    assert!(last.applied < last.decayed && last.applied > 0.0);
    assert!(close(ledger_sum(&s), s.total));

    // Once the cap is full, later touchpoints add 0 but stay explained.
    let many: Vec<Touchpoint> = (0..6)
        .map(|i| view(&format!("p{i}"), "https://example.com/pricing", NOW))
        .collect();
    let refs: Vec<&Touchpoint> = many.iter().collect();
    let s = score(&rules, &Traits::default(), &refs, NOW);
    let applied: Vec<f64> = s.ledger.iter().map(|d| d.applied).collect();
    assert_eq!(applied, [5.0, 5.0, 5.0, 0.0, 0.0, 0.0]);
}

#[test]
fn conditions_on_properties_must_all_hold() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    let mut w = view("w", "https://example.com/events/webinar/42", NOW);
    w.properties.campaign = Some("Spring-Webinar".into());
    w.properties.source = Some("linkedin".into());
    w.properties.medium = Some(Acquisition::Paid);
    let s = score(&rules, &Traits::default(), &[&w], NOW);
    assert_eq!(s.total, 8.0);
    assert_eq!(s.ledger[0].rule_name, "webinar campaign");

    w.properties.medium = Some(Acquisition::Organic);
    assert_eq!(score(&rules, &Traits::default(), &[&w], NOW).total, 0.0);

    let mut q = tp("q", TouchpointKind::QuoteRequested, Channel::Eservices, NOW);
    let s = score(&rules, &Traits::default(), &[&q], NOW);
    assert_eq!(s.total, 30.0);
    q.channel = Channel::Email;
    assert_eq!(score(&rules, &Traits::default(), &[&q], NOW).total, 0.0);

    let mut doc = tp("d", TouchpointKind::Download, Channel::Web, NOW);
    doc.properties.content_stage = Some(ContentStage::Closing);
    doc.properties.topic = Some("Refiners".into());
    assert_eq!(score(&rules, &Traits::default(), &[&doc], NOW).total, 10.0);
    doc.properties.content_stage = Some(ContentStage::Educating);
    assert_eq!(score(&rules, &Traits::default(), &[&doc], NOW).total, 0.0);
}

#[test]
fn windows_exclude_old_touchpoints() {
    let rules = rules_with(r#"{"name":"dl","points":10,"kind":["download"],"window_days":7}"#);
    let inside = tp("in", TouchpointKind::Download, Channel::Web, NOW - 7 * DAY);
    let outside = tp(
        "out",
        TouchpointKind::Download,
        Channel::Web,
        NOW - 7 * DAY - 1,
    );
    let s = score(&rules, &Traits::default(), &[&inside, &outside], NOW);
    assert_eq!(s.ledger.len(), 1);
    assert_eq!(s.ledger[0].touchpoint.as_deref(), Some("in"));
    assert!(close(s.total, 10.0 * 0.5_f64.powf(7.0 / 30.0)));
}

#[test]
fn negative_signals_subtract_and_are_capped_by_magnitude() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    let unsub = tp(
        "u",
        TouchpointKind::Unsubscribed,
        Channel::Email,
        NOW - 400 * DAY,
    );
    let b1 = tp("b1", TouchpointKind::EmailBounced, Channel::Email, NOW);
    let b2 = tp("b2", TouchpointKind::EmailBounced, Channel::Email, NOW);
    let mut rival = view("r", "https://example.com/", NOW - 100 * DAY);
    rival.identities.email = Some("spy@Rival.Example".into());
    let mut rival2 = view("r2", "https://example.com/x", NOW);
    rival2.identities.company_domain = Some("rival.example".into());
    let mut free = tp("f", TouchpointKind::FormSubmitted, Channel::Web, NOW);
    free.identities.email = Some("someone@gmail.com".into());
    let s = score(
        &rules,
        &Traits::default(),
        &[&unsub, &b1, &b2, &rival, &rival2, &free],
        NOW,
    );
    let by_rule = |name: &str| -> f64 {
        s.ledger
            .iter()
            .filter(|d| d.rule_name == name)
            .map(|d| d.applied)
            .sum()
    };
    // No decay: an old unsubscribe still counts in full.
    assert_eq!(by_rule("unsubscribed"), -40.0);
    // Two bounces of -20 capped at a magnitude of 20.
    assert_eq!(by_rule("hard bounce"), -20.0);
    // Competitor by e-mail domain or company domain, capped at 50.
    assert_eq!(by_rule("competitor"), -50.0);
    assert_eq!(by_rule("free mail"), -5.0);
    assert_eq!(s.engagement, -115.0);
    assert_eq!(s.total, -115.0);
    assert!(close(ledger_sum(&s), s.total));
}

#[test]
fn decay_halves_at_one_half_life() {
    let rules = rules_with(r#"{"name":"dl","points":12,"kind":["download"]}"#);
    for (age_days, expected) in [(0, 12.0), (30, 6.0), (60, 3.0), (90, 1.5)] {
        let t = tp(
            "t",
            TouchpointKind::Download,
            Channel::Web,
            NOW - age_days * DAY,
        );
        let s = score(&rules, &Traits::default(), &[&t], NOW);
        assert!(
            close(s.engagement, expected),
            "{age_days}: {}",
            s.engagement
        );
        assert_eq!(s.ledger[0].points, 12.0);
    }
    // A touchpoint from the future or without a time is not decayed.
    let future = tp("f", TouchpointKind::Download, Channel::Web, NOW + DAY);
    let mut untimed = tp("u", TouchpointKind::Download, Channel::Web, 0);
    untimed.occurred_at = None;
    let s = score(&rules, &Traits::default(), &[&future, &untimed], NOW);
    assert_eq!(s.engagement, 24.0);
}

const KINDS: [TouchpointKind; 4] = [
    TouchpointKind::PageView,
    TouchpointKind::Download,
    TouchpointKind::EmailClicked,
    TouchpointKind::EventAttended,
];

/// Random touchpoints over the last ~200 days, some sharing a time.
fn random_touchpoints(rng: &mut XorShift, n: usize) -> Vec<Touchpoint> {
    (0..n)
        .map(|i| {
            let kind = KINDS[rng.below(KINDS.len() as u64) as usize].clone();
            let at = NOW - (rng.below(200) as Timestamp) * DAY / 2;
            let mut t = tp(&format!("t{i}"), kind, Channel::Web, at);
            if rng.below(2) == 0 {
                t.properties.url = Some("https://example.com/pricing".into());
            }
            t
        })
        .collect()
}

const NON_NEGATIVE: &str = r#"
    {"name":"view","points":3,"kind":["page-view"],"cap":20},
    {"name":"pricing","points":5,"url_prefix":"https://example.com/pricing","window_days":60},
    {"name":"download","points":7,"kind":["download"]},
    {"name":"click","points":2,"kind":["email-clicked"],"cap":5,"decay":false,"window_days":90},
    {"name":"event","points":15,"kind":["event-attended"],"window_days":120,"cap":25}"#;

#[test]
fn a_later_now_never_raises_non_negative_engagement() {
    let rules = rules_with(NON_NEGATIVE);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let n = rng.below(25) as usize;
        let tps = random_touchpoints(&mut rng, n);
        let refs: Vec<&Touchpoint> = tps.iter().collect();
        let mut now = NOW;
        let mut previous = f64::INFINITY;
        for _ in 0..8 {
            let s = score(&rules, &Traits::default(), &refs, now);
            assert!(s.engagement >= 0.0);
            assert!(
                s.engagement <= previous + 1e-9,
                "{} > {previous} at {now}",
                s.engagement
            );
            assert!(close(ledger_sum(&s), s.total));
            previous = s.engagement;
            now += (rng.below(40 * 24) as Timestamp) * DAY / 24;
        }
    }
}

fn ledger_key(d: &Delta) -> String {
    format!(
        "{:?}/{}/{:?}/{:?}/{}/{}/{}",
        d.section, d.rule_index, d.touchpoint, d.occurred_at, d.points, d.decayed, d.applied
    )
}

#[test]
fn the_order_of_touchpoints_does_not_matter() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    let with_negatives = rules_with(&format!(
        r#"{NON_NEGATIVE},{{"name":"bounce","points":-4,"kind":["email-clicked"],"cap":6}}"#
    ));
    let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
    for rules in [&rules, &with_negatives] {
        for _ in 0..100 {
            let n = 1 + rng.below(30) as usize;
            let tps = random_touchpoints(&mut rng, n);
            let mut refs: Vec<&Touchpoint> = tps.iter().collect();
            let reference = score(rules, &Traits::default(), &refs, NOW);
            let mut expected: Vec<String> = reference.ledger.iter().map(ledger_key).collect();
            expected.sort();
            for _ in 0..5 {
                rng.shuffle(&mut refs);
                let s = score(rules, &Traits::default(), &refs, NOW);
                assert_eq!(s.total.to_bits(), reference.total.to_bits());
                assert_eq!(s.ledger, reference.ledger);
                let mut keys: Vec<String> = s.ledger.iter().map(ledger_key).collect();
                keys.sort();
                assert_eq!(keys, expected);
                assert!(close(ledger_sum(&s), s.total));
            }
        }
    }
}

#[test]
fn grades_follow_thresholds_from_nothing() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    assert_eq!(grade(None, 60.0, &rules), Grade::Hot);
    assert_eq!(grade(None, 59.9, &rules), Grade::Warm);
    assert_eq!(grade(None, 25.0, &rules), Grade::Warm);
    assert_eq!(grade(None, 24.9, &rules), Grade::Cold);
    assert_eq!(grade(None, -100.0, &rules), Grade::Cold);
}

#[test]
fn hysteresis_moves_up_at_the_threshold_and_down_below_the_margin() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    // Up: the threshold itself, whatever was held.
    assert_eq!(grade(Some(Grade::Cold), 25.0, &rules), Grade::Warm);
    assert_eq!(grade(Some(Grade::Cold), 60.0, &rules), Grade::Hot);
    assert_eq!(grade(Some(Grade::Warm), 59.9, &rules), Grade::Warm);
    // Down: only below threshold - hysteresis.
    assert_eq!(grade(Some(Grade::Hot), 55.0, &rules), Grade::Hot);
    assert_eq!(grade(Some(Grade::Hot), 54.9, &rules), Grade::Warm);
    assert_eq!(grade(Some(Grade::Warm), 20.0, &rules), Grade::Warm);
    assert_eq!(grade(Some(Grade::Warm), 19.9, &rules), Grade::Cold);
    // A hot lead that collapses falls through both grades at once.
    assert_eq!(grade(Some(Grade::Hot), 21.0, &rules), Grade::Warm);
    assert_eq!(grade(Some(Grade::Hot), 10.0, &rules), Grade::Cold);
}

#[test]
fn hysteresis_does_not_flap_around_a_threshold() {
    let rules = Rules::from_json(EXAMPLE).unwrap();
    let mut rng = XorShift(42);
    for threshold in [rules.grades().warm, rules.grades().hot] {
        let mut held = grade(None, threshold, &rules);
        let start = held;
        let mut changes = 0;
        for _ in 0..1000 {
            // Oscillate within the hysteresis band: [threshold - 5, threshold + 3].
            let wobble = (rng.below(8001) as f64) / 1000.0 - 5.0;
            let next = grade(Some(held), threshold + wobble, &rules);
            if next != held {
                changes += 1;
            }
            held = next;
        }
        assert_eq!(changes, 0);
        assert_eq!(held, start);
    }
    // Without hysteresis the same wobble would flap.
    let bare = Rules::from_json(
        r#"{"version":1,"half_life_days":30,"grades":{"hot":60,"warm":25,"hysteresis":0}}"#,
    )
    .unwrap();
    let mut held = Grade::Warm;
    let mut changes = 0;
    for total in [24.0, 26.0, 24.0, 26.0] {
        let next = grade(Some(held), total, &bare);
        changes += usize::from(next != held);
        held = next;
    }
    assert_eq!(changes, 4);
}

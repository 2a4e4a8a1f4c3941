//! Tests of the lead engine.

use super::*;
use crate::identity::{MergeId, PersonId};
use crate::lifecycle::{Actor, Cause, Policy, RoutingRules, SlaExpiry, Stage};
use crate::scoring::Grade;
use crate::touchpoint::{
    Attribute, Channel, ContentStage, Identities, Properties, Touchpoint, TouchpointKind, Traits,
};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_760_000_000_000;

/// Simple rules: form 30, quote 50 (no decay), download 10, page view 1
/// (cap 5), unsubscribe -40; a director fits for 10.
const RULES: &str = r#"{
  "version": 1, "half_life_days": 30,
  "grades": { "hot": 60, "warm": 25, "hysteresis": 5 },
  "fit": [ { "name": "director", "points": 10, "job_title": ["director"] } ],
  "engagement": [
    { "name": "page view", "points": 1, "kind": ["page-view"], "cap": 5, "decay": false },
    { "name": "form", "points": 30, "kind": ["form-submitted"], "decay": false },
    { "name": "download", "points": 10, "kind": ["download"], "decay": false },
    { "name": "quote", "points": 50, "kind": ["quote-requested"], "decay": false },
    { "name": "unsubscribed", "points": -40, "kind": ["unsubscribed"], "decay": false }
  ]
}"#;

const ROUTING: &str = r#"{
  "rules": [ { "name": "nordics", "country": ["FI", "SE"], "team": "nordics",
               "account_owner_wins": true } ],
  "default_team": "inside",
  "teams": {
    "nordics": { "members": [ { "id": "anna", "capacity": 2, "active": true },
                              { "id": "bo", "capacity": 1, "active": true } ] },
    "inside": { "members": [ { "id": "carl", "capacity": 1, "active": true } ] }
  }
}"#;

fn policy(expiry: SlaExpiry) -> Policy {
    Policy {
        mql_threshold: 40.0,
        sql_threshold: 70.0,
        sla_minutes: 60,
        on_sla_expiry: expiry,
        ..Policy::default()
    }
}

fn config(expiry: SlaExpiry) -> TenantConfig {
    TenantConfig::new(
        RULES,
        policy(expiry),
        Some(RoutingRules::from_json(ROUTING).unwrap()),
        Versions::default(),
    )
    .unwrap()
}

fn engine() -> Engine {
    Engine::new(config(SlaExpiry::Reassign))
}

fn tp(id: &str, kind: TouchpointKind, at: i64) -> Touchpoint {
    Touchpoint {
        external_id: id.into(),
        occurred_at: Some(at),
        channel: Channel::Web,
        kind,
        identities: Identities::default(),
        traits: Traits::default(),
        properties: Properties::default(),
        consent: vec![],
    }
}

fn by_email(id: &str, kind: TouchpointKind, email: &str, at: i64) -> Touchpoint {
    let mut t = tp(id, kind, at);
    t.identities.email = Some(email.into());
    t
}

fn by_anon(id: &str, kind: TouchpointKind, anon: &str, at: i64) -> Touchpoint {
    let mut t = tp(id, kind, at);
    t.identities.anonymous_id = Some(anon.into());
    t
}

fn stage_of(e: &Engine, id: u64) -> Stage {
    e.lead(id).unwrap().summary.stage
}

fn path(e: &Engine, id: u64) -> Vec<(Stage, Stage)> {
    e.lead(id)
        .unwrap()
        .history
        .iter()
        .map(|t| (t.transition.from, t.transition.to))
        .collect()
}

/// A Finnish director who submits a form and requests a quote: 10 fit +
/// 30 + 50 = 90 ≥ 70, sales-ready.
fn qualify(e: &mut Engine, email: &str, at: i64) -> (u64, Effects) {
    let mut form = by_email(
        &format!("{email}-form"),
        TouchpointKind::FormSubmitted,
        email,
        at,
    );
    form.traits.job_title = Some("Mill Director".into());
    form.traits.country = Some("FI".into());
    let mut fx = e.apply(&form, at);
    fx.extend(e.apply(
        &by_email(
            &format!("{email}-quote"),
            TouchpointKind::QuoteRequested,
            email,
            at + 1000,
        ),
        at + 1000,
    ));
    let id = e.lead_id_of_email(email).unwrap();
    (id, fx)
}

impl Engine {
    fn lead_id_of_email(&self, email: &str) -> Option<u64> {
        self.graph
            .person_of(&crate::identity::Identity::Email(email.into()))
            .map(|p| p.0)
    }
}

#[test]
fn the_default_rules_are_valid() {
    let c = TenantConfig::default();
    assert!(!c.rules().engagement().is_empty());
    assert_eq!(c.scoring_json(), DEFAULT_RULES);
}

#[test]
fn an_identified_visitor_keeps_its_anonymous_behaviour_and_moves_up() {
    let mut e = engine();
    for i in 0..3 {
        e.apply(
            &by_anon(
                &format!("pv{i}"),
                TouchpointKind::PageView,
                "cookie-1",
                T0 + i,
            ),
            T0 + i,
        );
    }
    assert_eq!(stage_of(&e, 1), Stage::Visitor, "anonymous: not qualified");
    assert_eq!(e.lead(1).unwrap().summary.score, 3.0);

    // The form links the cookie to an e-mail: the same person, now known.
    let mut form = by_email("f1", TouchpointKind::FormSubmitted, "ann@mill.fi", T0 + DAY);
    form.identities.anonymous_id = Some("cookie-1".into());
    let fx = e.apply(&form, T0 + DAY);
    assert!(
        fx.merges.is_empty(),
        "the e-mail is new: attached, not merged"
    );
    let lead = e.lead(1).unwrap();
    assert_eq!(lead.summary.email.as_deref(), Some("ann@mill.fi"));
    // 3 page views + the form: 33 ≥ nothing yet (MQL is 40).
    assert_eq!(lead.summary.score, 33.0);
    assert_eq!(
        path(&e, 1),
        vec![
            (Stage::Visitor, Stage::Suspect),
            (Stage::Suspect, Stage::Prospect)
        ]
    );
    // Every transition is an effect with its place in the history.
    assert_eq!(
        fx.transitions.iter().map(|t| t.seq).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(lead.summary.touchpoints, 4);
    assert_eq!(lead.summary.account_domain.as_deref(), Some("mill.fi"));
}

#[test]
fn a_link_between_two_known_people_merges_them_and_counts_both_histories() {
    let mut e = engine();
    // A visitor downloads twice (anonymous), a known person fills a form.
    e.apply(&by_anon("d1", TouchpointKind::Download, "c-9", T0), T0);
    e.apply(
        &by_anon("d2", TouchpointKind::Download, "c-9", T0 + 1),
        T0 + 1,
    );
    e.apply(
        &by_email("f1", TouchpointKind::FormSubmitted, "bo@paper.se", T0 + 2),
        T0 + 2,
    );
    assert_eq!(stage_of(&e, 2), Stage::Prospect);
    // The person clicks from the newsletter with the cookie: one person.
    let mut link = by_email("pv1", TouchpointKind::PageView, "bo@paper.se", T0 + 3);
    link.identities.anonymous_id = Some("c-9".into());
    let fx = e.apply(&link, T0 + 3);
    assert_eq!(fx.merges.len(), 1);
    let merge = &fx.merges[0];
    // The older person (the visitor) survives and takes the known stage.
    assert_eq!((merge.survivor, merge.absorbed), (PersonId(1), PersonId(2)));
    let lead = e.lead(1).unwrap();
    assert_eq!(lead.summary.score, 10.0 + 10.0 + 30.0 + 1.0);
    assert_eq!(lead.summary.stage, Stage::Lead, "51 ≥ MQL 40");
    assert_eq!(lead.merged_from, vec![2]);
    assert!(
        lead.history
            .iter()
            .any(|t| matches!(t.transition.cause, Cause::Merged { absorbed: 2 }))
    );
    // Asking for the absorbed id shows the survivor.
    assert_eq!(e.lead(2).unwrap().requested, Some(2));
    assert_eq!(e.lead(2).unwrap().summary.id, 1);
    assert_eq!(e.counts().leads, 1);

    // Undo: both people come back with exactly their own touchpoints.
    let fx = e
        .command(&Command::Unmerge { merge: MergeId(1) }, T0 + 4)
        .unwrap();
    assert!(fx.merges[0].undone);
    assert_eq!(e.counts().leads, 2);
    let a = e.lead(1).unwrap();
    let b = e.lead(2).unwrap();
    assert_eq!(b.summary.id, 2);
    assert_eq!(b.summary.score, 30.0, "the form only");
    // The visitor keeps its downloads and the linking page view.
    assert_eq!(a.summary.score, 21.0);
    assert_eq!(
        a.summary.touchpoints + b.summary.touchpoints,
        4,
        "nothing lost"
    );
    // An unknown merge is refused, naming it.
    let err = e
        .command(&Command::Unmerge { merge: MergeId(9) }, T0 + 5)
        .unwrap_err();
    assert!(err.to_string().contains("no merge"), "{err}");
}

#[test]
fn crossing_the_sql_threshold_hands_off_to_a_routed_owner_with_calls() {
    let mut e = engine();
    let (id, fx) = qualify(&mut e, "ann@mill.fi", T0);
    let lead = e.lead(id).unwrap();
    assert_eq!(lead.summary.stage, Stage::SalesReady);
    assert_eq!(lead.summary.grade, Some(Grade::Hot));
    let h = &lead.handoffs[0];
    assert_eq!(h.team.as_deref(), Some("nordics"));
    assert_eq!(
        h.owner.as_deref(),
        Some("anna"),
        "first pick of 2:1 round-robin"
    );
    assert_eq!(h.rule.as_deref(), Some("nordics"));
    assert_eq!(h.due_at, T0 + 1000 + 60 * 60_000);
    assert_eq!(h.status, HandoffStatus::Open);
    let keys: Vec<(&str, OutboundKind)> =
        fx.outbox.iter().map(|o| (o.key.as_str(), o.kind)).collect();
    assert_eq!(
        keys,
        vec![
            ("crm-handoff:1:1", OutboundKind::CrmHandoff),
            ("owner-alert:1:1", OutboundKind::OwnerAlert)
        ]
    );
    assert_eq!(fx.outbox[0].payload["owner"], "anna");
    assert_eq!(fx.outbox[0].payload["score"], 90.0);
    // Stage path: suspect → prospect → sales-ready with the score in the cause.
    let last = lead.history.last().unwrap();
    assert!(matches!(
        last.transition.cause,
        Cause::ScoreCrossed { score, .. } if score == 90.0
    ));

    // The next two Nordic leads: 2:1 capacity gives bo one of three.
    let (b, _) = qualify(&mut e, "b@mill.fi", T0 + 10_000);
    let (c, _) = qualify(&mut e, "c@mill.fi", T0 + 20_000);
    let owners: Vec<String> = [b, c]
        .iter()
        .map(|id| e.lead(*id).unwrap().summary.owner.unwrap())
        .collect();
    assert_eq!(owners, vec!["bo".to_string(), "anna".to_string()]);
}

#[test]
fn accept_reject_and_requalification_since_recycling() {
    let mut e = engine();
    let (id, _) = qualify(&mut e, "ann@mill.fi", T0);
    let who = PersonId(id);
    // Reject: recycled with the reason.
    let fx = e
        .command(
            &Command::Reject {
                person: who,
                by: "anna".into(),
                reason: "no budget this year".into(),
            },
            T0 + DAY,
        )
        .unwrap();
    assert_eq!(stage_of(&e, id), Stage::Recycled);
    assert_eq!(
        fx.handoffs[0].1.status,
        HandoffStatus::Rejected {
            by: "anna".into(),
            reason: "no budget this year".into()
        }
    );
    // Its score is still 90, but it qualifies only on what comes after.
    e.apply(
        &by_email(
            "pv-after",
            TouchpointKind::PageView,
            "ann@mill.fi",
            T0 + 2 * DAY,
        ),
        T0 + 2 * DAY,
    );
    assert_eq!(stage_of(&e, id), Stage::Recycled, "fit 10 + 1 < MQL");
    assert_eq!(e.lead(id).unwrap().qualifying, 11.0);
    // A second answer to the same hand-off is refused.
    let err = e
        .command(
            &Command::Accept {
                person: who,
                by: "anna".into(),
            },
            T0 + 2 * DAY,
        )
        .unwrap_err();
    assert!(matches!(err, CommandError::NoOpenHandoff { .. }), "{err}");
    // New interest: a quote (50) + fit (10) + page view (1) = 61 ≥ MQL … then
    // a form makes 91 ≥ SQL: sales-ready again, a second hand-off.
    e.apply(
        &by_email(
            "q2",
            TouchpointKind::QuoteRequested,
            "ann@mill.fi",
            T0 + 3 * DAY,
        ),
        T0 + 3 * DAY,
    );
    assert_eq!(stage_of(&e, id), Stage::Lead);
    let fx = e.apply(
        &by_email(
            "f2",
            TouchpointKind::FormSubmitted,
            "ann@mill.fi",
            T0 + 3 * DAY + 1,
        ),
        T0 + 3 * DAY + 1,
    );
    assert_eq!(stage_of(&e, id), Stage::SalesReady);
    assert_eq!(fx.outbox[0].key, "crm-handoff:1:2");
    // Accept: an opportunity, and the account gets its owner.
    e.command(
        &Command::Accept {
            person: who,
            by: "bo".into(),
        },
        T0 + 4 * DAY,
    )
    .unwrap();
    assert_eq!(stage_of(&e, id), Stage::Opportunity);
    let account = e.lead(id).unwrap().summary.account.unwrap();
    assert_eq!(e.account(account).unwrap().owner.as_deref(), Some("bo"));
    // Won: a customer, with the deal in the account's revenue.
    e.command(
        &Command::Won {
            person: who,
            amount: Some(120_000.0),
            currency: Some("eur".into()),
        },
        T0 + 5 * DAY,
    )
    .unwrap();
    assert_eq!(stage_of(&e, id), Stage::Customer);
    assert_eq!(e.account(account).unwrap().revenue["EUR"], 120_000.0);
    // An unknown lead is named.
    assert_eq!(
        e.command(
            &Command::Won {
                person: PersonId(77),
                amount: None,
                currency: None
            },
            T0
        ),
        Err(CommandError::UnknownLead(77))
    );
}

#[test]
fn the_account_owner_gets_the_next_lead_of_the_account() {
    let mut e = engine();
    let (a, _) = qualify(&mut e, "a@mill.fi", T0);
    e.command(
        &Command::Accept {
            person: PersonId(a),
            by: "bo".into(),
        },
        T0 + 10,
    )
    .unwrap();
    let (b, _) = qualify(&mut e, "b@mill.fi", T0 + 100);
    let h = &e.lead(b).unwrap().handoffs[0];
    assert_eq!(h.owner.as_deref(), Some("bo"), "account_owner_wins");
}

#[test]
fn sla_expiry_reassigns_to_someone_else_or_escalates() {
    let mut e = engine();
    let (id, _) = qualify(&mut e, "ann@mill.fi", T0);
    let due = e.lead(id).unwrap().handoffs[0].due_at;
    assert!(e.due_handoffs(due - 1).is_empty());
    assert_eq!(e.due_handoffs(due), vec![(PersonId(id), 1)]);
    let fx = e
        .command(
            &Command::SlaExpired {
                person: PersonId(id),
                seq: 1,
            },
            due,
        )
        .unwrap();
    let lead = e.lead(id).unwrap();
    assert_eq!(lead.handoffs[0].status, HandoffStatus::Reassigned);
    assert_eq!(
        lead.handoffs[1].owner.as_deref(),
        Some("bo"),
        "not anna again"
    );
    assert_eq!(lead.summary.stage, Stage::SalesReady);
    assert!(fx.outbox.iter().any(|o| o.key == "owner-alert:1:2"));
    // A stale expiry (for the replaced hand-off) does nothing.
    let again = e
        .command(
            &Command::SlaExpired {
                person: PersonId(id),
                seq: 1,
            },
            due + 1,
        )
        .unwrap();
    assert!(again.is_empty());

    let mut e = Engine::new(config(SlaExpiry::Escalate {
        to: "lead-7".into(),
    }));
    let (id, _) = qualify(&mut e, "ann@mill.fi", T0);
    let due = e.lead(id).unwrap().handoffs[0].due_at;
    let fx = e
        .command(
            &Command::SlaExpired {
                person: PersonId(id),
                seq: 1,
            },
            due,
        )
        .unwrap();
    assert_eq!(fx.outbox[0].key, "escalation:1:1");
    assert_eq!(fx.outbox[0].recipient.as_deref(), Some("lead-7"));
    let lead = e.lead(id).unwrap();
    assert_eq!(
        lead.handoffs[0].status,
        HandoffStatus::Escalated {
            to: "lead-7".into()
        }
    );
    // Escalated is still waiting: the owner can accept.
    e.command(
        &Command::Accept {
            person: PersonId(id),
            by: "anna".into(),
        },
        due + 5,
    )
    .unwrap();
    assert_eq!(stage_of(&e, id), Stage::Opportunity);
    assert!(e.due_handoffs(due + DAY).is_empty());
}

#[test]
fn orders_make_customers_and_fill_the_account() {
    let mut e = engine();
    let mut order = by_email("o-1", TouchpointKind::OrderPlaced, "buyer@mill.fi", T0);
    order.channel = Channel::Eservices;
    order.properties.amount = Some(1250.5);
    order.properties.currency = Some("EUR".into());
    order.properties.topic = Some("refiner plates".into());
    e.apply(&order, T0);
    let mut machine = by_email(
        "eq-1",
        TouchpointKind::EquipmentRegistered,
        "buyer@mill.fi",
        T0 + 1,
    );
    machine.channel = Channel::Portal;
    machine.properties.other = vec![
        Attribute {
            name: "serial".into(),
            value: "SN-1".into(),
        },
        Attribute {
            name: "model".into(),
            value: "RF-200".into(),
        },
    ];
    e.apply(&machine, T0 + 1);
    let lead = e.lead(1).unwrap();
    assert_eq!(lead.summary.stage, Stage::Customer);
    assert_eq!(lead.products, vec!["refiner plates".to_string()]);
    let account = e.account(lead.summary.account.unwrap()).unwrap();
    assert_eq!(account.orders, 1);
    assert_eq!(account.revenue["EUR"], 1250.5);
    assert_eq!(
        account.installed_base["SN-1"].model.as_deref(),
        Some("RF-200")
    );
    // An anonymous purchase does not move a visitor (and loses nothing).
    let mut anon = by_anon("o-2", TouchpointKind::OrderPlaced, "c-1", T0);
    anon.identities.company_domain = Some("mill.fi".into());
    e.apply(&anon, T0 + 2);
    assert_eq!(stage_of(&e, 2), Stage::Visitor);
    assert_eq!(e.account(account.id).unwrap().orders, 2);
}

#[test]
fn buying_group_coverage_counts_the_policy_roles() {
    let mut e = engine();
    for (email, title) in [
        ("a@mill.fi", "Mill Director"),
        ("b@mill.fi", "Process Engineer"),
        ("c@mill.fi", "Chief Technology Officer"),
    ] {
        let mut t = by_email(email, TouchpointKind::PageView, email, T0);
        t.traits.job_title = Some(title.into());
        e.apply(&t, T0);
    }
    let account = e.account(1).unwrap();
    assert_eq!(account.people.len(), 3);
    assert_eq!(account.buying_group["decision-maker"], vec![1, 3]);
    assert_eq!(account.buying_group["influencer"], vec![2]);
    assert!(account.buying_group["user"].is_empty());
    assert!((account.coverage - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(account.engagement, 3.0);
}

#[test]
fn a_rules_change_rescores_every_lead_and_can_qualify_them() {
    let mut e = engine();
    for i in 0..5 {
        let email = format!("p{i}@mill.fi");
        e.apply(
            &by_email(&format!("d{i}"), TouchpointKind::Download, &email, T0),
            T0,
        );
    }
    assert!(
        e.leads(&LeadFilter::default())
            .items
            .iter()
            .all(|l| l.score == 10.0)
    );
    // Downloads are now worth 80: every lead crosses SQL.
    let rules = RULES.replace(
        r#""points": 10, "kind": ["download"]"#,
        r#""points": 80, "kind": ["download"]"#,
    );
    let mut config = config(SlaExpiry::Reassign);
    config = TenantConfig::new(
        &rules,
        config.policy.clone(),
        config.routing.clone(),
        Versions {
            scoring: 2,
            ..Versions::default()
        },
    )
    .unwrap();
    let fx = e
        .command(
            &Command::Configure {
                config: Box::new(config),
            },
            T0 + 1,
        )
        .unwrap();
    let page = e.leads(&LeadFilter::default());
    assert!(page.items.iter().all(|l| l.score == 80.0));
    assert!(page.items.iter().all(|l| l.stage == Stage::SalesReady));
    assert_eq!(fx.handoffs.len(), 5);
    assert_eq!(e.config().versions.scoring, 2);
    // The owners follow the person order (deterministic on replay).
    let owners: Vec<String> = (1..=5)
        .map(|id| e.lead(id).unwrap().summary.owner.unwrap())
        .collect();
    assert_eq!(owners, vec!["carl"; 5]);
}

#[test]
fn the_explanation_adds_up_to_the_score() {
    let mut e = engine();
    let (id, _) = qualify(&mut e, "ann@mill.fi", T0);
    for i in 0..8 {
        e.apply(
            &by_email(
                &format!("pv{i}"),
                TouchpointKind::PageView,
                "ann@mill.fi",
                T0 + 2000 + i,
            ),
            T0 + 2000 + i,
        );
    }
    let lead = e.lead(id).unwrap();
    let sum: f64 = lead.explanation.iter().map(|d| d.applied).sum();
    assert!((sum - lead.summary.score).abs() < 1e-6);
    // The page-view cap (5) trims: 8 lines, 5 points.
    let views: Vec<&ExplainedDelta> = lead
        .explanation
        .iter()
        .filter(|d| d.rule == "page view")
        .collect();
    assert_eq!(views.len(), 8);
    assert_eq!(views.iter().map(|d| d.applied).sum::<f64>(), 5.0);
    assert_eq!(views[0].kind.as_deref(), Some("page-view"));
    assert_eq!(lead.explanation[0].section, "fit");
}

/// A small deterministic stream over a few people, some anonymous, with
/// links between them.
fn stream(seed: u64, n: usize) -> Vec<Touchpoint> {
    let mut x = seed.max(1);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let kinds = [
        TouchpointKind::PageView,
        TouchpointKind::Download,
        TouchpointKind::FormSubmitted,
        TouchpointKind::QuoteRequested,
        TouchpointKind::Unsubscribed,
    ];
    (0..n)
        .map(|i| {
            let kind = kinds[(next() % 5) as usize].clone();
            let mut t = tp(
                &format!("t{i}"),
                kind,
                T0 + (next() % (30 * DAY as u64)) as i64,
            );
            if next() % 3 == 0 {
                t.identities.anonymous_id = Some(format!("c{}", next() % 6));
            }
            if next() % 2 == 0 {
                t.identities.email = Some(format!("p{}@mill.fi", next() % 4));
            }
            if next() % 7 == 0 {
                t.traits.job_title = Some("Director".into());
            }
            t.properties.content_stage = Some(ContentStage::Educating);
            t
        })
        .collect()
}

#[test]
fn replaying_the_same_log_gives_the_same_engine_and_effects() {
    let log = stream(7, 300);
    let run = || {
        let mut e = engine();
        let mut all = Effects::default();
        for (i, t) in log.iter().enumerate() {
            all.extend(e.apply(t, T0 + i as i64));
        }
        (e, all)
    };
    let (a, fa) = run();
    let (b, fb) = run();
    assert_eq!(a, b);
    assert_eq!(fa, fb);
    assert!(!fa.transitions.is_empty() && !fa.merges.is_empty());
}

#[test]
fn a_restored_snapshot_continues_exactly_like_the_original() {
    // The default rules decay, so scores are fractions that must survive
    // the text form bit for bit.
    let log = stream(11, 400);
    let mut original = Engine::default();
    for t in &log[..250] {
        original.apply(t, T0);
    }
    let bytes = original.to_json().unwrap();
    let mut restored = Engine::from_json(&bytes).unwrap();
    assert_eq!(restored, original, "matches are rebuilt on load");
    for t in &log[250..] {
        assert_eq!(restored.apply(t, T0), original.apply(t, T0));
    }
    assert_eq!(restored, original);
}

#[test]
fn the_final_score_does_not_depend_on_arrival_order() {
    // One person's touchpoints in two orders: the same score at the same
    // clock (transitions may differ: the path depends on the order).
    let mut log: Vec<Touchpoint> = stream(5, 60)
        .into_iter()
        .map(|mut t| {
            t.identities = Identities {
                email: Some("one@mill.fi".into()),
                ..Identities::default()
            };
            t
        })
        .collect();
    let mut a = engine();
    for t in &log {
        a.apply(t, T0);
    }
    log.reverse();
    let mut b = engine();
    for t in &log {
        b.apply(t, T0);
    }
    assert_eq!(a.clock(), b.clock());
    assert_eq!(
        a.lead(1).unwrap().summary.score,
        b.lead(1).unwrap().summary.score
    );
    assert_eq!(
        a.lead(1).unwrap().explanation,
        b.lead(1).unwrap().explanation
    );
}

#[test]
fn every_identity_belongs_to_one_live_lead_after_merges_and_unmerges() {
    let mut e = engine();
    for t in stream(3, 500) {
        e.apply(&t, T0);
    }
    let merges = e.graph().merges().len() as u64;
    assert!(merges > 0);
    // Undo every merge that can be undone, newest first.
    for m in (1..=merges).rev() {
        let _ = e.command(&Command::Unmerge { merge: MergeId(m) }, T0 + 31 * DAY);
    }
    let live: Vec<&super::engine::Lead> =
        e.leads.iter().filter(|l| !l.members.is_empty()).collect();
    // Every person is a member of exactly one live lead, its canonical one.
    let mut seen = std::collections::BTreeSet::new();
    for lead in &live {
        for m in &lead.members {
            assert!(seen.insert(*m), "{m:?} counted twice");
            assert_eq!(e.graph().canonical(*m), lead.person);
        }
    }
    assert_eq!(seen.len(), e.leads.len());
    // Every touchpoint is still counted exactly once.
    let counted: usize = live
        .iter()
        .map(|l| e.lead(l.person.0).unwrap().summary.touchpoints)
        .sum();
    assert_eq!(counted, 500);
}

#[test]
fn manual_moves_and_disqualification_are_recorded_with_their_actor() {
    let mut e = engine();
    e.apply(
        &by_email("f", TouchpointKind::FormSubmitted, "x@rival.fi", T0),
        T0,
    );
    e.command(
        &Command::Disqualify {
            person: PersonId(1),
            actor: Actor::Operator("ops".into()),
            reason: "competitor".into(),
        },
        T0 + 1,
    )
    .unwrap();
    assert_eq!(stage_of(&e, 1), Stage::Disqualified);
    // More engagement does not requalify a disqualified lead.
    e.apply(
        &by_email("q", TouchpointKind::QuoteRequested, "x@rival.fi", T0 + 2),
        T0 + 2,
    );
    assert_eq!(stage_of(&e, 1), Stage::Disqualified);
    let err = e
        .command(
            &Command::Move {
                person: PersonId(1),
                to: Stage::Customer,
                actor: Actor::Operator("ops".into()),
                note: "oops".into(),
            },
            T0 + 3,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("disqualified to customer"),
        "{err}"
    );
    e.command(
        &Command::Move {
            person: PersonId(1),
            to: Stage::Recycled,
            actor: Actor::Operator("ops".into()),
            note: "not a competitor after all".into(),
        },
        T0 + 4,
    )
    .unwrap();
    let last = e.lead(1).unwrap().history.last().unwrap().clone();
    assert_eq!(last.transition.actor, Actor::Operator("ops".into()));
}

#[test]
fn training_needs_outcomes_then_predicts() {
    let mut e = engine();
    assert!(matches!(
        e.command(&Command::Train, T0),
        Err(CommandError::Train(_))
    ));
    // 120 leads: those who request a quote get accepted (converted).
    for i in 0..120_i64 {
        let email = format!("p{i}@co{i}.fi");
        let at = T0 + i * DAY / 4;
        e.apply(
            &by_email(&format!("pv{i}"), TouchpointKind::PageView, &email, at),
            at,
        );
        if i % 3 == 0 {
            let (id, _) = qualify(&mut e, &email, at + 1);
            e.command(
                &Command::Accept {
                    person: PersonId(id),
                    by: "carl".into(),
                },
                at + 2,
            )
            .unwrap();
        } else {
            e.apply(
                &by_email(&format!("d{i}"), TouchpointKind::Download, &email, at + 1),
                at + 1,
            );
        }
    }
    e.command(&Command::Train, T0 + 40 * DAY).unwrap();
    let model = e.model().unwrap();
    assert!(model.auc > 0.9, "auc {}", model.auc);
    let page = e.leads(&LeadFilter::default());
    assert!(page.items.iter().all(|l| l.predicted.is_some()));
}

#[test]
fn an_order_makes_an_opportunity_a_customer_without_an_instant_upsell() {
    let mut e = engine();
    let (id, _) = qualify(&mut e, "ann@mill.fi", T0);
    e.command(
        &Command::Accept {
            person: PersonId(id),
            by: "anna".into(),
        },
        T0 + 2000,
    )
    .unwrap();
    let mut order = by_email("o-1", TouchpointKind::OrderPlaced, "ann@mill.fi", T0 + 3000);
    order.properties.amount = Some(10.0);
    order.properties.currency = Some("EUR".into());
    e.apply(&order, T0 + 3000);
    // The whole score is high, but a customer requalifies only on what it
    // does after buying (the order itself does not count).
    let lead = e.lead(id).unwrap();
    assert_eq!(lead.summary.stage, Stage::Customer);
    assert_eq!(
        lead.qualifying, 0.0,
        "nothing new since buying: fit alone does not count"
    );
    // Later interest does bring it back for an upsell.
    e.apply(
        &by_email(
            "q-up",
            TouchpointKind::QuoteRequested,
            "ann@mill.fi",
            T0 + 4000,
        ),
        T0 + 4000,
    );
    e.apply(
        &by_email(
            "f-up",
            TouchpointKind::FormSubmitted,
            "ann@mill.fi",
            T0 + 4001,
        ),
        T0 + 4001,
    );
    assert_eq!(stage_of(&e, id), Stage::SalesReady, "10 + 50 + 30 = 90");
    assert_eq!(e.lead(id).unwrap().handoffs.len(), 2);
}

#[test]
fn old_touchpoints_loaded_today_start_the_sla_today() {
    let mut e = engine();
    let received = T0 + 300 * DAY;
    let mut form = by_email("f", TouchpointKind::FormSubmitted, "ann@mill.fi", T0);
    form.traits.job_title = Some("Director".into());
    e.apply(&form, received);
    e.apply(
        &by_email("q", TouchpointKind::QuoteRequested, "ann@mill.fi", T0 + 1),
        received,
    );
    let lead = e.lead(1).unwrap();
    assert_eq!(lead.summary.stage, Stage::SalesReady);
    assert_eq!(lead.handoffs[0].assigned_at, received);
    assert!(e.due_handoffs(received + 1).is_empty());
    // The stage history keeps the touchpoints' own time.
    assert_eq!(lead.history.last().unwrap().transition.at, T0 + 1);
}

#[test]
fn a_hand_off_ends_the_way_the_lead_leaves_sales_ready() {
    let mut e = engine();
    let (a, _) = qualify(&mut e, "a@mill.fi", T0);
    e.command(
        &Command::Lost {
            person: PersonId(a),
            reason: "went with a competitor".into(),
        },
        T0 + 5000,
    )
    .unwrap();
    assert_eq!(
        e.lead(a).unwrap().handoffs[0].status,
        HandoffStatus::Rejected {
            by: "crm".into(),
            reason: "went with a competitor".into()
        }
    );
    let (b, _) = qualify(&mut e, "b@mill.fi", T0);
    e.command(
        &Command::Disqualify {
            person: PersonId(b),
            actor: Actor::Operator("ops".into()),
            reason: "spam".into(),
        },
        T0 + 5000,
    )
    .unwrap();
    assert_eq!(e.lead(b).unwrap().handoffs[0].status, HandoffStatus::Closed);
    assert!(e.due_handoffs(T0 + 400 * DAY).is_empty());
}

const NURTURE: &str = r#"{
  "policy": { "version": 1, "quiet_hours": { "from": "20:00", "to": "08:00" } },
  "channels": { "email": "newsletter", "portal": "portal" },
  "models": [ { "version": 1, "name": "prospects",
    "entry": { "stage": ["prospect", "lead"] },
    "steps": [
      { "id": "hello", "send": { "content": "intro", "stage": "connecting", "text": "Hello" } },
      { "id": "pause", "wait": { "days": 2 } },
      { "id": "check", "branch": { "if": { "clicked": "hello" }, "then": "closing", "else": "educate" } },
      { "id": "educate", "send": { "content": "case", "stage": "educating", "text": "A case" } },
      { "id": "closing", "send": { "content": "pricing", "stage": "closing", "text": "Prices" } }
    ],
    "goal": { "stage": ["sales-ready"] } } ] }"#;

fn nurtured() -> Engine {
    Engine::new(config(SlaExpiry::Reassign).with_nurture(NURTURE).unwrap())
}

/// 10:00 UTC on a day, outside the quiet hours.
const MORNING: i64 = T0 - T0 % DAY + 10 * 3_600_000;

fn sends(fx: &Effects) -> Vec<(String, String)> {
    fx.outbox
        .iter()
        .filter(|o| o.kind == OutboundKind::Nurture)
        .map(|o| {
            (
                o.key.clone(),
                o.payload["connector"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_tick_advances_at_most_its_bound_the_longest_due_first() {
    let mut e = nurtured();
    let people = super::MAX_TICK_ADVANCES + 3;
    for i in 0..people {
        let at = MORNING + i as i64;
        e.apply(
            &by_email(
                &format!("d{i}"),
                TouchpointKind::Download,
                &format!("p{i}@co{}.fi", i % 97),
                at,
            ),
            at,
        );
    }
    let now = MORNING + people as i64;
    assert!(e.nurture_backlog(now));
    let first = sends(&e.command(&Command::Tick, now).unwrap());
    assert_eq!(first.len(), super::MAX_TICK_ADVANCES);
    assert_eq!(first[0].0, "nurture:1:prospects:1:1:hello");
    // The rest is still due; the next tick, at once, takes it.
    assert!(e.next_nurture_due().is_some_and(|at| at <= now));
    assert!(!e.nurture_backlog(now), "one more tick takes the rest");
    let rest = sends(&e.command(&Command::Tick, now).unwrap());
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[2].0, format!("nurture:{people}:prospects:1:1:hello"));
    // Everyone waits two days from the tick that sent their first step.
    assert_eq!(e.next_nurture_due(), Some(now + 2 * DAY));
}

#[test]
fn prospects_are_enrolled_and_nurtured_step_by_step_on_ticks() {
    let mut e = nurtured();
    e.apply(
        &by_email("d1", TouchpointKind::Download, "ann@mill.fi", MORNING),
        MORNING,
    );
    assert_eq!(stage_of(&e, 1), Stage::Prospect);
    assert_eq!(e.next_nurture_due(), Some(MORNING));
    // The first tick sends the first step by e-mail, under its key.
    let fx = e.command(&Command::Tick, MORNING).unwrap();
    assert_eq!(
        sends(&fx),
        vec![(
            "nurture:1:prospects:1:1:hello".to_string(),
            "newsletter".to_string()
        )]
    );
    let message = &fx.outbox[0].payload["message"];
    assert_eq!(message["recipient"]["email"], "ann@mill.fi");
    assert_eq!(message["idempotency_key"], "nurture:1:prospects:1:1:hello");
    // Then it waits two days: ticks before that send nothing.
    assert_eq!(e.next_nurture_due(), Some(MORNING + 2 * DAY));
    assert!(sends(&e.command(&Command::Tick, MORNING + DAY).unwrap()).is_empty());
    // She clicked the first message (the key came back on the event).
    let mut click = by_email(
        "c1",
        TouchpointKind::EmailClicked,
        "ann@mill.fi",
        MORNING + DAY,
    );
    click.channel = Channel::Email;
    click.properties.other = vec![Attribute {
        name: "idempotency_key".into(),
        value: "nurture:1:prospects:1:1:hello".into(),
    }];
    e.apply(&click, MORNING + DAY);
    let fx = e.command(&Command::Tick, MORNING + 2 * DAY).unwrap();
    assert_eq!(
        sends(&fx)[0].0,
        "nurture:1:prospects:1:1:closing",
        "the click branch"
    );
    let journey = e.lead(1).unwrap().journey;
    assert_eq!(journey.len(), 1);
    assert_eq!(journey[0].sent.len(), 2);
    assert!(!journey[0].is_active(), "completed after the last step");
    // A replay of the same log gives the same sends (stable keys).
    assert!(e.next_nurture_due().is_none());
}

#[test]
fn nurturing_respects_quiet_hours_unsubscribes_and_the_goal() {
    let mut e = nurtured();
    let night = MORNING + 12 * 3_600_000; // 22:00 UTC
    e.apply(
        &by_email("d1", TouchpointKind::Download, "bo@mill.fi", night),
        night,
    );
    let fx = e.command(&Command::Tick, night).unwrap();
    assert!(sends(&fx).is_empty(), "quiet hours");
    assert_eq!(
        e.next_nurture_due(),
        Some(MORNING + DAY - 2 * 3_600_000),
        "08:00 next day"
    );
    let fx = e.command(&Command::Tick, MORNING + DAY).unwrap();
    assert_eq!(sends(&fx).len(), 1);

    // An unsubscribe ends the enrollment at the next tick.
    let mut unsub = by_email(
        "u1",
        TouchpointKind::Unsubscribed,
        "bo@mill.fi",
        MORNING + DAY + 1,
    );
    unsub.channel = Channel::Email;
    e.apply(&unsub, MORNING + DAY + 1);
    let fx = e.command(&Command::Tick, MORNING + 4 * DAY).unwrap();
    assert!(sends(&fx).is_empty());
    let journey = e.lead(1).unwrap().journey;
    assert!(!journey[0].is_active());

    // A lead that becomes sales-ready leaves its model by the goal.
    let mut e = nurtured();
    e.apply(
        &by_email("d", TouchpointKind::Download, "cy@mill.fi", MORNING),
        MORNING,
    );
    e.command(&Command::Tick, MORNING).unwrap();
    let (id, _) = qualify(&mut e, "cy@mill.fi", MORNING + 10);
    assert_eq!(stage_of(&e, id), Stage::SalesReady);
    e.command(&Command::Tick, MORNING + 3 * DAY).unwrap();
    let journey = e.lead(id).unwrap().journey;
    assert_eq!(journey[0].sent.len(), 1);
    assert!(!journey[0].is_active(), "goal reached");
}

#[test]
fn idle_enrollments_cost_nothing_until_due() {
    let mut e = nurtured();
    for i in 0..200 {
        let email = format!("p{i}@mill.fi");
        e.apply(
            &by_email(&format!("d{i}"), TouchpointKind::Download, &email, MORNING),
            MORNING,
        );
    }
    let fx = e.command(&Command::Tick, MORNING).unwrap();
    assert_eq!(sends(&fx).len(), 200);
    // All wait two days: the schedule says so, and a tick before that
    // touches nothing.
    assert_eq!(e.schedule.len(), 200);
    assert_eq!(e.next_nurture_due(), Some(MORNING + 2 * DAY));
    assert!(e.command(&Command::Tick, MORNING + DAY).unwrap().is_empty());
    // Snapshot and restore keep the schedule and the journeys.
    let restored = Engine::from_json(&e.to_json().unwrap()).unwrap();
    assert_eq!(restored, e);
}

#[test]
fn a_lead_sales_sent_back_enters_the_model_for_recycled_leads() {
    const RECYCLED: &str = r#"{ "channels": { "email": "newsletter" },
      "models": [ { "version": 1, "name": "recycled", "entry": { "stage": ["recycled"] },
        "steps": [ { "id": "breather", "wait": { "days": 14 } },
                   { "id": "check-in", "send": { "content": "news", "stage": "educating", "text": "News" } } ] } ] }"#;
    let mut e = Engine::new(config(SlaExpiry::Reassign).with_nurture(RECYCLED).unwrap());
    let (id, _) = qualify(&mut e, "ann@mill.fi", MORNING);
    e.command(
        &Command::Reject {
            person: PersonId(id),
            by: "anna".into(),
            reason: "later".into(),
        },
        MORNING + 1000,
    )
    .unwrap();
    let journey = e.lead(id).unwrap().journey;
    assert_eq!(journey.len(), 1, "enrolled when sent back");
    assert_eq!(journey[0].model, "recycled");
    e.command(&Command::Tick, MORNING + 2000).unwrap();
    let fx = e.command(&Command::Tick, MORNING + 15 * DAY).unwrap();
    assert_eq!(
        sends(&fx)[0].0,
        format!("nurture:{id}:recycled:1:1:check-in")
    );
}

#[test]
fn configuring_care_models_enrolls_the_leads_already_there() {
    let mut e = engine();
    let (id, _) = qualify(&mut e, "ann@mill.fi", MORNING);
    e.command(
        &Command::Reject {
            person: PersonId(id),
            by: "anna".into(),
            reason: "later".into(),
        },
        MORNING + 1000,
    )
    .unwrap();
    e.apply(
        &by_email("d", TouchpointKind::Download, "bo@mill.fi", MORNING),
        MORNING + 2000,
    );
    let config = e.config().clone().with_nurture(NURTURE).unwrap();
    let with_recycled = NURTURE.replace(
        r#""goal": { "stage": ["sales-ready"] } } ] }"#,
        r#""goal": { "stage": ["sales-ready"] } },
        { "version": 1, "name": "recycled", "entry": { "stage": ["recycled"] },
          "steps": [ { "id": "news", "send": { "content": "n", "stage": "educating", "text": "N" } } ] } ] }"#,
    );
    let config = config.with_nurture(&with_recycled).unwrap();
    assert_eq!(config.nurture.models.len(), 2);
    e.command(
        &Command::Configure {
            config: Box::new(config),
        },
        MORNING + 3000,
    )
    .unwrap();
    assert_eq!(e.lead(id).unwrap().journey[0].model, "recycled");
    assert_eq!(e.lead(2).unwrap().journey[0].model, "prospects");
}

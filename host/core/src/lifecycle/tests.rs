use super::*;
use crate::identity::PersonId;
use std::collections::BTreeMap;

const MIN: Timestamp = 60_000;
const NOW: Timestamp = 1_800_000_000_000;

const POLICY: &str = r#"{ "mql_threshold": 40, "sql_threshold": 70, "sla_minutes": 240,
  "on_sla_expiry": { "action": "escalate", "to": "team-lead-7" } }"#;

fn policy() -> Policy {
    Policy::from_json(POLICY).unwrap()
}

fn at(stage: Stage) -> Lifecycle {
    Lifecycle::new(stage)
}

fn scored(score: f64) -> Event {
    Event::Scored { score }
}

fn accept() -> Event {
    Event::SalesAccepted { by: "anna".into() }
}

fn reject(reason: &str) -> Event {
    Event::SalesRejected {
        by: "anna".into(),
        reason: reason.into(),
    }
}

fn escalation() -> SlaAction {
    SlaAction::Escalate {
        lead: PersonId(1),
        owner: "anna".into(),
        to: "team-lead-7".into(),
    }
}

/// Applies `event` to a fresh lead in `from`.
fn step(from: Stage, event: Event) -> Result<Option<Transition>, LifecycleError> {
    at(from).apply(event, &policy(), NOW)
}

// ---- the state machine -------------------------------------------------

#[test]
fn every_event_driven_edge() {
    use Stage::*;
    let cases: Vec<(Stage, Event, Stage, Cause, Actor)> = vec![
        (
            Visitor,
            Event::Identified,
            Suspect,
            Cause::Identified,
            Actor::System,
        ),
        (
            Suspect,
            Event::Engaged,
            Prospect,
            Cause::Engaged,
            Actor::System,
        ),
        (
            Suspect,
            scored(45.0),
            Lead,
            Cause::ScoreCrossed {
                threshold: Threshold::Mql,
                score: 45.0,
            },
            Actor::System,
        ),
        (
            Prospect,
            scored(40.0),
            Lead,
            Cause::ScoreCrossed {
                threshold: Threshold::Mql,
                score: 40.0,
            },
            Actor::System,
        ),
        (
            Recycled,
            scored(50.0),
            Lead,
            Cause::ScoreCrossed {
                threshold: Threshold::Mql,
                score: 50.0,
            },
            Actor::System,
        ),
        (
            Suspect,
            scored(90.0),
            SalesReady,
            Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 90.0,
            },
            Actor::System,
        ),
        (
            Prospect,
            scored(70.0),
            SalesReady,
            Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 70.0,
            },
            Actor::System,
        ),
        (
            Lead,
            scored(71.5),
            SalesReady,
            Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 71.5,
            },
            Actor::System,
        ),
        (
            Recycled,
            scored(80.0),
            SalesReady,
            Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 80.0,
            },
            Actor::System,
        ),
        (
            Customer,
            scored(75.0),
            SalesReady,
            Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 75.0,
            },
            Actor::System,
        ),
        (
            Advocate,
            scored(75.0),
            SalesReady,
            Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 75.0,
            },
            Actor::System,
        ),
        (
            SalesReady,
            accept(),
            Opportunity,
            Cause::SalesAccepted,
            Actor::Sales("anna".into()),
        ),
        (
            SalesReady,
            reject("no budget"),
            Recycled,
            Cause::SalesRejected {
                reason: "no budget".into(),
            },
            Actor::Sales("anna".into()),
        ),
        (
            Opportunity,
            reject("lost to rival"),
            Recycled,
            Cause::SalesRejected {
                reason: "lost to rival".into(),
            },
            Actor::Sales("anna".into()),
        ),
        (
            SalesReady,
            Event::SlaExpired(escalation()),
            SalesReady,
            Cause::SlaEscalation {
                action: escalation(),
            },
            Actor::System,
        ),
        (
            SalesReady,
            Event::Purchased,
            Customer,
            Cause::Purchase,
            Actor::System,
        ),
        (
            Opportunity,
            Event::Purchased,
            Customer,
            Cause::Purchase,
            Actor::System,
        ),
    ];
    for (from, event, to, cause, actor) in cases {
        let mut lc = at(from);
        let t = lc.apply(event.clone(), &policy(), NOW).unwrap();
        let expected = Transition {
            from,
            to,
            at: NOW,
            cause,
            actor,
        };
        assert_eq!(t.as_ref(), Some(&expected), "{from} with {event:?}");
        assert_eq!(lc.stage, to);
        assert_eq!(lc.history, vec![expected]);
    }
}

#[test]
fn disqualify_from_every_stage_but_disqualified() {
    for from in Stage::ALL {
        let event = Event::Disqualify {
            actor: Actor::Operator("ops".into()),
            reason: "competitor".into(),
        };
        let result = step(from, event);
        if from == Stage::Disqualified {
            assert_eq!(
                result,
                Err(LifecycleError::Illegal {
                    from,
                    to: Stage::Disqualified
                })
            );
        } else {
            let t = result.unwrap().unwrap();
            assert_eq!(t.to, Stage::Disqualified);
            assert_eq!(
                t.cause,
                Cause::Disqualified {
                    reason: "competitor".into()
                }
            );
            assert_eq!(t.actor, Actor::Operator("ops".into()));
        }
    }
}

#[test]
fn manual_moves_follow_exactly_the_legal_edges() {
    let mut legal = 0;
    for from in Stage::ALL {
        for to in Stage::ALL {
            let event = Event::Manual {
                to,
                actor: Actor::Operator("ops".into()),
                note: "by hand".into(),
            };
            let mut lc = at(from);
            let result = lc.apply(event, &policy(), NOW);
            if is_legal(from, to) {
                legal += 1;
                let t = result.unwrap().unwrap();
                assert_eq!((t.from, t.to), (from, to));
                assert_eq!(
                    t.cause,
                    Cause::Manual {
                        note: "by hand".into()
                    }
                );
                assert_eq!(lc.stage, to);
            } else {
                assert_eq!(
                    result,
                    Err(LifecycleError::Illegal { from, to }),
                    "{from} → {to}"
                );
                assert_eq!(lc.stage, from, "a refused move changes nothing");
                assert!(lc.history.is_empty());
            }
        }
    }
    // 9 stages reach disqualified, plus these 23 edges.
    use Stage::*;
    let others = [
        (Visitor, Suspect),
        (Suspect, Prospect),
        (Suspect, Lead),
        (Suspect, SalesReady),
        (Suspect, Customer),
        (Prospect, Lead),
        (Prospect, SalesReady),
        (Prospect, Customer),
        (Lead, SalesReady),
        (Lead, Recycled),
        (Lead, Customer),
        (SalesReady, Opportunity),
        (SalesReady, Recycled),
        (SalesReady, Customer),
        (Opportunity, Customer),
        (Opportunity, Recycled),
        (Customer, Advocate),
        (Customer, SalesReady),
        (Advocate, SalesReady),
        (Recycled, Lead),
        (Recycled, SalesReady),
        (Recycled, Customer),
        (Disqualified, Recycled),
    ];
    assert!(others.iter().all(|&(f, t)| is_legal(f, t)));
    assert_eq!(legal, 9 + others.len());
}

#[test]
fn illegal_moves_name_both_stages() {
    use Stage::*;
    assert_eq!(
        step(Lead, accept()),
        Err(LifecycleError::Illegal {
            from: Lead,
            to: Opportunity
        })
    );
    assert_eq!(
        step(Prospect, reject("x")),
        Err(LifecycleError::Illegal {
            from: Prospect,
            to: Recycled
        })
    );
    assert_eq!(
        step(Visitor, Event::Purchased),
        Err(LifecycleError::Illegal {
            from: Visitor,
            to: Customer
        })
    );
    assert_eq!(
        step(Opportunity, Event::SlaExpired(escalation())),
        Err(LifecycleError::Illegal {
            from: Opportunity,
            to: SalesReady
        })
    );
    assert_eq!(
        step(Disqualified, accept()),
        Err(LifecycleError::Illegal {
            from: Disqualified,
            to: Opportunity
        })
    );
    let message = step(Lead, accept()).unwrap_err().to_string();
    assert_eq!(message, "a lead cannot move from lead to opportunity");
}

#[test]
fn routine_signals_that_do_not_move_give_none() {
    use Stage::*;
    assert_eq!(step(Suspect, Event::Identified), Ok(None));
    assert_eq!(step(Visitor, Event::Engaged), Ok(None));
    assert_eq!(step(Lead, Event::Engaged), Ok(None));
    assert_eq!(
        step(Visitor, scored(99.0)),
        Ok(None),
        "anonymous visitors are not qualified"
    );
    assert_eq!(step(Prospect, scored(39.9)), Ok(None));
    assert_eq!(step(Lead, scored(69.9)), Ok(None));
    assert_eq!(step(Lead, scored(55.0)), Ok(None), "already MQL");
    assert_eq!(step(SalesReady, scored(99.0)), Ok(None));
    assert_eq!(step(Opportunity, scored(99.0)), Ok(None));
    assert_eq!(
        step(Customer, scored(69.0)),
        Ok(None),
        "below SQL no upsell"
    );
    assert_eq!(step(Disqualified, scored(99.0)), Ok(None));
    assert_eq!(step(Customer, Event::Purchased), Ok(None));
    assert_eq!(step(Advocate, Event::Purchased), Ok(None));
}

#[test]
fn crossing_the_sql_threshold_makes_a_lead_sales_ready_with_the_score() {
    let policy = policy();
    let mut lc = Lifecycle::default();
    assert_eq!(lc.stage, Stage::Visitor);
    lc.apply(Event::Identified, &policy, NOW).unwrap();
    lc.apply(scored(20.0), &policy, NOW + MIN).unwrap();
    assert_eq!(lc.stage, Stage::Suspect, "below MQL nothing happens");
    lc.apply(Event::Engaged, &policy, NOW + 2 * MIN).unwrap();
    let mql = lc
        .apply(scored(42.0), &policy, NOW + 3 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!(mql.to, Stage::Lead);
    let sql = lc
        .apply(scored(73.0), &policy, NOW + 4 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!(
        sql,
        Transition {
            from: Stage::Lead,
            to: Stage::SalesReady,
            at: NOW + 4 * MIN,
            cause: Cause::ScoreCrossed {
                threshold: Threshold::Sql,
                score: 73.0
            },
            actor: Actor::System,
        }
    );
    let path: Vec<(Stage, Stage)> = lc.history.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        path,
        vec![
            (Stage::Visitor, Stage::Suspect),
            (Stage::Suspect, Stage::Prospect),
            (Stage::Prospect, Stage::Lead),
            (Stage::Lead, Stage::SalesReady),
        ]
    );
}

#[test]
fn rejected_lead_is_recycled_with_reason_then_nurtured_back_to_sql() {
    let policy = policy();
    let mut lc = at(Stage::SalesReady);
    let t = lc
        .apply(reject("timing: budget next year"), &policy, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(t.to, Stage::Recycled);
    assert_eq!(
        t.cause,
        Cause::SalesRejected {
            reason: "timing: budget next year".into()
        }
    );
    assert_eq!(lc.apply(scored(30.0), &policy, NOW + MIN), Ok(None));
    let back = lc
        .apply(scored(45.0), &policy, NOW + 2 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!((back.from, back.to), (Stage::Recycled, Stage::Lead));
    let sql = lc
        .apply(scored(82.0), &policy, NOW + 3 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!((sql.from, sql.to), (Stage::Lead, Stage::SalesReady));
    assert_eq!(lc.history.len(), 3);
    assert_eq!(
        lc.history[0].cause, t.cause,
        "the reason stays in the history"
    );
}

#[test]
fn customer_upsell_reenters_qualification_and_keeps_history() {
    let policy = policy();
    let mut lc = at(Stage::SalesReady);
    lc.apply(accept(), &policy, NOW).unwrap();
    lc.apply(Event::Purchased, &policy, NOW + MIN).unwrap();
    assert_eq!(lc.stage, Stage::Customer);
    let upsell = lc
        .apply(scored(88.0), &policy, NOW + 2 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!(
        (upsell.from, upsell.to),
        (Stage::Customer, Stage::SalesReady)
    );
    lc.apply(accept(), &policy, NOW + 3 * MIN).unwrap();
    lc.apply(Event::Purchased, &policy, NOW + 4 * MIN).unwrap();
    assert_eq!(lc.stage, Stage::Customer);
    let path: Vec<(Stage, Stage)> = lc.history.iter().map(|t| (t.from, t.to)).collect();
    use Stage::*;
    assert_eq!(
        path,
        vec![
            (SalesReady, Opportunity),
            (Opportunity, Customer),
            (Customer, SalesReady),
            (SalesReady, Opportunity),
            (Opportunity, Customer),
        ]
    );
    let times: Vec<Timestamp> = lc.history.iter().map(|t| t.at).collect();
    assert_eq!(
        times,
        vec![NOW, NOW + MIN, NOW + 2 * MIN, NOW + 3 * MIN, NOW + 4 * MIN]
    );
}

#[test]
fn stages_and_history_round_trip_through_json() {
    let names: Vec<String> = Stage::ALL
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "\"visitor\"",
            "\"suspect\"",
            "\"prospect\"",
            "\"lead\"",
            "\"sales-ready\"",
            "\"opportunity\"",
            "\"customer\"",
            "\"advocate\"",
            "\"recycled\"",
            "\"disqualified\""
        ]
    );
    for s in Stage::ALL {
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{}\"", s.name())
        );
    }
    let mut lc = at(Stage::Lead);
    lc.apply(scored(70.0), &policy(), NOW).unwrap();
    lc.apply(reject("no fit"), &policy(), NOW + MIN).unwrap();
    let json = serde_json::to_value(&lc).unwrap();
    assert_eq!(
        json["history"][0]["cause"],
        serde_json::json!({ "kind": "score-crossed", "threshold": "sql", "score": 70.0 })
    );
    assert_eq!(
        json["history"][1]["actor"],
        serde_json::json!({ "kind": "sales", "id": "anna" })
    );
    let back: Lifecycle = serde_json::from_value(json).unwrap();
    assert_eq!(back, lc);
}

// ---- policy ------------------------------------------------------------

#[test]
fn policy_parses_and_rejects_bad_configs() {
    let p = policy();
    assert_eq!(p.mql_threshold, 40.0);
    assert_eq!(p.sql_threshold, 70.0);
    assert_eq!(p.sla_minutes, 240);
    assert_eq!(
        p.on_sla_expiry,
        SlaExpiry::Escalate {
            to: "team-lead-7".into()
        }
    );
    let reassign = Policy::from_json(
        r#"{"mql_threshold":1,"sql_threshold":2,"sla_minutes":5,"on_sla_expiry":{"action":"reassign"}}"#,
    )
    .unwrap();
    assert_eq!(reassign.on_sla_expiry, SlaExpiry::Reassign);
    assert_eq!(
        Policy::from_json(
            r#"{"mql_threshold":70,"sql_threshold":70,"sla_minutes":5,"on_sla_expiry":{"action":"reassign"}}"#
        ),
        Err(PolicyError::Thresholds {
            mql: 70.0,
            sql: 70.0
        })
    );
    assert_eq!(
        Policy::from_json(
            r#"{"mql_threshold":1,"sql_threshold":2,"sla_minutes":0,"on_sla_expiry":{"action":"reassign"}}"#
        ),
        Err(PolicyError::SlaWindow)
    );
    assert_eq!(
        Policy::from_json(
            r#"{"mql_threshold":1,"sql_threshold":2,"sla_minutes":5,"on_sla_expiry":{"action":"escalate","to":" "}}"#
        ),
        Err(PolicyError::EscalationTarget)
    );
    assert!(matches!(
        Policy::from_json(
            r#"{"mql_threshold":1,"sql_threshold":2,"sla_minutes":5,"on_sla_expiry":{"action":"reassign"},"x":1}"#
        ),
        Err(PolicyError::Json(_))
    ));
    assert!(matches!(
        Policy::from_json(
            r#"{"mql_threshold":1,"sql_threshold":2,"sla_minutes":5,"on_sla_expiry":{"action":"ignore"}}"#
        ),
        Err(PolicyError::Json(_))
    ));
}

// ---- routing -----------------------------------------------------------

fn member(id: &str, capacity: u32, active: bool) -> Member {
    Member {
        id: id.into(),
        capacity,
        active,
    }
}

fn team(members: Vec<Member>) -> Team {
    Team { members }
}

fn routing() -> RoutingRules {
    let mut teams = BTreeMap::new();
    teams.insert("nordics".to_string(), team(vec![member("anna", 1, true)]));
    teams.insert(
        "pulp".to_string(),
        team(vec![member("pekka", 1, true), member("sara", 1, true)]),
    );
    teams.insert("refiners".to_string(), team(vec![member("raj", 1, true)]));
    teams.insert("inside".to_string(), team(vec![member("ines", 1, true)]));
    RoutingRules {
        rules: vec![
            RoutingRule {
                name: "nordic pulp".into(),
                country: vec!["FI".into(), "SE".into()],
                industry: vec!["Pulp & Paper".into()],
                team: "pulp".into(),
                account_owner_wins: true,
                ..RoutingRule::default()
            },
            RoutingRule {
                name: "refiner interest".into(),
                product: vec!["refiners".into()],
                team: "refiners".into(),
                ..RoutingRule::default()
            },
            RoutingRule {
                name: "nordics".into(),
                territory: vec!["north".into()],
                team: "nordics".into(),
                ..RoutingRule::default()
            },
        ],
        default_team: "inside".into(),
        teams,
    }
}

fn facts(country: &str, industry: &str) -> LeadFacts {
    LeadFacts {
        country: Some(country.into()),
        industry: Some(industry.into()),
        ..LeadFacts::default()
    }
}

#[test]
fn first_matching_rule_picks_the_team() {
    let rules = routing();
    let mut rr = RoundRobin::default();
    // Matches rule 0 and rule 1: the first wins.
    let mut f = facts("fi", "pulp & paper");
    f.product_interest = vec!["Refiners".into()];
    let a = route(&f, &rules, &mut rr).unwrap();
    assert_eq!((a.team.as_str(), a.rule), ("pulp", Some(0)));
    // Rule 0 needs both country and industry.
    let a = route(&facts("DE", "Pulp & Paper"), &rules, &mut rr).unwrap();
    assert_eq!(a.rule, None);
    let mut f = facts("DE", "Pulp & Paper");
    f.product_interest = vec!["sensors".into(), "refiners".into()];
    let a = route(&f, &rules, &mut rr).unwrap();
    assert_eq!(
        (a.team.as_str(), a.owner.as_str(), a.rule),
        ("refiners", "raj", Some(1))
    );
    let f = LeadFacts {
        territory: Some("North".into()),
        ..LeadFacts::default()
    };
    let a = route(&f, &rules, &mut rr).unwrap();
    assert_eq!((a.team.as_str(), a.rule), ("nordics", Some(2)));
}

#[test]
fn no_matching_rule_goes_to_the_default_team() {
    let a = route(
        &LeadFacts::default(),
        &routing(),
        &mut RoundRobin::default(),
    )
    .unwrap();
    assert_eq!(
        a,
        Assignment {
            team: "inside".into(),
            owner: "ines".into(),
            rule: None,
            account_owner: false
        }
    );
}

#[test]
fn account_owner_wins_when_the_rule_says_so() {
    let rules = routing();
    let mut rr = RoundRobin::default();
    let mut f = facts("SE", "Pulp & Paper");
    f.account_owner = Some("olga".into());
    let a = route(&f, &rules, &mut rr).unwrap();
    assert_eq!(
        a,
        Assignment {
            team: "pulp".into(),
            owner: "olga".into(),
            rule: Some(0),
            account_owner: true
        }
    );
    assert_eq!(rr, RoundRobin::default(), "the round-robin does not move");
    // A rule without the flag ignores the owner.
    let f = LeadFacts {
        product_interest: vec!["refiners".into()],
        account_owner: Some("olga".into()),
        ..LeadFacts::default()
    };
    let a = route(&f, &rules, &mut rr).unwrap();
    assert_eq!((a.owner.as_str(), a.account_owner), ("raj", false));
    // An owner marked inactive in the team falls back to the round-robin.
    let mut rules = routing();
    rules
        .teams
        .get_mut("pulp")
        .unwrap()
        .members
        .push(member("olga", 1, false));
    let mut f = facts("SE", "Pulp & Paper");
    f.account_owner = Some("olga".into());
    let a = route(&f, &rules, &mut RoundRobin::default()).unwrap();
    assert_eq!((a.owner.as_str(), a.account_owner), ("pekka", false));
}

fn weighted() -> (Team, RoutingRules) {
    let t = team(vec![
        member("a", 3, true),
        member("off", 5, false),
        member("b", 2, true),
        member("c", 1, true),
    ]);
    let mut teams = BTreeMap::new();
    teams.insert("t".to_string(), t.clone());
    (
        t,
        RoutingRules {
            rules: vec![],
            default_team: "t".into(),
            teams,
        },
    )
}

#[test]
fn weighted_round_robin_is_exactly_proportional_and_skips_inactive() {
    let (_, rules) = weighted();
    let mut rr = RoundRobin::default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut order = Vec::new();
    for _ in 0..60 {
        let a = route(&LeadFacts::default(), &rules, &mut rr).unwrap();
        order.push(a.owner.clone());
        *counts.entry(a.owner).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("a".to_string(), 30),
        ("b".to_string(), 20),
        ("c".to_string(), 10),
    ]
    .into();
    assert_eq!(counts, expected);
    // Every full cycle of 6 is already exact, and smooth (not a,a,a,b,b,c).
    for cycle in order.chunks(6) {
        assert_eq!(cycle, ["a", "b", "a", "c", "b", "a"]);
    }
}

#[test]
fn round_robin_state_is_plain_data_that_resumes() {
    let (t, _) = weighted();
    let mut one = RoundRobin::default();
    let mut picks = Vec::new();
    for _ in 0..4 {
        picks.push(one.pick("t", &t, None).unwrap());
    }
    let stored = serde_json::to_string(&one).unwrap();
    let mut resumed: RoundRobin = serde_json::from_str(&stored).unwrap();
    for _ in 0..2 {
        picks.push(resumed.pick("t", &t, None).unwrap());
    }
    assert_eq!(picks, ["a", "b", "a", "c", "b", "a"]);
}

#[test]
fn round_robin_skips_excluded_zero_capacity_and_empty_teams() {
    let t = team(vec![
        member("a", 1, true),
        member("z", 0, true),
        member("b", 1, true),
    ]);
    let mut rr = RoundRobin::default();
    let picks: Vec<UserId> = (0..4)
        .map(|_| rr.pick("t", &t, Some("a")).unwrap())
        .collect();
    assert_eq!(picks, ["b", "b", "b", "b"]);
    let nobody = team(vec![member("a", 1, false), member("z", 0, true)]);
    assert_eq!(rr.pick("n", &nobody, None), None);
    let mut rules = routing();
    rules.teams.insert("inside".into(), nobody);
    assert_eq!(
        route(&LeadFacts::default(), &rules, &mut rr),
        Err(RoutingError::NoActiveMember("inside".into()))
    );
}

#[test]
fn routing_rules_from_json_check_team_names() {
    let json = r#"{ "rules": [ { "name": "nordic pulp", "country": ["FI", "SE"],
                   "industry": ["Pulp & Paper"], "team": "nordics",
                   "account_owner_wins": true } ],
      "default_team": "inside-sales",
      "teams": { "nordics": { "members": [ { "id": "anna", "capacity": 3, "active": true } ] },
                 "inside-sales": { "members": [ { "id": "bob", "capacity": 1, "active": true } ] } } }"#;
    let rules = RoutingRules::from_json(json).unwrap();
    assert_eq!(rules.rules.len(), 1);
    assert!(rules.rules[0].account_owner_wins);
    let broken = json.replace(r#""team": "nordics""#, r#""team": "southern""#);
    assert_eq!(
        RoutingRules::from_json(&broken),
        Err(RoutingError::UnknownTeam("southern".into()))
    );
}

// ---- SLA ---------------------------------------------------------------

#[test]
fn sla_acts_at_and_after_the_due_time_only() {
    let policy = policy();
    let timer = SlaTimer::start(PersonId(7), "anna".into(), NOW, &policy);
    assert_eq!(timer.due_at, NOW + 240 * MIN);
    let other = SlaTimer::start(PersonId(8), "ben".into(), NOW + 60 * MIN, &policy);
    let timers = [timer.clone(), other];
    assert_eq!(sla_check(&timers, timer.due_at - 1, &policy), vec![]);
    let escalate = SlaAction::Escalate {
        lead: PersonId(7),
        owner: "anna".into(),
        to: "team-lead-7".into(),
    };
    assert_eq!(
        sla_check(&timers, timer.due_at, &policy),
        vec![escalate.clone()]
    );
    assert_eq!(
        sla_check(&timers, timer.due_at + 59 * MIN, &policy),
        vec![escalate.clone()]
    );
    let both = sla_check(&timers, timer.due_at + 60 * MIN, &policy);
    assert_eq!(both.len(), 2);
    assert_eq!(both[0], escalate);
}

#[test]
fn sla_reassign_policy_and_timers_survive_storage() {
    let policy = Policy {
        on_sla_expiry: SlaExpiry::Reassign,
        ..policy()
    };
    let timer = SlaTimer::start(PersonId(7), "anna".into(), NOW, &policy);
    let stored = serde_json::to_string(&vec![timer]).unwrap();
    let restored: Vec<SlaTimer> = serde_json::from_str(&stored).unwrap();
    let actions = sla_check(&restored, NOW + 240 * MIN, &policy);
    assert_eq!(
        actions,
        vec![SlaAction::Reassign {
            lead: PersonId(7),
            from: "anna".into()
        }]
    );
    // The reassignment routes to someone else, and the lifecycle records it.
    let mut rules = routing();
    rules.default_team = "pulp".into();
    let f = LeadFacts {
        exclude: Some("pekka".into()),
        ..LeadFacts::default()
    };
    let mut rr = RoundRobin::default();
    for _ in 0..3 {
        assert_eq!(route(&f, &rules, &mut rr).unwrap().owner, "sara");
    }
    let mut lc = at(Stage::SalesReady);
    let t = lc
        .apply(
            Event::SlaExpired(actions[0].clone()),
            &policy,
            NOW + 240 * MIN,
        )
        .unwrap()
        .unwrap();
    assert_eq!((t.from, t.to), (Stage::SalesReady, Stage::SalesReady));
    assert_eq!(
        t.cause,
        Cause::SlaEscalation {
            action: actions[0].clone()
        }
    );
}

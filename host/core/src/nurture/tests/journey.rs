//! The planner and assignment, driven with a simulated clock.

use super::*;

/// Tuesday 2024-06-04 08:00 UTC, 10:00 in the lead's UTC+02:00.
fn t0() -> Timestamp {
    utc(2024, 6, 4, 8, 0)
}

fn sent_on(e: &mut Enrollment, d: &[Decision], at: Timestamp) -> Outgoing {
    let [Decision::Send(out)] = d else {
        panic!("expected one send, got {d:?}")
    };
    e.record_sent(out, Channel::Email, at);
    out.clone()
}

use crate::touchpoint::Channel;

#[test]
fn a_journey_without_a_click_waits_for_the_window_and_educates() {
    let m = example();
    let f = facts();
    let none = Engagement::default();
    let mut e = Enrollment::start(&m, f.person, 1, t0());

    let first = advance(&m, &mut e, &f, &none, t0());
    let again = advance(&m, &mut e, &f, &none, t0());
    assert_eq!(first, again, "advancing twice gives the same decision");
    let welcome = sent_on(&mut e, &first, t0());
    assert_eq!(welcome.key, "nurture:42:mill-managers:3:1:welcome");
    assert_eq!(welcome.content, "wp-energy");
    assert_eq!(welcome.stage, ContentStage::Connecting);
    assert_eq!(
        welcome.subject.as_deref(),
        Some("Cut drying energy by a fifth")
    );

    // The three-day pause starts when reached.
    let pause_end = t0() + 3 * MS_PER_DAY;
    assert_eq!(
        advance(&m, &mut e, &f, &none, t0()),
        vec![Decision::WaitUntil(pause_end)]
    );
    assert_eq!(
        advance(&m, &mut e, &f, &none, t0() + MS_PER_DAY),
        vec![Decision::WaitUntil(pause_end)]
    );
    // Friday 10:00 local is outside tue–thu 09–11: next Tuesday 09:00
    // +02:00, which is 07:00 UTC.
    let slot = utc(2024, 6, 11, 7, 0);
    assert_eq!(
        advance(&m, &mut e, &f, &none, pause_end),
        vec![Decision::WaitUntil(slot)]
    );
    assert_eq!(e.step_id.as_deref(), Some("slot"));
    assert_eq!(weekday(slot, 120), Weekday::Tue);
    assert_eq!(minute_of_day(slot, 120), 9 * 60);

    // Not clicked: educate, then closing, then completed.
    let d = advance(&m, &mut e, &f, &none, slot);
    let educate = sent_on(&mut e, &d, slot);
    assert_eq!(educate.step, "educate");
    assert_eq!(educate.key, "nurture:42:mill-managers:3:1:educate");
    let d = advance(&m, &mut e, &f, &none, slot + MS_PER_MINUTE);
    assert_eq!(sent_on(&mut e, &d, slot + MS_PER_MINUTE).step, "closing");
    let end = slot + 2 * MS_PER_MINUTE;
    assert_eq!(
        advance(&m, &mut e, &f, &none, end),
        vec![Decision::Finished(Outcome::Completed)]
    );
    assert_eq!(
        e.status,
        Status::Finished {
            outcome: Outcome::Completed,
            at: end
        }
    );
    assert_eq!(advance(&m, &mut e, &f, &none, end + MS_PER_DAY), vec![]);
    let steps: Vec<&str> = e.sent.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["welcome", "educate", "closing"]);
}

#[test]
fn a_click_jumps_to_closing_and_the_window_passes_at_once_inside_it() {
    let m = example();
    let f = facts();
    let mut e = Enrollment::start(&m, f.person, 4, t0());
    let d = advance(&m, &mut e, &f, &Engagement::default(), t0());
    let welcome = sent_on(&mut e, &d, t0());
    let mut clicked = Engagement::default();
    clicked.clicked.insert(welcome.key.clone());
    assert_eq!(welcome.key, "nurture:42:mill-managers:3:4:welcome");

    advance(&m, &mut e, &f, &clicked, t0());
    // Called late: Thursday 2024-06-13 09:30 local is inside the window.
    let late = utc(2024, 6, 13, 7, 30);
    let d = advance(&m, &mut e, &f, &clicked, late);
    assert_eq!(sent_on(&mut e, &d, late).step, "closing");
    assert_eq!(
        advance(&m, &mut e, &f, &clicked, late),
        vec![Decision::Finished(Outcome::Completed)]
    );
    assert!(e.sent.iter().all(|s| s.step != "educate"));
}

#[test]
fn the_goal_ends_the_model_midway() {
    let m = example();
    let mut f = facts();
    let none = Engagement::default();
    let mut e = Enrollment::start(&m, f.person, 1, t0());
    let d = advance(&m, &mut e, &f, &none, t0());
    sent_on(&mut e, &d, t0());
    advance(&m, &mut e, &f, &none, t0());
    f.stage = Stage::SalesReady;
    let at = t0() + MS_PER_HOUR;
    assert_eq!(
        advance(&m, &mut e, &f, &none, at),
        vec![Decision::Finished(Outcome::GoalReached)]
    );
    assert_eq!(e.ended_at(), Some(at));

    // Buying after entering is a goal too; buying before is not.
    let mut f = facts();
    f.last_purchase_at = Some(t0() - MS_PER_DAY);
    let mut e = Enrollment::start(&m, f.person, 2, t0());
    assert!(matches!(
        advance(&m, &mut e, &f, &none, t0()).as_slice(),
        [Decision::Send(_)]
    ));
    f.last_purchase_at = Some(t0() + MS_PER_DAY);
    assert_eq!(
        advance(&m, &mut e, &f, &none, t0() + 2 * MS_PER_DAY),
        vec![Decision::Finished(Outcome::GoalReached)]
    );
}

#[test]
fn unsubscribing_exits_the_model() {
    let m = example();
    let mut f = facts();
    let none = Engagement::default();
    let mut e = Enrollment::start(&m, f.person, 1, t0());
    let d = advance(&m, &mut e, &f, &none, t0());
    sent_on(&mut e, &d, t0());
    f.unsubscribed = true;
    let out = advance(&m, &mut e, &f, &none, t0() + MS_PER_DAY);
    assert_eq!(
        out,
        vec![Decision::Finished(Outcome::Exited(
            ExitReason::Unsubscribed
        ))]
    );
    assert_eq!(
        Outcome::Exited(ExitReason::Unsubscribed).name(),
        "unsubscribed"
    );
    assert_eq!(
        eligible(&m, &f, &[], t0()),
        Err(Ineligible::WouldExit(ExitReason::Unsubscribed))
    );
}

#[test]
fn reentry_waits_for_after_days() {
    let m = example();
    let f = facts();
    let mut e = Enrollment::start(&m, f.person, 1, t0());
    let ended = t0() + 20 * MS_PER_DAY;
    e.finish(Outcome::Completed, ended);
    let history = vec![e];

    let day89 = ended + 89 * MS_PER_DAY;
    assert_eq!(
        eligible(&m, &f, &history, day89),
        Err(Ineligible::ReentryTooSoon {
            from: ended + 90 * MS_PER_DAY
        })
    );
    assert!(choose(std::slice::from_ref(&m), &f, &history, day89).is_none());
    let day90 = ended + 90 * MS_PER_DAY;
    assert_eq!(eligible(&m, &f, &history, day90), Ok(()));
    assert_eq!(
        choose(std::slice::from_ref(&m), &f, &history, day90).map(CareModel::name),
        Some("mill-managers")
    );
    assert_eq!(next_seq(&history), 2);

    let once = CareModel::from_json(&model_json(&[send("a")])).unwrap();
    let mut e = Enrollment::start(&once, f.person, 1, t0());
    e.finish(Outcome::GoalReached, t0());
    assert_eq!(
        eligible(&once, &f, &[e], t0() + 1000 * MS_PER_DAY),
        Err(Ineligible::ReentryNotAllowed)
    );

    let active = Enrollment::start(&m, f.person, 1, t0());
    assert_eq!(
        eligible(&m, &f, &[active], t0()),
        Err(Ineligible::AlreadyEnrolled)
    );
}

fn named(name: &str, priority: i64, entry: &str) -> CareModel {
    CareModel::from_json(&format!(
        r#"{{"version": 1, "name": "{name}", "priority": {priority}, "entry": {entry},
            "steps": [{{"id": "a", "wait": {{"days": 1}}}}], "goal": {{"stage": ["customer"]}}}}"#
    ))
    .unwrap()
}

#[test]
fn the_highest_priority_wins_and_ties_go_by_name() {
    let f = facts();
    let models = vec![
        named("zeta", 5, "{}"),
        named("beta", 5, "{}"),
        named("alpha", 1, "{}"),
        named("vip", 9, r#"{"account_tier": ["A"]}"#),
    ];
    assert_eq!(
        choose(&models, &f, &[], t0()).map(CareModel::name),
        Some("beta")
    );
    let mut a = facts();
    a.account_tier = Some("a".into());
    assert_eq!(
        choose(&models, &a, &[], t0()).map(CareModel::name),
        Some("vip")
    );
    assert_eq!(
        assign(&models, &a, &[], t0()),
        Assignment::Enter {
            model: "vip".into()
        }
    );
}

#[test]
fn a_lead_switches_when_its_model_no_longer_fits() {
    let managers = named("managers", 5, r#"{"job_title": ["manager"]}"#);
    let executives = named("executives", 1, r#"{"job_title": ["chief *", "cfo"]}"#);
    let models = vec![managers.clone(), executives];
    let mut f = facts();
    let history = vec![Enrollment::start(&managers, f.person, 1, t0())];
    assert_eq!(assign(&models, &f, &history, t0()), Assignment::Keep);

    f.job_title = Some("CFO".into());
    assert_eq!(
        assign(&models, &f, &history, t0()),
        Assignment::Switch {
            from: "managers".into(),
            to: "executives".into()
        }
    );
    // Goal and exit take precedence over a switch.
    f.stage = Stage::Customer;
    assert_eq!(assign(&models, &f, &history, t0()), Assignment::Keep);
    // Nothing else fits: stay.
    let mut g = facts();
    g.job_title = Some("Operator".into());
    assert_eq!(assign(&models, &g, &history, t0()), Assignment::Keep);
    // The model was removed and nothing fits.
    assert_eq!(
        assign(&models[1..], &g, &history, t0()),
        Assignment::Leave {
            from: "managers".into()
        }
    );
}

#[test]
fn a_step_is_never_sent_twice_even_in_a_loop() {
    // a → wait a day → back to a unless clicked: a polling loop.
    let back = r#"{"id": "b", "branch": {"if": {"clicked": "a"}, "then": "c", "else": "w"}}"#;
    let w = r#"{"id": "w", "wait": {"days": 1}}"#;
    let again =
        r#"{"id": "again", "branch": {"if": {"score_above": 1000}, "then": "c", "else": "a"}}"#;
    let json = model_json(&[send("a"), w.into(), again.into(), back.into(), send("c")]);
    let m = CareModel::from_json(&json).unwrap();
    let f = facts();
    let mut eng = Engagement::default();
    let mut e = Enrollment::start(&m, f.person, 1, t0());
    let mut now = t0();
    let mut sends = Vec::new();
    for round in 0..20 {
        let d = advance(&m, &mut e, &f, &eng, now);
        match d.as_slice() {
            [Decision::Send(out)] => {
                sends.push(out.step.clone());
                e.record_sent(out, Channel::Portal, now);
            }
            [Decision::WaitUntil(t)] => now = *t,
            [Decision::Finished(_)] => break,
            other => panic!("unexpected {other:?}"),
        }
        if round == 10 {
            eng.clicked.insert(e.key("a"));
        }
    }
    // The loop `a → w → again → a` passes a (already sent) and waits again.
    assert_eq!(sends, ["a"]);
    assert!(e.is_active());
    assert_eq!(e.step_id.as_deref(), Some("w"));
    // Sending twice is refused by the record too.
    let out = Outgoing {
        key: e.key("a"),
        step: "a".into(),
        content: "c-a".into(),
        stage: ContentStage::Educating,
        subject: None,
        text: "t".into(),
        purpose: "marketing".into(),
    };
    e.record_sent(&out, Channel::Email, now);
    assert_eq!(e.sent.len(), 1);
    assert_eq!(e.sent[0].channel, Channel::Portal);
}

#[test]
fn a_rescheduled_send_comes_back_with_the_same_key() {
    let m = example();
    let f = facts();
    let none = Engagement::default();
    let mut e = Enrollment::start(&m, f.person, 1, t0());
    let d = advance(&m, &mut e, &f, &none, t0());
    let [Decision::Send(first)] = d.as_slice() else {
        panic!("send")
    };
    let first = first.clone();
    let later = t0() + 5 * MS_PER_HOUR;
    e.postpone(later);
    assert_eq!(
        advance(&m, &mut e, &f, &none, t0() + MS_PER_HOUR),
        vec![Decision::WaitUntil(later)]
    );
    assert_eq!(
        advance(&m, &mut e, &f, &none, later),
        vec![Decision::Send(first.clone())]
    );
    e.record_skipped(&first, Reason::NoConsent.name(), later);
    assert_eq!(
        advance(&m, &mut e, &f, &none, later),
        vec![Decision::WaitUntil(later + 3 * MS_PER_DAY)]
    );
    assert_eq!(e.skipped[0].reason, "no-consent");
    assert!(e.sent.is_empty());
}

#[test]
fn a_new_revision_resumes_at_the_same_step_or_exits() {
    let v1 = model_json(&[
        send("a"),
        r#"{"id": "w", "wait": {"days": 1}}"#.into(),
        send("b"),
    ]);
    let m1 = CareModel::from_json(&v1).unwrap();
    let f = facts();
    let none = Engagement::default();
    let mut e = Enrollment::start(&m1, f.person, 1, t0());
    let d = advance(&m1, &mut e, &f, &none, t0());
    sent_on(&mut e, &d, t0());
    advance(&m1, &mut e, &f, &none, t0());
    assert_eq!(e.step_id.as_deref(), Some("w"));

    let v2 = v1
        .replace(r#""name": "m""#, r#""name": "m", "revision": 2"#)
        .replacen(
            r#"{"id": "a""#,
            r#"{"id": "intro", "wait": {"hours": 1}}, {"id": "a""#,
            1,
        );
    let m2 = CareModel::from_json(&v2).unwrap();
    let d = advance(&m2, &mut e, &f, &none, t0() + MS_PER_DAY);
    let [Decision::Send(b)] = d.as_slice() else {
        panic!("{d:?}")
    };
    assert_eq!(b.key, "nurture:42:m:1:1:b", "keys keep the entry revision");
    assert_eq!(e.current_revision, 2);

    let v3 = model_json(&[send("x")]).replace(r#""name": "m""#, r#""name": "m", "revision": 3"#);
    let m3 = CareModel::from_json(&v3).unwrap();
    assert_eq!(
        advance(&m3, &mut e, &f, &none, t0() + MS_PER_DAY),
        vec![Decision::Finished(Outcome::Exited(
            ExitReason::ModelChanged
        ))]
    );
}

#[test]
fn enrollments_round_trip_through_json() {
    let m = example();
    let f = facts();
    let mut e = Enrollment::start(&m, f.person, 1, t0());
    let d = advance(&m, &mut e, &f, &Engagement::default(), t0());
    sent_on(&mut e, &d, t0());
    e.finish(
        Outcome::Exited(ExitReason::Switched { to: "x".into() }),
        t0(),
    );
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        json.contains(
            r#""status":{"status":"finished","outcome":{"exited":{"switched":{"to":"x"}}}"#
        ),
        "{json}"
    );
    let back: Enrollment = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
}

#[test]
fn engagement_is_read_from_touchpoints_by_message_key() {
    use crate::touchpoint::{Attribute, Properties, Touchpoint, TouchpointKind};
    let tp = |kind: TouchpointKind, key: Option<&str>, url: Option<&str>| Touchpoint {
        external_id: "x".into(),
        occurred_at: Some(t0()),
        channel: Channel::Email,
        kind,
        identities: Default::default(),
        traits: Default::default(),
        properties: Properties {
            url: url.map(str::to_string),
            other: key
                .map(|k| {
                    vec![Attribute {
                        name: "idempotency_key".into(),
                        value: k.into(),
                    }]
                })
                .unwrap_or_default(),
            ..Properties::default()
        },
        consent: vec![],
    };
    let all = [
        tp(TouchpointKind::EmailClicked, Some("k1"), None),
        tp(TouchpointKind::EmailOpened, Some("k2"), None),
        tp(
            TouchpointKind::Custom("email-replied".into()),
            Some("k3"),
            None,
        ),
        tp(TouchpointKind::EmailOpened, None, None),
        tp(TouchpointKind::PageView, None, Some("https://x.fi/Pricing")),
        tp(TouchpointKind::EventAttended, None, None),
    ];
    let refs: Vec<&Touchpoint> = all.iter().collect();
    let e = Engagement::from_touchpoints(&refs);
    assert_eq!(e.clicked.iter().collect::<Vec<_>>(), ["k1"]);
    assert_eq!(e.opened.iter().collect::<Vec<_>>(), ["k2"]);
    assert_eq!(e.replied.iter().collect::<Vec<_>>(), ["k3"]);
    assert_eq!(e.visits.len(), 1);
    assert_eq!(e.attended, vec![Some(t0())]);

    // Branch conditions see them: visited is case-insensitive.
    let check =
        r#"{"id": "check", "branch": {"if": {"visited": "/pricing"}, "then": "c", "else": "z"}}"#;
    let wait = r#"{"id": "z", "wait": {"days": 1}}"#;
    let m = CareModel::from_json(&model_json(&[check.into(), wait.into(), send("c")])).unwrap();
    let f = facts();
    let mut en = Enrollment::start(&m, f.person, 1, t0());
    let d = advance(&m, &mut en, &f, &e, t0());
    assert!(matches!(d.as_slice(), [Decision::Send(o)] if o.step == "c"));
    // A visit before entering does not count.
    let mut en = Enrollment::start(&m, f.person, 2, t0() + 1);
    let d = advance(&m, &mut en, &f, &e, t0() + 1);
    assert_eq!(d, vec![Decision::WaitUntil(t0() + 1 + MS_PER_DAY)]);
}

//! Tests of nurturing: the formats and their validation here; the planner
//! and assignment in `journey`; channels and the send-time policy in
//! `policy`.

mod journey;
mod policy;

use super::local::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, days_from_civil};
use super::*;
use crate::identity::PersonId;
use crate::lifecycle::Stage;
use crate::scoring::Grade;
use crate::touchpoint::{ContentStage, Timestamp};

/// An instant given in UTC.
fn utc(y: i64, m: i64, d: i64, h: i64, min: i64) -> Timestamp {
    days_from_civil(y, m, d) * MS_PER_DAY + h * MS_PER_HOUR + min * MS_PER_MINUTE
}

/// The first ```json block after `heading` in the module documentation.
fn doc_block(heading: &str) -> String {
    let src = include_str!("../mod.rs");
    let at = src.find(heading).unwrap();
    let rest = &src[at..];
    let open = rest.find("//! ```json").unwrap() + "//! ```json".len();
    let body = &rest[open..];
    let close = body.find("//! ```").unwrap();
    body[..close]
        .lines()
        .map(|l| l.trim_start().trim_start_matches("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn example() -> CareModel {
    CareModel::from_json(&doc_block("# The care model format")).unwrap()
}

/// A lead that matches the example's entry, in UTC+02:00.
fn facts() -> LeadFacts {
    LeadFacts {
        grade: Some(Grade::Warm),
        score: 30.0,
        job_title: Some("Mill Manager".into()),
        industry: Some("pulp & paper".into()),
        account_tier: Some("Key".into()),
        recycled_reason: Some("No budget this year".into()),
        installed_products: vec!["Dryer".into(), "Press".into()],
        utc_offset_minutes: 120,
        ..LeadFacts::new(PersonId(42), Stage::Prospect)
    }
}

fn send(id: &str) -> String {
    format!(
        r#"{{"id": "{id}", "send": {{"content": "c-{id}", "stage": "educating", "text": "t"}}}}"#
    )
}

fn model_json(steps: &[String]) -> String {
    format!(
        r#"{{"version": 1, "name": "m", "steps": [{}]}}"#,
        steps.join(",")
    )
}

fn refusal(json: &str) -> String {
    CareModel::from_json(json).unwrap_err().to_string()
}

#[test]
fn the_documented_example_parses() {
    let m = example();
    assert_eq!(m.name(), "mill-managers");
    assert_eq!(m.revision(), 3);
    assert_eq!(m.priority(), 10);
    assert_eq!(m.steps().len(), 6);
    let entry = m.entry();
    assert_eq!(
        entry.stage,
        vec![Stage::Prospect, Stage::Lead, Stage::Recycled]
    );
    assert_eq!(entry.grade, vec![Grade::Warm, Grade::Cold]);
    assert_eq!(
        entry.score,
        Some(ScoreRange {
            min: Some(10.0),
            max: Some(69.0)
        })
    );
    assert_eq!(m.steps()[1].action, Action::Wait(3 * MS_PER_DAY));
    let Action::WaitUntil(w) = &m.steps()[2].action else {
        panic!("slot is a wait_until")
    };
    assert_eq!(w.weekdays, vec![Weekday::Tue, Weekday::Wed, Weekday::Thu]);
    assert_eq!(
        (w.from.to_string(), w.to.to_string()),
        ("09:00".into(), "11:00".into())
    );
    let Action::Branch(b) = &m.steps()[3].action else {
        panic!("check is a branch")
    };
    assert_eq!(b.condition, Condition::Clicked("welcome".into()));
    assert_eq!((b.then, b.otherwise), (5, 4));
    let Action::Send(s) = &m.steps()[4].action else {
        panic!("educate sends")
    };
    assert_eq!(s.stage, ContentStage::Educating);
    assert_eq!(s.purpose, "marketing");
    assert_eq!(
        m.goal().stage,
        vec![Stage::SalesReady, Stage::Opportunity, Stage::Customer]
    );
    assert!(m.goal().bought);
    assert!(m.exit().do_not_contact, "exit flags default to true");
    assert_eq!(
        m.reentry(),
        Reentry {
            allowed: true,
            after_days: 90.0
        }
    );
    assert!(m.entry().matches(&facts()));
}

#[test]
fn an_empty_entry_matches_every_lead() {
    let m = CareModel::from_json(&model_json(&[send("a")])).unwrap();
    assert_eq!(m.entry(), &Entry::default());
    assert!(
        m.entry()
            .matches(&LeadFacts::new(PersonId(1), Stage::Visitor))
    );
    assert_eq!(m.reentry(), Reentry::default());
}

#[test]
fn entry_fields_must_all_match() {
    let m = example();
    let mut f = facts();
    f.job_title = Some("Head of Production".into());
    assert!(m.entry().matches(&f), "head of * is a whole-title glob");
    f.job_title = Some("Production head".into());
    assert_eq!(m.entry().mismatch(&f), Some("job_title"));
    let mut f = facts();
    f.score = 70.0;
    assert_eq!(m.entry().mismatch(&f), Some("score"));
    let mut f = facts();
    f.installed_products = vec!["press".into()];
    assert_eq!(m.entry().mismatch(&f), Some("customer_products"));
    let mut f = facts();
    f.grade = None;
    assert_eq!(m.entry().mismatch(&f), Some("grade"));
    let mut f = facts();
    f.recycled_reason = None;
    assert_eq!(m.entry().mismatch(&f), Some("recycled_reason"));
}

#[test]
fn step_errors_name_the_step_and_field() {
    let wait0 = r#"{"id": "wait-a-week", "wait": {"days": 0}}"#.to_string();
    assert_eq!(
        refusal(&model_json(&[send("a"), send("b"), wait0])),
        "step 3 (\"wait-a-week\"): field `wait.days`: must be a number above 0"
    );
    let branch = r#"{"id": "check", "branch": {"if": {"clicked": "a"}, "then": "nope"}}"#;
    assert_eq!(
        refusal(&model_json(&[send("a"), branch.into()])),
        "step 2 (\"check\"): field `branch.then`: branch target \"nope\" is not a step id"
    );
    let own =
        r#"{"id": "check", "branch": {"if": {"score_above": 5}, "then": "a", "else": "check"}}"#;
    assert_eq!(
        refusal(&model_json(&[send("a"), own.into()])),
        "step 2 (\"check\"): field `branch.else`: a branch must not target its own step"
    );
    assert_eq!(
        refusal(&model_json(&[send("a"), send("a")])),
        "step 2 (\"a\"): field `id`: duplicate of step 1"
    );
    let on_wait = r#"{"id": "check", "branch": {"if": {"opened": "w"}, "then": "a"}}"#;
    let w = r#"{"id": "w", "wait": {"hours": 1}}"#;
    assert_eq!(
        refusal(&model_json(&[send("a"), w.into(), on_wait.into()])),
        "step 3 (\"check\"): field `branch.if.opened`: step \"w\" sends nothing"
    );
    let bad_if = r#"{"id": "check", "branch": {"if": {"liked": "a"}, "then": "a"}}"#;
    assert!(
        refusal(&model_json(&[send("a"), bad_if.into()]))
            .starts_with("step 2 (\"check\"): field `branch.if.liked`: unknown condition")
    );
    let two =
        r#"{"id": "check", "branch": {"if": {"grade": "hot", "score_above": 1}, "then": "a"}}"#;
    assert_eq!(
        refusal(&model_json(&[send("a"), two.into()])),
        "step 2 (\"check\"): field `branch.if`: needs exactly one condition"
    );
    let grade = r#"{"id": "check", "branch": {"if": {"grade": "tepid"}, "then": "a"}}"#;
    assert_eq!(
        refusal(&model_json(&[send("a"), grade.into()])),
        "step 2 (\"check\"): field `branch.if.grade`: unknown grade \"tepid\" (use hot, warm, cold)"
    );
    let window = r#"{"id": "slot", "wait_until": {"weekdays": ["tue", "fry"], "from": "09:00", "to": "11:00"}}"#;
    assert_eq!(
        refusal(&model_json(&[window.into()])),
        "step 1 (\"slot\"): field `wait_until.weekdays`: unknown weekday \"fry\""
    );
    let window = r#"{"id": "slot", "wait_until": {"from": "11:00", "to": "09:00"}}"#;
    assert_eq!(
        refusal(&model_json(&[window.into()])),
        "step 1 (\"slot\"): field `wait_until.to`: must be after `from` (a window does not cross midnight)"
    );
    let stage = r#"{"id": "a", "send": {"content": "c", "stage": "closed", "text": "t"}}"#;
    assert_eq!(
        refusal(&model_json(&[stage.into()])),
        "step 1 (\"a\"): field `send.stage`: unknown content stage \"closed\" (use connecting, educating, closing)"
    );
    let no_text = r#"{"id": "a", "send": {"content": "c", "stage": "closing"}}"#;
    assert_eq!(
        refusal(&model_json(&[no_text.into()])),
        "step 1 (\"a\"): field `send.text`: missing"
    );
    let both = r#"{"id": "a", "wait": {"days": 1}, "branch": {}}"#;
    assert_eq!(
        refusal(&model_json(&[both.into()])),
        "step 1 (\"a\"): needs exactly one of `send`, `wait`, `wait_until`, `branch`"
    );
    assert_eq!(
        refusal(&model_json(&["3".into()])),
        "step 1: a step must be an object"
    );
    let bad_id = r#"{"id": "a:b", "wait": {"days": 1}}"#;
    assert_eq!(
        refusal(&model_json(&[bad_id.into()])),
        "step 1: field `id`: \"a:b\" must be 1 to 64 ASCII letters, digits, '-', '_' or '.'"
    );
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    let cases = [
        (
            r#"{"version": 1, "name": "m", "steps": [], "colour": 1}"#.to_string(),
            "care model: field `colour`: unknown field",
        ),
        (
            model_json(&[r#"{"id": "a", "wait": {"days": 1}, "note": "x"}"#.into()]),
            "step 1 (\"a\"): field `note`: unknown field",
        ),
        (
            model_json(&[r#"{"id": "a", "wait": {"days": 1, "minutes": 3}}"#.into()]),
            "step 1 (\"a\"): field `wait.minutes`: unknown field",
        ),
        (
            model_json(&[
                r#"{"id": "a", "send": {"content": "c", "stage": "closing", "text": "t", "html": "<p>"}}"#
                    .into(),
            ]),
            "step 1 (\"a\"): field `send.html`: unknown field",
        ),
        (
            r#"{"version": 1, "name": "m", "entry": {"title": ["x"]}, "steps": [{"id": "a", "wait": {"days": 1}}]}"#
                .to_string(),
            "entry: field `title`: unknown field",
        ),
        (
            r#"{"version": 1, "name": "m", "goal": {"won": true}, "steps": [{"id": "a", "wait": {"days": 1}}]}"#
                .to_string(),
            "goal: field `won`: unknown field",
        ),
        (
            r#"{"version": 1, "name": "m", "reentry": {"allowed": true, "after": 3}, "steps": [{"id": "a", "wait": {"days": 1}}]}"#
                .to_string(),
            "reentry: field `after`: unknown field",
        ),
    ];
    for (json, expected) in cases {
        assert_eq!(refusal(&json), expected, "{json}");
    }
}

#[test]
fn section_errors_name_the_field() {
    let with_entry = |entry: &str| {
        format!(
            r#"{{"version": 1, "name": "m", "entry": {entry}, "steps": [{{"id": "a", "wait": {{"days": 1}}}}]}}"#
        )
    };
    assert_eq!(
        refusal(&with_entry(r#"{"stage": ["leed"]}"#)),
        "entry: field `stage`: unknown stage \"leed\""
    );
    assert_eq!(
        refusal(&with_entry(r#"{"score": {"min": 50, "max": 10}}"#)),
        "entry: field `score`: min is above max"
    );
    assert_eq!(
        refusal(&with_entry(r#"{"industry": [""]}"#)),
        "entry: field `industry`: values must not be empty"
    );
    assert_eq!(
        refusal(r#"{"version": 1, "name": "m", "steps": []}"#),
        "care model: field `steps`: needs at least one step"
    );
    assert_eq!(
        refusal(r#"{"version": 2, "name": "m", "steps": []}"#),
        "care model version 2 is not supported (expected 1)"
    );
    assert_eq!(
        refusal(r#"{"version": 1, "steps": []}"#),
        "care model: field `name`: missing"
    );
    assert!(refusal("[1]").starts_with("care model is not valid JSON"));
}

#[test]
fn a_loop_without_a_wait_is_refused_and_one_through_a_wait_is_not() {
    let back = r#"{"id": "b", "branch": {"if": {"clicked": "a"}, "then": "c", "else": "a"}}"#;
    assert_eq!(
        refusal(&model_json(&[send("a"), back.into(), send("c")])),
        "steps \"a\" → \"b\" → \"a\" loop without a wait: put a `wait` or `wait_until` step in the loop"
    );
    // Branches alone can loop too.
    let x = r#"{"id": "x", "branch": {"if": {"grade": "hot"}, "then": "y"}}"#;
    let y = r#"{"id": "y", "branch": {"if": {"grade": "cold"}, "then": "x"}}"#;
    assert!(refusal(&model_json(&[x.into(), y.into()])).contains("loop without a wait"));

    let wait = r#"{"id": "w", "wait": {"days": 7}}"#;
    let m = CareModel::from_json(&model_json(&[
        send("a"),
        wait.into(),
        back.into(),
        send("c"),
    ]))
    .unwrap();
    assert_eq!(m.steps().len(), 4);
}

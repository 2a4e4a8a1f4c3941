//! Hand-offs and nurturing in the story, by hand.

use super::*;

#[test]
fn sla_by_hand() {
    let r = sla(&story(), &autumn());
    // Hand-offs assigned in range: bo #1 (d6 10:00, due 11:00, rejected
    // 12:00), ann #1 (d9 10:00, due 11:00, accepted 10:30), bo #2 (d15
    // 10:00, due 11:00, accepted 10:20), ivy #1 (d30 10:05, due 11:05,
    // reassigned 12:00) and ivy #2 (d30 12:00, due 13:00, still open).
    assert_eq!(r.now, at(50, 10, 0));
    assert_eq!(
        (
            r.handoffs,
            r.accepted,
            r.rejected,
            r.open,
            r.reassigned,
            r.closed
        ),
        (5, 2, 1, 1, 1, 0)
    );
    // Expired: bo #1 (answered at 12:00, after 11:00), ivy #1
    // (reassigned), ivy #2 (open, due d30 13:00 < now): 3.
    assert_eq!(r.expired, 3);
    // Within the SLA: ann (10:30 ≤ 11:00) and bo #2 (10:20 ≤ 11:00): 2 of 5.
    assert_eq!(r.accepted_within_sla, 2);
    assert_eq!(r.within_sla_share, Some(0.4));
    // Time to accept: 20 and 30 minutes. Median rank ⌈0.5·2⌉ = 1: 20 min;
    // p90 rank ⌈1.8⌉ = 2: 30 min.
    assert_eq!(r.accept_median_ms, Some(20 * MINUTE));
    assert_eq!(r.accept_p90_ms, Some(30 * MINUTE));
    assert_eq!(
        r.rejection_reasons,
        vec![ReasonCount {
            reason: "no budget".into(),
            count: 1
        }]
    );
    assert!(r.lost_reasons.is_empty());
    // Recycled in range: bo (d6); he became an opportunity on d15: 1 of 1.
    assert_eq!((r.recycled, r.recycled_converted), (1, 1));
    assert_eq!(r.recycled_conversion, Some(1.0));
    // Only October's first week: bo #1 alone, rejected late; bo's recycle.
    let q = ReportQuery {
        from: Some(T0),
        to: Some(at(7, 0, 0)),
        ..ReportQuery::default()
    };
    let r = sla(&story(), &q);
    assert_eq!(
        (r.handoffs, r.rejected, r.expired, r.within_sla_share),
        (1, 1, 1, Some(0.0))
    );
    assert_eq!((r.recycled, r.recycled_converted), (1, 1));
}

#[test]
fn a_lost_deal_is_a_loss_reason_and_not_a_rejection() {
    let mut e = story();
    // Bo is an opportunity: the CRM reports his deal
    // lost on d51. He is recycled a second time, in range, and does not
    // come back.
    let bo = id(&e, BO);
    e.command(
        &Command::Lost {
            person: bo,
            reason: "price".into(),
        },
        at(51, 9, 0),
    )
    .expect("lost");
    let r = sla(&e, &autumn());
    assert_eq!(
        r.lost_reasons,
        vec![ReasonCount {
            reason: "price".into(),
            count: 1
        }]
    );
    assert_eq!(
        r.rejection_reasons.len(),
        1,
        "still only bo's first rejection"
    );
    // bo counts once: recycled in range (first on d6), converted after it
    // (d15).
    assert_eq!((r.recycled, r.recycled_converted), (1, 1));
}

#[test]
fn nurture_by_hand() {
    let r = nurture(&story(), &autumn());
    // `welcome` enrollments: ann (d0), cy (d1), dan (d10), fay (d20).
    // - ann: hello sent d0 12:00, then waits until d10 12:00; by then she
    //   is an opportunity: goal reached at the d10 tick.
    // - cy: withdrew marketing consent: hello skipped d1 12:00 and offer
    //   skipped d11 12:00 (no-consent both); completed.
    // - dan: hello sent d10 12:00, opened and clicked d11; offer sent d20
    //   12:00; completed.
    // - fay: hello sent d20 12:00; disqualified d21: exited at the d21
    //   tick.
    // hello: sent 3 (ann, dan, fay), opened 1 and clicked 1 (dan),
    // skipped 1 (cy). offer: sent 1 (dan), skipped 1 (cy).
    let no_consent = || {
        vec![ReasonCount {
            reason: "no-consent".into(),
            count: 1,
        }]
    };
    assert_eq!(
        r.models,
        vec![CareModelRow {
            model: "welcome".into(),
            enrolled: 4,
            active: 0,
            goal_reached: 1,
            completed: 2,
            exited: 1,
            exits: vec![ReasonCount {
                reason: "disqualified".into(),
                count: 1
            }],
            steps: vec![
                StepRow {
                    step: "hello".into(),
                    sent: 3,
                    opened: 1,
                    clicked: 1,
                    skipped: 1,
                    skipped_by_reason: no_consent(),
                },
                StepRow {
                    step: "offer".into(),
                    sent: 1,
                    opened: 0,
                    clicked: 0,
                    skipped: 1,
                    skipped_by_reason: no_consent(),
                },
            ],
        }]
    );
    // Enrollments from d5 on: dan and fay only.
    let q = ReportQuery {
        from: Some(at(5, 0, 0)),
        ..autumn()
    };
    let r = nurture(&story(), &q);
    assert_eq!(r.models[0].enrolled, 2);
    assert_eq!(r.models[0].steps[0].sent, 2);
    assert_eq!(r.models[0].steps[0].skipped, 0);
}

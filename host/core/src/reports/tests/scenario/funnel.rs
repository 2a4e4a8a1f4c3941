//! The funnel of the story, by hand.

use super::*;

fn row(
    stage: Stage,
    current: u64,
    reached: u64,
    stays: u64,
    median: Option<i64>,
    p90: Option<i64>,
    stuck: u64,
) -> StageRow {
    StageRow {
        stage,
        current,
        reached,
        stays,
        median_ms: median,
        p90_ms: p90,
        stuck,
    }
}

#[test]
fn funnel_by_hand() {
    let r = funnel(&story(), &autumn());
    // hal was created on Sep 20: out. Eight leads: ann, cy, bo, dan, eve,
    // fay, ivy, gus.
    assert_eq!(r.leads, 8);
    assert_eq!(r.now, at(50, 10, 0), "the engine's latest time");
    assert_eq!(r.stuck_days, 30);
    // Current: gus suspect, dan prospect, cy lead, ivy sales-ready, bo
    // opportunity, ann and eve customers, fay disqualified: 1+1+1+1+1+2+1 = 8.
    //
    // Reached (furthest main-path stage: ann and eve customer, bo
    // opportunity, ivy sales-ready, cy lead, dan and fay prospect, gus
    // suspect): visitor 8, suspect 8, prospect 8-1 (gus) = 7, lead 5 (ann,
    // eve, bo, ivy, cy), sales-ready 4, opportunity 3, customer 2,
    // advocate 0. Eve skipped from prospect to customer: she counts as
    // having reached everything up to customer. Ever recycled: bo; ever
    // disqualified: fay.
    //
    // Completed stays (to the next stage change; an SLA escalation is no
    // change):
    // - visitor: all 8 identified at their first touch: 8 stays of 0.
    // - suspect: everyone but gus (still a suspect) moved on at once: 7 × 0.
    // - prospect: ann d0 10:00 → d5 10:00 = 5 d; cy 0; bo d3 → d4 = 1 d;
    //   eve d12 → d13 = 1 d; fay d20 11:00 → d21 10:00 = 23 h; ivy
    //   10:00 → 10:05 = 5 min. Sorted: 0, 5 min, 23 h, 1 d, 1 d, 5 d.
    //   Median = rank ⌈0.5·6⌉ = 3rd = 23 h; p90 = rank ⌈0.9·6⌉ = 6th = 5 d.
    // - lead: ann d5 → d9 = 4 d; bo d4 → d6 = 2 d and d14 → d15 = 1 d.
    //   Sorted 1, 2, 4 d: median rank 2 = 2 d, p90 rank ⌈2.7⌉ = 3 = 4 d.
    // - sales-ready: ann 30 min, bo 2 h (to the rejection), bo 20 min.
    //   Sorted 20 min, 30 min, 2 h: median 30 min, p90 2 h.
    // - opportunity: ann d9 10:30 → d20 10:00 = 11 d − 30 min.
    // - recycled: bo d6 12:00 → d14 10:00 = 8 d − 2 h.
    //
    // Stuck at d50 10:00, over 30 days in the current stage: dan (prospect
    // since d10, 40 d), cy (lead since d1, 49 d), bo (opportunity since
    // d15 10:20, 35 d − 20 min); not ivy (sales-ready since d30 10:05, 20 d
    // − 5 min) nor gus (suspect since d35, 15 d); customers and the
    // disqualified never.
    assert_eq!(
        r.stages,
        vec![
            row(Stage::Visitor, 0, 8, 8, Some(0), Some(0), 0),
            row(Stage::Suspect, 1, 8, 7, Some(0), Some(0), 0),
            row(Stage::Prospect, 1, 7, 6, Some(23 * HOUR), Some(5 * DAY), 1),
            row(Stage::Lead, 1, 5, 3, Some(2 * DAY), Some(4 * DAY), 1),
            row(
                Stage::SalesReady,
                1,
                4,
                3,
                Some(30 * MINUTE),
                Some(2 * HOUR),
                0
            ),
            row(
                Stage::Opportunity,
                1,
                3,
                1,
                Some(11 * DAY - 30 * MINUTE),
                Some(11 * DAY - 30 * MINUTE),
                1
            ),
            row(Stage::Customer, 2, 2, 0, None, None, 0),
            row(Stage::Advocate, 0, 0, 0, None, None, 0),
            row(
                Stage::Recycled,
                0,
                1,
                1,
                Some(8 * DAY - 2 * HOUR),
                Some(8 * DAY - 2 * HOUR),
                0
            ),
            row(Stage::Disqualified, 1, 1, 0, None, None, 0),
        ]
    );
    assert_eq!(r.stages.iter().map(|s| s.current).sum::<u64>(), r.leads);
    // reached(n+1) / reached(n): 8/8, 7/8, 5/7, 4/5, 3/4, 2/3, 0/2.
    let rates: Vec<Option<f64>> = r.conversions.iter().map(|c| c.rate).collect();
    assert_eq!(
        rates,
        vec![
            Some(1.0),
            Some(7.0 / 8.0),
            Some(5.0 / 7.0),
            Some(4.0 / 5.0),
            Some(3.0 / 4.0),
            Some(2.0 / 3.0),
            Some(0.0)
        ]
    );
    assert_eq!(
        (r.conversions[0].from, r.conversions[6].to),
        (Stage::Visitor, Stage::Advocate)
    );
    // October (d0..d30): everyone but gus: 7 leads, reached as above
    // without gus. November: gus, a suspect.
    assert_eq!(
        r.cohorts,
        vec![
            Cohort {
                month: "2025-10".into(),
                leads: 7,
                reached: vec![7, 7, 7, 5, 4, 3, 2, 0],
            },
            Cohort {
                month: "2025-11".into(),
                leads: 1,
                reached: vec![1, 1, 0, 0, 0, 0, 0, 0],
            },
        ]
    );
}

#[test]
fn funnel_filters_by_segment_and_range() {
    let e = story();
    // Paper: ann (customer), cy (lead), dan (prospect), fay (disqualified).
    let q = ReportQuery {
        segment: Some("industry:PAPER".parse().expect("segment")),
        ..autumn()
    };
    let r = funnel(&e, &q);
    assert_eq!(r.leads, 4);
    let current: Vec<(Stage, u64)> = r
        .stages
        .iter()
        .filter(|s| s.current > 0)
        .map(|s| (s.stage, s.current))
        .collect();
    assert_eq!(
        current,
        vec![
            (Stage::Prospect, 1),
            (Stage::Lead, 1),
            (Stage::Customer, 1),
            (Stage::Disqualified, 1)
        ]
    );
    // Without a range hal counts too: 9, and he is a prospect since Sep 20
    // (60 days at d50): stuck.
    let r = funnel(&e, &ReportQuery::default());
    assert_eq!(r.leads, 9);
    assert_eq!(r.stages[2].stuck, 2, "dan and hal");
    assert_eq!(r.cohorts[0].month, "2025-09");
    // A stricter threshold: 40 days. Only cy (49 d) stays stuck; dan's 40 d
    // are not more than 40.
    let q = ReportQuery {
        stuck_days: Some(40),
        ..autumn()
    };
    let stuck: u64 = funnel(&e, &q).stages.iter().map(|s| s.stuck).sum();
    assert_eq!(stuck, 1);
}

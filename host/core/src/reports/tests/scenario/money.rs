//! Channels, cost and attribution of the story, by hand.

use super::*;

fn perf(
    key: &str,
    leads: u64,
    mqls: u64,
    sales_ready: u64,
    opportunities: u64,
    customers: u64,
    revenue: f64,
) -> Performance {
    Performance {
        key: key.into(),
        leads,
        mqls,
        sales_ready,
        opportunities,
        customers,
        revenue,
    }
}

#[test]
fn channels_by_hand() {
    let r = channels(&story(), &autumn());
    // Orders: ann's won deal 5000 EUR, eve's 1200 EUR and 300 USD: EUR is
    // the most common currency. Revenue: ann 5000, eve 1200; the 300 USD
    // apart.
    assert_eq!(r.currency, "EUR");
    assert_eq!(
        r.other_currency_revenue,
        [("USD".to_string(), 300.0)].into()
    );
    // Everyone (reached counts from the funnel): 8 leads, MQLs 5,
    // sales-ready 4, opportunities 3, customers 2, 5000 + 1200 = 6200.
    assert_eq!(r.totals, perf("total", 8, 5, 4, 3, 2, 6200.0));
    // web: ann, dan, eve, ivy. MQL (reached lead): ann, eve, ivy;
    // sales-ready: the same three; opportunity: ann, eve; customers: ann,
    // eve; revenue 6200. email: bo, fay; bo went to opportunity. social:
    // cy (a lead), gus (a suspect). Ties by name: email before social.
    assert_eq!(
        r.by_channel,
        vec![
            perf("web", 4, 3, 3, 2, 2, 6200.0),
            perf("email", 2, 1, 1, 1, 0, 0.0),
            perf("social", 2, 1, 0, 0, 0, 0.0),
        ]
    );
    // google / paid: ann, eve, ivy; newsletter / email: bo, fay; one each
    // for facebook / social (gus), google / organic (dan), linkedin / paid
    // (cy).
    assert_eq!(
        r.by_source_medium,
        vec![
            perf("google / paid", 3, 3, 3, 2, 2, 6200.0),
            perf("newsletter / email", 2, 1, 1, 1, 0, 0.0),
            perf("facebook / social", 1, 0, 0, 0, 0, 0.0),
            perf("google / organic", 1, 0, 0, 0, 0, 0.0),
            perf("linkedin / paid", 1, 1, 0, 0, 0, 0.0),
        ]
    );
    // spring: ann, cy, eve, ivy (all four MQLs; cy stops there); nl-oct:
    // bo, fay; no campaign: dan, gus. Bo's spring quote was not his first
    // touch: it does not count here.
    assert_eq!(
        r.by_campaign,
        vec![
            perf("spring", 4, 4, 3, 2, 2, 6200.0),
            perf("(none)", 2, 0, 0, 0, 0, 0.0),
            perf("nl-oct", 2, 1, 1, 1, 0, 0.0),
        ]
    );
    assert_eq!(
        r.tables()[0].to_csv(),
        "channel,leads,MQLs,sales-ready,opportunities,customers,revenue EUR\r\n\
         web,4,3,3,2,2,6200.00\r\n\
         email,2,1,1,1,0,0.00\r\n\
         social,2,1,0,0,0,0.00\r\n\
         total,8,5,4,3,2,6200.00\r\n"
    );
}

#[test]
fn channels_filters_match_the_first_touch_and_enrollments() {
    let e = story();
    let q = ReportQuery {
        channel: Some(Channel::Web),
        ..autumn()
    };
    assert_eq!(
        channels(&e, &q).totals,
        perf("total", 4, 3, 3, 2, 2, 6200.0)
    );
    // google: ann, dan, eve, ivy again; paid: ann, cy, eve, ivy.
    let q = ReportQuery {
        source: Some("google".into()),
        ..autumn()
    };
    assert_eq!(channels(&e, &q).totals.leads, 4);
    let q = ReportQuery {
        medium: Some(Acquisition::Paid),
        ..autumn()
    };
    assert_eq!(
        channels(&e, &q).totals,
        perf("total", 4, 4, 3, 2, 2, 6200.0)
    );
    // Ever in `welcome`: ann, cy, dan, fay. MQLs ann and cy; ann went on
    // to customer with 5000.
    let q = ReportQuery {
        care_model: Some("welcome".into()),
        ..autumn()
    };
    assert_eq!(
        channels(&e, &q).totals,
        perf("total", 4, 2, 1, 1, 1, 5000.0)
    );
    // Reporting in USD: only eve's 300 counts, the EUR goes apart.
    let q = ReportQuery {
        currency: Some("usd".into()),
        ..autumn()
    };
    let r = channels(&e, &q);
    assert_eq!((r.currency.as_str(), r.totals.revenue), ("USD", 300.0));
    assert_eq!(
        r.other_currency_revenue,
        [("EUR".to_string(), 6200.0)].into()
    );
}
#[test]
fn cost_by_hand() {
    let r = cost(&story(), &autumn(), &spend());
    // In range, EUR: 3100 + 600 · 15/30 = 300 + 200 + 500 = 4100; the 999
    // of September not at all; 100 USD apart.
    assert_eq!(r.currency, "EUR");
    assert_eq!(r.totals.spend, 4100.0);
    assert_eq!(r.unassigned_spend, 500.0);
    assert_eq!(r.other_currency_spend, [("USD".to_string(), 100.0)].into());
    assert_eq!(
        r.other_currency_revenue,
        [("USD".to_string(), 300.0)].into()
    );
    // Totals: 8 leads, 5 MQLs, 4 sales-ready, 3 opportunities, 2 customers,
    // 6200 revenue. 4100/8 = 512.5, 4100/5 = 820, 4100/4 = 1025,
    // 4100/3, 4100/2 = 2050; ROI (6200 − 4100)/4100.
    let totals = CostRow {
        key: "total".into(),
        spend: 4100.0,
        leads: 8,
        mqls: 5,
        sales_ready: 4,
        opportunities: 3,
        customers: 2,
        revenue: 6200.0,
        cost_per_lead: Some(512.5),
        cost_per_mql: Some(820.0),
        cost_per_sales_ready: Some(1025.0),
        cost_per_opportunity: Some(4100.0 / 3.0),
        cost_per_customer: Some(2050.0),
        roi: Some(2100.0 / 4100.0),
    };
    assert_eq!(r.totals, totals);
    // web: 3100 for 4 leads (775), 3 MQLs and 3 sales-ready (3100/3), 2
    // opportunities and 2 customers (1550); ROI (6200 − 3100)/3100 = 1.
    // social: 300 for cy and gus (150), one MQL (300), nothing further;
    // ROI −1. email: 200 for bo and fay (100), bo is MQL, sales-ready and
    // opportunity (200 each), no customer; ROI −1. Most spend first.
    let web = CostRow {
        key: "web".into(),
        spend: 3100.0,
        leads: 4,
        mqls: 3,
        sales_ready: 3,
        opportunities: 2,
        customers: 2,
        revenue: 6200.0,
        cost_per_lead: Some(775.0),
        cost_per_mql: Some(3100.0 / 3.0),
        cost_per_sales_ready: Some(3100.0 / 3.0),
        cost_per_opportunity: Some(1550.0),
        cost_per_customer: Some(1550.0),
        roi: Some(1.0),
    };
    let social = CostRow {
        key: "social".into(),
        spend: 300.0,
        leads: 2,
        mqls: 1,
        sales_ready: 0,
        opportunities: 0,
        customers: 0,
        revenue: 0.0,
        cost_per_lead: Some(150.0),
        cost_per_mql: Some(300.0),
        cost_per_sales_ready: None,
        cost_per_opportunity: None,
        cost_per_customer: None,
        roi: Some(-1.0),
    };
    let email = CostRow {
        key: "email".into(),
        spend: 200.0,
        leads: 2,
        mqls: 1,
        sales_ready: 1,
        opportunities: 1,
        customers: 0,
        revenue: 0.0,
        cost_per_lead: Some(100.0),
        cost_per_mql: Some(200.0),
        cost_per_sales_ready: Some(200.0),
        cost_per_opportunity: Some(200.0),
        cost_per_customer: None,
        roi: Some(-1.0),
    };
    assert_eq!(r.by_channel, vec![web, social, email]);
    // spring: 3100 + 300 = 3400 for ann, cy, eve, ivy: 850 per lead and
    // per MQL, 3400/3 per sales-ready, 1700 per opportunity and customer;
    // ROI (6200 − 3400)/3400.
    let spring = CostRow {
        key: "spring".into(),
        spend: 3400.0,
        leads: 4,
        mqls: 4,
        sales_ready: 3,
        opportunities: 2,
        customers: 2,
        revenue: 6200.0,
        cost_per_lead: Some(850.0),
        cost_per_mql: Some(850.0),
        cost_per_sales_ready: Some(3400.0 / 3.0),
        cost_per_opportunity: Some(1700.0),
        cost_per_customer: Some(1700.0),
        roi: Some(2800.0 / 3400.0),
    };
    assert_eq!(r.by_campaign, vec![spring]);
    // Per step: 4100 over 8, 8, 7, 5, 4, 3, 2, 0 leads reaching it.
    let steps: Vec<(Stage, u64, Option<f64>, Option<f64>)> = r
        .steps
        .iter()
        .map(|s| (s.stage, s.reached, s.cost_per, s.conversion))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Stage::Visitor, 8, Some(512.5), None),
            (Stage::Suspect, 8, Some(512.5), Some(1.0)),
            (Stage::Prospect, 7, Some(4100.0 / 7.0), Some(7.0 / 8.0)),
            (Stage::Lead, 5, Some(820.0), Some(5.0 / 7.0)),
            (Stage::SalesReady, 4, Some(1025.0), Some(0.8)),
            (Stage::Opportunity, 3, Some(4100.0 / 3.0), Some(0.75)),
            (Stage::Customer, 2, Some(2050.0), Some(2.0 / 3.0)),
            (Stage::Advocate, 0, None, Some(0.0)),
        ]
    );
}

#[test]
fn cost_filtered_by_campaign_keeps_that_spend_only() {
    let q = ReportQuery {
        campaign: Some("spring".into()),
        ..autumn()
    };
    let r = cost(&story(), &q, &spend());
    // Rows naming spring: 3100 + 300. Leads: ann, cy, eve, ivy.
    assert_eq!(r.totals.spend, 3400.0);
    assert_eq!(r.totals.leads, 4);
    assert_eq!(r.totals.cost_per_lead, Some(850.0));
    assert_eq!(r.unassigned_spend, 0.0);
    // A range of the first half of October: web spring 3100 · 15/31, social
    // spring 600 · 15/30 = 300; leads created then: ann, cy, bo, dan, eve.
    let q = ReportQuery {
        from: Some(T0),
        to: Some(at(15, 0, 0)),
        campaign: Some("spring".into()),
        ..ReportQuery::default()
    };
    let r = cost(&story(), &q, &spend());
    assert!(close(r.totals.spend, 3100.0 * 15.0 / 31.0 + 300.0));
    assert_eq!(r.totals.leads, 3, "ann, cy, eve");
}

fn credit(first_touch: f64, last_touch: f64, linear: f64, position_based: f64) -> ModelCredit {
    ModelCredit {
        first_touch,
        last_touch,
        linear,
        position_based,
    }
}

fn assert_credits(actual: &[CreditRow], expected: &[(&str, ModelCredit, ModelCredit)]) {
    let keys: Vec<&str> = actual.iter().map(|r| r.key.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(keys, want);
    for (row, (key, opportunities, revenue)) in actual.iter().zip(expected) {
        for m in AttributionModel::ALL {
            assert!(
                close(row.opportunities.get(m), opportunities.get(m)),
                "{key} opportunities {}: {} ≠ {}",
                m.name(),
                row.opportunities.get(m),
                opportunities.get(m)
            );
            assert!(
                close(row.revenue.get(m), revenue.get(m)),
                "{key} revenue {}: {} ≠ {}",
                m.name(),
                row.revenue.get(m),
                revenue.get(m)
            );
        }
    }
}

#[test]
fn attribution_by_hand() {
    let r = attribution(&story(), &autumn());
    // Opportunities: ann, bo, eve (reached opportunity or further): 3.
    // Revenue: ann 5000 + eve 1200 = 6200 EUR.
    assert_eq!(r.opportunities, 3);
    assert_eq!(r.revenue, 6200.0);
    assert_eq!(r.currency, "EUR");
    // Touches (channel/campaign), up to the moment credited:
    // - ann, opportunity d9 10:30 and customer d20: a1 web/spring, a2
    //   web/-, a3 email/nl-oct, a4 web/- (4 for both).
    // - bo, opportunity d15 10:20: b1 email/nl-oct, b2 web/-, b3
    //   web/spring, b4 web/-, b5 web/- (5). No revenue.
    // - eve, customer (so opportunity) d13 10:00: e1 web/spring, e2
    //   eservices/- (the order itself, at that moment: 2 for both). Her
    //   USD order comes later and is not credited.
    //
    // Opportunities by channel:
    // - first: ann web, bo email, eve web → web 2, email 1.
    // - last: ann web, bo web, eve eservices → web 2, eservices 1.
    // - linear: ann web 3/4, email 1/4; bo email 1/5, web 4/5; eve web
    //   1/2, eservices 1/2 → web 0.75 + 0.8 + 0.5 = 2.05, email 0.45,
    //   eservices 0.5.
    // - position (40/20/40): ann first web .4, last web .4, middle web .1
    //   and email .1; bo first email .4, last web .4, three middle web
    //   .2/3 each; eve web .5, eservices .5 → web .9 + .6 + .5 = 2.0,
    //   email .1 + .4 = .5, eservices .5.
    // Revenue by channel (ann 5000, eve 1200):
    // - first: web 5000 + 1200 = 6200.
    // - last: ann web 5000, eve eservices 1200.
    // - linear: ann web 3750, email 1250; eve web 600, eservices 600 →
    //   web 4350, email 1250, eservices 600.
    // - position: ann web .9 · 5000 = 4500, email 500; eve 600 / 600 →
    //   web 5100, email 500, eservices 600.
    // In channel order: web, email, eservices. Each column adds up to 3
    // and to 6200.
    assert_credits(
        &r.by_channel,
        &[
            (
                "web",
                credit(2.0, 2.0, 2.05, 2.0),
                credit(6200.0, 5000.0, 4350.0, 5100.0),
            ),
            (
                "email",
                credit(1.0, 0.0, 0.45, 0.5),
                credit(0.0, 0.0, 1250.0, 500.0),
            ),
            (
                "eservices",
                credit(0.0, 1.0, 0.5, 0.5),
                credit(0.0, 1200.0, 600.0, 600.0),
            ),
        ],
    );
    // By campaign:
    // - first: ann spring, bo nl-oct, eve spring → spring 2, nl-oct 1;
    //   revenue spring 6200.
    // - last: all three without a campaign → (none) 3; revenue (none) 6200.
    // - linear: ann spring .25, (none) .5, nl-oct .25; bo nl-oct .2,
    //   spring .2, (none) .6; eve spring .5, (none) .5 → spring .95,
    //   nl-oct .45, (none) 1.6. Revenue: ann spring 1250, (none) 2500,
    //   nl-oct 1250; eve spring 600, (none) 600 → spring 1850, (none)
    //   3100, nl-oct 1250.
    // - position: ann spring .4, (none) .1 + .4, nl-oct .1; bo nl-oct .4,
    //   spring .2/3, (none) .4 + 2 · .2/3; eve spring .5, (none) .5 →
    //   spring .9 + 1/15, nl-oct .5, (none) 1.4 + 2/15. Revenue: ann
    //   spring 2000, (none) 2500, nl-oct 500; eve 600 / 600 → spring
    //   2600, (none) 3100, nl-oct 500.
    // By name: "(none)" sorts before letters.
    assert_credits(
        &r.by_campaign,
        &[
            (
                "(none)",
                credit(0.0, 3.0, 1.6, 1.4 + 2.0 / 15.0),
                credit(0.0, 6200.0, 3100.0, 3100.0),
            ),
            (
                "nl-oct",
                credit(1.0, 0.0, 0.45, 0.5),
                credit(0.0, 0.0, 1250.0, 500.0),
            ),
            (
                "spring",
                credit(2.0, 0.0, 0.95, 0.9 + 1.0 / 15.0),
                credit(6200.0, 0.0, 1850.0, 2600.0),
            ),
        ],
    );
    assert_eq!(
        r.other_currency_revenue,
        [("USD".to_string(), 300.0)].into()
    );
}

//! Two months of one tenant, small enough to work out by hand. Every
//! expected number below is derived in the comments from the story.
//!
//! The story (days are after T0 = 2025-10-01 00:00 UTC, times UTC; person
//! ids in order of first appearance; scores under [`super::RULES`], MQL 40,
//! SQL 70; every transition happens at the time of the event causing it):
//!
//! | id | who | first touch (channel, source / medium, campaign) | industry |
//! |----|-----|---------------------------------------------------|----------|
//! | 1 | hal | web, - / -, -, on Sep 20 (before the range)        | -        |
//! | 2 | ann | web, google / paid, spring                         | paper    |
//! | 3 | cy  | social, linkedin / paid, spring (director, no marketing consent) | paper |
//! | 4 | bo  | email, newsletter / email, nl-oct                  | software |
//! | 5 | dan | web, google / organic, -                           | paper    |
//! | 6 | eve | web, google / paid, spring                         | software |
//! | 7 | fay | email, newsletter / email, nl-oct                  | paper    |
//! | 8 | ivy | web, google / paid, spring                         | software |
//! | 9 | gus | social, facebook / social, -, on Nov 5             | -        |
//!
//! - ann: d0 10:00 page view (1: visitor → suspect → prospect; enters
//!   `welcome`); d2 10:00 form, web (31); d5 10:00 download, email,
//!   nl-oct (41 → lead); d9 10:00 quote, web (91 → sales-ready, hand-off
//!   due 11:00); d9 10:30 accepted (→ opportunity); d20 10:00 won 5000 EUR
//!   (→ customer).
//! - cy: d1 10:00 social lead form (30 + 10 fit = 40: → suspect →
//!   prospect → lead at once; enters `welcome`; withdrew marketing consent).
//! - bo: d3 10:00 download (10 → prospect); d4 10:00 form, web (40 →
//!   lead); d6 10:00 quote, web, spring (90 → sales-ready, due 11:00);
//!   d6 12:00 rejected "no budget" (→ recycled); d14 10:00 quote, web
//!   (requalifying on what came since: 50 → lead); d15 10:00 form, web
//!   (80 → sales-ready, due 11:00); d15 10:20 accepted (→ opportunity).
//! - dan: d10 10:00 page view (→ prospect; enters `welcome`); d11 opens
//!   and clicks the `hello` message (email touchpoints worth 0 points).
//! - eve: d12 10:00 page view (→ prospect); d13 10:00 order 1200 EUR,
//!   eServices (→ customer); d40 10:00 order 300 USD, eServices.
//! - fay: d20 11:00 download (→ prospect; enters `welcome`); d21 10:00
//!   disqualified "competitor".
//! - ivy: d30 10:00 form (30 → prospect); d30 10:05 quote, spring (80 →
//!   sales-ready, due 11:05); d30 12:00 the SLA runs out: reassigned (a
//!   second hand-off, due 13:00, still open).
//! - gus: d35 10:00 social engagement (0 points: → suspect only).
//! - Nurturing ticks at d0, d1, d10, d11, d20 and d21, 12:00 each; a last
//!   tick at d50 10:00 sets the engine's latest time, the default `now`.
//!
//! The range is October and November: [d0, d61).

mod funnel;
mod money;
mod sales;
mod surface;

use super::super::*;
use super::{DAY, HOUR, MINUTE, T0, at, close, engine, touch, utm};
use crate::identity::{Identity, PersonId};
use crate::leads::{Command, Engine};
use crate::lifecycle::{Actor, Stage};
use crate::touchpoint::{
    Acquisition, Attribute, Channel, ConsentSignal, Touchpoint, TouchpointKind as K,
};

const ANN: &str = "ann@acme.com";
const CY: &str = "cy@cyan.com";
const BO: &str = "bo@bolt.com";
const DAN: &str = "dan@dune.com";
const EVE: &str = "eve@globex.com";
const FAY: &str = "fay@fjord.com";
const IVY: &str = "ivy@ivy.com";
const GUS: &str = "gus@gust.com";
const HAL: &str = "hal@hall.com";

fn industry(mut t: Touchpoint, industry: &str) -> Touchpoint {
    t.traits.industry = Some(industry.into());
    t
}

fn order(id: &str, email: &str, amount: f64, currency: &str, when: i64) -> Touchpoint {
    let mut t = touch(id, email, Channel::Eservices, K::OrderPlaced, when);
    t.properties.amount = Some(amount);
    t.properties.currency = Some(currency.into());
    t
}

/// Dan's reaction to the first message, carrying its key.
fn reaction(id: &str, kind: K, when: i64) -> Touchpoint {
    let mut t = touch(id, DAN, Channel::Email, kind, when);
    t.properties.other = vec![Attribute {
        name: "idempotency_key".into(),
        value: "nurture:5:welcome:1:1:hello".into(),
    }];
    t
}

fn id(e: &Engine, email: &str) -> PersonId {
    e.graph()
        .person_of(&Identity::Email(email.into()))
        .expect("known")
}

/// The story, in time order.
fn story() -> Engine {
    use Acquisition::*;
    let mut e = engine();
    let apply = |e: &mut Engine, t: Touchpoint| {
        let when = t.occurred_at.expect("dated");
        e.apply(&t, when);
    };
    let tick = |e: &mut Engine, when: i64| {
        e.command(&Command::Tick, when).expect("tick");
    };
    let run = |e: &mut Engine, c: Command, when: i64| {
        e.command(&c, when).expect("command");
    };

    apply(
        &mut e,
        touch(
            "h1",
            HAL,
            Channel::Web,
            K::PageView,
            T0 - 11 * DAY + 10 * HOUR,
        ),
    );

    let first = utm(
        touch("a1", ANN, Channel::Web, K::PageView, at(0, 10, 0)),
        Some("google"),
        Some(Paid),
        Some("spring"),
    );
    apply(&mut e, industry(first, "paper"));
    tick(&mut e, at(0, 12, 0));

    let mut lead_form = utm(
        touch("c1", CY, Channel::Social, K::SocialLeadForm, at(1, 10, 0)),
        Some("linkedin"),
        Some(Paid),
        Some("spring"),
    );
    lead_form.traits.job_title = Some("Mill Director".into());
    lead_form.consent = vec![ConsentSignal {
        purpose: "marketing".into(),
        channel: None,
        granted: false,
    }];
    apply(&mut e, industry(lead_form, "paper"));
    tick(&mut e, at(1, 12, 0));

    apply(
        &mut e,
        touch("a2", ANN, Channel::Web, K::FormSubmitted, at(2, 10, 0)),
    );
    let download = utm(
        touch("b1", BO, Channel::Email, K::Download, at(3, 10, 0)),
        Some("newsletter"),
        Some(Email),
        Some("nl-oct"),
    );
    apply(&mut e, industry(download, "software"));
    apply(
        &mut e,
        touch("b2", BO, Channel::Web, K::FormSubmitted, at(4, 10, 0)),
    );
    apply(
        &mut e,
        utm(
            touch("a3", ANN, Channel::Email, K::Download, at(5, 10, 0)),
            None,
            None,
            Some("nl-oct"),
        ),
    );
    apply(
        &mut e,
        utm(
            touch("b3", BO, Channel::Web, K::QuoteRequested, at(6, 10, 0)),
            None,
            None,
            Some("spring"),
        ),
    );
    let bo = id(&e, BO);
    run(
        &mut e,
        Command::Reject {
            person: bo,
            by: "sam".into(),
            reason: "no budget".into(),
        },
        at(6, 12, 0),
    );
    apply(
        &mut e,
        touch("a4", ANN, Channel::Web, K::QuoteRequested, at(9, 10, 0)),
    );
    let ann = id(&e, ANN);
    run(
        &mut e,
        Command::Accept {
            person: ann,
            by: "sam".into(),
        },
        at(9, 10, 30),
    );

    let page = utm(
        touch("d1", DAN, Channel::Web, K::PageView, at(10, 10, 0)),
        Some("google"),
        Some(Organic),
        None,
    );
    apply(&mut e, industry(page, "paper"));
    assert_eq!(id(&e, DAN), PersonId(5), "the key in dan's reactions");
    tick(&mut e, at(10, 12, 0));
    apply(&mut e, reaction("d2", K::EmailOpened, at(11, 10, 0)));
    apply(&mut e, reaction("d3", K::EmailClicked, at(11, 11, 0)));
    tick(&mut e, at(11, 12, 0));

    let page = utm(
        touch("e1", EVE, Channel::Web, K::PageView, at(12, 10, 0)),
        Some("google"),
        Some(Paid),
        Some("spring"),
    );
    apply(&mut e, industry(page, "software"));
    apply(&mut e, order("e2", EVE, 1200.0, "EUR", at(13, 10, 0)));

    apply(
        &mut e,
        touch("b4", BO, Channel::Web, K::QuoteRequested, at(14, 10, 0)),
    );
    apply(
        &mut e,
        touch("b5", BO, Channel::Web, K::FormSubmitted, at(15, 10, 0)),
    );
    run(
        &mut e,
        Command::Accept {
            person: bo,
            by: "sam".into(),
        },
        at(15, 10, 20),
    );

    run(
        &mut e,
        Command::Won {
            person: ann,
            amount: Some(5000.0),
            currency: Some("EUR".into()),
        },
        at(20, 10, 0),
    );
    let download = utm(
        touch("f1", FAY, Channel::Email, K::Download, at(20, 11, 0)),
        Some("newsletter"),
        Some(Email),
        Some("nl-oct"),
    );
    apply(&mut e, industry(download, "paper"));
    tick(&mut e, at(20, 12, 0));
    let fay = id(&e, FAY);
    let ops = Actor::Operator("ops".into());
    run(
        &mut e,
        Command::Disqualify {
            person: fay,
            actor: ops,
            reason: "competitor".into(),
        },
        at(21, 10, 0),
    );
    tick(&mut e, at(21, 12, 0));

    let form = utm(
        touch("i1", IVY, Channel::Web, K::FormSubmitted, at(30, 10, 0)),
        Some("google"),
        Some(Paid),
        Some("spring"),
    );
    apply(&mut e, industry(form, "software"));
    apply(
        &mut e,
        utm(
            touch("i2", IVY, Channel::Web, K::QuoteRequested, at(30, 10, 5)),
            None,
            None,
            Some("spring"),
        ),
    );
    let ivy = id(&e, IVY);
    run(
        &mut e,
        Command::SlaExpired {
            person: ivy,
            seq: 1,
        },
        at(30, 12, 0),
    );

    apply(
        &mut e,
        utm(
            touch(
                "g1",
                GUS,
                Channel::Social,
                K::SocialEngagement,
                at(35, 10, 0),
            ),
            Some("facebook"),
            Some(Social),
            None,
        ),
    );
    apply(&mut e, order("e3", EVE, 300.0, "USD", at(40, 10, 0)));
    tick(&mut e, at(50, 10, 0));
    e
}

/// October and November.
fn autumn() -> ReportQuery {
    ReportQuery {
        from: Some(T0),
        to: Some(at(61, 0, 0)),
        ..ReportQuery::default()
    }
}

#[test]
fn the_story_goes_as_told() {
    let e = story();
    let stage = |email: &str| e.lead(id(&e, email).0).expect("lead").summary.stage;
    assert_eq!(
        [ANN, CY, BO, DAN, EVE, FAY, IVY, GUS, HAL].map(stage),
        [
            Stage::Customer,
            Stage::Lead,
            Stage::Opportunity,
            Stage::Prospect,
            Stage::Customer,
            Stage::Disqualified,
            Stage::SalesReady,
            Stage::Suspect,
            Stage::Prospect,
        ]
    );
    assert_eq!(e.clock(), at(50, 10, 0));
}

/// The operator's spend for the scenario.
fn spend() -> Vec<Spend> {
    let row = |channel, campaign: Option<&str>, from, to, amount, currency: &str| Spend {
        channel,
        campaign: campaign.map(String::from),
        from,
        to,
        amount,
        currency: currency.into(),
    };
    vec![
        // Web ads for spring in October: all in range.
        row(
            Some(Channel::Web),
            Some("spring"),
            at(0, 0, 0),
            at(31, 0, 0),
            3100.0,
            "EUR",
        ),
        // Social ads for spring, Sep 16 – Oct 16: half of it in range.
        row(
            Some(Channel::Social),
            Some("spring"),
            at(-15, 0, 0),
            at(15, 0, 0),
            600.0,
            "EUR",
        ),
        // The newsletter tool, both months.
        row(
            Some(Channel::Email),
            None,
            at(0, 0, 0),
            at(61, 0, 0),
            200.0,
            "EUR",
        ),
        // The agency, both months: no channel, no campaign.
        row(None, None, at(0, 0, 0), at(61, 0, 0), 500.0, "eur"),
        // Web in dollars: apart.
        row(
            Some(Channel::Web),
            None,
            at(0, 0, 0),
            at(10, 0, 0),
            100.0,
            "USD",
        ),
        // September: outside the range.
        row(
            Some(Channel::Web),
            None,
            at(-30, 0, 0),
            at(0, 0, 0),
            999.0,
            "EUR",
        ),
    ]
}

//! A seeded synthetic B2B population whose truth is known: how likely each
//! person was to buy, and whether they did.
//!
//! Every person has a hidden propensity from their persona (decision maker,
//! influencer, student, competitor), their company's size and industry fit,
//! and a random part. Over a [`WINDOW_DAYS`]-day window they browse, download,
//! read e-mails, register for and attend events, fill in social lead forms,
//! ask for quotes and log in to the portal, at rates that rise with the
//! propensity (with a personal "chattiness" that does not, so activity is a
//! noisy signal). They start as anonymous visitors (one or two devices) and
//! become known by e-mail on a web form; people on the marketing list are
//! known by e-mail from the start, so their form links two people the
//! identity graph already holds and merges them.
//!
//! Whether someone converts is drawn from their propensity, and the
//! conversion happens after the window (see [`PersonTruth::converts_at`]), so
//! scores measured at its end see only behaviour.
//!
//! Deterministic for a seed. Touchpoints are generated a day at a time in
//! time order ([`Synthetic::touchpoints`]), so tens of millions can be
//! streamed without holding them.

use crate::traffic::Seeded;
use leadhost_core::touchpoint::{
    Acquisition, Channel, ContentStage, Identities, Properties, Timestamp, Touchpoint,
    TouchpointKind, Traits,
};

/// The window's first moment: 2026-01-01T00:00Z.
pub const START: Timestamp = 1_767_225_600_000;
/// The length of the behaviour window.
pub const WINDOW_DAYS: u32 = 60;
/// Touchpoints per person on average in [`generate`].
pub const DEFAULT_PER_PERSON: f64 = 10.0;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// People arrive during the first part of the window only, so everyone has
/// some days of behaviour before it ends.
const ARRIVAL_DAYS: u32 = WINDOW_DAYS - 10;

/// Who a person is, which sets most of their propensity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Signs off purchases: directors, heads, plant managers.
    DecisionMaker,
    /// Shapes them: engineers and specialists.
    Influencer,
    /// Researches, never buys.
    Student,
    /// Watches prices, never buys (and some have "manager" in their title).
    Competitor,
}

/// What is known about one person that the engine is not told.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonTruth {
    /// Their e-mail address, as it appears on their touchpoints.
    pub email: String,
    /// The probability they buy, from which `converts` was drawn.
    pub propensity: f64,
    /// Whether they buy.
    pub converts: bool,
    /// When they would buy: after the window (between one and 72 hours after
    /// [`Synthetic::window_end`]).
    pub converts_at: Timestamp,
}

/// A whole population in memory: touchpoints with the time each was
/// received, in time order, and the truth about every person.
#[cfg_attr(not(test), allow(dead_code))]
pub struct Population {
    /// `(touchpoint, received_at)`, sorted by time.
    pub touchpoints: Vec<(Touchpoint, Timestamp)>,
    /// By person.
    pub truth: Vec<PersonTruth>,
    /// The end of the behaviour window: every touchpoint is before it, every
    /// conversion after it.
    pub window_end: Timestamp,
}

/// `people` people with [`DEFAULT_PER_PERSON`] touchpoints each on average.
// The quality test's entry point, and the in-memory form for other benches.
#[cfg_attr(not(test), allow(dead_code))]
pub fn generate(people: usize, seed: u64) -> Population {
    let synthetic = Synthetic::new(people, DEFAULT_PER_PERSON, seed);
    Population {
        touchpoints: synthetic.touchpoints().collect(),
        truth: synthetic.truth(),
        window_end: synthetic.window_end(),
    }
}

/// A company people work for.
struct Company {
    name: String,
    domain: String,
    size: Option<u32>,
    industry: &'static str,
    country: &'static str,
}

/// One person's hidden profile.
struct Profile {
    company: u32,
    persona: Persona,
    title: u8,
    first: u8,
    last: u8,
    propensity: f32,
    /// Expected touchpoints per active day.
    rate: f32,
    arrival: u32,
    /// The day of the web form that identifies them, if they fill one.
    identify_day: Option<u32>,
    /// On the marketing list: known by e-mail from their arrival.
    listed: bool,
    devices: u8,
    portal_user: bool,
    converts: bool,
    converts_at: Timestamp,
}

/// What a person does in one touchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    PageView,
    PricingView,
    Download,
    /// The web form that first identifies the person.
    IdentifyingForm,
    Form,
    EmailOpen,
    EmailClick,
    EmailBounce,
    Unsubscribe,
    EventRegistered,
    EventAttended,
    SocialForm,
    Quote,
    PortalLogin,
}

/// A touchpoint before it is built: small, so a day's worth sorts fast.
#[derive(Debug, Clone, Copy)]
struct Planned {
    at: Timestamp,
    person: u32,
    seq: u16,
    device: u8,
    identified: bool,
    act: Act,
    /// Randomness for the details (page, topic, campaign).
    bits: u32,
}

/// A population defined by its size, activity and seed; its touchpoints are
/// generated on demand.
pub struct Synthetic {
    seed: u64,
    profiles: Vec<Profile>,
    companies: Vec<Company>,
}

impl Synthetic {
    /// `people` people producing about `per_person` touchpoints each.
    pub fn new(people: usize, per_person: f64, seed: u64) -> Synthetic {
        let companies = (0..(people / 5).max(1))
            .map(|i| company(i, &mut rng(seed, i as u64, u64::MAX - 1)))
            .collect::<Vec<_>>();
        let mut profiles: Vec<Profile> = (0..people)
            .map(|i| profile(&mut rng(seed, i as u64, u64::MAX), &companies))
            .collect();
        // Scale the rates so the population produces `per_person` each on
        // average (the web forms and event attendance add a little).
        let planned: f64 = profiles
            .iter()
            .map(|p| f64::from(p.rate) * f64::from(WINDOW_DAYS - p.arrival))
            .sum();
        let scale = per_person * people as f64 * 0.93 / planned.max(1e-9);
        for p in &mut profiles {
            p.rate = (f64::from(p.rate) * scale) as f32;
        }
        Synthetic {
            seed,
            profiles,
            companies,
        }
    }

    /// The end of the behaviour window.
    pub fn window_end(&self) -> Timestamp {
        START + i64::from(WINDOW_DAYS) * DAY_MS
    }

    /// The truth about every person, by person.
    pub fn truth(&self) -> Vec<PersonTruth> {
        (0..self.profiles.len())
            .map(|i| {
                let p = &self.profiles[i];
                PersonTruth {
                    email: self.email(i as u32),
                    propensity: f64::from(p.propensity),
                    converts: p.converts,
                    converts_at: p.converts_at,
                }
            })
            .collect()
    }

    /// Every touchpoint with the time it was received, in time order.
    pub fn touchpoints(&self) -> Touchpoints<'_> {
        Touchpoints {
            population: self,
            day: 0,
            today: Vec::new(),
            next: 0,
        }
    }

    /// One day's touchpoints, planned and sorted by time.
    fn plan_day(&self, day: u32) -> Vec<Planned> {
        let mut out = Vec::new();
        let day_start = START + i64::from(day) * DAY_MS;
        for (i, p) in self.profiles.iter().enumerate() {
            if day < p.arrival {
                continue;
            }
            let mut r = rng(self.seed, i as u64, u64::from(day));
            let person = i as u32;
            let mut seq = 0u16;
            let mut push = |out: &mut Vec<Planned>, at, act, identified, r: &mut Seeded| {
                seq += 1;
                out.push(Planned {
                    at,
                    person,
                    seq,
                    device: r.below(usize::from(p.devices)) as u8,
                    identified,
                    act,
                    bits: r.next() as u32,
                });
            };
            // Office hours, give or take.
            let moment =
                |r: &mut Seeded| day_start + 7 * HOUR_MS + r.below(12 * HOUR_MS as usize) as i64;
            let form_at = (p.identify_day == Some(day)).then(|| moment(&mut r));
            if let Some(at) = form_at {
                push(&mut out, at, Act::IdentifyingForm, false, &mut r);
            }
            let n = poisson(&mut r, f64::from(p.rate));
            for _ in 0..n {
                let at = moment(&mut r);
                let identified = match (p.identify_day, form_at) {
                    (_, Some(f)) => at > f,
                    (Some(d), None) => d < day,
                    (None, None) => false,
                };
                let act = pick_act(&mut r, p, identified);
                push(&mut out, at, act, identified, &mut r);
                if act == Act::EventRegistered
                    && uniform(&mut r) < 0.3 + 0.6 * f64::from(p.propensity)
                {
                    // The event itself, a few hours later the same day.
                    let later = at + HOUR_MS + r.below(4 * HOUR_MS as usize) as i64;
                    push(&mut out, later, Act::EventAttended, identified, &mut r);
                }
            }
        }
        out.sort_by_key(|e| (e.at, e.person, e.seq));
        out
    }

    fn email(&self, person: u32) -> String {
        let p = &self.profiles[person as usize];
        let domain = match p.persona {
            Persona::Student if person.is_multiple_of(2) => "gmail.com",
            _ => &self.companies[p.company as usize].domain,
        };
        format!(
            "{}.{}{person}@{domain}",
            FIRST[usize::from(p.first)].to_lowercase(),
            LAST[usize::from(p.last)].to_lowercase()
        )
    }

    fn traits(&self, person: u32) -> Traits {
        let p = &self.profiles[person as usize];
        let c = &self.companies[p.company as usize];
        Traits {
            first_name: Some(FIRST[usize::from(p.first)].to_string()),
            last_name: Some(LAST[usize::from(p.last)].to_string()),
            job_title: Some(titles(p.persona)[usize::from(p.title)].to_string()),
            company: Some(c.name.clone()),
            industry: Some(c.industry.to_string()),
            company_size: c.size,
            country: Some(c.country.to_string()),
            other: Vec::new(),
        }
    }

    /// Builds the touchpoint a plan describes, with its receipt time.
    fn build(&self, e: &Planned) -> (Touchpoint, Timestamp) {
        let day = (e.at - START) / DAY_MS;
        let bits = e.bits as usize;
        let topic = TOPICS[bits % TOPICS.len()];
        let propensity = f64::from(self.profiles[e.person as usize].propensity);
        let anonymous = || Identities {
            anonymous_id: Some(format!("anon-{:x}-{}", e.person, e.device)),
            ..Identities::default()
        };
        let known = |mut ids: Identities| {
            ids.email = Some(self.email(e.person));
            ids
        };
        let user = || Identities {
            email: Some(self.email(e.person)),
            user_id: Some(format!("u-{}", e.person)),
            ..Identities::default()
        };
        let mut t = Touchpoint {
            external_id: format!("syn-{}-{day}-{}", e.person, e.seq),
            occurred_at: Some(e.at),
            channel: Channel::Web,
            kind: TouchpointKind::PageView,
            identities: anonymous(),
            traits: Traits::default(),
            properties: Properties::default(),
            consent: Vec::new(),
        };
        let (campaign, source, medium) = CAMPAIGNS[(bits >> 8) % CAMPAIGNS.len()];
        t.properties.campaign = (!campaign.is_empty()).then(|| campaign.to_string());
        t.properties.source = Some(source.to_string());
        t.properties.medium = Some(medium);
        match e.act {
            Act::PageView => {
                let (path, stage) = PAGES[(bits >> 4) % PAGES.len()];
                t.properties.url = Some(format!("{SITE}{path}"));
                t.properties.content_stage = Some(stage);
            }
            Act::PricingView => {
                t.properties.url = Some(format!("{SITE}/pricing/{}", slug(topic)));
                t.properties.content_stage = Some(ContentStage::Closing);
            }
            Act::Download => {
                // Gated once the person is known: the download carries the e-mail.
                if e.identified {
                    t.identities = known(anonymous());
                }
                t.kind = TouchpointKind::Download;
                t.properties.topic = Some(topic.to_string());
                t.properties.content_id = Some(format!("wp-{}", slug(topic)));
                t.properties.content_stage = Some(content_stage((bits >> 16) as u32, propensity));
            }
            Act::IdentifyingForm | Act::Form => {
                t.kind = TouchpointKind::FormSubmitted;
                t.identities = known(anonymous());
                t.traits = self.traits(e.person);
                t.properties.topic = Some(topic.to_string());
                let closing = unit((bits >> 12) as u32) < 0.2 + 0.6 * propensity;
                let (path, stage) = if closing {
                    ("/contact-sales", ContentStage::Closing)
                } else {
                    ("/newsletter", ContentStage::Connecting)
                };
                t.properties.url = Some(format!("{SITE}{path}"));
                t.properties.content_stage = Some(stage);
            }
            Act::EmailOpen | Act::EmailClick | Act::EmailBounce | Act::Unsubscribe => {
                t.channel = Channel::Email;
                t.kind = match e.act {
                    Act::EmailOpen => TouchpointKind::EmailOpened,
                    Act::EmailClick => TouchpointKind::EmailClicked,
                    Act::EmailBounce => TouchpointKind::EmailBounced,
                    _ => TouchpointKind::Unsubscribed,
                };
                t.identities = known(Identities::default());
                t.properties.campaign = Some(format!("newsletter-{}", day / 7));
                t.properties.source = Some("newsletter".into());
                t.properties.medium = Some(Acquisition::Email);
                if e.act == Act::EmailClick {
                    t.properties.url = Some(format!("{SITE}/news/{}", slug(topic)));
                }
            }
            Act::EventRegistered | Act::EventAttended => {
                t.channel = Channel::Events;
                t.kind = if e.act == Act::EventRegistered {
                    TouchpointKind::EventRegistered
                } else {
                    TouchpointKind::EventAttended
                };
                t.identities = known(Identities::default());
                if e.act == Act::EventRegistered {
                    t.traits = self.traits(e.person);
                }
                t.properties.content_id = Some(format!("event-{}", day / 14));
                t.properties.topic = Some(topic.to_string());
                t.properties.campaign = None;
            }
            Act::SocialForm => {
                t.channel = Channel::Social;
                t.kind = TouchpointKind::SocialLeadForm;
                t.identities = known(Identities::default());
                t.traits = self.traits(e.person);
                t.properties.topic = Some(topic.to_string());
                t.properties.source = Some("linkedin".into());
                t.properties.medium = Some(Acquisition::Social);
            }
            Act::Quote => {
                t.channel = Channel::Eservices;
                t.kind = TouchpointKind::QuoteRequested;
                t.identities = user();
                t.properties.topic = Some(topic.to_string());
                t.properties.amount = Some((5 + (bits >> 20) % 200) as f64 * 1000.0);
                t.properties.currency = Some("EUR".into());
            }
            Act::PortalLogin => {
                t.channel = Channel::Portal;
                t.kind = TouchpointKind::PortalLogin;
                t.identities = user();
                t.properties = Properties::default();
            }
        }
        // Received a moment later, as a collector would.
        (t, e.at + 200 + i64::from(e.bits % 1800))
    }
}

/// The touchpoints of a [`Synthetic`] population, in time order.
pub struct Touchpoints<'a> {
    population: &'a Synthetic,
    day: u32,
    today: Vec<Planned>,
    next: usize,
}

impl Iterator for Touchpoints<'_> {
    type Item = (Touchpoint, Timestamp);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.today.get(self.next) {
                self.next += 1;
                return Some(self.population.build(e));
            }
            if self.day >= WINDOW_DAYS {
                return None;
            }
            self.today = self.population.plan_day(self.day);
            self.next = 0;
            self.day += 1;
        }
    }
}

const SITE: &str = "https://www.example-drying.com";

const FIRST: [&str; 16] = [
    "Aino", "Marco", "Ingrid", "Sam", "Eeva", "Lars", "Chloé", "Kenji", "Ana", "Tom", "Mia",
    "Pedro", "Sofia", "Jonas", "Lea", "Ravi",
];
const LAST: [&str; 16] = [
    "Virtanen", "Bianchi", "Hansen", "Taylor", "Korhonen", "Berg", "Martin", "Sato", "Silva",
    "Novak", "Weber", "Costa", "Larsen", "Moreau", "Kowalski", "Iyer",
];

fn titles(persona: Persona) -> &'static [&'static str] {
    match persona {
        Persona::DecisionMaker => &[
            "Production Director",
            "VP Operations",
            "Head of Engineering",
            "Chief Technology Officer",
            "Mill Manager",
            "Plant Manager",
        ],
        Persona::Influencer => &[
            "Process Engineer",
            "Maintenance Specialist",
            "Procurement Specialist",
            "Automation Engineer",
            "Lead Engineer",
            "Shift Supervisor",
        ],
        Persona::Student => &["Student", "Research Intern", "PhD Student"],
        Persona::Competitor => &["Sales Manager", "Product Marketing", "Application Engineer"],
    }
}

const FIT_INDUSTRIES: [&str; 3] = ["Pulp & Paper", "Board & Packaging", "Tissue"];
const OTHER_INDUSTRIES: [&str; 3] = ["Food & Beverage", "Chemicals", "Software"];
const COUNTRIES: [&str; 8] = ["FI", "SE", "DE", "IT", "US", "BR", "CA", "JP"];
const SIZES: [u32; 7] = [12, 45, 120, 350, 900, 2500, 12_000];
const NAME_A: [&str; 8] = [
    "Nordic", "Baltic", "Alpine", "Lakeside", "Fjord", "Saimaa", "Pacific", "Atlas",
];
const NAME_B: [&str; 6] = ["Pulp", "Board", "Paper", "Mills", "Fibre", "Industries"];
const TOPICS: [&str; 5] = [
    "pulp drying",
    "board machines",
    "tissue lines",
    "energy efficiency",
    "predictive maintenance",
];
const PAGES: [(&str, ContentStage); 6] = [
    ("/", ContentStage::Connecting),
    ("/solutions/pulp-drying", ContentStage::Connecting),
    ("/blog/energy-savings-in-drying", ContentStage::Educating),
    ("/case-studies/nordic-mill", ContentStage::Educating),
    ("/webinars/predictive-maintenance", ContentStage::Educating),
    ("/careers", ContentStage::Connecting),
];
const CAMPAIGNS: [(&str, &str, Acquisition); 6] = [
    ("pulp-line-upgrade", "google", Acquisition::Paid),
    ("pulp-line-upgrade", "linkedin", Acquisition::Paid),
    ("spring-newsletter", "newsletter", Acquisition::Email),
    ("", "google", Acquisition::Organic),
    ("", "industry-news.example", Acquisition::Referral),
    ("", "direct", Acquisition::Direct),
];

fn company(i: usize, r: &mut Seeded) -> Company {
    let (a, b) = (*r.pick(&NAME_A), *r.pick(&NAME_B));
    let fit = uniform(r) < 0.55;
    Company {
        name: format!("{a} {b} {i}"),
        domain: format!("{}{}{i}.example", a.to_lowercase(), b.to_lowercase()),
        size: Some(*r.pick(&SIZES)),
        industry: if fit {
            FIT_INDUSTRIES[r.below(FIT_INDUSTRIES.len())]
        } else {
            OTHER_INDUSTRIES[r.below(OTHER_INDUSTRIES.len())]
        },
        country: COUNTRIES[r.below(COUNTRIES.len())],
    }
}

fn profile(r: &mut Seeded, companies: &[Company]) -> Profile {
    let roll = uniform(r);
    let persona = if roll < 0.25 {
        Persona::DecisionMaker
    } else if roll < 0.75 {
        Persona::Influencer
    } else if roll < 0.9 {
        Persona::Student
    } else {
        Persona::Competitor
    };
    let company = r.below(companies.len()) as u32;
    let c = &companies[company as usize];
    let size = c.size.unwrap_or(0);
    let mut logit = -3.6
        + match persona {
            Persona::DecisionMaker => 1.6,
            Persona::Influencer => 0.6,
            Persona::Student => -3.0,
            Persona::Competitor => -5.0,
        };
    if matches!(persona, Persona::DecisionMaker | Persona::Influencer) {
        logit += match size {
            0..50 => -0.8,
            50..200 => 0.0,
            200..1000 => 0.6,
            _ => 1.0,
        };
        logit += if FIT_INDUSTRIES.contains(&c.industry) {
            0.9
        } else {
            -0.6
        };
    }
    logit += 0.9 * normal(r);
    let propensity = 1.0 / (1.0 + (-logit).exp());
    // Chattiness: how much someone clicks around, whatever they intend.
    let chatter = (0.7 * normal(r)).exp();
    let browse = match persona {
        Persona::Student => 1.4,
        Persona::Competitor => 1.6,
        _ => 1.0,
    };
    let rate = (0.25 + 3.0 * propensity) * chatter * browse;
    let arrival = r.below(ARRIVAL_DAYS as usize) as u32;
    let forms = match persona {
        Persona::DecisionMaker | Persona::Influencer => (0.2 + 1.2 * propensity).min(0.95),
        Persona::Student => 0.35,
        Persona::Competitor => 0.2,
    };
    let identify_day =
        (uniform(r) < forms).then(|| arrival + r.below((WINDOW_DAYS - arrival) as usize) as u32);
    let listed = uniform(r)
        < match persona {
            Persona::DecisionMaker | Persona::Influencer => 0.35,
            _ => 0.1,
        };
    let devices = if uniform(r) < 0.3 { 2 } else { 1 };
    let portal_user =
        matches!(persona, Persona::DecisionMaker | Persona::Influencer) && uniform(r) < 0.15;
    let converts = uniform(r) < propensity;
    let window_end = START + i64::from(WINDOW_DAYS) * DAY_MS;
    let converts_at = window_end + HOUR_MS + r.below(71 * HOUR_MS as usize) as i64;
    Profile {
        company,
        persona,
        title: r.below(titles(persona).len()) as u8,
        first: r.below(FIRST.len()) as u8,
        last: r.below(LAST.len()) as u8,
        propensity: propensity as f32,
        rate: rate as f32,
        arrival,
        identify_day,
        listed,
        devices,
        portal_user,
        converts,
        converts_at,
    }
}

/// What a person does next, given who they are and whether the tenant knows
/// them yet.
fn pick_act(r: &mut Seeded, p: &Profile, identified: bool) -> Act {
    let q = f64::from(p.propensity);
    let known = identified || p.listed;
    let on = |yes: bool, w: f64| if yes { w } else { 0.0 };
    let competitor = p.persona == Persona::Competitor;
    let student = p.persona == Persona::Student;
    let weights = [
        (Act::PageView, 8.0),
        (Act::PricingView, 0.3 + 4.0 * q + on(competitor, 3.0)),
        (Act::Download, 0.8 + 3.0 * q + on(student, 1.5)),
        (Act::Form, on(identified, 0.1 + 1.2 * q)),
        (Act::EmailOpen, on(known, 3.0)),
        (Act::EmailClick, on(known, 0.4 + 3.0 * q)),
        (Act::EmailBounce, on(p.listed, 0.03)),
        (Act::Unsubscribe, on(known, 0.08 * (1.0 - q))),
        (Act::EventRegistered, on(known, 0.2 + 1.5 * q)),
        (Act::SocialForm, 0.15 + 0.8 * q),
        (Act::Quote, on(identified, 0.05 + 2.5 * q * q)),
        (Act::PortalLogin, on(identified && p.portal_user, 1.2)),
    ];
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let mut x = uniform(r) * total;
    for (act, w) in weights {
        if x < w {
            return act;
        }
        x -= w;
    }
    Act::PageView
}

/// Later stages are likelier for likelier buyers.
fn content_stage(bits: u32, propensity: f64) -> ContentStage {
    let x = unit(bits);
    if x < 0.1 + 0.5 * propensity {
        ContentStage::Closing
    } else if x < 0.65 + 0.2 * propensity {
        ContentStage::Educating
    } else {
        ContentStage::Connecting
    }
}

fn slug(topic: &str) -> String {
    topic.replace(' ', "-")
}

/// The generator for one person on one day (or, with a day past any real
/// one, for their profile): independent streams, so a day can be generated
/// without the days before it.
fn rng(seed: u64, person: u64, day: u64) -> Seeded {
    Seeded::new(splitmix(
        seed ^ splitmix(person.wrapping_mul(0x1_0000_0001) ^ splitmix(day)),
    ))
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1).
fn uniform(r: &mut Seeded) -> f64 {
    (r.next() >> 11) as f64 / (1u64 << 53) as f64
}

/// The low 16 bits of `bits` as a fraction in [0, 1).
fn unit(bits: u32) -> f64 {
    f64::from(bits & 0xFFFF) / 65_536.0
}

/// Standard normal (Box–Muller).
fn normal(r: &mut Seeded) -> f64 {
    let u = uniform(r).max(1e-12);
    let v = uniform(r);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Poisson by counting uniform products (Knuth); the daily rates are small.
fn poisson(r: &mut Seeded, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        // Never reached at realistic rates; a normal approximation keeps it cheap.
        return (lambda + lambda.sqrt() * normal(r)).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut product = uniform(r);
    let mut n = 0;
    while product > limit {
        product *= uniform(r);
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadhost_core::identity::{Identity, PersonId};
    use leadhost_core::leads::{Command, Engine, LeadFilter};
    use leadhost_core::lifecycle::Stage;
    use leadhost_core::predict::{auc, top_decile_lift};
    use std::collections::HashMap;

    #[test]
    fn the_same_seed_gives_the_same_population() {
        let a: Vec<_> = Synthetic::new(200, 10.0, 7).touchpoints().collect();
        let b: Vec<_> = Synthetic::new(200, 10.0, 7).touchpoints().collect();
        let c: Vec<_> = Synthetic::new(200, 10.0, 8).touchpoints().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let n = a.len() as f64;
        assert!(
            (1500.0..2500.0).contains(&n),
            "{n} touchpoints for 200 × 10"
        );
        let window_end = Synthetic::new(200, 10.0, 7).window_end();
        assert!(
            a.windows(2)
                .all(|w| w[0].0.occurred_at <= w[1].0.occurred_at)
        );
        assert!(a.iter().all(|(t, _)| {
            t.occurred_at
                .is_some_and(|at| (START..window_end).contains(&at))
        }));
        let ids: std::collections::HashSet<_> = a.iter().map(|(t, _)| &t.external_id).collect();
        assert_eq!(ids.len(), a.len(), "external ids are unique");
        let truth = Synthetic::new(200, 10.0, 7).truth();
        assert!(truth.iter().all(|t| t.converts_at > window_end));
    }

    /// The engine's scores against who really buys. Prints the figures; run
    /// with `--nocapture` to see them.
    #[test]
    fn scores_rank_buyers_above_the_rest() {
        let population = generate(5000, 42);
        let mut engine = Engine::default();
        for (t, received_at) in &population.touchpoints {
            engine.apply(t, *received_at);
        }
        // Every lead scored at the end of the window, as sales would see them.
        let refresh = Command::Configure {
            config: Box::new(engine.config().clone()),
        };
        engine.command(&refresh, population.window_end).unwrap();

        let mut leads: HashMap<u64, (f64, Stage, Timestamp)> = HashMap::new();
        let mut offset = 0;
        loop {
            let page = engine.leads(&LeadFilter {
                offset,
                limit: Some(1000),
                ..LeadFilter::default()
            });
            offset += page.items.len();
            leads.extend(
                page.items
                    .iter()
                    .map(|l| (l.id, (l.score, l.stage, l.created_at))),
            );
            if page.items.is_empty() || offset >= page.total {
                break;
            }
        }
        // Identified leads: whoever the tenant knows by e-mail.
        let mut known = Vec::new();
        for truth in &population.truth {
            let Some(p) = engine
                .graph()
                .person_of(&Identity::Email(truth.email.clone()))
            else {
                continue;
            };
            let lead = engine.graph().canonical(p);
            let (score, stage, created_at) = leads[&lead.0];
            if stage != Stage::Visitor {
                known.push((truth, lead, score, created_at));
            }
        }
        let rules: Vec<(f64, bool)> = known.iter().map(|k| (k.2, k.0.converts)).collect();
        let oracle: Vec<(f64, bool)> = known
            .iter()
            .map(|k| (k.0.propensity, k.0.converts))
            .collect();
        let mut r = Seeded::new(99);
        let random: Vec<(f64, bool)> = known
            .iter()
            .map(|k| (uniform(&mut r), k.0.converts))
            .collect();
        let rules_auc = auc(&rules).unwrap();
        let rules_lift = top_decile_lift(&rules).unwrap();
        let oracle_auc = auc(&oracle).unwrap();
        let random_auc = auc(&random).unwrap();
        let random_lift = top_decile_lift(&random).unwrap();
        let counts = engine.counts();
        let buyers = rules.iter().filter(|(_, c)| *c).count();
        println!(
            "population: {} people, {} touchpoints, {} leads, {} identified ({} convert), {} merges",
            population.truth.len(),
            population.touchpoints.len(),
            counts.leads,
            known.len(),
            buyers,
            counts.merges
        );
        println!("stages: {:?}", counts.stages);
        println!("rules score:      AUC {rules_auc:.3}, top-decile lift {rules_lift:.2}");
        println!("true propensity:  AUC {oracle_auc:.3} (the ceiling)");
        println!("random scorer:    AUC {random_auc:.3}, top-decile lift {random_lift:.2}");

        // Sales records the outcomes after the window, then the model learns.
        let mut wins: Vec<_> = known.iter().filter(|k| k.0.converts).collect();
        wins.sort_by_key(|(t, lead, _, _)| (t.converts_at, lead.0));
        let mut last = population.window_end;
        for (truth, lead, _, _) in wins {
            let won = Command::Won {
                person: PersonId(lead.0),
                amount: Some(50_000.0),
                currency: Some("EUR".into()),
            };
            engine.command(&won, truth.converts_at).unwrap();
            last = last.max(truth.converts_at);
        }
        engine.command(&Command::Train, last).unwrap();
        let model = engine.model().unwrap();
        println!(
            "predictive model: AUC {:.3}, top-decile lift {:.2} (trained on {}, tested on {})",
            model.auc, model.lift_top_decile, model.trained_on, model.tested_on
        );
        // The model is judged on the latest leads only; the rules on the same ones compare.
        let held_out: Vec<(f64, bool)> = known
            .iter()
            .filter(|k| k.3 >= model.split_at)
            .map(|k| (k.2, k.0.converts))
            .collect();
        println!(
            "rules score on those held-out leads: AUC {:.3}, top-decile lift {:.2}",
            auc(&held_out).unwrap(),
            top_decile_lift(&held_out).unwrap()
        );

        assert!(counts.merges > 100, "identity merging is exercised");
        assert!(known.len() > 1000 && buyers > 100);
        // Floors a random ranking fails, set from the measured figures with
        // margin (seed 42, 5000 people: rules 0.741 / 2.86, model 0.715 /
        // 3.21, random 0.500; the true propensity reaches 0.832).
        assert!(random_auc < 0.6, "random AUC {random_auc}");
        assert!(rules_auc >= 0.70, "rules AUC {rules_auc}");
        assert!(rules_lift >= 2.0, "rules lift {rules_lift}");
        assert!(model.auc >= 0.65, "predictive AUC {}", model.auc);
        assert!(
            model.lift_top_decile >= 2.0,
            "predictive lift {}",
            model.lift_top_decile
        );
    }
}

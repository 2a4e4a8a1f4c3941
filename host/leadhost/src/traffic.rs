//! Seeded, realistic Segment traffic for the demo and the benchmark: visitors
//! arrive from campaigns, read, download, watch, fill in forms and identify.

use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*), so a seed gives the same stream.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CAMPAIGNS: &[(&str, &str, &str)] = &[
    ("pulp-line-upgrade", "google", "cpc"),
    ("pulp-line-upgrade", "linkedin", "paid_social"),
    ("spring-newsletter", "newsletter", "email"),
    ("", "google", "organic"),
    ("", "industry-news.example", "referral"),
    ("", "", "direct"),
];

const PAGES: &[(&str, &str, &str)] = &[
    ("/", "Home", "connecting"),
    (
        "/solutions/pulp-drying",
        "Pulp drying solutions",
        "connecting",
    ),
    (
        "/blog/energy-savings-in-drying",
        "Energy savings in drying",
        "educating",
    ),
    (
        "/case-studies/nordic-mill",
        "Case: a Nordic mill",
        "educating",
    ),
    (
        "/webinars/predictive-maintenance",
        "Webinar: predictive maintenance",
        "educating",
    ),
    ("/pricing", "Pricing and service plans", "closing"),
    ("/contact", "Contact sales", "closing"),
];

const PEOPLE: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Aino",
        "Virtanen",
        "Mill Manager",
        "Nordic Pulp Oy",
        "nordicpulp.fi",
    ),
    (
        "Marco",
        "Bianchi",
        "Maintenance Engineer",
        "Cartiera Alpina",
        "cartiera-alpina.it",
    ),
    ("Ingrid", "Hansen", "CFO", "Fjord Paper AS", "fjordpaper.no"),
    (
        "Sam",
        "Taylor",
        "Procurement Lead",
        "Lakeside Board Ltd",
        "lakesideboard.co.uk",
    ),
    (
        "Eeva",
        "Korhonen",
        "Production Director",
        "Saimaa Board",
        "saimaaboard.fi",
    ),
];

/// Millisecond timestamps as Segment writes them.
pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The events of one visitor's journey, in time order.
pub fn journey(rng: &mut Seeded, visitor: usize, start_ms: i64) -> Vec<Value> {
    let anon = format!("anon-{visitor:06}-{:08x}", rng.next() as u32);
    let (campaign, source, medium) = *rng.pick(CAMPAIGNS);
    let mut t = start_ms + rng.below(3_600_000) as i64;
    let mut events = Vec::new();
    let mut seq = 0;
    let id = |seq: &mut usize| {
        *seq += 1;
        format!("{anon}-{seq}")
    };
    let context = |page: &(&str, &str, &str)| {
        let mut search = String::new();
        if !source.is_empty() {
            search = format!("?utm_source={source}&utm_medium={medium}");
            if !campaign.is_empty() {
                search.push_str(&format!("&utm_campaign={campaign}"));
            }
        }
        json!({
            "page": {
                "url": format!("https://www.example-drying.com{}{search}", page.0),
                "path": page.0,
                "title": page.1,
                "search": search,
                "referrer": if medium == "referral" { "https://industry-news.example/article" } else { "" },
            },
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "ip": "203.0.113.7",
            "library": {"name": "analytics.js", "version": "4.1.0"},
        })
    };
    let views = 1 + rng.below(6);
    for _ in 0..views {
        let page = *rng.pick(PAGES);
        t += 20_000 + rng.below(300_000) as i64;
        events.push(json!({
            "type": "page",
            "messageId": id(&mut seq),
            "anonymousId": anon,
            "name": page.1,
            "properties": {"url": format!("https://www.example-drying.com{}", page.0), "title": page.1, "path": page.0, "content_stage": page.2},
            "context": context(&page),
            "timestamp": iso(t),
        }));
    }
    if rng.below(3) == 0 {
        t += 60_000;
        events.push(json!({
            "type": "track",
            "event": "File Downloaded",
            "messageId": id(&mut seq),
            "anonymousId": anon,
            "properties": {"asset_id": "wp-energy-2026", "title": "Whitepaper: energy in drying", "topic": "energy efficiency", "content_stage": "educating"},
            "context": context(&PAGES[2]),
            "timestamp": iso(t),
        }));
    }
    if rng.below(4) == 0 {
        t += 90_000;
        events.push(json!({
            "type": "track",
            "event": "Video Playback Started",
            "messageId": id(&mut seq),
            "anonymousId": anon,
            "properties": {"video_id": "demo-dryer-3d", "title": "Dryer section in 3D", "position": 0, "total_length": 184},
            "context": context(&PAGES[1]),
            "timestamp": iso(t),
        }));
    }
    if rng.below(3) == 0 {
        let (first, last, title, company, domain) = *rng.pick(PEOPLE);
        let email = format!(
            "{}.{}{}@{domain}",
            first.to_lowercase(),
            last.to_lowercase(),
            visitor % 97
        );
        let user = format!("user-{visitor:06}");
        t += 120_000;
        events.push(json!({
            "type": "track",
            "event": "Form Submitted",
            "messageId": id(&mut seq),
            "anonymousId": anon,
            "properties": {"form_id": "contact-sales", "email": email, "content_stage": "closing"},
            "context": context(&PAGES[6]),
            "timestamp": iso(t),
        }));
        t += 1_000;
        events.push(json!({
            "type": "identify",
            "messageId": id(&mut seq),
            "anonymousId": anon,
            "userId": user,
            "traits": {"email": email, "firstName": first, "lastName": last, "title": title, "company": company, "industry": "Pulp & Paper", "employees": 250 + rng.below(5000)},
            "context": {"consent": {"categoryPreferences": {"Marketing": rng.below(4) != 0, "Analytics": true}}},
            "timestamp": iso(t),
        }));
        t += 1_000;
        events.push(json!({
            "type": "group",
            "messageId": id(&mut seq),
            "userId": user,
            "groupId": format!("acct-{domain}"),
            "traits": {"name": company, "website": format!("https://{domain}"), "industry": "Pulp & Paper"},
            "timestamp": iso(t),
        }));
    }
    events
}

/// Cuts events into `/v1/batch` bodies of at most `size` events.
pub fn batches(events: &[Value], size: usize) -> Vec<String> {
    events
        .chunks(size.max(1))
        .map(|chunk| json!({"batch": chunk, "sentAt": iso(1_767_000_000_000)}).to_string())
        .collect()
}

/// Posts one Segment body with the write key in basic auth, as Segment's
/// libraries do. A refusal is an error carrying the server's words.
pub async fn post_segment(
    client: &reqwest::Client,
    url: &str,
    write_key: &str,
    body: String,
) -> anyhow::Result<reqwest::Response> {
    let response = client
        .post(url)
        .basic_auth(write_key, Some(""))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        anyhow::bail!(
            "refused: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    Ok(response)
}

/// A numeric response header such as `x-leadhost-stored`, 0 when absent.
pub fn count_header(r: &reqwest::Response, name: &str) -> u64 {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_segment_writes_them() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_714_566_600_250), "2024-05-01T12:30:00.250Z");
    }

    #[test]
    fn the_same_seed_gives_the_same_journeys() {
        let a = journey(&mut Seeded::new(7), 1, 0);
        let b = journey(&mut Seeded::new(7), 1, 0);
        assert_eq!(a, b);
        assert!(!a.is_empty());
        assert!(a.iter().all(|e| e["messageId"].is_string()));
    }
}

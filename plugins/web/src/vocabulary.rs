//! The words of the web channel: which Segment event names mean which
//! touchpoint kind, which `utm_medium` values mean which acquisition.
//! Pure functions, tested on their own; free mail is
//! [`leadhost_sdk::email`]'s.

use leadhost_sdk::prelude::*;

/// An event name folded for matching: lower case, words split at spaces,
/// `_`, `-`, `.` and camel-case humps, joined by one space. So `Form
/// Submitted`, `form_submitted` and `formSubmitted` all read `form submitted`.
pub fn fold_event_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut previous_lower = false;
    let mut pending_space = false;
    for c in name.chars() {
        if c.is_whitespace() || matches!(c, '_' | '-' | '.') {
            pending_space = true;
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            pending_space = true;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    out
}

/// The kind of a `track` call, by its event name: Segment's spec names
/// (B2B SaaS, e-commerce, video) and the variants sites commonly use.
/// Anything unknown is `Custom` with the name as it was sent.
pub fn track_kind(event: &str) -> TouchpointKind {
    use TouchpointKind as K;
    match fold_event_name(event).as_str() {
        "form submitted"
        | "form submit"
        | "form submission"
        | "form completed"
        | "form sent"
        | "contact form submitted"
        | "contact form sent"
        | "contact requested"
        | "contact request"
        | "contact us submitted"
        | "signed up"
        | "sign up"
        | "signup"
        | "lead created"
        | "lead submitted"
        | "lead captured"
        | "lead form submitted"
        | "demo requested"
        | "demo request"
        | "request demo"
        | "trial started"
        | "trial requested"
        | "account created"
        | "newsletter subscribed"
        | "newsletter signed up"
        | "newsletter signup"
        | "subscribed to newsletter"
        | "callback requested"
        | "consultation requested"
        | "inquiry submitted"
        | "enquiry submitted" => K::FormSubmitted,
        "file downloaded"
        | "file download"
        | "download"
        | "downloaded"
        | "whitepaper downloaded"
        | "white paper downloaded"
        | "asset downloaded"
        | "document downloaded"
        | "brochure downloaded"
        | "datasheet downloaded"
        | "data sheet downloaded"
        | "e book downloaded"
        | "ebook downloaded"
        | "case study downloaded"
        | "content downloaded"
        | "pdf downloaded" => K::Download,
        "video playback started"
        | "video playback resumed"
        | "video playback completed"
        | "video content started"
        | "video content playing"
        | "video content completed"
        | "video played"
        | "video started"
        | "video watched"
        | "video completed"
        | "video viewed" => K::VideoPlayed,
        "order completed" | "order placed" | "order submitted" | "checkout completed"
        | "purchase completed" | "purchased" => K::OrderPlaced,
        "quote requested"
        | "quote request"
        | "request quote"
        | "request a quote"
        | "quotation requested"
        | "rfq submitted" => K::QuoteRequested,
        "product added"
        | "product removed"
        | "cart viewed"
        | "cart updated"
        | "product added to cart"
        | "added to cart"
        | "add to cart"
        | "removed from cart"
        | "checkout started" => K::CartUpdated,
        "unsubscribed"
        | "unsubscribe"
        | "email unsubscribed"
        | "newsletter unsubscribed"
        | "opted out" => K::Unsubscribed,
        "webinar registered"
        | "webinar registration"
        | "event registered"
        | "event registration" => K::EventRegistered,
        _ => K::Custom(event.trim().to_owned()),
    }
}

/// What a `utm_medium` (or `context.campaign.medium`) says about how the
/// person came; `None` for values with no agreed meaning.
pub fn acquisition(medium: &str) -> Option<Acquisition> {
    let medium = medium.trim().to_ascii_lowercase();
    Some(match medium.as_str() {
        "cpc" | "ppc" | "paid" | "paidsearch" | "paid-search" | "paid_search" | "display"
        | "cpm" | "cpv" | "banner" | "paid_social" | "paid-social" | "paidsocial"
        | "retargeting" => Acquisition::Paid,
        "organic" => Acquisition::Organic,
        "referral" => Acquisition::Referral,
        "email" | "e-mail" | "newsletter" => Acquisition::Email,
        "social" | "social-media" | "social_media" | "sm" => Acquisition::Social,
        "none" | "(none)" | "direct" => Acquisition::Direct,
        _ => return None,
    })
}

/// A content stage as sites name it: the thesis' connecting / educating /
/// closing, or the marketing funnel's awareness / consideration / decision.
pub fn content_stage(stage: &str) -> Option<ContentStage> {
    Some(match stage.trim().to_ascii_lowercase().as_str() {
        "connecting" | "awareness" => ContentStage::Connecting,
        "educating" | "consideration" => ContentStage::Educating,
        "closing" | "decision" => ContentStage::Closing,
        _ => return None,
    })
}

/// The host of a website given as a URL or a bare domain, lower case and
/// without `www.`: `https://www.Acme.com/about` is `acme.com`.
pub fn domain_of(website: &str) -> Option<String> {
    let s = website.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split_once(':').map_or(host, |(h, _)| h);
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").map(str::to_owned).unwrap_or(host);
    (host.contains('.') && !host.starts_with('.')).then_some(host)
}

/// Whether an id looks like an anonymous device id rather than a user id:
/// a UUID (with or without dashes), as Segment's libraries generate, or an
/// id that says so.
pub fn looks_anonymous(id: &str) -> bool {
    let id = id.trim();
    let hex: usize = id.bytes().filter(u8::is_ascii_hexdigit).count();
    let dashes = id.bytes().filter(|&b| b == b'-').count();
    let uuid = hex == 32 && hex + dashes == id.len() && (dashes == 0 || dashes == 4);
    uuid || id.to_ascii_lowercase().starts_with("anon")
}

/// A country as ISO 3166-1 alpha-2 when it is one, as given otherwise.
pub fn country(value: &str) -> String {
    let value = value.trim();
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        value.to_ascii_uppercase()
    } else {
        value.to_owned()
    }
}

/// A company size from a number or a numeric string (`"1,200"`); ranges
/// like `"51-200"` are not a size.
pub fn company_size(value: f64) -> Option<u32> {
    (value >= 0.0 && value.fract() == 0.0 && value <= u32::MAX as f64).then_some(value as u32)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn event_names_fold_across_spellings() {
        assert_eq!(fold_event_name("Form Submitted"), "form submitted");
        assert_eq!(fold_event_name("form_submitted"), "form submitted");
        assert_eq!(fold_event_name("formSubmitted"), "form submitted");
        assert_eq!(
            fold_event_name("  Video   Playback-Started "),
            "video playback started"
        );
        assert_eq!(fold_event_name("eBook Downloaded"), "e book downloaded");
        assert_eq!(fold_event_name("PDF Downloaded"), "pdf downloaded");
    }

    #[test]
    fn track_events_map_to_kinds() {
        use TouchpointKind as K;
        let cases = [
            ("Form Submitted", K::FormSubmitted),
            ("Signed Up", K::FormSubmitted),
            ("Lead Created", K::FormSubmitted),
            ("Contact Form Submitted", K::FormSubmitted),
            ("demo_requested", K::FormSubmitted),
            ("File Downloaded", K::Download),
            ("Download", K::Download),
            ("Whitepaper Downloaded", K::Download),
            ("Asset Downloaded", K::Download),
            ("Video Playback Started", K::VideoPlayed),
            ("Video Content Started", K::VideoPlayed),
            ("Video Content Playing", K::VideoPlayed),
            ("Video Played", K::VideoPlayed),
            ("Order Completed", K::OrderPlaced),
            ("Quote Requested", K::QuoteRequested),
            ("Product Added", K::CartUpdated),
            ("Cart Viewed", K::CartUpdated),
            ("Unsubscribed", K::Unsubscribed),
            ("Webinar Registered", K::EventRegistered),
        ];
        for (name, kind) in cases {
            assert_eq!(track_kind(name), kind, "{name}");
        }
        assert_eq!(
            track_kind(" Pricing Calculator Used "),
            K::Custom("Pricing Calculator Used".into())
        );
    }

    #[test]
    fn mediums_map_to_acquisition() {
        for paid in [
            "cpc",
            "PPC",
            "paid",
            "paidsearch",
            "paid-search",
            "display",
            "cpm",
            "banner",
            "paid_social",
        ] {
            assert_eq!(acquisition(paid), Some(Acquisition::Paid), "{paid}");
        }
        assert_eq!(acquisition("organic"), Some(Acquisition::Organic));
        assert_eq!(acquisition("referral"), Some(Acquisition::Referral));
        assert_eq!(acquisition("Email"), Some(Acquisition::Email));
        assert_eq!(acquisition("newsletter"), Some(Acquisition::Email));
        assert_eq!(acquisition("social"), Some(Acquisition::Social));
        assert_eq!(acquisition("(none)"), Some(Acquisition::Direct));
        assert_eq!(acquisition("direct"), Some(Acquisition::Direct));
        assert_eq!(acquisition("print"), None);
    }

    #[test]
    fn content_stages_accept_both_vocabularies() {
        assert_eq!(content_stage("Connecting"), Some(ContentStage::Connecting));
        assert_eq!(content_stage("awareness"), Some(ContentStage::Connecting));
        assert_eq!(
            content_stage("consideration"),
            Some(ContentStage::Educating)
        );
        assert_eq!(content_stage("DECISION"), Some(ContentStage::Closing));
        assert_eq!(content_stage("retention"), None);
    }

    #[test]
    fn websites_reduce_to_domains() {
        assert_eq!(
            domain_of("https://www.Acme.com/about?x=1").as_deref(),
            Some("acme.com")
        );
        assert_eq!(domain_of("acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(
            domain_of("http://acme.com:8080").as_deref(),
            Some("acme.com")
        );
        assert_eq!(domain_of("localhost"), None);
        assert_eq!(domain_of(""), None);
    }

    #[test]
    fn anonymous_ids_are_told_from_user_ids() {
        assert!(looks_anonymous("507f191e-810c-1972-9de8-60ea00000000"));
        assert!(looks_anonymous("507f191e810c19729de860ea00000000"));
        assert!(looks_anonymous("anon-17"));
        assert!(!looks_anonymous("019mr8mf4r"));
        assert!(!looks_anonymous("12345"));
        assert!(!looks_anonymous("jane@nordmill.fi"));
    }

    #[test]
    fn countries_and_sizes_normalise() {
        assert_eq!(country(" fi "), "FI");
        assert_eq!(country("Finland"), "Finland");
        assert_eq!(company_size(1200.0), Some(1200));
        assert_eq!(company_size(12.5), None);
        assert_eq!(company_size(-1.0), None);
    }
}

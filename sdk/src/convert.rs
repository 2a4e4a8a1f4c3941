//! Conversions between the SDK's plain types and the generated bindings.
//! Kept in one place so the generated names never reach plugin code.

use crate::types::*;
use crate::wit::leadhost::channel::types as w;

/// Maps fieldless enums case by case, in both directions.
macro_rules! enum_map {
    ($plain:ident <=> $wit:path { $($case:ident),* $(,)? }) => {
        impl From<$plain> for $wit {
            fn from(v: $plain) -> Self {
                match v { $($plain::$case => <$wit>::$case),* }
            }
        }
        impl From<$wit> for $plain {
            fn from(v: $wit) -> Self {
                match v { $(<$wit>::$case => $plain::$case),* }
            }
        }
    };
}

enum_map!(Channel <=> w::Channel { Web, Email, Social, Eservices, Portal, Events, Other });
enum_map!(ContentStage <=> w::ContentStage { Connecting, Educating, Closing });
enum_map!(Acquisition <=> w::Acquisition { Organic, Paid, Referral, Direct, Email, Social });
enum_map!(ConfigType <=> w::ConfigType { Text, Integer, Boolean, Url });
enum_map!(RejectionReason <=> w::RejectionReason {
    UnreachableRecipient, OptedOut, ContentRefused, Misconfigured, Unsupported, Other
});

/// Maps the touchpoint kinds, the fieldless cases and `custom`.
macro_rules! kind_map {
    ($($case:ident),* $(,)?) => {
        impl From<TouchpointKind> for w::TouchpointKind {
            fn from(v: TouchpointKind) -> Self {
                match v {
                    $(TouchpointKind::$case => w::TouchpointKind::$case,)*
                    TouchpointKind::Custom(s) => w::TouchpointKind::Custom(s),
                }
            }
        }
        impl From<w::TouchpointKind> for TouchpointKind {
            fn from(v: w::TouchpointKind) -> Self {
                match v {
                    $(w::TouchpointKind::$case => TouchpointKind::$case,)*
                    w::TouchpointKind::Custom(s) => TouchpointKind::Custom(s),
                }
            }
        }
    };
}

kind_map!(
    PageView,
    ScreenView,
    FormSubmitted,
    Download,
    VideoPlayed,
    Identified,
    AccountLinked,
    Alias,
    EmailDelivered,
    EmailOpened,
    EmailClicked,
    EmailBounced,
    EmailComplained,
    Unsubscribed,
    SocialLeadForm,
    SocialEngagement,
    OrderPlaced,
    QuoteRequested,
    CartUpdated,
    PortalLogin,
    SupportTicket,
    EquipmentRegistered,
    UsageAlert,
    EventRegistered,
    EventAttended,
    BadgeScanned,
    EventNoShow,
);

fn attrs_out(v: Vec<Attribute>) -> Vec<w::Attribute> {
    v.into_iter()
        .map(|a| w::Attribute {
            name: a.name,
            value: a.value,
        })
        .collect()
}

fn attrs_in(v: Vec<w::Attribute>) -> Vec<Attribute> {
    v.into_iter()
        .map(|a| Attribute {
            name: a.name,
            value: a.value,
        })
        .collect()
}

fn headers_out(v: Vec<(String, String)>) -> Vec<w::Header> {
    v.into_iter()
        .map(|(name, value)| w::Header { name, value })
        .collect()
}

fn headers_in(v: Vec<w::Header>) -> Vec<(String, String)> {
    v.into_iter().map(|h| (h.name, h.value)).collect()
}

impl From<Identities> for w::Identities {
    fn from(i: Identities) -> Self {
        w::Identities {
            email: i.email,
            phone: i.phone,
            anonymous_id: i.anonymous_id,
            user_id: i.user_id,
            crm_id: i.crm_id,
            social_handle: i.social_handle,
            company_domain: i.company_domain,
            account_id: i.account_id,
        }
    }
}

impl From<w::Identities> for Identities {
    fn from(i: w::Identities) -> Self {
        Identities {
            email: i.email,
            phone: i.phone,
            anonymous_id: i.anonymous_id,
            user_id: i.user_id,
            crm_id: i.crm_id,
            social_handle: i.social_handle,
            company_domain: i.company_domain,
            account_id: i.account_id,
        }
    }
}

impl From<Touchpoint> for w::Touchpoint {
    fn from(t: Touchpoint) -> Self {
        let Traits {
            first_name,
            last_name,
            job_title,
            company,
            industry,
            company_size,
            country,
            other: trait_other,
        } = t.traits;
        let p = t.properties;
        w::Touchpoint {
            external_id: t.external_id,
            occurred_at: t.occurred_at,
            channel: t.channel.into(),
            kind: t.kind.into(),
            identities: t.identities.into(),
            traits: w::Traits {
                first_name,
                last_name,
                job_title,
                company,
                industry,
                company_size,
                country,
                other: attrs_out(trait_other),
            },
            properties: w::Properties {
                content_id: p.content_id,
                topic: p.topic,
                content_stage: p.content_stage.map(Into::into),
                url: p.url,
                title: p.title,
                referrer: p.referrer,
                campaign: p.campaign,
                source: p.source,
                medium: p.medium.map(Into::into),
                amount: p.amount,
                currency: p.currency,
                other: attrs_out(p.other),
            },
            consent: t
                .consent
                .into_iter()
                .map(|c| w::ConsentSignal {
                    purpose: c.purpose,
                    channel: c.channel.map(Into::into),
                    granted: c.granted,
                })
                .collect(),
        }
    }
}

impl From<w::HttpRequest> for Request {
    fn from(r: w::HttpRequest) -> Self {
        Request {
            method: r.method,
            path: r.path,
            query: r.query,
            headers: headers_in(r.headers),
            body: r.body,
        }
    }
}

impl From<Response> for w::HttpResponse {
    fn from(r: Response) -> Self {
        w::HttpResponse {
            status: r.status,
            headers: headers_out(r.headers),
            body: r.body,
        }
    }
}

impl From<Ingested> for w::Ingested {
    fn from(i: Ingested) -> Self {
        w::Ingested {
            touchpoints: i.touchpoints.into_iter().map(Into::into).collect(),
            reply: i.reply.into(),
        }
    }
}

impl From<IngestError> for w::IngestError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Unauthorized(m) => w::IngestError::Unauthorized(m),
            IngestError::Malformed(m) => w::IngestError::Malformed(m),
            IngestError::NotFound(m) => w::IngestError::NotFound(m),
            IngestError::TooLarge(m) => w::IngestError::TooLarge(m),
            IngestError::Misconfigured(m) => w::IngestError::Misconfigured(m),
            IngestError::Internal(m) => w::IngestError::Internal(m),
        }
    }
}

impl From<Polled> for w::Polled {
    fn from(p: Polled) -> Self {
        w::Polled {
            touchpoints: p.touchpoints.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
            more: p.more,
        }
    }
}

impl From<PollError> for w::PollError {
    fn from(e: PollError) -> Self {
        match e {
            PollError::Unsupported => w::PollError::Unsupported,
            PollError::Unauthorized(m) => w::PollError::Unauthorized(m),
            PollError::RetryAfter(s) => w::PollError::RetryAfter(s),
            PollError::Misconfigured(m) => w::PollError::Misconfigured(m),
            PollError::Internal(m) => w::PollError::Internal(m),
        }
    }
}

impl From<w::Message> for Message {
    fn from(m: w::Message) -> Self {
        Message {
            idempotency_key: m.idempotency_key,
            recipient: m.recipient.into(),
            recipient_name: m.recipient_name,
            subject: m.subject,
            text: m.text,
            html: m.html,
            content_id: m.content_id,
            campaign: m.campaign,
            other: attrs_in(m.other),
        }
    }
}

impl From<Delivery> for w::Delivery {
    fn from(d: Delivery) -> Self {
        match d {
            Delivery::Accepted(id) => w::Delivery::Accepted(id),
            Delivery::RetryAfter(s) => w::Delivery::RetryAfter(s),
            Delivery::Rejected(r) => w::Delivery::Rejected(w::Rejection {
                reason: r.reason.into(),
                message: r.message,
            }),
        }
    }
}

impl From<Manifest> for w::Manifest {
    fn from(m: Manifest) -> Self {
        let mut operations = w::Operations::empty();
        operations.set(w::Operations::INGEST, m.operations.ingest);
        operations.set(w::Operations::POLL, m.operations.poll);
        operations.set(w::Operations::DELIVER, m.operations.deliver);
        w::Manifest {
            name: m.name,
            version: m.version,
            description: m.description,
            channels: m.channels.into_iter().map(Into::into).collect(),
            operations,
            config: m
                .config
                .into_iter()
                .map(|c| w::ConfigField {
                    name: c.name,
                    description: c.description,
                    value_type: c.value_type.into(),
                    required: c.required,
                    default_value: c.default_value,
                })
                .collect(),
            secrets: m
                .secrets
                .into_iter()
                .map(|s| w::SecretField {
                    name: s.name,
                    description: s.description,
                    required: s.required,
                })
                .collect(),
            capabilities: w::Capabilities {
                outbound_hosts: m.capabilities.outbound_hosts,
                state: m.capabilities.state,
            },
        }
    }
}

//! The contract versions this host speaks, and one adapter per version that
//! turns its generated types into the domain's. Released versions are frozen:
//! a breaking version gets a new module next to this one, the old one stays;
//! a patch release only adds, and its line's module speaks every patch.

/// `leadhost:channel@0.1.x`: bindings of the newest patch, 0.1.1. A component
/// of an earlier patch names its imports and exports `@0.1.0`; wasmtime
/// matches those to the `@0.1.1` definitions, which are the same plus what
/// the patch added (the optional `batch-delivery` export).
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "leadhost:channel/batch-connector",
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::sync::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "leadhost:channel/secrets.secret": crate::capabilities::secrets::SecretHandle,
        },
        require_store_data_send: true,
    });

    use leadhost::channel::types as w;
    use leadhost_core as domain;

    /// The name of the interface every connector of this line exports.
    pub const EXPORT: &str = "leadhost:channel/plugin@0.1.1";
    /// The optional batch export (0.1.1).
    pub const BATCH_EXPORT: &str = "leadhost:channel/batch-delivery@0.1.1";
    /// The prefix of this line's export names, before the patch number.
    const LINE: &str = "leadhost:channel/plugin@0.1.";
    /// The released patches of this line, newest first.
    pub const RELEASED: &[&str] = &["leadhost:channel@0.1.1", "leadhost:channel@0.1.0"];

    /// The contract a component speaks when it exports `name`, if that is
    /// this line's `plugin` export: `leadhost:channel@0.1.N`.
    pub fn contract_of(name: &str) -> Option<String> {
        let patch = name.strip_prefix(LINE)?;
        patch.parse::<u32>().ok()?;
        Some(format!("leadhost:channel@0.1.{patch}"))
    }

    macro_rules! enum_into {
        ($from:path => $to:path { $($case:ident),* $(,)? }) => {
            impl From<$from> for $to {
                fn from(v: $from) -> Self {
                    match v { $(<$from>::$case => <$to>::$case),* }
                }
            }
        };
    }

    enum_into!(w::Channel => domain::Channel { Web, Email, Social, Eservices, Portal, Events, Other });
    enum_into!(w::ContentStage => domain::ContentStage { Connecting, Educating, Closing });
    enum_into!(w::Acquisition => domain::Acquisition { Organic, Paid, Referral, Direct, Email, Social });
    enum_into!(w::ConfigType => domain::ConfigType { Text, Integer, Boolean, Url });

    macro_rules! kind_into {
        ($($case:ident),* $(,)?) => {
            impl From<w::TouchpointKind> for domain::TouchpointKind {
                fn from(v: w::TouchpointKind) -> Self {
                    match v {
                        $(w::TouchpointKind::$case => domain::TouchpointKind::$case,)*
                        w::TouchpointKind::Custom(s) => domain::TouchpointKind::Custom(s),
                    }
                }
            }
        };
    }

    kind_into!(
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

    fn attrs(v: Vec<w::Attribute>) -> Vec<domain::Attribute> {
        v.into_iter()
            .map(|a| domain::Attribute {
                name: a.name,
                value: a.value,
            })
            .collect()
    }

    impl From<w::Touchpoint> for domain::Touchpoint {
        fn from(t: w::Touchpoint) -> Self {
            let i = t.identities;
            let tr = t.traits;
            let p = t.properties;
            domain::Touchpoint {
                external_id: t.external_id,
                occurred_at: t.occurred_at,
                channel: t.channel.into(),
                kind: t.kind.into(),
                identities: domain::Identities {
                    email: i.email,
                    phone: i.phone,
                    anonymous_id: i.anonymous_id,
                    user_id: i.user_id,
                    crm_id: i.crm_id,
                    social_handle: i.social_handle,
                    company_domain: i.company_domain,
                    account_id: i.account_id,
                },
                traits: domain::Traits {
                    first_name: tr.first_name,
                    last_name: tr.last_name,
                    job_title: tr.job_title,
                    company: tr.company,
                    industry: tr.industry,
                    company_size: tr.company_size,
                    country: tr.country,
                    other: attrs(tr.other),
                },
                properties: domain::Properties {
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
                    other: attrs(p.other),
                },
                consent: t
                    .consent
                    .into_iter()
                    .map(|c| domain::ConsentSignal {
                        purpose: c.purpose,
                        channel: c.channel.map(Into::into),
                        granted: c.granted,
                    })
                    .collect(),
            }
        }
    }

    fn attrs_out(v: &[domain::Attribute]) -> Vec<w::Attribute> {
        v.iter()
            .map(|a| w::Attribute {
                name: a.name.clone(),
                value: a.value.clone(),
            })
            .collect()
    }

    impl From<&domain::Message> for w::Message {
        fn from(m: &domain::Message) -> Self {
            let i = &m.recipient;
            w::Message {
                idempotency_key: m.idempotency_key.clone(),
                recipient: w::Identities {
                    email: i.email.clone(),
                    phone: i.phone.clone(),
                    anonymous_id: i.anonymous_id.clone(),
                    user_id: i.user_id.clone(),
                    crm_id: i.crm_id.clone(),
                    social_handle: i.social_handle.clone(),
                    company_domain: i.company_domain.clone(),
                    account_id: i.account_id.clone(),
                },
                recipient_name: m.recipient_name.clone(),
                subject: m.subject.clone(),
                text: m.text.clone(),
                html: m.html.clone(),
                content_id: m.content_id.clone(),
                campaign: m.campaign.clone(),
                other: attrs_out(&m.other),
            }
        }
    }

    enum_into!(w::RejectionReason => domain::RejectionReason {
        UnreachableRecipient, OptedOut, ContentRefused, Misconfigured, Unsupported, Other
    });

    impl From<w::Delivery> for domain::DeliveryOutcome {
        fn from(d: w::Delivery) -> Self {
            match d {
                w::Delivery::Accepted(provider_id) => {
                    domain::DeliveryOutcome::Accepted { provider_id }
                }
                w::Delivery::RetryAfter(seconds) => domain::DeliveryOutcome::RetryAfter { seconds },
                w::Delivery::Rejected(r) => domain::DeliveryOutcome::Rejected {
                    reason: r.reason.into(),
                    message: r.message,
                },
            }
        }
    }

    impl From<w::Manifest> for domain::Manifest {
        fn from(m: w::Manifest) -> Self {
            domain::Manifest {
                name: m.name,
                version: m.version,
                description: m.description,
                channels: m.channels.into_iter().map(Into::into).collect(),
                operations: domain::Operations {
                    ingest: m.operations.contains(w::Operations::INGEST),
                    poll: m.operations.contains(w::Operations::POLL),
                    deliver: m.operations.contains(w::Operations::DELIVER),
                },
                config: m
                    .config
                    .into_iter()
                    .map(|c| domain::ConfigField {
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
                    .map(|s| domain::SecretField {
                        name: s.name,
                        description: s.description,
                        required: s.required,
                    })
                    .collect(),
                capabilities: domain::Capabilities {
                    outbound_hosts: m.capabilities.outbound_hosts,
                    state: m.capabilities.state,
                },
            }
        }
    }
}

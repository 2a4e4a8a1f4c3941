//! Identity resolution: every touchpoint is linked to a person at once.
//!
//! The [`IdentityGraph`] is in memory; the store persists it. It maps every
//! normalized [`Identity`] to exactly one live (canonical) person.
//!
//! # Resolution
//!
//! A touchpoint's identities are taken strongest first
//! (crm id > user id > email > phone > social handle > anonymous id). The
//! touchpoint goes to the person of the strongest identity already known;
//! identities not known yet are added to that person. When the touchpoint
//! carries identities of two different people (the anonymous id of a visitor
//! and the email of a known lead) they are merged: the older person
//! (earliest `first_seen`, then lowest id) survives, the absorbed person's
//! identities move to the survivor and the merge is logged with its cause
//! (the touchpoint's external id and the identity that linked them). Callers
//! that recorded earlier touchpoints against the absorbed person look up
//! [`IdentityGraph::canonical`], so that behaviour now counts for the survivor.
//! A touchpoint without a timestamp is dated at the latest time the graph has
//! seen. A touchpoint without any person identity gets a new person of its
//! own, since nothing links it to anyone.
//!
//! # Conflicts
//!
//! CRM ids and user ids are exclusive: a person holds at most one of each.
//! Two people whose CRM ids (or user ids) differ are never merged
//! automatically, and an identity is never attached where it would give a
//! person a second one. Instead the touchpoint stays with the person of its
//! strongest identity and a [`Conflict`] is reported for every link that was
//! not made. Nothing is dropped: an identity that is already known stays with
//! the person holding it, and a new exclusive identity that cannot join the
//! resolved person gets a person of its own (reported in the conflict).
//!
//! # Unmerge
//!
//! [`IdentityGraph::unmerge`] undoes a merge exactly: the merge record keeps
//! the identities the absorbed person brought, and they go back to it;
//! identities the survivor gained after the merge stay with the survivor. A
//! merge can be undone only while its survivor is still canonical: if the
//! survivor was itself absorbed by a later merge, that later merge must be
//! undone first (the error names it). An undone merge is kept in the log with
//! `undone: true`; a later touchpoint that links the two people again is new
//! evidence and merges them again as a new, separately logged merge. What an
//! unmerge does not narrow: the survivor's `first_seen`/`last_seen` keep the
//! span they reached, and an account the survivor already had stays (an
//! account it only took over from the absorbed person is cleared again).
//! Touchpoints the caller recorded against the absorbed person count for it
//! again through [`IdentityGraph::canonical`]; the linking touchpoint itself
//! stays with the survivor it was resolved to.
//!
//! # Accounts
//!
//! People join an account by an explicit account id, else by company domain
//! (the touchpoint's company domain, else its email's domain). Free-mail
//! domains (gmail.com and the like) never make an account. A new account id
//! whose domain already has an account joins that account. An explicit
//! account id moves a person to its account; a domain only gives an account
//! to a person that has none.

mod account;
mod graph;
#[cfg(test)]
mod tests;

pub use account::{Account, is_free_mail, normalize_domain};
pub use graph::IdentityGraph;

use crate::touchpoint::{Identities, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A person in the identity graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PersonId(pub u64);

/// An account (a company) in the identity graph.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct AccountId(pub u64);

/// One logged merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MergeId(pub u64);

/// One normalized identity of a person. Variants are declared strongest
/// first, so the derived order is the resolution order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Identity {
    /// The CRM's record id. Exclusive: one per person.
    CrmId(String),
    /// The tenant's own user id (portal, eServices). Exclusive: one per person.
    UserId(String),
    /// An email address, trimmed and lower-cased.
    Email(String),
    /// A phone number: its digits, with a leading `+` if it had one.
    Phone(String),
    /// A social handle, trimmed, lower-cased, without a leading `@`.
    SocialHandle(String),
    /// An anonymous (cookie or device) id.
    AnonymousId(String),
}

impl Identity {
    /// A normalized email, or `None` when nothing is left.
    pub fn email(raw: &str) -> Option<Identity> {
        non_empty(raw.trim().to_lowercase()).map(Identity::Email)
    }

    /// A normalized phone number, or `None` when it has no digits.
    pub fn phone(raw: &str) -> Option<Identity> {
        let raw = raw.trim();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let plus = if raw.starts_with('+') { "+" } else { "" };
        Some(Identity::Phone(format!("{plus}{digits}")))
    }

    /// A normalized anonymous id (trimmed; ids are case-sensitive).
    pub fn anonymous_id(raw: &str) -> Option<Identity> {
        non_empty(raw.trim().to_string()).map(Identity::AnonymousId)
    }

    /// A normalized user id (trimmed; ids are case-sensitive).
    pub fn user_id(raw: &str) -> Option<Identity> {
        non_empty(raw.trim().to_string()).map(Identity::UserId)
    }

    /// A normalized CRM id (trimmed; ids are case-sensitive).
    pub fn crm_id(raw: &str) -> Option<Identity> {
        non_empty(raw.trim().to_string()).map(Identity::CrmId)
    }

    /// A normalized social handle.
    pub fn social_handle(raw: &str) -> Option<Identity> {
        let handle = raw.trim().trim_start_matches('@').trim().to_lowercase();
        non_empty(handle).map(Identity::SocialHandle)
    }

    /// The person identities a touchpoint carries, normalized, strongest
    /// first. Company domain and account id are not person identities.
    pub fn from_touchpoint(ids: &Identities) -> Vec<Identity> {
        let mut out: Vec<Identity> = [
            ids.crm_id.as_deref().and_then(Identity::crm_id),
            ids.user_id.as_deref().and_then(Identity::user_id),
            ids.email.as_deref().and_then(Identity::email),
            ids.phone.as_deref().and_then(Identity::phone),
            ids.social_handle
                .as_deref()
                .and_then(Identity::social_handle),
            ids.anonymous_id.as_deref().and_then(Identity::anonymous_id),
        ]
        .into_iter()
        .flatten()
        .collect();
        out.sort();
        out
    }

    /// Whether a person may hold at most one identity of this kind.
    pub fn is_exclusive(&self) -> bool {
        matches!(self, Identity::CrmId(_) | Identity::UserId(_))
    }

    /// Whether it is an anonymous (cookie or device) id, which identifies
    /// nobody by itself.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Identity::AnonymousId(_))
    }

    /// Whether `self` and `other` are of the same kind.
    pub fn same_kind(&self, other: &Identity) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// The normalized value.
    pub fn value(&self) -> &str {
        match self {
            Identity::CrmId(v)
            | Identity::UserId(v)
            | Identity::Email(v)
            | Identity::Phone(v)
            | Identity::SocialHandle(v)
            | Identity::AnonymousId(v) => v,
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// A person: everything known to be one human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Its id.
    pub id: PersonId,
    /// The identities it holds now. Empty while it is merged into another.
    pub identities: BTreeSet<Identity>,
    /// The account it belongs to.
    pub account: Option<AccountId>,
    /// The person it was merged into; `None`: it is canonical.
    pub merged_into: Option<PersonId>,
    /// When it was first seen (the earliest of everything merged into it).
    pub first_seen: Timestamp,
    /// When it was last seen.
    pub last_seen: Timestamp,
}

/// Why two people were merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeCause {
    /// The external id of the touchpoint that linked them.
    pub touchpoint: String,
    /// The identity on it that belonged to the absorbed person.
    pub identity: Identity,
}

/// One merge, kept in the log even after it is undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// Its id.
    pub id: MergeId,
    /// The person that stayed.
    pub survivor: PersonId,
    /// The person merged into the survivor.
    pub absorbed: PersonId,
    /// What linked them.
    pub cause: MergeCause,
    /// When (the touchpoint's time).
    pub at: Timestamp,
    /// The identities the absorbed person brought; an unmerge gives back
    /// exactly these.
    pub brought: BTreeSet<Identity>,
    /// The account the survivor took over from the absorbed person because it
    /// had none; an unmerge clears it again if it is still that account.
    pub adopted_account: Option<AccountId>,
    /// Whether the merge was undone.
    pub undone: bool,
}

/// A link a touchpoint suggested that was not made, because it would give a
/// person two different CRM ids or user ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The touchpoint's identity that was not linked to the resolved person.
    pub identity: Identity,
    /// The person that holds `identity` (for a new identity, the person
    /// created for it).
    pub other: PersonId,
    /// The resolved person's identity it clashes with.
    pub clashes_with: Identity,
}

/// What resolving one touchpoint decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The (canonical) person the touchpoint belongs to.
    pub person: PersonId,
    /// The merges it caused, in order.
    pub merged: Vec<MergeId>,
    /// The links it suggested that were not made.
    pub conflicts: Vec<Conflict>,
    /// The person's account after the touchpoint.
    pub account: Option<AccountId>,
}

/// Why an identity-graph operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// No merge has that id.
    #[error("no merge {0:?}")]
    UnknownMerge(MergeId),
    /// The merge was already undone.
    #[error("merge {0:?} is already undone")]
    AlreadyUndone(MergeId),
    /// The merge's survivor was absorbed by a later merge, which must be
    /// undone first.
    #[error(
        "merge {merge:?} cannot be undone: its survivor was since merged away by {blocking:?}; undo that first"
    )]
    Blocked {
        /// The merge asked to be undone.
        merge: MergeId,
        /// The later merge that depends on it.
        blocking: MergeId,
    },
}

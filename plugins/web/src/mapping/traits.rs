//! Traits objects: a person's (identify `traits`, `context.traits`) or an
//! account's (group `traits`), into identities, traits and consent.

use super::{email, fill, fill_size, grant, push_other, text_cow};
use crate::vocabulary as vocab;
use crate::wire::{Address, CompanyTraits, Obj, Scalar};
use leadhost_sdk::prelude::*;
use std::borrow::Cow;

/// Whose traits an object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A person's (identify traits, `context.traits`).
    Person,
    /// An account's (group traits).
    Account,
}

/// Reads a traits object into identities, traits and consent. Fields
/// already filled are kept: the first source wins. In a `secondary` source
/// the known keys never reach `other`, and other keys only once.
pub(super) fn read_traits(
    traits: &Obj,
    role: Role,
    secondary: bool,
    tp: &mut Touchpoint,
    full_name: &mut Option<String>,
) {
    for (key, raw) in &traits.0 {
        let key = key.0.as_ref();
        let value = Scalar::of(raw);
        let t = &mut tp.traits;
        let ids = &mut tp.identities;
        // None: not a key with a meaning; Some(used): whether it was taken.
        let taken = match (key, role) {
            ("email", _) => Some(fill(&mut ids.email, email(&value))),
            ("phone", _) => Some(fill(&mut ids.phone, value.clone().text())),
            ("firstName" | "first_name", Role::Person) => {
                Some(fill(&mut t.first_name, value.clone().text()))
            }
            ("lastName" | "last_name", Role::Person) => {
                Some(fill(&mut t.last_name, value.clone().text()))
            }
            ("name", Role::Person) => Some(fill(full_name, value.clone().text())),
            ("name", Role::Account) => Some(fill(&mut t.company, value.clone().text())),
            ("title" | "jobTitle" | "job_title", Role::Person) => {
                Some(fill(&mut t.job_title, value.clone().text()))
            }
            ("company", Role::Person) => Some(match &value {
                Scalar::Nested(text) => read_company(text, tp),
                _ => fill(&mut t.company, value.clone().text()),
            }),
            ("industry", _) => Some(fill(&mut t.industry, value.clone().text())),
            ("employees" | "employee_count" | "employeeCount" | "number_of_employees", _) => {
                Some(fill_size(&mut t.company_size, &value))
            }
            ("address", _) => Some(match &value {
                Scalar::Nested(text) => serde_json::from_str::<Address>(text)
                    .ok()
                    .and_then(|a| a.country)
                    .is_some_and(|c| {
                        fill(
                            &mut t.country,
                            c.non_empty().map(vocab::country).map(Cow::Owned),
                        )
                    }),
                _ => false,
            }),
            ("country", _) => Some(fill(
                &mut t.country,
                value.clone().text().map(|c| Cow::Owned(vocab::country(&c))),
            )),
            ("website" | "domain", Role::Account) => Some(fill(
                &mut ids.company_domain,
                value
                    .clone()
                    .text()
                    .and_then(|w| vocab::domain_of(&w))
                    .map(Cow::Owned),
            )),
            ("consent" | "marketing_consent" | "marketingConsent", _) => {
                Some(value.flag().is_some_and(|granted| {
                    grant(&mut tp.consent, "marketing", granted);
                    true
                }))
            }
            _ => None,
        };
        match taken {
            Some(true) => {}
            Some(false) if secondary => {}
            _ => push_other(&mut tp.traits.other, key, value, secondary),
        }
    }
}

/// `traits.company` as an object: name, industry, size and account id.
fn read_company(text: &str, tp: &mut Touchpoint) -> bool {
    let Ok(company) = serde_json::from_str::<CompanyTraits>(text) else {
        return false;
    };
    let t = &mut tp.traits;
    let name = fill(&mut t.company, company.name.as_ref().and_then(text_cow));
    let industry = fill(
        &mut t.industry,
        company.industry.as_ref().and_then(text_cow),
    );
    let size = [&company.employee_count, &company.employees]
        .into_iter()
        .flatten()
        .any(|n| fill_size(&mut t.company_size, &Scalar::Str(n.0.clone())));
    let id = fill(
        &mut tp.identities.account_id,
        company.id.as_ref().and_then(text_cow),
    );
    name || industry || size || id
}

/// `name` splits into first and last name when neither was given.
pub(super) fn split_full_name(name: &str, traits: &mut Traits) {
    if traits.first_name.is_some() || traits.last_name.is_some() {
        return;
    }
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, last)) => {
            traits.first_name = Some(first.to_owned());
            traits.last_name = Some(last.trim().to_owned());
        }
        None => traits.first_name = Some(name.to_owned()),
    }
}

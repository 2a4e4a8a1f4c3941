//! The identity graph: people, accounts, the identity index and the merge log.

use super::{
    Account, AccountId, Conflict, Identity, IdentityError, MergeCause, MergeId, MergeRecord,
    Person, PersonId, Resolution, is_free_mail, normalize_domain,
};
use crate::touchpoint::{Timestamp, Touchpoint};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// People, accounts and merges, with every identity mapped to exactly one
/// canonical person. See the [module documentation](super) for the policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityGraph {
    /// People by id; `PersonId(n)` is at index `n - 1`.
    people: Vec<Person>,
    /// Accounts by id; `AccountId(n)` is at index `n - 1`.
    accounts: Vec<Account>,
    /// Merges by id; `MergeId(n)` is at index `n - 1`.
    merges: Vec<MergeRecord>,
    /// Every identity to the canonical person holding it.
    #[serde(with = "pairs")]
    index: HashMap<Identity, PersonId>,
    /// Explicit account ids to their account.
    account_ids: HashMap<String, AccountId>,
    /// Company domains to their account.
    domains: HashMap<String, AccountId>,
    /// The latest time seen: the date of touchpoints that carry none.
    clock: Timestamp,
}

impl IdentityGraph {
    /// An empty graph.
    pub fn new() -> IdentityGraph {
        IdentityGraph::default()
    }

    /// Links a touchpoint to a person, creating, extending and merging people
    /// as its identities say.
    pub fn resolve(&mut self, touchpoint: &Touchpoint) -> Resolution {
        let at = touchpoint.occurred_at.unwrap_or(self.clock);
        self.resolve_at(touchpoint, at)
    }

    /// [`IdentityGraph::resolve`] with the touchpoint dated `at` (for a
    /// caller that dates undated touchpoints its own way).
    pub fn resolve_at(&mut self, touchpoint: &Touchpoint, at: Timestamp) -> Resolution {
        self.clock = self.clock.max(at);
        let ids = Identity::from_touchpoint(&touchpoint.identities);

        let mut merged = Vec::new();
        let mut conflicts = Vec::new();
        // New identities seen before any known one: they go with the first
        // known person if they fit, else they found a person of their own.
        let mut pending: Vec<Identity> = Vec::new();
        let mut anchor: Option<PersonId> = None;
        // New identities that do not fit the resolved person.
        let mut spill: Vec<(Identity, Identity)> = Vec::new();

        for identity in ids {
            let Some(holder) = self.index.get(&identity).copied() else {
                match anchor {
                    None => pending.push(identity),
                    Some(p) => match self.clash_with(p, std::slice::from_ref(&identity)) {
                        None => self.attach(p, identity),
                        Some(clash) => spill.push((identity, clash)),
                    },
                }
                continue;
            };
            let holder = self.canonical(holder);
            let p = match anchor {
                Some(p) => p,
                None => {
                    if let Some(clash) = self.clash_with(holder, &pending) {
                        // The strongest identities are new and exclusive and
                        // do not fit this person: they make a person of their own.
                        let p = self.new_person(std::mem::take(&mut pending), at);
                        conflicts.push(Conflict {
                            identity: identity.clone(),
                            other: holder,
                            clashes_with: self.same_kind_of(p, &clash),
                        });
                        anchor = Some(p);
                        continue;
                    }
                    for new in std::mem::take(&mut pending) {
                        self.attach(holder, new);
                    }
                    anchor = Some(holder);
                    continue;
                }
            };
            if p == holder {
                continue;
            }
            let theirs: Vec<Identity> =
                self.person_ref(holder).identities.iter().cloned().collect();
            match self.clash_with(p, &theirs) {
                None => {
                    let id = self.merge(p, holder, &touchpoint.external_id, identity, at);
                    anchor = Some(self.merges[index(id.0)].survivor);
                    merged.push(id);
                }
                Some(clash) => conflicts.push(Conflict {
                    identity,
                    other: holder,
                    clashes_with: self.same_kind_of(p, &clash),
                }),
            }
        }

        let person = match anchor {
            Some(p) => p,
            None => self.new_person(pending, at),
        };
        if !spill.is_empty() {
            let ids: Vec<Identity> = spill.iter().map(|(i, _)| i.clone()).collect();
            let other = self.new_person(ids, at);
            for (identity, clash) in spill {
                conflicts.push(Conflict {
                    identity,
                    other,
                    clashes_with: self.same_kind_of(person, &clash),
                });
            }
        }

        let account = self.account_for(touchpoint);
        let p = self.person_mut(person);
        p.first_seen = p.first_seen.min(at);
        p.last_seen = p.last_seen.max(at);
        if let Some((account, explicit)) = account
            && (explicit || p.account.is_none())
        {
            p.account = Some(account);
        }
        Resolution {
            person,
            merged,
            conflicts,
            account: p.account,
        }
    }

    /// The person `id` counts as now: itself, or the person it was merged
    /// into, followed to the end. An unknown id is returned as is.
    pub fn canonical(&self, id: PersonId) -> PersonId {
        let mut current = id;
        // Each step goes to a person merged later than the one before, so
        // the chain ends; the bound only guards against a corrupt graph.
        for _ in 0..=self.people.len() {
            match self.person(current).and_then(|p| p.merged_into) {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }

    /// A person by id.
    pub fn person(&self, id: PersonId) -> Option<&Person> {
        id.0.checked_sub(1)
            .and_then(|i| self.people.get(i as usize))
    }

    /// Every person, merged away or not, by id.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// The canonical person holding a (normalized) identity.
    pub fn person_of(&self, identity: &Identity) -> Option<PersonId> {
        self.index.get(identity).map(|p| self.canonical(*p))
    }

    /// An account by id.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        id.0.checked_sub(1)
            .and_then(|i| self.accounts.get(i as usize))
    }

    /// Every account, by id.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The merge log, oldest first, undone merges included.
    pub fn merges(&self) -> &[MergeRecord] {
        &self.merges
    }

    /// Undoes a merge: the absorbed person gets back exactly the identities
    /// it brought and is canonical again. Refused while the survivor is
    /// merged into someone else by a later merge.
    pub fn unmerge(&mut self, id: MergeId) -> Result<(), IdentityError> {
        let record =
            id.0.checked_sub(1)
                .and_then(|i| self.merges.get(i as usize))
                .ok_or(IdentityError::UnknownMerge(id))?;
        if record.undone {
            return Err(IdentityError::AlreadyUndone(id));
        }
        let (survivor, absorbed) = (record.survivor, record.absorbed);
        if self.person_ref(survivor).merged_into.is_some() {
            let blocking = self
                .merges
                .iter()
                .rev()
                .find(|m| !m.undone && m.absorbed == survivor)
                .map_or(id, |m| m.id);
            return Err(IdentityError::Blocked {
                merge: id,
                blocking,
            });
        }
        let brought = record.brought.clone();
        let adopted = record.adopted_account;
        let s = self.person_mut(survivor);
        for identity in &brought {
            s.identities.remove(identity);
        }
        if adopted.is_some() && s.account == adopted {
            s.account = None;
        }
        for identity in &brought {
            self.index.insert(identity.clone(), absorbed);
        }
        let a = self.person_mut(absorbed);
        a.identities = brought;
        a.merged_into = None;
        self.merges[index(id.0)].undone = true;
        Ok(())
    }

    /// Merges two canonical people; the older survives. Returns the merge.
    fn merge(
        &mut self,
        a: PersonId,
        b: PersonId,
        touchpoint: &str,
        identity: Identity,
        at: Timestamp,
    ) -> MergeId {
        let older = |p: &Person| (p.first_seen, p.id);
        let (survivor, absorbed) = if older(self.person_ref(a)) <= older(self.person_ref(b)) {
            (a, b)
        } else {
            (b, a)
        };
        let absorbed_person = self.person_mut(absorbed);
        let brought = std::mem::take(&mut absorbed_person.identities);
        absorbed_person.merged_into = Some(survivor);
        let (first, last, account) = (
            absorbed_person.first_seen,
            absorbed_person.last_seen,
            absorbed_person.account,
        );
        for moved in &brought {
            self.index.insert(moved.clone(), survivor);
        }
        let s = self.person_mut(survivor);
        s.identities.extend(brought.iter().cloned());
        s.first_seen = s.first_seen.min(first);
        s.last_seen = s.last_seen.max(last);
        let adopted_account = if s.account.is_none() && account.is_some() {
            s.account = account;
            account
        } else {
            None
        };
        let id = MergeId(self.merges.len() as u64 + 1);
        self.merges.push(MergeRecord {
            id,
            survivor,
            absorbed,
            cause: MergeCause {
                touchpoint: touchpoint.to_string(),
                identity,
            },
            at,
            brought,
            adopted_account,
            undone: false,
        });
        id
    }

    /// The first of `identities` that would give `person` a second
    /// exclusive identity of its kind.
    fn clash_with(&self, person: PersonId, identities: &[Identity]) -> Option<Identity> {
        let held = &self.person_ref(person).identities;
        identities
            .iter()
            .filter(|i| i.is_exclusive())
            .find(|i| held.iter().any(|h| h.same_kind(i) && h != *i))
            .cloned()
    }

    /// The identity `person` holds of the same kind as `like`.
    fn same_kind_of(&self, person: PersonId, like: &Identity) -> Identity {
        self.person_ref(person)
            .identities
            .iter()
            .find(|h| h.same_kind(like))
            .cloned()
            .unwrap_or_else(|| like.clone())
    }

    fn attach(&mut self, person: PersonId, identity: Identity) {
        self.index.insert(identity.clone(), person);
        self.person_mut(person).identities.insert(identity);
    }

    fn new_person(&mut self, identities: Vec<Identity>, at: Timestamp) -> PersonId {
        let id = PersonId(self.people.len() as u64 + 1);
        for identity in &identities {
            self.index.insert(identity.clone(), id);
        }
        self.people.push(Person {
            id,
            identities: identities.into_iter().collect(),
            account: None,
            merged_into: None,
            first_seen: at,
            last_seen: at,
        });
        id
    }

    /// The touchpoint's account, found or created, and whether it was named
    /// explicitly (by account id) rather than guessed from a domain.
    fn account_for(&mut self, touchpoint: &Touchpoint) -> Option<(AccountId, bool)> {
        let ids = &touchpoint.identities;
        let domain = ids
            .company_domain
            .as_deref()
            .or_else(|| {
                ids.email
                    .as_deref()
                    .and_then(|e| e.rsplit_once('@'))
                    .map(|(_, d)| d)
            })
            .and_then(normalize_domain)
            .filter(|d| !is_free_mail(d));
        let explicit = ids
            .account_id
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        if let Some(account_id) = explicit {
            let id = match self.account_ids.get(account_id) {
                Some(id) => *id,
                None => {
                    let id = match domain.as_ref().and_then(|d| self.domains.get(d)) {
                        Some(id) => *id,
                        None => self.new_account(),
                    };
                    self.account_ids.insert(account_id.to_string(), id);
                    self.account_mut(id)
                        .account_ids
                        .insert(account_id.to_string());
                    id
                }
            };
            if let Some(d) = domain
                && !self.domains.contains_key(&d)
                && self.account_mut(id).domain.is_none()
            {
                self.account_mut(id).domain = Some(d.clone());
                self.domains.insert(d, id);
            }
            return Some((id, true));
        }
        let d = domain?;
        let id = match self.domains.get(&d) {
            Some(id) => *id,
            None => {
                let id = self.new_account();
                self.account_mut(id).domain = Some(d.clone());
                self.domains.insert(d, id);
                id
            }
        };
        Some((id, false))
    }

    fn new_account(&mut self) -> AccountId {
        let id = AccountId(self.accounts.len() as u64 + 1);
        self.accounts.push(Account {
            id,
            domain: None,
            account_ids: BTreeSet::new(),
        });
        id
    }

    // Ids are handed out only by this graph, densely from 1, and never
    // removed, so the accessors below index in bounds.
    fn person_ref(&self, id: PersonId) -> &Person {
        &self.people[index(id.0)]
    }

    fn person_mut(&mut self, id: PersonId) -> &mut Person {
        &mut self.people[index(id.0)]
    }

    fn account_mut(&mut self, id: AccountId) -> &mut Account {
        &mut self.accounts[index(id.0)]
    }
}

/// The vector index of a dense, 1-based id.
fn index(id: u64) -> usize {
    (id - 1) as usize
}

/// A map with non-string keys stored as a list of pairs, so JSON can hold it.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::HashMap;
    use std::hash::Hash;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &HashMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

use super::*;
use crate::touchpoint::{Channel, Identities, Touchpoint, TouchpointKind};
use std::collections::BTreeMap;

fn tp(external_id: &str, at: i64, ids: Identities) -> Touchpoint {
    Touchpoint {
        external_id: external_id.into(),
        occurred_at: Some(at),
        channel: Channel::Web,
        kind: TouchpointKind::PageView,
        identities: ids,
        traits: Default::default(),
        properties: Default::default(),
        consent: vec![],
    }
}

fn anon(a: &str) -> Identities {
    Identities {
        anonymous_id: Some(a.into()),
        ..Identities::default()
    }
}

fn email(e: &str) -> Identities {
    Identities {
        email: Some(e.into()),
        ..Identities::default()
    }
}

#[test]
fn anonymous_visitor_becomes_the_known_lead_when_an_email_links_them() {
    let mut g = IdentityGraph::new();
    let lead = g
        .resolve(&tp(
            "crm-1",
            100,
            Identities {
                email: Some("anna@mill.fi".into()),
                crm_id: Some("C1".into()),
                ..Identities::default()
            },
        ))
        .person;
    let visitor = g.resolve(&tp("pv-1", 200, anon("cookie-9"))).person;
    let again = g.resolve(&tp("pv-2", 250, anon("cookie-9"))).person;
    assert_ne!(lead, visitor);
    assert_eq!(again, visitor);

    let r = g.resolve(&tp(
        "form-1",
        300,
        Identities {
            anonymous_id: Some("cookie-9".into()),
            email: Some(" Anna@Mill.FI ".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(r.person, lead, "the older, known lead survives");
    assert_eq!(r.merged.len(), 1);
    assert!(r.conflicts.is_empty());
    assert_eq!(g.canonical(visitor), lead);
    assert_eq!(g.canonical(lead), lead);
    let m = &g.merges()[0];
    assert_eq!((m.survivor, m.absorbed), (lead, visitor));
    assert_eq!(m.cause.touchpoint, "form-1");
    assert_eq!(m.cause.identity, Identity::AnonymousId("cookie-9".into()));
    assert_eq!(m.at, 300);
    assert!(!m.undone);
    assert_eq!(
        g.person_of(&Identity::AnonymousId("cookie-9".into())),
        Some(lead)
    );
    let p = g.person(lead).unwrap();
    assert_eq!((p.first_seen, p.last_seen), (100, 300));
    assert_eq!(p.identities.len(), 3);
    assert!(g.person(visitor).unwrap().identities.is_empty());

    // Undo it: the visitor gets back exactly its cookie.
    g.unmerge(m.id).unwrap();
    assert_eq!(g.canonical(visitor), visitor);
    assert_eq!(
        g.person(visitor).unwrap().identities,
        [Identity::AnonymousId("cookie-9".into())].into()
    );
    assert_eq!(
        g.person(lead).unwrap().identities,
        [
            Identity::CrmId("C1".into()),
            Identity::Email("anna@mill.fi".into())
        ]
        .into()
    );
    assert!(g.merges()[0].undone);
    assert_eq!(
        g.unmerge(MergeId(1)),
        Err(IdentityError::AlreadyUndone(MergeId(1)))
    );
    assert_eq!(
        g.unmerge(MergeId(7)),
        Err(IdentityError::UnknownMerge(MergeId(7)))
    );
}

#[test]
fn two_crm_ids_conflict_and_never_merge() {
    let mut g = IdentityGraph::new();
    let crm = |c: &str, e: &str| Identities {
        crm_id: Some(c.into()),
        email: Some(e.into()),
        ..Identities::default()
    };
    let a = g.resolve(&tp("t1", 1, crm("C1", "a@mill.fi"))).person;
    let b = g.resolve(&tp("t2", 2, crm("C2", "b@mill.fi"))).person;
    assert_ne!(a, b);

    // C2 with a's email: stays with C2's person, reported, not merged.
    let r = g.resolve(&tp("t3", 3, crm("C2", "a@mill.fi")));
    assert_eq!(r.person, b);
    assert!(r.merged.is_empty());
    assert_eq!(
        r.conflicts,
        vec![Conflict {
            identity: Identity::Email("a@mill.fi".into()),
            other: a,
            clashes_with: Identity::CrmId("C2".into()),
        }]
    );
    assert_eq!(g.person_of(&Identity::Email("a@mill.fi".into())), Some(a));

    // A new CRM id with a's email: a person of its own, reported.
    let r = g.resolve(&tp("t4", 4, crm("C3", "a@mill.fi")));
    assert_ne!(r.person, a);
    assert_ne!(r.person, b);
    assert_eq!(g.person_of(&Identity::CrmId("C3".into())), Some(r.person));
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].other, a);
    assert!(g.merges().is_empty());

    // Strongest known identity wins; a new user id that would give a
    // second one spills into a person of its own.
    let user = |c: &str, u: &str| Identities {
        crm_id: Some(c.into()),
        user_id: Some(u.into()),
        ..Identities::default()
    };
    g.resolve(&tp("t5", 5, user("C1", "U1")));
    let r = g.resolve(&tp("t6", 6, user("C1", "U2")));
    assert_eq!(r.person, a);
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].identity, Identity::UserId("U2".into()));
    assert_eq!(r.conflicts[0].clashes_with, Identity::UserId("U1".into()));
    assert_eq!(
        g.person_of(&Identity::UserId("U2".into())),
        Some(r.conflicts[0].other)
    );
    assert_ne!(r.conflicts[0].other, a);
}

#[test]
fn accounts_join_by_domain_but_not_by_free_mail() {
    let mut g = IdentityGraph::new();
    let a = g.resolve(&tp("t1", 1, email("anna@Mill.fi")));
    let b = g.resolve(&tp("t2", 2, email("bert@mill.fi")));
    assert!(a.account.is_some());
    assert_eq!(a.account, b.account);
    let acc = g.account(a.account.unwrap()).unwrap();
    assert_eq!(acc.domain.as_deref(), Some("mill.fi"));

    let c = g.resolve(&tp("t3", 3, email("carl@gmail.com")));
    let d = g.resolve(&tp("t4", 4, email("dora@GMAIL.com")));
    assert_eq!((c.account, d.account), (None, None));

    // An explicit company domain beats the free-mail address.
    let e = g.resolve(&tp(
        "t5",
        5,
        Identities {
            email: Some("eve@gmail.com".into()),
            company_domain: Some("www.Mill.fi".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(e.account, a.account);

    // A new explicit account id joins the account its domain names and is
    // remembered for it.
    let f = g.resolve(&tp(
        "t6",
        6,
        Identities {
            email: Some("anna@mill.fi".into()),
            account_id: Some("ACME-7".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(f.person, a.person);
    assert_eq!(f.account, a.account);
    let acc = g.account(a.account.unwrap()).unwrap();
    assert!(acc.account_ids.contains("ACME-7"));
    let again = g.resolve(&tp(
        "t7",
        7,
        Identities {
            anonymous_id: Some("x".into()),
            account_id: Some("ACME-7".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(again.account, a.account);

    // An explicit account id moves a person; a domain guess does not.
    let moved = g.resolve(&tp(
        "t8",
        8,
        Identities {
            email: Some("anna@mill.fi".into()),
            account_id: Some("OTHER-1".into()),
            company_domain: Some("other.fi".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(moved.person, a.person);
    assert_ne!(moved.account, a.account);
    let guessed = g.resolve(&tp(
        "t9",
        9,
        Identities {
            email: Some("anna@mill.fi".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(guessed.account, moved.account);
    assert_eq!(g.accounts().len(), 2);
}

#[test]
fn identities_are_normalized() {
    assert_eq!(
        Identity::email("  Anna.K@Mill.FI "),
        Some(Identity::Email("anna.k@mill.fi".into()))
    );
    assert_eq!(
        Identity::phone(" +358 (40) 123-4567 "),
        Some(Identity::Phone("+358401234567".into()))
    );
    assert_eq!(
        Identity::phone("040 123 4567"),
        Some(Identity::Phone("0401234567".into()))
    );
    assert_eq!(Identity::phone("n/a"), None);
    assert_eq!(Identity::email("   "), None);
    assert_eq!(
        Identity::social_handle(" @Mill_Anna"),
        Some(Identity::SocialHandle("mill_anna".into()))
    );
    assert_eq!(
        Identity::crm_id(" AbC "),
        Some(Identity::CrmId("AbC".into()))
    );
    assert_eq!(
        normalize_domain(" @WWW.Mill.fi. ").as_deref(),
        Some("mill.fi")
    );
    assert!(is_free_mail("gmail.com"));

    let ids = Identity::from_touchpoint(&Identities {
        anonymous_id: Some("a1".into()),
        email: Some("X@Y.fi".into()),
        crm_id: Some("C".into()),
        phone: Some("+1 555".into()),
        company_domain: Some("y.fi".into()),
        ..Identities::default()
    });
    assert_eq!(
        ids,
        vec![
            Identity::CrmId("C".into()),
            Identity::Email("x@y.fi".into()),
            Identity::Phone("+1555".into()),
            Identity::AnonymousId("a1".into()),
        ]
    );

    let mut g = IdentityGraph::new();
    let a = g.resolve(&tp("t1", 1, email("Anna@Mill.fi"))).person;
    let b = g.resolve(&tp("t2", 2, email(" anna@mill.FI"))).person;
    assert_eq!(a, b);
    assert_eq!(g.people().len(), 1);
}

#[test]
fn an_earlier_merge_is_undone_only_after_the_later_one_that_depends_on_it() {
    let mut g = IdentityGraph::new();
    let old = g.resolve(&tp("t1", 1, email("old@mill.fi"))).person;
    let mid = g.resolve(&tp("t2", 2, anon("a-mid"))).person;
    let new = g.resolve(&tp("t3", 3, anon("a-new"))).person;
    // mid absorbs new, then old absorbs mid.
    let r1 = g.resolve(&tp(
        "t4",
        4,
        Identities {
            anonymous_id: Some("a-new".into()),
            phone: Some("123".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(r1.person, new);
    assert!(r1.merged.is_empty());
    let r2 = g.resolve(&tp(
        "t5",
        5,
        Identities {
            phone: Some("123".into()),
            social_handle: Some("mid".into()),
            anonymous_id: Some("a-mid".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(r2.person, mid);
    let first = r2.merged[0];
    let r3 = g.resolve(&tp(
        "t6",
        6,
        Identities {
            email: Some("old@mill.fi".into()),
            anonymous_id: Some("a-mid".into()),
            ..Identities::default()
        },
    ));
    assert_eq!(r3.person, old);
    let second = r3.merged[0];
    assert_eq!(g.canonical(new), old);

    assert_eq!(
        g.unmerge(first),
        Err(IdentityError::Blocked {
            merge: first,
            blocking: second
        })
    );
    g.unmerge(second).unwrap();
    g.unmerge(first).unwrap();
    for p in [old, mid, new] {
        assert_eq!(g.canonical(p), p);
    }
    assert_eq!(
        g.person(new).unwrap().identities,
        [
            Identity::AnonymousId("a-new".into()),
            Identity::Phone("123".into()),
            // Attached to the phone's person before the merge, so it went
            // with it: the strongest identity decides who new ones join.
            Identity::SocialHandle("mid".into()),
        ]
        .into()
    );
    assert_eq!(
        g.person(mid).unwrap().identities,
        [Identity::AnonymousId("a-mid".into())].into()
    );
    assert_eq!(
        g.person(old).unwrap().identities,
        [Identity::Email("old@mill.fi".into())].into()
    );
}

use crate::test_rng::XorShift as Rng;

/// One time in `one_in`, `make` of a number below `pool`.
fn maybe(rng: &mut Rng, one_in: u64, pool: u64, make: impl Fn(u64) -> String) -> Option<String> {
    (rng.below(one_in) == 0).then(|| make(rng.below(pool)))
}

/// Touchpoints with overlapping identities from small pools, including
/// conflicting CRM and user ids and unnormalized spellings.
fn generated(seed: u64, n: usize) -> Vec<Touchpoint> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let ids = Identities {
                crm_id: maybe(&mut rng, 8, 6, |k| format!("C{k}")),
                user_id: maybe(&mut rng, 7, 6, |k| format!("U{k}")),
                email: maybe(&mut rng, 3, 25, |k| {
                    if k % 2 == 0 {
                        format!(" P{k}@Mill.fi")
                    } else {
                        format!("p{k}@gmail.com")
                    }
                }),
                phone: maybe(&mut rng, 6, 15, |k| format!("+358 40 {k:03}")),
                social_handle: maybe(&mut rng, 6, 15, |k| format!("@h{k}")),
                anonymous_id: maybe(&mut rng, 2, 60, |k| format!("anon-{k}")),
                company_domain: maybe(&mut rng, 10, 3, |k| format!("co{k}.fi")),
                account_id: maybe(&mut rng, 12, 3, |k| format!("ACC{k}")),
            };
            let at = if rng.below(10) == 0 {
                None
            } else {
                Some(i as i64 * 10)
            };
            let mut t = tp(&format!("gen-{i}"), 0, ids);
            t.occurred_at = at;
            t
        })
        .collect()
}

/// Every identity maps to exactly one canonical person, which holds it; no
/// two people hold the same identity; merged-away people hold none; no person
/// holds two CRM ids or two user ids.
fn check_invariants(g: &IdentityGraph) {
    let mut holders: BTreeMap<&Identity, PersonId> = BTreeMap::new();
    for p in g.people() {
        if p.merged_into.is_some() {
            assert!(
                p.identities.is_empty(),
                "{:?} merged but holds identities",
                p.id
            );
            assert_ne!(g.canonical(p.id), p.id);
        } else {
            assert_eq!(g.canonical(p.id), p.id);
        }
        for i in &p.identities {
            assert!(holders.insert(i, p.id).is_none(), "{i:?} held twice");
            assert_eq!(g.person_of(i), Some(p.id));
        }
        let crm = p
            .identities
            .iter()
            .filter(|i| matches!(i, Identity::CrmId(_)));
        let user = p
            .identities
            .iter()
            .filter(|i| matches!(i, Identity::UserId(_)));
        assert!(crm.count() <= 1 && user.count() <= 1, "{p:?}");
    }
}

#[test]
fn generated_touchpoints_keep_the_graph_consistent() {
    for seed in [0x9E37_79B9_7F4A_7C15, 42, 7, 0xDEAD_BEEF] {
        let mut g = IdentityGraph::new();
        for t in generated(seed, 400) {
            let r = g.resolve(&t);
            assert_eq!(g.canonical(r.person), r.person);
            for i in Identity::from_touchpoint(&t.identities) {
                // Each identity went to the person, or is reported.
                let holder = g.person_of(&i).unwrap();
                assert!(
                    holder == r.person || r.conflicts.iter().any(|c| c.other == holder),
                    "{i:?} of {} lost",
                    t.external_id
                );
            }
            check_invariants(&g);
        }
        assert!(!g.merges().is_empty(), "the sequence should cause merges");
    }
}

#[test]
fn generated_touchpoints_conflict_sometimes() {
    let mut g = IdentityGraph::new();
    let conflicts: usize = generated(42, 400)
        .iter()
        .map(|t| g.resolve(t).conflicts.len())
        .sum();
    assert!(conflicts > 0);
}

#[test]
fn resolving_the_same_sequence_twice_gives_the_same_graph() {
    let touchpoints = generated(0x5EED, 400);
    let run = || {
        let mut g = IdentityGraph::new();
        let rs: Vec<Resolution> = touchpoints.iter().map(|t| g.resolve(t)).collect();
        (g, rs)
    };
    let (a, ra) = run();
    let (b, rb) = run();
    assert_eq!(a, b);
    assert_eq!(ra, rb);
}

#[test]
fn unmerging_what_a_touchpoint_merged_restores_everyone_exactly() {
    let mut g = IdentityGraph::new();
    let mut checked = 0;
    for t in generated(0xC0FFEE, 400) {
        let before = g.clone();
        let r = g.resolve(&t);
        if !r.merged.is_empty() {
            let mut undone = g.clone();
            for m in r.merged.iter().rev() {
                undone.unmerge(*m).unwrap();
            }
            check_invariants(&undone);
            let new: Vec<Identity> = Identity::from_touchpoint(&t.identities)
                .into_iter()
                .filter(|i| before.person_of(i).is_none())
                .collect();
            for p in before.people() {
                let now = undone.person(p.id).unwrap();
                assert_eq!(now.merged_into, p.merged_into);
                let gained: Vec<&Identity> = now.identities.difference(&p.identities).collect();
                assert!(p.identities.is_subset(&now.identities), "{:?} lost", p.id);
                assert!(
                    gained.iter().all(|i| new.contains(i)),
                    "{:?} gained {gained:?}",
                    p.id
                );
            }
            checked += 1;
        }
        check_invariants(&g);
    }
    assert!(checked > 5, "only {checked} merges checked");

    // Unwinding every merge, newest first, always succeeds and leaves
    // every person canonical with the identities its merges recorded.
    let log: Vec<MergeRecord> = g.merges().to_vec();
    for m in log.iter().rev() {
        let survivor_before = g.person(m.survivor).unwrap().identities.clone();
        g.unmerge(m.id).unwrap();
        let absorbed = g.person(m.absorbed).unwrap();
        assert_eq!(absorbed.identities, m.brought);
        assert_eq!(absorbed.merged_into, None);
        let expected: BTreeSet<Identity> =
            survivor_before.difference(&m.brought).cloned().collect();
        assert_eq!(g.person(m.survivor).unwrap().identities, expected);
        check_invariants(&g);
    }
    assert!(g.people().iter().all(|p| p.merged_into.is_none()));
}

#[test]
fn the_graph_round_trips_through_json() {
    let mut g = IdentityGraph::new();
    for t in generated(3, 50) {
        g.resolve(&t);
    }
    let json = serde_json::to_string(&g).unwrap();
    let back: IdentityGraph = serde_json::from_str(&json).unwrap();
    assert_eq!(back, g);
}

#[test]
fn a_touchpoint_without_identities_gets_a_person_of_its_own() {
    let mut g = IdentityGraph::new();
    let a = g.resolve(&tp("t1", 1, Identities::default()));
    let b = g.resolve(&tp("t2", 2, Identities::default()));
    assert_ne!(a.person, b.person);
    assert!(g.person(a.person).unwrap().identities.is_empty());
    assert!(a.merged.is_empty() && a.conflicts.is_empty());
}

//! The lead engine's tables against a real SQLite file: progress, the command log, batches,
//! snapshots, settings, outputs and the outbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::{open, tenant_with_connectors, touchpoint};
use leadhost_store::{
    CommandRecord, HandoffRow, LeadBatch, LeadProgress, MergeRow, NewOutboxItem, OutboxCounts,
    OutboxOutcome, Store, StoreError, TransitionRow,
};

fn progress(cursor: i64, command_seq: i64) -> LeadProgress {
    LeadProgress {
        cursor,
        command_seq,
    }
}

fn command(seq: i64, tenant_id: i64, after_cursor: i64) -> CommandRecord {
    CommandRecord {
        seq,
        tenant_id,
        after_cursor,
        at: 1_000 + seq,
        command: format!(r#"{{"kind":"sales-accepted","by":"u-{seq}"}}"#),
    }
}

fn transition(tenant_id: i64, person_id: i64, seq: i64, to: &str, at: i64) -> TransitionRow {
    TransitionRow {
        tenant_id,
        person_id,
        seq,
        from_stage: "prospect".to_string(),
        to_stage: to.to_string(),
        at,
        cause: r#"{"kind":"scored","score":42.5}"#.to_string(),
        actor: r#"{"kind":"system"}"#.to_string(),
    }
}

fn merge(tenant_id: i64, merge_id: i64, undone: bool) -> MergeRow {
    MergeRow {
        tenant_id,
        merge_id,
        survivor: 1,
        absorbed: 2,
        at: 500,
        cause: r#"{"touchpoint":"e-1"}"#.to_string(),
        undone,
    }
}

fn handoff(tenant_id: i64, person_id: i64, status: &str, updated_at: i64) -> HandoffRow {
    HandoffRow {
        tenant_id,
        person_id,
        seq: 1,
        team: "emea".to_string(),
        owner: "alice".to_string(),
        assigned_at: 100,
        due_at: 100 + 3_600_000,
        status: status.to_string(),
        reason: None,
        updated_at,
    }
}

fn outbox_item(tenant_id: i64, key: &str, next_at: i64) -> NewOutboxItem {
    NewOutboxItem {
        tenant_id,
        key: key.to_string(),
        kind: "crm-handoff".to_string(),
        target: r#"{"connector":"crm"}"#.to_string(),
        payload: r#"{"person":1}"#.to_string(),
        next_at,
        created_at: next_at,
    }
}

/// A batch with one row of every kind, for tenant `t`.
fn full_batch(t: i64) -> LeadBatch {
    LeadBatch {
        progress: progress(10, 1),
        commands: vec![command(1, t, 4)],
        transitions: vec![
            transition(t, 1, 1, "lead", 200),
            transition(t, 1, 2, "sales-ready", 300),
        ],
        merges: vec![merge(t, 1, false)],
        handoffs: vec![handoff(t, 1, "open", 300)],
        outbox: vec![outbox_item(t, "handoff-1-1", 300)],
    }
}

fn row_count(store: &Store, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

const LEAD_TABLES: [&str; 9] = [
    "lead_settings",
    "lead_progress",
    "lead_commands",
    "lead_snapshot_meta",
    "lead_snapshots",
    "lead_transitions",
    "lead_merges",
    "lead_handoffs",
    "outbox",
];

#[test]
fn migration_applies_to_a_fresh_store_and_to_one_made_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (tenant, path) = {
        let store = open(dir.path());
        assert_eq!(store.lead_progress().unwrap(), LeadProgress::default());
        for table in LEAD_TABLES {
            assert_eq!(row_count(&store, table), 0, "{table}");
        }
        let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
        let batch = (0..5)
            .map(|i| touchpoint(&format!("e-{i}"), Some(i)))
            .collect();
        store
            .append_blocking(tenant.id, connectors[0].id, 9, batch)
            .unwrap();
        (tenant, store.path().to_path_buf())
    };

    // Make the file what a build before migration 3 left: version 2, no lead tables.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for table in LEAD_TABLES.iter().chain(&["spend"]) {
            conn.execute_batch(&format!("DROP TABLE {table}")).unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 2").unwrap();
    }

    let store = open(dir.path());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    for table in LEAD_TABLES {
        assert_eq!(row_count(&store, table), 0, "{table}");
    }
    // The old data is untouched and the new tables work.
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 5);
    assert_eq!(store.touchpoints_after(0, 100).unwrap().len(), 5);
    store.commit_lead_batch(&full_batch(tenant.id)).unwrap();
    assert_eq!(store.lead_progress().unwrap(), progress(10, 1));
    assert_eq!(
        store.put_lead_setting(tenant.id, "scoring", "{}").unwrap(),
        1
    );
    drop(store);

    // Reopening at the current version applies nothing and keeps everything.
    let store = open(dir.path());
    assert_eq!(store.lead_progress().unwrap(), progress(10, 1));
    assert_eq!(store.lead_transitions(tenant.id, 1).unwrap().len(), 2);
    assert_eq!(
        store
            .lead_setting(tenant.id, "scoring")
            .unwrap()
            .unwrap()
            .version,
        1
    );
}

#[test]
fn progress_starts_at_zero_and_never_moves_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.lead_progress().unwrap(), progress(0, 0));

    let at = |cursor, command_seq| LeadBatch {
        progress: progress(cursor, command_seq),
        ..LeadBatch::default()
    };
    store.commit_lead_batch(&at(10, 2)).unwrap();
    assert_eq!(store.lead_progress().unwrap(), progress(10, 2));
    store.commit_lead_batch(&at(5, 1)).unwrap();
    assert_eq!(store.lead_progress().unwrap(), progress(10, 2), "a replay");
    store.commit_lead_batch(&at(8, 3)).unwrap();
    assert_eq!(
        store.lead_progress().unwrap(),
        progress(10, 3),
        "each field keeps its maximum"
    );
    store.commit_lead_batch(&at(20, 3)).unwrap();
    assert_eq!(store.lead_progress().unwrap(), progress(20, 3));

    assert!(matches!(
        store.commit_lead_batch(&at(-1, 0)),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.lead_progress().unwrap(), progress(20, 3));
}

#[test]
fn committing_the_same_batch_twice_stores_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, _) = store.create_tenant("acme").unwrap();
    let t = tenant.id;
    let batch = full_batch(t);
    store.commit_lead_batch(&batch).unwrap();
    store.commit_lead_batch(&batch).unwrap();

    assert_eq!(store.lead_progress().unwrap(), progress(10, 1));
    assert_eq!(store.commands_after(0).unwrap(), batch.commands);
    assert_eq!(store.lead_transitions(t, 1).unwrap(), batch.transitions);
    assert_eq!(store.lead_merges(t).unwrap(), batch.merges);
    assert_eq!(store.lead_handoffs(t, None).unwrap(), batch.handoffs);
    let items = store.outbox_items(t, None, 100).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].status.as_str(), items[0].attempts),
        ("pending", 0)
    );
    for table in [
        "lead_commands",
        "lead_transitions",
        "lead_merges",
        "lead_handoffs",
        "outbox",
    ] {
        assert_eq!(
            row_count(&store, table),
            if table == "lead_transitions" { 2 } else { 1 }
        );
    }

    // The dispatcher sends the item; a replay of the enqueue leaves it sent.
    store
        .outbox_record(t, "handoff-1-1", OutboxOutcome::Sent, 400)
        .unwrap();
    store.commit_lead_batch(&batch).unwrap();
    let item = store.outbox_item(t, "handoff-1-1").unwrap().unwrap();
    assert_eq!((item.status.as_str(), item.attempts), ("sent", 1));
    assert_eq!(store.outbox_due(i64::MAX, 10).unwrap(), vec![]);
}

#[test]
fn a_failing_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, _) = store.create_tenant("acme").unwrap();
    let t = tenant.id;
    {
        // The outbox is written last: a failure there must undo everything before it.
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON outbox WHEN NEW.key = 'poison'
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    }
    let mut batch = full_batch(t);
    batch.outbox.push(outbox_item(t, "poison", 1));
    let error = store.commit_lead_batch(&batch).unwrap_err();
    assert!(error.to_string().contains("poisoned"), "{error}");
    assert_eq!(store.lead_progress().unwrap(), progress(0, 0));
    for table in LEAD_TABLES {
        assert_eq!(row_count(&store, table), 0, "{table}");
    }

    // Checks done before the transaction.
    let mut bad = full_batch(t);
    bad.handoffs[0].status = "lost".to_string();
    assert!(
        matches!(store.commit_lead_batch(&bad), Err(StoreError::Invalid(m)) if m.contains("lost"))
    );
    let mut bad = full_batch(t);
    bad.commands = vec![command(1, t, 0), command(1, t, 0)];
    assert!(matches!(
        store.commit_lead_batch(&bad),
        Err(StoreError::Invalid(_))
    ));
    let mut bad = full_batch(t);
    bad.commands = vec![command(2, t, 0)];
    assert!(
        matches!(store.commit_lead_batch(&bad), Err(StoreError::Invalid(m)) if m.contains("beyond")),
        "a command past the batch's progress"
    );
    for table in LEAD_TABLES {
        assert_eq!(row_count(&store, table), 0, "{table}");
    }

    // Without the poisoned item the batch goes through.
    batch.outbox.pop();
    store.commit_lead_batch(&batch).unwrap();
    assert_eq!(store.lead_progress().unwrap(), progress(10, 1));
}

#[test]
fn a_replayed_batch_behind_the_stored_progress_does_not_move_statuses_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, _) = store.create_tenant("acme").unwrap();
    let t = tenant.id;
    let first = LeadBatch {
        progress: progress(10, 0),
        handoffs: vec![handoff(t, 7, "open", 100)],
        merges: vec![merge(t, 1, false)],
        ..LeadBatch::default()
    };
    let second = LeadBatch {
        progress: progress(20, 0),
        handoffs: vec![handoff(t, 7, "accepted", 200)],
        merges: vec![merge(t, 1, true)],
        ..LeadBatch::default()
    };
    store.commit_lead_batch(&first).unwrap();
    store.commit_lead_batch(&second).unwrap();

    // Crash, snapshot older than both: the replay writes `first` again.
    store.commit_lead_batch(&first).unwrap();
    let handoffs = store.lead_handoffs(t, None).unwrap();
    assert_eq!(handoffs, vec![handoff(t, 7, "accepted", 200)]);
    assert!(store.lead_merges(t).unwrap()[0].undone);

    // Replaying the latest batch itself is harmless too.
    store.commit_lead_batch(&second).unwrap();
    assert_eq!(store.lead_handoffs(t, None).unwrap(), handoffs);
    assert_eq!(store.lead_progress().unwrap(), progress(20, 0));
}

#[test]
fn handoff_upsert_changes_status_and_filters_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, _) = store.create_tenant("acme").unwrap();
    let (beta, _) = store.create_tenant("beta").unwrap();
    let (a, b) = (acme.id, beta.id);
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(1, 0),
            handoffs: vec![
                handoff(a, 1, "open", 10),
                handoff(a, 2, "open", 10),
                handoff(b, 1, "open", 10),
            ],
            ..LeadBatch::default()
        })
        .unwrap();
    let mut rejected = handoff(a, 1, "rejected", 20);
    rejected.reason = Some("not our segment".to_string());
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(2, 0),
            // The same hand-off twice in one batch: the later row wins.
            handoffs: vec![
                handoff(a, 2, "accepted", 15),
                handoff(a, 2, "closed", 20),
                rejected.clone(),
            ],
            ..LeadBatch::default()
        })
        .unwrap();

    assert_eq!(
        store.lead_handoffs(a, Some("rejected")).unwrap(),
        vec![rejected.clone()]
    );
    assert_eq!(
        store.lead_handoffs(a, None).unwrap(),
        vec![rejected, handoff(a, 2, "closed", 20)]
    );
    assert_eq!(store.lead_handoffs(a, Some("open")).unwrap(), vec![]);
    assert_eq!(
        store.lead_handoffs(b, Some("open")).unwrap(),
        vec![handoff(b, 1, "open", 10)]
    );
    assert!(matches!(
        store.lead_handoffs(a, Some("lost")),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn transitions_read_per_person_and_per_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, _) = store.create_tenant("acme").unwrap();
    let (beta, _) = store.create_tenant("beta").unwrap();
    let (a, b) = (acme.id, beta.id);
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(3, 0),
            transitions: vec![
                transition(a, 2, 1, "lead", 150),
                transition(a, 1, 2, "sales-ready", 300),
                transition(a, 1, 1, "lead", 100),
                transition(b, 1, 1, "lead", 120),
            ],
            ..LeadBatch::default()
        })
        .unwrap();
    let seqs: Vec<_> = store
        .lead_transitions(a, 1)
        .unwrap()
        .into_iter()
        .map(|t| t.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    let between: Vec<_> = store
        .lead_transitions_between(a, 100, 300)
        .unwrap()
        .into_iter()
        .map(|t| (t.person_id, t.seq, t.at))
        .collect();
    assert_eq!(
        between,
        vec![(1, 1, 100), (2, 1, 150)],
        "to_at is exclusive"
    );
    assert_eq!(
        store
            .lead_transitions_between(b, 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );

    // JSON columns are shown as JSON, not as strings holding JSON.
    let shown = serde_json::to_value(&store.lead_transitions(a, 1).unwrap()[0]).unwrap();
    assert_eq!(shown["cause"]["score"], 42.5);
    assert_eq!(shown["actor"]["kind"], "system");
    assert_eq!(shown["to_stage"], "lead");
}

#[test]
fn touchpoints_after_pages_across_tenants_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.max_touchpoint_id().unwrap(), 0);
    assert_eq!(store.touchpoints_after(0, 10).unwrap(), vec![]);
    let (acme, acme_connectors) = tenant_with_connectors(&store, "acme", &["web", "crm"]);
    let (beta, beta_connectors) = tenant_with_connectors(&store, "beta", &["web"]);
    let sources = [
        (acme.id, acme_connectors[0].id),
        (beta.id, beta_connectors[0].id),
        (acme.id, acme_connectors[1].id),
    ];
    let mut expected = Vec::new();
    for round in 0..4 {
        for (index, (tenant_id, connector_id)) in sources.iter().enumerate() {
            let batch = (0..3)
                .map(|i| touchpoint(&format!("e-{round}-{index}-{i}"), Some(round * 10 + i)))
                .collect();
            store
                .append_blocking(*tenant_id, *connector_id, 1_000 + round, batch)
                .unwrap();
            for i in 0..3 {
                expected.push((*tenant_id, *connector_id, format!("e-{round}-{index}-{i}")));
            }
        }
    }

    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.touchpoints_after(cursor, 5).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        for t in &page {
            assert!(t.id > cursor, "ids grow");
            cursor = t.id;
            seen.push((t.tenant_id, t.connector_id, t.external_id.clone()));
        }
    }
    assert_eq!(seen, expected, "commit order across tenants and connectors");
    assert_eq!(store.max_touchpoint_id().unwrap(), cursor);
    assert_eq!(store.touchpoints_after(cursor, 5).unwrap(), vec![]);
    assert_eq!(store.touchpoints_after(0, 0).unwrap(), vec![]);

    let first = &store.touchpoints_after(0, 1).unwrap()[0];
    assert_eq!(first.document, common::document("e-0-0-0"));
    assert_eq!((first.occurred_at, first.received_at), (0, 1_000));
    assert_eq!(
        (first.channel.as_str(), first.kind.as_str()),
        ("web", "page_view")
    );
}

#[test]
fn commands_round_trip_in_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, _) = store.create_tenant("acme").unwrap();
    let (beta, _) = store.create_tenant("beta").unwrap();
    assert_eq!(store.commands_after(0).unwrap(), vec![]);
    let first = vec![command(1, acme.id, 0), command(2, beta.id, 3)];
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(5, 2),
            commands: first.clone(),
            ..LeadBatch::default()
        })
        .unwrap();
    let second = vec![command(3, acme.id, 7), command(5, acme.id, 9)];
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(9, 5),
            commands: second.clone(),
            ..LeadBatch::default()
        })
        .unwrap();
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    assert_eq!(store.commands_after(0).unwrap(), all);
    assert_eq!(store.commands_after(2).unwrap(), second);
    assert_eq!(store.commands_after(5).unwrap(), vec![]);

    // Replaying logged commands is fine; a new one at or below the committed seq is not,
    // since a replay would apply it out of order.
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(9, 5),
            commands: second.clone(),
            ..LeadBatch::default()
        })
        .unwrap();
    let late = LeadBatch {
        progress: progress(10, 5),
        commands: vec![command(4, acme.id, 10)],
        transitions: vec![transition(acme.id, 1, 1, "lead", 1)],
        ..LeadBatch::default()
    };
    assert!(
        matches!(store.commit_lead_batch(&late), Err(StoreError::Invalid(m)) if m.contains("seq 4"))
    );
    assert_eq!(store.commands_after(0).unwrap(), all);
    assert_eq!(store.lead_transitions(acme.id, 1).unwrap(), vec![]);
    assert_eq!(store.lead_progress().unwrap(), progress(9, 5));

    let shown = serde_json::to_value(&all[0]).unwrap();
    assert_eq!(shown["command"]["by"], "u-1");
}

#[test]
fn a_snapshot_replaces_the_previous_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.load_lead_snapshot().unwrap(), None);

    // A snapshot must not be ahead of the committed progress.
    assert!(matches!(
        store.save_lead_snapshot(progress(1, 0), 5, &[(1, vec![1])]),
        Err(StoreError::Invalid(m)) if m.contains("ahead")
    ));
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(100, 4),
            ..LeadBatch::default()
        })
        .unwrap();

    store
        .save_lead_snapshot(
            progress(50, 2),
            1_000,
            &[(2, vec![2, 2]), (1, vec![1, 0, 255])],
        )
        .unwrap();
    let snapshot = store.load_lead_snapshot().unwrap().unwrap();
    assert_eq!(snapshot.progress, progress(50, 2));
    assert_eq!(snapshot.taken_at, 1_000);
    assert_eq!(snapshot.states, vec![(1, vec![1, 0, 255]), (2, vec![2, 2])]);

    // Tenant 1 is gone from the next snapshot, tenant 3 is new, tenant 2 may be empty.
    store
        .save_lead_snapshot(progress(100, 4), 2_000, &[(2, vec![]), (3, vec![3])])
        .unwrap();
    let snapshot = store.load_lead_snapshot().unwrap().unwrap();
    assert_eq!(snapshot.progress, progress(100, 4));
    assert_eq!(snapshot.taken_at, 2_000);
    assert_eq!(snapshot.states, vec![(2, vec![]), (3, vec![3])]);

    // A failed save keeps the previous snapshot whole.
    assert!(matches!(
        store.save_lead_snapshot(progress(100, 4), 3_000, &[(4, vec![4]), (4, vec![5])]),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.save_lead_snapshot(progress(101, 4), 3_000, &[]),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.load_lead_snapshot().unwrap().unwrap(), snapshot);

    // And it survives a reopen.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.load_lead_snapshot().unwrap().unwrap(), snapshot);
}

#[test]
fn settings_are_versioned_per_tenant_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, _) = store.create_tenant("acme").unwrap();
    let (beta, _) = store.create_tenant("beta").unwrap();
    assert_eq!(store.lead_setting(acme.id, "scoring").unwrap(), None);

    assert_eq!(
        store
            .put_lead_setting(acme.id, "scoring", r#"{"v":1}"#)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .put_lead_setting(acme.id, "scoring", r#"{"v":2}"#)
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .put_lead_setting(acme.id, "routing", r#"{"r":1}"#)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .put_lead_setting(beta.id, "scoring", r#"{"b":1}"#)
            .unwrap(),
        1
    );

    let latest = store.lead_setting(acme.id, "scoring").unwrap().unwrap();
    assert_eq!(
        (latest.version, latest.document.as_str()),
        (2, r#"{"v":2}"#)
    );
    assert!(latest.created_at > 1_600_000_000_000, "unix ms");
    let first = store
        .lead_setting_version(acme.id, "scoring", 1)
        .unwrap()
        .unwrap();
    assert_eq!(first.document, r#"{"v":1}"#);
    assert_eq!(
        store.lead_setting_version(acme.id, "scoring", 3).unwrap(),
        None
    );
    assert_eq!(
        store
            .lead_setting(beta.id, "scoring")
            .unwrap()
            .unwrap()
            .document,
        r#"{"b":1}"#
    );
    assert_eq!(store.lead_setting(beta.id, "routing").unwrap(), None);
    assert_eq!(serde_json::to_value(&latest).unwrap()["document"]["v"], 2);

    assert!(matches!(
        store.put_lead_setting(beta.id + 100, "scoring", "{}"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.put_lead_setting(acme.id, "Scoring", "{}"),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.put_lead_setting(acme.id, "scoring", "{not json"),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store
            .lead_setting(acme.id, "scoring")
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[test]
fn outbox_lifecycle_due_retry_dead_redrive_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, _) = store.create_tenant("acme").unwrap();
    let (beta, _) = store.create_tenant("beta").unwrap();
    let (a, b) = (acme.id, beta.id);
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(1, 0),
            outbox: vec![
                outbox_item(a, "k-late", 300),
                outbox_item(a, "k-1", 100),
                outbox_item(b, "k-1", 100),
                outbox_item(a, "k-0", 100),
            ],
            ..LeadBatch::default()
        })
        .unwrap();
    assert_eq!(
        store.outbox_counts(a).unwrap(),
        OutboxCounts {
            pending: 3,
            sent: 0,
            dead: 0
        }
    );

    let due: Vec<_> = store
        .outbox_due(200, 10)
        .unwrap()
        .into_iter()
        .map(|i| (i.tenant_id, i.key))
        .collect();
    assert_eq!(
        due,
        vec![
            (a, "k-1".to_string()),
            (b, "k-1".to_string()),
            (a, "k-0".to_string())
        ],
        "by next_at, then as enqueued; k-late is not due"
    );
    assert_eq!(store.outbox_due(200, 2).unwrap().len(), 2);
    assert_eq!(store.outbox_due(99, 10).unwrap(), vec![]);

    // Retry: stays pending, due later, one attempt more.
    let retried = store
        .outbox_record(
            a,
            "k-0",
            OutboxOutcome::Retry {
                next_at: 500,
                error: "503 from CRM".to_string(),
            },
            200,
        )
        .unwrap();
    assert_eq!(
        (retried.status.as_str(), retried.attempts, retried.next_at),
        ("pending", 1, 500)
    );
    assert_eq!(retried.last_error.as_deref(), Some("503 from CRM"));
    assert_eq!(retried.updated_at, 200);
    assert!(
        store
            .outbox_due(200, 10)
            .unwrap()
            .iter()
            .all(|i| i.key != "k-0" || i.tenant_id != a)
    );

    // Dead: out of the queue until redriven.
    let dead = store
        .outbox_record(
            a,
            "k-0",
            OutboxOutcome::Dead {
                error: "401".to_string(),
            },
            500,
        )
        .unwrap();
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 2));
    assert_eq!(dead.last_error.as_deref(), Some("401"));
    assert!(
        store
            .outbox_due(i64::MAX, 10)
            .unwrap()
            .iter()
            .all(|i| i.key != "k-0")
    );
    assert!(matches!(
        store.outbox_record(a, "k-0", OutboxOutcome::Sent, 501),
        Err(StoreError::Invalid(m)) if m.contains("dead")
    ));
    assert_eq!(
        store.outbox_counts(a).unwrap(),
        OutboxCounts {
            pending: 2,
            sent: 0,
            dead: 1
        }
    );
    assert_eq!(
        store.outbox_items(a, Some("dead"), 10).unwrap(),
        vec![dead.clone()]
    );

    // Redrive: pending again, due now, attempts kept.
    store.outbox_redrive(a, "k-0", 600).unwrap();
    let redriven = store.outbox_item(a, "k-0").unwrap().unwrap();
    assert_eq!(
        (
            redriven.status.as_str(),
            redriven.attempts,
            redriven.next_at
        ),
        ("pending", 2, 600)
    );
    let due: Vec<_> = store
        .outbox_due(600, 10)
        .unwrap()
        .into_iter()
        .map(|i| (i.tenant_id, i.key))
        .collect();
    assert_eq!(
        due,
        vec![
            (a, "k-1".to_string()),
            (b, "k-1".to_string()),
            (a, "k-late".to_string()),
            (a, "k-0".to_string())
        ],
        "due again, after the items due longer"
    );

    let sent = store
        .outbox_record(a, "k-0", OutboxOutcome::Sent, 700)
        .unwrap();
    assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 3));
    assert_eq!(
        store.outbox_counts(a).unwrap(),
        OutboxCounts {
            pending: 2,
            sent: 1,
            dead: 0
        }
    );
    assert_eq!(
        store.outbox_counts(b).unwrap(),
        OutboxCounts {
            pending: 1,
            sent: 0,
            dead: 0
        }
    );

    // Redrive and record refuse what they cannot do, with the reason.
    assert!(matches!(
        store.outbox_redrive(a, "k-0", 800),
        Err(StoreError::Invalid(m)) if m.contains("is sent, not dead")
    ));
    assert!(matches!(
        store.outbox_redrive(a, "k-1", 800),
        Err(StoreError::Invalid(m)) if m.contains("is pending, not dead")
    ));
    assert!(matches!(
        store.outbox_redrive(a, "nope", 800),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.outbox_record(a, "nope", OutboxOutcome::Sent, 800),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.outbox_record(a, "k-0", OutboxOutcome::Sent, 800),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.outbox_items(a, Some("lost"), 10),
        Err(StoreError::Invalid(_))
    ));

    let keys: Vec<_> = store
        .outbox_items(a, None, 10)
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, vec!["k-0", "k-1", "k-late"], "oldest first");
    assert_eq!(store.outbox_items(a, None, 1).unwrap().len(), 1);
    assert_eq!(store.outbox_items(a, Some("pending"), 10).unwrap().len(), 2);

    let shown = serde_json::to_value(&sent).unwrap();
    assert_eq!(shown["target"]["connector"], "crm");
    assert_eq!(shown["payload"]["person"], 1);
}

#[test]
fn batches_commit_while_the_ingest_writer_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let (t, connector) = (tenant.id, connectors[0].id);
    let done = Arc::new(AtomicBool::new(false));

    let ingest = {
        let store = store.clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut round = 0;
            while !done.load(Ordering::Relaxed) {
                let batch = (0..200)
                    .map(|i| touchpoint(&format!("e-{round}-{i}"), Some(round * 1_000 + i)))
                    .collect();
                store.append_blocking(t, connector, round, batch).unwrap();
                round += 1;
            }
            round
        })
    };

    // The engine follows the log while it grows, one batch per page.
    let mut cursor = 0;
    let mut batches = 0;
    while batches < 100 {
        let page = store.touchpoints_after(cursor, 50).unwrap();
        let Some(last) = page.last() else {
            thread::yield_now();
            continue;
        };
        cursor = last.id;
        batches += 1;
        let batch = LeadBatch {
            progress: progress(cursor, 0),
            transitions: vec![transition(t, batches, 1, "lead", cursor)],
            outbox: vec![outbox_item(t, &format!("k-{batches}"), cursor)],
            ..LeadBatch::default()
        };
        store.commit_lead_batch(&batch).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let rounds = ingest.join().unwrap();
    assert!(rounds > 0);
    assert_eq!(store.lead_progress().unwrap(), progress(cursor, 0));
    assert_eq!(store.outbox_counts(t).unwrap().pending, 100);
    assert_eq!(
        store.count_touchpoints(t, None).unwrap(),
        u64::try_from(rounds).unwrap() * 200
    );
}

#[test]
fn report_and_dispatcher_scans_use_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let plan = |sql: &str| -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details: Vec<String> = statement
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        details.join("; ")
    };
    let due = plan(
        "SELECT key FROM outbox WHERE status = 'pending' AND next_at <= 5 \
         ORDER BY next_at, rowid LIMIT 10",
    );
    // In the index's order: a backlog of due items is never sorted.
    assert!(due.contains("outbox_due"), "{due}");
    assert!(!due.contains("TEMP B-TREE"), "{due}");
    let between = plan(
        "SELECT seq FROM lead_transitions WHERE tenant_id = 1 AND at >= 0 AND at < 9 \
         ORDER BY at, person_id, seq",
    );
    assert!(between.contains("lead_transitions_by_time"), "{between}");
    let log = plan("SELECT id FROM touchpoints WHERE id > 5 ORDER BY id LIMIT 10");
    assert!(log.contains("INTEGER PRIMARY KEY"), "{log}");
}

#[test]
fn outcomes_of_many_attempts_are_recorded_together_and_only_on_pending_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, _) = store.create_tenant("acme").unwrap();
    let a = acme.id;
    store
        .commit_lead_batch(&LeadBatch {
            progress: progress(1, 0),
            outbox: (0..4)
                .map(|i| outbox_item(a, &format!("k-{i}"), 100))
                .collect(),
            ..LeadBatch::default()
        })
        .unwrap();
    store
        .outbox_record(a, "k-3", OutboxOutcome::Dead { error: "no".into() }, 150)
        .unwrap();
    let recorded = store
        .outbox_record_all(
            a,
            vec![
                ("k-0".into(), OutboxOutcome::Sent),
                (
                    "k-1".into(),
                    OutboxOutcome::Retry {
                        next_at: 900,
                        error: "busy".into(),
                    },
                ),
                (
                    "k-2".into(),
                    OutboxOutcome::Dead {
                        error: "gone".into(),
                    },
                ),
                // Dead already: left as it is, not counted.
                ("k-3".into(), OutboxOutcome::Sent),
                ("k-unknown".into(), OutboxOutcome::Sent),
            ],
            200,
        )
        .unwrap();
    assert_eq!(recorded, 3);
    let item = |key: &str| store.outbox_item(a, key).unwrap().unwrap();
    assert_eq!(
        (item("k-0").status.as_str(), item("k-0").attempts),
        ("sent", 1)
    );
    let retried = item("k-1");
    assert_eq!(
        (
            retried.status.as_str(),
            retried.next_at,
            retried.last_error.as_deref()
        ),
        ("pending", 900, Some("busy"))
    );
    assert_eq!(item("k-2").status, "dead");
    assert_eq!(
        (
            item("k-3").status.as_str(),
            item("k-3").last_error.as_deref()
        ),
        ("dead", Some("no"))
    );
}

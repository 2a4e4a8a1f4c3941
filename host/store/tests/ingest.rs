//! Durable ingest against a real SQLite file: group commit, idempotency, back-pressure, paging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::thread;

use common::{document, open, tenant_with_connectors, touchpoint};
use leadhost_store::{
    AppendReceipt, NewTouchpoint, Store, StoreError, StoreOptions, TouchpointQuery,
};

fn receipt(stored: usize, duplicates: usize) -> AppendReceipt {
    AppendReceipt { stored, duplicates }
}

fn query(connector: Option<&str>, after: Option<i64>, limit: Option<u32>) -> TouchpointQuery {
    TouchpointQuery {
        connector: connector.map(str::to_string),
        after,
        limit,
    }
}

#[test]
fn append_then_page_through_with_cursor_and_connector_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web", "crm"]);
    let (web, crm) = (&connectors[0], &connectors[1]);
    let (other, other_connectors) = tenant_with_connectors(&store, "other", &["web"]);

    // Interleave batches of the two connectors: 5 x 50 on web, 5 x 10 on crm.
    for round in 0..5 {
        let batch = (0..50)
            .map(|i| touchpoint(&format!("w-{round}-{i}"), Some(1_000 + round * 50 + i)))
            .collect();
        assert_eq!(
            store
                .append_blocking(tenant.id, web.id, 5_000, batch)
                .unwrap(),
            receipt(50, 0)
        );
        let batch = (0..10)
            .map(|i| touchpoint(&format!("c-{round}-{i}"), None))
            .collect();
        assert_eq!(
            store
                .append_blocking(tenant.id, crm.id, 6_000, batch)
                .unwrap(),
            receipt(10, 0)
        );
    }
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 300);
    assert_eq!(
        store.count_touchpoints(tenant.id, Some(web.id)).unwrap(),
        250
    );
    assert_eq!(
        store.count_touchpoints(tenant.id, Some(crm.id)).unwrap(),
        50
    );
    assert_eq!(store.count_touchpoints(other.id, None).unwrap(), 0);

    // All of the tenant, 100 per page.
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .touchpoints(tenant.id, &query(None, after, Some(100)))
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 100);
        seen.extend(page.items);
        match page.next {
            Some(next) => {
                assert_eq!(Some(next), seen.last().map(|t| t.id));
                after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(
        pages, 3,
        "300 rows in pages of 100, the last one says it is the last"
    );
    assert_eq!(seen.len(), 300);
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id), "id order");
    for item in &seen {
        assert_eq!(item.document, document(&item.external_id), "byte-identical");
        if item.external_id.starts_with("w-") {
            assert_eq!(item.connector, "web");
            assert_eq!(item.received_at, 5_000);
            assert!(item.occurred_at >= 1_000 && item.occurred_at < 1_250);
        } else {
            assert_eq!(item.connector, "crm");
            assert_eq!(
                item.occurred_at, 6_000,
                "no occurred_at: received_at is stored"
            );
        }
        assert_eq!(
            (item.channel.as_str(), item.kind.as_str()),
            ("web", "page_view")
        );
    }
    // Insertion order is id order.
    assert_eq!(seen[0].external_id, "w-0-0");
    assert_eq!(seen[50].external_id, "c-0-0");
    assert_eq!(seen[299].external_id, "c-4-9");

    // One connector, 20 per page: 20, 20, 10.
    let mut sizes = Vec::new();
    let mut crm_items = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .touchpoints(tenant.id, &query(Some("crm"), after, Some(20)))
            .unwrap();
        sizes.push(page.items.len());
        crm_items.extend(page.items);
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(sizes, vec![20, 20, 10]);
    assert!(crm_items.iter().all(|t| t.connector == "crm"));
    let expected: Vec<_> = seen
        .iter()
        .filter(|t| t.connector == "crm")
        .map(|t| t.id)
        .collect();
    assert_eq!(crm_items.iter().map(|t| t.id).collect::<Vec<_>>(), expected);

    // Defaults and limits.
    let page = store
        .touchpoints(tenant.id, &TouchpointQuery::default())
        .unwrap();
    assert_eq!(page.items.len(), 100);
    assert_eq!(page.next, Some(page.items[99].id));
    let page = store
        .touchpoints(tenant.id, &query(None, None, Some(5_000)))
        .unwrap();
    assert_eq!((page.items.len(), page.next), (300, None));
    let last = seen[299].id;
    let page = store
        .touchpoints(tenant.id, &query(None, Some(last), None))
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());

    // Other tenants see nothing and cannot write through someone else's connector.
    let page = store
        .touchpoints(other.id, &TouchpointQuery::default())
        .unwrap();
    assert!(page.items.is_empty());
    assert!(matches!(
        store.touchpoints(tenant.id, &query(Some("nope"), None, None)),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.append_blocking(other.id, web.id, 1, vec![touchpoint("x", Some(1))]),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.append_blocking(
            tenant.id,
            other_connectors[0].id,
            1,
            vec![touchpoint("x", Some(1))]
        ),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.count_touchpoints(other.id, None).unwrap(), 0);
}

#[test]
fn redelivery_is_deduplicated_by_time_and_external_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let web = connectors[0].id;

    let batch: Vec<NewTouchpoint> = (0..20)
        .map(|i| touchpoint(&format!("m-{i}"), Some(10_000 + i)))
        .collect();
    assert_eq!(
        store
            .append_blocking(tenant.id, web, 1, batch.clone())
            .unwrap(),
        receipt(20, 0)
    );
    // The same delivery again, even received later: nothing new.
    assert_eq!(
        store.append_blocking(tenant.id, web, 2, batch).unwrap(),
        receipt(0, 20)
    );
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 20);

    // Documented limitation: the same id re-stamped with another time is another touchpoint.
    assert_eq!(
        store
            .append_blocking(tenant.id, web, 3, vec![touchpoint("m-0", Some(99_999))])
            .unwrap(),
        receipt(1, 0)
    );
    // Without occurred_at the key time is 0, so the received time does not matter.
    let untimed = vec![touchpoint("u-1", None)];
    assert_eq!(
        store
            .append_blocking(tenant.id, web, 4, untimed.clone())
            .unwrap(),
        receipt(1, 0)
    );
    assert_eq!(
        store.append_blocking(tenant.id, web, 5, untimed).unwrap(),
        receipt(0, 1)
    );
    // Duplicates inside one batch are counted as such.
    let twice = vec![touchpoint("d-1", Some(7)), touchpoint("d-1", Some(7))];
    assert_eq!(
        store.append_blocking(tenant.id, web, 6, twice).unwrap(),
        receipt(1, 1)
    );
    // The same key on another connector is a different touchpoint.
    let crm = store
        .put_connector(tenant.id, &common::spec("crm"))
        .unwrap();
    assert_eq!(
        store
            .append_blocking(tenant.id, crm.id, 7, vec![touchpoint("m-0", Some(10_000))])
            .unwrap(),
        receipt(1, 0)
    );
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 24);
    // An empty batch is answered at once.
    assert_eq!(
        store
            .append(tenant.id, web, 8, Vec::new())
            .unwrap()
            .wait()
            .unwrap(),
        receipt(0, 0)
    );
}

#[test]
fn concurrent_appends_are_all_answered_and_counted() {
    const THREADS: usize = 8;
    const BATCHES: usize = 200;
    const ROWS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["a", "b"]);
    let connector_ids: Arc<Vec<i64>> = Arc::new(connectors.iter().map(|c| c.id).collect());

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            let connector_ids = Arc::clone(&connector_ids);
            thread::spawn(move || {
                let mut stored = 0;
                let mut answers = 0;
                // Keep several batches in flight per thread so that groups really form.
                let mut in_flight = Vec::new();
                for b in 0..BATCHES {
                    let batch = (0..ROWS)
                        .map(|r| touchpoint(&format!("{t}-{b}-{r}"), Some((b * ROWS + r) as i64)))
                        .collect();
                    let connector = connector_ids[b % 2];
                    // 8 threads x 8 in flight stay far below the queue capacity: no Busy.
                    in_flight.push(store.append(tenant.id, connector, 1, batch).unwrap());
                    if in_flight.len() == 8 {
                        for pending in in_flight.drain(..) {
                            let receipt = pending.wait().unwrap();
                            assert_eq!(receipt.duplicates, 0);
                            stored += receipt.stored;
                            answers += 1;
                        }
                    }
                }
                for pending in in_flight {
                    stored += pending.wait().unwrap().stored;
                    answers += 1;
                }
                (stored, answers)
            })
        })
        .collect();
    let (mut stored, mut answers) = (0, 0);
    for worker in workers {
        let (s, a) = worker.join().unwrap();
        stored += s;
        answers += a;
    }
    assert_eq!(answers, THREADS * BATCHES);
    assert_eq!(stored, THREADS * BATCHES * ROWS);
    assert_eq!(
        store.count_touchpoints(tenant.id, None).unwrap(),
        (THREADS * BATCHES * ROWS) as u64
    );
    assert_eq!(
        store
            .count_touchpoints(tenant.id, Some(connector_ids[0]))
            .unwrap(),
        (THREADS * BATCHES * ROWS / 2) as u64
    );
}

#[test]
fn full_queue_answers_busy_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        queue_capacity: 1,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("busy.db"), options).unwrap();
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let web = connectors[0].id;

    let mut pending = Vec::new();
    let mut busy = 0;
    for n in 0..100_000 {
        let batch = (0..20)
            .map(|r| touchpoint(&format!("{n}-{r}"), Some(n)))
            .collect();
        match store.append(tenant.id, web, 1, batch) {
            Ok(p) => pending.push(p),
            Err(StoreError::Busy) => {
                busy += 1;
                if busy >= 50 && pending.len() >= 10 {
                    break;
                }
            }
            Err(error) => panic!("unexpected {error}"),
        }
    }
    assert!(busy > 0, "a queue of one batch never filled up");
    let acknowledged: usize = pending.into_iter().map(|p| p.wait().unwrap().stored).sum();
    assert!(acknowledged > 0);
    assert_eq!(
        store.count_touchpoints(tenant.id, None).unwrap(),
        acknowledged as u64
    );
}

#[test]
fn queued_batches_are_answered_when_the_last_handle_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let pending: Vec<_> = (0..50)
        .map(|n| {
            let batch = (0..10)
                .map(|r| touchpoint(&format!("{n}-{r}"), Some(n)))
                .collect();
            store.append(tenant.id, connectors[0].id, 1, batch).unwrap()
        })
        .collect();
    drop(store);
    let stored: usize = pending.into_iter().map(|p| p.wait().unwrap().stored).sum();
    assert_eq!(stored, 500);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_can_be_awaited() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let mut answers = Vec::new();
    for n in 0..20 {
        let batch = vec![touchpoint(&format!("a-{n}"), Some(n))];
        answers.push(store.append(tenant.id, connectors[0].id, 1, batch).unwrap());
    }
    let mut stored = 0;
    for answer in answers {
        stored += answer.finish().await.unwrap().stored;
    }
    assert_eq!(stored, 20);
}

/// A failing transaction answers its batches with the error and stores none of them; the
/// writer carries on with the next group.
#[test]
fn failed_transaction_is_reported_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let (tenant, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let web = connectors[0].id;
    let side = rusqlite::Connection::open(&path).unwrap();
    side.execute_batch(
        "CREATE TRIGGER poison BEFORE INSERT ON touchpoints WHEN NEW.external_id = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
    )
    .unwrap();

    let batch = vec![touchpoint("ok-1", Some(1)), touchpoint("poison", Some(2))];
    let error = store.append_blocking(tenant.id, web, 1, batch).unwrap_err();
    assert!(matches!(error, StoreError::Sqlite(_)), "{error:?}");
    assert!(error.to_string().contains("poisoned"), "{error}");
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 0);

    let batch = vec![touchpoint("ok-1", Some(1))];
    assert_eq!(
        store.append_blocking(tenant.id, web, 1, batch).unwrap(),
        receipt(1, 0)
    );
}

/// The paging scan must be served by the (tenant, connector) index alone, without a sort.
#[test]
fn paging_scan_uses_the_connector_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.db");
    let _store = Store::open(&path, StoreOptions::default()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut statement = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM touchpoints WHERE tenant_id = 1 \
             AND connector_id = 2 AND id > 3 ORDER BY id LIMIT 10",
        )
        .unwrap();
    let plan: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("; ");
    assert!(
        plan.contains("COVERING INDEX touchpoints_by_connector"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

//! Tenants, connectors, secrets and plugin state against a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{open, spec, tenant_with_connectors, touchpoint};
use leadhost_store::{Store, StoreError, StoreOptions, TouchpointQuery};

#[test]
fn tenant_names_are_validated_and_unique() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for bad in [
        "",
        "-acme",
        "Acme",
        "acme_eu",
        "acme eu",
        "ac.me",
        &"a".repeat(64),
    ] {
        match store.create_tenant(bad) {
            Err(StoreError::Invalid(message)) => {
                assert!(message.contains("^[a-z0-9][a-z0-9-]{0,62}$"), "{message}");
            }
            other => panic!("{bad:?}: expected Invalid, got {other:?}"),
        }
    }
    let (acme, _) = store.create_tenant("acme").unwrap();
    assert_eq!(acme.name, "acme");
    assert!(acme.created_at > 1_600_000_000_000, "unix ms");
    assert!(matches!(
        store.create_tenant("acme"),
        Err(StoreError::AlreadyExists(_))
    ));
    store.create_tenant("0-beta").unwrap();
    store.create_tenant(&"z".repeat(63)).unwrap();

    let names: Vec<_> = store
        .list_tenants()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        vec!["0-beta".to_string(), "acme".to_string(), "z".repeat(63)]
    );
    assert_eq!(store.tenant("acme").unwrap().unwrap().id, acme.id);
    assert!(store.tenant("nobody").unwrap().is_none());
}

#[test]
fn api_key_finds_its_tenant_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (acme, acme_key) = store.create_tenant("acme").unwrap();
    let (beta, beta_key) = store.create_tenant("beta").unwrap();
    assert!(acme_key.starts_with("lh_"));
    assert_eq!(acme_key.len(), 3 + 43);
    assert_ne!(acme_key, beta_key);

    assert_eq!(
        store.tenant_by_api_key(&acme_key).unwrap().unwrap().id,
        acme.id
    );
    assert_eq!(
        store.tenant_by_api_key(&beta_key).unwrap().unwrap().id,
        beta.id
    );
    let mut wrong = acme_key.clone();
    wrong.pop();
    wrong.push(if acme_key.ends_with('A') { 'B' } else { 'A' });
    assert!(store.tenant_by_api_key(&wrong).unwrap().is_none());
    assert!(store.tenant_by_api_key("").unwrap().is_none());
    assert!(store.tenant_by_api_key(&acme_key[3..]).unwrap().is_none());

    // Only the hash is stored.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let stored: Vec<u8> = conn
        .query_row(
            "SELECT api_key_sha256 FROM tenants WHERE id = ?1",
            [acme.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&acme_key[3..]));
}

#[test]
fn put_connector_upserts_and_bumps_revision_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tenant, _) = store.create_tenant("acme").unwrap();

    let mut desired = spec("web");
    let created = store.put_connector(tenant.id, &desired).unwrap();
    assert_eq!((created.revision, created.tenant_id), (1, tenant.id));
    assert_eq!(created.secret_names(), vec!["signing_key".to_string()]);

    // Re-applying the same spec changes nothing.
    let same = store.put_connector(tenant.id, &desired).unwrap();
    assert_eq!(
        (same.id, same.revision, same.updated_at),
        (created.id, 1, created.updated_at)
    );

    desired
        .config
        .insert("region".to_string(), "eu".to_string());
    desired.secrets = BTreeMap::from([("token".to_string(), "t0k3n".to_string())]);
    desired.grants.timeout_ms = Some(500);
    let changed = store.put_connector(tenant.id, &desired).unwrap();
    assert_eq!((changed.id, changed.revision), (created.id, 2));

    let loaded = store.connector(tenant.id, "web").unwrap().unwrap();
    assert_eq!(loaded.revision, 2);
    assert_eq!(loaded.config, desired.config);
    assert_eq!(
        loaded.secrets, desired.secrets,
        "secrets are replaced, not merged"
    );
    assert_eq!(loaded.grants, desired.grants);
    assert_eq!(loaded.plugin_version, "1.0.0");

    let disabled = store
        .set_connector_enabled(tenant.id, "web", false)
        .unwrap();
    assert_eq!((disabled.enabled, disabled.revision), (false, 3));
    let again = store
        .set_connector_enabled(tenant.id, "web", false)
        .unwrap();
    assert_eq!(again.revision, 3, "no change, no new revision");
    let loaded = store.connector(tenant.id, "web").unwrap().unwrap();
    assert_eq!((loaded.enabled, loaded.revision), (false, 3));

    assert!(matches!(
        store.set_connector_enabled(tenant.id, "missing", true),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.put_connector(tenant.id, &spec("Bad_Name")),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.put_connector(tenant.id + 100, &spec("web")),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.connector(tenant.id, "missing").unwrap().is_none());

    // Names are per tenant.
    let (beta, _) = store.create_tenant("beta").unwrap();
    let other = store.put_connector(beta.id, &spec("web")).unwrap();
    assert_ne!(other.id, created.id);
    assert_eq!(other.revision, 1);
    store.put_connector(tenant.id, &spec("crm")).unwrap();
    let names: Vec<_> = store
        .list_connectors(tenant.id)
        .unwrap()
        .into_iter()
        .map(|c| (c.name.clone(), c.secret_names()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("crm".to_string(), vec!["signing_key".to_string()]),
            ("web".to_string(), vec!["token".to_string()]),
        ]
    );
}

#[test]
fn debug_output_hides_secret_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (_, connectors) = tenant_with_connectors(&store, "acme", &["web"]);
    let shown = format!("{:?} {:?}", connectors[0], spec("web"));
    assert!(shown.contains("signing_key"), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

#[test]
fn plugin_state_is_scoped_per_connector() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (_, connectors) = tenant_with_connectors(&store, "acme", &["web", "crm"]);
    let (web, crm) = (connectors[0].id, connectors[1].id);

    assert_eq!(store.state_get(web, "cursor").unwrap(), None);
    store.state_set(web, "cursor", b"42").unwrap();
    store.state_set(web, "cursor", &[0, 159, 146, 150]).unwrap();
    store.state_set(crm, "cursor", b"other").unwrap();
    assert_eq!(
        store.state_get(web, "cursor").unwrap(),
        Some(vec![0, 159, 146, 150])
    );
    assert_eq!(
        store.state_get(crm, "cursor").unwrap(),
        Some(b"other".to_vec())
    );
    store.state_set(web, "empty", b"").unwrap();
    assert_eq!(store.state_get(web, "empty").unwrap(), Some(Vec::new()));

    store.state_delete(web, "cursor").unwrap();
    store.state_delete(web, "never-set").unwrap();
    assert_eq!(store.state_get(web, "cursor").unwrap(), None);
    assert_eq!(
        store.state_get(crm, "cursor").unwrap(),
        Some(b"other".to_vec())
    );
    assert!(matches!(
        store.state_set(crm + 100, "cursor", b"x"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn everything_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (tenant, key, connector) = {
        let store = open(dir.path());
        let (tenant, key) = store.create_tenant("acme").unwrap();
        store.put_connector(tenant.id, &spec("web")).unwrap();
        let mut changed = spec("web");
        changed.secrets.insert("extra".to_string(), "x".to_string());
        let connector = store.put_connector(tenant.id, &changed).unwrap();
        store.state_set(connector.id, "cursor", b"abc").unwrap();
        let batch = (0..30)
            .map(|i| touchpoint(&format!("e-{i}"), Some(i)))
            .collect();
        store
            .append_blocking(tenant.id, connector.id, 9, batch)
            .unwrap();
        (tenant, key, connector)
    };

    let store = open(dir.path());
    assert_eq!(
        store.tenant("acme").unwrap().unwrap().created_at,
        tenant.created_at
    );
    assert_eq!(
        store.tenant_by_api_key(&key).unwrap().unwrap().id,
        tenant.id
    );
    let loaded = store.connector(tenant.id, "web").unwrap().unwrap();
    assert_eq!((loaded.id, loaded.revision), (connector.id, 2));
    assert_eq!(loaded.secrets, connector.secrets);
    assert_eq!(loaded.secrets.get("extra").map(String::as_str), Some("x"));
    assert_eq!(loaded.grants, connector.grants);
    assert_eq!(loaded.updated_at, connector.updated_at);
    assert_eq!(
        store.state_get(connector.id, "cursor").unwrap(),
        Some(b"abc".to_vec())
    );
    assert_eq!(store.count_touchpoints(tenant.id, None).unwrap(), 30);
    let page = store
        .touchpoints(tenant.id, &TouchpointQuery::default())
        .unwrap();
    assert_eq!(page.items.len(), 30);
    assert_eq!(page.items[0].document, common::document("e-0"));

    // Redelivery is still caught after a restart, and ids keep growing.
    let batch = (0..31)
        .map(|i| touchpoint(&format!("e-{i}"), Some(i)))
        .collect();
    let receipt = store
        .append_blocking(tenant.id, connector.id, 10, batch)
        .unwrap();
    assert_eq!((receipt.stored, receipt.duplicates), (1, 30));
    let page = store
        .touchpoints(tenant.id, &TouchpointQuery::default())
        .unwrap();
    assert_eq!(page.items[30].external_id, "e-30");
    assert!(page.items[30].id > page.items[29].id);
}

#[test]
fn schema_version_is_recorded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("deeper").join("v.db");
    drop(Store::open(&path, StoreOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    // Reopening at the current version is fine; a newer file is refused.
    drop(Store::open(&path, StoreOptions::default()).unwrap());
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    assert!(matches!(
        Store::open(&path, StoreOptions::default()),
        Err(StoreError::Invalid(_))
    ));
    let zero = StoreOptions {
        queue_capacity: 0,
        ..StoreOptions::default()
    };
    assert!(matches!(
        Store::open(&dir.path().join("z.db"), zero),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn spend_is_stored_all_or_nothing_listed_by_period_and_deleted() {
    use leadhost_store::NewSpend;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db"), StoreOptions::default()).unwrap();
    let (acme, _) = store.create_tenant("acme").unwrap();
    let entry = |channel: Option<&str>, from: i64, amount: f64| NewSpend {
        channel: channel.map(str::to_string),
        campaign: Some("spring".into()),
        from,
        to: from + 10,
        amount,
        currency: " eur".into(),
        note: None,
    };
    let ids = store
        .add_spend(
            acme.id,
            &[entry(Some("social"), 50, 400.0), entry(None, 20, 100.0)],
            7,
        )
        .unwrap();
    assert_eq!(ids.len(), 2);
    // One bad entry stores none of the batch and is named by position.
    let err = store
        .add_spend(
            acme.id,
            &[entry(Some("web"), 1, 5.0), entry(Some("web"), 1, f64::NAN)],
            8,
        )
        .unwrap_err();
    assert!(err.to_string().contains("spend 1"), "{err}");
    let mut backwards = entry(Some("web"), 30, 1.0);
    backwards.to = 29;
    assert!(store.add_spend(acme.id, &[backwards], 8).is_err());
    assert!(matches!(
        store.add_spend(999, &[entry(None, 1, 1.0)], 8),
        Err(StoreError::NotFound(_))
    ));

    let rows = store.spend(acme.id).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.from, r.channel.as_deref(), r.amount, r.currency.as_str()))
        .collect();
    assert_eq!(
        got,
        [(20, None, 100.0, "EUR"), (50, Some("social"), 400.0, "EUR")]
    );
    assert!(store.delete_spend(acme.id, rows[0].id).unwrap());
    assert!(!store.delete_spend(acme.id, rows[0].id).unwrap());
    assert_eq!(store.spend(acme.id).unwrap().len(), 1);
}

//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use leadhost_store::{
    Connector, ConnectorSpec, Grants, NewTouchpoint, Store, StoreOptions, Tenant,
};

pub fn open(dir: &Path) -> Store {
    Store::open(
        &dir.join("data").join("leadhost.db"),
        StoreOptions::default(),
    )
    .unwrap()
}

pub fn spec(name: &str) -> ConnectorSpec {
    ConnectorSpec {
        name: name.to_string(),
        plugin: "web".to_string(),
        plugin_version: "1.0.0".to_string(),
        config: BTreeMap::from([("site".to_string(), "example.com".to_string())]),
        secrets: BTreeMap::from([("signing_key".to_string(), "s3cr3t".to_string())]),
        grants: Grants {
            outbound_hosts: vec!["api.example.com".to_string()],
            state: true,
            memory_mib: Some(16),
            ..Grants::default()
        },
        enabled: true,
    }
}

pub fn tenant_with_connectors(
    store: &Store,
    tenant: &str,
    names: &[&str],
) -> (Tenant, Vec<Connector>) {
    let (tenant, _key) = store.create_tenant(tenant).unwrap();
    let connectors = names
        .iter()
        .map(|name| store.put_connector(tenant.id, &spec(name)).unwrap())
        .collect();
    (tenant, connectors)
}

pub fn touchpoint(external_id: &str, occurred_at: Option<i64>) -> NewTouchpoint {
    NewTouchpoint {
        external_id: external_id.to_string(),
        occurred_at,
        channel: "web".to_string(),
        kind: "page_view".to_string(),
        document: document(external_id),
    }
}

/// A document with whitespace, escapes and non-ASCII text that must survive byte for byte.
pub fn document(external_id: &str) -> String {
    format!(
        "{{ \"messageId\": \"{external_id}\",\n  \"properties\": {{\"title\":\"Caf\u{e9} \\u00e9 \u{1F600}\", \"n\": 1.50}} }}"
    )
}

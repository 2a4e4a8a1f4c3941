//! The demo's last part: the month's marketing spend is entered, then the
//! funnel and the channel cost table of that month are shown, as
//! `leadhost report funnel|cost` would print them.

use anyhow::Context;
use leadhost_core::reports::{Report, tables_text};
use serde_json::json;

use crate::client::{ServerArgs, call};

/// What the demo company spent in its month, per channel and campaign.
const SPEND: &[(&str, Option<&str>, f64, &str)] = &[
    ("web", Some("pulp-line-upgrade"), 2400.0, "Google Ads"),
    (
        "social",
        Some("pulp-line-upgrade"),
        1800.0,
        "LinkedIn sponsored posts",
    ),
    ("email", Some("spring-newsletter"), 300.0, "newsletter tool"),
    ("events", None, 4000.0, "trade-fair stand"),
    ("social", None, 600.0, "lead-form ads"),
];

async fn report(api: &ServerArgs, name: &str, from: i64, to: i64) -> anyhow::Result<Report> {
    let path = format!("/v1/tenants/acme/reports/{name}?from={from}&to={to}");
    let v = call(api, reqwest::Method::GET, &path, None).await?;
    serde_json::from_value(v).with_context(|| format!("the {name} report does not read back"))
}

/// Enters the spend of `[from, to)` and prints that month's funnel and costs.
pub async fn show(api: &ServerArgs, from: i64, to: i64) -> anyhow::Result<()> {
    let items: Vec<_> = SPEND
        .iter()
        .map(|(channel, campaign, amount, note)| {
            json!({"channel": channel, "campaign": campaign, "from": from, "to": to,
                   "amount": amount, "currency": "EUR", "note": note})
        })
        .collect();
    let total: f64 = SPEND.iter().map(|s| s.2).sum();
    call(
        api,
        reqwest::Method::POST,
        "/v1/tenants/acme/spend",
        Some(json!({ "items": items })),
    )
    .await?;
    println!(
        "\nThe month in reports ({} spend entries, {total:.0} EUR, entered as \
         `leadhost spend add` would):",
        SPEND.len()
    );
    let funnel = report(api, "funnel", from, to).await?;
    let tables = funnel.tables();
    // The stage table and the conversions; cohorts and stuck leads are in
    // `leadhost report funnel`.
    println!("\n{}", tables_text(&tables[..tables.len().min(2)]));
    let cost = report(api, "cost", from, to).await?;
    let tables = cost.tables();
    println!("{}", tables_text(&tables[..tables.len().min(1)]));
    Ok(())
}

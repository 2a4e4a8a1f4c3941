//! `leadhost report` and `leadhost spend`: reports as terminal tables, CSV
//! or JSON, and the marketing spend they divide by.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use leadhost_core::reports::{Report, Table, tables_csv, tables_text};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{ServerArgs, call, post_csv};
use crate::lead_client::encode;

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal.
    Table,
    /// Each table as CSV, under a `# title` line.
    Csv,
    /// The report as the API gives it.
    Json,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Which report: funnel, channels, cost, attribution, sla or nurture.
    pub name: String,
    /// The tenant.
    pub tenant: String,
    /// Start of the range: a date (2026-03-01), a month (2026-03), an RFC 3339 instant or ms.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (exclusive), as --from.
    #[arg(long)]
    pub to: Option<String>,
    /// Measure open durations (stuck leads, overdue hand-offs) to this time.
    #[arg(long)]
    pub now: Option<String>,
    /// Only leads whose first touch came through this channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only leads whose first touch had this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only leads whose first touch had this medium (organic, paid, referral, direct, email, social).
    #[arg(long)]
    pub medium: Option<String>,
    /// Only leads whose first touch had this campaign.
    #[arg(long)]
    pub campaign: Option<String>,
    /// Only leads of a segment: industry:VALUE, tier:VALUE or country:VALUE.
    #[arg(long)]
    pub segment: Option<String>,
    /// Only leads ever enrolled in this care model.
    #[arg(long)]
    pub care_model: Option<String>,
    /// Days in one stage after which a lead counts as stuck (default 30).
    #[arg(long)]
    pub stuck_days: Option<u32>,
    /// The report currency (default: the most common order currency).
    #[arg(long)]
    pub currency: Option<String>,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub server: ServerArgs,
}

impl ReportArgs {
    /// The API path with the query string.
    fn path(&self) -> anyhow::Result<String> {
        let mut url = reqwest::Url::parse("http://report.invalid/")?;
        {
            let mut query = url.query_pairs_mut();
            let params = [
                ("from", &self.from),
                ("to", &self.to),
                ("now", &self.now),
                ("channel", &self.channel),
                ("source", &self.source),
                ("medium", &self.medium),
                ("campaign", &self.campaign),
                ("segment", &self.segment),
                ("care_model", &self.care_model),
                ("currency", &self.currency),
            ];
            for (name, value) in params {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            if let Some(days) = self.stuck_days {
                query.append_pair("stuck_days", &days.to_string());
            }
        }
        let mut path = format!(
            "/v1/tenants/{}/reports/{}",
            encode(&self.tenant),
            encode(&self.name)
        );
        if let Some(q) = url.query().filter(|q| !q.is_empty()) {
            path.push('?');
            path.push_str(q);
        }
        Ok(path)
    }
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let v = call(&args.server, Method::GET, &args.path()?, None).await?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let report: Report =
        serde_json::from_value(v).context("the server's report does not read back")?;
    match args.format {
        Format::Csv => print!("{}", tables_csv(&report.tables())),
        _ => print!("{}", tables_text(&report.tables())),
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum SpendCommand {
    /// The tenant's spend entries.
    List {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Enter spend for a channel and/or campaign over a period.
    Add {
        /// The tenant.
        tenant: String,
        /// How much.
        #[arg(long)]
        amount: f64,
        /// In what (ISO 4217, e.g. EUR).
        #[arg(long)]
        currency: String,
        /// The period's start: a date, a month, an RFC 3339 instant or ms.
        #[arg(long)]
        from: String,
        /// The period's end (exclusive), as --from; the same as --from for a one-off.
        #[arg(long)]
        to: String,
        /// The channel it bought (web, email, social, eservices, portal, events, other).
        #[arg(long)]
        channel: Option<String>,
        /// The campaign it bought, as touchpoints name it.
        #[arg(long)]
        campaign: Option<String>,
        /// Words for the record.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Import spend from a CSV file with the header
    /// channel,campaign,from,to,amount,currency,note (all rows or none).
    Import {
        /// The tenant.
        tenant: String,
        /// The CSV file.
        file: std::path::PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a spend entry.
    Delete {
        /// The tenant.
        tenant: String,
        /// Its id (see `spend list`).
        id: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn spend_table(items: &[Value]) -> Table {
    let cell = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let day = |v: &Value| v.as_i64().map(crate::traffic::iso).unwrap_or_default();
    Table {
        title: format!("{} spend entries", items.len()),
        headers: [
            "id", "channel", "campaign", "from", "to", "amount", "currency", "note",
        ]
        .map(String::from)
        .to_vec(),
        rows: items
            .iter()
            .map(|i| {
                vec![
                    cell(&i["id"]),
                    cell(&i["channel"]),
                    cell(&i["campaign"]),
                    day(&i["from"]),
                    day(&i["to"]),
                    i["amount"]
                        .as_f64()
                        .map(|a| format!("{a:.2}"))
                        .unwrap_or_default(),
                    cell(&i["currency"]),
                    cell(&i["note"]),
                ]
            })
            .collect(),
    }
}

pub async fn spend(cmd: SpendCommand) -> anyhow::Result<()> {
    match cmd {
        SpendCommand::List { tenant, server } => {
            let path = format!("/v1/tenants/{}/spend", encode(&tenant));
            let v = call(&server, Method::GET, &path, None).await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            print!("{}", spend_table(&items).to_text());
        }
        SpendCommand::Add {
            tenant,
            amount,
            currency,
            from,
            to,
            channel,
            campaign,
            note,
            server,
        } => {
            let path = format!("/v1/tenants/{}/spend", encode(&tenant));
            let body = json!({"amount": amount, "currency": currency, "from": from, "to": to,
                              "channel": channel, "campaign": campaign, "note": note});
            let v = call(&server, Method::POST, &path, Some(body)).await?;
            println!("spend entry {} added", v["ids"][0]);
        }
        SpendCommand::Import {
            tenant,
            file,
            server,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let path = format!("/v1/tenants/{}/spend", encode(&tenant));
            let v = post_csv(&server, &path, text).await?;
            println!(
                "{} spend entries imported from {}",
                v["added"],
                file.display()
            );
        }
        SpendCommand::Delete { tenant, id, server } => {
            let path = format!("/v1/tenants/{}/spend/{id}", encode(&tenant));
            call(&server, Method::DELETE, &path, None).await?;
            println!("spend entry {id} removed");
        }
    }
    Ok(())
}

//! CSV uploads from lead-retrieval apps: badge scans (`POST /scans`) and
//! no-show lists (`POST /no-shows`). One row, one touchpoint; a bad row
//! refuses the whole upload, naming its line.

use crate::csv::{Reader, Record};
use crate::util::{fnv1a64, non_empty};
use leadhost_sdk::email::company_domain;
use leadhost_sdk::parse_rfc3339;
use leadhost_sdk::prelude::*;

/// The columns the connector knows. Any other column becomes an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// When the badge was scanned (scans).
    ScannedAt,
    /// When the person registered (no-shows).
    RegisteredAt,
    /// The badge or ticket barcode.
    BadgeId,
    /// Email address.
    Email,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Company name.
    Company,
    /// Job title.
    JobTitle,
    /// Phone number.
    Phone,
    /// The event.
    EventId,
    /// A session of the event.
    SessionId,
    /// The booth that scanned the badge.
    Booth,
    /// The exhibitor's rating of the lead.
    Rating,
    /// The exhibitor's notes.
    Notes,
}

const FIELDS: [Field; 14] = [
    Field::ScannedAt,
    Field::RegisteredAt,
    Field::BadgeId,
    Field::Email,
    Field::FirstName,
    Field::LastName,
    Field::Company,
    Field::JobTitle,
    Field::Phone,
    Field::EventId,
    Field::SessionId,
    Field::Booth,
    Field::Rating,
    Field::Notes,
];

impl Field {
    /// The column name.
    pub fn name(self) -> &'static str {
        match self {
            Field::ScannedAt => "scanned_at",
            Field::RegisteredAt => "registered_at",
            Field::BadgeId => "badge_id",
            Field::Email => "email",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Company => "company",
            Field::JobTitle => "job_title",
            Field::Phone => "phone",
            Field::EventId => "event_id",
            Field::SessionId => "session_id",
            Field::Booth => "booth",
            Field::Rating => "rating",
            Field::Notes => "notes",
        }
    }
}

/// Which upload a CSV is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sheet {
    /// Badge scans: `POST /scans`.
    Scans,
    /// People who registered and did not come: `POST /no-shows`.
    NoShows,
}

impl Sheet {
    /// The column holding each row's time; required.
    pub fn time_field(self) -> Field {
        match self {
            Sheet::Scans => Field::ScannedAt,
            Sheet::NoShows => Field::RegisteredAt,
        }
    }

    /// Whether the mapping reads this column itself (the rest become attributes).
    fn reads(self, field: Field) -> bool {
        match self {
            Sheet::Scans => field != Field::RegisteredAt,
            Sheet::NoShows => !matches!(
                field,
                Field::ScannedAt | Field::Booth | Field::Rating | Field::Notes
            ),
        }
    }
}

/// A header name, normalised: trimmed, lower case, spaces and dashes as `_`.
fn normalise(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Where each column sits in the rows.
struct Columns {
    known: [Option<usize>; FIELDS.len()],
    extras: Vec<(usize, String)>,
    width: usize,
}

impl Columns {
    fn of(header: &Record, sheet: Sheet) -> Result<Columns, String> {
        let mut columns = Columns {
            known: [None; FIELDS.len()],
            extras: Vec::new(),
            width: header.fields.len(),
        };
        let mut seen: Vec<String> = Vec::with_capacity(header.fields.len());
        for (index, raw) in header.fields.iter().enumerate() {
            let name = normalise(raw);
            if name.is_empty() {
                continue;
            }
            if seen.contains(&name) {
                return Err(format!(
                    "line {}: the header names the column {name:?} twice",
                    header.line
                ));
            }
            match FIELDS.iter().position(|f| f.name() == name) {
                Some(f) if sheet.reads(FIELDS[f]) => columns.known[f] = Some(index),
                _ => columns.extras.push((index, name.clone())),
            }
            seen.push(name);
        }
        let time = sheet.time_field();
        if columns.index(time).is_none() {
            return Err(format!(
                "line {}: the header has no `{}` column (the header row is required; columns: {})",
                header.line,
                time.name(),
                FIELDS
                    .iter()
                    .filter(|f| sheet.reads(**f))
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(columns)
    }

    fn index(&self, field: Field) -> Option<usize> {
        // FIELDS lists the variants in declaration order.
        self.known[field as usize]
    }
}

/// One data row with its columns.
struct Row<'r, 'a> {
    record: &'r Record<'a>,
    columns: &'r Columns,
}

impl Row<'_, '_> {
    /// A known column's value, trimmed; `None` when absent or empty.
    fn get(&self, field: Field) -> Option<&str> {
        let index = self.columns.index(field)?;
        non_empty(self.record.fields.get(index)?)
    }

    fn owned(&self, field: Field) -> Option<String> {
        self.get(field).map(str::to_owned)
    }
}

/// Parses an upload into touchpoints. Errors are `Malformed` or `TooLarge`
/// messages, each naming the line.
pub fn touchpoints(
    sheet: Sheet,
    text: &str,
    max_rows: usize,
) -> Result<Vec<Touchpoint>, IngestError> {
    let mut reader = Reader::new(text);
    let header = loop {
        match reader.next() {
            // An empty upload is an empty batch.
            None => return Ok(Vec::new()),
            Some(Err(e)) => return Err(IngestError::Malformed(e)),
            Some(Ok(record)) if record.is_blank() => continue,
            Some(Ok(record)) => break record,
        }
    };
    let columns = Columns::of(&header, sheet).map_err(IngestError::Malformed)?;
    let mut out = Vec::new();
    for record in reader {
        let record = record.map_err(IngestError::Malformed)?;
        if record.is_blank() {
            continue;
        }
        if out.len() == max_rows {
            return Err(IngestError::TooLarge(format!(
                "line {}: an upload may have at most {max_rows} rows (config `max-rows`)",
                record.line
            )));
        }
        if record.fields.len() != columns.width {
            return Err(IngestError::Malformed(format!(
                "line {}: {} fields, but the header has {} columns",
                record.line,
                record.fields.len(),
                columns.width
            )));
        }
        let row = Row {
            record: &record,
            columns: &columns,
        };
        out.push(touchpoint(sheet, &row).map_err(IngestError::Malformed)?);
    }
    Ok(out)
}

fn touchpoint(sheet: Sheet, row: &Row) -> Result<Touchpoint, String> {
    let line = row.record.line;
    let time_field = sheet.time_field();
    let time_text = row
        .get(time_field)
        .ok_or_else(|| format!("line {line}: `{}` is empty", time_field.name()))?;
    let at = parse_rfc3339(time_text).ok_or_else(|| {
        format!(
            "line {line}: `{}` is {time_text:?}, not an RFC 3339 time like 2024-05-14T09:30:00Z",
            time_field.name()
        )
    })?;

    let event_id = row.get(Field::EventId);
    let session_id = row.get(Field::SessionId);
    let booth = if sheet == Sheet::Scans {
        row.get(Field::Booth)
    } else {
        None
    };
    let badge_id = row.get(Field::BadgeId);
    let email = row.get(Field::Email);
    // Without a badge id the email tells people apart.
    let who = badge_id.or(email).unwrap_or("");
    let millis = at.to_string();
    let (prefix, kind) = match sheet {
        Sheet::Scans if session_id.is_some() && booth.is_none() => {
            ("scan", TouchpointKind::EventAttended)
        }
        Sheet::Scans => ("scan", TouchpointKind::BadgeScanned),
        Sheet::NoShows => ("noshow", TouchpointKind::EventNoShow),
    };
    let hash = fnv1a64(&[
        event_id.unwrap_or(""),
        who,
        &millis,
        booth.unwrap_or(""),
        session_id.unwrap_or(""),
    ]);

    let mut tp = Touchpoint {
        external_id: format!("{prefix}:{hash:016x}"),
        occurred_at: Some(at),
        channel: Channel::Events,
        kind,
        ..Touchpoint::default()
    };
    tp.identities.email = email.map(str::to_owned);
    tp.identities.phone = row.owned(Field::Phone);
    tp.identities.company_domain = email.and_then(company_domain);
    tp.traits.first_name = row.owned(Field::FirstName);
    tp.traits.last_name = row.owned(Field::LastName);
    tp.traits.company = row.owned(Field::Company);
    tp.traits.job_title = row.owned(Field::JobTitle);

    let p = &mut tp.properties;
    p.content_id = session_id.or(event_id).map(str::to_owned);
    p.source = Some(
        match sheet {
            Sheet::Scans => "lead-retrieval",
            Sheet::NoShows => "no-show-list",
        }
        .into(),
    );
    let mut attribute = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            p.other.push(Attribute::new(name, value));
        }
    };
    attribute("event_id", event_id);
    attribute("session_id", session_id);
    attribute("booth", booth);
    attribute("badge_id", badge_id);
    if sheet == Sheet::Scans {
        attribute("rating", row.get(Field::Rating));
        attribute("notes", row.get(Field::Notes));
    }
    for (index, name) in &row.columns.extras {
        if let Some(value) = row.record.fields.get(*index).and_then(|v| non_empty(v)) {
            p.other.push(Attribute::new(name.as_str(), value));
        }
    }
    Ok(tp)
}

/// Whether a content type is one a CSV upload may carry.
pub fn csv_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "" | "text/csv"
            | "application/csv"
            | "text/plain"
            | "application/octet-stream"
            | "application/vnd.ms-excel"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_listed_in_declaration_order() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(*f as usize, i);
        }
    }

    #[test]
    fn header_names_normalise() {
        assert_eq!(normalise(" Scanned At "), "scanned_at");
        assert_eq!(normalise("Badge-ID"), "badge_id");
    }

    #[test]
    fn content_types() {
        assert!(csv_content_type("text/csv; charset=utf-8"));
        assert!(csv_content_type(""));
        assert!(!csv_content_type("application/json"));
        assert!(!csv_content_type("multipart/form-data; boundary=x"));
    }
}

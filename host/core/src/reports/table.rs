//! Reports as plain tables of text: aligned for a terminal, or CSV.

use serde::{Deserialize, Serialize};

/// One table of a report: a title, column headers and rows of formatted
/// cells (every row as long as the headers). Missing values are `-`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// What the table shows.
    pub title: String,
    /// The column names.
    pub headers: Vec<String>,
    /// The cells, row by row.
    pub rows: Vec<Vec<String>>,
}

/// `tables` as CSV, one after the other: each under a `# title` line, a
/// blank line between them.
pub fn tables_csv(tables: &[Table]) -> String {
    tables
        .iter()
        .map(|t| format!("# {}\r\n{}", t.title, t.to_csv()))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// `tables` for a terminal, one after the other.
pub fn tables_text(tables: &[Table]) -> String {
    tables
        .iter()
        .map(Table::to_text)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Table {
    /// The table as CSV (RFC 4180: a header line, then one line per row;
    /// cells with a comma, a quote or a line break are quoted). The title
    /// is not part of it.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The table for a terminal: the title, then columns padded to their
    /// widest cell, a rule under the headers. Columns of numbers (after
    /// the first) are right-aligned, their headers too.
    pub fn to_text(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        let mut numeric = vec![!self.rows.is_empty(); columns];
        if let Some(first) = numeric.first_mut() {
            *first = false;
        }
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
                numeric[i] &= is_numeric(cell);
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .take(columns)
                .map(|(i, c)| {
                    if numeric[i] {
                        format!("{c:>w$}", w = widths[i])
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut out = format!("{}\n", self.title);
        out.push_str(&line(&self.headers));
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

fn is_numeric(c: &str) -> bool {
    c == "-"
        || c.trim_end_matches('%')
            .parse::<f64>()
            .is_ok_and(f64::is_finite)
}

/// A count.
pub(super) fn count(n: u64) -> String {
    n.to_string()
}

/// An amount of money, with two decimals.
pub(super) fn money(x: f64) -> String {
    format!("{x:.2}")
}

/// An amount of money, or `-`.
pub(super) fn money_or_dash(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), money)
}

/// A credit share, with two decimals.
pub(super) fn share(x: f64) -> String {
    format!("{x:.2}")
}

/// A ratio as a percentage with one decimal, or `-`.
pub(super) fn rate(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// Milliseconds as days with two decimals, or `-`.
pub(super) fn days(ms: Option<i64>) -> String {
    ms.map_or_else(
        || "-".to_string(),
        |ms| format!("{:.2}", ms as f64 / 86_400_000.0),
    )
}

/// Milliseconds as hours with two decimals, or `-`.
pub(super) fn hours(ms: Option<i64>) -> String {
    ms.map_or_else(
        || "-".to_string(),
        |ms| format!("{:.2}", ms as f64 / 3_600_000.0),
    )
}

/// Named counts on one line: `no budget 2; timing 1`.
pub(super) fn reasons(list: &[super::ReasonCount]) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|r| format!("{} {}", r.reason, r.count))
        .collect();
    parts.join("; ")
}

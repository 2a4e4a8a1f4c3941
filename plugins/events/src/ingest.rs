//! One request: route, check the token and the size, hand the body to the
//! webhook or CSV reader. The whole request succeeds or fails.

use crate::scans::{self, Sheet};
use crate::settings::{self, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROWS, MAX_BODY_BYTES, MAX_ROWS};
use crate::{auth, eventbrite};
use leadhost_sdk::prelude::*;

const ENDPOINTS: &str = "POST /eventbrite, /scans, /no-shows";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Eventbrite,
    Csv(Sheet),
}

fn route(path: &str) -> Option<Endpoint> {
    let path = path.strip_suffix('/').unwrap_or(path);
    Some(match path {
        "/eventbrite" => Endpoint::Eventbrite,
        "/scans" => Endpoint::Csv(Sheet::Scans),
        "/no-shows" => Endpoint::Csv(Sheet::NoShows),
        _ => return None,
    })
}

/// Handles one request.
pub fn ingest(request: &Request) -> Result<Ingested, IngestError> {
    let endpoint = route(&request.path).ok_or_else(|| {
        IngestError::NotFound(format!(
            "no endpoint {:?} here; the events connector serves {ENDPOINTS}",
            request.path
        ))
    })?;
    if request.method != "POST" {
        return Err(IngestError::NotFound(format!(
            "{} {}: POST is required",
            request.method, request.path
        )));
    }
    auth::check(request)?;
    let max = settings::limit(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)
        .map_err(IngestError::Misconfigured)?;
    if request.body.len() > max {
        return Err(IngestError::TooLarge(format!(
            "the body is {} bytes; at most {max} are accepted (config `{MAX_BODY_BYTES}`)",
            request.body.len()
        )));
    }
    match endpoint {
        Endpoint::Eventbrite => eventbrite::ingest(&request.body),
        Endpoint::Csv(sheet) => csv(request, sheet),
    }
}

fn csv(request: &Request, sheet: Sheet) -> Result<Ingested, IngestError> {
    if let Some(content_type) = request.header("content-type")
        && !scans::csv_content_type(content_type)
    {
        return Err(IngestError::Malformed(format!(
            "the body is {content_type:?}; upload the CSV as the raw body with `content-type: text/csv`"
        )));
    }
    let max_rows =
        settings::limit(MAX_ROWS, DEFAULT_MAX_ROWS).map_err(IngestError::Misconfigured)?;
    let text = std::str::from_utf8(&request.body)
        .map_err(|e| IngestError::Malformed(format!("the CSV is not UTF-8: {e}")))?;
    let touchpoints = scans::touchpoints(sheet, text, max_rows)?;
    let body = format!(r#"{{"accepted":{}}}"#, touchpoints.len());
    Ok(Ingested {
        touchpoints,
        reply: Response::json(200, body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route() {
        assert_eq!(route("/eventbrite"), Some(Endpoint::Eventbrite));
        assert_eq!(route("/eventbrite/"), Some(Endpoint::Eventbrite));
        assert_eq!(route("/scans"), Some(Endpoint::Csv(Sheet::Scans)));
        assert_eq!(route("/no-shows"), Some(Endpoint::Csv(Sheet::NoShows)));
        assert_eq!(route("/v1/track"), None);
    }
}

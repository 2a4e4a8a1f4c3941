//! Line items: one attribute per line, and which lines are spare parts.

use super::Settings;
use crate::wire::{LineItem, Tags, Text, text};
use leadhost_sdk::prelude::*;
use serde::Serialize;

/// One attribute per line item, the number of lines and of spare parts.
pub(super) fn line_attributes(lines: &[LineItem], settings: &Settings, out: &mut Vec<Attribute>) {
    out.push(Attribute::new("items", lines.len().to_string()));
    let mut spare_parts = 0usize;
    for (index, line) in lines.iter().enumerate() {
        let spare = is_spare_part(line, &settings.spare_parts_tag);
        spare_parts += usize::from(spare);
        let summary = LineSummary::of(line, line.quantity.as_ref(), spare);
        out.push(Attribute::new(line_key(line, Some(index)), summary.json()));
    }
    if spare_parts > 0 {
        out.push(Attribute::new("spare_parts", spare_parts.to_string()));
    }
}

/// `line:<sku>`; without a SKU, the variant, the product or the position.
pub(super) fn line_key(line: &LineItem, index: Option<usize>) -> String {
    match (
        text(&line.sku),
        text(&line.variant_id),
        text(&line.product_id),
    ) {
        (Some(sku), _, _) => format!("line:{sku}"),
        (None, Some(variant), _) => format!("line:variant-{variant}"),
        (None, None, Some(product)) => format!("line:product-{product}"),
        _ => format!("line:#{}", index.unwrap_or(0) + 1),
    }
}

/// Whether the line is a spare part: the tag is one of the product's tags,
/// or a line item property is named it or has it as its value.
fn is_spare_part(line: &LineItem, tag: &str) -> bool {
    let tag = tag.trim();
    if tag.is_empty() {
        return false;
    }
    let tagged = line
        .product_tags
        .iter()
        .flat_map(Tags::iter)
        .any(|t| t.eq_ignore_ascii_case(tag));
    tagged
        || line.properties.iter().flat_map(|p| &p.0).any(|p| {
            let named = p
                .name
                .non_empty()
                .is_some_and(|n| n.eq_ignore_ascii_case(tag));
            let valued = p
                .value
                .non_empty()
                .is_some_and(|v| v.eq_ignore_ascii_case(tag));
            // `spare-part: false` is a line someone marked as not one.
            let negated = named
                && p.value.non_empty().is_some_and(|v| {
                    matches!(v.to_ascii_lowercase().as_str(), "false" | "no" | "0")
                });
            (named && !negated) || valued
        })
}

/// The JSON value of a `line:<sku>` attribute.
#[derive(Serialize)]
pub(super) struct LineSummary<'x> {
    title: Option<&'x str>,
    quantity: Option<u64>,
    price: Option<&'x str>,
    product_id: Option<&'x str>,
    variant_id: Option<&'x str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    spare_part: bool,
}

impl<'x> LineSummary<'x> {
    pub(super) fn of(line: &'x LineItem, quantity: Option<&'x Text>, spare_part: bool) -> Self {
        LineSummary {
            title: text(&line.title).or(text(&line.name)),
            quantity: quantity
                .and_then(Text::non_empty)
                .and_then(|q| q.parse().ok()),
            price: text(&line.price),
            product_id: text(&line.product_id),
            variant_id: text(&line.variant_id),
            spare_part,
        }
    }

    pub(super) fn json(&self) -> String {
        // Serialising plain strings and numbers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(json: &str) -> LineItem<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn spare_parts_are_marked_by_tags_or_properties() {
        let tag = "spare-part";
        assert!(is_spare_part(
            &line(r#"{"product_tags":"pump, Spare-Part"}"#),
            tag
        ));
        assert!(is_spare_part(
            &line(r#"{"properties":[{"name":"spare-part","value":"yes"}]}"#),
            tag
        ));
        assert!(is_spare_part(
            &line(r#"{"properties":[{"name":"_kind","value":"spare-part"}]}"#),
            tag
        ));
        assert!(!is_spare_part(
            &line(r#"{"properties":[{"name":"spare-part","value":"false"}]}"#),
            tag
        ));
        assert!(!is_spare_part(
            &line(r#"{"sku":"X","properties":null}"#),
            tag
        ));
    }

    #[test]
    fn line_keys_fall_back_from_sku() {
        assert_eq!(line_key(&line(r#"{"sku":"A-1"}"#), Some(0)), "line:A-1");
        assert_eq!(
            line_key(&line(r#"{"sku":"","variant_id":7}"#), Some(0)),
            "line:variant-7"
        );
        assert_eq!(
            line_key(&line(r#"{"product_id":8}"#), Some(0)),
            "line:product-8"
        );
        assert_eq!(line_key(&line("{}"), Some(2)), "line:#3");
    }
}

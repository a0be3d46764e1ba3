//! The tags a response carries for invalidation, in its `Cache-Tag` and `Surrogate-Key`
//! headers. The hub's response cache, the browser's API cache and the service worker all read
//! them here, so a tag the server sends means the same entries everywhere.
//!
//! ```
//! use cache_core::http::response_tags;
//! let tags = response_tags(["catalog, product:42", " product:42\tblog "]);
//! assert_eq!(tags, ["catalog", "product:42", "blog"]);
//! ```

use crate::message::{validate_tag, MAX_TAGS_PER_ENTRY};

/// The headers that carry tags, lower-case.
pub const TAG_HEADERS: [&str; 2] = ["cache-tag", "surrogate-key"];

/// The tags in `values` (values of the [`TAG_HEADERS`]): split on commas and whitespace, in
/// the order given, without duplicates, at most [`MAX_TAGS_PER_ENTRY`]. A tag no cache could
/// hold (over 256 bytes) is left out rather than failing the response.
pub fn response_tags<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let candidates = values
        .into_iter()
        .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|tag| validate_tag(tag).is_ok());
    for tag in candidates {
        if tags.len() == MAX_TAGS_PER_ENTRY {
            break;
        }
        // At most 32 tags: a linear scan is cheaper than a set (and than sorting, in wasm).
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_commas_and_whitespace_and_drops_empties() {
        assert_eq!(response_tags(["b,a  c\t,a", "", "d"]), ["b", "a", "c", "d"]);
        assert!(response_tags([" , \t"]).is_empty());
        assert!(response_tags(std::iter::empty()).is_empty());
    }

    #[test]
    fn leaves_out_oversized_tags_and_keeps_the_rest() {
        let long = "x".repeat(257);
        assert_eq!(response_tags([format!("{long} ok").as_str()]), ["ok"]);
    }

    #[test]
    fn keeps_at_most_the_per_entry_limit() {
        let many: Vec<String> = (0..100).map(|i| format!("t{i:03}")).collect();
        let tags = response_tags([many.join(" ").as_str()]);
        assert_eq!(tags.len(), MAX_TAGS_PER_ENTRY);
        assert_eq!(tags[0], "t000");
    }
}

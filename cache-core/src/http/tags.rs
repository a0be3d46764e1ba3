//! The tags a response carries for invalidation, in its `Cache-Tag` and `Surrogate-Key`
//! headers. The hub's response cache, the browser's API cache and the service worker all read
//! them here, so a tag the server sends means the same entries everywhere.
//!
//! ```
//! use cache_core::http::response_tags;
//! let tags = response_tags(["catalog, product:42", " product:42\tblog "]);
//! assert_eq!(tags.unwrap(), ["catalog", "product:42", "blog"]);
//! ```

use crate::message::{validate_tag, MAX_TAGS_PER_ENTRY};

/// The headers that carry tags, lower-case.
pub const TAG_HEADERS: [&str; 2] = ["cache-tag", "surrogate-key"];

/// The tags in `values` (values of the [`TAG_HEADERS`]): split on commas and whitespace, in
/// the order given, without duplicates. `None` when an entry could not carry them all (a tag
/// over 256 bytes, or more than [`MAX_TAGS_PER_ENTRY`]): such a response must not be stored,
/// since an invalidation of the tag it could not keep would never reach it.
pub fn response_tags<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Vec<String>> {
    let mut tags: Vec<String> = Vec::new();
    let candidates = values
        .into_iter()
        .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|tag| !tag.is_empty());
    for tag in candidates {
        validate_tag(tag).ok()?;
        // At most 32 tags: a linear scan is cheaper than a set (and than sorting, in wasm).
        if !tags.iter().any(|t| t == tag) {
            if tags.len() == MAX_TAGS_PER_ENTRY {
                return None;
            }
            tags.push(tag.to_owned());
        }
    }
    Some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_commas_and_whitespace_and_drops_empties() {
        assert_eq!(
            response_tags(["b,a  c\t,a", "", "d"]).unwrap(),
            ["b", "a", "c", "d"]
        );
        assert_eq!(response_tags([" , \t"]).unwrap(), Vec::<String>::new());
        assert_eq!(
            response_tags(std::iter::empty()).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_oversized_tag_means_the_response_cannot_be_stored() {
        let long = "x".repeat(257);
        assert_eq!(response_tags([format!("{long} ok").as_str()]), None);
        assert!(response_tags(["x".repeat(256).as_str()]).is_some());
    }

    #[test]
    fn more_tags_than_an_entry_holds_mean_the_response_cannot_be_stored() {
        let tags = |n: usize| {
            (0..n)
                .map(|i| format!("t{i:03}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            response_tags([tags(MAX_TAGS_PER_ENTRY).as_str()])
                .unwrap()
                .len(),
            MAX_TAGS_PER_ENTRY
        );
        assert_eq!(response_tags([tags(MAX_TAGS_PER_ENTRY + 1).as_str()]), None);
        // Duplicates do not count twice.
        let twice = format!("{0} {0}", tags(MAX_TAGS_PER_ENTRY));
        assert!(response_tags([twice.as_str()]).is_some());
    }
}

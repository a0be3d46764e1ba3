//! Topic selectors: `*`, exact topics, and URL Pattern selectors (`match_urlpattern`).
//!
//! Topics that are not absolute URLs (such as `/cache/shop`) are resolved against
//! `https://hub.invalid/` before a URL pattern is tested, and so are patterns without a scheme.
//!
//! ```
//! use sync_server::topic::TopicSelector;
//! let exact = TopicSelector::exact("/cache/shop");
//! assert!(exact.matches("/cache/shop") && !exact.matches("/cache/blog"));
//! let pattern = TopicSelector::url_pattern("/cache/:ns").unwrap();
//! assert!(pattern.matches("/cache/blog"));
//! assert!(TopicSelector::exact("*").matches("anything"));
//! ```

use crate::error::HubError;
use std::sync::Arc;
use url::Url;
use urlpattern::{UrlPattern, UrlPatternInit, UrlPatternMatchInput};

const BASE: &str = "https://hub.invalid/";

/// One topic selector.
#[derive(Debug, Clone)]
pub enum TopicSelector {
    /// `*`: every topic.
    Any,
    /// Exactly this topic.
    Exact(String),
    /// A URL Pattern (the `match_urlpattern` form).
    Pattern(Arc<UrlPattern>),
}

fn base() -> Option<Url> {
    Url::parse(BASE).ok()
}

impl TopicSelector {
    /// An exact selector, or [`TopicSelector::Any`] for `*`.
    #[must_use]
    pub fn exact(topic: &str) -> Self {
        if topic == "*" {
            Self::Any
        } else {
            Self::Exact(topic.to_owned())
        }
    }

    /// A URL Pattern selector; relative patterns are resolved against the hub's base.
    pub fn url_pattern(pattern: &str) -> Result<Self, HubError> {
        let bad = |e: urlpattern::Error| HubError::BadRequest(format!("invalid URL pattern: {e}"));
        let init = UrlPatternInit::parse_constructor_string::<regex::Regex>(pattern, base())
            .map_err(bad)?;
        let parsed = <UrlPattern>::parse(init, Default::default()).map_err(bad)?;
        Ok(Self::Pattern(Arc::new(parsed)))
    }

    /// A selector from the older `topic=` parameter: an exact topic, `*`, or a URI template
    /// (`https://example.com/books/{id}`), which becomes the URL pattern `.../books/:id`.
    pub fn legacy(selector: &str) -> Result<Self, HubError> {
        if !selector.contains('{') {
            return Ok(Self::exact(selector));
        }
        let mut pattern = String::with_capacity(selector.len());
        let mut rest = selector;
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .map(|e| start + e)
                .ok_or_else(|| HubError::BadRequest("unclosed { in topic template".into()))?;
            let name: String = rest[start + 1..end]
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            pattern.push_str(&rest[..start]);
            pattern.push(':');
            pattern.push_str(if name.is_empty() { "var" } else { &name });
            rest = &rest[end + 1..];
        }
        pattern.push_str(rest);
        Self::url_pattern(&pattern)
    }

    /// Whether `topic` is selected.
    #[must_use]
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(t) => t == topic,
            Self::Pattern(p) => {
                let url = Url::parse(topic)
                    .ok()
                    .or_else(|| base().and_then(|b| b.join(topic).ok()));
                url.is_some_and(|u| p.test(UrlPatternMatchInput::Url(u)).unwrap_or(false))
            }
        }
    }
}

/// Whether any of `selectors` selects any of `topics`.
#[must_use]
pub fn any_match(selectors: &[TopicSelector], topics: &[String]) -> bool {
    selectors
        .iter()
        .any(|s| topics.iter().any(|t| s.matches(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_patterns_match_absolute_and_relative_topics() {
        let p = TopicSelector::url_pattern("https://example.com/books/:id").unwrap();
        assert!(p.matches("https://example.com/books/1"));
        assert!(!p.matches("https://example.com/authors/1"));
        assert!(!p.matches("/books/1"));
        let rel = TopicSelector::url_pattern("/cache/*").unwrap();
        assert!(rel.matches("/cache/shop"));
        assert!(TopicSelector::url_pattern("https://example.com/(").is_err());
        let template = TopicSelector::legacy("https://example.com/books/{id}").unwrap();
        assert!(template.matches("https://example.com/books/7"));
        assert!(!template.matches("https://example.com/books/7/reviews"));
        assert!(TopicSelector::legacy("/cache/shop")
            .unwrap()
            .matches("/cache/shop"));
        assert!(TopicSelector::legacy("/a/{x").is_err());
    }
}

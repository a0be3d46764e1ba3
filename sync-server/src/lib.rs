//! The invalidation hub.

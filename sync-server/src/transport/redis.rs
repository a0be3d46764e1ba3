//! The Redis transport.

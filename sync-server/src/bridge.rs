//! The Redis keyspace bridge.

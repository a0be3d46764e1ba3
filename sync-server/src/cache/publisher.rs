//! Sends the cache's invalidations to the hub, so browsers drop the same keys.
//!
//! In the hub's own process, [`Publisher::in_process`] appends to the hub's transport directly
//! (counted in the hub's metrics). Elsewhere, [`Publisher::http`] posts to the hub's
//! `POST /invalidate`. Either way the message is cache-core's [`Invalidation`], published as
//! `type: invalidate` on `/cache/<ns>`.

use super::CacheError;
use crate::transport::Update;
use crate::AppState;
use cache_core::message::{Invalidation, TYPE_INVALIDATE};
use std::time::Duration;

/// Where invalidations go, and whether they are private. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Publisher {
    target: Target,
    private: bool,
}

#[derive(Clone)]
enum Target {
    InProcess(AppState),
    Http {
        url: String,
        token: Option<String>,
        client: reqwest::Client,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InProcess(_) => f.write_str("InProcess"),
            Self::Http { url, .. } => write!(f, "Http({url})"),
        }
    }
}

impl Publisher {
    /// Publishes through the hub running in this process.
    #[must_use]
    pub fn in_process(state: &AppState) -> Self {
        Self {
            target: Target::InProcess(state.clone()),
            private: false,
        }
    }

    /// Publishes to the hub at `hub_url` (its base URL, e.g. `http://127.0.0.1:3000`) with
    /// `POST /invalidate`, with an optional bearer token. Requests time out after 5 s.
    #[must_use]
    pub fn http(hub_url: &str, token: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            target: Target::Http {
                url: format!("{}/invalidate", hub_url.trim_end_matches('/')),
                token,
                client,
            },
            private: false,
        }
    }

    /// Publishes private updates, which only subscribers whose token may subscribe to
    /// `/cache/<ns>` receive: use it for per-user namespaces. Default false.
    #[must_use]
    pub fn private(mut self, private: bool) -> Self {
        self.private = private;
        self
    }

    /// Publishes one invalidation; [`CacheError::Publish`] when the hub did not take it.
    pub async fn publish(&self, invalidation: &Invalidation) -> Result<(), CacheError> {
        match &self.target {
            Target::InProcess(state) => {
                let update = Update {
                    topics: vec![invalidation.namespace.topic()],
                    data: invalidation.to_json(),
                    private: self.private,
                    kind: Some(TYPE_INVALIDATE.to_owned()),
                    retry: None,
                };
                crate::publish::publish_update(state, update)
                    .await
                    .map_err(|e| CacheError::Publish(e.to_string()))?;
                Ok(())
            }
            Target::Http { url, token, client } => {
                let url = if self.private {
                    format!("{url}?private=on")
                } else {
                    url.clone()
                };
                let mut request = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(invalidation.to_json());
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| CacheError::Publish(e.to_string()))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(CacheError::Publish(format!(
                        "the hub answered {}",
                        response.status()
                    )))
                }
            }
        }
    }
}

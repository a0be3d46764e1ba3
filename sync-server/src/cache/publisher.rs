//! Sends the cache's invalidations to the hub, so browsers drop the same keys.
//!
//! In the hub's own process, [`Publisher::in_process`] appends to the hub's transport directly
//! (counted in the hub's metrics). Elsewhere, [`Publisher::http`] posts to the hub's
//! `POST /invalidate`. Either way the message is cache-core's [`Invalidation`], published as
//! `type: invalidate` on `/cache/<ns>`.

use crate::transport::Update;
use crate::AppState;
use cache_core::message::{Invalidation, TYPE_INVALIDATE};
use std::time::Duration;

/// Why a publication failed. The cache logs it and counts it; the caller is not failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The in-process transport refused the update.
    #[error("hub: {0}")]
    Hub(#[from] crate::error::HubError),
    /// The HTTP request failed or the hub answered an error status.
    #[error("hub over HTTP: {0}")]
    Http(String),
}

/// Where invalidations go. Cheap to clone.
#[derive(Clone)]
pub enum Publisher {
    /// The hub in this process.
    InProcess(AppState),
    /// A hub reached over HTTP.
    Http {
        /// `POST /invalidate` of the hub, e.g. `http://127.0.0.1:3000/invalidate`.
        url: String,
        /// A token with publish rights on `/cache/*`, if the hub needs one.
        token: Option<String>,
        /// The HTTP client (timeout 5 s).
        client: reqwest::Client,
    },
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InProcess(_) => f.write_str("Publisher::InProcess"),
            Self::Http { url, .. } => write!(f, "Publisher::Http({url})"),
        }
    }
}

impl Publisher {
    /// Publishes through the hub running in this process.
    #[must_use]
    pub fn in_process(state: &AppState) -> Self {
        Self::InProcess(state.clone())
    }

    /// Publishes to the hub at `hub_url` (its base URL, e.g. `http://127.0.0.1:3000`), with
    /// an optional bearer token. Requests time out after 5 s.
    #[must_use]
    pub fn http(hub_url: &str, token: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self::Http {
            url: format!("{}/invalidate", hub_url.trim_end_matches('/')),
            token,
            client,
        }
    }

    /// Publishes one invalidation.
    pub async fn publish(&self, invalidation: &Invalidation) -> Result<(), PublishError> {
        match self {
            Self::InProcess(state) => {
                let update = Update {
                    topics: vec![invalidation.namespace.topic()],
                    data: invalidation.to_json(),
                    private: false,
                    kind: Some(TYPE_INVALIDATE.to_owned()),
                    retry: None,
                };
                crate::publish::publish_update(state, update).await?;
                Ok(())
            }
            Self::Http { url, token, client } => {
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
                    .map_err(|e| PublishError::Http(e.to_string()))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(PublishError::Http(format!(
                        "the hub answered {}",
                        response.status()
                    )))
                }
            }
        }
    }
}

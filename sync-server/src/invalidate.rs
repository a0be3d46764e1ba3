//! `POST /invalidate`: the JSON convenience endpoint. The body is cache-core's invalidation
//! message; the hub publishes it as a `type: invalidate` update on the namespace's topic and
//! answers `{"id": "<event id>", "topic": "/cache/<ns>"}`. With `?private=on` the update is
//! private: only subscribers whose token may subscribe to the topic receive it (use it for
//! per-user namespaces, whose keys are nobody else's business).

use crate::error::HubError;
use crate::event_id::EventId;
use crate::publish::{authorize_publish, check_data, publish_update, read_body};
use crate::transport::Update;
use crate::AppState;
use axum::extract::{Request, State};
use axum::Json;
use cache_core::message::{Invalidation, TYPE_INVALIDATE};

/// Handles an invalidation request.
pub async fn handler(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<serde_json::Value>, HubError> {
    let (parts, body) = request.into_parts();
    state.auth.from_headers(&parts.headers, false)?;
    let body = read_body(body, state.config.limits.max_body_bytes).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| HubError::BadRequest("the body must be UTF-8 JSON".into()))?;
    let invalidation = Invalidation::from_json(text)?;
    let private = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .any(|(name, value)| name == "private" && !matches!(value.as_ref(), "false" | "off" | "0"));
    let topic = invalidation.namespace.topic();
    authorize_publish(&state, &parts.headers, std::slice::from_ref(&topic))?;
    let update = invalidation_update(&invalidation, private);
    // The same data limit as a form publication: the JSON published is not the body.
    check_data(&update.data, state.config.limits.max_data_bytes)?;
    let id = publish_update(&state, update).await?;
    Ok(Json(
        serde_json::json!({ "id": id.to_string(), "topic": topic }),
    ))
}

/// Publishes `invalidation` as a `type: invalidate` update on its namespace's topic, without
/// authorization (the caller decided): the path `POST /invalidate` and in-process publishers
/// such as the demo API share.
pub async fn publish_invalidation(
    state: &AppState,
    invalidation: &Invalidation,
    private: bool,
) -> Result<EventId, HubError> {
    publish_update(state, invalidation_update(invalidation, private)).await
}

/// `invalidation` as a `type: invalidate` update on its namespace's topic.
fn invalidation_update(invalidation: &Invalidation, private: bool) -> Update {
    Update {
        topics: vec![invalidation.namespace.topic()],
        data: invalidation.to_json(),
        private,
        kind: Some(TYPE_INVALIDATE.to_owned()),
        retry: None,
    }
}

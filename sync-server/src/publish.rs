//! `POST /.well-known/mercure`: publishing updates (form-encoded, as every Mercure publisher
//! sends them). Answers the event id as `text/plain`.
//!
//! The hub always assigns the id, because ids encode the log position used for replay; a
//! publisher's `id` field is checked (no CR, LF or NUL) and otherwise not used.

use crate::auth::Grants;
use crate::error::HubError;
use crate::event_id::EventId;
use crate::sse::{check_field, check_topic};
use crate::topic::any_match;
use crate::transport::Update;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Reads a request body of at most `max` bytes, answering 413 beyond.
pub async fn read_body(body: Body, max: usize) -> Result<bytes::Bytes, HubError> {
    to_bytes(body, max)
        .await
        .map_err(|_| HubError::PayloadTooLarge(format!("the body must be at most {max} bytes")))
}

fn parse_form(body: &[u8], state: &AppState) -> Result<Update, HubError> {
    let limits = &state.config.limits;
    let mut update = Update {
        topics: Vec::new(),
        data: String::new(),
        private: false,
        kind: None,
        retry: None,
    };
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "topic" => {
                check_topic(&value, limits.max_field_bytes)?;
                update.topics.push(value.into_owned());
            }
            "data" => update.data = value.into_owned(),
            "id" => check_field("id", &value, limits.max_field_bytes)?,
            "type" => {
                check_field("type", &value, limits.max_field_bytes)?;
                update.kind = Some(value.into_owned()).filter(|t| !t.is_empty());
            }
            "private" => update.private = !matches!(value.as_ref(), "false" | "off" | "0"),
            "retry" => {
                let ms = value
                    .parse()
                    .map_err(|_| HubError::BadRequest("retry must be a number of ms".into()))?;
                update.retry = Some(ms);
            }
            _ => {}
        }
    }
    if update.topics.is_empty() {
        return Err(HubError::BadRequest(
            "an update needs at least one topic".into(),
        ));
    }
    if update.topics.len() > limits.topics_per_subscription {
        return Err(HubError::BadRequest(format!(
            "at most {} topics per update",
            limits.topics_per_subscription
        )));
    }
    check_data(&update.data, limits.max_data_bytes)?;
    Ok(update)
}

/// Answers 413 when an update's `data` is over `max` bytes.
pub fn check_data(data: &str, max: usize) -> Result<(), HubError> {
    if data.len() > max {
        return Err(HubError::PayloadTooLarge(format!(
            "data must be at most {max} bytes"
        )));
    }
    Ok(())
}

/// Checks that the request may publish to every one of `topics`.
pub fn authorize_publish(
    state: &AppState,
    headers: &HeaderMap,
    topics: &[String],
) -> Result<(), HubError> {
    let grants: Option<Grants> = state.auth.from_headers(headers, false)?;
    let Some(grants) = grants else {
        if state.config.anonymous_publish {
            return Ok(());
        }
        return Err(HubError::Unauthorized {
            token_given: false,
            message: "a token with publish rights is required".into(),
        });
    };
    let denied = topics
        .iter()
        .find(|t| !any_match(&grants.publish, std::slice::from_ref(t)));
    match denied {
        Some(topic) => Err(HubError::Forbidden(format!(
            "the token may not publish to {topic:?}"
        ))),
        None => Ok(()),
    }
}

/// Appends `update` to the log, recording metrics.
pub async fn publish_update(state: &AppState, update: Update) -> Result<EventId, HubError> {
    let started = Instant::now();
    let id = state.transport.publish(update).await?;
    state
        .metrics
        .publish_latency
        .observe(started.elapsed().as_secs_f64());
    state.metrics.events_in.inc();
    Ok(id)
}

/// Handles a publication.
pub async fn handler(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, HubError> {
    let (parts, body) = request.into_parts();
    // Authenticate before reading the body: a stranger should not make us buffer a megabyte.
    state.auth.from_headers(&parts.headers, false)?;
    let body = read_body(body, state.config.limits.max_body_bytes).await?;
    let update = parse_form(&body, &state)?;
    authorize_publish(&state, &parts.headers, &update.topics)?;
    let id = publish_update(&state, update).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        id.to_string(),
    )
        .into_response())
}

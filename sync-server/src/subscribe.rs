//! `GET /.well-known/mercure`: subscription requests.

use crate::error::HubError;
use crate::event_id::EventId;
use crate::sse::{self, check_topic};
use crate::stream::{Filter, Handoff, Subscription};
use crate::topic::TopicSelector;
use crate::transport::{reset_frame, Cursor, Replay};
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

/// The response header that says where the stream starts.
pub const LAST_EVENT_ID_HEADER: &str = "mercure-last-event-id";

/// What the query string asks for.
#[derive(Debug, Default)]
struct Query {
    selectors: Vec<TopicSelector>,
    last_event_id: Option<String>,
    /// `heartbeat=event`: heartbeats as `event: heartbeat` instead of comments, so a browser
    /// EventSource (which never surfaces comments) can tell a silent stream from a dead one.
    heartbeat_events: bool,
}

fn parse_query(raw: &str, state: &AppState) -> Result<Query, HubError> {
    let limits = &state.config.limits;
    let mut query = Query::default();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let selector = match name.as_ref() {
            "match" => {
                check_topic(&value, limits.max_field_bytes)?;
                TopicSelector::exact(&value)
            }
            "topic" => {
                check_topic(&value, limits.max_field_bytes)?;
                TopicSelector::legacy(&value)?
            }
            "match_urlpattern" => {
                check_topic(&value, limits.max_field_bytes)?;
                TopicSelector::url_pattern(&value)?
            }
            "last_event_id" | "lastEventID" => {
                query.last_event_id = Some(value.into_owned());
                continue;
            }
            "heartbeat" => {
                query.heartbeat_events = value == "event";
                continue;
            }
            _ => continue,
        };
        query.selectors.push(selector);
        if query.selectors.len() > limits.topics_per_subscription {
            return Err(HubError::BadRequest(format!(
                "at most {} topic selectors per subscription",
                limits.topics_per_subscription
            )));
        }
    }
    if query.selectors.is_empty() {
        return Err(HubError::BadRequest(
            "subscribe to at least one topic with match=<topic>".into(),
        ));
    }
    Ok(query)
}

fn cursor(query: &Query, headers: &HeaderMap) -> Cursor {
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match header.or(query.last_event_id.as_deref()) {
        None => Cursor::Now,
        Some("earliest") => Cursor::Earliest,
        Some(id) => id.parse::<EventId>().map_or(Cursor::Unknown, Cursor::After),
    }
}

/// The client's address: the last `X-Forwarded-For` entry when the hub is configured to
/// trust it (behind a load balancer), else the peer address.
fn client_address(state: &AppState, parts: &axum::http::request::Parts) -> Option<IpAddr> {
    // The trusted proxy appends the address it saw (as a new entry or a line of its own);
    // the entries before it are whatever the client sent, so counting them would let a
    // client pick a new address for every connection.
    let forwarded = state.config.trust_forwarded_for.then(|| {
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    });
    forwarded.flatten().or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// Handles a subscription: checks the request, replays what was missed, then streams.
pub async fn handler(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, HubError> {
    let (parts, _) = request.into_parts();
    let address = client_address(&state, &parts);
    let query = parse_query(parts.uri.query().unwrap_or(""), &state)?;
    let grants = state.auth.from_headers(&parts.headers, true)?;
    if grants.is_none() && !state.config.anonymous {
        return Err(HubError::Unauthorized {
            token_given: false,
            message: "a token is required to subscribe".into(),
        });
    }
    let cursor = cursor(&query, &parts.headers);
    let guard = state
        .connections
        .acquire(address, &state.metrics.connections)?;
    let filter = Filter {
        selectors: query.selectors,
        private: grants
            .as_ref()
            .map(|g| g.subscribe.clone())
            .unwrap_or_default(),
    };
    let live = state.transport.listen();
    let (mut pending, position, started_at) = match state.transport.replay(cursor.clone()).await {
        Ok(replay) => initial_frames(&state, replay, &cursor, &filter),
        Err(e @ HubError::Unavailable(_)) => degraded_start(&state, &e).await,
        Err(e) => return Err(e),
    };
    let heartbeat_frame = if query.heartbeat_events {
        // Said once at the start too, so the client knows the interval before any silence.
        let frame = sse::heartbeat_event(state.config.heartbeat);
        pending.push_front(frame.clone());
        frame
    } else {
        Bytes::from_static(sse::HEARTBEAT)
    };
    let sub = Subscription {
        pending,
        live,
        filter,
        position,
        heartbeat: state.config.heartbeat,
        heartbeat_frame,
        deadline: grants
            .as_ref()
            .and_then(|g| g.remaining())
            // Past what the clock can hold: never, as far as this process is concerned.
            .and_then(|d| tokio::time::Instant::now().checked_add(d)),
        shutdown: state.shutdown.clone(),
        retry_ms: state.config.retry_ms,
        metrics: state.metrics.clone(),
        guard,
    };
    Ok(sse_response(
        Handoff::new(sub, state.fanout.clone()),
        &started_at,
    ))
}

/// When the log cannot be read (Redis down), the subscription still starts, with a reset:
/// continuity cannot be proved, and live events follow once the log is back.
/// The reset carries no id: there is no cursor to give; live events of the current epoch
/// are delivered, and an epoch change brings another reset.
async fn degraded_start(state: &AppState, error: &HubError) -> (VecDeque<Bytes>, EventId, String) {
    tracing::warn!(%error, "replay unavailable; starting the stream with a reset");
    state.metrics.resets.inc();
    let epoch = state.transport.health().await.epoch.unwrap_or_default();
    let pending = VecDeque::from([sse::retry_hint(state.config.retry_ms), reset_frame(None)]);
    (pending, EventId::new(&epoch, (0, 0)), "earliest".to_owned())
}

/// The frames sent before live events, the position they reach, and where the stream
/// starts (the `Mercure-Last-Event-ID` value).
fn initial_frames(
    state: &AppState,
    replay: Replay,
    cursor: &Cursor,
    filter: &Filter,
) -> (VecDeque<Bytes>, EventId, String) {
    let mut pending = VecDeque::from([sse::retry_hint(state.config.retry_ms)]);
    match replay {
        Replay::Events { events, head } => {
            if !events.is_empty() {
                state.metrics.replays.inc();
            }
            let started_at = match cursor {
                Cursor::After(id) => id.to_string(),
                Cursor::Earliest => "earliest".to_owned(),
                Cursor::Now | Cursor::Unknown => head.to_string(),
            };
            let before = pending.len();
            pending.extend(
                events
                    .iter()
                    .filter(|e| filter.accepts(e))
                    .map(|e| e.frame.clone()),
            );
            state
                .metrics
                .events_out
                .inc_by((pending.len() - before) as u64);
            (pending, head, started_at)
        }
        Replay::Reset { head } => {
            state.metrics.resets.inc();
            pending.push_back(reset_frame(Some(&head)));
            (pending, head, "earliest".to_owned())
        }
    }
}

/// The event stream's response. Its body writes the subscription unless the lean listener
/// takes it from the extensions first.
fn sse_response(handoff: Handoff, started_at: &str) -> Response {
    let mut response = Response::new(Body::from_stream(handoff.clone().frames()));
    response.extensions_mut().insert(handoff);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(value) = HeaderValue::from_str(started_at) {
        headers.insert(LAST_EVENT_ID_HEADER, value);
    }
    response
}

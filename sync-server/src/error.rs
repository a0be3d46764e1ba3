//! The hub's one error type, answered as JSON (`{"error": code, "message": ...}`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cache_core::CoreError;
use thiserror::Error;

/// Everything a request to the hub can fail with. Each variant maps to one HTTP status and a
/// stable `error` code; 401 and 403 carry an RFC 6750 `WWW-Authenticate` header.
#[derive(Debug, Error)]
pub enum HubError {
    /// A malformed request (bad parameter, control character in a topic or id, ...): 400.
    #[error("{0}")]
    BadRequest(String),
    /// An invalid cache message, as reported by cache-core: 400.
    #[error(transparent)]
    Invalid(#[from] CoreError),
    /// No usable token where one is required: 401 (`invalid_token` when one was given).
    #[error("{message}")]
    Unauthorized {
        /// Whether a token was presented (and rejected).
        token_given: bool,
        /// Why.
        message: String,
    },
    /// A valid token that does not grant the action: 403 `insufficient_scope`.
    #[error("{0}")]
    Forbidden(String),
    /// A body or `data` larger than the configured limit: 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many connections from one client address: 429.
    #[error("{0}")]
    TooManyConnections(String),
    /// The transport (Redis) cannot take the request right now: 503.
    #[error("transport unavailable: {0}")]
    Unavailable(String),
    /// A bad setting or a failed command-line action (never produced by a request): 500.
    #[error("{0}")]
    Config(String),
}

impl HubError {
    /// The HTTP status of this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyConnections(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of this error (`"bad_request"`, `"invalid_token"`, ...).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Invalid(e) => e.code(),
            Self::Unauthorized {
                token_given: true, ..
            } => "invalid_token",
            Self::Unauthorized { .. } => "invalid_request",
            Self::Forbidden(_) => "insufficient_scope",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyConnections(_) => "too_many_connections",
            Self::Unavailable(_) => "unavailable",
            Self::Config(_) => "config",
        }
    }

    fn www_authenticate(&self) -> Option<String> {
        let (code, message) = match self {
            Self::Unauthorized {
                token_given: false, ..
            } => return Some("Bearer realm=\"mercure\"".to_owned()),
            Self::Unauthorized { message, .. } | Self::Forbidden(message) => (self.code(), message),
            _ => return None,
        };
        let description: String = message
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        Some(format!(
            "Bearer realm=\"mercure\", error=\"{code}\", error_description=\"{description}\""
        ))
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(value) = self
            .www_authenticate()
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

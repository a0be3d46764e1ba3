//! JWT authorization: who may publish and subscribe to which topics.
//!
//! Tokens are `typ: at+jwt` access tokens whose `authorization_details` grant `publish` and
//! `subscribe` actions on topic selectors (`{"match": "*"}`, `{"match_urlpattern": "..."}` or
//! a plain string); the classic Mercure claim `{"mercure": {"publish": [..], "subscribe": [..]}}`
//! is accepted too. HS256 and RS256 keys; `exp`, `aud` and `iss` are checked when configured.
//! Subscribers may send the token in `Authorization: Bearer` or the `mercureAuthorization`
//! cookie; publishers in `Authorization: Bearer`.

use crate::error::HubError;
use crate::topic::TopicSelector;
use axum::http::{header, HeaderMap};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The name of the cookie that may carry a subscriber's token.
pub const COOKIE_NAME: &str = "mercureAuthorization";

/// What a valid token grants.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Topic selectors the bearer may publish to.
    pub publish: Vec<TopicSelector>,
    /// Topic selectors whose private updates the bearer may receive.
    pub subscribe: Vec<TopicSelector>,
    /// When the token expires, if it does.
    pub expires_at: Option<SystemTime>,
}

impl Grants {
    /// How long until the token expires (zero when it already has), or `None` if it never does.
    #[must_use]
    pub fn remaining(&self) -> Option<Duration> {
        self.expires_at
            .map(|t| t.duration_since(SystemTime::now()).unwrap_or_default())
    }
}

/// The token verifier: keys, audience and issuer. Default: no keys, so every token is refused.
#[derive(Clone, Default)]
pub struct Auth {
    keys: Vec<(Algorithm, DecodingKey)>,
    audience: Option<String>,
    issuer: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field(
                "algorithms",
                &self.keys.iter().map(|k| k.0).collect::<Vec<_>>(),
            )
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TopicSpec {
    Plain(String),
    Match {
        #[serde(rename = "match")]
        exact: String,
    },
    Pattern {
        match_urlpattern: String,
    },
}

#[derive(Deserialize)]
struct Detail {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    topics: Vec<TopicSpec>,
}

#[derive(Deserialize, Default)]
struct Legacy {
    #[serde(default)]
    publish: Vec<TopicSpec>,
    #[serde(default)]
    subscribe: Vec<TopicSpec>,
}

#[derive(Deserialize)]
struct Claims {
    exp: Option<u64>,
    #[serde(default)]
    authorization_details: Vec<Detail>,
    #[serde(default)]
    mercure: Option<Legacy>,
}

fn selectors(specs: &[TopicSpec]) -> Result<Vec<TopicSelector>, HubError> {
    specs
        .iter()
        .map(|s| match s {
            TopicSpec::Plain(t) | TopicSpec::Match { exact: t } => Ok(TopicSelector::exact(t)),
            TopicSpec::Pattern { match_urlpattern } => TopicSelector::url_pattern(match_urlpattern),
        })
        .collect()
}

/// When a token whose `exp` is `seconds` expires, `None` for never. An expiry past what
/// [`SystemTime`] can hold (hundreds of billions of years ahead) cannot come while this
/// process runs, so the signed token is honoured as one without expiry rather than refused.
fn expiry(seconds: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

fn invalid(message: impl Into<String>) -> HubError {
    HubError::Unauthorized {
        token_given: true,
        message: message.into(),
    }
}

impl Auth {
    /// A verifier with no keys; add them with [`Auth::with_hs256`] and [`Auth::with_rs256_pem`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts HS256 tokens signed with `secret`.
    #[must_use]
    pub fn with_hs256(mut self, secret: &[u8]) -> Self {
        self.keys
            .push((Algorithm::HS256, DecodingKey::from_secret(secret)));
        self
    }

    /// Accepts RS256 tokens verified with this PEM public key.
    pub fn with_rs256_pem(mut self, pem: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        self.keys
            .push((Algorithm::RS256, DecodingKey::from_rsa_pem(pem)?));
        Ok(self)
    }

    /// Requires `aud` to contain `audience`. Default: `aud` is not checked.
    #[must_use]
    pub fn with_audience(mut self, audience: Option<String>) -> Self {
        self.audience = audience;
        self
    }

    /// Requires `iss` to be `issuer`. Default: `iss` is not checked.
    #[must_use]
    pub fn with_issuer(mut self, issuer: Option<String>) -> Self {
        self.issuer = issuer;
        self
    }

    /// Whether any key is configured.
    #[must_use]
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Verifies `token` and answers its grants.
    pub fn verify(&self, token: &str) -> Result<Grants, HubError> {
        let header = decode_header(token).map_err(|e| invalid(format!("malformed token: {e}")))?;
        let (alg, key) = self
            .keys
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .ok_or_else(|| invalid("the token's algorithm is not accepted"))?;
        let mut validation = Validation::new(*alg);
        validation.leeway = 0;
        // RFC 7519: `exp` is the first second at which the token is no longer accepted.
        validation.reject_tokens_expiring_in_less_than = 1;
        let mut required = Vec::new();
        if self.audience.is_some() {
            required.push("aud");
        }
        if self.issuer.is_some() {
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        validation.validate_aud = self.audience.is_some();
        if let Some(aud) = &self.audience {
            validation.set_audience(&[aud]);
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
        }
        let data = decode::<Claims>(token, key, &validation)
            .map_err(|e| invalid(format!("token rejected: {e}")))?;
        let typ = header.typ.as_deref().unwrap_or("").to_ascii_lowercase();
        let at_jwt = typ == "at+jwt" || typ == "application/at+jwt";
        let mut grants = Grants {
            expires_at: data.claims.exp.and_then(expiry),
            ..Grants::default()
        };
        if !data.claims.authorization_details.is_empty() && !at_jwt {
            return Err(invalid("authorization_details require typ at+jwt"));
        }
        for detail in &data.claims.authorization_details {
            let topics = selectors(&detail.topics)?;
            for action in &detail.actions {
                match action.as_str() {
                    "publish" => grants.publish.extend(topics.iter().cloned()),
                    "subscribe" => grants.subscribe.extend(topics.iter().cloned()),
                    _ => {}
                }
            }
        }
        if let Some(legacy) = &data.claims.mercure {
            grants.publish.extend(selectors(&legacy.publish)?);
            grants.subscribe.extend(selectors(&legacy.subscribe)?);
        }
        Ok(grants)
    }

    /// The grants of the request's token, `None` when it carries none. The cookie is read
    /// only when `cookie` is true (subscriptions).
    pub fn from_headers(
        &self,
        headers: &HeaderMap,
        cookie: bool,
    ) -> Result<Option<Grants>, HubError> {
        match token(headers, cookie)? {
            Some(t) => self.verify(&t).map(Some),
            None => Ok(None),
        }
    }
}

fn token(headers: &HeaderMap, cookie: bool) -> Result<Option<String>, HubError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value
            .to_str()
            .map_err(|_| invalid("malformed Authorization header"))?;
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || rest.trim().is_empty() {
            return Err(HubError::Unauthorized {
                token_given: false,
                message: "use Authorization: Bearer <token>".into(),
            });
        }
        return Ok(Some(rest.trim().to_owned()));
    }
    if !cookie {
        return Ok(None);
    }
    let found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim_matches('"').to_owned());
    Ok(found.filter(|t| !t.is_empty()))
}

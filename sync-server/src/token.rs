//! Minting access tokens (`typ: at+jwt`) for scripts, tests and the demo.
//!
//! ```
//! use sync_server::token::TokenRequest;
//! let token = TokenRequest::new().publish("*").subscribe("/cache/shop").hs256(b"secret").unwrap();
//! let grants = sync_server::auth::Auth::new().with_hs256(b"secret").verify(&token).unwrap();
//! assert_eq!(grants.publish.len(), 1);
//! ```

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `type` of the authorization details this hub writes.
pub const DETAIL_TYPE: &str = "https://mercure.rocks/authorization-detail";

/// What a token should grant. Default: nothing, no expiry, no audience or issuer.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TokenRequest {
    publish: Vec<String>,
    subscribe: Vec<String>,
    ttl: Option<Duration>,
    audience: Option<String>,
    issuer: Option<String>,
}

impl TokenRequest {
    /// A request granting nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a topic selector the bearer may publish to (`*` for all). Default: none.
    pub fn publish(mut self, selector: &str) -> Self {
        self.publish.push(selector.to_owned());
        self
    }

    /// Adds a topic selector whose private updates the bearer may receive. Default: none.
    pub fn subscribe(mut self, selector: &str) -> Self {
        self.subscribe.push(selector.to_owned());
        self
    }

    /// Expires the token after `ttl`. Default: never.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets `aud`. Default: none.
    pub fn audience(mut self, audience: Option<String>) -> Self {
        self.audience = audience;
        self
    }

    /// Sets `iss`. Default: none.
    pub fn issuer(mut self, issuer: Option<String>) -> Self {
        self.issuer = issuer;
        self
    }

    fn claims(&self) -> serde_json::Value {
        let detail = |action: &str, topics: &[String]| {
            serde_json::json!({
                "type": DETAIL_TYPE,
                "actions": [action],
                "topics": topics.iter().map(|t| serde_json::json!({ "match": t })).collect::<Vec<_>>(),
            })
        };
        let mut details = Vec::new();
        if !self.publish.is_empty() {
            details.push(detail("publish", &self.publish));
        }
        if !self.subscribe.is_empty() {
            details.push(detail("subscribe", &self.subscribe));
        }
        let mut claims = serde_json::json!({ "authorization_details": details });
        if let Some(ttl) = self.ttl {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            claims["exp"] = (now + ttl).as_secs().into();
        }
        if let Some(aud) = &self.audience {
            claims["aud"] = aud.clone().into();
        }
        if let Some(iss) = &self.issuer {
            claims["iss"] = iss.clone().into();
        }
        claims
    }

    fn sign(
        &self,
        alg: Algorithm,
        key: &EncodingKey,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(alg);
        header.typ = Some("at+jwt".to_owned());
        encode(&header, &self.claims(), key)
    }

    /// Signs with HS256 and `secret`.
    pub fn hs256(&self, secret: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(Algorithm::HS256, &EncodingKey::from_secret(secret))
    }

    /// Signs with RS256 and this PEM private key.
    pub fn rs256(&self, private_pem: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(Algorithm::RS256, &EncodingKey::from_rsa_pem(private_pem)?)
    }
}

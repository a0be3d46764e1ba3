//! The client side of the command line: `publish`, `invalidate` and `token`.

use crate::cli::{HubArgs, InvalidateArgs, PublishArgs, TokenArgs};
use crate::error::HubError;
use crate::token::TokenRequest;
use std::time::Duration;

fn failed(what: &str, e: impl std::fmt::Display) -> HubError {
    HubError::Config(format!("{what}: {e}"))
}

async fn send(
    hub: &HubArgs,
    path: &str,
    content_type: &str,
    body: String,
) -> Result<String, HubError> {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", hub.hub.trim_end_matches('/')))
        .header("content-type", content_type)
        .timeout(Duration::from_secs(30))
        .body(body);
    if let Some(token) = &hub.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| failed("request failed", e))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| failed("reading the answer", e))?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(HubError::Config(format!(
            "the hub answered {status}: {text}"
        )))
    }
}

/// Publishes one update and prints its id.
pub async fn publish(args: &PublishArgs) -> Result<(), HubError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for topic in &args.topic {
        form.append_pair("topic", topic);
    }
    form.append_pair("data", &args.data);
    if let Some(kind) = &args.kind {
        form.append_pair("type", kind);
    }
    if args.private {
        form.append_pair("private", "on");
    }
    if let Some(retry) = args.retry {
        form.append_pair("retry", &retry.to_string());
    }
    let id = send(
        &args.hub,
        crate::MERCURE_PATH,
        "application/x-www-form-urlencoded",
        form.finish(),
    )
    .await?;
    println!("{id}");
    Ok(())
}

/// Publishes one invalidation and prints the hub's answer.
pub async fn invalidate(args: &InvalidateArgs) -> Result<(), HubError> {
    let body = serde_json::json!({
        "ns": args.ns,
        "keys": args.key,
        "patterns": args.pattern,
        "tags": args.tag,
    });
    let answer = send(
        &args.hub,
        "/invalidate",
        "application/json",
        body.to_string(),
    )
    .await?;
    println!("{answer}");
    Ok(())
}

/// Prints a signed access token.
pub fn token(args: &TokenArgs) -> Result<(), HubError> {
    let mut request = TokenRequest::new()
        .audience(args.audience.clone())
        .issuer(args.issuer.clone());
    for p in &args.publish {
        request = request.publish(p);
    }
    for s in &args.subscribe {
        request = request.subscribe(s);
    }
    if let Some(ttl) = args.ttl_secs {
        request = request.ttl(Duration::from_secs(ttl));
    }
    let signed = match (&args.secret, &args.rsa_private_key) {
        (_, Some(path)) => {
            let pem = std::fs::read(path).map_err(|e| failed("reading the key", e))?;
            request.rs256(&pem)
        }
        (Some(secret), None) => request.hs256(secret.as_bytes()),
        (None, None) => {
            return Err(HubError::Config(
                "give --secret or --rsa-private-key".into(),
            ))
        }
    };
    println!("{}", signed.map_err(|e| failed("signing", e))?);
    Ok(())
}

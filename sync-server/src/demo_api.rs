//! The demo API the web demo talks to (`serve --demo-api`): a product catalogue in memory.
//!
//! - `GET /api/products?page=&size=` (page from 0, size 1..=50, default 0 and 12): a page as
//!   `{"items": [...], "page", "size", "total"}`.
//! - `GET /api/products/{id}`: one product, or 404.
//! - `PUT /api/products/{id}` with JSON `{"name", "price", "stock"?}` (name 1..=100
//!   characters, price ≥ 0): the updated product; then publishes
//!   `{"ns":"shop","keys":["product:<id>"],"tags":["catalog"]}` on `/cache/shop` through the
//!   hub's own transport (the code path of `POST /invalidate`). With the header
//!   `x-demo-fail: 1` it changes nothing and answers 503 after [`FAIL_DELAY`], so a page can
//!   show an optimistic update being rolled back.
//!
//! GET answers carry `Cache-Control: max-age=30`, a strong `ETag` (a hash of the body;
//! `If-None-Match` gives 304) and `Cache-Tag: catalog product:<id>…`. Errors are JSON
//! `{"error": code, "message": ...}`: `bad_request` (400), `not_found` (404), `unavailable`
//! (503).

use crate::invalidate::publish_invalidation;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use cache_core::key::Namespace;
use cache_core::message::{Invalidation, Selector};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The namespace the demo's invalidations are published in.
pub const NAMESPACE: &str = "shop";
/// How long a failing `PUT` (`x-demo-fail: 1`) waits before answering 503.
pub const FAIL_DELAY: Duration = Duration::from_millis(400);
const MAX_AGE: &str = "max-age=30";

/// One product of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// 1-based id.
    pub id: u32,
    /// 1..=100 characters.
    pub name: String,
    /// Price in euros, ≥ 0.
    pub price: f64,
    /// Units in stock.
    pub stock: u32,
    /// Last change, in ms since the Unix epoch.
    pub updated_at: u64,
}

/// The body of `PUT /api/products/{id}`.
#[derive(Debug, Deserialize)]
pub struct ProductEdit {
    /// The new name.
    pub name: String,
    /// The new price.
    pub price: f64,
    /// The new stock; default: unchanged.
    pub stock: Option<u32>,
}

/// The in-memory catalogue; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Catalog {
    products: Arc<Mutex<Vec<Product>>>,
}

const ADJECTIVES: [&str; 10] = [
    "Oak", "Linen", "Copper", "Walnut", "Ceramic", "Wool", "Marble", "Brass", "Cotton", "Ash",
];
const NOUNS: [&str; 6] = ["desk lamp", "side table", "vase", "throw", "mug", "shelf"];

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Catalog {
    /// A catalogue of `count` deterministic sample products (ids 1..=count).
    #[must_use]
    pub fn sample(count: u32) -> Self {
        let now = now_ms();
        let products = (1..=count)
            .map(|id| {
                let i = id as usize - 1;
                Product {
                    id,
                    name: format!(
                        "{} {}",
                        ADJECTIVES[i % ADJECTIVES.len()],
                        NOUNS[(i / ADJECTIVES.len()) % NOUNS.len()]
                    ),
                    price: f64::from(9 + (id * 37) % 190) + 0.9,
                    stock: (id * 13) % 40,
                    updated_at: now,
                }
            })
            .collect();
        Self {
            products: Arc::new(Mutex::new(products)),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<Product>) -> T) -> T {
        f(&mut self.products.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The demo API's errors, answered as JSON.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Bad input: 400 `bad_request`.
    #[error("{0}")]
    BadRequest(String),
    /// No such product: 404 `not_found`.
    #[error("no product {0}")]
    NotFound(u32),
    /// The failure switch, or a failed publication: 503 `unavailable`.
    #[error("{0}")]
    Unavailable(String),
}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        let body = serde_json::json!({ "error": code, "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}

/// The demo API's routes; merge them into the hub's router (`AppState::with_demo_api`).
pub fn router(catalog: Catalog) -> Router<AppState> {
    Router::new()
        .route("/api/products", get(list))
        .route("/api/products/{id}", get(one).put(edit))
        .layer(Extension(catalog))
}

/// A cacheable JSON answer: `Cache-Control`, `ETag`, `Cache-Tag`; 304 on a matching
/// `If-None-Match`.
fn cacheable(request: &HeaderMap, body: &serde_json::Value, ids: &[u32]) -> Response {
    let bytes = body.to_string();
    let digest = Sha256::digest(bytes.as_bytes());
    let etag = format!(
        "\"{}\"",
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut tags = String::from("catalog");
    for id in ids {
        tags.push_str(&format!(" product:{id}"));
    }
    let headers = [
        (header::CACHE_CONTROL, MAX_AGE.to_owned()),
        (header::ETAG, etag.clone()),
        (header::HeaderName::from_static("cache-tag"), tags),
    ];
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// `?page=&size=` of the list.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// From 0. Default 0.
    page: Option<usize>,
    /// 1..=50. Default 12.
    size: Option<usize>,
}

async fn list(
    Extension(catalog): Extension<Catalog>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, DemoError> {
    let Query(query) = query.map_err(|e| DemoError::BadRequest(e.body_text()))?;
    let page = query.page.unwrap_or(0);
    let size = query.size.unwrap_or(12);
    if !(1..=50).contains(&size) {
        return Err(DemoError::BadRequest("size must be 1..=50".into()));
    }
    let (items, total) = catalog.with(|products| {
        let start = page.saturating_mul(size).min(products.len());
        let end = start.saturating_add(size).min(products.len());
        (products[start..end].to_vec(), products.len())
    });
    let ids: Vec<u32> = items.iter().map(|p| p.id).collect();
    let body = serde_json::json!({ "items": items, "page": page, "size": size, "total": total });
    Ok(cacheable(&headers, &body, &ids))
}

async fn one(
    Extension(catalog): Extension<Catalog>,
    Path(id): Path<u32>,
    headers: HeaderMap,
) -> Result<Response, DemoError> {
    let product = catalog
        .with(|products| products.iter().find(|p| p.id == id).cloned())
        .ok_or(DemoError::NotFound(id))?;
    let body = serde_json::to_value(&product).map_err(|e| DemoError::Unavailable(e.to_string()))?;
    Ok(cacheable(&headers, &body, &[id]))
}

fn validate(edit: &ProductEdit) -> Result<(), DemoError> {
    let chars = edit.name.trim().chars().count();
    if !(1..=100).contains(&chars) {
        return Err(DemoError::BadRequest(
            "name must be 1 to 100 characters".into(),
        ));
    }
    if !edit.price.is_finite() || edit.price < 0.0 {
        return Err(DemoError::BadRequest("price must be a number ≥ 0".into()));
    }
    Ok(())
}

async fn edit(
    State(state): State<AppState>,
    Extension(catalog): Extension<Catalog>,
    Path(id): Path<u32>,
    headers: HeaderMap,
    body: Result<Json<ProductEdit>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Product>, DemoError> {
    let Json(edit) = body.map_err(|e| DemoError::BadRequest(e.body_text()))?;
    validate(&edit)?;
    if headers.get("x-demo-fail").is_some_and(|v| v == "1") {
        tokio::time::sleep(FAIL_DELAY).await;
        return Err(DemoError::Unavailable(
            "the demo API was asked to fail (x-demo-fail: 1)".into(),
        ));
    }
    let product = catalog
        .with(|products| {
            let product = products.iter_mut().find(|p| p.id == id)?;
            product.name = edit.name.trim().to_owned();
            product.price = (edit.price * 100.0).round() / 100.0;
            product.stock = edit.stock.unwrap_or(product.stock);
            product.updated_at = now_ms().max(product.updated_at + 1);
            Some(product.clone())
        })
        .ok_or(DemoError::NotFound(id))?;
    let namespace =
        Namespace::parse(NAMESPACE).map_err(|e| DemoError::Unavailable(e.to_string()))?;
    let selector = Selector::parse(&[format!("product:{id}")], &[] as &[&str], &["catalog"])
        .map_err(|e| DemoError::Unavailable(e.to_string()))?;
    let invalidation = Invalidation {
        namespace,
        selector,
    };
    publish_invalidation(&state, &invalidation, false)
        .await
        .map_err(|e| DemoError::Unavailable(format!("saved, but not announced: {e}")))?;
    Ok(Json(product))
}

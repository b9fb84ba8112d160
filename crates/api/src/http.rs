//! The HTTP edge: GraphQL over HTTP (`POST` and `GET /graphql`, `application/json` and
//! `application/graphql-response+json`), subscriptions over WebSocket (`graphql-transport-ws`
//! and the legacy `graphql-ws`), GraphiQL, `/healthz`, `/readyz` and Prometheus `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::{Data, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use placeledger_app::tokens::{self as auth, AuthError};
use placeledger_app::{Backend, Live, Role, Service, Viewer};

use crate::context::{PlaceledgerSchema, Services};
use crate::error::code;
use crate::limit::{Limiter, Rate};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Longest a request may run before it is answered with a timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    fn error(&self, code: &str) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(code.to_owned()).or_insert(0) += 1;
        }
    }
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct App {
    pub schema: PlaceledgerSchema,
    pub backend: Backend,
    pub live: Live,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<Limiter>,
    pub caches: Arc<Caches>,
}

/// How long a token, once looked up, is taken on trust: a revocation takes effect within it.
pub const TOKEN_TTL: Duration = Duration::from_secs(5);
/// Answers kept per read-model position before the cache starts again.
const MAX_CACHED_ANSWERS: usize = 10_000;

/// Answers by (who, query, variables): the status and the body.
type Answers = HashMap<String, (StatusCode, Arc<str>)>;

/// What spares the database and the executor on a busy node: tokens recently looked up, and
/// answers to queries at the current read-model position. Answers depend only on the
/// position, the query and who asks (role and authority), so an answer made at a position is
/// the answer to the same query until the position moves. Partner reads are never cached:
/// each is audited.
#[derive(Debug, Default)]
pub struct Caches {
    tokens: Mutex<HashMap<String, (Viewer, std::time::Instant)>>,
    answers: Mutex<(u64, Answers)>,
}

impl App {
    /// The service on `backend`, answering from `live`, each token limited to `rate`,
    /// republishing partners' figures daily.
    pub fn new(backend: Backend, live: Live, rate: Rate) -> App {
        App::publishing_every(
            backend,
            live,
            rate,
            placeledger_app::service::Publisher::DAILY,
        )
    }

    /// The same, republishing partners' figures every `every`.
    pub fn publishing_every(backend: Backend, live: Live, rate: Rate, every: Duration) -> App {
        let service = Service::new(backend.clone(), live.clone()).publishing_every(every);
        App {
            schema: crate::context::build(Some(Services::new(service))),
            backend,
            live,
            metrics: Arc::default(),
            limiter: Arc::new(Limiter::new(rate)),
            caches: Arc::default(),
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

pub fn router(app: App) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/", get(graphiql))
        .route("/graphiql", get(graphiql))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Placeledger")
            .finish(),
    )
}

async fn readyz(State(app): State<App>) -> Response {
    match app.backend.events.head_position().await {
        Ok(head) => {
            let at = app.live.now().position;
            (
                StatusCode::OK,
                format!("ready: store head {head}, read models at {at}\n"),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database does not answer\n",
            )
                .into_response()
        }
    }
}

async fn metrics(State(app): State<App>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP placeledger_http_requests_total GraphQL requests received.\n");
    out.push_str("# TYPE placeledger_http_requests_total counter\n");
    out.push_str(&format!(
        "placeledger_http_requests_total {}\n",
        app.metrics.requests.load(Ordering::Relaxed)
    ));
    out.push_str("# HELP placeledger_graphql_errors_total Errors returned, by extensions.code.\n");
    out.push_str("# TYPE placeledger_graphql_errors_total counter\n");
    if let Ok(m) = app.metrics.errors.lock() {
        for (c, n) in m.iter() {
            out.push_str(&format!(
                "placeledger_graphql_errors_total{{code=\"{c}\"}} {n}\n"
            ));
        }
    }
    out.push_str(
        "# HELP placeledger_read_model_position The event position the read models reflect.\n",
    );
    out.push_str("# TYPE placeledger_read_model_position gauge\n");
    out.push_str(&format!(
        "placeledger_read_model_position {}\n",
        app.live.now().position
    ));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        out,
    )
        .into_response()
}

/// The media type of the answer: `application/graphql-response+json` when the client
/// accepts it, else `application/json`.
fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(GRAPHQL_RESPONSE))
}

/// An answer carrying only errors, with the status the spec gives it for the media type.
fn request_error(
    app: &App,
    graphql_response: bool,
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
) -> Response {
    app.metrics.error(code);
    let body = serde_json::json!({
        "errors": [{ "message": message.into(), "extensions": { "code": code } }]
    });
    // With application/json, GraphQL-level failures are 200; transport failures keep theirs.
    let status =
        if !graphql_response && status == StatusCode::BAD_REQUEST && code != code::BAD_REQUEST {
            StatusCode::OK
        } else {
            status
        };
    respond(status, graphql_response, body.to_string())
}

/// A request that is not a GraphQL request (`BAD_REQUEST`, 400).
fn bad_request(app: &App, graphql_response: bool, message: String) -> Response {
    request_error(
        app,
        graphql_response,
        StatusCode::BAD_REQUEST,
        code::BAD_REQUEST,
        message,
    )
}

fn respond(status: StatusCode, graphql_response: bool, body: String) -> Response {
    let ct = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

async fn viewer_of(app: &App, headers: &HeaderMap) -> Result<Option<Viewer>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let token = auth::bearer(value)?;
    let key = auth::hash(token);
    let now = std::time::Instant::now();
    if let Ok(t) = app.caches.tokens.lock()
        && let Some((v, at)) = t.get(&key)
        && now.duration_since(*at) < TOKEN_TTL
    {
        return Ok(Some(v.clone()));
    }
    let v = auth::authenticate(&*app.backend.access, token).await?;
    if let Ok(mut t) = app.caches.tokens.lock() {
        if t.len() > MAX_CACHED_ANSWERS {
            t.clear();
        }
        t.insert(key, (v.clone(), now));
    }
    Ok(Some(v))
}

async fn graphql_post(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    app.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let gr = wants_graphql_response(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != JSON && media != "application/graphql+json" {
        return request_error(
            &app,
            gr,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::BAD_REQUEST,
            format!("send the request as application/json, not {content_type:?}"),
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return request_error(&app, gr, e.status(), code::BAD_REQUEST, e.body_text());
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(
                &app,
                gr,
                format!("the body is not a GraphQL request in JSON: {e}"),
            );
        }
    };
    execute(app, headers, request, gr, false).await
}

async fn graphql_get(
    State(app): State<App>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let gr = wants_graphql_response(&headers);
    let Some(query) = params.get("query") else {
        // A person with a browser: show GraphiQL.
        return graphiql().await.into_response();
    };
    app.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let mut request = async_graphql::Request::new(query.clone());
    if let Some(name) = params.get("operationName") {
        request = request.operation_name(name.clone());
    }
    if let Some(vars) = params.get("variables") {
        match serde_json::from_str::<async_graphql::Variables>(vars) {
            Ok(v) => request = request.variables(v),
            Err(e) => {
                return bad_request(&app, gr, format!("variables: not a JSON object: {e}"));
            }
        }
    }
    execute(app, headers, request, gr, true).await
}

async fn execute(
    app: App,
    headers: HeaderMap,
    mut request: async_graphql::Request,
    gr: bool,
    is_get: bool,
) -> Response {
    // Parse first: a syntax error is a request error, answered before anything runs.
    let document = match async_graphql::parser::parse_query(&request.query) {
        Ok(d) => d,
        Err(e) => {
            return request_error(
                &app,
                gr,
                StatusCode::BAD_REQUEST,
                code::GRAPHQL_PARSE_FAILED,
                e.to_string(),
            );
        }
    };
    if is_get {
        let mutation = document.operations.iter().any(|(name, op)| {
            let chosen = request
                .operation_name
                .as_deref()
                .is_none_or(|n| name.is_some_and(|x| x.as_str() == n));
            chosen && op.node.ty == async_graphql::parser::types::OperationType::Mutation
        });
        if mutation {
            let mut r = request_error(
                &app,
                gr,
                StatusCode::METHOD_NOT_ALLOWED,
                code::BAD_REQUEST,
                "mutations are sent with POST",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return r;
        }
    }
    let is_query = document
        .operations
        .iter()
        .all(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Query);
    let mut cache_key = None;
    match viewer_of(&app, &headers).await {
        Ok(Some(v)) => {
            if let Err(wait) = app.limiter.take(&v.token_id, std::time::Instant::now()) {
                let mut r = request_error(
                    &app,
                    gr,
                    StatusCode::TOO_MANY_REQUESTS,
                    code::RATE_LIMITED,
                    "too many requests for this token; slow down",
                );
                let secs = wait.as_secs().max(1).to_string();
                if let Ok(h) = HeaderValue::from_str(&secs) {
                    r.headers_mut().insert(header::RETRY_AFTER, h);
                }
                return r;
            }
            if is_query && v.role != Role::Partner {
                let key = format!(
                    "{}|{}|{gr}|{}|{}|{}",
                    v.role.code(),
                    v.authority.as_ref().map_or("", |a| a.as_str()),
                    request.operation_name.as_deref().unwrap_or(""),
                    serde_json::to_string(&request.variables).unwrap_or_default(),
                    request.query
                );
                let position = app.live.now().position;
                if let Ok(a) = app.caches.answers.lock()
                    && a.0 == position
                    && let Some((status, body)) = a.1.get(&key)
                {
                    return respond(*status, gr, body.to_string());
                }
                cache_key = Some((position, key));
            }
            request = request.data(v);
        }
        Ok(None) => {}
        Err(AuthError::Store(e)) => {
            tracing::error!(error = %e, "looking up a token");
            return request_error(
                &app,
                gr,
                StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                "the database does not answer; try again",
            );
        }
        Err(e) => {
            let mut r = request_error(
                &app,
                gr,
                StatusCode::UNAUTHORIZED,
                code::UNAUTHENTICATED,
                e.to_string(),
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, app.schema.execute(request)).await {
        Ok(r) => r,
        Err(_) => {
            return request_error(
                &app,
                gr,
                StatusCode::SERVICE_UNAVAILABLE,
                "TIMEOUT",
                format!(
                    "the request took longer than {} s",
                    REQUEST_TIMEOUT.as_secs()
                ),
            );
        }
    };
    let no_data = matches!(response.data, async_graphql::Value::Null);
    let mut response = response;
    for e in &mut response.errors {
        classify(e, no_data);
        if let Some(async_graphql::Value::String(c)) =
            e.extensions.as_ref().and_then(|x| x.get("code"))
        {
            app.metrics.error(c);
        }
    }
    // A request that never ran (validation failed) is a 400 for graphql-response+json.
    let status = if gr && no_data && !response.errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = match serde_json::to_string(&response) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "serialising a response");
            return request_error(
                &app,
                gr,
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
                "internal error",
            );
        }
    };
    if let Some((position, key)) = cache_key
        && response.errors.is_empty()
        && let Ok(mut a) = app.caches.answers.lock()
    {
        if a.0 != position || a.1.len() >= MAX_CACHED_ANSWERS {
            *a = (position, HashMap::new());
        }
        a.1.insert(key, (status, Arc::from(body.as_str())));
    }
    respond(status, gr, body)
}

/// Gives every error a code: those from resolvers have theirs; the others are validation
/// failures (nothing ran) or, with a path, internal.
fn classify(e: &mut ServerError, no_data: bool) {
    let has_code = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if has_code {
        return;
    }
    let c = if e.path.is_empty() || no_data {
        code::GRAPHQL_VALIDATION_FAILED
    } else {
        code::INTERNAL
    };
    let mut ext = e.extensions.take().unwrap_or_default();
    ext.set("code", c);
    e.extensions = Some(ext);
}

/// Subscriptions over WebSocket. The token goes in `connection_init`'s payload:
/// `{"Authorization": "Bearer <token>"}` (or `{"token": "<token>"}`).
async fn graphql_ws(
    State(app): State<App>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = app.schema.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let token = payload
                        .get("Authorization")
                        .or_else(|| payload.get("authorization"))
                        .and_then(|v| v.as_str())
                        .map(|h| auth::bearer(h).map(str::to_owned))
                        .or_else(|| {
                            payload
                                .get("token")
                                .and_then(|v| v.as_str())
                                .map(|t| Ok(t.to_owned()))
                        });
                    let mut data = Data::default();
                    match token {
                        None => {}
                        Some(Err(e)) => return Err(async_graphql::Error::new(e.to_string())),
                        Some(Ok(t)) => {
                            let v = auth::authenticate(&*app.backend.access, &t)
                                .await
                                .map_err(|e| async_graphql::Error::new(e.to_string()))?;
                            data.insert(v);
                        }
                    }
                    Ok(data)
                })
                .serve()
        })
}

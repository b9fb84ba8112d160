//! The HTTP edge: GraphQL over HTTP (`POST` and `GET /graphql`, `application/json` and
//! `application/graphql-response+json`), subscriptions over WebSocket (`graphql-transport-ws`
//! and the legacy `graphql-ws`), GraphiQL, `/healthz`, `/readyz` and Prometheus `/metrics`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols};
use async_graphql::{Data, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State, WebSocketUpgrade,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use placeledger_app::tokens::{self as auth, AuthError};
use placeledger_app::{Backend, Live, Role, Service, Viewer};

use crate::context::{PlaceledgerSchema, Services};
use crate::error::code;
use crate::limit::{Limiter, Rate};
use crate::shape::Shape;

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
    /// The schema without depth and complexity limits: introspection by signed-in callers.
    pub introspection: PlaceledgerSchema,
    pub backend: Backend,
    pub live: Live,
    /// This node's writers: `/readyz` says whether their ledger is open.
    pub commands: placeledger_app::commands::Commands,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<Limiter>,
    pub caches: Arc<Caches>,
    /// The ids of revoked tokens, as last polled (see [`REVOCATION_POLL`]).
    pub revoked: tokio::sync::watch::Receiver<Arc<HashSet<String>>>,
}

/// Answers kept per read-model position before the cache starts again.
const MAX_CACHED_ANSWERS: usize = 10_000;
/// Bytes of answers kept per node before the cache starts again.
pub const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;
/// Largest answer sent: a request whose answer would be larger is refused (`BAD_REQUEST`:
/// ask for fewer fields, or a page).
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Longest error message sent; longer ones are cut, so an answer never carries a large input
/// back (once per alias or not at all).
pub const MAX_MESSAGE_CHARS: usize = 200;
/// How long a WebSocket may stay open without `connection_init`: then it is closed with 4408.
pub const CONNECTION_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a node looks for revoked tokens, to close what they hold open.
pub const REVOCATION_POLL: Duration = Duration::from_millis(250);

/// Answers by (who, query, variables): the status and the body.
type Answers = HashMap<String, (StatusCode, Arc<str>)>;

/// What spares the executor on a busy node: answers to queries at the current read-model
/// position. Answers depend only on the position, the query and who asks (role and
/// authority), so an answer made at a position is the answer to the same query until the
/// position moves. Bounded in entries and bytes. Partner reads are never cached: each is
/// audited. (Tokens are not cached: a revoked token is refused on its next request.)
#[derive(Debug, Default)]
pub struct Caches {
    /// The position, the answers, and their bytes.
    answers: Mutex<(u64, Answers, usize)>,
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
        App::from_service(service, backend, live, rate)
    }

    /// As `placeledger serve` runs it: the same, and the node's ledger (the domain state
    /// commands are decided on) opened at once in a task of its own rather than on the first
    /// command. At national size folding the log takes longer than a request may wait, and a
    /// request that times out must not cancel it; commands arriving meanwhile wait for it.
    pub fn serving(backend: Backend, live: Live, rate: Rate, every: Duration) -> App {
        let service = Service::new(backend.clone(), live.clone()).publishing_every(every);
        service.commands.open_in_background();
        App::from_service(service, backend, live, rate)
    }

    fn from_service(service: Service, backend: Backend, live: Live, rate: Rate) -> App {
        let commands = service.commands.clone();
        let services = Services::new(service);
        App {
            commands,
            schema: crate::context::build(Some(services.clone())),
            introspection: crate::context::build_for_introspection(Some(services)),
            revoked: watch_revocations(backend.clone()),
            backend,
            live,
            metrics: Arc::default(),
            limiter: Arc::new(Limiter::new(rate)),
            caches: Arc::default(),
        }
    }
}

/// Polls the revoked tokens every [`REVOCATION_POLL`] for as long as anyone listens.
fn watch_revocations(backend: Backend) -> tokio::sync::watch::Receiver<Arc<HashSet<String>>> {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(HashSet::new()));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REVOCATION_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.is_closed() {
                return;
            }
            match backend.access.revoked_ids().await {
                Ok(ids) => {
                    let ids: HashSet<String> = ids.into_iter().collect();
                    if **tx.borrow() != ids {
                        let _ = tx.send(Arc::new(ids));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "looking up revoked tokens"),
            }
        }
    });
    rx
}

/// The client's address, when the server was started with connection info.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

impl App {
    /// The router as a service that knows each client's address (rate limits per address for
    /// requests without a valid token): what `axum::serve` is given.
    pub fn into_service(
        self,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
        router(self).into_make_service_with_connect_info::<SocketAddr>()
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
        .route("/", get(crate::web::index))
        .route("/graphiql", get(crate::web::graphiql))
        .route("/assets/{*path}", get(crate::web::asset))
        .route("/favicon.ico", get(crate::web::favicon))
        .route("/export.xlsx", axum::routing::post(export_xlsx))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

async fn readyz(State(app): State<App>) -> Response {
    match app.backend.events.head_position().await {
        Ok(head) => {
            let at = app.live.now().position;
            // Queries are served from the read models; commands need the ledger as well.
            let ledger = match app.commands.ledger_opened_from() {
                None => "ledger not open yet (commands wait for it)".to_owned(),
                Some(0) => "ledger open (folded the whole log)".to_owned(),
                Some(p) => format!("ledger open (from its snapshot at {p})"),
            };
            (
                StatusCode::OK,
                format!("ready: store head {head}, read models at {at}; {ledger}\n"),
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
    // Looked up on every request: a revoked token is refused at once, on every node.
    Ok(Some(auth::authenticate(&*app.backend.access, token).await?))
}

/// `POST /export.xlsx`: the web app's tables as an Excel workbook (signed-in callers only; it
/// formats what the caller has already been given, and reads nothing).
async fn export_xlsx(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let refused = |status: StatusCode, code: &str, message: String| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string(),
        )
            .into_response()
    };
    match viewer_of(&app, &headers).await {
        Ok(Some(_)) => {}
        Ok(None) | Err(_) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHENTICATED,
                "a bearer token is needed: send `Authorization: Bearer <token>`".into(),
            );
        }
    }
    let export: crate::web::Export = match body
        .map_err(|e| e.body_text())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(e) => e,
        Err(e) => return refused(StatusCode::BAD_REQUEST, code::BAD_REQUEST, e),
    };
    match crate::web::workbook(&export) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                (header::CONTENT_DISPOSITION, "attachment"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refused(StatusCode::BAD_REQUEST, code::BAD_USER_INPUT, e),
    }
}

async fn graphql_post(
    State(app): State<App>,
    client: ClientAddr,
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
    execute(app, client, headers, request, gr, false).await
}

async fn graphql_get(
    State(app): State<App>,
    client: ClientAddr,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let gr = wants_graphql_response(&headers);
    let Some(query) = params.get("query") else {
        // A person with a browser: show GraphiQL.
        return crate::web::graphiql().await;
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
    execute(app, client, headers, request, gr, true).await
}

/// Refuses a request over its rate: 429 with `RATE_LIMITED` and `Retry-After`.
fn rate_limited(app: &App, gr: bool, key: &str) -> Option<Response> {
    let wait = app.limiter.take(key, std::time::Instant::now()).err()?;
    let mut r = request_error(
        app,
        gr,
        StatusCode::TOO_MANY_REQUESTS,
        code::RATE_LIMITED,
        "too many requests; slow down",
    );
    let secs = wait.as_secs().max(1).to_string();
    if let Ok(h) = HeaderValue::from_str(&secs) {
        r.headers_mut().insert(header::RETRY_AFTER, h);
    }
    Some(r)
}

/// The limiter's key for a request without a valid token: its address.
fn address_key(client: ClientAddr) -> String {
    client.0.map_or_else(
        || "address:unknown".to_owned(),
        |ip| format!("address:{ip}"),
    )
}

async fn execute(
    app: App,
    client: ClientAddr,
    headers: HeaderMap,
    mut request: async_graphql::Request,
    gr: bool,
    is_get: bool,
) -> Response {
    // Who asks first: a request without a valid token is limited by its address, and a
    // bad token is refused before anything else is looked at.
    let viewer = match viewer_of(&app, &headers).await {
        Ok(v) => v,
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
            if let AuthError::Revoked(v) = &e {
                audit_revoked(&app, v).await;
            }
            if let Some(r) = rate_limited(&app, gr, &address_key(client)) {
                return r;
            }
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
    };
    let key = viewer
        .as_ref()
        .map_or_else(|| address_key(client), |v| v.token_id.clone());
    if let Some(r) = rate_limited(&app, gr, &key) {
        return r;
    }
    // Parse first: a syntax error is a request error, answered before anything runs.
    let document = match async_graphql::parser::parse_query(&request.query) {
        Ok(d) => d,
        Err(e) => {
            return request_error(
                &app,
                gr,
                StatusCode::BAD_REQUEST,
                code::GRAPHQL_PARSE_FAILED,
                cut(&e.to_string()),
            );
        }
    };
    let shape = Shape::of(&document, request.operation_name.as_deref());
    if is_get && shape.mutation {
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
    if let Some(problem) = shape.too_big() {
        refused_request(
            &app,
            viewer.as_ref(),
            &shape,
            code::GRAPHQL_VALIDATION_FAILED,
        )
        .await;
        return request_error(
            &app,
            gr,
            StatusCode::BAD_REQUEST,
            code::GRAPHQL_VALIDATION_FAILED,
            problem,
        );
    }
    if shape.introspection && viewer.is_none() {
        return request_error(
            &app,
            gr,
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "introspection needs a token: send `Authorization: Bearer <token>`",
        );
    }
    let mut cache_key = None;
    if let Some(v) = viewer {
        if shape.query && v.role != Role::Partner {
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
    // Introspection alone (GraphiQL's docs, code generators) is deeper than any query: it
    // runs without the depth and complexity limits, for signed-in callers.
    let schema = if shape.introspection_only {
        &app.introspection
    } else {
        &app.schema
    };
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, schema.execute(request)).await {
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
        e.message = cut(&e.message);
        if let Some(async_graphql::Value::String(c)) =
            e.extensions.as_ref().and_then(|x| x.get("code"))
        {
            app.metrics.error(c);
        }
    }
    // A request that never ran (it failed validation: no error has a path) is a 400 for
    // graphql-response+json; one that ran is a 200 whatever its fields did.
    let ran = response.errors.iter().any(|e| !e.path.is_empty());
    let status = if gr && !ran && !response.errors.is_empty() {
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
    if body.len() > MAX_ANSWER_BYTES {
        return request_error(
            &app,
            gr,
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            format!(
                "the answer would be {} MB, over the {} MB limit: ask for fewer fields or a page",
                body.len() / (1024 * 1024),
                MAX_ANSWER_BYTES / (1024 * 1024)
            ),
        );
    }
    if let Some((position, key)) = cache_key
        && response.errors.is_empty()
        && let Ok(mut a) = app.caches.answers.lock()
    {
        let bytes = key.len() + body.len();
        if a.0 != position || a.1.len() >= MAX_CACHED_ANSWERS || a.2 + bytes > MAX_CACHED_BYTES {
            *a = (position, HashMap::new(), 0);
        }
        if bytes <= MAX_CACHED_BYTES {
            a.1.insert(key, (status, Arc::from(body.as_str())));
            a.2 += bytes;
        }
    }
    respond(status, gr, body)
}

/// A partner's request refused before it ran, in the audit log (what it asked for, in short).
async fn refused_request(app: &App, viewer: Option<&Viewer>, shape: &Shape, code: &str) {
    let Some(v) = viewer.filter(|v| v.role == Role::Partner) else {
        return;
    };
    let services = app.schema.data::<Services>();
    let fields = shape.root_names();
    if let Some(s) = services
        && let Err(e) = s.app.audit_refusal(v, &fields, "", "", code).await
    {
        tracing::error!(error = %e, "auditing a partner's refusal");
    }
}

/// A revoked partner token's request, refused, in the audit log.
async fn audit_revoked(app: &App, v: &Viewer) {
    if v.role != Role::Partner {
        return;
    }
    if let Some(s) = app.schema.data::<Services>()
        && let Err(e) = s
            .app
            .audit_refusal(v, "(request)", "", "token revoked", code::UNAUTHENTICATED)
            .await
    {
        tracing::error!(error = %e, "auditing a revoked token's request");
    }
}

/// A message cut to [`MAX_MESSAGE_CHARS`].
fn cut(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message.to_owned();
    }
    let mut out: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    out.push_str("... (cut)");
    out
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
    client: ClientAddr,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    use std::str::FromStr;
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|p| {
            p.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return bad_request(
            &app,
            false,
            "ask for a GraphQL subprotocol: graphql-transport-ws or graphql-ws".into(),
        );
    };
    // A socket is a request too: limited by address like any request without a token.
    if let Some(r) = rate_limited(&app, false, &address_key(client)) {
        return r;
    }
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve_socket(app, protocol, socket))
}

/// The viewer a `connection_init` payload names, if any: `{"Authorization": "Bearer <t>"}`
/// or `{"token": "<t>"}`.
async fn viewer_of_payload(
    app: &App,
    payload: &serde_json::Value,
) -> Result<Option<Viewer>, String> {
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
    match token {
        None => Ok(None),
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(t)) => match auth::authenticate(&*app.backend.access, &t).await {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                if let AuthError::Revoked(v) = &e {
                    audit_revoked(app, v).await;
                }
                Err(e.to_string())
            }
        },
    }
}

/// Close codes a client can act on.
mod close {
    /// `connection_init` did not come in time (graphql-transport-ws).
    pub const INIT_TIMEOUT: u16 = 4408;
    /// The token was revoked while the socket was open.
    pub const REVOKED: u16 = 4403;
}

/// One WebSocket: GraphQL over it, closed with 4408 if `connection_init` does not come within
/// [`CONNECTION_INIT_TIMEOUT`], and with 4403 as soon as its token is revoked (audited for a
/// partner).
async fn serve_socket(app: App, protocol: WebSocketProtocols, socket: WebSocket) {
    use futures::{SinkExt, StreamExt};
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|m| futures::future::ready(m.is_ok()))
        .filter_map(|m| {
            futures::future::ready(match m {
                Ok(Message::Text(t)) => Some(t.as_str().as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            })
        });
    // The viewer the socket's `connection_init` named, once it came.
    let (who_tx, mut who) = tokio::sync::watch::channel::<Option<Option<Viewer>>>(None);
    let init_app = app.clone();
    let graphql = async_graphql::http::WebSocket::new(app.schema.clone(), input, protocol)
        .on_connection_init(move |payload| {
            let (app, who_tx) = (init_app.clone(), who_tx.clone());
            async move {
                let v = viewer_of_payload(&app, &payload)
                    .await
                    .map_err(async_graphql::Error::new)?;
                let mut data = Data::default();
                if let Some(v) = &v {
                    data.insert(v.clone());
                }
                let _ = who_tx.send(Some(v));
                Ok(data)
            }
        });
    let mut graphql = std::pin::pin!(graphql);
    let mut revoked = app.revoked.clone();
    let deadline = tokio::time::sleep(CONNECTION_INIT_TIMEOUT);
    let mut deadline = std::pin::pin!(deadline);
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        }))
    };
    // A watch whose sender has gone answers `changed()` at once, for ever: each is listened
    // to only while its sender lives (the `connection_init` callback is dropped once it has
    // run; the revocation poller lives as long as the node).
    let (mut who_open, mut revoked_open) = (true, true);
    loop {
        let initialised = who.borrow().is_some();
        tokio::select! {
            message = graphql.next() => match message {
                Some(async_graphql::http::WsMessage::Text(t)) => {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        return;
                    }
                }
                Some(async_graphql::http::WsMessage::Close(code, reason)) => {
                    let _ = sink.send(close(code, &reason)).await;
                    return;
                }
                None => return,
            },
            () = &mut deadline, if !initialised => {
                let _ = sink.send(close(close::INIT_TIMEOUT, "Connection initialisation timeout")).await;
                return;
            }
            changed = revoked.changed(), if revoked_open => {
                if changed.is_err() {
                    revoked_open = false;
                    continue;
                }
                let gone = who.borrow().clone().flatten().filter(|v| revoked.borrow().contains(&v.token_id));
                if let Some(v) = gone {
                    if let Some(s) = app.schema.data::<Services>()
                        && let Err(e) = s.app.audit_refusal(&v, "(subscriptions)", "", "token revoked", code::UNAUTHENTICATED).await
                    {
                        tracing::error!(error = %e, "auditing a revoked socket");
                    }
                    let _ = sink.send(close(close::REVOKED, "Forbidden: the token was revoked")).await;
                    return;
                }
            }
            changed = who.changed(), if who_open => {
                who_open = changed.is_ok();
            }
        }
    }
}

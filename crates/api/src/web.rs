//! The planners' web app at `/` and GraphiQL at `/graphiql`, served from files built into the
//! binary (`crates/api/web/`): no request leaves the server, so both work on a council network
//! with no CDN. The pages talk to `/graphql` like any client, under the same access rules.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every file served, by its path under `/assets/` (the two pages by their own paths).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", JS, include_bytes!("../web/app.js")),
    ("app.css", CSS, include_bytes!("../web/app.css")),
    ("graphiql.js", JS, include_bytes!("../web/graphiql.js")),
    ("favicon.svg", SVG, include_bytes!("../web/favicon.svg")),
    (
        "vendor/uplot/uPlot.iife.min.js",
        JS,
        include_bytes!("../web/vendor/uplot/uPlot.iife.min.js"),
    ),
    (
        "vendor/uplot/uPlot.min.css",
        CSS,
        include_bytes!("../web/vendor/uplot/uPlot.min.css"),
    ),
    (
        "vendor/graphiql/graphiql.min.js",
        JS,
        include_bytes!("../web/vendor/graphiql/graphiql.min.js"),
    ),
    (
        "vendor/graphiql/graphiql.min.css",
        CSS,
        include_bytes!("../web/vendor/graphiql/graphiql.min.css"),
    ),
    (
        "vendor/graphiql/react.production.min.js",
        JS,
        include_bytes!("../web/vendor/graphiql/react.production.min.js"),
    ),
    (
        "vendor/graphiql/react-dom.production.min.js",
        JS,
        include_bytes!("../web/vendor/graphiql/react-dom.production.min.js"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const SVG: &str = "image/svg+xml";

const INDEX: &[u8] = include_bytes!("../web/index.html");
const GRAPHIQL: &[u8] = include_bytes!("../web/graphiql.html");

/// What a page may load and talk to: this server only. GraphiQL's editor sets styles inline.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                      frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// `/`: the web app.
pub async fn index() -> Response {
    file(HTML, INDEX)
}

/// `/graphiql` (and `/graphql` opened in a browser): GraphiQL from the vendored bundle.
pub async fn graphiql() -> Response {
    file(HTML, GRAPHIQL)
}

/// `/favicon.ico`, which browsers ask for whatever the page says: the SVG icon.
pub async fn favicon() -> Response {
    file(SVG, include_bytes!("../web/favicon.svg"))
}

/// `/assets/{*path}`: a built-in file, or 404.
pub async fn asset(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, bytes)) => file(content_type, bytes),
        None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}

/// The web app's own files (vendored ones apart) and their total size: the budget
/// is 1 MB.
pub fn own_bytes() -> usize {
    ASSETS
        .iter()
        .filter(|(p, _, _)| !p.starts_with("vendor/"))
        .map(|(_, _, b)| b.len())
        .sum::<usize>()
        + INDEX.len()
        + GRAPHIQL.len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_app_s_own_files_stay_under_a_megabyte() {
        assert!(super::own_bytes() < 1_000_000, "{}", super::own_bytes());
    }
}

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

/// A workbook asked for by the web app: its tables as they are on the page, numbers as
/// numbers, and where the figures come from.
#[derive(Debug, serde::Deserialize)]
pub struct Export {
    pub sheets: Vec<Sheet>,
    /// Sources and notes, one a line, on a sheet of their own.
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Sheet {
    pub name: String,
    pub columns: Vec<String>,
    /// Cells: a number is written as a number, a string as text, null left empty.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Sheets, rows and columns an export may have (Excel allows 1,048,576 rows).
const MAX_SHEETS: usize = 50;
const MAX_ROWS: usize = 100_000;
const MAX_COLUMNS: usize = 200;

/// A sheet name Excel takes: at most 31 characters, none of `[]:*?/\`, unique in the book.
fn sheet_name(name: &str, taken: &mut std::collections::BTreeSet<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(28)
        .collect();
    let clean = match clean.trim() {
        "" => "Sheet".to_owned(),
        trimmed => trimmed.to_owned(),
    };
    let mut candidate = clean.clone();
    let mut n = 2;
    while !taken.insert(candidate.to_lowercase()) {
        candidate = format!("{clean} {n}");
        n += 1;
    }
    candidate
}

/// The .xlsx file of `export`, or what is wrong with it.
pub fn workbook(export: &Export) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    if export.sheets.is_empty() || export.sheets.len() > MAX_SHEETS {
        return Err(format!("give 1 to {MAX_SHEETS} sheets"));
    }
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let mut taken = std::collections::BTreeSet::new();
    let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
    for sheet in &export.sheets {
        if sheet.rows.len() > MAX_ROWS || sheet.columns.len() > MAX_COLUMNS {
            return Err(format!(
                "{}: at most {MAX_ROWS} rows of {MAX_COLUMNS} columns",
                sheet.name
            ));
        }
        let ws = book.add_worksheet();
        ws.set_name(sheet_name(&sheet.name, &mut taken))
            .map_err(err)?;
        for (c, title) in sheet.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, title, &bold)
                .map_err(err)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().take(MAX_COLUMNS).enumerate() {
                let c = c as u16;
                match cell {
                    serde_json::Value::Number(n) => {
                        ws.write_number(r, c, n.as_f64().unwrap_or_default())
                            .map_err(err)?;
                    }
                    // Decimals (money) come as strings: numbers all the same.
                    serde_json::Value::String(s) => match s.parse::<f64>() {
                        Ok(x) if !s.trim().is_empty() => {
                            ws.write_number(r, c, x).map_err(err)?;
                        }
                        _ => {
                            ws.write_string(r, c, s).map_err(err)?;
                        }
                    },
                    serde_json::Value::Bool(b) => {
                        ws.write_boolean(r, c, *b).map_err(err)?;
                    }
                    _ => {}
                }
            }
        }
    }
    let notes = book.add_worksheet();
    notes
        .set_name(sheet_name("Notes", &mut taken))
        .map_err(err)?;
    notes
        .write_string_with_format(0, 0, "Where the figures come from", &bold)
        .map_err(err)?;
    for (i, line) in export.notes.iter().enumerate() {
        notes.write_string(i as u32 + 1, 0, line).map_err(err)?;
    }
    book.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sheet_names_are_ones_excel_takes_and_unique() {
        let mut taken = std::collections::BTreeSet::new();
        assert_eq!(
            super::sheet_name("Plans [2025]", &mut taken),
            "Plans -2025-"
        );
        assert_eq!(
            super::sheet_name("plans [2025]", &mut taken),
            "plans -2025- 2"
        );
        assert_eq!(super::sheet_name("", &mut taken), "Sheet");
        let long = "x".repeat(40);
        assert_eq!(super::sheet_name(&long, &mut taken).len(), 28);
    }

    #[test]
    fn the_app_s_own_files_stay_under_a_megabyte() {
        assert!(super::own_bytes() < 1_000_000, "{}", super::own_bytes());
    }
}

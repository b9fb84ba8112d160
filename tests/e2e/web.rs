//! The planners' web app in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs) driven over WebDriver. Each test signs in
//! with a token, reads what the page shows against what the API answers, fails on any
//! console error or any request to another host, and runs axe-core (vendored in
//! `tests/web/vendor/`) for serious accessibility violations. Screenshots at 1366x768 go to
//! `target/screenshots/` (and to `docs/screenshots/` with `PLACELEDGER_SCREENSHOTS=docs`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::harness::{Database, Server};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium behind its own chromedriver, closed when dropped.
struct Browser {
    client: Client,
    driver: Child,
    /// Where the browser saves what it downloads.
    downloads: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// chromedriver's log of the browser's console (`goog:loggingPrefs`), read and cleared.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER}: {e} (apt-get install chromium-driver)"));
        let downloads = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "prefs": {
                    "download.default_directory": downloads.path().display().to_string(),
                    "download.prompt_for_download": false,
                },
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,768",
                         "--lang=en-GB"],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver did not answer: {e}"),
            }
        };
        // axe-core on a long table, on a busy 2-core machine, takes more than the default
        // 30 s of a script.
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(180)),
                Some(Duration::from_secs(120)),
                Some(Duration::from_secs(0)),
            ))
            .await
            .unwrap();
        Browser {
            client,
            driver,
            downloads,
        }
    }

    /// The console's messages at level SEVERE since the last look.
    async fn console_errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every resource the page loaded came from `base`.
    async fn requests_elsewhere(&self, base: &str) -> Vec<String> {
        let names = self
            .client
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name)",
                vec![],
            )
            .await
            .unwrap();
        names
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|n| !n.starts_with(base))
            .map(str::to_owned)
            .collect()
    }

    /// axe-core's serious and critical violations on the page.
    async fn accessibility_violations(&self) -> Vec<Value> {
        let axe = include_str!("../web/vendor/axe.min.js");
        self.client.execute(axe, vec![]).await.unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' ')) }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', nodes: [String(e)] }]));",
                vec![],
            )
            .await
            .unwrap();
        result
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .cloned()
            .collect()
    }

    /// Saves a screenshot of the page as `name.png`.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join(format!("{name}.png")), &png).unwrap();
        if std::env::var("PLACELEDGER_SCREENSHOTS").as_deref() == Ok("docs") {
            let docs =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Waits (up to 60 s) for an element matching `css`; if it never comes, says what the
    /// page shows instead (its error, its console).
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let shown = self
                    .client
                    .execute(
                        "return [document.getElementById('error')?.textContent, document.getElementById('main')?.dataset.page, document.getElementById('main')?.textContent.slice(0, 400)]",
                        vec![],
                    )
                    .await
                    .unwrap_or_default();
                let console = self.console_errors().await;
                panic!("{css}: {e}; the page says {shown}; console {console:?}")
            }
        }
    }

    /// Clicks the element matching `css`.
    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Chooses the option of value `value` in the list matching `css`.
    async fn choose(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
    }

    /// Types `text` into the field matching `css`.
    async fn fill(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .send_keys(text)
            .await
            .unwrap();
    }

    /// The visible text of the element matching `css`.
    async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Opens `path` (such as `/#/report`) on the server at `base`.
    async fn open(&self, base: &str, path: &str) {
        self.client.goto(&format!("{base}{path}")).await.unwrap();
    }

    /// Clicks the link that downloads `name` and reads the file once it is whole.
    async fn download(&self, name: &str) -> String {
        self.click(&format!("a[download='{name}']")).await;
        String::from_utf8(self.downloaded(name).await).unwrap()
    }

    /// The bytes of the downloaded file `name`, once the browser has finished it.
    async fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.path().join(name);
        let started = Instant::now();
        while !path.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} was not downloaded: {:?}",
                std::fs::read_dir(self.downloads.path()).map(|d| d
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::fs::read(path).unwrap()
    }

    async fn sign_in(&self, base: &str, token: &str) {
        self.open(base, "/").await;
        self.wait_for("#token").await;
        self.fill("#token", token).await;
        self.click("form.sign-in button").await;
        self.wait_for("#who:not([hidden])").await;
    }
}

/// A table's body rows as text cells.
async fn table_rows(b: &Browser, css: &str) -> Vec<Vec<String>> {
    let rows = b
        .client
        .execute(
            "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]
                .map(tr => [...tr.children].map(td => td.textContent.trim()))",
            vec![json!(css)],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

/// `1,234` or `–` as the page shows a figure.
fn shown(v: &Value) -> String {
    match v.as_u64() {
        Some(n) => {
            let s = n.to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        }
        None => "–".to_owned(),
    }
}

#[tokio::test]
async fn a_planner_signs_in_and_sees_the_overview_charts_offline() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;

    // The page and every asset come from Placeledger itself.
    b.open(&server.base, "/").await;
    b.wait_for("form.sign-in").await;
    b.screenshot("sign-in").await;
    b.sign_in(&server.base, &planner).await;
    let who = b.text_of("#who-text").await;
    assert_eq!(who, "Signed in: planner, authority 888");

    // Four charts, each with its series drawn and its figures in a table.
    b.wait_for("#chart-cost .uplot").await;
    let drawn = b
        .client
        .execute(
            "return [...document.querySelectorAll('figure.chart')].map(f => {
                const u = f.querySelector('.plot').uplot;
                return { id: f.id, series: Number(f.dataset.series),
                    drawn: u.series.length - 1, data: u.data };
            })",
            vec![],
        )
        .await
        .unwrap();
    let drawn = drawn.as_array().unwrap();
    assert_eq!(drawn.len(), 4, "{drawn:?}");
    let want = [
        ("chart-plans", 2),
        ("chart-mainstream", 1),
        ("chart-placements", 2),
        ("chart-cost", 1),
    ];
    for ((id, series), got) in want.iter().zip(drawn) {
        assert_eq!(got["id"], *id);
        assert_eq!(got["series"], *series, "{got}");
        assert_eq!(got["drawn"], *series, "uPlot drew {got}");
    }

    // The figures are the API's.
    let (_, api) = server
        .gql(
            Some(&planner),
            "{ countyMeasures(authority: \"888\", fromYear: 2015, toYear: 2026) {
                year plans publishedPlans independentSpecial outOfAuthority } }",
            json!({}),
        )
        .await;
    let api: Vec<&Value> = api["data"]["countyMeasures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["plans"].as_u64() > Some(0))
        .collect();
    // What the plans chart drew: the years, then the recorded and published plans.
    let data = &drawn[0]["data"];
    for (i, a) in api.iter().enumerate() {
        assert_eq!(data[0][i], a["year"], "{data}");
        assert_eq!(data[1][i], a["plans"], "{data}");
        assert_eq!(data[2][i], a["publishedPlans"], "{data}");
    }
    let plans = table_rows(&b, "#chart-plans-table").await;
    assert_eq!(plans.len(), api.len(), "{plans:?}");
    for (row, a) in plans.iter().zip(&api) {
        assert_eq!(row[0], a["year"].to_string());
        assert_eq!(row[1], shown(&a["plans"]), "{row:?} {a}");
        assert_eq!(row[2], shown(&a["publishedPlans"]), "{row:?} {a}");
    }
    let placements = table_rows(&b, "#chart-placements-table").await;
    for (row, a) in placements.iter().zip(&api) {
        assert_eq!(row[1], shown(&a["independentSpecial"]));
        assert_eq!(row[2], shown(&a["outOfAuthority"]));
    }
    // Where the figures come from, in words: every January from the children on record.
    let lede = b.text_of("p.lede").await;
    assert!(
        lede.ends_with("Figures from the children on record (2015-2026)."),
        "{lede}"
    );
    b.screenshot("overview").await;

    // The page's tables as an Excel workbook: a sheet per chart, numbers as numbers, and a
    // notes sheet saying where they come from.
    b.click("#download-xlsx").await;
    let bytes = b.downloaded("overview-authority-888.xlsx").await;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader as _;
    assert_eq!(
        book.sheet_names(),
        [
            "EHC plans in force",
            "Share in mainstream (%)",
            "Independent special and out",
            "Cost of out-of-authority pla",
            "Notes"
        ]
        .map(str::to_owned)
    );
    let sheet = book.worksheet_range("EHC plans in force").unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows[0][1], calamine::Data::String("Recorded".into()));
    for (row, a) in rows[1..].iter().zip(&api) {
        assert_eq!(row[0], calamine::Data::Float(a["year"].as_f64().unwrap()));
        assert_eq!(row[1], calamine::Data::Float(a["plans"].as_f64().unwrap()));
    }
    let notes = book.worksheet_range("Notes").unwrap();
    assert!(
        notes.rows().count() > 4,
        "a note per table and the export's own"
    );

    assert_eq!(b.console_errors().await, Vec::<String>::new());
    assert_eq!(
        b.requests_elsewhere(&server.base).await,
        Vec::<String>::new()
    );
    assert_eq!(b.accessibility_violations().await, Vec::<Value>::new());

    // Signing out forgets the token.
    b.click("#sign-out").await;
    b.wait_for("form.sign-in").await;
    let kept = b
        .client
        .execute("return sessionStorage.getItem('placeledger.token')", vec![])
        .await
        .unwrap();
    assert!(kept.is_null());
}

#[tokio::test]
async fn a_planner_reads_a_districts_sufficiency_fan_against_capacity_and_downloads_it() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.sign_in(&server.base, &planner).await;
    b.open(
        &server.base,
        "/#/sufficiency?district=E07000123&phase=primary&kind=special",
    )
    .await;
    b.wait_for("#chart-sufficiency .uplot").await;
    let (_, api) = server
        .gql(
            Some(&planner),
            "{ forecast(filter: { authority: \"888\", district: \"E07000123\",
                phase: \"primary\", kind: \"special\" }) {
                rows { year need demand { p10 p50 p90 } capacity surplus { p50 } } } }",
            json!({}),
        )
        .await;
    let api: Vec<&Value> = api["data"]["forecast"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["need"].is_null())
        .collect();
    assert_eq!(api.len(), 10, "ten Januaries ahead");
    // P10, median, P90 and capacity, year by year: the API's figures.
    let data = b
        .client
        .execute(
            "const u = document.querySelector('#chart-sufficiency .plot').uplot;
             return { series: u.series.map(s => s.label), data: u.data };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        data["series"],
        json!(["January", "P10", "Median", "P90", "Capacity"])
    );
    for (i, r) in api.iter().enumerate() {
        assert_eq!(data["data"][0][i], r["year"]);
        assert_eq!(data["data"][1][i], r["demand"]["p10"]);
        assert_eq!(data["data"][2][i], r["demand"]["p50"]);
        assert_eq!(data["data"][3][i], r["demand"]["p90"]);
        assert_eq!(data["data"][4][i], r["capacity"]);
    }
    // A deficit stands out, naming its years.
    let deficit_years: Vec<String> = api
        .iter()
        .filter(|r| r["surplus"]["p50"].as_i64().is_some_and(|s| s < 0))
        .map(|r| r["year"].to_string())
        .collect();
    let shown_deficits = b
        .client
        .execute(
            "const e = document.getElementById('deficits'); return e ? e.textContent : null",
            vec![],
        )
        .await
        .unwrap();
    if deficit_years.is_empty() {
        assert!(shown_deficits.is_null(), "{shown_deficits}");
    } else {
        let text = shown_deficits.as_str().unwrap();
        assert!(
            deficit_years.iter().all(|y| text.contains(y.as_str())),
            "{text}"
        );
    }
    // Nothing stray on the page (an empty part shows nothing, not "null").
    let text = b.text_of("#main").await;
    assert!(
        !text.contains("null") && !text.contains("undefined"),
        "{text}"
    );
    b.screenshot("sufficiency").await;

    // Mainstream: pupils against net capacity per planning area of the district, as the
    // API's mainstreamForecast gives them.
    let (_, api_mainstream) = server
        .gql(
            Some(&planner),
            "{ mainstreamForecast(filter: { authority: \"888\", district: \"E07000123\",
                phase: \"primary\" }) {
                rows { planningArea year pupils { p10 p50 p90 } netCapacity } } }",
            json!({}),
        )
        .await;
    let rows = api_mainstream["data"]["mainstreamForecast"]["rows"]
        .as_array()
        .unwrap();
    let mut areas: Vec<&str> = rows
        .iter()
        .map(|r| r["planningArea"].as_str().unwrap())
        .collect();
    areas.sort_unstable();
    areas.dedup();
    assert!(!areas.is_empty(), "{api_mainstream}");
    b.wait_for("#mainstream-areas .uplot").await;
    let drawn = b
        .client
        .execute(
            "return [...document.querySelectorAll('#mainstream-areas figure')].map(f =>
                ({ area: f.dataset.planningArea,
                   series: f.querySelector('.plot').uplot.series.map(s => s.label),
                   data: f.querySelector('.plot').uplot.data }))",
            vec![],
        )
        .await
        .unwrap();
    let drawn = drawn.as_array().unwrap();
    let mut drawn_areas: Vec<&str> = drawn.iter().map(|d| d["area"].as_str().unwrap()).collect();
    drawn_areas.sort_unstable();
    assert_eq!(drawn_areas, areas);
    for d in drawn {
        assert_eq!(
            d["series"],
            json!(["January", "P10", "Median", "P90", "Net capacity"])
        );
        let want: Vec<&Value> = rows
            .iter()
            .filter(|r| r["planningArea"] == d["area"])
            .collect();
        assert_eq!(d["data"][0].as_array().unwrap().len(), want.len());
        for (i, r) in want.iter().enumerate() {
            assert_eq!(d["data"][0][i], r["year"]);
            assert_eq!(d["data"][1][i], r["pupils"]["p10"]);
            assert_eq!(d["data"][2][i], r["pupils"]["p50"]);
            assert_eq!(d["data"][3][i], r["pupils"]["p90"]);
            assert_eq!(d["data"][4][i], r["netCapacity"]);
        }
    }
    b.client
        .execute(
            "document.querySelector('#mainstream-areas').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    b.screenshot("sufficiency-mainstream").await;

    // The CSV downloaded is the same figures, raw.
    let csv = b
        .download("sufficiency-E07000123-primary-special.csv")
        .await;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("year,P10,Median,P90,Capacity"));
    for (line, r) in lines.zip(&api) {
        let want = format!(
            "{},{},{},{},{}",
            r["year"],
            r["demand"]["p10"],
            r["demand"]["p50"],
            r["demand"]["p90"],
            r["capacity"]
                .as_i64()
                .map(|c| c.to_string())
                .unwrap_or_default()
        );
        assert_eq!(line, want);
    }
    // A shorter horizon: up to the third January, chosen in the form; the mainstream
    // planning areas follow it.
    let third = api[2]["year"].as_i64().unwrap();
    b.choose("select[name=to]", &third.to_string()).await;
    b.click("form.controls button[type=submit]").await;
    b.wait_for("#chart-sufficiency[data-points='3'] .uplot")
        .await;
    let shorter = b
        .client
        .execute(
            "return { send: document.querySelector('#chart-sufficiency .plot').uplot.data[0],
                      mainstream: [...document.querySelectorAll('#mainstream-areas figure')]
                        .flatMap(f => f.querySelector('.plot').uplot.data[0]),
                      none: document.getElementById('mainstream-none')?.textContent ?? null }",
            vec![],
        )
        .await
        .unwrap();
    let want: Vec<&Value> = api[..3].iter().map(|r| &r["year"]).collect();
    assert_eq!(shorter["send"], json!(want));
    let mainstream = shorter["mainstream"].as_array().unwrap();
    assert!(
        mainstream.iter().all(|y| y.as_i64() <= Some(third)),
        "{shorter}"
    );
    assert!(
        !mainstream.is_empty() || shorter["none"].as_str().is_some(),
        "{shorter}"
    );
    assert_eq!(b.console_errors().await, Vec::<String>::new());
    assert_eq!(b.accessibility_violations().await, Vec::<Value>::new());
}

#[tokio::test]
async fn an_analyst_reads_the_track_record_beside_the_baselines() {
    let db = Database::seeded();
    let analyst = db.token("analyst", Some("888"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.sign_in(&server.base, &analyst).await;
    b.open(&server.base, "/#/track-record").await;
    b.wait_for("#chart-track-all .uplot").await;
    let (_, api) = server
        .gql(
            Some(&analyst),
            "{ backtest(authority: \"888\", horizon: 5) { horizon method mape } }",
            json!({}),
        )
        .await;
    let lines = api["data"]["backtest"].as_array().unwrap();
    let drawn = b
        .client
        .execute(
            "const u = document.querySelector('#chart-track-own .plot').uplot;
             return { series: u.series.map(s => s.label), data: u.data };",
            vec![],
        )
        .await
        .unwrap();
    // One line per method (the forecast and three baselines), MAPE by years ahead.
    let labels = drawn["series"].as_array().unwrap();
    assert_eq!(labels.len(), 5, "{drawn}");
    let methods = ["model", "compound_growth", "linear_trend", "last_value"];
    for (i, method) in methods.iter().enumerate() {
        for (j, hz) in drawn["data"][0].as_array().unwrap().iter().enumerate() {
            let want = lines
                .iter()
                .find(|l| l["method"] == *method && l["horizon"] == *hz)
                .unwrap();
            let got = drawn["data"][i + 1][j].as_f64().unwrap();
            assert!(
                (got - want["mape"].as_f64().unwrap()).abs() < 1e-9,
                "{method} {hz}"
            );
        }
    }
    // Past forecasts against what came: the earliest origin first, then another chosen in the
    // form; each drawn as the API's backtestForecasts give them.
    let (_, api) = server
        .gql(
            Some(&analyst),
            "{ backtestForecasts(authority: \"888\", horizon: 5) {
                 origin year method forecast actual p10 p90 } }",
            json!({}),
        )
        .await;
    let rows = api["data"]["backtestForecasts"].as_array().unwrap().clone();
    let mut origins: Vec<i64> = rows.iter().map(|r| r["origin"].as_i64().unwrap()).collect();
    origins.dedup();
    assert!(origins.len() >= 2, "{origins:?}");
    let past_forecasts_drawn = |origin: i64| {
        let rows = &rows;
        let b = &b;
        async move {
            let drawn = b
                .client
                .execute(
                    "const u = document.querySelector('#chart-track-past .plot').uplot;
                     return { title: document.querySelector('#chart-track-past h2').textContent,
                              series: u.series.map(s => s.label), data: u.data };",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(
                drawn["title"],
                format!("Forecast from January {origin} against what came")
            );
            // January, the actual, the model's P10, median and P90, and the three baselines.
            assert_eq!(drawn["series"].as_array().unwrap().len(), 8, "{drawn}");
            let columns = [
                ("model", "p10", 2),
                ("model", "forecast", 3),
                ("model", "p90", 4),
                ("compound_growth", "forecast", 5),
                ("linear_trend", "forecast", 6),
                ("last_value", "forecast", 7),
            ];
            let mut compared = 0;
            for (j, year) in drawn["data"][0].as_array().unwrap().iter().enumerate() {
                let actual = rows.iter().find(|r| r["year"] == *year).unwrap();
                assert_eq!(drawn["data"][1][j], actual["actual"], "actual {year}");
                for (method, key, i) in columns {
                    let want = rows.iter().find(|r| {
                        r["origin"] == origin && r["year"] == *year && r["method"] == method
                    });
                    match want {
                        Some(w) => {
                            let got = drawn["data"][i][j].as_f64().unwrap();
                            let want = w[key].as_f64().unwrap();
                            assert!((got - want).abs() < 1e-9, "{method} {key} {year}");
                            compared += 1;
                        }
                        None => assert!(drawn["data"][i][j].is_null(), "{method} {year}"),
                    }
                }
            }
            assert!(compared >= 6, "{origin}: {compared} figures compared");
        }
    };
    b.wait_for(&format!(
        "#chart-track-past[data-origin='{}'] .uplot",
        origins[0]
    ))
    .await;
    past_forecasts_drawn(origins[0]).await;
    // Another origin (the middle one: most of its horizons have come).
    let later = origins[origins.len() / 2];
    b.choose("select[name=origin]", &later.to_string()).await;
    b.click("form.controls button[type=submit]").await;
    b.wait_for(&format!("#chart-track-past[data-origin='{later}'] .uplot"))
        .await;
    past_forecasts_drawn(later).await;
    b.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    b.screenshot("track-record").await;
    b.client
        .execute(
            "document.querySelector('#chart-track-past').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    b.screenshot("track-record-past-forecasts").await;
    assert_eq!(b.console_errors().await, Vec::<String>::new());
    assert_eq!(b.accessibility_violations().await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_partner_sees_what_the_agreement_shares_and_no_figure_under_five() {
    let db = Database::seeded();
    let partner = db.token("partner", Some("890"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.sign_in(&server.base, &partner).await;
    // A partner lands on what is shared with it, and is offered nothing else of the app.
    let table = b.wait_for("#shared-table").await;
    let links = b
        .client
        .execute(
            "return [...document.querySelectorAll('#nav a')].filter(a => !a.hidden)
                .map(a => a.textContent)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(links, json!(["Shared with you", "GraphiQL"]));
    let (_, api) = server
        .gql(
            Some(&partner),
            "{ sharedPlaceData(authority: \"888\") { cells { year demand capacity suppressed } } }",
            json!({}),
        )
        .await;
    // The page shows the first forecast January (a choice of year shows the others).
    let all = api["data"]["sharedPlaceData"]["cells"].as_array().unwrap();
    let first = all.iter().filter_map(|c| c["year"].as_i64()).min().unwrap();
    let cells: Vec<&Value> = all
        .iter()
        .filter(|c| c["year"].as_i64() == Some(first))
        .collect();
    let rows = table_rows(&b, "#shared-table").await;
    assert_eq!(rows.len(), cells.len());
    for (row, cell) in rows.iter().zip(&cells) {
        assert_eq!(row[4], shown(&cell["demand"]));
        assert_eq!(row[5], shown(&cell["capacity"]));
        for figure in &row[4..6] {
            let n: Option<u64> = figure.replace(',', "").parse().ok();
            assert!(!n.is_some_and(|n| (1..5).contains(&n)), "{row:?}");
        }
    }
    drop(table);
    b.screenshot("partner").await;
    assert_eq!(b.console_errors().await, Vec::<String>::new());
    assert_eq!(b.accessibility_violations().await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_planner_makes_a_scenario_with_the_forms_and_compares_it() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.sign_in(&server.base, &planner).await;
    b.open(&server.base, "/#/scenarios").await;
    // Create it: an id and a name, no JSON.
    b.wait_for("#create-form").await;
    b.fill("#create-form input[name=id]", "web-new-school")
        .await;
    b.fill(
        "#create-form input[name=name]",
        "A new special school (browser test)",
    )
    .await;
    b.click("#create-form button").await;
    // Add a lever with the form's defaults: 40 ASD places for ages 4-11 from September 2026.
    b.wait_for("#lever-form").await;
    // Every kind of place offered is one the domain knows.
    let offered = b
        .client
        .execute(
            "return [...document.querySelectorAll('#lever-fields select[name=kind] option')]
                .map(o => o.value)",
            vec![],
        )
        .await
        .unwrap();
    let offered = offered.as_array().unwrap();
    assert!(offered.len() >= 9, "{offered:?}");
    for kind in offered {
        placeledger_domain::ProvisionKind::parse(kind.as_str().unwrap())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    b.click("#lever-form button[type=submit]").await;
    b.wait_for("#chart-scenario-cost .uplot").await;
    let (_, api) = server
        .gql(
            Some(&planner),
            "{ scenarios(authority: \"888\") { id name levers }
               compareScenarios(scenario: \"web-new-school\") { costByYear { year annualCost } } }",
            json!({}),
        )
        .await;
    let made = api["data"]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "web-new-school")
        .unwrap_or_else(|| panic!("{api}"));
    assert_eq!(made["name"], "A new special school (browser test)");
    let levers = made["levers"].as_array().unwrap();
    assert_eq!(levers.len(), 1, "{made}");
    assert_eq!(levers[0]["lever"], "open_places");
    assert_eq!(levers[0]["places"][0]["places"], 40);
    assert_eq!(levers[0]["places"][0]["need"], "ASD");
    // The cost chart is the API's comparison.
    let drawn = b
        .client
        .execute(
            "return document.querySelector('#chart-scenario-cost .plot').uplot.data",
            vec![],
        )
        .await
        .unwrap();
    let costs = api["data"]["compareScenarios"]["costByYear"]
        .as_array()
        .unwrap();
    assert!(!costs.is_empty());
    for (i, c) in costs.iter().enumerate() {
        assert_eq!(drawn[0][i], c["year"]);
        let want: f64 = c["annualCost"].as_str().unwrap().parse().unwrap();
        assert!(
            (drawn[1][i].as_f64().unwrap() - want).abs() < 0.01,
            "{drawn} {c}"
        );
    }
    // The levers are listed in words, not JSON: add a second kind through the form.
    b.choose("select[name=lever-kind]", "incidence_multiplier")
        .await;
    b.wait_for("#lever-fields input[name=multiplier]").await;
    b.click("#lever-form button[type=submit]").await;
    b.wait_for("#levers li:nth-child(2)").await;
    let first = b.text_of("#levers li:nth-child(1)").await;
    assert!(
        first.starts_with("Open 40 ASD places (LA-maintained special school) in ")
            && first.ends_with(", ages 4 to 11, from 1 September 2026"),
        "{first}"
    );
    assert_eq!(
        b.text_of("#levers li:nth-child(2)").await,
        "New plans 1.1 times the trend for authority 888"
    );
    b.screenshot("scenarios").await;
    assert_eq!(b.console_errors().await, Vec::<String>::new());
    assert_eq!(b.accessibility_violations().await, Vec::<Value>::new());
}

#[tokio::test]
async fn the_cabinet_report_gives_the_key_figures_with_their_sources_and_prints() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.sign_in(&server.base, &planner).await;
    b.open(&server.base, "/#/report").await;
    b.wait_for("#chart-report-special .uplot").await;
    let (_, api) = server
        .gql(
            Some(&planner),
            "{ forecast(filter: { authority: \"888\" }) { origin position runs
                 caseload { year plans { p10 p50 p90 } } } }",
            json!({}),
        )
        .await;
    let f = &api["data"]["forecast"];
    let origin = f["origin"].as_i64().unwrap();
    let in_three = f["caseload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["year"].as_i64() == Some(origin + 3))
        .unwrap();
    let key = table_rows(&b, "#key-figures").await;
    let three = key
        .iter()
        .find(|r| r[0] == "Forecast in three years")
        .unwrap();
    assert_eq!(
        three[1],
        format!(
            "{} ({} to {})",
            shown(&in_three["plans"]["p50"]),
            shown(&in_three["plans"]["p10"]),
            shown(&in_three["plans"]["p90"])
        )
    );
    // Every figure says where it came from: the event position and the forecast's runs.
    let sources = b.text_of("#sources").await;
    assert!(
        sources.contains(&format!("position {}", f["position"])),
        "{sources}"
    );
    assert!(
        sources.contains(&format!("{} runs", f["runs"])),
        "{sources}"
    );
    b.screenshot("report").await;
    // It prints: the browser makes a PDF of it (the print stylesheet drops the navigation).
    let pdf = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("report.pdf"), &pdf).unwrap();
    assert_eq!(b.console_errors().await, Vec::<String>::new());
    assert_eq!(b.accessibility_violations().await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_bad_token_is_told_in_words_with_its_code() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.open(&server.base, "/").await;
    b.wait_for("#token").await;
    b.fill("#token", "not-a-token").await;
    b.click("form.sign-in button").await;
    let error = b
        .wait_for("#error:not([hidden])")
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("UNAUTHENTICATED"), "{error}");
    // The 401 itself is the only console line: the page reported it, nothing broke.
    let errors = b.console_errors().await;
    assert!(errors.iter().all(|e| e.contains("401")), "{errors:?}");
}

#[tokio::test]
async fn graphiql_runs_from_vendored_assets_with_docs_for_a_signed_in_caller() {
    let db = Database::seeded();
    let analyst = db.token("analyst", Some("888"));
    let server = Server::start(&db.url);
    let b = Browser::start().await;
    b.sign_in(&server.base, &analyst).await;
    b.open(&server.base, "/graphiql").await;
    // The editor, and the docs explorer's schema (introspection with the token).
    b.wait_for(".graphiql-container").await;
    b.click("button[aria-label='Show Documentation Explorer']")
        .await;
    let docs = b.wait_for(".graphiql-doc-explorer").await;
    b.client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::XPath("//*[contains(text(), 'Query')]"))
        .await
        .unwrap();
    let text = docs.text().await.unwrap();
    assert!(text.contains("Query"), "{text}");
    b.screenshot("graphiql").await;
    assert_eq!(
        b.requests_elsewhere(&server.base).await,
        Vec::<String>::new()
    );
    assert_eq!(b.console_errors().await, Vec::<String>::new());
}

/// The workbook endpoint formats what a signed-in caller sends, and nothing else: no token
/// is 401, a malformed body or an empty book is a 400 with a code, and nothing is read.
#[tokio::test]
async fn the_workbook_endpoint_needs_a_token_and_a_well_formed_book() {
    use reqwest::Method;
    let db = Database::seeded();
    let analyst = db.token("analyst", Some("888"));
    let server = Server::start(&db.url);
    let json_ct = ("content-type", "application/json");
    let book = json!({ "sheets": [{ "name": "T", "columns": ["a"], "rows": [[1]] }] });
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/export.xlsx",
            &[json_ct],
            book.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("UNAUTHENTICATED"), "{body}");
    let bearer = format!("Bearer {analyst}");
    let auth = ("authorization", bearer.as_str());
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/export.xlsx",
            &[json_ct, auth],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("BAD_REQUEST"), "{body}");
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/export.xlsx",
            &[json_ct, auth],
            json!({ "sheets": [] }).to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("BAD_USER_INPUT"), "{body}");
    let (status, ct, _) = server
        .raw(
            Method::POST,
            "/export.xlsx",
            &[json_ct, auth],
            book.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/vnd.openxmlformats"), "{ct}");
}

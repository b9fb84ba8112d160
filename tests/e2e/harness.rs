//! Starts real `placeledger serve` processes on a copy of the seeded database and talks to
//! them over HTTP, as a planning tool would.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_placeledger");

/// The seeded pan-Lancashire database with its projections up to date, made once per build
/// of the binary and shared (copied) by every test.
fn template() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let meta = std::fs::metadata(BIN).unwrap();
    let stamp = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let db = dir.join(format!("e2e-seeded-{stamp}-{}.db", meta.len()));
    if db.exists() {
        return db;
    }
    let lock = dir.join("e2e-seeded.lock");
    let started = Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if db.exists() => return db,
            Err(_) if started.elapsed() > Duration::from_secs(240) => {
                // A test that made the template died: take over.
                let _ = std::fs::remove_file(&lock);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    // Released however this ends, so a failure here fails the other tests quickly too.
    struct Release(PathBuf);
    impl Drop for Release {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _release = Release(lock.clone());
    if db.exists() {
        return db;
    }
    let building = dir.join(format!("e2e-building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).unwrap();
    let url = format!("sqlite:{}", building.join("seeded.db").display());
    for args in [&["seed", "load"][..], &["projections", "update"][..]] {
        cli(&url, args);
    }
    // Every file of the database (WAL included) moves into place; the .db last, atomically.
    for suffix in ["-wal", "-shm"] {
        let from = building.join(format!("seeded.db{suffix}"));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", db.display())).unwrap();
        }
    }
    std::fs::rename(building.join("seeded.db"), &db).unwrap();
    let _ = std::fs::remove_dir_all(&building);
    db
}

/// A copy of the seeded database in a temporary directory.
pub struct Database {
    /// Kept so the directory lives as long as the database.
    _dir: tempfile::TempDir,
    pub url: String,
}

impl Database {
    pub fn seeded() -> Database {
        let template = template();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("placeledger.db");
        std::fs::copy(&template, &path).unwrap();
        let wal = PathBuf::from(format!("{}-wal", template.display()));
        if wal.exists() {
            std::fs::copy(&wal, format!("{}-wal", path.display())).unwrap();
        }
        let url = format!("sqlite:{}", path.display());
        Database { _dir: dir, url }
    }

    /// A new token's secret.
    pub fn token(&self, role: &str, authority: Option<&str>) -> String {
        token(&self.url, role, authority)
    }
}

/// A new token's secret, created in the store at `url`.
pub fn token(url: &str, role: &str, authority: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--role", role];
    if let Some(a) = authority {
        args.extend(["--authority", a]);
    }
    cli(url, &args).trim().to_owned()
}

/// Runs the CLI from the repository root (where `seeds/` is) on `url`: what it printed.
pub fn cli(url: &str, args: &[&str]) -> String {
    cli_said(url, args).0
}

/// Runs the CLI as [`cli`] does: what it printed on stdout and on stderr.
pub fn cli_said(url: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("PLACELEDGER_DATABASE_URL", url)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `placeledger serve`; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
}

impl Server {
    pub fn start(url: &str) -> Server {
        Server::start_with(url, &[])
    }

    /// Starts a server with more `serve` flags.
    pub fn start_with(url: &str, flags: &[&str]) -> Server {
        let mut command = Command::new(BIN);
        command.env("PLACELEDGER_DATABASE_URL", url);
        Server::spawn(command, flags)
    }

    /// Starts a server in `dir` on its default database (`./data/placeledger.db` there).
    pub fn start_in(dir: &std::path::Path) -> Server {
        let mut command = Command::new(BIN);
        command
            .current_dir(dir)
            .env_remove("PLACELEDGER_DATABASE_URL");
        Server::spawn(command, &[])
    }

    fn spawn(mut command: Command, flags: &[&str]) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("GraphQL:") {
                    let addr = rest.trim().trim_start_matches("http://");
                    let addr = addr.split('/').next().unwrap_or_default().to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(150))
            .expect("the server printed its address");
        Server {
            child,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most memory the server has held so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    }

    /// CPU time the server has used so far (user and system), in seconds (USER_HZ is 100 on
    /// Linux).
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the command name (which is in parentheses): utime is the 12th, stime
        // the 13th.
        let rest = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }

    /// Kills the server at once (SIGKILL: no shutdown, no flush) and waits for it to go.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A client of this server's address that outlives it (a crash test kills the server
    /// under its clients).
    pub fn client_for(base: &str) -> ApiClient {
        ApiClient {
            base: base.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// POSTs a GraphQL request as `application/json`; returns the status and the body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let req = graphql_request(&self.client, &self.base, token, query, variables);
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, body)
    }

    /// A raw request: method, path, headers, body; returns status, content type and body.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, String, String) {
        // A connection of its own: a refused request (413 before its body is read) leaves the
        // server closing the connection, which a pooled client would reuse and find broken.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let mut req = client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.body(body).send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, res.text().await.unwrap())
    }
}

/// A GraphQL POST of `query` to the server at `base`, with a bearer token if given.
fn graphql_request(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> reqwest::RequestBuilder {
    let req = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string());
    match token {
        Some(t) => req.header("authorization", format!("Bearer {t}")),
        None => req,
    }
}

/// A GraphQL client of one server address.
pub struct ApiClient {
    base: String,
    client: reqwest::Client,
}

impl ApiClient {
    /// A request the server answered (its body), or `Err` when it never answered (it died,
    /// the connection broke).
    pub async fn try_gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let req = graphql_request(&self.client, &self.base, token, query, variables);
        let res = req.send().await.map_err(|e| e.to_string())?;
        let text = res.text().await.map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `extensions.code` of the first error, if any.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// A GraphQL-over-WebSocket client speaking either subprotocol.
pub struct Ws {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// `graphql-transport-ws` or the legacy `graphql-ws`.
    pub protocol: &'static str,
}

impl Ws {
    /// Connects and sends `connection_init` with `payload`; returns the client and the
    /// server's answer to it (`connection_ack`, or an error and a close).
    pub async fn connect(server: &Server, protocol: &'static str, payload: Value) -> (Ws, Value) {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut ws = Ws { socket, protocol };
        ws.socket
            .send(
                json!({ "type": "connection_init", "payload": payload })
                    .to_string()
                    .into(),
            )
            .await
            .unwrap();
        let answer = ws.next().await;
        (ws, answer)
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        use futures::SinkExt;
        let ty = if self.protocol == "graphql-ws" {
            "start"
        } else {
            "subscribe"
        };
        self.socket
            .send(
                json!({ "id": id, "type": ty, "payload": { "query": query, "variables": variables } })
                    .to_string()
                    .into(),
            )
            .await
            .unwrap();
    }

    /// The next message that is not a keep-alive; `Null` when the socket closes.
    pub async fn next(&mut self) -> Value {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(120), self.socket.next())
                .await
                .expect("a message within two minutes");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                        continue;
                    }
                    return v;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Value::Null,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The socket's close code, if the server closes it within `wait`.
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.socket.next()).await.ok()? {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    }

    /// The next message that is not a keep-alive, if one comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, self.next()).await.ok()
    }

    /// The data of the next `next` (or legacy `data`) message for a subscription.
    pub async fn data(&mut self) -> Value {
        let v = self.next().await;
        let ty = if self.protocol == "graphql-ws" {
            "data"
        } else {
            "next"
        };
        assert_eq!(v["type"], ty, "{v}");
        assert!(v["payload"]["errors"].is_null(), "{v}");
        v["payload"]["data"].clone()
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

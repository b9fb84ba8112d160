//! `placeledger`: the one command every part of Placeledger is reached through.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use futures::StreamExt;
use placeledger_store::{EventStore, StoredEvent, subscribe};
use tracing_subscriber::EnvFilter;

mod forecast;
mod import;
mod projections;
mod scenario;
mod seed;
mod serve;

/// Placeledger: school-place and SEND sufficiency planning for English local authorities.
/// mimalloc: folding and forecasting allocate many small values, and glibc's malloc spent a
/// quarter of a projection rebuild consolidating free chunks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "placeledger", version, about)]
struct Cli {
    /// The database: `sqlite:PATH` (the embedded default) or `postgres://...` (shared).
    #[arg(
        long,
        global = true,
        env = "PLACELEDGER_DATABASE_URL",
        default_value = "sqlite:./data/placeledger.db"
    )]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The database itself.
    #[command(subcommand)]
    Db(DbCommand),
    /// The event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Imports a file in its published or documented layout: every row is checked first,
    /// every problem is reported as `file:line: column: what`, and a file with any problem
    /// imports nothing. A valid file imports in one transaction; importing it again records
    /// nothing new.
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: std::path::PathBuf,
        /// Register the authorities a DfE file names that are not registered yet, from the
        /// file's own codes and names (a unitary as its own single district). Without it, a
        /// file naming an unregistered authority imports nothing and says which.
        #[arg(long)]
        register: bool,
    },
    /// Authorities and districts.
    #[command(subcommand)]
    Geography(GeographyCommand),
    /// The synthetic pan-Lancashire history (2015 to January 2026) and its check against
    /// the real DfE and ONS figures.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// The read models folded from the event log.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// The place sufficiency forecast and its back-test.
    #[command(subcommand)]
    Forecast(ForecastCommand),
    /// Forecast scenarios: create one, add or remove its levers, list them.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Data-sharing agreements between authorities.
    #[command(subcommand)]
    Sharing(SharingCommand),
    /// Serves the GraphQL API (and GraphiQL) until interrupted.
    Serve {
        /// The address to listen on.
        #[arg(long, env = "PLACELEDGER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Create and print development tokens (one per role) on start.
        #[arg(long)]
        dev_tokens: bool,
        /// Requests a second each token may make (bursts of twice as many); beyond it,
        /// HTTP 429 with `RATE_LIMITED`.
        #[arg(long, env = "PLACELEDGER_RATE_LIMIT", default_value_t = 100.0)]
        rate_limit: f64,
        /// Seconds between publications of each authority's protected figures to its
        /// partners (periods start at multiples of it since 1970-01-01 UTC: a day by default).
        #[arg(long, env = "PLACELEDGER_PUBLISH_EVERY", default_value_t = 86_400,
              value_parser = clap::value_parser!(u64).range(1..))]
        publish_every: u64,
    },
    /// API bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The GraphQL schema.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Creates a token and prints its secret (once: only its hash is stored).
    Create {
        /// admin, planner, analyst or partner.
        #[arg(long)]
        role: String,
        /// The DfE LA code the token acts for (every role but admin).
        #[arg(long)]
        authority: Option<String>,
        /// Who or what the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revokes a token by its id (`tok_...`).
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// Prints the schema (SDL), as `schema/graphql/schema.graphql` holds it.
    Print,
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// Creates a scenario (an id planners can type: `more-rp-2027`).
    Create {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        author: String,
        /// The authority the scenario belongs to.
        #[arg(long)]
        authority: String,
        /// A scenario of the same authority whose levers this one starts from.
        #[arg(long)]
        base: Option<String>,
        /// The date it is created (default: today).
        #[arg(long)]
        on: Option<chrono::NaiveDate>,
    },
    /// Adds a lever, given as its JSON form (see the README).
    AddLever { id: String, lever: String },
    /// Takes off the lever at INDEX (as `scenario list` numbers them).
    RemoveLever { id: String, index: u32 },
    /// Every scenario with its levers.
    List,
}

#[derive(Debug, Subcommand)]
enum SharingCommand {
    /// Records that AUTHORITY shares data with PARTNER.
    Agree {
        #[arg(long)]
        authority: String,
        #[arg(long)]
        partner: String,
        /// What is shared: placements, capacity, caseload, sufficiency, spare_places.
        #[arg(long, value_delimiter = ',', required = true)]
        shares: Vec<String>,
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
    },
    /// Ends an agreement on a date.
    End {
        #[arg(long)]
        authority: String,
        #[arg(long)]
        partner: String,
        #[arg(long)]
        on: chrono::NaiveDate,
    },
    /// Every agreement.
    List,
}

/// How a forecast is made: shared by `run` and `backtest`.
#[derive(Debug, clap::Args)]
struct ForecastArgs {
    /// Years of flows the rates are estimated from.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=10))]
    window: u8,
    /// Simulation runs behind each P10 / P50 / P90.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    runs: u32,
    /// The seed of the runs: the same seed gives the same forecast.
    #[arg(long, default_value_t = 2015)]
    seed: u64,
    /// How much of the authority's own trend in incidence carries from one forecast year to
    /// the next (1: undamped). England's trend, where a total follows it, is not damped.
    #[arg(long, default_value_t = 0.8)]
    damping: f64,
    /// Output: a table to paste into a report, CSV, or JSON.
    #[arg(long, value_enum, default_value_t = forecast::Format::Table)]
    format: forecast::Format,
    /// Inflation a year on costs, in percent, from each authority's price base (the
    /// financial year of its latest cost on record). Default: none, prices stay at the base.
    #[arg(long, default_value_t = 0.0, value_parser = parse_inflation)]
    inflation: f64,
    /// Home-to-school transport a year per child in a kind of place, at the price base:
    /// KIND=GBP (such as special=7500), once per kind.
    #[arg(long, value_parser = parse_transport)]
    transport: Vec<(placeledger_forecast::PlaceKind, rust_decimal::Decimal)>,
}

/// A yearly inflation rate in percent for `--inflation`: -20 to 50.
fn parse_inflation(s: &str) -> Result<f64, String> {
    let pct: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (such as 3.5)"))?;
    if !(-20.0..=50.0).contains(&pct) {
        return Err(format!(
            "{pct}: inflation must be from -20 to 50 percent a year"
        ));
    }
    Ok(pct)
}

/// A yearly growth in percent for `--allocation-growth`: -20 to 50.
fn parse_growth(s: &str) -> Result<f64, String> {
    parse_inflation(s).map_err(|_| format!("{s:?}: growth must be a percentage from -20 to 50"))
}

/// `KIND=GBP` for `--transport`.
fn parse_transport(
    s: &str,
) -> Result<(placeledger_forecast::PlaceKind, rust_decimal::Decimal), String> {
    let (kind, cost) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KIND=GBP (such as special=7500)"))?;
    let kind = placeledger_forecast::PlaceKind::parse(kind).ok_or_else(|| {
        format!(
            "{kind:?} is not a kind of place: {}",
            placeledger_forecast::PlaceKind::ALL
                .map(|k| k.code())
                .join(", ")
        )
    })?;
    let cost: rust_decimal::Decimal = cost
        .parse()
        .map_err(|_| format!("{cost:?} is not an amount in pounds"))?;
    if cost < rust_decimal::Decimal::ZERO {
        return Err(format!("{cost}: a cost is never negative"));
    }
    Ok((kind, cost))
}

#[derive(Debug, Subcommand)]
enum ForecastCommand {
    /// Forecasts demand for places against capacity per district, kind, phase and year.
    Run {
        /// Only this authority's rows (the forecast still meets demand across partners).
        #[arg(long)]
        authority: Option<String>,
        /// Forecast with this scenario's levers (default: the baseline).
        #[arg(long)]
        scenario: Option<String>,
        /// Years ahead (SEND: 10).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=25))]
        horizon: u8,
        #[command(flatten)]
        args: ForecastArgs,
    },
    /// What a scenario changes against another (or the baseline): every cell that differs,
    /// and the cost over the horizon.
    Compare {
        #[arg(long)]
        scenario: String,
        /// The scenario to compare against (default: the baseline).
        #[arg(long)]
        against: Option<String>,
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=25))]
        horizon: u8,
        #[command(flatten)]
        args: ForecastArgs,
    },
    /// Forecasts from past origins with only what was known then, against the Januaries that
    /// followed, beside the last-value and compound-growth baselines.
    Backtest {
        /// Show the forecasts from this origin year by year: the last January the forecast
        /// may see (everything known by then); the summary covers every origin with enough
        /// history.
        #[arg(long)]
        origin: Option<i32>,
        /// The pooled track record over every authority in the store: per horizon, each
        /// method's MAPE, median APE, bias and (the model's) P10-P90 coverage, side by side
        /// (with --format csv: every authority's forecasts, one per line).
        #[arg(long, conflicts_with = "origin")]
        all: bool,
        /// With --all: pool only these origins (e.g. 2021,2022,2023); every origin with
        /// enough history otherwise.
        #[arg(long, requires = "all", value_delimiter = ',')]
        origins: Vec<i32>,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=10))]
        horizon: u8,
        #[command(flatten)]
        args: ForecastArgs,
    },
    /// How one cell of the forecast was made: plans, rates, residents, the children keeping
    /// their placement and the new ones, the allocation steps, the cost rate and the
    /// placement types behind it, the sources and the warnings.
    Explain {
        /// DfE LA code.
        #[arg(long)]
        authority: String,
        /// GSS code of the district.
        #[arg(long)]
        district: String,
        /// The January.
        #[arg(long)]
        year: i32,
        /// nursery, primary, secondary or post_16.
        #[arg(long)]
        phase: String,
        /// The kind of place (such as special).
        #[arg(long)]
        kind: String,
        /// Of this scenario (default: the baseline).
        #[arg(long)]
        scenario: Option<String>,
        #[command(flatten)]
        args: ForecastArgs,
    },
    /// The High Needs Block view: forecast spend on placements per financial year against
    /// the allocation, the in-year gap and the cumulative DSG balance, with where each
    /// figure comes from and warnings.
    HighNeeds {
        /// DfE LA code (every authority if absent).
        #[arg(long)]
        authority: Option<String>,
        /// How much an allocation carried forward grows a year, in percent (-20 to 50;
        /// default 0: in cash).
        #[arg(long, default_value_t = 0.0, value_parser = parse_growth)]
        allocation_growth: f64,
        /// Of this scenario (default: the baseline).
        #[arg(long)]
        scenario: Option<String>,
        #[command(flatten)]
        args: ForecastArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Folds a projection (or all) again from position 0 and saves it.
    Rebuild {
        /// The projection (all if absent).
        name: Option<String>,
    },
    /// Brings a projection (or all) up to the head of the log from its saved position.
    Update {
        /// The projection (all if absent).
        name: Option<String>,
    },
    /// Each projection's saved position against the head of the log.
    Status,
}

#[derive(Debug, Subcommand)]
enum SeedCommand {
    /// Generates the history and records it in one transaction (again: records nothing).
    Load {
        /// The RNG seed: the same seed always gives the same history.
        #[arg(long, default_value_t = placeledger_seed::DEFAULT_SEED)]
        seed: u64,
        /// The reference figures the history is calibrated to: a directory laid out as
        /// seeds/reference/ (default: the copies built into the binary; with --national,
        /// ./seeds/reference).
        #[arg(long)]
        reference: Option<std::path::PathBuf>,
        /// Every English authority's synthetic history instead of pan-Lancashire's, generated
        /// authority by authority from DfE's national files and appended one authority per
        /// transaction (PostgreSQL writes them by COPY).
        #[arg(long)]
        national: bool,
        /// With --national: only the first N authorities (in DfE code order).
        #[arg(long, requires = "national")]
        authorities: Option<usize>,
    },
    /// Compares what the database holds with the real figures, per authority and year;
    /// fails if any figure is out of tolerance.
    Check {
        /// The reference figures to compare with: a directory laid out as seeds/reference/
        /// (default: the copies built into the binary).
        #[arg(long)]
        reference: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportKind {
    /// ONS sub-national population projections, persons, wide layout.
    OnsSnpp,
    /// DfE "Education, health and care plans" open data: caseload, new plans, requests,
    /// assessments, 20-week timeliness, ceased plans or annual reviews.
    DfeEhcp,
    /// Children with plans and placements, Placeledger's layout (see the README).
    Children,
    /// Settings with capacity and commissioned places, Placeledger's layout (see the README).
    Settings,
    /// High Needs Block allocations and DSG balances, Placeledger's layout (see the README).
    HighNeeds,
    /// ONS's local authority district to county and unitary authority lookup (England's
    /// authorities and districts).
    Geography,
    /// Planning areas: planning_area, district, phase, name (see the README).
    PlanningAreas,
}

#[derive(Debug, Subcommand)]
enum GeographyCommand {
    /// Registers England's county and unitary authorities (under their DfE LA codes) and
    /// their districts from ONS's local authority district to county and unitary authority
    /// lookup (seeds/reference/ons/ has April 2025's); what is registered is left as it is.
    Import { file: std::path::PathBuf },
    /// Registers planning areas (the groups of schools mainstream places are planned by)
    /// from a CSV of planning_area, district, phase and name; those already registered in
    /// the same district are left as they are.
    PlanningAreas { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Creates the database if missing and applies every migration in `schema/`.
    Migrate,
    /// Prints the backend and the highest committed position.
    Status,
    /// Writes a consistent copy of the SQLite database to FILE (a new file), safe while the
    /// service runs. Copying `placeledger.db` alone is not: its last writes may be in the
    /// `-wal` file beside it. PostgreSQL: use pg_dump.
    Backup { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Prints events after a position as JSON lines, in position order.
    Tail {
        /// Print events after this position (0: from the start).
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Keep printing new events as they commit, until interrupted.
        #[arg(long)]
        follow: bool,
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `placeledger seed load|check`.
async fn seed_command(
    store: std::sync::Arc<dyn EventStore>,
    command: SeedCommand,
) -> anyhow::Result<()> {
    match command {
        SeedCommand::Load {
            seed,
            reference,
            national: false,
            ..
        } => {
            seed::load(store, &seed::files(reference), seed).await?;
        }
        SeedCommand::Load {
            seed,
            reference,
            national: true,
            authorities,
        } => {
            let dir = reference.unwrap_or_else(|| "seeds/reference".into());
            seed::load_national(
                store,
                &placeledger_seed::ReferenceFiles::Dir(dir),
                seed,
                authorities,
            )
            .await?;
        }
        SeedCommand::Check { reference } => seed::check(store, &seed::files(reference)).await?,
    }
    Ok(())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("PLACELEDGER_LOG")
                .unwrap_or_else(|_| EnvFilter::new("warn,sqlx::query=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Schema(SchemaCommand::Print) = cli.command {
        // The schema is the code's: no database needed.
        print!("{}", placeledger_api::sdl());
        return Ok(());
    }
    let backend = placeledger_app::Backend::connect(&cli.database_url)
        .await
        .with_context(|| format!("opening the database at {}", redact(&cli.database_url)))?;
    let store = backend.events.clone();
    match cli.command {
        Command::Db(DbCommand::Migrate) => {
            let head = store.head_position().await?;
            println!(
                "{}: migrations applied; head position {head}",
                store.backend()
            );
        }
        Command::Db(DbCommand::Backup { file }) => {
            match placeledger_store::open(&cli.database_url).await? {
                placeledger_store::Opened::Sqlite(sqlite) => {
                    sqlite.backup_to(&file).await?;
                    let copy = placeledger_store::connect(&format!("sqlite:{}", file.display()))
                        .await?
                        .head_position()
                        .await?;
                    println!("backed up to {}: head position {copy}", file.display());
                }
                placeledger_store::Opened::Postgres(_) => {
                    anyhow::bail!("db backup copies a SQLite database; for PostgreSQL use pg_dump")
                }
            }
        }
        Command::Db(DbCommand::Status) => {
            let head = store.head_position().await?;
            println!("backend: {}\nhead position: {head}", store.backend());
        }
        Command::Events(EventsCommand::Tail {
            from,
            follow,
            limit,
        }) => tail(store, from, follow, limit).await?,
        Command::Import {
            kind,
            file,
            register,
        } => import::run(store, kind, &file, register).await?,
        Command::Geography(GeographyCommand::PlanningAreas { file }) => {
            import::run(store, ImportKind::PlanningAreas, &file, false).await?;
        }
        Command::Geography(GeographyCommand::Import { file }) => {
            import::run(store, ImportKind::Geography, &file, false).await?;
        }
        Command::Seed(command) => seed_command(store, command).await?,
        Command::Projections(ProjectionsCommand::Rebuild { name }) => {
            projections::run(store, name.as_deref(), true).await?;
        }
        Command::Projections(ProjectionsCommand::Update { name }) => {
            projections::run(store, name.as_deref(), false).await?;
        }
        Command::Projections(ProjectionsCommand::Status) => projections::status(store).await?,
        Command::Forecast(ForecastCommand::Run {
            authority,
            scenario,
            horizon,
            args,
        }) => {
            let options = forecast_options(&args, horizon);
            forecast::run(
                store,
                options,
                scenario.as_deref(),
                authority.as_deref(),
                args.format,
            )
            .await?
        }
        Command::Forecast(ForecastCommand::Compare {
            scenario,
            against,
            horizon,
            args,
        }) => {
            let options = forecast_options(&args, horizon);
            forecast::compare(store, options, &scenario, against.as_deref(), args.format).await?
        }
        Command::Scenario(ScenarioCommand::Create {
            id,
            name,
            author,
            authority,
            base,
            on,
        }) => {
            let on = on.unwrap_or_else(|| chrono::Local::now().date_naive());
            scenario::create(store, &id, &name, &author, &authority, base.as_deref(), on).await?
        }
        Command::Scenario(ScenarioCommand::AddLever { id, lever }) => {
            scenario::add_lever(store, &id, &lever).await?
        }
        Command::Scenario(ScenarioCommand::RemoveLever { id, index }) => {
            scenario::remove_lever(store, &id, index).await?
        }
        Command::Scenario(ScenarioCommand::List) => scenario::list(store).await?,
        Command::Sharing(SharingCommand::Agree {
            authority,
            partner,
            shares,
            from,
            until,
        }) => scenario::agree(store, &authority, &partner, &shares, from, until).await?,
        Command::Sharing(SharingCommand::End {
            authority,
            partner,
            on,
        }) => scenario::end(store, &authority, &partner, on).await?,
        Command::Sharing(SharingCommand::List) => scenario::agreements(store).await?,
        Command::Serve {
            listen,
            dev_tokens,
            rate_limit,
            publish_every,
        } => {
            let every = std::time::Duration::from_secs(publish_every);
            serve::serve(backend, listen, dev_tokens, rate_limit, every).await?;
        }
        Command::Token(TokenCommand::Create {
            role,
            authority,
            label,
        }) => serve::create_token(&*backend.access, &role, authority.as_deref(), &label).await?,
        Command::Token(TokenCommand::Revoke { id }) => {
            serve::revoke_token(&*backend.access, &id).await?
        }
        Command::Schema(SchemaCommand::Print) => unreachable!("answered before the database opens"),
        Command::Forecast(ForecastCommand::Backtest {
            origin,
            all,
            origins,
            horizon,
            args,
        }) => {
            let options = forecast_options(&args, horizon);
            let scope = forecast::Scope {
                origin,
                all,
                origins,
            };
            forecast::backtest(store, scope, horizon, options, args.format).await?
        }
        Command::Forecast(ForecastCommand::Explain {
            authority,
            district,
            year,
            phase,
            kind,
            scenario,
            args,
        }) => {
            let options = forecast_options(&args, 10);
            let cell = forecast::Cell {
                authority: &authority,
                district: &district,
                year,
                phase: &phase,
                kind: &kind,
            };
            forecast::explain(store, options, cell, scenario.as_deref(), args.format).await?
        }
        Command::Forecast(ForecastCommand::HighNeeds {
            authority,
            allocation_growth,
            scenario,
            args,
        }) => {
            let options = forecast_options(&args, 10);
            let ask = forecast::HighNeedsAsk {
                authority: authority.as_deref(),
                scenario: scenario.as_deref(),
                allocation_growth: allocation_growth / 100.0,
            };
            forecast::high_needs(store, options, ask, args.format).await?
        }
    }
    Ok(())
}

async fn tail(
    store: std::sync::Arc<dyn EventStore>,
    from: u64,
    follow: bool,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = std::io::stdout().lock();
    let mut printed = 0;
    if follow {
        let mut events = subscribe(store, from);
        loop {
            tokio::select! {
                next = events.next() => match next {
                    Some(event) => {
                        print_event(&mut out, &event?)?;
                        out.flush()?;
                        printed += 1;
                        if printed >= limit {
                            return Ok(());
                        }
                    }
                    None => return Ok(()),
                },
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    }
    let mut after = from;
    while printed < limit {
        let batch = store.read_all(after, 1_000.min(limit - printed)).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for event in &batch {
            print_event(&mut out, event)?;
        }
        printed += batch.len();
    }
    Ok(())
}

fn print_event(out: &mut impl Write, e: &StoredEvent) -> anyhow::Result<()> {
    let line = serde_json::json!({
        "position": e.position,
        "stream_id": e.stream_id,
        "stream_version": e.stream_version,
        "event_id": e.event_id,
        "event_type": e.event_type,
        "schema_version": e.schema_version,
        "recorded_at": e.recorded_at,
        "correlation_id": e.metadata.correlation_id,
        "causation_id": e.metadata.causation_id,
        "actor": e.metadata.actor,
        "payload": e.payload,
    });
    writeln!(out, "{line}")?;
    Ok(())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn forecast_options(args: &ForecastArgs, horizon: u8) -> placeledger_forecast::Options {
    placeledger_forecast::Options {
        horizon,
        window: args.window,
        runs: args.runs,
        seed: args.seed,
        damping: args.damping,
        inflation: args.inflation / 100.0,
        transport: args.transport.clone(),
        ..placeledger_forecast::Options::default()
    }
}

//! The dependency rules of ARCHITECTURE.md, as data. `tests/it` checks the real dependency
//! graph (`cargo metadata`) against them, so a rule is enforced, not hoped for.

/// A rule: `package`'s normal (non-dev) dependencies, direct or transitive, include none of
/// `forbidden`.
#[derive(Debug)]
pub struct Rule {
    pub package: &'static str,
    pub forbidden: &'static [&'static str],
    pub why: &'static str,
}

/// Crates that mean async, I/O, a database or a web stack.
const RUNTIME: &[&str] = &[
    "tokio",
    "async-std",
    "mio",
    "futures",
    "sqlx",
    "sqlx-core",
    "hyper",
    "axum",
    "async-graphql",
    "reqwest",
];

pub const RULES: &[Rule] = &[
    Rule {
        package: "placeledger-domain",
        forbidden: RUNTIME,
        why: "the domain is pure: no async, no I/O, no database",
    },
    Rule {
        package: "placeledger-domain",
        forbidden: &["serde_json"],
        why: "the stored format of events belongs to placeledger-codec, not the domain",
    },
    Rule {
        package: "placeledger-codec",
        forbidden: RUNTIME,
        why: "the stored form of events is pure data conversion",
    },
    Rule {
        package: "placeledger-import",
        forbidden: RUNTIME,
        why: "importers turn bytes into commands: synchronous, no database, no I/O of their own",
    },
    Rule {
        package: "placeledger-seed",
        forbidden: RUNTIME,
        why: "the seed generator and check are synchronous: reference files in, commands and a table out; no runtime, no database",
    },
    Rule {
        package: "placeledger-projection",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-caseload",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-capacity",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-mainstream",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-costs",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-sharing",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-scenarios",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-placements",
        forbidden: RUNTIME,
        why: "a projection is a pure fold; only the runner touches the store",
    },
    Rule {
        package: "placeledger-forecast",
        forbidden: RUNTIME,
        why: "the forecast engine is pure: projections in, a forecast out; no runtime, no database",
    },
    Rule {
        package: "placeledger-app",
        forbidden: &["axum", "async-graphql", "async-graphql-axum", "hyper"],
        why: "the application's use cases know no transport: GraphQL and HTTP are the API's",
    },
    Rule {
        package: "placeledger-store",
        forbidden: &[
            "placeledger-domain",
            "placeledger-codec",
            "axum",
            "async-graphql",
            "hyper",
        ],
        why: "the store keeps events of any kind and knows no domain and no web stack",
    },
];

/// Only these packages may depend on axum: the HTTP edge, the binary that serves it, and the
/// benchmark that runs it in-process.
pub const AXUM_ALLOWED: &[&str] = &["placeledger-cli", "placeledger-api", "placeledger-bench"];

/// Only these packages may depend on the GraphQL API (`placeledger-api`): the binary that
/// serves it and the benchmark that runs it in-process. Everything else reaches the use cases
/// through `placeledger-app`.
pub const API_ALLOWED: &[&str] = &["placeledger-cli", "placeledger-bench"];

/// Words the event store's code never uses (comments aside): tokens, roles and the audit log
/// are the application's, kept through its own storage trait.
pub const STORE_KNOWS_NOT: &[&str] = &["token", "audit", "role"];

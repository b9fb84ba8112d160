//! The `placeledger` binary, driven as a person or a script would.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use placeledger_store::{ExpectedVersion, NewEvent, StreamId};
use serde_json::{Value, json};

fn placeledger(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_placeledger"));
    c.env("PLACELEDGER_DATABASE_URL", url);
    c
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!(
        "sqlite:{}",
        dir.path().join("data/placeledger.db").display()
    )
}

async fn seed(url: &str, n: usize) {
    let store = placeledger_store::connect(url).await.unwrap();
    let events = (0..n)
        .map(|i| NewEvent::new("Tested", 1, json!({"type": "Tested", "n": i})))
        .collect();
    store
        .append(&StreamId::parse("s").unwrap(), ExpectedVersion::Any, events)
        .await
        .unwrap();
}

#[test]
fn db_migrate_creates_the_database_and_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = placeledger(&sqlite_url(&dir))
        .args(["db", "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sqlite: migrations applied; head position 0"
    );
    assert!(dir.path().join("data/placeledger.db").exists());
    // Twice is fine: migrations already applied are skipped.
    let again = placeledger(&sqlite_url(&dir))
        .args(["db", "status"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("head position: 0"));
}

#[tokio::test]
async fn events_tail_prints_json_lines_from_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    seed(&url, 5).await;
    let out = placeledger(&url)
        .args(["events", "tail", "--from", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let positions: Vec<u64> = lines
        .iter()
        .map(|l| l["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, vec![3, 4, 5]);
    assert_eq!(lines[0]["stream_id"], "s");
    assert_eq!(lines[0]["event_type"], "Tested");
    assert_eq!(lines[0]["payload"]["n"], 2);

    let limited = placeledger(&url)
        .args(["events", "tail", "--limit", "2"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&limited.stdout).lines().count(), 2);
}

#[tokio::test]
async fn events_tail_follow_prints_new_events_as_they_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    seed(&url, 1).await;
    let mut child = placeledger(&url)
        .args(["events", "tail", "--follow", "--limit", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["position"], 1);
    // Appended by another process-like handle after the tail started.
    seed(&url, 2).await;
    let rest: Vec<u64> = lines
        .take(2)
        .map(|l| {
            serde_json::from_str::<Value>(&l.unwrap()).unwrap()["position"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(rest, vec![2, 3]);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let out = placeledger("mysql://user:secret@localhost/x")
        .args(["db", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported database URL scheme \"mysql\""),
        "{err}"
    );
    assert!(
        err.contains("user:***@"),
        "the password is not printed: {err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn postgres_url_selects_postgres() {
    let url = std::env::var("PLACELEDGER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("cli_{}", uuid::Uuid::new_v4().simple());
    let status = Command::new("psql")
        .args([&url, "-qc", &format!("CREATE SCHEMA {schema}")])
        .status();
    // psql is a convenience here; the store's own suite covers PostgreSQL without it.
    if !status.is_ok_and(|s| s.success()) {
        panic!("could not create a schema on {url} with psql");
    }
    let scoped = format!("{url}?options=-csearch_path%3D{schema}");
    let out = placeledger(&scoped)
        .args(["db", "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("postgres: migrations applied"));
    let _ = Command::new("psql")
        .args([&url, "-qc", &format!("DROP SCHEMA {schema} CASCADE")])
        .status();
}

mod import {
    use super::*;
    use placeledger_domain::{AuthorityCode, Command as DomainCommand, GssCode};
    use placeledger_ledger::{Context, Ledger};

    fn import(url: &str, kind: &str, file: &std::path::Path) -> std::process::Output {
        placeledger(url)
            .arg("import")
            .arg(kind)
            .arg(file)
            .output()
            .unwrap()
    }

    fn import_ons(url: &str, file: &std::path::Path) -> std::process::Output {
        import(url, "ons-snpp", file)
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../seeds/reference")
            .join(name)
    }

    /// Registers the three authorities and their 14 areas, as the seed history does.
    async fn pan_lancashire(url: &str) -> std::sync::Arc<dyn placeledger_store::EventStore> {
        let store = placeledger_store::connect(url).await.unwrap();
        let mut commands = Vec::new();
        for (la, gss, name) in [
            ("888", "E10000017", "Lancashire"),
            ("889", "E06000008", "Blackburn with Darwen"),
            ("890", "E06000009", "Blackpool"),
        ] {
            commands.push(DomainCommand::RegisterAuthority {
                authority: AuthorityCode::parse(la).unwrap(),
                gss: GssCode::parse(gss).unwrap(),
                name: name.into(),
            });
        }
        let districts = (117..=128)
            .map(|n| ("888", format!("E07000{n}")))
            .chain([("889", "E06000008".into()), ("890", "E06000009".into())]);
        for (la, gss) in districts {
            commands.push(DomainCommand::RegisterDistrict {
                district: GssCode::parse(&gss).unwrap(),
                authority: AuthorityCode::parse(la).unwrap(),
                name: gss.clone(),
            });
        }
        let mut ledger = Ledger::open(store.clone()).await.unwrap();
        ledger
            .execute(&commands, &Context::actor("test"))
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn ons_snpp_imports_once_and_a_reimport_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        let file = fixture("ons-snpp-2022-persons-pan-lancs-ages-0-25.csv");

        let out = import_ons(&url, &file);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("364 rows, 9464 facts: 9464 new events recorded, 0 already stored"),
            "{stdout}"
        );
        let head = store.head_position().await.unwrap();
        assert_eq!(head, 17 + 9464);
        let imported = store.read_all(17, 1).await.unwrap();
        assert_eq!(
            imported[0].metadata.actor.as_deref(),
            Some("import:ons-snpp")
        );

        let again = import_ons(&url, &file);
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(
            String::from_utf8_lossy(&again.stdout)
                .contains("0 new events recorded, 9464 already stored"),
            "{}",
            String::from_utf8_lossy(&again.stdout)
        );
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "re-import appends 0 events"
        );
    }

    #[tokio::test]
    async fn dfe_caseload_imports_the_published_totals_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        let head = store.head_position().await.unwrap();
        let file = fixture("dfe/sen_needs_all_plans.csv");
        let run = || import(&url, "dfe-ehcp", &file);
        let out = run();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        // England's total, and one caseload per authority.
        assert!(
            stdout.contains("4 facts: 4 new events recorded"),
            "{stdout}"
        );
        let events = store.read_all(head, 10).await.unwrap();
        assert_eq!(events.len(), 4);
        for e in &events {
            let event =
                placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload).unwrap();
            if let placeledger_domain::Event::NationalCaseloadRecorded { census, plans } = &event {
                assert_eq!((census.to_string().as_str(), *plans), ("2024/25", 638_745));
                continue;
            }
            let placeledger_domain::Event::CaseloadRecorded {
                authority, cells, ..
            } = event
            else {
                panic!("{event:?}")
            };
            let total = cells
                .iter()
                .find(|c| c.age.is_none() && c.need.is_none() && c.kind.is_none())
                .and_then(|c| c.plans);
            let published = match authority.as_str() {
                "888" => 12_317,
                "889" => 1_522,
                "890" => 1_661,
                other => panic!("{other}"),
            };
            assert_eq!(total, Some(published), "authority {authority}");
        }
        let again = run();
        assert!(again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stdout)
                .contains("0 new events recorded, 4 already stored"),
            "{}",
            String::from_utf8_lossy(&again.stdout)
        );
        assert_eq!(
            store.head_position().await.unwrap(),
            head + 4,
            "re-import appends 0 events"
        );
    }

    #[tokio::test]
    async fn a_file_with_any_problem_imports_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        let head = store.head_position().await.unwrap();
        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP,2022\n\
             E07000117,Burnley,Population,persons,4,1000\n\
             E07000117,Burnley,Population,persons,5,-1\n",
        )
        .unwrap();
        let out = import_ons(&url, &bad);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!(
            "{}:3: 2022: -1: a population is never negative",
            bad.display()
        );
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(stderr.contains("1 problem in"), "{stderr}");
        assert!(stderr.contains("nothing was imported"), "{stderr}");
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "the store is unchanged"
        );
    }

    /// From an empty database: England's geography from ONS's lookup, then a DfE file that
    /// names registered authorities only. The lookup again records nothing.
    #[tokio::test]
    async fn geography_import_registers_england_from_the_ons_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let lookup = fixture("ons/lad25_ctyua25_england.csv");
        let out = placeledger(&url)
            .args(["geography", "import"])
            .arg(&lookup)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // 153 county and unitary authorities and 296 districts.
        assert!(
            stdout.contains("449 facts: 449 new events recorded"),
            "{stdout}"
        );
        let again = import(&url, "geography", &lookup);
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("0 facts"),
            "{}",
            String::from_utf8_lossy(&again.stdout)
        );
        let dfe = import(&url, "dfe-ehcp", &fixture("dfe/sen_needs_all_plans.csv"));
        assert!(
            dfe.status.success(),
            "{}",
            String::from_utf8_lossy(&dfe.stderr)
        );
    }

    /// The national track record from the published files alone: every method side by side
    /// per horizon, pooled over every authority; and the spread of the model's misses there
    /// is the one its ranges are sized on (`NATIONAL_SPREAD`, worked out again here from the
    /// full files).
    #[tokio::test]
    async fn backtest_all_pools_every_authority_beside_the_baselines() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        for args in [
            vec![
                "geography",
                "import",
                "seeds/reference/ons/lad25_ctyua25_england.csv",
            ],
            vec![
                "import",
                "dfe-ehcp",
                "seeds/reference/national/ehcp_plans_in_force_all_las.csv",
            ],
        ] {
            let out = placeledger(&url)
                .args(&args)
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = placeledger(&url)
            .args([
                "forecast",
                "backtest",
                "--all",
                "--horizon",
                "3",
                "--runs",
                "100",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Origin 2024 scores the two Northamptonshires too (from January 2022).
        assert!(stdout.contains("pooled over 151 authorities"), "{stdout}");
        for h in ["1", "2", "3"] {
            for method in ["model", "last_value", "compound_growth", "linear_trend"] {
                assert!(
                    stdout.lines().any(|l| {
                        let f: Vec<&str> = l.split_whitespace().collect();
                        f.len() == 8 && f[0] == h && f[1] == method
                    }),
                    "{h} {method}: {stdout}"
                );
            }
        }
        // The model's rows carry their coverage and spread; the baselines have neither.
        let models: Vec<Vec<&str>> = stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.get(1) == Some(&"model"))
            .collect();
        assert_eq!(models.len(), 3, "{stdout}");
        for (f, national) in models
            .iter()
            .zip(placeledger_forecast::engine::NATIONAL_SPREAD)
        {
            assert!(f[6].ends_with('%'), "{f:?}");
            assert_eq!(f[7], format!("{national:.3}"), "horizon {}: {stdout}", f[0]);
        }
    }

    /// `db backup` writes a consistent copy that opens on its own (no WAL beside it) with
    /// every committed event, and never overwrites a file.
    #[tokio::test]
    async fn db_backup_copies_every_committed_event_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        let head = store.head_position().await.unwrap();
        assert!(head > 0);
        let copy = dir.path().join("copy.db");
        let out = placeledger(&url)
            .args(["db", "backup"])
            .arg(&copy)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("head position {head}")),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // The copy alone, moved elsewhere without any -wal or -shm file, has it all.
        let moved = tempfile::tempdir().unwrap();
        let alone = moved.path().join("alone.db");
        std::fs::copy(&copy, &alone).unwrap();
        let reopened = placeledger_store::connect(&format!("sqlite:{}", alone.display()))
            .await
            .unwrap();
        assert_eq!(reopened.head_position().await.unwrap(), head);
        let again = placeledger(&url)
            .args(["db", "backup"])
            .arg(&copy)
            .output()
            .unwrap();
        assert!(!again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("never overwrites"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
    }

    /// A DfE file with an authority Placeledger does not hold: refused whole, naming it and
    /// what to run; with `--register` its authorities are registered from the file first.
    #[tokio::test]
    async fn a_dfe_file_with_an_unregistered_authority_is_refused_until_registered() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        let text = std::fs::read_to_string(fixture("dfe/sen_needs_all_plans.csv")).unwrap();
        let mut lines = text.lines();
        let mut out = vec![lines.next().unwrap().to_owned()];
        for l in lines.filter(|l| l.contains(",E06000009,890,")) {
            out.push(l.to_owned());
            out.push(l.replace(",E06000009,890,Blackpool,", ",E06000001,805,Hartlepool,"));
        }
        let path = dir.path().join("two.csv");
        std::fs::write(&path, out.join("\n")).unwrap();
        let head = store.head_position().await.unwrap();
        let refused = import(&url, "dfe-ehcp", &path);
        assert!(!refused.status.success());
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            said.contains("authority 805 (Hartlepool, E06000001)"),
            "{said}"
        );
        assert!(said.contains("--register"), "{said}");
        assert!(said.contains("nothing was imported"), "{said}");
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "a refused file imported something"
        );

        let registered = placeledger(&url)
            .args(["import", "dfe-ehcp", "--register"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&registered.stdout);
        assert!(
            registered.status.success(),
            "{}",
            String::from_utf8_lossy(&registered.stderr)
        );
        assert!(stdout.contains("registered 1 authorities"), "{stdout}");
        // The authority, its single district, and both authorities' January 2025 caseload.
        assert_eq!(store.head_position().await.unwrap(), head + 4, "{stdout}");
    }

    #[tokio::test]
    async fn every_dfe_file_imports_once_and_a_bad_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        // One event per authority and period: 1 census, 1 year of new plans and reviews,
        // 6 years of requests, assessments and timeliness, 3 of cessations; and England's
        // January total from the caseload file.
        let files = [
            ("sen_needs_all_plans.csv", 4),
            ("sen_need_newplans.csv", 3),
            ("requests.csv", 18),
            ("assessments.csv", 18),
            ("timeliness_20_week.csv", 18),
            ("ceased_plans.csv", 9),
            ("annual_reviews.csv", 3),
        ];
        for (name, events) in files {
            let head = store.head_position().await.unwrap();
            let out = import(&url, "dfe-ehcp", &fixture(&format!("dfe/{name}")));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                stdout.contains(&format!("{events} facts: {events} new events recorded")),
                "{name}: {stdout}"
            );
            assert_eq!(store.head_position().await.unwrap(), head + events);
        }
        let head = store.head_position().await.unwrap();
        for (name, events) in files {
            let out = import(&url, "dfe-ehcp", &fixture(&format!("dfe/{name}")));
            assert!(
                String::from_utf8_lossy(&out.stdout)
                    .contains(&format!("0 new events recorded, {events} already stored")),
                "{name}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "re-importing every file appends 0 events"
        );

        // The ceased-plans file with one count made negative: refused whole.
        let text = std::fs::read_to_string(fixture("dfe/ceased_plans.csv")).unwrap();
        let (line, row) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(",890,Blackpool,All ceased EHC plans"))
            .unwrap();
        let bad_row = row.replacen(
            ",All ceased EHC plans,All ceased EHC plans,",
            ",All ceased EHC plans,All ceased EHC plans,-6,",
            1,
        );
        let bad_row = {
            // Keep the field count: drop the old first count after the inserted one.
            let mut fields: Vec<&str> = bad_row.split(',').collect();
            fields.remove(13);
            fields.join(",")
        };
        let bad = dir.path().join("ceased_plans.csv");
        std::fs::write(&bad, text.replacen(row, &bad_row, 1)).unwrap();
        let out = import(&url, "dfe-ehcp", &bad);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!(
            "{}:{}: max_age: -6: a count is never negative",
            bad.display(),
            line + 1
        );
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(stderr.contains("nothing was imported"), "{stderr}");
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "the store is unchanged"
        );
    }

    #[tokio::test]
    async fn settings_and_children_import_once_and_a_refused_row_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let store = pan_lancashire(&url).await;
        let settings = dir.path().join("settings.csv");
        std::fs::write(
            &settings,
            "urn,name,la_code,district,kind,facility,phase,low_age,high_age,designated_needs,opened_on,closed_on,capacity_from,net_capacity,commissioned_year,commissioned_places\n\
             119001,\"Hollins, Pendle (synthetic)\",888,E07000122,mainstream_academy,,primary,4,11,,2012-09-01,,2015-09-01,R=30;Y1=30,,\n\
             119002,Brookside ASD Base (synthetic),888,E07000122,mainstream_academy,sen_unit,primary,4,11,ASD,2012-09-01,,,,2025/26,ASD=12\n",
        )
        .unwrap();
        let children = dir.path().join("children.csv");
        std::fs::write(
            &children,
            "child_id,la_code,born,district,requested_on,decided_on,plan_issued_on,primary_need,placement_urn,facility,placement_start,ceased_on,cease_reason\n\
             LA888-0001,888,2015-03,E07000122,2020-01-10,2020-02-20,2020-05-30,ASD,119002,sen_unit,2020-06-01,,\n",
        )
        .unwrap();
        let out = import(&url, "settings", &settings);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("4 facts: 4 new events recorded"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let out = import(&url, "children", &children);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("5 facts: 5 new events recorded"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let head = store.head_position().await.unwrap();
        for (kind, file) in [("settings", &settings), ("children", &children)] {
            let out = import(&url, kind, file);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("0 new events recorded"),
                "{kind}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "re-import appends 0 events"
        );

        // A row the domain refuses (a negative capacity) is reported at its line; the valid
        // row before it is not imported either.
        let bad = dir.path().join("more-settings.csv");
        std::fs::write(
            &bad,
            "urn,name,la_code,district,kind,phase,low_age,high_age,opened_on,capacity_from,net_capacity\n\
             119003,C (synthetic),888,E07000117,mainstream_academy,primary,4,11,2014-09-01,2015-09-01,R=30\n\
             119001,\"Hollins, Pendle (synthetic)\",888,E07000122,mainstream_academy,primary,4,11,2012-09-01,2019-09-01,R=-30\n",
        )
        .unwrap();
        let out = import(&url, "settings", &bad);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!(
            "{}:3: capacity[R]: must not be negative (got -30)",
            bad.display()
        );
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(stderr.contains("nothing was imported"), "{stderr}");
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "the store is unchanged"
        );

        // A children file whose second child's placement is at a setting never recorded:
        // refused at that line; the first child is not imported either.
        let bad = dir.path().join("more-children.csv");
        std::fs::write(
            &bad,
            "child_id,la_code,born,district,requested_on,decided_on,plan_issued_on,primary_need,placement_urn,placement_start\n\
             LA888-0002,888,2014-05,E07000117,2021-01-10,2021-02-20,2021-05-30,SEMH,,\n\
             LA888-0003,888,2014-06,E07000117,2021-01-10,2021-02-20,2021-05-30,SEMH,999999,2021-06-01\n",
        )
        .unwrap();
        let out = import(&url, "children", &bad);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}:3: urn: unknown setting 999999", bad.display())),
            "{stderr}"
        );
        assert_eq!(
            store.head_position().await.unwrap(),
            head,
            "the store is unchanged"
        );
    }

    /// Blackpool known only by SEN2 January totals (seven years, in the DfE layout) and the
    /// ONS projection: still forecast (flagged) and back-tested.
    #[tokio::test]
    async fn an_authority_known_only_by_sen2_tables_and_population_is_forecast_and_back_tested() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let _store = pan_lancashire(&url).await;
        let out = import_ons(
            &url,
            &fixture("ons-snpp-2022-persons-pan-lancs-ages-0-25.csv"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let published = std::fs::read_to_string(fixture("dfe/sen_needs_all_plans.csv")).unwrap();
        let mut lines = published.lines();
        let mut csv = format!("{}\n", lines.next().unwrap());
        let blackpool = lines
            .find(|l| l.contains(",890,Blackpool,All EHC plans,All EHC plans,"))
            .unwrap();
        for (period, total) in [
            ("201819", 858),
            ("201920", 1021),
            ("202021", 1206),
            ("202122", 1249),
            ("202223", 1312),
            ("202324", 1480),
            ("202425", 1661),
        ] {
            let mut fields: Vec<String> = blackpool.split(',').map(str::to_owned).collect();
            fields[0] = period.to_owned();
            fields[12] = total.to_string();
            csv.push_str(&fields.join(","));
            csv.push('\n');
        }
        let file = dir.path().join("blackpool_caseload.csv");
        std::fs::write(&file, csv).unwrap();
        let out = import(&url, "dfe-ehcp", &file);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let run = |args: &[&str]| {
            let out = placeledger(&url).args(args).output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (ok, out, err) = run(&["forecast", "run", "--authority", "890", "--runs", "100"]);
        assert!(ok, "{err}");
        assert!(out.contains("no_child_level_history"), "{out}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("890 ") && l.contains("2026:")),
            "{out}"
        );
        let (ok, out, err) = run(&["forecast", "backtest", "--horizon", "3", "--runs", "100"]);
        assert!(ok, "{err}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("890 ") && l.contains('%')),
            "{out}"
        );
    }

    #[tokio::test]
    async fn projections_update_rebuild_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let _store = pan_lancashire(&url).await;
        let run = |args: &[&str]| {
            let out = placeledger(&url).args(args).output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (ok, out, _) = run(&["projections", "status"]);
        assert!(ok);
        assert_eq!(
            out.trim(),
            "caseload: never run (head 17)\ncapacity: never run (head 17)\n\
             mainstream: never run (head 17)\ncosts: never run (head 17)\n\
             sharing: never run (head 17)\nscenarios: never run (head 17)\n\
             placements: never run (head 17)"
        );
        let (ok, out, err) = run(&["projections", "update"]);
        assert!(ok, "{err}");
        assert_eq!(
            out.trim(),
            "caseload: brought up to date from position 0 to 17\n\
             capacity: brought up to date from position 0 to 17\n\
             mainstream: brought up to date from position 0 to 17\n\
             costs: brought up to date from position 0 to 17\n\
             sharing: brought up to date from position 0 to 17\n\
             scenarios: brought up to date from position 0 to 17\n\
             placements: brought up to date from position 0 to 17"
        );
        let (_, out, _) = run(&["projections", "update", "caseload"]);
        assert_eq!(
            out.trim(),
            "caseload: brought up to date from position 17 to 17"
        );
        let (_, out, _) = run(&["projections", "rebuild", "caseload"]);
        assert_eq!(out.trim(), "caseload: rebuilt from position 0 to 17");
        let (_, out, _) = run(&["projections", "status"]);
        assert_eq!(
            out.lines().next().unwrap_or_default(),
            format!(
                "caseload: position 17 of 17 (state version {})",
                <placeledger_caseload::Caseload as placeledger_projection::Projection>::VERSION
            )
        );
        let (ok, _, err) = run(&["projections", "rebuild", "placemnts"]);
        assert!(!ok);
        assert!(
            err.contains("there is no projection \"placemnts\""),
            "{err}"
        );
    }

    #[tokio::test]
    async fn areas_not_registered_are_passed_over_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        // No geography registered: every area is unknown, so every row is passed over.
        let out = import_ons(
            &url,
            &fixture("ons-snpp-2022-persons-pan-lancs-ages-0-25.csv"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("0 facts: 0 new events recorded"),
            "{stdout}"
        );
        assert!(
            stdout.contains("passed over 364 rows for 14 areas"),
            "{stdout}"
        );
    }
}

mod seeds {
    use super::*;

    fn reference() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seeds/reference")
    }

    fn run(url: &str, args: &[&str]) -> (bool, String, String) {
        let out = placeledger(url).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs the CLI in `dir` (with nothing in it but the database).
    fn run_in(dir: &std::path::Path, url: &str, args: &[&str]) -> (bool, String, String) {
        let out = placeledger(url)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn seed_load_then_check_passes_and_a_second_load_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let refs = reference().display().to_string();
        // From a directory with no checkout in it: the reference figures are built in.
        let (ok, out, err) = run_in(dir.path(), &url, &["seed", "load"]);
        assert!(ok, "{err}");
        assert!(
            out.contains("new events recorded, 0 already stored"),
            "{out}"
        );

        // The first ledger opened on the seeded history folds all of it and saves a snapshot;
        // the next starts from that snapshot and has the same state: every kind of fact the
        // seed records (children, plans, placements, sharing agreements) survives the trip.
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            use placeledger_ledger::Ledger;
            let store = placeledger_store::connect(&url).await.unwrap();
            let folded = Ledger::open(store.clone()).await.unwrap();
            assert_eq!(folded.started_from(), 0);
            let restored = Ledger::open(store).await.unwrap();
            assert_eq!(restored.started_from(), folded.position());
            assert!(!restored.state().sharing.is_empty());
            assert!(
                restored.state() == folded.state(),
                "the restored state differs"
            );
        });

        let (ok, out, err) = run_in(dir.path(), &url, &["seed", "check"]);
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("0 out of tolerance"), "{out}");
        assert!(
            out.lines().any(|l| l.starts_with("January plans")
                && l.contains("888")
                && l.contains("Jan 2025")),
            "{out}"
        );

        let (ok, out, err) = run(&url, &["seed", "load", "--reference", &refs]);
        assert!(ok, "{err}");
        assert!(out.contains("already loaded"), "{out}");

        // A different seed into the same database is refused, and changes nothing.
        let (ok, _, err) = run(&url, &["seed", "load", "--seed", "3", "--reference", &refs]);
        assert!(!ok);
        assert!(err.contains("seed load fills an empty database"), "{err}");

        // Checked against figures the history does not match, the check fails and says where.
        let moved = dir.path().join("reference");
        copy_dir(&reference(), &moved);
        let caseload = moved.join("ehcp_caseload_jan2015_2025_pan_lancs.csv");
        let text = std::fs::read_to_string(&caseload).unwrap();
        std::fs::write(
            &caseload,
            text.replace(
                "2021,E10000017,888,Lancashire,8085,8085",
                "2021,E10000017,888,Lancashire,8500,8500",
            ),
        )
        .unwrap();
        let (ok, out, err) = run(
            &url,
            &["seed", "check", "--reference", &moved.display().to_string()],
        );
        assert!(!ok);
        assert!(err.contains("1 figure(s) out of tolerance"), "{err}");
        let line = out
            .lines()
            .find(|l| l.contains("OUT OF TOLERANCE"))
            .unwrap_or_default();
        assert!(
            line.starts_with("January plans") && line.contains("888") && line.contains("Jan 2021"),
            "{out}"
        );
    }

    /// The 14 districts of pan-Lancashire, as the seed names them.
    const DISTRICTS: [&str; 14] = [
        "Burnley",
        "Chorley",
        "Fylde",
        "Hyndburn",
        "Lancaster",
        "Pendle",
        "Preston",
        "Ribble Valley",
        "Rossendale",
        "South Ribble",
        "West Lancashire",
        "Wyre",
        "Blackburn with Darwen",
        "Blackpool",
    ];

    /// Blackpool's rows of a forecast CSV, and a whole-authority row a year: its plans in
    /// force (a range) and the sum of its rows' costs.
    fn blackpool_rows_and_its_whole(out: &str) {
        let (whole, rows): (Vec<&str>, Vec<&str>) = out
            .lines()
            .skip(1)
            .partition(|l| l.starts_with("890,,Blackpool (whole authority),"));
        assert!(
            rows.iter()
                .all(|l| l.starts_with("890,E06000009,Blackpool,")),
            "{out}"
        );
        assert_eq!(whole.len(), 10, "{out}");
        let field = |l: &str, i: usize| l.split(',').nth(i).unwrap_or_default().to_owned();
        for w in &whole {
            assert_eq!(field(w, 5), "all_plans");
            let [p10, p50, p90] = [7, 8, 9].map(|i| field(w, i).parse::<i64>().unwrap());
            assert!(p10 < p50 && p50 < p90, "{w}");
            let year = field(w, 3);
            let cost: rust_decimal::Decimal = rows
                .iter()
                .filter(|l| field(l, 3) == year && field(l, 6).is_empty())
                .filter(|l| field(l, 5) != "mainstream_pupils")
                .map(|l| {
                    field(l, 20)
                        .parse::<rust_decimal::Decimal>()
                        .unwrap_or_default()
                })
                .sum();
            assert_eq!(field(w, 20), cost.to_string(), "{w}");
        }
    }

    #[test]
    fn forecast_run_and_backtest_on_the_seeded_history() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let refs = reference().display().to_string();
        let (ok, _, err) = run(&url, &["seed", "load", "--reference", &refs]);
        assert!(ok, "{err}");

        // The sufficiency table: every district has rows, and deficits are marked.
        let (ok, out, err) = run(&url, &["forecast", "run", "--runs", "100"]);
        assert!(ok, "{err}");
        for district in DISTRICTS {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(district) && l.contains("special")),
                "no special rows for {district}:\n{out}"
            );
        }
        assert!(
            out.contains("Jan 2026") && out.contains("Jan 2035"),
            "{out}"
        );
        // Mainstream: every planning area, primary and secondary, against net capacity.
        assert!(out.contains("Mainstream pupils by planning area"), "{out}");
        for area in ["Preston primary", "Preston secondary", "Blackpool primary"] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(area) && l.contains("pupils")),
                "no mainstream rows for {area}:\n{out}"
            );
        }
        assert!(
            out.lines()
                .any(|l| l.contains("surplus") && l.contains('!')),
            "{out}"
        );

        // One authority, as CSV: only its rows, every figure.
        let (ok, out, err) = run(
            &url,
            &[
                "forecast",
                "run",
                "--runs",
                "50",
                "--authority",
                "890",
                "--format",
                "csv",
            ],
        );
        assert!(ok, "{err}");
        let mut lines = out.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("authority,district,district_name,year")
        );
        assert!(lines.clone().count() > 100);
        blackpool_rows_and_its_whole(&out);

        // The back-test: origin 2018 (January 2018 the last seen) year by year, and the summary
        // beside both baselines.
        let (ok, out, err) = run(
            &url,
            &[
                "forecast",
                "backtest",
                "--origin",
                "2018",
                "--horizon",
                "5",
                "--runs",
                "100",
            ],
        );
        assert!(ok, "{err}");
        for la in ["888", "889", "890"] {
            for h in 1..=5 {
                let year = 2018 + h;
                assert!(
                    out.lines().any(|l| {
                        let f: Vec<&str> = l.split_whitespace().collect();
                        f.len() == 9
                            && f[0] == la
                            && f[1] == h.to_string()
                            && f[2] == year.to_string()
                    }),
                    "no origin-2019 line for {la} h{h}:\n{out}"
                );
            }
        }
        assert!(
            out.contains("model MAPE") && out.contains("growth MAPE"),
            "{out}"
        );

        // The seeded agreement: each partner shares everything with the other two.
        let (ok, out, err) = run(&url, &["sharing", "list"]);
        assert!(ok, "{err}");
        assert_eq!(
            out.lines().filter(|l| l.contains("spare_places")).count(),
            6,
            "{out}"
        );

        // A scenario opening 70 special places for Burnley's primary ages turns deficits
        // into surpluses there, and nowhere is a cell's capacity changed but Burnley's.
        let (ok, _, err) = run(
            &url,
            &[
                "scenario",
                "create",
                "burnley-70",
                "--name",
                "70 special places in Burnley",
                "--author",
                "Place planning",
                "--authority",
                "888",
                "--on",
                "2025-11-20",
            ],
        );
        assert!(ok, "{err}");
        let open = r#"{"lever":"open_places","district":"E07000117","kind":"special_la_maintained","low_age":4,"high_age":10,"from":"2026-09-01","places":[{"need":"ASD","places":70}]}"#;
        let (ok, _, err) = run(&url, &["scenario", "add-lever", "burnley-70", open]);
        assert!(ok, "{err}");
        let (ok, out, err) = run(
            &url,
            &[
                "forecast",
                "compare",
                "--scenario",
                "burnley-70",
                "--runs",
                "50",
                "--format",
                "csv",
            ],
        );
        assert!(ok, "{err}");
        let changed: Vec<Vec<&str>> = out
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert!(
            changed.iter().any(|c| c[1] == "E07000117"
                && c[4] == "special"
                && c[11] == "true"
                && c[12] == "false"),
            "{out}"
        );
        for c in &changed {
            if c[7] != "0" {
                assert_eq!(
                    (c[1], c[3], c[4], c[7]),
                    ("E07000117", "primary", "special", "70"),
                    "{out}"
                );
            }
        }
        // A bad lever is refused with its reason, and the scenario keeps its one lever.
        let bad = open.replace("E07000117", "E07000999");
        let (ok, _, err) = run(&url, &["scenario", "add-lever", "burnley-70", &bad]);
        assert!(!ok);
        assert!(
            err.contains("lever.district: unknown district E07000999"),
            "{err}"
        );
        // A lever for a scenario that does not exist: a clear error, nothing recorded.
        let (ok, _, err) = run(&url, &["scenario", "add-lever", "no-such-scenario", open]);
        assert!(!ok);
        assert!(
            err.contains("error: scenario: unknown scenario no-such-scenario"),
            "{err}"
        );
        let (_, out, _) = run(&url, &["scenario", "list"]);
        assert!(
            out.contains("burnley-70: 70 special places in Burnley") && out.contains("1 lever(s)"),
            "{out}"
        );
        let (ok, _, err) = run(&url, &["forecast", "run", "--scenario", "no-such-plan"]);
        assert!(!ok);
        assert!(
            err.contains("there is no scenario \"no-such-plan\""),
            "{err}"
        );

        // What cannot be answered is a clear error.
        let (ok, _, err) = run(&url, &["forecast", "backtest", "--origin", "2012"]);
        assert!(!ok);
        assert!(err.contains("origin 2012 cannot be back-tested"), "{err}");
        let (ok, _, err) = run(&url, &["forecast", "run", "--authority", "999"]);
        assert!(!ok);
        assert!(err.contains("there is no authority \"999\""), "{err}");
    }

    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}

mod national {
    use super::*;

    fn reference() -> String {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../seeds/reference")
            .display()
            .to_string()
    }

    /// A PostgreSQL URL scoped to a fresh schema (dropped by the returned guard).
    struct Schema {
        url: String,
        name: String,
    }

    impl Schema {
        fn new() -> Schema {
            let url = std::env::var("PLACELEDGER_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let name = format!("cli_{}", uuid::Uuid::new_v4().simple());
            let status = Command::new("psql")
                .args([&url, "-qc", &format!("CREATE SCHEMA {name}")])
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "could not create a schema on {url} with psql"
            );
            Schema { url, name }
        }

        fn scoped(&self) -> String {
            format!("{}?options=-csearch_path%3D{}", self.url, self.name)
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let _ = Command::new("psql")
                .args([
                    &self.url,
                    "-qc",
                    &format!("DROP SCHEMA {} CASCADE", self.name),
                ])
                .status();
        }
    }

    fn load(url: &str, extra: &[&str]) -> String {
        let refs = reference();
        let mut args = vec!["seed", "load", "--national", "--reference", refs.as_str()];
        args.extend(extra);
        let out = placeledger(url).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    async fn everything(url: &str) -> Vec<placeledger_store::StoredEvent> {
        let store = placeledger_store::connect(url).await.unwrap();
        let mut out = Vec::new();
        loop {
            let page = store
                .read_all(
                    out.last()
                        .map_or(0, |e: &placeledger_store::StoredEvent| e.position),
                    50_000,
                )
                .await
                .unwrap();
            if page.is_empty() {
                return out;
            }
            out.extend(page);
        }
    }

    /// The national history of England's first two authorities, on PostgreSQL (appended by
    /// COPY) and on SQLite: the same events, ids, streams and positions on both; a second load
    /// records nothing; each authority's children and settings are its own; a district
    /// without an ONS projection has a population that says it is a proxy.
    #[tokio::test]
    async fn national_history_is_the_same_on_both_backends_and_loads_once() {
        let schema = Schema::new();
        let pg = schema.scoped();
        let out = load(&pg, &["--authorities", "2"]);
        assert!(out.contains("2 authorities"), "{out}");
        assert!(out.contains(", 0 already stored"), "{out}");
        let again = load(&pg, &["--authorities", "2"]);
        assert!(again.contains(": 0 new events recorded"), "{again}");

        let dir = tempfile::tempdir().unwrap();
        let lite = sqlite_url(&dir);
        load(&lite, &["--authorities", "2"]);
        let (on_pg, on_lite) = (everything(&pg).await, everything(&lite).await);
        assert!(on_pg.len() > 10_000, "{}", on_pg.len());
        let key = |e: &placeledger_store::StoredEvent| {
            (
                e.position,
                e.stream_id.clone(),
                e.stream_version,
                e.event_id,
                e.payload.clone(),
            )
        };
        assert_eq!(
            on_pg.iter().map(key).collect::<Vec<_>>(),
            on_lite.iter().map(key).collect::<Vec<_>>()
        );

        // Who is in it: England's geography, and the two authorities' own histories.
        let first_two: Vec<String> = on_pg
            .iter()
            .filter(|e| e.event_type == "AuthorityRegistered")
            .map(|e| e.payload["authority"].as_str().unwrap().to_owned())
            .collect();
        assert!(first_two.len() > 150, "{}", first_two.len());
        let plans: Vec<&str> = on_pg
            .iter()
            .filter(|e| e.event_type == "PlanIssued")
            .map(|e| e.payload["child"].as_str().unwrap())
            .collect();
        assert!(!plans.is_empty());
        let owners: std::collections::BTreeSet<&str> = plans.iter().map(|c| &c[4..7]).collect();
        assert_eq!(owners.len(), 2, "{owners:?}");
        assert!(plans.iter().all(|c| c.starts_with("SYN-")));
        let proxy = on_pg.iter().find(|e| {
            e.event_type == "PopulationRecorded"
                && e.payload["release"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("synthetic proxy"))
        });
        assert!(proxy.is_some(), "no population marked as a proxy");

        // Into a database holding anything else, it is refused.
        let other = tempfile::tempdir().unwrap();
        let url = sqlite_url(&other);
        seed(&url, 3).await;
        let refs = reference();
        let out = placeledger(&url)
            .args([
                "seed",
                "load",
                "--national",
                "--authorities",
                "1",
                "--reference",
                &refs,
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("fills an empty database"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

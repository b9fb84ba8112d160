//! The command step: the reply names the real version and position; a command on a stream
//! that does not exist is not found; who may record is checked first; a refusal records
//! nothing.

use chrono::NaiveDate;
use placeledger_app::access::Role;
use placeledger_app::commands::Commands;
use placeledger_app::{AppError, Backend, Viewer};
use placeledger_domain::{AuthorityCode, Command, GssCode, Lever, ScenarioId};
use rust_decimal::Decimal;

fn la(code: &str) -> AuthorityCode {
    AuthorityCode::parse(code).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
}

fn register(code: &str, gss: &str, name: &str) -> Command {
    Command::RegisterAuthority {
        authority: la(code),
        gss: GssCode::parse(gss).unwrap(),
        name: name.to_owned(),
    }
}

fn scenario(id: &str, authority: &str) -> Command {
    Command::CreateScenario {
        scenario: ScenarioId::parse(id).unwrap(),
        name: id.to_owned(),
        author: "test".into(),
        authority: la(authority),
        base: None,
        on: day(),
    }
}

fn add_lever(id: &str) -> Command {
    Command::AddScenarioLever {
        scenario: ScenarioId::parse(id).unwrap(),
        lever: Lever::IncidenceMultiplier {
            authority: None,
            multiplier: Decimal::new(11, 1),
        },
    }
}

/// Records `command` as the operator, which must succeed.
async fn as_operator(commands: &Commands, command: Command) -> placeledger_app::commands::Recorded {
    commands
        .record(&Viewer::operator("test"), "test".into(), command, None)
        .await
        .unwrap_or_else(|e| panic!("the operator records anything: {e}"))
}

fn planner(code: &str) -> Viewer {
    Viewer {
        token_id: "tok_planner".into(),
        role: Role::Planner,
        authority: Some(la(code)),
    }
}

pub async fn a_command_replies_with_the_real_version_and_position(backend: Backend) {
    let commands = Commands::new(backend.events.clone(), None);
    let admin = Viewer::operator("test");
    let first = as_operator(&commands, register("888", "E10000017", "Lancashire")).await;
    assert_eq!(first.stream, "authority-888");
    assert_eq!(first.version, 1);
    assert_eq!(first.event_type, "AuthorityRegistered");
    assert_eq!(
        first.position,
        backend.events.head_position().await.unwrap()
    );
    let created = commands
        .record(
            &admin,
            "test".into(),
            scenario("preston-rp", "888"),
            Some(0),
        )
        .await
        .unwrap();
    assert_eq!(
        (created.stream.as_str(), created.version),
        ("scenario-preston-rp", 1)
    );
    assert!(created.position > first.position);
    // The next change names the version it was made against, and gets the next one.
    let lever = commands
        .record(
            &planner("888"),
            "test".into(),
            add_lever("preston-rp"),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (lever.version, lever.event_type.as_str()),
        (2, "ScenarioLeverAdded")
    );
    assert_eq!(
        lever.position,
        backend.events.head_position().await.unwrap()
    );
    // A stale version is a conflict naming the actual one; nothing is recorded.
    let stale = commands
        .record(
            &planner("888"),
            "test".into(),
            add_lever("preston-rp"),
            Some(1),
        )
        .await;
    assert!(
        matches!(
            stale,
            Err(AppError::Conflict {
                expected: 1,
                actual: Some(2),
                ..
            })
        ),
        "{stale:?}"
    );
    assert_eq!(
        lever.position,
        backend.events.head_position().await.unwrap()
    );
}

pub async fn a_command_on_a_missing_stream_is_not_found_and_records_nothing(backend: Backend) {
    let commands = Commands::new(backend.events.clone(), None);
    let admin = Viewer::operator("test");
    as_operator(&commands, register("888", "E10000017", "Lancashire")).await;
    let head = backend.events.head_position().await.unwrap();
    // With the version the caller believes the stream is at: not found, never version 0.
    for expected in [Some(1), Some(7), None] {
        let r = commands
            .record(
                &admin,
                "test".into(),
                add_lever("no-such-scenario"),
                expected,
            )
            .await;
        match r {
            Err(AppError::NotFound(m)) => assert!(m.contains("no-such-scenario"), "{m}"),
            other => panic!("expected NOT_FOUND with {expected:?}, got {other:?}"),
        }
    }
    assert_eq!(backend.events.head_position().await.unwrap(), head);
}

pub async fn who_may_record_is_checked_before_anything_is_recorded(backend: Backend) {
    let commands = Commands::new(backend.events.clone(), None);
    for (code, gss, name) in [
        ("888", "E10000017", "Lancashire"),
        ("890", "E06000009", "Blackpool"),
    ] {
        as_operator(&commands, register(code, gss, name)).await;
    }
    let head = backend.events.head_position().await.unwrap();
    let analyst = Viewer {
        role: Role::Analyst,
        ..planner("888")
    };
    let partner = Viewer {
        role: Role::Partner,
        ..planner("890")
    };
    for (who, command) in [
        (planner("890"), scenario("not-yours", "888")),
        (analyst, scenario("an-analyst-s", "888")),
        (partner, scenario("a-partner-s", "890")),
        // Reference data no authority owns is for administrators.
        (
            planner("888"),
            register("889", "E06000008", "Blackburn with Darwen"),
        ),
    ] {
        let r = commands.record(&who, "test".into(), command, None).await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{who:?}: {r:?}");
    }
    assert_eq!(backend.events.head_position().await.unwrap(), head);
    // The planner of the authority may.
    commands
        .record(
            &planner("888"),
            "test".into(),
            scenario("preston-rp", "888"),
            None,
        )
        .await
        .unwrap();
}

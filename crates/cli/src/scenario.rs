//! `placeledger scenario ...` and `placeledger sharing ...`: the commands that record
//! scenarios and data-sharing agreements, through the domain like any other.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::NaiveDate;
use placeledger_app::Viewer;
use placeledger_app::commands::Commands;
use placeledger_domain::{AuthorityCode, Command, Lever, ScenarioId, SharedData};
use placeledger_scenarios::Scenarios;
use placeledger_sharing::Sharing;
use placeledger_store::EventStore;

use crate::projections::caught_up;

/// Records one command through the application's command step, as the operator.
async fn record(store: Arc<dyn EventStore>, command: Command, actor: &str) -> anyhow::Result<()> {
    Commands::new(store, None)
        .record(&Viewer::operator(actor), actor.to_owned(), command, None)
        .await?;
    Ok(())
}

fn authority(flag: &str, s: &str) -> anyhow::Result<AuthorityCode> {
    AuthorityCode::parse(s).with_context(|| format!("{flag} {s:?}"))
}

fn scenario_id(s: &str) -> anyhow::Result<ScenarioId> {
    ScenarioId::parse(s).with_context(|| format!("scenario {s:?}"))
}

pub async fn create(
    store: Arc<dyn EventStore>,
    id: &str,
    name: &str,
    author: &str,
    la: &str,
    base: Option<&str>,
    on: NaiveDate,
) -> anyhow::Result<()> {
    let command = Command::CreateScenario {
        scenario: scenario_id(id)?,
        name: name.to_owned(),
        author: author.to_owned(),
        authority: authority("--authority", la)?,
        base: base.map(scenario_id).transpose()?,
        on,
    };
    record(store, command, &format!("scenario:{author}")).await?;
    println!("scenario {id} created");
    Ok(())
}

pub async fn add_lever(store: Arc<dyn EventStore>, id: &str, json: &str) -> anyhow::Result<()> {
    let lever: Lever = serde_json::from_str(json).with_context(|| {
        format!("the lever {json:?} is not a lever (see the README for their JSON forms)")
    })?;
    let command = Command::AddScenarioLever {
        scenario: scenario_id(id)?,
        lever,
    };
    record(store, command, "scenario").await?;
    println!("lever added to scenario {id}");
    Ok(())
}

pub async fn remove_lever(store: Arc<dyn EventStore>, id: &str, index: u32) -> anyhow::Result<()> {
    let command = Command::RemoveScenarioLever {
        scenario: scenario_id(id)?,
        index,
    };
    record(store, command, "scenario").await?;
    println!("lever {index} removed from scenario {id}");
    Ok(())
}

pub async fn list(store: Arc<dyn EventStore>) -> anyhow::Result<()> {
    let scenarios = caught_up::<Scenarios>(&store).await?;
    for (id, s) in scenarios.all() {
        println!(
            "{id}: {} ({}; created by {} on {}{}) {} lever(s)",
            s.name,
            s.authority,
            s.author,
            s.created_on,
            s.base
                .as_ref()
                .map(|b| format!("; on {b}"))
                .unwrap_or_default(),
            s.levers.len()
        );
        for (i, lever) in s.levers.iter().enumerate() {
            println!("  [{i}] {}", serde_json::to_string(lever)?);
        }
    }
    Ok(())
}

pub async fn agree(
    store: Arc<dyn EventStore>,
    la: &str,
    partner: &str,
    shares: &[String],
    from: NaiveDate,
    until: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let shares = shares
        .iter()
        .map(|s| SharedData::parse(s).with_context(|| format!("--shares {s:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let command = Command::AgreeDataSharing {
        authority: authority("--authority", la)?,
        partner: authority("--partner", partner)?,
        shares,
        from,
        until,
    };
    record(store, command, "sharing").await?;
    println!("{la} shares with {partner} from {from}");
    Ok(())
}

pub async fn end(
    store: Arc<dyn EventStore>,
    la: &str,
    partner: &str,
    on: NaiveDate,
) -> anyhow::Result<()> {
    let command = Command::EndDataSharing {
        authority: authority("--authority", la)?,
        partner: authority("--partner", partner)?,
        on,
    };
    record(store, command, "sharing").await?;
    println!("{la} stops sharing with {partner} on {on}");
    Ok(())
}

pub async fn agreements(store: Arc<dyn EventStore>) -> anyhow::Result<()> {
    let sharing = caught_up::<Sharing>(&store).await?;
    for a in sharing.agreements() {
        println!(
            "{} shares {} with {} from {}{}",
            a.authority,
            a.shares
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>()
                .join(", "),
            a.partner,
            a.from,
            a.until.map(|u| format!(" until {u}")).unwrap_or_default()
        );
    }
    Ok(())
}

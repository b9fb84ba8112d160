//! The stored form of domain events.
//!
//! An event is stored as three things: its type name (`AuthorityRegistered`), its schema
//! version, and its JSON payload (the serde form of [`Event`], internally tagged by `type`,
//! so it reads well in SQL). When a type's fields change, its version goes up and a
//! single-step upcaster (`v1 -> v2`) is added here; stored events are never rewritten.
//! A stored fixture of every old version lives in `tests/fixtures/events/` and is loaded by
//! this crate's tests.

use placeledger_domain::Event;
use serde::Deserialize;
use serde_json::{Map, Value};

/// An event in its stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub event_type: &'static str,
    pub schema_version: u32,
    pub payload: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("{event_type} schema version {version} is newer than this build knows ({current})")]
    FutureVersion {
        event_type: String,
        version: u32,
        current: u32,
    },
    #[error("{event_type} v{version}: the payload is not an object with a matching type tag")]
    NotAnEvent { event_type: String, version: u32 },
    #[error("{event_type} v{version}: cannot upcast: {reason}")]
    Upcast {
        event_type: String,
        version: u32,
        reason: String,
    },
    #[error("{event_type}: payload does not decode: {source}")]
    Payload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("event does not encode: {0}")]
    Encode(#[source] serde_json::Error),
}

/// The current schema version of each event type. Every type starts at 1.
pub const VERSIONS: &[(&str, u32)] = &[
    ("AuthorityRegistered", 1),
    ("DistrictRegistered", 1),
    ("PlanningAreaRegistered", 1),
    ("SettingOpened", 1),
    ("SettingClosed", 1),
    ("SettingConvertedToAcademy", 1),
    ("NetCapacitySet", 1),
    ("PlacesCommissioned", 1),
    ("PlacementCostSet", 1),
    // v2: month of birth instead of date of birth (data minimisation).
    ("ChildRegistered", 2),
    ("ChildMovedHome", 1),
    ("AssessmentRequested", 1),
    ("AssessmentDecided", 1),
    // v2: a primary need and a list of secondary needs instead of one `need`.
    ("PlanIssued", 2),
    ("AnnualReviewHeld", 1),
    ("PrimaryNeedChanged", 1),
    ("PlanCeased", 1),
    ("PlacementStarted", 1),
    ("PlacementEnded", 1),
    ("CensusRollRecorded", 1),
    ("PopulationRecorded", 1),
    ("BirthsRecorded", 1),
    ("HousingCompletionsRecorded", 1),
    ("CaseloadRecorded", 1),
    ("ActivityRecorded", 1),
    ("HighNeedsFundingRecorded", 1),
    ("NationalCaseloadRecorded", 1),
    ("DataSharingAgreed", 1),
    ("DataSharingEnded", 1),
    ("ScenarioCreated", 1),
    ("ScenarioLeverAdded", 1),
    ("ScenarioLeverRemoved", 1),
];

/// The current schema version of `event_type`, if it is a known type.
pub fn current_version(event_type: &str) -> Option<u32> {
    VERSIONS
        .iter()
        .find(|(t, _)| *t == event_type)
        .map(|&(_, v)| v)
}

/// Encodes an event in its current stored form. Its type name is its serde tag (`type`),
/// looked up in [`VERSIONS`]: the one list of event type names.
pub fn encode(event: &Event) -> Result<Encoded, CodecError> {
    let payload = serde_json::to_value(event).map_err(CodecError::Encode)?;
    let tag = payload
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let &(event_type, schema_version) = VERSIONS
        .iter()
        .find(|(t, _)| *t == tag)
        .ok_or_else(|| CodecError::UnknownType(tag.to_owned()))?;
    Ok(Encoded {
        event_type,
        schema_version,
        payload,
    })
}

/// Decodes a stored event of any known version, upcasting it step by step to the current one.
pub fn decode(event_type: &str, schema_version: u32, payload: &Value) -> Result<Event, CodecError> {
    let current = current_version(event_type)
        .ok_or_else(|| CodecError::UnknownType(event_type.to_owned()))?;
    if schema_version > current || schema_version == 0 {
        return Err(CodecError::FutureVersion {
            event_type: event_type.to_owned(),
            version: schema_version,
            current,
        });
    }
    let not_an_event = || CodecError::NotAnEvent {
        event_type: event_type.to_owned(),
        version: schema_version,
    };
    if payload.get("type").and_then(Value::as_str) != Some(event_type) {
        return Err(not_an_event());
    }
    if schema_version == current {
        // The common case: nothing to upcast, so read the payload where it is (no copy).
        return Event::deserialize(payload).map_err(|source| CodecError::Payload {
            event_type: event_type.to_owned(),
            source,
        });
    }
    let mut object = payload.as_object().cloned().ok_or_else(not_an_event)?;
    for version in schema_version..current {
        object = upcast(event_type, version, object).map_err(|reason| CodecError::Upcast {
            event_type: event_type.to_owned(),
            version,
            reason,
        })?;
    }
    serde_json::from_value(Value::Object(object)).map_err(|source| CodecError::Payload {
        event_type: event_type.to_owned(),
        source,
    })
}

/// A stored event that does not decode, with its position in the log.
#[derive(Debug, thiserror::Error)]
#[error("decoding the event at position {position}")]
pub struct StoredDecodeError {
    pub position: u64,
    #[source]
    pub source: CodecError,
}

/// Decodes a stored event from its stored form (`StoredEvent::stored_form`: position, type
/// name, schema version, payload): every reader of the log (the ledger, the runner, the read
/// models, histories) decodes through here, so a bad event is named the same way.
pub fn decode_at(
    (position, event_type, schema_version, payload): (u64, &str, u32, &Value),
) -> Result<Event, StoredDecodeError> {
    decode(event_type, schema_version, payload)
        .map_err(|source| StoredDecodeError { position, source })
}

/// One step: `event_type` at `from` to `from + 1`.
fn upcast(
    event_type: &str,
    from: u32,
    mut o: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    match (event_type, from) {
        ("ChildRegistered", 1) => {
            // v1 held `date_of_birth: "YYYY-MM-DD"`; v2 keeps only the month.
            let dob = o
                .remove("date_of_birth")
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or("v1 has no date_of_birth")?;
            let month = dob.get(..7).ok_or("date_of_birth is not YYYY-MM-DD")?;
            o.insert("born".into(), Value::String(month.to_owned()));
            Ok(o)
        }
        ("PlanIssued", 1) => {
            // v1 held one `need`; v2 has `primary_need` and optional `secondary_needs`.
            let need = o.remove("need").ok_or("v1 has no need")?;
            o.insert("primary_need".into(), need);
            Ok(o)
        }
        _ => Err(format!("no upcaster from v{from}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_above_one_has_its_upcasters() {
        for &(t, current) in VERSIONS {
            for v in 1..current {
                let probe = upcast(t, v, Map::new());
                assert!(
                    !matches!(&probe, Err(r) if r.starts_with("no upcaster")),
                    "{t} v{v} -> v{} has no upcaster",
                    v + 1
                );
            }
        }
    }

    #[test]
    fn unknown_and_future_versions_are_refused() {
        let p = serde_json::json!({"type": "PlanCeased"});
        assert!(matches!(
            decode("Nope", 1, &p),
            Err(CodecError::UnknownType(_))
        ));
        assert!(matches!(
            decode("PlanCeased", 9, &p),
            Err(CodecError::FutureVersion { .. })
        ));
        assert!(matches!(
            decode("PlanIssued", 1, &p),
            Err(CodecError::NotAnEvent { .. })
        ));
    }
}

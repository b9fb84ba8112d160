//! What goes into the store and what comes out.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::error::StoreError;

/// The largest payload one event may carry, as serialised JSON.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// The most events one append (or batch of appends) may carry: enough for the whole seeded
/// pan-Lancashire history (about 350,000 events) or a large import in one transaction,
/// while bounding the memory one request can take.
pub const MAX_BATCH: usize = 1_000_000;

/// A stream's id: 1-200 characters, no control characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(String);

impl StreamId {
    pub fn parse(s: impl Into<String>) -> Result<Self, StoreError> {
        let s = s.into();
        let reason = if s.trim().is_empty() {
            Some("must not be empty")
        } else if s.chars().count() > 200 {
            Some("must be at most 200 characters")
        } else if s.chars().any(char::is_control) {
            Some("must not contain control characters")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(StoreError::invalid("stream_id", reason)),
            None => Ok(Self(s)),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the writer believes the stream's version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// As the backends compare it: `None` for any, `Some(0)` for no stream.
    pub(crate) fn as_db(self) -> Option<i64> {
        match self {
            Self::Any => None,
            Self::NoStream => Some(0),
            Self::Exact(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        }
    }
}

/// Who and what caused an event. The event id is the idempotency key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub actor: Option<String>,
}

/// An event to append, already in its stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Value,
    pub metadata: Metadata,
}

impl NewEvent {
    pub fn new(event_type: impl Into<String>, schema_version: u32, payload: Value) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version,
            payload,
            metadata: Metadata::default(),
        }
    }

    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// An event as stored: its place in the log and in its stream, and everything it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: u64,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Value,
    pub metadata: Metadata,
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    /// What a decoder reads of it: its position (to name it by), its type name, its schema
    /// version and its payload.
    pub fn stored_form(&self) -> (u64, &str, u32, &Value) {
        (
            self.position,
            &self.event_type,
            self.schema_version,
            &self.payload,
        )
    }
}

/// One stream's part of an append: the stream, the version expected, the events.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

impl StreamAppend {
    pub fn new(stream: StreamId, expected: ExpectedVersion, events: Vec<NewEvent>) -> Self {
        Self {
            stream,
            expected,
            events,
        }
    }
}

/// A projection's saved state (JSON text) and the position it has folded to, saved and
/// loaded as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub name: String,
    /// The version of the state's shape.
    pub version: u32,
    pub position: u64,
    pub state: String,
}

impl Checkpoint {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.name.is_empty() || self.name.len() > 100 {
            return Err(StoreError::invalid("name", "must be 1-100 characters"));
        }
        serde_json::from_str::<serde::de::IgnoredAny>(&self.state)
            .map_err(|e| StoreError::invalid("state", format!("is not JSON: {e}")))?;
        Ok(())
    }
}

/// What an append did: the versions it gave its events and the position of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub first_version: u64,
    pub last_version: u64,
    pub last_position: u64,
    /// True when every event id was already stored: nothing was written this time.
    pub duplicate: bool,
}

/// Checks a batch's input before any backend sees it. Returns each event's payload as JSON
/// text, per append. Field names are those of a single append (`events[3].payload`), prefixed
/// with `appends[k].` when the batch has more than one.
pub(crate) fn validate(appends: &[StreamAppend]) -> Result<Vec<Vec<String>>, StoreError> {
    if appends.is_empty() {
        return Err(StoreError::invalid(
            "appends",
            "a batch needs at least one append",
        ));
    }
    let total: usize = appends.iter().map(|a| a.events.len()).sum();
    if total > MAX_BATCH {
        return Err(StoreError::invalid(
            "events",
            format!("at most {MAX_BATCH} events in one append"),
        ));
    }
    let prefix = |k: usize| {
        if appends.len() > 1 {
            format!("appends[{k}].")
        } else {
            String::new()
        }
    };
    let mut streams = std::collections::HashSet::with_capacity(appends.len());
    let mut ids = std::collections::HashSet::with_capacity(total);
    let mut texts = Vec::with_capacity(appends.len());
    for (k, append) in appends.iter().enumerate() {
        let p = prefix(k);
        if !streams.insert(&append.stream) {
            return Err(StoreError::invalid(
                format!("{p}stream_id"),
                "the same stream appears twice in one batch",
            ));
        }
        if append.events.is_empty() {
            return Err(StoreError::invalid(
                format!("{p}events"),
                "an append needs at least one event",
            ));
        }
        let mut append_texts = Vec::with_capacity(append.events.len());
        for (i, e) in append.events.iter().enumerate() {
            if !ids.insert(e.event_id) {
                return Err(StoreError::invalid(
                    format!("{p}events[{i}].event_id"),
                    "the same event id appears twice in one append",
                ));
            }
            append_texts.push(validate_event(&format!("{p}events[{i}]"), e)?);
        }
        texts.push(append_texts);
    }
    Ok(texts)
}

fn validate_event(field: &str, e: &NewEvent) -> Result<String, StoreError> {
    if e.event_type.trim().is_empty() || e.event_type.len() > 100 {
        return Err(StoreError::invalid(
            format!("{field}.event_type"),
            "must be 1-100 characters",
        ));
    }
    if e.schema_version == 0 {
        return Err(StoreError::invalid(
            format!("{field}.schema_version"),
            "versions start at 1",
        ));
    }
    if !e.payload.is_object() {
        return Err(StoreError::invalid(
            format!("{field}.payload"),
            "must be a JSON object",
        ));
    }
    if e.metadata.actor.as_ref().is_some_and(|a| a.len() > 200) {
        return Err(StoreError::invalid(
            format!("{field}.metadata.actor"),
            "must be at most 200 characters",
        ));
    }
    let text = e.payload.to_string();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(StoreError::invalid(
            format!("{field}.payload"),
            format!(
                "is {} bytes; the most one event may carry is {MAX_PAYLOAD_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(text)
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

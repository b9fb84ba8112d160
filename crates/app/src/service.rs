//! The use cases a node serves, free of any transport: the API's resolvers and the CLI call
//! these. Each checks who is asking first, reads one snapshot, and audits what a partner
//! reads or is refused.

use std::sync::Arc;

use placeledger_domain::{AcademicYear, AuthorityCode, ChildId, Event, SharedData, Urn};
use placeledger_placements::GroupBy;
use placeledger_store::{EventStore, StoredEvent, StreamId};

use crate::access::{Role, Sight, Viewer, may_read, may_see_shared};
use crate::commands::Commands;
use crate::disclosure::{self, PlacementSummary, SharedPlaceData};
use crate::error::AppError;
use crate::live::{Live, ScenarioRunError};
use crate::read::ReadModels;
use crate::storage::{AccessStore, AuditEntry, Backend};

/// Everything a node's use cases share.
#[derive(Debug, Clone)]
pub struct Service {
    pub store: Arc<dyn EventStore>,
    pub access: Arc<dyn AccessStore>,
    pub live: Live,
    pub commands: Commands,
}

/// One stored event of a stream (as stored: position, version, type, when, who) and the
/// event itself, decoded to the current version of its type.
pub type HistoryEntry = (StoredEvent, Event);

impl Service {
    /// The use cases of a node on `backend`, answering from `live`.
    pub fn new(backend: Backend, live: Live) -> Self {
        Service {
            commands: Commands::new(backend.events.clone(), Some(live.clone())),
            store: backend.events,
            access: backend.access,
            live,
        }
    }

    /// Writes a partner's read of `a`'s shared data to the audit log (other roles read their
    /// own).
    pub async fn audit(&self, v: &Viewer, field: &str, a: &AuthorityCode) -> Result<(), AppError> {
        if v.role != Role::Partner {
            return Ok(());
        }
        self.access
            .record_audit(&AuditEntry {
                token_id: v.token_id.clone(),
                role: v.role.code().to_owned(),
                authority: v.authority.as_ref().map(|x| x.as_str().to_owned()),
                field: field.to_owned(),
                subjects: a.as_str().to_owned(),
            })
            .await
            .map_err(|e| AppError::internal(&e))
    }

    /// `a`'s current placements grouped `by`: its own readers see every count; a partner its
    /// agreement shares placements with sees them with small numbers withheld (audited as
    /// `field`).
    pub async fn placement_summary(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        by: GroupBy,
        field: &str,
    ) -> Result<PlacementSummary, AppError> {
        let models = self.live.now();
        let sight = may_see_shared(
            v,
            &models.sharing,
            a,
            SharedData::Placements,
            disclosure::today(),
        )?;
        self.audit(v, field, a).await?;
        Ok(disclosure::placement_summary(
            &models,
            a,
            by,
            sight,
            this_year(),
        ))
    }

    /// [`Service::placement_summary`] again on later read models, for a subscription's next
    /// message: access is checked again (an agreement may have ended: `None`), not audited.
    pub fn placement_summary_again(
        &self,
        v: &Viewer,
        models: &ReadModels,
        a: &AuthorityCode,
        by: GroupBy,
    ) -> Option<PlacementSummary> {
        let sight = may_see_shared(
            v,
            &models.sharing,
            a,
            SharedData::Placements,
            disclosure::today(),
        )
        .ok()?;
        Some(disclosure::placement_summary(
            models,
            a,
            by,
            sight,
            this_year(),
        ))
    }

    /// What `a` shares with the caller's authority under their agreement: its sufficiency
    /// forecast by district, phase, kind and year (medians), small numbers withheld. Every
    /// partner read is audited as `field`.
    pub async fn shared_place_data(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        field: &str,
    ) -> Result<SharedPlaceData, AppError> {
        let models = self.live.now();
        may_see_shared(
            v,
            &models.sharing,
            a,
            SharedData::Sufficiency,
            disclosure::today(),
        )?;
        let f = self.live.forecast(None).await.map_err(scenario_error)?;
        self.audit(v, field, a).await?;
        Ok(disclosure::shared_place_data(
            &f,
            &models,
            a,
            models.position,
        ))
    }

    /// [`Service::shared_place_data`] again on later read models, for a subscription's next
    /// message: access checked again, not audited; `None` when access has ended or the
    /// forecast failed.
    pub async fn shared_place_data_again(
        &self,
        v: &Viewer,
        models: &ReadModels,
        a: &AuthorityCode,
    ) -> Option<SharedPlaceData> {
        may_see_shared(
            v,
            &models.sharing,
            a,
            SharedData::Sufficiency,
            disclosure::today(),
        )
        .ok()?;
        let f = self.live.forecast(None).await.ok()?;
        // What it shows: the forecast may have been made at a later position.
        let position = models.position.max(f.position);
        Some(disclosure::shared_place_data(&f, models, a, position))
    }

    /// A partner may subscribe to `a`'s shared data if it could read it now; the start of a
    /// subscription is audited as `field`.
    pub async fn may_subscribe(
        &self,
        v: &Viewer,
        a: &AuthorityCode,
        what: SharedData,
        field: &str,
    ) -> Result<Sight, AppError> {
        let sight = may_see_shared(v, &self.live.now().sharing, a, what, disclosure::today())?;
        self.audit(v, field, a).await?;
        Ok(sight)
    }

    /// A child's events, oldest first: the child's current home authority only (admins: any).
    /// Not found and not yours look the same: an id tells nothing.
    pub async fn child_history(
        &self,
        v: &Viewer,
        child: &ChildId,
    ) -> Result<Vec<HistoryEntry>, AppError> {
        let models = self.live.now();
        let line = models.caseload.children().get(child);
        let home = line.and_then(|l| l.homes.last().and_then(|(_, h)| h.clone()));
        match (&home, v.role) {
            (_, Role::Admin) if line.is_some() => {}
            (Some((a, _)), _) if v.reads(a) => {}
            _ => {
                return Err(AppError::NotFound(format!(
                    "there is no child {child} you may see"
                )));
            }
        }
        self.history(&format!("child-{child}")).await
    }

    /// A setting's events, oldest first (the setting's authority only; admins: any).
    pub async fn setting_history(
        &self,
        v: &Viewer,
        urn: Urn,
    ) -> Result<Vec<HistoryEntry>, AppError> {
        let models = self.live.now();
        let setting = models
            .capacity
            .setting(urn)
            .ok_or_else(|| AppError::NotFound(format!("there is no setting {urn}")))?;
        may_read(v, &setting.authority)?;
        self.history(&format!("setting-{urn}")).await
    }

    /// Every event of `stream`, decoded to the current version of its type.
    async fn history(&self, stream: &str) -> Result<Vec<HistoryEntry>, AppError> {
        let id = StreamId::parse(stream).map_err(|e| AppError::internal(&e))?;
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let batch = self
                .store
                .read_stream(&id, after, 1_000)
                .await
                .map_err(|e| AppError::internal(&e))?;
            let Some(last) = batch.last().map(|e| e.stream_version) else {
                break;
            };
            for e in batch {
                let event = placeledger_codec::decode_at(e.stored_form())
                    .map_err(|err| AppError::internal(&err))?;
                out.push((e, event));
            }
            after = last;
        }
        Ok(out)
    }
}

/// The academic year of today: placements are counted as they stand now.
fn this_year() -> AcademicYear {
    AcademicYear::containing(disclosure::today())
}

/// A scenario run's error as the caller sees it.
pub fn scenario_error(e: ScenarioRunError) -> AppError {
    match e {
        ScenarioRunError::NotFound(_) => AppError::NotFound(e.to_string()),
        ScenarioRunError::Scenario(_) => AppError::bad_input("scenario", &e),
        ScenarioRunError::Forecast(_) | ScenarioRunError::Internal(_) => AppError::internal(&e),
    }
}

//! Subscriptions: live queries over WebSocket, each one stream made by [`on_change`].

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, SimpleObject, Subscription};
use futures::Stream;
use placeledger_app::access::may_read;
use placeledger_app::{Live, ReadModels};
use placeledger_domain::{GssCode, ScenarioId, SharedData};

use crate::context::{authority_code, services, viewer};
use crate::error::{AppError, Gql};
use crate::query::{ForecastRow, PlacementDimension, PlacementSummary, SharedPlaceData, grouping};

/// The subscription root.
#[derive(Debug)]
pub struct SubscriptionRoot;

/// A district's sufficiency under one scenario, as it changes.
#[derive(Debug, SimpleObject)]
#[graphql(complex)]
pub struct SufficiencyUpdate {
    /// The event position the rows reflect.
    pub position: u64,
    pub district: String,
    /// None: the baseline.
    pub scenario: Option<String>,
    /// The district's rows, shared by every subscriber's message (made once per position).
    #[graphql(skip)]
    pub shared_rows: Arc<Vec<ForecastRow>>,
}

#[ComplexObject]
impl SufficiencyUpdate {
    async fn rows(&self) -> &[ForecastRow] {
        &self.shared_rows
    }
}

#[Subscription]
impl SubscriptionRoot {
    /// An authority's placement summary (as the query `placementSummary` gives it), now and
    /// again whenever placements change; each message carries its position; reconnect
    /// with `fromPosition` to get only what changed since.
    async fn placements_changed(
        &self,
        ctx: &Context<'_>,
        authority: String,
        group_by: Vec<PlacementDimension>,
        from_position: Option<u64>,
    ) -> Result<impl Stream<Item = PlacementSummary> + use<>, Gql> {
        let v = viewer(ctx)?.clone();
        let a = authority_code("authority", &authority)?;
        let by = grouping(&group_by);
        let s = services(ctx)?.clone();
        s.app
            .may_subscribe(
                &v,
                &a,
                SharedData::Placements,
                "placementsChanged (subscription)",
            )
            .await?;
        let live = s.app.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, v, a) = (s.clone(), v.clone(), a.clone());
            async move {
                // Access is checked again: an agreement may have ended.
                let summary: PlacementSummary =
                    s.app.placement_summary_again(&v, &models, &a, by)?.into();
                let key = (
                    summary.cells.clone(),
                    summary.total,
                    summary.imports,
                    summary.exports,
                );
                Some((key, summary))
            }
        }))
    }

    /// A district's sufficiency forecast under a scenario (none: the baseline), now and
    /// again whenever events change it: a lever added on any node, capacity recorded, a
    /// placement started. Each message carries the position it reflects; reconnect with
    /// `fromPosition` to get only what changed since. Own authority only (admins: any).
    async fn sufficiency_changed(
        &self,
        ctx: &Context<'_>,
        district: String,
        scenario: Option<String>,
        from_position: Option<u64>,
    ) -> Result<impl Stream<Item = SufficiencyUpdate> + use<>, Gql> {
        let v = viewer(ctx)?.clone();
        let d = GssCode::parse(&district).map_err(|e| AppError::bad_input("district", e))?;
        let scenario = scenario
            .as_deref()
            .map(|x| ScenarioId::parse(x).map_err(|e| AppError::bad_input("scenario", e)))
            .transpose()?;
        let s = services(ctx)?.clone();
        let models = s.app.live.now();
        let owner = models
            .mainstream
            .authorities()
            .iter()
            .find(|(_, a)| a.districts.contains_key(&d))
            .map(|(code, _)| code.clone())
            .ok_or_else(|| AppError::NotFound(format!("there is no district {d} in the store")))?;
        may_read(&v, &owner)?;
        if let Some(id) = &scenario {
            let sc = models
                .scenarios
                .get(id)
                .ok_or_else(|| AppError::NotFound(format!("there is no scenario {id}")))?;
            may_read(&v, &sc.authority)?;
        }
        let live = s.app.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, d, scenario) = (s.clone(), d.clone(), scenario.clone());
            async move {
                let (position, rows) =
                    s.district_rows(scenario.as_ref(), &d, &models).await.ok()?;
                let message = SufficiencyUpdate {
                    position,
                    district: d.as_str().to_owned(),
                    scenario: scenario.as_ref().map(ToString::to_string),
                    shared_rows: rows.clone(),
                };
                Some((rows, message))
            }
        }))
    }

    /// `authority`'s shared place data (as the query `sharedPlaceData` gives it), now and
    /// again each time the events change it. Each message carries the event position it
    /// reflects; a client that reconnects with `fromPosition` (the last position it
    /// received) gets the data again only if it has changed since. The same access rules
    /// and suppression as the query; a partner's subscription is audited once, when it
    /// starts.
    async fn shared_place_data(
        &self,
        ctx: &Context<'_>,
        authority: String,
        from_position: Option<u64>,
    ) -> Result<impl Stream<Item = SharedPlaceData> + use<>, Gql> {
        let v = viewer(ctx)?.clone();
        let a = authority_code("authority", &authority)?;
        let s = services(ctx)?.clone();
        s.app
            .may_subscribe(
                &v,
                &a,
                SharedData::Sufficiency,
                "sharedPlaceData (subscription)",
            )
            .await?;
        let live = s.app.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, v, a) = (s.clone(), v.clone(), a.clone());
            async move {
                let message: SharedPlaceData =
                    s.app.shared_place_data_again(&v, &models, &a).await?.into();
                Some(((message.cells.clone(), message.totals.clone()), message))
            }
        }))
    }
}

/// The stream every subscription is: the answer now (unless the client's `from` position is
/// already current), then again each time the read models move and the answer changes — a new
/// position that changes nothing sends nothing. `answer` gives what is compared and the
/// message; the stream ends when it gives `None` (access withdrawn, a forecast failed), when
/// the server stops, or when the client leaves (the stream is dropped; nothing was spawned).
fn on_change<K, M, F, Fut>(
    live: Live,
    from: Option<u64>,
    answer: F,
) -> impl Stream<Item = M> + Send + 'static
where
    K: PartialEq + Send + 'static,
    M: Send + 'static,
    F: Fn(Arc<ReadModels>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<(K, M)>> + Send,
{
    let rx = live.watch();
    let sent = from.unwrap_or(0);
    let last: Option<K> = None;
    futures::stream::unfold(
        (live, answer, rx, sent, last),
        |(live, answer, mut rx, mut sent, mut last)| async move {
            loop {
                let models = live.now();
                if models.position > sent || (sent == 0 && last.is_none()) {
                    sent = models.position;
                    let (key, message) = answer(models).await?;
                    if last.as_ref() != Some(&key) {
                        last = Some(key);
                        return Some((message, (live, answer, rx, sent, last)));
                    }
                    continue;
                }
                rx.changed().await.ok()?;
            }
        },
    )
}

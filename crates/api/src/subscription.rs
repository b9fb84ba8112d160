//! Subscriptions: live queries over WebSocket, each one stream made by [`on_change`].

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, SimpleObject, Subscription};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use placeledger_app::access::{Sight, may_read};
use placeledger_app::disclosure::Publication;
use placeledger_app::{Live, ReadModels, Viewer};
use placeledger_domain::AuthorityCode;
use placeledger_domain::{GssCode, ScenarioId, SharedData};

use crate::context::{Services, authority_code, services, viewer};
use crate::error::{AppError, Gql};
use crate::query::{ForecastRow, PlacementDimension, PlacementSummary, SharedPlaceData, grouping};
use placeledger_app::service::scenario_error;

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
    /// with `fromPosition` to get only what changed since. A partner receives the
    /// authority's publications instead: one message per publication period at most (a day
    /// by default), only when the published table changed, never one per placement.
    async fn placements_changed(
        &self,
        ctx: &Context<'_>,
        authority: String,
        group_by: Vec<PlacementDimension>,
        from_position: Option<u64>,
    ) -> Result<BoxStream<'static, PlacementSummary>, Gql> {
        let v = viewer(ctx)?.clone();
        let a = authority_code("authority", &authority)?;
        let by = grouping(&group_by);
        let s = services(ctx)?.clone();
        let field = "placementsChanged (subscription)";
        let sight = s
            .app
            .may_subscribe(&v, &a, SharedData::Placements, field)
            .await?;
        if sight == Sight::Partner {
            // Refused now, not at the first message, if the cube does not publish it.
            s.app.placement_summary(&v, &a, by, field).await?;
            let what = SharedData::Placements;
            return Ok(
                on_publication(s, v, a, what, field, from_position, move |p| {
                    let summary: PlacementSummary = p.placement_summary(by)?.into();
                    Some(((summary.cells.clone(), summary.total), summary))
                })
                .boxed(),
            );
        }
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
        })
        .boxed())
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
    ) -> Result<impl Stream<Item = async_graphql::Result<SufficiencyUpdate>> + use<>, Gql> {
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
        if let Err(e) = may_read(&v, &owner) {
            let field = "sufficiencyChanged (subscription)";
            return Err(s
                .app
                .refused(&v, field, owner.as_str(), &district, e)
                .await
                .into());
        }
        if let Some(id) = &scenario {
            // Another authority's scenario is reported exactly as one that does not exist.
            let unknown = || AppError::NotFound(format!("there is no scenario {id}"));
            let sc = models.scenarios.get(id).ok_or_else(unknown)?;
            may_read(&v, &sc.authority).map_err(|_| unknown())?;
        }
        let live = s.app.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, d, scenario) = (s.clone(), d.clone(), scenario.clone());
            async move {
                match s.district_rows(scenario.as_ref(), &d, &models).await {
                    Ok((position, rows)) => {
                        let message = SufficiencyUpdate {
                            position,
                            district: d.as_str().to_owned(),
                            scenario: scenario.as_ref().map(ToString::to_string),
                            shared_rows: rows.clone(),
                        };
                        Answer::Message(rows, Ok(message))
                    }
                    // The forecast could not be made: the subscriber is told why, with its
                    // code, and the subscription ends (never a silent stream).
                    Err(e) => {
                        tracing::warn!(error = %e, district = %d, "sufficiencyChanged");
                        Answer::Last(Err(Gql(scenario_error(e)).into()))
                    }
                }
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
    ) -> Result<BoxStream<'static, SharedPlaceData>, Gql> {
        let v = viewer(ctx)?.clone();
        let a = authority_code("authority", &authority)?;
        let s = services(ctx)?.clone();
        let field = "sharedPlaceData (subscription)";
        let what = SharedData::Sufficiency;
        if s.app.may_subscribe(&v, &a, what, field).await? == Sight::Partner {
            return Ok(on_publication(s, v, a, what, field, from_position, |p| {
                let message: SharedPlaceData = p.shared.clone()?.into();
                Some(((message.cells.clone(), message.totals.clone()), message))
            })
            .boxed());
        }
        let live = s.app.live.clone();
        Ok(on_change(live, from_position, move |models| {
            let (s, v, a) = (s.clone(), v.clone(), a.clone());
            async move {
                let message: SharedPlaceData =
                    s.app.shared_place_data_again(&v, &models, &a).await?.into();
                Some(((message.cells.clone(), message.totals.clone()), message))
            }
        })
        .boxed())
    }
}

/// A partner's subscription: the current publication's answer now (unless the client's
/// `from` position is already as recent), then again when a new publication period starts
/// and its answer differs. Access is checked again before each
/// message (an agreement ended, a token revoked: the stream ends, the refusal audited); each
/// message sent is audited.
fn on_publication<K, M, F>(
    s: Services,
    v: Viewer,
    a: AuthorityCode,
    what: SharedData,
    field: &'static str,
    from: Option<u64>,
    answer: F,
) -> impl Stream<Item = M> + Send + 'static
where
    K: PartialEq + Send + 'static,
    M: Send + 'static,
    F: Fn(&Publication) -> Option<(K, M)> + Send + Sync + 'static,
{
    let last: Option<K> = None;
    let seen = from.unwrap_or(0);
    futures::stream::unfold(
        (s, v, a, answer, last, true),
        move |(s, v, a, answer, mut last, mut first)| async move {
            loop {
                if !first {
                    // Just after the period starts, so the new publication is made.
                    let wait = s.app.publisher.until_next() + std::time::Duration::from_millis(20);
                    tokio::time::sleep(wait).await;
                }
                first = false;
                let p = s.app.published_again(&v, &a, what, field).await.ok()?;
                let (key, message) = answer(&p)?;
                if p.position <= seen {
                    // The client saw this position before it reconnected.
                    last = Some(key);
                    continue;
                }
                if last.as_ref() != Some(&key) {
                    last = Some(key);
                    s.app.audit(&v, field, &a, "message").await.ok()?;
                    return Some((message, (s, v, a, answer, last, first)));
                }
            }
        },
    )
}

/// One answer of an [`on_change`] subscription at a position.
#[derive(Debug)]
enum Answer<K, M> {
    /// A message, and what is compared with the next answer to tell whether it changed.
    Message(K, M),
    /// The last message: the stream ends after it (an error the subscriber is told).
    Last(M),
    /// The stream ends without another message (access withdrawn: the refusal is audited).
    End,
}

impl<K, M> From<Option<(K, M)>> for Answer<K, M> {
    fn from(answer: Option<(K, M)>) -> Self {
        answer.map_or(Answer::End, |(key, message)| Answer::Message(key, message))
    }
}

/// The stream every subscription is: the answer now (unless the client's `from` position is
/// already current), then again each time the read models move and the answer changes — a new
/// position that changes nothing sends nothing. `answer` gives what is compared and the
/// message (see [`Answer`]); the stream ends after a last message, when `answer` ends it
/// (access withdrawn), when the server stops, or when the client leaves (the stream is
/// dropped; nothing was spawned).
fn on_change<K, M, F, Fut, A>(
    live: Live,
    from: Option<u64>,
    answer: F,
) -> impl Stream<Item = M> + Send + 'static
where
    K: PartialEq + Send + 'static,
    M: Send + 'static,
    F: Fn(Arc<ReadModels>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = A> + Send,
    A: Into<Answer<K, M>>,
{
    let rx = live.watch();
    let sent = from.unwrap_or(0);
    let last: Option<K> = None;
    futures::stream::unfold(Some((live, answer, rx, sent, last)), |state| async move {
        let (live, answer, mut rx, mut sent, mut last) = state?;
        loop {
            let models = live.now();
            if models.position > sent || (sent == 0 && last.is_none()) {
                sent = models.position;
                match answer(models).await.into() {
                    Answer::Message(key, message) => {
                        if last.as_ref() != Some(&key) {
                            last = Some(key);
                            return Some((message, Some((live, answer, rx, sent, last))));
                        }
                        continue;
                    }
                    Answer::Last(message) => return Some((message, None)),
                    Answer::End => return None,
                }
            }
            rx.changed().await.ok()?;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer that fails is sent, and the stream ends after it; one that ends sends
    /// nothing; neither waits for another position.
    #[tokio::test]
    async fn a_failed_answer_is_the_last_message() {
        let live = Live::new(ReadModels::default());
        let failed: Vec<Result<u8, &str>> = on_change(live.clone(), None, |_| async {
            Answer::<u8, _>::Last(Err("the forecast could not be made"))
        })
        .collect()
        .await;
        assert_eq!(failed, vec![Err("the forecast could not be made")]);
        let ended: Vec<u8> = on_change(live.clone(), None, |_| async { None::<(u8, u8)> })
            .collect()
            .await;
        assert_eq!(ended, Vec::<u8>::new());
    }
}

//! A projection is a pure fold: events in, a read model out. No I/O, no clock, no async.
//!
//! The runner (`placeledger-runner`) keeps each projection's state with the position it has folded to, in
//! one transaction, and resumes from there after a restart; `rebuild` starts again from
//! position 0. Because the state is saved and loaded between batches, folding must give the
//! same result however the events are split into batches: each projection's property test
//! checks exactly that, with a save and load at every split.

use placeledger_domain::Event;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait Projection:
    Default + Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned
{
    /// The projection's name, as `placeledger projections rebuild NAME` takes it.
    const NAME: &'static str;
    /// The version of the state's shape: a saved state of another version is rebuilt, not
    /// loaded.
    const VERSION: u32;

    /// Folds one event in. Events arrive in position order, each exactly once.
    fn apply(&mut self, event: &Event);

    /// Folds several events in, in order.
    fn apply_all<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        for e in events {
            self.apply(e);
        }
    }
}

/// Folds `events` the way the runner does across restarts: in batches ending at each of
/// `cuts` (clamped, in any order), saving the state as JSON and loading it again after every
/// batch. Property tests compare this with [`Projection::apply_all`] in one pass.
pub fn fold_with_restarts<P: Projection>(events: &[Event], cuts: &[usize]) -> P {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| (*c).min(events.len())).collect();
    cuts.push(events.len());
    cuts.sort_unstable();
    let mut state = P::default();
    let mut from = 0;
    for cut in cuts {
        state.apply_all(&events[from..cut]);
        from = cut;
        // A state that does not survive its own round trip is a bug: folding on from an
        // empty state makes the comparison fail.
        state = serde_json::to_string(&state)
            .and_then(|s| serde_json::from_str::<P>(&s))
            .unwrap_or_default();
    }
    state
}

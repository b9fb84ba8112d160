//! The Placeledger planning domain: pure, synchronous, no I/O.
//!
//! Commands come in with their time and ids; [`decide`] checks them against the [`State`]
//! folded from past events and returns new [`Event`]s or a [`DomainError`] naming the
//! field that was wrong. [`evolve`] folds an event into the state. Nothing here is async,
//! touches a database, reads a clock or serialises to a particular format: the stored
//! form of events belongs to `placeledger-codec`.

pub mod commands;
pub mod error;
pub mod events;
pub mod state;
pub mod values;

pub use commands::{ActivityInput, CaseloadInput, Command, OpenSetting, Responsible};
pub use error::DomainError;
pub use events::{
    ActivityCell, CaseloadCell, Event, Lever, NcyCount, NeedPlaces, NewHome, PhaseYield, PlacedAt,
    TransferIn,
};
pub use state::{State, decide, evolve};
pub use values::*;

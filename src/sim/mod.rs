//! Simulated JK BMS packs, for tests, the demo and users without hardware: a pure pack model
//! ([`model`]) behind the real codec on pseudo-terminals ([`server`]).

pub mod model;

pub use model::{Faults, SimPack};
pub mod server;

//! busbar: several JK-BMS packs on one busbar, presented as one battery on CAN.
//!
//! The shape (DESIGN.md): sans-IO codecs ([`jk_nw`], [`jk02`]) turn bytes into a
//! [`pack::PackSnapshot`]; the pure core ([`battery`]) decides the limits with time passed in; thin adapters ([`serial`],
//! [`reader`], [`bus`]) do the I/O.
#![forbid(unsafe_code)]

pub mod battery;
pub mod bus;
pub mod can;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod jk02;
pub mod jk_nw;
pub mod monitor;
pub mod pack;
pub mod probe;
pub mod reader;
pub mod serial;
pub mod shutdown;
pub mod sim;

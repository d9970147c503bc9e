//! CAN output: the Victron "CAN-bus BMS" / Pylontech LV frame set (`protocols/victron-can.md`).

pub mod frame;

pub use frame::{CanFrame, CanFrameError};

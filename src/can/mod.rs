//! CAN output: the Victron "CAN-bus BMS" / Pylontech LV frame set (`protocols/victron-can.md`).

pub mod frame;
pub mod scheduler;

pub use frame::{CanFrame, CanFrameError};
pub use scheduler::{Limits, Plan, Scheduler};

//! CAN output: the Victron "CAN-bus BMS" / Pylontech LV frame set (`protocols/victron-can.md`).

pub mod candump;
pub mod episode;
pub mod frame;
pub mod memory;
pub mod scheduler;
pub mod socketcan;
pub mod transport;

pub use frame::{CanFrame, CanFrameError};
pub use scheduler::{Limits, Plan, Scheduler};
pub use transport::{open, BusState, CanOpenError, CanSendError, CanTransport, RxEvent, Transport};

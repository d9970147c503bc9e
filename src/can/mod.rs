//! CAN output: the Victron "CAN-bus BMS" / Pylontech LV frame set (`protocols/victron-can.md`).
//!
//! [`encode`] turns a [`BatteryState`](crate::battery::BatteryState) into frames; [`decode`]
//! reads candump text back into what an inverter hears (`busbar decode`); [`layout`] and [`id`]
//! hold what both agree on, as does `dbc/busbar.dbc`.

pub mod encode;
pub mod frame;
pub mod id;
pub mod layout;
pub mod settings;

pub use encode::{encode_all, encode_limits, EncodeError, FrameSet};
pub use frame::{CanFrame, CanFrameError};
pub use settings::{EncoderSettings, Firmware, SettingsError};

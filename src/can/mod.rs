//! CAN output: the Victron "CAN-bus BMS" / Pylontech LV frame set (`protocols/victron-can.md`).
//!
//! [`encode`] turns a [`BatteryState`](crate::battery::BatteryState) into frames; [`decode`]
//! reads them back into what an inverter hears, from candump text ([`candump`]), for
//! `busbar decode` ([`decode_command`], [`report`]). [`layout`] and [`id`] hold what encoder,
//! decoder and `dbc/busbar.dbc` agree on.

pub mod candump;
pub mod decode;
pub mod decode_command;
pub mod encode;
pub mod frame;
pub mod id;
pub mod layout;
pub mod report;
pub mod settings;

pub use decode::{DecodedBattery, Decoder};
pub use encode::{encode_all, encode_limits, EncodeError, FrameSet};
pub use frame::{CanFrame, CanFrameError};
pub use settings::{EncoderSettings, Firmware, SettingsError};

//! CAN output: the Victron "CAN-bus BMS" / Pylontech LV frame set (`protocols/victron-can.md`).
//!
//! [`encode`] turns a [`BatteryState`](crate::battery::BatteryState) into frames, [`scheduler`]
//! decides when they go out, and a [`transport`] puts them on the bus: SocketCAN
//! ([`socketcan`]), candump lines ([`candump`]) or memory ([`memory`]). [`decode`] reads frames
//! back into what an inverter hears, from candump text ([`candump_line`]), for `busbar decode`
//! ([`decode_command`], [`report`]). [`layout`] and [`id`] hold what encoder, decoder and
//! `dbc/busbar.dbc` agree on.

pub mod candump;
pub mod candump_line;
pub mod decode;
pub mod decode_command;
pub mod encode;
pub mod episode;
pub mod frame;
pub mod id;
pub mod layout;
pub mod memory;
pub mod report;
pub mod scheduler;
pub mod settings;
pub mod socketcan;
pub mod transport;

pub use decode::{DecodedBattery, Decoder};
pub use encode::{encode_all, encode_limits, EncodeError, FrameSet};
pub use frame::{CanFrame, CanFrameError};
pub use scheduler::{Limits, Plan, Scheduler};
pub use settings::{EncoderSettings, Firmware, SettingsError};
pub use transport::{open, BusState, CanOpenError, CanSendError, CanTransport, RxEvent, Transport};

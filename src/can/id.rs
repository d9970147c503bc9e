//! The frame identifiers busbar sends and hears (victron-can.md §3.2). 11-bit standard ids
//! (§3.1). The names are those of `dbc/busbar.dbc`.
//!
//! | id | constant | content | profile |
//! |---|---|---|---|
//! | 0x351 | [`LIMITS`] | CVL, CCL, DCL, DVL | both |
//! | 0x355 | [`SOC`] | SOC, SOH, SOC × 100 | both |
//! | 0x356 | [`MEASUREMENTS`] | voltage, current, temperature | both |
//! | 0x359 | [`PYLON_FLAGS`] | Pylon protection / alarm bits, module count, "PN" | pylon |
//! | 0x35A | [`ALARMS`] | Victron/SMA alarms and warnings (2-bit fields) | both |
//! | 0x35C | [`PYLON_REQUEST`] | Pylon charge / discharge enable | pylon |
//! | 0x35E | [`NAME`] | manufacturer name | both |
//! | 0x35F | [`INFO`] | product id, firmware, capacity, hardware | both |
//! | 0x370, 0x371 | [`BMS_NAME_1`], [`BMS_NAME_2`] | BMS name, 16 characters | both |
//! | 0x372 | [`MODULES`] | packs online / blocking charge / blocking discharge / offline | both |
//! | 0x373 | [`CELL_EXTREMES`] | min/max cell mV, min/max temperature K | both |
//! | 0x374–0x377 | [`MIN_CELL_ID`] .. [`MAX_TEMPERATURE_ID`] | which cell / sensor | both |
//! | 0x379 | [`INSTALLED_CAPACITY`] | installed Ah | both |
//! | 0x382 | [`PRODUCT_FAMILY`] | product family | both |
//! | 0x305 | [`INVERTER_KEEP_ALIVE`] | sent by the inverter / GX, not by busbar | — |

pub const LIMITS: u16 = 0x351;
pub const SOC: u16 = 0x355;
pub const MEASUREMENTS: u16 = 0x356;
pub const PYLON_FLAGS: u16 = 0x359;
pub const ALARMS: u16 = 0x35A;
pub const PYLON_REQUEST: u16 = 0x35C;
pub const NAME: u16 = 0x35E;
pub const INFO: u16 = 0x35F;
pub const BMS_NAME_1: u16 = 0x370;
pub const BMS_NAME_2: u16 = 0x371;
pub const MODULES: u16 = 0x372;
pub const CELL_EXTREMES: u16 = 0x373;
pub const MIN_CELL_ID: u16 = 0x374;
pub const MAX_CELL_ID: u16 = 0x375;
pub const MIN_TEMPERATURE_ID: u16 = 0x376;
pub const MAX_TEMPERATURE_ID: u16 = 0x377;
pub const INSTALLED_CAPACITY: u16 = 0x379;
pub const PRODUCT_FAMILY: u16 = 0x382;
/// Inverter → BMS keep-alive (§3.2 "Inverter/GX → BMS"); busbar only listens.
pub const INVERTER_KEEP_ALIVE: u16 = 0x305;

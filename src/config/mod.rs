//! The configuration file (TOML) of DESIGN.md "Contract / Config": schema, loading, and errors a
//! user can act on (file, line, key).
//!
//! Loading is three steps, each with its own error: read the file, deserialize it strictly
//! (`deny_unknown_fields`; [`serde_path_to_error`] names the key that failed), then
//! [`validate`] the values against each other. Problems found by validation are located in the
//! source with [`locate`] so they, too, carry a line number.

mod locate;
mod monitoring;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::battery::settings::to_milli;
use crate::battery::{BatterySettings, ConfigProblem, ControlConfig, LimitsConfig, PackSettings};

pub use monitoring::{HttpConfig, MqttConfig, Secret, DEFAULT_HTTP_LISTEN};
pub use validate::{validate, Findings};

/// The whole file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub battery: BatteryConfig,
    #[serde(default)]
    pub timing: TimingConfig,
    #[serde(default)]
    pub can: CanConfig,
    /// Per-pack limit tables (DESIGN.md "Per-pack limits"; defaults reproduce them).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// CVL phases, ramp rates, hysteresis.
    #[serde(default)]
    pub control: ControlConfig,
    /// Status page, `/api/state`, `/metrics`.
    #[serde(default)]
    pub http: HttpConfig,
    /// MQTT state and Home Assistant discovery.
    #[serde(default)]
    pub mqtt: MqttConfig,
    /// `[[pack]]` entries, in the order the user listed them.
    #[serde(rename = "pack", default)]
    pub packs: Vec<PackConfig>,
}

/// `[battery]`: what the inverter sees.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatteryConfig {
    /// Cells in series, the same for every pack.
    pub cells: usize,
    /// V per cell in absorption; CVL = cells × this.
    pub charge_voltage: f64,
    /// V per cell in float.
    pub float_voltage: f64,
    /// V per cell; DVL = cells × this.
    pub discharge_voltage: f64,
    /// A, cap for the whole system.
    pub max_charge_current: f64,
    /// A, cap for the whole system.
    pub max_discharge_current: f64,
}

/// `[timing]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingConfig {
    /// How often each pack is asked.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// No valid reading for this long = offline (DESIGN.md safety rule 1).
    #[serde(with = "humantime_serde")]
    pub offline_after: Duration,
    /// Cadence of the full CAN frame set.
    #[serde(with = "humantime_serde")]
    pub can_interval: Duration,
}

impl Default for TimingConfig {
    fn default() -> Self {
        // DESIGN.md defaults.
        Self {
            poll_interval: Duration::from_secs(1),
            offline_after: Duration::from_secs(3),
            can_interval: Duration::from_secs(1),
        }
    }
}

/// `[can]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CanConfig {
    /// A SocketCAN interface (`can0`), or `candump:-` / `candump:PATH` for candump -L lines.
    pub interface: String,
    /// Which frame set the inverter expects.
    pub profile: CanProfile,
    /// Manufacturer name in frame 0x35E (at most 8 ASCII characters).
    pub name: String,
}

impl Default for CanConfig {
    fn default() -> Self {
        Self {
            interface: "can0".into(),
            profile: CanProfile::Victron,
            // DESIGN.md rule 9: a neutral name, so Venus applies no brand quirks.
            name: "BUSBAR".into(),
        }
    }
}

/// The CAN dialect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CanProfile {
    /// Victron "CAN-bus BMS": the 0x351..0x382 set (victron-can.md §3.8).
    #[default]
    Victron,
    /// Pylontech LV inverters: adds 0x359 and 0x35C and listens for the inverter's 0x305.
    Pylon,
}

/// Which serial protocol a pack speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum Protocol {
    /// JK-B / JK-BD UART-TTL "GPS/RS485" port, NW frames (`protocols/jk-nw.md`).
    #[serde(rename = "jk-nw")]
    JkNw,
    /// JK-PB inverter BMS on an RS485 bus, JK02 frames (`protocols/jk02.md`).
    #[serde(rename = "jk-pb")]
    JkPb,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::JkNw => "jk-nw",
            Protocol::JkPb => "jk-pb",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[pack]]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PackConfig {
    pub name: String,
    pub port: PathBuf,
    pub protocol: Protocol,
    /// jk-pb only: DIP-switch address, never 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<u8>,
    /// A, this pack's base value when nothing limits it.
    pub max_charge_current: f64,
    /// A.
    pub max_discharge_current: f64,
}

/// A problem with one key of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Key path as the user wrote it, e.g. `pack[1].address` (array indices count from 0, as
    /// in TOML tools).
    pub key: String,
    /// 1-based line in the file, where it could be found.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// Why a configuration could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, a wrong type, an unknown or a missing key.
    #[error("{}: {problem}", path.display())]
    Parse { path: PathBuf, problem: Problem },
    /// Well-formed, but the values are impossible or contradict each other.
    #[error("{}: {} problem(s):\n{}", path.display(), problems.len(), list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A configuration that passed validation, with the warnings it raised.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Problem>,
}

impl Config {
    /// Read, parse and validate a file.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_source(path, &source)
    }

    /// Parse and validate `source`; `path` only names the file in messages.
    pub fn from_source(path: &Path, source: &str) -> Result<Loaded, ConfigError> {
        let config = parse(source).map_err(|problem| ConfigError::Parse {
            path: path.to_owned(),
            problem,
        })?;
        let Findings { errors, warnings } = validate(&config);
        let locate_all = |found: Vec<(String, String)>| -> Vec<Problem> {
            found
                .into_iter()
                .map(|(key, message)| Problem {
                    line: locate::line_of_key(source, &key),
                    key,
                    message,
                })
                .collect()
        };
        let errors = locate_all(errors);
        if !errors.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems: errors,
            });
        }
        Ok(Loaded {
            config,
            warnings: locate_all(warnings),
        })
    }

    /// What the core needs, in its integer units. Fails, naming the key, only on values that
    /// cannot be converted (negative, not finite); [`validate`] reports those too.
    pub fn battery_settings(&self) -> Result<BatterySettings, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut milli = |key: String, value: f64| {
            to_milli(value).unwrap_or_else(|| {
                problems.push(ConfigProblem::new(
                    key,
                    format!("{value} is not a usable value"),
                ));
                0
            })
        };
        let b = &self.battery;
        let packs = self
            .packs
            .iter()
            .enumerate()
            .map(|(i, p)| PackSettings {
                name: p.name.clone(),
                max_charge_current_ma: milli(
                    format!("pack[{i}].max_charge_current"),
                    p.max_charge_current,
                ),
                max_discharge_current_ma: milli(
                    format!("pack[{i}].max_discharge_current"),
                    p.max_discharge_current,
                ),
            })
            .collect();
        let settings = BatterySettings {
            cells: b.cells,
            charge_voltage_mv: milli("battery.charge_voltage".into(), b.charge_voltage),
            float_voltage_mv: milli("battery.float_voltage".into(), b.float_voltage),
            discharge_voltage_mv: milli("battery.discharge_voltage".into(), b.discharge_voltage),
            max_charge_current_ma: milli("battery.max_charge_current".into(), b.max_charge_current),
            max_discharge_current_ma: milli(
                "battery.max_discharge_current".into(),
                b.max_discharge_current,
            ),
            offline_after: self.timing.offline_after,
            packs,
            limits: self.limits.clone(),
            control: self.control.clone(),
        };
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// The effective settings as TOML, defaults filled in (`busbar check-config`).
    pub fn to_toml(&self) -> String {
        // Every field is a plain value, string, duration or array of tables, which TOML can
        // always represent, so serialisation cannot fail.
        toml::to_string_pretty(self).expect("config is always representable as TOML")
    }
}

/// Deserialize strictly; the error names the key and line.
fn parse(source: &str) -> Result<Config, Problem> {
    let deserializer = toml::Deserializer::new(source);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let line = inner.span().map(|span| locate::line_at(source, span.start));
        // toml's Display repeats the source snippet; the message alone reads better after
        // "file: line N: key:".
        let message = inner.message().trim().to_string();
        let key = if key == "." || key.is_empty() {
            "(top level)".to_string()
        } else {
            key
        };
        Problem { key, line, message }
    })
}

#[cfg(test)]
mod tests;

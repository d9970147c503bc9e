//! What monitoring sees: one immutable snapshot of the daemon, built by the main loop and handed
//! over as an `Arc` through a watch channel. The status page, `/api/state`, `/metrics` and MQTT
//! all read this one value, so they always agree with each other and with what went on CAN.
//!
//! Units here are the user's (V, A, °C, %), as in DESIGN.md "Pack JSON"; this struct *is* the
//! `/api/state` document.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::battery::{describe, AlarmFields, Battery, BatteryState, Flag, PackLimit};
use crate::config::Config;
use crate::pack::PackJson;

/// The whole daemon at one moment (`GET /api/state`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    /// busbar's version.
    pub version: &'static str,
    /// Seconds since the daemon started.
    pub uptime_s: f64,
    /// The virtual battery as sent on CAN; `null` while busbar still waits for the first
    /// answers (DESIGN.md rule 6: nothing is sent then).
    pub battery: Option<BatteryView>,
    /// Config order.
    pub packs: Vec<PackView>,
    pub can: CanView,
}

/// The virtual battery (CAN 0x351..0x379), in V / A / °C.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatteryView {
    pub cvl: f64,
    pub ccl: f64,
    pub dcl: f64,
    pub dvl: f64,
    /// "absorption" or "float".
    pub charge_phase: &'static str,
    pub cvl_reason: String,
    pub charge_limited_by: String,
    pub discharge_limited_by: String,
    /// The limits went down in this state.
    pub lowered: bool,
    pub soc: Option<f64>,
    pub soh: u8,
    pub voltage: f64,
    pub current: f64,
    pub power: f64,
    pub temperature: Option<f64>,
    pub min_cell: Option<CellRef>,
    pub max_cell: Option<CellRef>,
    pub min_temperature: Option<SensorRef>,
    pub max_temperature: Option<SensorRef>,
    pub packs_online: usize,
    pub packs_offline: usize,
    pub packs_blocking_charge: usize,
    pub packs_blocking_discharge: usize,
    pub installed_capacity_ah: u32,
    /// Raised 0x35A alarm fields, e.g. "bms_internal".
    pub alarms: Vec<&'static str>,
    pub warnings: Vec<&'static str>,
}

/// One cell of one pack.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CellRef {
    pub pack: String,
    /// From 1.
    pub cell: usize,
    pub voltage: f64,
}

/// One temperature sensor of one pack.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SensorRef {
    pub pack: String,
    /// From 1 (T1..Tn).
    pub sensor: usize,
    pub celsius: f64,
}

/// One pack: where it is, whether it counts, what it may carry, and its last valid reading.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PackView {
    pub name: String,
    pub port: String,
    pub protocol: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u8>,
    /// DESIGN.md rule 1: a valid reading younger than `offline_after`.
    pub online: bool,
    /// Seconds since the last valid reading; `null` if it never answered.
    pub last_heard_s: Option<f64>,
    /// This pack's CCL contribution, A (0 while offline, MOSFET off or blocked).
    pub charge_limit: f64,
    pub charge_limited_by: String,
    pub discharge_limit: f64,
    pub discharge_limited_by: String,
    pub frames: PackCounters,
    /// The last failed poll or rejected reading since the last valid one.
    pub last_problem: Option<String>,
    /// The last valid reading (DESIGN.md "Pack JSON" fields), kept while offline so the page
    /// can show what it said last; absent if it never answered.
    #[serde(flatten)]
    pub reading: Option<PackJson>,
}

/// What came back from one pack's port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PackCounters {
    /// Readings that reached the core and were accepted.
    pub good: u64,
    /// Frames rejected: checksum, length, payload, or an implausible reading (rule 1).
    pub bad: u64,
    /// Polls with no complete answer in time.
    pub timeouts: u64,
    /// Polls that failed on the link itself (port missing, adapter gone).
    pub link_errors: u64,
}

/// What went on the CAN bus.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CanView {
    pub interface: String,
    pub profile: &'static str,
    /// Frames the transport accepted.
    pub frames_sent: u64,
    /// Frames that could not be sent (bus down, queue full past its retry, encoder refusal).
    pub frames_failed: u64,
}

/// Counters the main loop keeps; plain numbers (it is the only writer) copied into each
/// [`Status`].
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub packs: Vec<PackCounters>,
    pub last_problem: Vec<Option<String>>,
    pub can_frames_sent: u64,
    pub can_frames_failed: u64,
}

impl Counters {
    pub fn new(packs: usize) -> Self {
        Self {
            packs: vec![PackCounters::default(); packs],
            last_problem: vec![None; packs],
            ..Self::default()
        }
    }

    fn pack(&mut self, pack: usize) -> Option<&mut PackCounters> {
        self.packs.get_mut(pack)
    }

    /// A reading was accepted by the core.
    pub fn good(&mut self, pack: usize, bad_frames_before: u32) {
        if let Some(c) = self.pack(pack) {
            c.good += 1;
            c.bad += u64::from(bad_frames_before);
        }
        if let Some(p) = self.last_problem.get_mut(pack) {
            *p = None;
        }
    }

    /// A reading arrived but the core rejected it (rule 1), or a poll failed.
    pub fn problem(&mut self, pack: usize, kind: Problem, bad_frames: u32, why: String) {
        if let Some(c) = self.pack(pack) {
            c.bad += u64::from(bad_frames);
            match kind {
                Problem::Rejected => c.bad += 1,
                Problem::Timeout => c.timeouts += 1,
                Problem::Link => c.link_errors += 1,
            }
        }
        if let Some(p) = self.last_problem.get_mut(pack) {
            *p = Some(why);
        }
    }
}

/// Which counter a problem goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    Rejected,
    Timeout,
    Link,
}

/// Everything a [`Status`] is built from.
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub battery: &'a Battery,
    pub state: Option<&'a BatteryState>,
    pub counters: &'a Counters,
    pub started: Instant,
    pub now: Instant,
}

impl Status {
    pub fn build(inputs: &Inputs<'_>) -> Status {
        let Inputs {
            config,
            battery,
            state,
            counters,
            started,
            now,
        } = *inputs;
        let packs = config
            .packs
            .iter()
            .enumerate()
            .map(|(i, pack)| {
                let reading = battery.last_reading(i);
                let report = state.and_then(|s| s.packs.get(i));
                let (charge, discharge) = match report {
                    Some(r) => (limit_view(&r.charge), limit_view(&r.discharge)),
                    // Before the first state nothing is sent: nothing is allowed either.
                    None => (
                        (0.0, "waiting for the first answers".into()),
                        (0.0, "waiting for the first answers".into()),
                    ),
                };
                PackView {
                    name: pack.name.clone(),
                    port: pack.port.display().to_string(),
                    protocol: pack.protocol.as_str(),
                    address: pack.address,
                    online: battery.is_online(i, now),
                    last_heard_s: reading.map(|(_, at)| secs(now.saturating_duration_since(at))),
                    charge_limit: charge.0,
                    charge_limited_by: charge.1,
                    discharge_limit: discharge.0,
                    discharge_limited_by: discharge.1,
                    frames: counters.packs.get(i).copied().unwrap_or_default(),
                    last_problem: counters.last_problem.get(i).cloned().flatten(),
                    reading: reading.map(|(snapshot, _)| PackJson::from(snapshot)),
                }
            })
            .collect();
        Status {
            version: env!("CARGO_PKG_VERSION"),
            uptime_s: secs(now.saturating_duration_since(started)),
            battery: state.map(battery_view),
            packs,
            can: CanView {
                interface: config.can.interface.clone(),
                profile: match config.can.profile {
                    crate::config::CanProfile::Victron => "victron",
                    crate::config::CanProfile::Pylon => "pylon",
                },
                frames_sent: counters.can_frames_sent,
                frames_failed: counters.can_frames_failed,
            },
        }
    }
}

fn limit_view(limit: &PackLimit) -> (f64, String) {
    (amps(limit.current_ma), limit.reason.to_string())
}

fn battery_view(s: &BatteryState) -> BatteryView {
    let name = |pack: usize| describe::pack_name(s, pack).to_string();
    let voltage = volts(s.voltage_mv);
    let current = f64::from(s.current_ma) / 1000.0;
    BatteryView {
        cvl: volts(s.cvl_mv),
        ccl: amps(s.ccl_ma),
        dcl: amps(s.dcl_ma),
        dvl: volts(s.dvl_mv),
        charge_phase: describe::phase(s.charge_phase),
        cvl_reason: describe::cvl_reason(s),
        charge_limited_by: describe::system_limit(s, s.charge_limit, "charge"),
        discharge_limited_by: describe::system_limit(s, s.discharge_limit, "discharge"),
        lowered: s.lowered,
        soc: s.soc_centi_pct.map(|c| f64::from(c) / 100.0),
        soh: s.soh_pct,
        voltage,
        current,
        power: (voltage * current * 10.0).round() / 10.0,
        temperature: s.temperature_dc.map(deci),
        min_cell: s.min_cell.map(|c| CellRef {
            pack: name(c.pack),
            cell: c.cell,
            voltage: f64::from(c.mv) / 1000.0,
        }),
        max_cell: s.max_cell.map(|c| CellRef {
            pack: name(c.pack),
            cell: c.cell,
            voltage: f64::from(c.mv) / 1000.0,
        }),
        min_temperature: s.min_temperature.map(|t| SensorRef {
            pack: name(t.pack),
            sensor: t.sensor,
            celsius: deci(t.dc),
        }),
        max_temperature: s.max_temperature.map(|t| SensorRef {
            pack: name(t.pack),
            sensor: t.sensor,
            celsius: deci(t.dc),
        }),
        packs_online: s.counts.online,
        packs_offline: s.counts.offline,
        packs_blocking_charge: s.counts.blocking_charge,
        packs_blocking_discharge: s.counts.blocking_discharge,
        installed_capacity_ah: s.installed_capacity_ah,
        alarms: raised(&s.alarms.alarms),
        warnings: raised(&s.alarms.warnings),
    }
}

/// The 0x35A fields raised in one half, by name (`general` is implied by any other).
pub fn raised(fields: &AlarmFields) -> Vec<&'static str> {
    [
        ("high_voltage", fields.high_voltage),
        ("low_voltage", fields.low_voltage),
        ("high_temperature", fields.high_temperature),
        ("low_temperature", fields.low_temperature),
        ("high_temperature_charge", fields.high_temperature_charge),
        ("low_temperature_charge", fields.low_temperature_charge),
        ("high_discharge_current", fields.high_discharge_current),
        ("high_charge_current", fields.high_charge_current),
        ("contactor", fields.contactor),
        ("short_circuit", fields.short_circuit),
        ("bms_internal", fields.bms_internal),
        ("cell_imbalance", fields.cell_imbalance),
    ]
    .into_iter()
    .filter(|(_, flag)| *flag == Flag::Active)
    .map(|(name, _)| name)
    .collect()
}

fn volts(mv: u32) -> f64 {
    f64::from(mv) / 1000.0
}

fn amps(ma: u32) -> f64 {
    f64::from(ma) / 1000.0
}

fn deci(dc: i16) -> f64 {
    f64::from(dc) / 10.0
}

/// Seconds, rounded to 0.1 s: enough for "last heard 2.3 s ago", and stable JSON.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

/// A fixed status for tests of everything that reads one: the seed set-up with pack2's cell 12
/// at 3.47 V, pack5 never heard, a few bad frames and timeouts.
#[cfg(test)]
pub(crate) mod fixture {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::{Counters, Inputs, Problem, Status};
    use crate::battery::Battery;
    use crate::config::Config;
    use crate::pack::{Alarms, PackSnapshot};

    pub(crate) fn config() -> Config {
        let example = include_str!("../../config/busbar.example.toml");
        Config::from_source(Path::new("busbar.example.toml"), example)
            .expect("the example config is valid (a config test checks it)")
            .config
    }

    fn pack(cell_mv: u16, soc: u8, current_ma: i32) -> PackSnapshot {
        let mut p = PackSnapshot {
            cell_voltages_mv: (0..16u16).map(|i| cell_mv + i % 3).collect(),
            temperatures_dc: [215, 221].into_iter().collect(),
            mos_temperature_dc: Some(254),
            soc_pct: soc,
            cycles: 42,
            capacity_ah: 280.0,
            remaining_capacity_ah: Some(140.0),
            charge_mosfet: true,
            discharge_mosfet: true,
            current_ma,
            ..PackSnapshot::default()
        };
        p.voltage_mv = p.cell_sum_mv();
        p
    }

    /// (status, the instant it was built at).
    pub(crate) fn status() -> Status {
        let config = config();
        let t0 = Instant::now();
        let mut battery = Battery::new(config.battery_settings().expect("valid"), t0)
            .expect("the seed set-up is valid");
        let mut counters = Counters::new(config.packs.len());
        let heard = t0 + Duration::from_millis(1200);
        for i in 0..4 {
            let mut snapshot = pack(3300, 50 + i as u8, 10_000);
            if i == 1 {
                snapshot.cell_voltages_mv[11] = 3470;
                snapshot.voltage_mv = snapshot.cell_sum_mv();
                snapshot.balancing = true;
                snapshot.balance_current_ma = Some(120);
                // Not blocking: the pack still contributes, the page and metrics show it.
                snapshot.alarms = Alarms::CELL_VOLTAGE_DIFFERENCE;
            }
            battery.accept(i, heard, snapshot).expect("plausible");
            counters.good(i, u32::from(i == 2));
        }
        counters.problem(
            4,
            Problem::Timeout,
            0,
            "no complete answer from /dev/ttyUSB4 within 800 ms (0 bytes received)".into(),
        );
        counters.problem(4, Problem::Link, 2, "adapter gone".into());
        counters.can_frames_sent = 180;
        counters.can_frames_failed = 1;
        // Past offline_after (3 s): the start-up silence is over, pack5 counts as offline.
        let now = t0 + Duration::from_millis(3500);
        let state = battery.tick(now).expect("offline_after has passed");
        Status::build(&Inputs {
            config: &config,
            battery: &battery,
            state: Some(&state),
            counters: &counters,
            started: t0,
            now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offline_pack_contributes_nothing_and_says_it_was_never_heard() {
        let s = fixture::status();
        let pack5 = &s.packs[4];
        assert!(!pack5.online);
        assert_eq!(pack5.last_heard_s, None);
        assert_eq!(pack5.reading, None);
        assert_eq!(pack5.charge_limit, 0.0);
        assert_eq!(pack5.discharge_limit, 0.0);
        assert_eq!(pack5.charge_limited_by, "being offline");
        assert_eq!(pack5.last_problem.as_deref(), Some("adapter gone"));
        assert_eq!(
            pack5.frames,
            PackCounters {
                good: 0,
                bad: 2,
                timeouts: 1,
                link_errors: 1
            }
        );
        let b = s.battery.as_ref().expect("a state was built");
        assert_eq!((b.packs_online, b.packs_offline), (4, 1));
    }

    #[test]
    fn a_limited_pack_names_its_rule_and_the_battery_names_the_pack() {
        let s = fixture::status();
        let pack2 = &s.packs[1];
        assert!(pack2.online);
        assert_eq!(pack2.last_heard_s, Some(2.3));
        // DESIGN.md: highest cell 3.45–3.50 V → 30 A.
        assert_eq!(pack2.charge_limit, 30.0);
        assert_eq!(pack2.charge_limited_by, "cell 12 at 3.47 V");
        assert_eq!(pack2.discharge_limit, 70.0);
        let b = s.battery.as_ref().expect("a state was built");
        let max = b.max_cell.as_ref().expect("cells online");
        assert_eq!(
            (max.pack.as_str(), max.cell, max.voltage),
            ("pack2", 12, 3.47)
        );
        // Four packs online: the sum is below the cap, and rising from the start-up value.
        assert!(b.ccl <= 60.0 * 3.0 + 30.0, "ccl {}", b.ccl);
        assert_eq!(b.cvl, 55.2);
        assert_eq!(b.dvl, 46.4);
    }

    #[test]
    fn the_json_has_the_design_pack_fields_at_the_top_of_each_pack() {
        let s = fixture::status();
        let json = serde_json::to_value(&s).expect("serialisable");
        let pack1 = &json["packs"][0];
        for key in [
            "voltage",
            "current",
            "soc",
            "cell_voltages",
            "temperatures",
            "mos_temperature",
            "charge_enabled",
            "discharge_enabled",
            "balancing",
            "cycles",
            "capacity_ah",
            "alarms",
        ] {
            assert!(pack1.get(key).is_some(), "pack JSON lacks {key}: {pack1}");
        }
        assert_eq!(pack1["cell_voltages"].as_array().map(Vec::len), Some(16));
        // The never-heard pack has none of them, rather than zeros.
        assert!(json["packs"][4].get("voltage").is_none());
        assert!(json["packs"][4].get("cell_voltages").is_none());
    }

    #[test]
    fn the_json_matches_the_published_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/api-state.schema.json"))
                .expect("the schema is JSON");
        let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
        let s = fixture::status();
        let json = serde_json::to_value(&s).expect("serialisable");
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // And the schema is strict enough to catch a wrong type.
        let mut broken = json.clone();
        broken["packs"][0]["online"] = serde_json::json!("yes");
        assert!(!validator.is_valid(&broken));
        let mut missing = json;
        missing["battery"]
            .as_object_mut()
            .expect("battery is an object")
            .remove("ccl");
        assert!(!validator.is_valid(&missing));
    }

    #[test]
    fn before_the_first_state_there_is_no_battery_and_nothing_is_allowed() {
        let config = fixture::config();
        let t0 = Instant::now();
        let battery = Battery::new(config.battery_settings().expect("valid"), t0).expect("valid");
        let s = Status::build(&Inputs {
            config: &config,
            battery: &battery,
            state: None,
            counters: &Counters::new(config.packs.len()),
            started: t0,
            now: t0,
        });
        assert!(s.battery.is_none());
        assert!(s.packs.iter().all(|p| !p.online && p.charge_limit == 0.0));
    }
}

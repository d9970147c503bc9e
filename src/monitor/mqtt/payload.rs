//! State payloads (JSON) from a [`Status`]. Pure.
//!
//! Each is the same object `/api/state` shows for that part (so one set of field names serves
//! the page, Home Assistant, ioBroker and Node-RED), plus a few flat fields a template can read
//! without looking into nested objects that may be `null`:
//!
//! - battery: `min_cell_voltage`, `max_cell_voltage`, `cell_delta`, `min_temperature`,
//!   `max_temperature`;
//! - pack: `cell_min_voltage`, `cell_min_number`, `cell_max_voltage`, `cell_max_number`,
//!   `temperature_min`, `temperature_max`.
//!
//! A value that is not known is `null`, never left out, so a template never reads an undefined
//! field (Home Assistant shows `null` as "unknown").

use serde_json::{json, Map, Value};

use super::topics::{OFFLINE, ONLINE};
use crate::monitor::status::{BatteryView, PackView, Status};

/// `<prefix>/state`: the whole document.
pub fn status(status: &Status) -> Result<String, serde_json::Error> {
    serde_json::to_string(status)
}

/// `<prefix>/battery/state`.
pub fn battery(view: &BatteryView) -> Result<String, serde_json::Error> {
    let mut object = to_object(view)?;
    let min = view.min_cell.as_ref().map(|c| c.voltage);
    let max = view.max_cell.as_ref().map(|c| c.voltage);
    object.insert("min_cell_voltage".into(), json!(min));
    object.insert("max_cell_voltage".into(), json!(max));
    object.insert(
        "cell_delta".into(),
        json!(min.zip(max).map(|(lo, hi)| round3(hi - lo))),
    );
    object.insert(
        "min_temperature".into(),
        json!(view.min_temperature.as_ref().map(|t| t.celsius)),
    );
    object.insert(
        "max_temperature".into(),
        json!(view.max_temperature.as_ref().map(|t| t.celsius)),
    );
    serde_json::to_string(&object)
}

/// Fields of the last reading (DESIGN.md "Pack JSON") a pack that never answered still has,
/// as `null`, so its templates read "unknown" rather than fail.
const READING_FIELDS: [&str; 11] = [
    "voltage",
    "current",
    "power",
    "soc",
    "mos_temperature",
    "charge_enabled",
    "discharge_enabled",
    "balancing",
    "cycles",
    "cell_delta",
    "remaining_capacity_ah",
];

/// `<prefix>/pack/<name>/state`.
pub fn pack(view: &PackView) -> Result<String, serde_json::Error> {
    let mut object = to_object(view)?;
    let reading = view.reading.as_ref();
    let cell_min = reading.and_then(|r| r.cell_min.as_ref());
    let cell_max = reading.and_then(|r| r.cell_max.as_ref());
    object.insert(
        "cell_min_voltage".into(),
        json!(cell_min.map(|c| c.voltage)),
    );
    object.insert("cell_min_number".into(), json!(cell_min.map(|c| c.cell)));
    object.insert(
        "cell_max_voltage".into(),
        json!(cell_max.map(|c| c.voltage)),
    );
    object.insert("cell_max_number".into(), json!(cell_max.map(|c| c.cell)));
    let temperatures = reading.map(|r| r.temperatures.as_slice()).unwrap_or(&[]);
    object.insert(
        "temperature_min".into(),
        json!(temperatures.iter().copied().reduce(f64::min)),
    );
    object.insert(
        "temperature_max".into(),
        json!(temperatures.iter().copied().reduce(f64::max)),
    );
    for field in READING_FIELDS {
        object.entry(field).or_insert(Value::Null);
    }
    for field in ["cell_voltages", "temperatures"] {
        object.entry(field).or_insert_with(|| json!([]));
    }
    serde_json::to_string(&object)
}

/// `<prefix>/pack/<name>/availability`.
pub fn pack_availability(view: &PackView) -> &'static str {
    if view.online {
        ONLINE
    } else {
        OFFLINE
    }
}

fn to_object<T: serde::Serialize>(value: &T) -> Result<Map<String, Value>, serde_json::Error> {
    match serde_json::to_value(value)? {
        Value::Object(map) => Ok(map),
        // Both views are structs; serde_json makes every struct an object.
        other => Ok(Map::from_iter([("value".to_string(), other)])),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::status::{CellRef, PackCounters, SensorRef};
    use crate::pack::PackSnapshot;

    pub(crate) fn battery_view() -> BatteryView {
        BatteryView {
            cvl: 55.2,
            ccl: 120.0,
            dcl: 140.0,
            dvl: 46.4,
            charge_phase: "absorption",
            cvl_reason: "absorption".into(),
            charge_limited_by: "sum of packs".into(),
            discharge_limited_by: "sum of packs".into(),
            lowered: false,
            soc: Some(61.5),
            soh: 100,
            voltage: 53.1,
            current: -12.5,
            power: -663.8,
            temperature: Some(24.5),
            min_cell: Some(CellRef {
                pack: "pack1".into(),
                cell: 3,
                voltage: 3.301,
            }),
            max_cell: Some(CellRef {
                pack: "pack2".into(),
                cell: 16,
                voltage: 3.322,
            }),
            min_temperature: Some(SensorRef {
                pack: "pack1".into(),
                sensor: 1,
                celsius: 23.0,
            }),
            max_temperature: None,
            packs_online: 2,
            packs_offline: 0,
            packs_blocking_charge: 0,
            packs_blocking_discharge: 0,
            installed_capacity_ah: 560,
            alarms: vec![],
            warnings: vec!["cell_imbalance"],
        }
    }

    pub(crate) fn pack_view(name: &str, reading: Option<PackSnapshot>) -> PackView {
        PackView {
            name: name.into(),
            port: "/dev/ttyUSB0".into(),
            protocol: "jk-nw",
            address: None,
            online: reading.is_some(),
            last_heard_s: reading.as_ref().map(|_| 0.4),
            charge_limit: 60.0,
            charge_limited_by: "pack max".into(),
            discharge_limit: 70.0,
            discharge_limited_by: "pack max".into(),
            frames: PackCounters::default(),
            last_problem: None,
            reading: reading.map(|s| s.to_json()),
        }
    }

    pub(crate) fn snapshot() -> PackSnapshot {
        let mut s = PackSnapshot::default();
        for mv in [3301, 3310, 3322, 3305] {
            s.cell_voltages_mv.push(mv).unwrap_or_default();
        }
        for dc in [231, 245] {
            s.temperatures_dc.push(dc).unwrap_or_default();
        }
        s
    }

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn battery_state_is_the_view_plus_flat_fields() {
        let v = parse(&battery(&battery_view()).unwrap());
        assert_eq!(v["cvl"], 55.2);
        assert_eq!(v["ccl"], 120.0);
        assert_eq!(v["soc"], 61.5);
        assert_eq!(v["power"], -663.8);
        assert_eq!(v["min_cell"]["pack"], "pack1");
        assert_eq!(v["min_cell_voltage"], 3.301);
        assert_eq!(v["max_cell_voltage"], 3.322);
        assert_eq!(v["cell_delta"], 0.021);
        assert_eq!(v["min_temperature"], 23.0);
        assert_eq!(v["max_temperature"], Value::Null);
        assert_eq!(v["warnings"][0], "cell_imbalance");
    }

    #[test]
    fn pack_state_carries_cells_limits_and_flat_extremes() {
        let view = pack_view("pack1", Some(snapshot()));
        let v = parse(&pack(&view).unwrap());
        assert_eq!(v["name"], "pack1");
        assert_eq!(v["online"], true);
        assert_eq!(v["last_heard_s"], 0.4);
        assert_eq!(v["charge_limit"], 60.0);
        assert_eq!(v["discharge_limit"], 70.0);
        assert_eq!(v["cell_voltages"].as_array().unwrap().len(), 4);
        assert_eq!(v["cell_min_voltage"], 3.301);
        assert_eq!(v["cell_min_number"], 1);
        assert_eq!(v["cell_max_voltage"], 3.322);
        assert_eq!(v["cell_max_number"], 3);
        assert_eq!(v["temperature_min"], 23.1);
        assert_eq!(v["temperature_max"], 24.5);
        assert_eq!(pack_availability(&view), ONLINE);
    }

    #[test]
    fn a_pack_never_heard_is_offline_with_nulls_not_missing_fields() {
        let view = pack_view("pack2", None);
        let v = parse(&pack(&view).unwrap());
        assert_eq!(v["online"], false);
        assert_eq!(v["last_heard_s"], Value::Null);
        for field in READING_FIELDS {
            assert_eq!(v.get(field), Some(&Value::Null), "{field}");
        }
        assert_eq!(v["cell_voltages"], json!([]));
        assert_eq!(v["cell_min_voltage"], Value::Null);
        assert_eq!(pack_availability(&view), OFFLINE);
    }
}

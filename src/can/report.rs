//! A [`DecodedBattery`] as a person reads it (`busbar decode`) and as one JSON object
//! (`busbar decode --json`). Numbers are printed from the integers as sent, with the wire's
//! own resolution (CVL 0.1 V, voltage 0.01 V, …), so nothing is rounded twice.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::decode::{kelvin_to_celsius, DecodedBattery, Stats, Text};

/// `value` / 10^`decimals` with exactly `decimals` decimals: `fixed(-7, 1)` = "-0.7".
fn fixed(value: i64, decimals: u32) -> String {
    let scale = 10i64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let scale_u = scale.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    format!(
        "{sign}{}.{:0width$}",
        abs / scale_u,
        abs % scale_u,
        width = decimals as usize
    )
}

/// mV (or mA) as sent in 0.1 units → "55.2".
fn tenths(milli: i64) -> String {
    fixed(milli / 100, 1)
}

/// snake_case field name → words: "high_temperature_charge" → "high temperature while
/// charging", "bms_internal" → "BMS internal".
pub fn words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let spaced = spaced.replace("bms", "BMS");
    match spaced.strip_suffix(" charge") {
        Some(head) if head.contains("temperature") => format!("{head} while charging"),
        _ => spaced,
    }
}

fn list(names: impl Iterator<Item = &'static str>) -> String {
    let all: Vec<String> = names.map(words).collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

fn text_or(t: Option<Text>, unknown: &str) -> String {
    match t {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => unknown.into(),
    }
}

const NOT_HEARD: &str = "not heard";

/// The human report, one line per subject, ending with a newline.
pub fn human(b: &DecodedBattery, stats: &Stats) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: String| {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{label:<13} {text}");
    };

    line(
        "name",
        b.name
            // Quoted, so that padding spaces show.
            .map_or_else(|| format!("{NOT_HEARD} (0x35E)"), |n| format!("\"{n}\"")),
    );
    let mut bms = b
        .bms_name()
        .unwrap_or_else(|| format!("{NOT_HEARD} (0x370/0x371)"));
    if let Some(info) = b.info {
        let _ = write!(
            bms,
            ", firmware {}.{}, product id 0x{:04X}",
            info.firmware.major, info.firmware.minor, info.product_id
        );
    }
    if let Some(family) = b.product_family {
        let _ = write!(bms, ", family {family}");
    }
    line("BMS", bms);

    line(
        "limits",
        b.limits.map_or_else(
            || format!("{NOT_HEARD} (0x351)"),
            |l| {
                format!(
                    "CVL {} V   CCL {} A   DCL {} A   DVL {} V",
                    tenths(l.cvl_mv.into()),
                    tenths(l.ccl_ma.into()),
                    tenths(l.dcl_ma.into()),
                    tenths(l.dvl_mv.into())
                )
            },
        ),
    );
    line(
        "charge",
        b.soc.map_or_else(
            || format!("{NOT_HEARD} (0x355)"),
            |s| {
                let precise = s
                    .soc_centi_pct
                    .map(|c| format!(" ({} %)", fixed(c.into(), 2)))
                    .unwrap_or_default();
                format!("SOC {} %{precise}   SOH {} %", s.soc_pct, s.soh_pct)
            },
        ),
    );
    line(
        "battery",
        b.measurements.map_or_else(
            || format!("{NOT_HEARD} (0x356)"),
            |m| {
                let direction = match m.current_ma {
                    0 => "idle",
                    i if i > 0 => "charging",
                    _ => "discharging",
                };
                let t = m.temperature_dc.map_or_else(
                    || "temperature unknown".into(),
                    |t| format!("{} °C", fixed(t.into(), 1)),
                );
                format!(
                    "{} V   {} A ({direction})   {t}",
                    fixed((m.voltage_mv / 10).into(), 2),
                    tenths(m.current_ma.into())
                )
            },
        ),
    );
    match b.alarms {
        Some(a) => {
            line("alarms", list(a.active_alarms()));
            line("warnings", list(a.active_warnings()));
        }
        None => line("alarms", format!("{NOT_HEARD} (0x35A)")),
    }
    let cells = b.cells;
    line(
        "cells",
        cells.map_or_else(
            || format!("{NOT_HEARD} (0x373)"),
            |c| {
                let cell = |mv: Option<u16>, id: Option<Text>| match mv {
                    Some(mv) => format!("{} V ({})", fixed(mv.into(), 3), text_or(id, "?")),
                    None => "unknown".into(),
                };
                format!(
                    "min {}   max {}",
                    cell(c.min_cell_mv, b.min_cell_id),
                    cell(c.max_cell_mv, b.max_cell_id)
                )
            },
        ),
    );
    line(
        "temperatures",
        cells.map_or_else(
            || format!("{NOT_HEARD} (0x373)"),
            |c| {
                let t = |k: Option<u16>, id: Option<Text>| match k {
                    Some(k) => format!("{} °C ({})", kelvin_to_celsius(k), text_or(id, "?")),
                    None => "unknown".into(),
                };
                format!(
                    "min {}   max {}",
                    t(c.min_temperature_k, b.min_temperature_id),
                    t(c.max_temperature_k, b.max_temperature_id)
                )
            },
        ),
    );
    line(
        "packs",
        b.modules.map_or_else(
            || format!("{NOT_HEARD} (0x372)"),
            |m| {
                format!(
                    "{} online, {} blocking charge, {} blocking discharge, {} offline",
                    m.online, m.blocking_charge, m.blocking_discharge, m.offline
                )
            },
        ),
    );
    let mut capacity = b.installed_capacity_ah.map_or_else(
        || format!("{NOT_HEARD} (0x379)"),
        |ah| format!("{ah} Ah installed"),
    );
    if let Some(info) = b.info {
        let _ = write!(capacity, "; 0x35F says {} Ah", info.capacity_ah);
    }
    line("capacity", capacity);
    if b.pylon_flags.is_some() || b.pylon_request.is_some() {
        let mut pylon = String::new();
        if let Some(f) = b.pylon_flags {
            let _ = write!(
                pylon,
                "protection: {}; alarms: {}; {} modules",
                list(f.protections()),
                list(f.alarms()),
                f.modules
            );
        }
        if let Some(r) = b.pylon_request {
            if !pylon.is_empty() {
                pylon.push_str("; ");
            }
            let _ = write!(
                pylon,
                "charge {}, discharge {}",
                if r.charge_enabled() {
                    "enabled"
                } else {
                    "DISABLED"
                },
                if r.discharge_enabled() {
                    "enabled"
                } else {
                    "DISABLED"
                }
            );
        }
        line("pylon", pylon);
    }
    if b.keep_alives > 0 {
        line(
            "inverter",
            format!("{} keep-alive frames (0x305)", b.keep_alives),
        );
    }
    line(
        "input",
        format!(
            "{} frames decoded, {} other frames, {} too short, {} unreadable lines",
            stats.decoded, stats.unknown, stats.short, stats.garbage
        ),
    );
    out
}

fn volts(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

fn text_json(t: Option<Text>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// One JSON object; `null` for what was not heard. Units in the key names (V, A, °C, K, %).
pub fn json(b: &DecodedBattery, stats: &Stats) -> Value {
    let l = b.limits;
    let m = b.measurements;
    let c = b.cells;
    let k = |f: fn(&super::decode::CellExtremes) -> Option<u16>| c.as_ref().and_then(f);
    json!({
        "name": text_json(b.name),
        "bms_name": b.bms_name(),
        "product_family": text_json(b.product_family),
        "firmware": b.info.map(|i| format!("{}.{}", i.firmware.major, i.firmware.minor)),
        "product_id": b.info.map(|i| i.product_id),
        "hardware_version": b.info.and_then(|i| i.hardware_version),
        "cvl_v": l.map(|l| volts(l.cvl_mv.into())),
        "ccl_a": l.map(|l| volts(l.ccl_ma.into())),
        "dcl_a": l.map(|l| volts(l.dcl_ma.into())),
        "dvl_v": l.map(|l| volts(l.dvl_mv.into())),
        "soc_pct": b.soc.map(|s| s.soc_pct),
        "soc_precise_pct": b.soc.and_then(|s| s.soc_centi_pct).map(|c| f64::from(c) / 100.0),
        "soh_pct": b.soc.map(|s| s.soh_pct),
        "voltage_v": m.map(|m| volts(m.voltage_mv.into())),
        "current_a": m.map(|m| volts(m.current_ma.into())),
        "temperature_c": m.and_then(|m| m.temperature_dc).map(|t| f64::from(t) / 10.0),
        "alarms": b.alarms.map(|a| a.active_alarms().collect::<Vec<_>>()),
        "warnings": b.alarms.map(|a| a.active_warnings().collect::<Vec<_>>()),
        "min_cell": k(|c| c.min_cell_mv).map(|mv| json!({"v": volts(mv.into()), "id": text_json(b.min_cell_id)})),
        "max_cell": k(|c| c.max_cell_mv).map(|mv| json!({"v": volts(mv.into()), "id": text_json(b.max_cell_id)})),
        "min_temperature": k(|c| c.min_temperature_k).map(|t| json!({"c": kelvin_to_celsius(t), "k": t, "id": text_json(b.min_temperature_id)})),
        "max_temperature": k(|c| c.max_temperature_k).map(|t| json!({"c": kelvin_to_celsius(t), "k": t, "id": text_json(b.max_temperature_id)})),
        "packs": b.modules.map(|p| json!({
            "online": p.online,
            "blocking_charge": p.blocking_charge,
            "blocking_discharge": p.blocking_discharge,
            "offline": p.offline,
        })),
        "installed_capacity_ah": b.installed_capacity_ah,
        "capacity_ah": b.info.map(|i| i.capacity_ah),
        "pylon": (b.pylon_flags.is_some() || b.pylon_request.is_some()).then(|| json!({
            "protection": b.pylon_flags.map(|f| f.protections().collect::<Vec<_>>()),
            "alarms": b.pylon_flags.map(|f| f.alarms().collect::<Vec<_>>()),
            "modules": b.pylon_flags.map(|f| f.modules),
            "request": b.pylon_request.map(|r| r.set().collect::<Vec<_>>()),
        })),
        "inverter_keep_alives": b.keep_alives,
        "frames": {
            "decoded": stats.decoded,
            "other": stats.unknown,
            "short": stats.short,
            "unreadable_lines": stats.garbage,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::can::decode::Decoder;

    #[test]
    fn fixed_point_text() {
        assert_eq!(fixed(-7, 1), "-0.7");
        assert_eq!(fixed(552, 1), "55.2");
        assert_eq!(fixed(5310, 2), "53.10");
        assert_eq!(fixed(3306, 3), "3.306");
        assert_eq!(fixed(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(fixed(5, 0), "5");
    }

    #[test]
    fn field_names_read_as_words() {
        assert_eq!(
            words("high_temperature_charge"),
            "high temperature while charging"
        );
        assert_eq!(words("bms_internal"), "BMS internal");
        assert_eq!(words("high_charge_current"), "high charge current");
    }

    #[test]
    fn an_empty_input_says_nothing_was_heard() {
        let d = Decoder::default();
        let text = human(&d.battery, &d.stats);
        assert!(text.contains("limits        not heard (0x351)"), "{text}");
        let j = json(&d.battery, &d.stats);
        assert_eq!(j["cvl_v"], Value::Null);
        assert_eq!(j["frames"]["decoded"], 0);
    }
}

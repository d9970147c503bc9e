//! `/metrics`: the newest [`Status`] in Prometheus text format (OpenMetrics, via
//! `prometheus-client`).
//!
//! A fresh registry is filled from the status on every scrape: the status is the one source of
//! truth, and a scrape every 15 s costs a few µs. What a pack said is only exported while the pack
//! is online (busbar's rule: what is not heard is not trusted); Grafana then shows a gap instead
//! of a flat line of stale values. `busbar_pack_online` and `busbar_pack_last_heard_seconds` are
//! always there to say why.
//!
//! | Metric | Labels |
//! |---|---|
//! | `busbar_battery_{cvl,dvl,voltage}_volts`, `busbar_battery_{ccl,dcl,current}_amperes`, `busbar_battery_power_watts`, `busbar_battery_soc_ratio`, `busbar_battery_temperature_celsius`, `busbar_battery_installed_capacity_ampere_hours` | |
//! | `busbar_battery_sending` (0 during start-up silence) | |
//! | `busbar_battery_packs` | `state` = online, offline, blocking_charge, blocking_discharge |
//! | `busbar_battery_alarm` (1 raised) | `level` = alarm, warning; `field` = 0x35A field |
//! | `busbar_pack_online`, `busbar_pack_last_heard_seconds`, `busbar_pack_{charge,discharge}_limit_amperes` | `pack` |
//! | `busbar_pack_{voltage,cell_min,cell_max,cell_delta}_volts`, `busbar_pack_{current}_amperes`, `busbar_pack_power_watts`, `busbar_pack_soc_ratio`, `busbar_pack_{charge,discharge}_enabled`, `busbar_pack_balancing`, `busbar_pack_balance_current_amperes` (jk-pb), `busbar_pack_cell_{min,max}_number`, `busbar_pack_mos_temperature_celsius`, `busbar_pack_cycles`, `busbar_pack_{capacity,remaining_capacity}_ampere_hours` | `pack` |
//! | `busbar_pack_temperature_celsius` | `pack`, `sensor` (T1..) |
//! | `busbar_pack_alarm` (1 raised) | `pack`, `alarm` |
//! | `busbar_cell_voltage_volts` | `pack`, `cell` (1..) |
//! | `busbar_pack_frames_total` | `pack`, `result` = good, bad, timeout, link_error |
//! | `busbar_can_frames_total` | `result` = sent, failed |
//! | `busbar_uptime_seconds` | |

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::Status;

/// What `/metrics` answers with (OpenMetrics text, which Prometheus prefers and parses).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type G = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PackLabel {
    pack: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CellLabels {
    pack: String,
    cell: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SensorLabels {
    pack: String,
    sensor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PackAlarmLabels {
    pack: String,
    alarm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PackResultLabels {
    pack: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlarmLabels {
    level: &'static str,
    field: &'static str,
}

/// A registry being filled: registers a metric and hands it back to be set.
struct Builder {
    registry: Registry,
}

impl Builder {
    fn gauge(&mut self, name: &str, help: &str, unit: Option<Unit>, value: f64) {
        let g = G::default();
        g.set(value);
        self.register(name, help, unit, g);
    }

    fn family<L>(&mut self, name: &str, help: &str, unit: Option<Unit>) -> Family<L, G>
    where
        L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
    {
        let family = Family::<L, G>::default();
        self.register(name, help, unit, family.clone());
        family
    }

    fn counters<L>(&mut self, name: &str, help: &str) -> Family<L, Counter>
    where
        L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
    {
        let family = Family::<L, Counter>::default();
        self.register(name, help, None, family.clone());
        family
    }

    fn register(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        metric: impl prometheus_client::registry::Metric,
    ) {
        match unit {
            Some(unit) => self.registry.register_with_unit(name, help, unit, metric),
            None => self.registry.register(name, help, metric),
        }
    }
}

fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// The status as Prometheus/OpenMetrics text.
pub fn encode(status: &Status) -> String {
    let mut b = Builder {
        registry: Registry::with_prefix("busbar"),
    };
    b.gauge(
        "uptime",
        "Time since busbar started",
        Some(Unit::Seconds),
        status.uptime_s,
    );
    battery(&mut b, status);
    packs(&mut b, status);

    let can = b.counters::<ResultLabels>("can_frames", "CAN frames by outcome");
    can.get_or_create(&ResultLabels { result: "sent" })
        .inc_by(status.can.frames_sent);
    can.get_or_create(&ResultLabels { result: "failed" })
        .inc_by(status.can.frames_failed);

    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail; the only other error source is a label encoder, and
    // ours are plain strings and numbers.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &b.registry) {
        tracing::error!("metrics not encoded: {e}");
        out.clear();
    }
    out
}

fn battery(b: &mut Builder, status: &Status) {
    b.gauge(
        "battery_sending",
        "1 once busbar sends frames to the inverter (0 during the start-up silence)",
        None,
        flag(status.battery.is_some()),
    );
    let Some(s) = &status.battery else { return };
    let volts = Some(Unit::Volts);
    let amps = Some(Unit::Amperes);
    b.gauge(
        "battery_cvl",
        "Charge voltage limit sent (0x351)",
        volts.clone(),
        s.cvl,
    );
    b.gauge(
        "battery_dvl",
        "Discharge voltage limit sent (0x351)",
        volts.clone(),
        s.dvl,
    );
    b.gauge(
        "battery_ccl",
        "Charge current limit sent (0x351)",
        amps.clone(),
        s.ccl,
    );
    b.gauge(
        "battery_dcl",
        "Discharge current limit sent (0x351)",
        amps.clone(),
        s.dcl,
    );
    b.gauge(
        "battery_voltage",
        "Mean voltage of the online packs",
        volts,
        s.voltage,
    );
    b.gauge(
        "battery_current",
        "Sum of the online packs' current, + = charging",
        amps,
        s.current,
    );
    b.gauge(
        "battery_power",
        "Battery power, + = charging",
        Some(Unit::Other("watts".into())),
        s.power,
    );
    if let Some(soc) = s.soc {
        b.gauge(
            "battery_soc",
            "State of charge (0..1)",
            Some(Unit::Other("ratio".into())),
            soc / 100.0,
        );
    }
    if let Some(t) = s.temperature {
        b.gauge(
            "battery_temperature",
            "Temperature sent in 0x356 (the sensor furthest outside 10..30 °C)",
            Some(Unit::Celsius),
            t,
        );
    }
    b.gauge(
        "battery_installed_capacity",
        "Nominal capacity of the online packs (0x379)",
        Some(Unit::Other("ampere_hours".into())),
        f64::from(s.installed_capacity_ah),
    );
    let packs = b.family::<StateLabel>("battery_packs", "Packs by state (0x372)", None);
    for (state, n) in [
        ("online", s.packs_online),
        ("offline", s.packs_offline),
        ("blocking_charge", s.packs_blocking_charge),
        ("blocking_discharge", s.packs_blocking_discharge),
    ] {
        packs.get_or_create(&StateLabel { state }).set(n as f64);
    }
    let alarms = b.family::<AlarmLabels>(
        "battery_alarm",
        "0x35A fields raised (1); only raised fields are listed",
        None,
    );
    for (level, fields) in [("alarm", &s.alarms), ("warning", &s.warnings)] {
        for &field in fields {
            alarms.get_or_create(&AlarmLabels { level, field }).set(1.0);
        }
    }
}

fn packs(b: &mut Builder, status: &Status) {
    let per_pack = |b: &mut Builder, name: &str, help: &str, unit: Option<Unit>| {
        b.family::<PackLabel>(name, help, unit)
    };
    let online = per_pack(
        b,
        "pack_online",
        "1 while the pack has a valid reading younger than offline_after",
        None,
    );
    let heard = per_pack(
        b,
        "pack_last_heard",
        "Age of the pack's last valid reading",
        Some(Unit::Seconds),
    );
    let ccl = per_pack(
        b,
        "pack_charge_limit",
        "The pack's contribution to CCL",
        Some(Unit::Amperes),
    );
    let dcl = per_pack(
        b,
        "pack_discharge_limit",
        "The pack's contribution to DCL",
        Some(Unit::Amperes),
    );
    let voltage = per_pack(b, "pack_voltage", "Pack voltage", Some(Unit::Volts));
    let current = per_pack(
        b,
        "pack_current",
        "Pack current, + = charging",
        Some(Unit::Amperes),
    );
    let power = per_pack(
        b,
        "pack_power",
        "Pack power, + = charging",
        Some(Unit::Other("watts".into())),
    );
    let soc = per_pack(
        b,
        "pack_soc",
        "Pack state of charge (0..1)",
        Some(Unit::Other("ratio".into())),
    );
    let charge_on = per_pack(b, "pack_charge_enabled", "Charge MOSFET on", None);
    let discharge_on = per_pack(b, "pack_discharge_enabled", "Discharge MOSFET on", None);
    let balancing = per_pack(b, "pack_balancing", "Balancer active", None);
    let balance_current = per_pack(
        b,
        "pack_balance_current",
        "Balancing current (jk-pb BMSs report it)",
        Some(Unit::Amperes),
    );
    let cell_min = per_pack(b, "pack_cell_min", "Lowest cell voltage", Some(Unit::Volts));
    let cell_max = per_pack(
        b,
        "pack_cell_max",
        "Highest cell voltage",
        Some(Unit::Volts),
    );
    let cell_delta = per_pack(
        b,
        "pack_cell_delta",
        "Highest minus lowest cell",
        Some(Unit::Volts),
    );
    let cell_min_no = per_pack(
        b,
        "pack_cell_min_number",
        "Which cell is lowest (from 1)",
        None,
    );
    let cell_max_no = per_pack(
        b,
        "pack_cell_max_number",
        "Which cell is highest (from 1)",
        None,
    );
    let mos = per_pack(
        b,
        "pack_mos_temperature",
        "MOSFET temperature",
        Some(Unit::Celsius),
    );
    let cycles = per_pack(b, "pack_cycles", "Charge cycles the BMS counted", None);
    let capacity = per_pack(
        b,
        "pack_capacity",
        "Nominal capacity",
        Some(Unit::Other("ampere_hours".into())),
    );
    let remaining = per_pack(
        b,
        "pack_remaining_capacity",
        "Remaining capacity",
        Some(Unit::Other("ampere_hours".into())),
    );
    let temperatures = b.family::<SensorLabels>(
        "pack_temperature",
        "Battery temperature sensors",
        Some(Unit::Celsius),
    );
    let pack_alarms = b.family::<PackAlarmLabels>(
        "pack_alarm",
        "Alarms the BMS reports (1); only raised ones are listed",
        None,
    );
    let cells = b.family::<CellLabels>("cell_voltage", "Cell voltage", Some(Unit::Volts));
    let frames = b.counters::<PackResultLabels>("pack_frames", "Polls of each pack by outcome");

    for p in &status.packs {
        let label = PackLabel {
            pack: p.name.clone(),
        };
        online.get_or_create(&label).set(flag(p.online));
        if let Some(age) = p.last_heard_s {
            heard.get_or_create(&label).set(age);
        }
        ccl.get_or_create(&label).set(p.charge_limit);
        dcl.get_or_create(&label).set(p.discharge_limit);
        for (result, n) in [
            ("good", p.frames.good),
            ("bad", p.frames.bad),
            ("timeout", p.frames.timeouts),
            ("link_error", p.frames.link_errors),
        ] {
            frames
                .get_or_create(&PackResultLabels {
                    pack: p.name.clone(),
                    result,
                })
                .inc_by(n);
        }
        // What is not heard is not trusted: no values from an offline pack.
        let Some(r) = p.reading.as_ref().filter(|_| p.online) else {
            continue;
        };
        voltage.get_or_create(&label).set(r.voltage);
        current.get_or_create(&label).set(r.current);
        power.get_or_create(&label).set(r.power);
        soc.get_or_create(&label).set(f64::from(r.soc) / 100.0);
        charge_on.get_or_create(&label).set(flag(r.charge_enabled));
        discharge_on
            .get_or_create(&label)
            .set(flag(r.discharge_enabled));
        balancing.get_or_create(&label).set(flag(r.balancing));
        if let Some(a) = r.balance_current {
            balance_current.get_or_create(&label).set(a);
        }
        if let Some(c) = r.cell_min {
            cell_min.get_or_create(&label).set(c.voltage);
            cell_min_no.get_or_create(&label).set(c.cell as f64);
        }
        if let Some(c) = r.cell_max {
            cell_max.get_or_create(&label).set(c.voltage);
            cell_max_no.get_or_create(&label).set(c.cell as f64);
        }
        cell_delta.get_or_create(&label).set(r.cell_delta);
        if let Some(t) = r.mos_temperature {
            mos.get_or_create(&label).set(t);
        }
        cycles.get_or_create(&label).set(f64::from(r.cycles));
        capacity.get_or_create(&label).set(r.capacity_ah);
        if let Some(ah) = r.remaining_capacity_ah {
            remaining.get_or_create(&label).set(ah);
        }
        for (i, &t) in r.temperatures.iter().enumerate() {
            temperatures
                .get_or_create(&SensorLabels {
                    pack: p.name.clone(),
                    sensor: format!("T{}", i + 1),
                })
                .set(t);
        }
        for alarm in &r.alarms {
            pack_alarms
                .get_or_create(&PackAlarmLabels {
                    pack: p.name.clone(),
                    alarm: alarm.clone(),
                })
                .set(1.0);
        }
        for (i, &v) in r.cell_voltages.iter().enumerate() {
            cells
                .get_or_create(&CellLabels {
                    pack: p.name.clone(),
                    cell: u32::try_from(i + 1).unwrap_or(u32::MAX),
                })
                .set(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::status::fixture;

    /// The text with each family's samples sorted: `Family` keeps samples in a hash map, so
    /// their order varies between runs (Prometheus does not care; a snapshot does).
    fn normalised(text: &str) -> String {
        let mut out = Vec::new();
        let mut samples: Vec<&str> = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                samples.sort_unstable();
                out.append(&mut samples);
                out.push(line);
            } else {
                samples.push(line);
            }
        }
        samples.sort_unstable();
        out.append(&mut samples);
        out.join("\n")
    }

    fn scrape(text: &str) -> prometheus_parse::Scrape {
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("parses as Prometheus text")
    }

    fn value(
        scrape: &prometheus_parse::Scrape,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Option<f64> {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    }

    #[test]
    fn metrics_snapshot() {
        let text = encode(&fixture::status());
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        insta::assert_snapshot!(normalised(&text));
    }

    #[test]
    fn metrics_parse_and_carry_the_battery_packs_and_cells() {
        let text = encode(&fixture::status());
        let s = scrape(&text);
        assert_eq!(value(&s, "busbar_battery_cvl_volts", &[]), Some(55.2));
        assert_eq!(
            value(&s, "busbar_pack_online", &[("pack", "pack1")]),
            Some(1.0)
        );
        assert_eq!(
            value(&s, "busbar_pack_online", &[("pack", "pack5")]),
            Some(0.0)
        );
        assert_eq!(
            value(
                &s,
                "busbar_cell_voltage_volts",
                &[("pack", "pack2"), ("cell", "12")]
            ),
            Some(3.47)
        );
        assert_eq!(
            value(&s, "busbar_pack_charge_limit_amperes", &[("pack", "pack2")]),
            Some(30.0)
        );
        assert_eq!(
            value(
                &s,
                "busbar_pack_frames_total",
                &[("pack", "pack5"), ("result", "timeout")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&s, "busbar_can_frames_total", &[("result", "sent")]),
            Some(180.0)
        );
        // 4 online packs × 16 cells; nothing from the pack that was never heard.
        let cells = s
            .samples
            .iter()
            .filter(|x| x.metric == "busbar_cell_voltage_volts")
            .count();
        assert_eq!(cells, 64);
        assert_eq!(
            value(&s, "busbar_pack_voltage_volts", &[("pack", "pack5")]),
            None
        );
    }

    #[test]
    fn an_offline_pack_exports_no_stale_readings() {
        let mut status = fixture::status();
        status.packs[0].online = false;
        let s = scrape(&encode(&status));
        assert_eq!(
            value(&s, "busbar_pack_online", &[("pack", "pack1")]),
            Some(0.0)
        );
        assert_eq!(
            value(&s, "busbar_pack_voltage_volts", &[("pack", "pack1")]),
            None
        );
        assert_eq!(
            value(
                &s,
                "busbar_cell_voltage_volts",
                &[("pack", "pack1"), ("cell", "1")]
            ),
            None
        );
        // Its age is still there, to say why.
        assert!(value(&s, "busbar_pack_last_heard_seconds", &[("pack", "pack1")]).is_some());
    }

    /// Every metric the shipped Grafana dashboard queries exists: a rename here would otherwise
    /// leave users with empty panels.
    #[test]
    fn the_grafana_dashboard_only_uses_metrics_that_exist() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/grafana/busbar.json"))
                .expect("the dashboard is JSON");
        let text = encode(&fixture::status());
        // Sample names, and family names from `# TYPE` lines (a family with no sample in the
        // fixture, like pack alarms, still exists).
        let exported: std::collections::HashSet<&str> = text
            .lines()
            .filter_map(|l| match l.strip_prefix("# TYPE ") {
                Some(rest) => rest.split(' ').next(),
                None if l.starts_with('#') => None,
                None => l.split(['{', ' ']).next(),
            })
            .collect();
        let mut exprs = Vec::new();
        collect_exprs(&dashboard, &mut exprs);
        assert!(exprs.len() > 20, "{} queries", exprs.len());
        for expr in exprs {
            for name in metric_names(&expr) {
                assert!(
                    exported.contains(name.as_str()),
                    "dashboard query {expr:?} uses {name}, which /metrics does not export"
                );
            }
        }
    }

    fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v.as_str()) {
                        ("expr", Some(e)) => out.push(e.to_string()),
                        _ => collect_exprs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
            _ => {}
        }
    }

    fn metric_names(expr: &str) -> Vec<String> {
        expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("busbar_"))
            .map(str::to_string)
            .collect()
    }
}

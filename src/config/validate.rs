//! Checks that need more than a type: ranges, and values that must agree with each other.
//! Errors stop the daemon; warnings are printed and it starts anyway.

use std::collections::HashMap;
use std::time::Duration;

use super::{CanProfile, Config, Protocol};
use crate::pack::{MAX_CELLS, PLAUSIBLE_CELL_MAX_MV, PLAUSIBLE_CELL_MIN_MV};

/// What validation found: `(key path, message)` pairs.
#[derive(Debug, Default, PartialEq)]
pub struct Findings {
    pub errors: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
}

impl Findings {
    fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push((key.into(), message.into()));
    }
    fn warn(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push((key.into(), message.into()));
    }
}

/// Largest current the CAN frame can carry: 0x351 CCL/DCL are s16 in 0.1 A
/// (victron-can.md §3.2), so 3276.7 A.
pub const MAX_CAN_CURRENT_A: f64 = 3276.7;

/// JK NW: "minimum interval between each packet is 100 ms" (jk-nw.md §1.1).
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Venus treats a few seconds without 0x351 as a lost BMS (victron-can.md §3.7).
const MAX_SAFE_CAN_INTERVAL: Duration = Duration::from_secs(3);

/// JK-PB DIP switches give addresses 1..=15; 0 makes a BMS the bus master (jk02.md).
const JK_PB_ADDRESSES: std::ops::RangeInclusive<u8> = 1..=15;

/// Validate everything; the result lists every problem, not only the first.
pub fn validate(config: &Config) -> Findings {
    let mut found = Findings::default();
    battery(config, &mut found);
    timing(config, &mut found);
    can(config, &mut found);
    packs(config, &mut found);
    bus_timing(config, &mut found);
    core(config, &mut found);
    mqtt(config, &mut found);
    found
}

/// The core's own checks (limit tables, control, and the battery again in its units). Keys this
/// module has already explained are not repeated in the core's words.
fn core(config: &Config, found: &mut Findings) {
    let problems = match config.battery_settings() {
        Ok(settings) => settings.validate().err().unwrap_or_default(),
        Err(problems) => problems,
    };
    for problem in problems {
        if !found.errors.iter().any(|(key, _)| *key == problem.key) {
            found.error(problem.key, problem.message);
        }
    }
}

fn battery(config: &Config, found: &mut Findings) {
    let b = &config.battery;
    if !(1..=MAX_CELLS).contains(&b.cells) {
        found.error(
            "battery.cells",
            format!(
                "{} cells in series: busbar supports 1..={MAX_CELLS}",
                b.cells
            ),
        );
    }
    // Cell voltages must lie where a reading is plausible at all (DESIGN.md rule 1).
    let plausible =
        f64::from(PLAUSIBLE_CELL_MIN_MV) / 1000.0..=f64::from(PLAUSIBLE_CELL_MAX_MV) / 1000.0;
    let mut voltages_ok = true;
    for (key, v) in [
        ("battery.charge_voltage", b.charge_voltage),
        ("battery.float_voltage", b.float_voltage),
        ("battery.discharge_voltage", b.discharge_voltage),
    ] {
        if !plausible.contains(&v) {
            voltages_ok = false;
            found.error(
                key,
                format!(
                    "{v} V per cell is outside {:.1}..={:.1} V (this is a per-cell value, not the pack voltage)",
                    plausible.start(),
                    plausible.end()
                ),
            );
        }
    }
    if voltages_ok {
        if b.float_voltage > b.charge_voltage {
            found.error(
                "battery.float_voltage",
                format!(
                    "float voltage {} V is above the charge (absorption) voltage {} V",
                    b.float_voltage, b.charge_voltage
                ),
            );
        }
        if b.discharge_voltage >= b.float_voltage.min(b.charge_voltage) {
            found.error(
                "battery.discharge_voltage",
                format!(
                    "discharge voltage {} V must be below the float ({} V) and charge ({} V) voltages",
                    b.discharge_voltage, b.float_voltage, b.charge_voltage
                ),
            );
        }
    }
    current(found, "battery.max_charge_current", b.max_charge_current);
    current(
        found,
        "battery.max_discharge_current",
        b.max_discharge_current,
    );
}

fn current(found: &mut Findings, key: &str, amps: f64) {
    if !(0.0..=MAX_CAN_CURRENT_A).contains(&amps) {
        found.error(
            key,
            format!(
                "{amps} A is outside 0..={MAX_CAN_CURRENT_A} A (what CAN frame 0x351 can carry)"
            ),
        );
    }
}

fn timing(config: &Config, found: &mut Findings) {
    let t = &config.timing;
    let show = |d: Duration| humantime::format_duration(d).to_string();
    if t.poll_interval < MIN_POLL_INTERVAL {
        found.error(
            "timing.poll_interval",
            format!(
                "{} is shorter than the {} a JK BMS needs between requests",
                show(t.poll_interval),
                show(MIN_POLL_INTERVAL)
            ),
        );
    }
    if t.offline_after <= t.poll_interval {
        found.error(
            "timing.offline_after",
            format!(
                "{} is not longer than poll_interval ({}): every pack would flap offline between polls",
                show(t.offline_after),
                show(t.poll_interval)
            ),
        );
    } else if t.offline_after < 2 * t.poll_interval {
        found.warn(
            "timing.offline_after",
            format!(
                "{} allows less than two polls ({}): one lost reply takes a pack offline",
                show(t.offline_after),
                show(t.poll_interval)
            ),
        );
    }
    if t.can_interval.is_zero() {
        found.error("timing.can_interval", "must be longer than 0");
    } else if t.can_interval < crate::can::scheduler::MIN_INTERVAL {
        found.warn(
            "timing.can_interval",
            format!(
                "{}: full frame sets go out at most every {} (a flooded bus makes a GX lose the battery); cuts still go out at once",
                show(t.can_interval),
                show(crate::can::scheduler::MIN_INTERVAL)
            ),
        );
    } else if t.can_interval > MAX_SAFE_CAN_INTERVAL {
        found.warn(
            "timing.can_interval",
            format!(
                "{}: a Victron GX may declare the battery lost after a few seconds without frame 0x351",
                show(t.can_interval)
            ),
        );
    }
}

fn can(config: &Config, found: &mut Findings) {
    let interface = config.can.interface.as_str();
    match interface.strip_prefix("candump:") {
        Some("") => found.error(
            "can.interface",
            "\"candump:\" needs a target: \"candump:-\" for stdout or \"candump:PATH\"",
        ),
        Some(_) => {}
        // Linux interface names are at most 15 bytes (IFNAMSIZ - 1) and contain no '/' or space.
        None if interface.is_empty() || interface.len() > 15 || interface.contains(['/', ' ']) => {
            found.error(
                "can.interface",
                format!(
                    "\"{interface}\" is not a network interface name (like \"can0\") nor \"candump:-\" / \"candump:PATH\""
                ),
            )
        }
        None => {}
    }
    let name = config.can.name.as_str();
    if name.is_empty() || name.len() > 8 || !name.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        found.error(
            "can.name",
            format!("\"{name}\" must be 1 to 8 printable ASCII characters (it fills frame 0x35E)"),
        );
    } else if config.can.profile == CanProfile::Victron {
        // victron-can.md §3.7: Venus recognises brands by the 0x35E prefix and then rewrites
        // the limits: PYLON gets CCL >= capacity/4, BYD gets CCL 40 A when CCL is 0.
        let upper = name.to_ascii_uppercase();
        if let Some(brand) = ["PYLON", "BYD"].into_iter().find(|b| upper.starts_with(b)) {
            found.error(
                "can.name",
                format!(
                    "a Victron GX treats a battery named {brand}... specially and replaces CCL = 0 with a charge current: busbar could no longer stop charging. Keep a neutral name (default BUSBAR), or use profile = \"pylon\" for a non-Victron inverter"
                ),
            );
        }
    }
}

/// Each pack on a jk-pb bus is read once per sweep, and a sweep costs about
/// [`crate::bus::PER_ADDRESS`] (150 ms) per address, so a pack is heard every
/// `max(poll_interval, packs × 150 ms)`: 15 packs, 2.25 s. `offline_after` shorter than three of
/// those takes a pack offline after two lost replies (issue 7 point 4).
fn bus_timing(config: &Config, found: &mut Findings) {
    let show = |d: Duration| humantime::format_duration(d).to_string();
    let mut buses: Vec<(&std::path::Path, u32)> = Vec::new();
    for pack in config.packs.iter().filter(|p| p.protocol == Protocol::JkPb) {
        match buses
            .iter_mut()
            .find(|(port, _)| *port == pack.port.as_path())
        {
            Some((_, n)) => *n += 1,
            None => buses.push((pack.port.as_path(), 1)),
        }
    }
    for (port, packs) in buses {
        let sweep = crate::bus::PER_ADDRESS * packs;
        let period = sweep.max(config.timing.poll_interval);
        if config.timing.offline_after < 3 * period {
            found.warn(
                "timing.offline_after",
                format!(
                    "{} is shorter than three sweeps of the jk-pb bus on {} ({packs} pack(s): a sweep takes about {packs} x 150 ms = {}, each pack is read every {}): one or two lost replies take a pack offline; use at least {}",
                    show(config.timing.offline_after),
                    port.display(),
                    show(sweep),
                    show(period),
                    show(3 * period)
                ),
            );
        }
    }
}

fn packs(config: &Config, found: &mut Findings) {
    if config.packs.is_empty() {
        found.error(
            "pack",
            "no [[pack]] configured: busbar needs at least one pack to read",
        );
        return;
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    // port -> (protocol, first pack index, addresses seen)
    let mut ports: HashMap<&std::path::Path, (Protocol, usize, HashMap<u8, usize>)> =
        HashMap::new();
    for (i, pack) in config.packs.iter().enumerate() {
        let key = |field: &str| format!("pack[{i}].{field}");
        if pack.name.trim().is_empty() {
            found.error(
                key("name"),
                "a pack needs a name (it is shown in logs and on CAN)",
            );
        } else if let Some(first) = names.insert(&pack.name, i) {
            found.error(
                key("name"),
                format!("name \"{}\" is already used by pack[{first}]", pack.name),
            );
        }
        if pack.port.as_os_str().is_empty() {
            found.error(key("port"), "a pack needs a serial port");
        }
        current(found, &key("max_charge_current"), pack.max_charge_current);
        current(
            found,
            &key("max_discharge_current"),
            pack.max_discharge_current,
        );

        match (pack.protocol, pack.address) {
            (Protocol::JkPb, None) => found.error(
                key("address"),
                "jk-pb packs share an RS485 bus and need the DIP-switch address (1..=15)",
            ),
            (Protocol::JkPb, Some(0)) => found.error(
                key("address"),
                "address 0 makes a JK-PB the bus master, which then answers no requests: set the DIP switches to 1..=15",
            ),
            (Protocol::JkPb, Some(a)) if !JK_PB_ADDRESSES.contains(&a) => found.error(
                key("address"),
                format!("address {a} is outside the DIP-switch range 1..=15"),
            ),
            (Protocol::JkNw, Some(_)) => found.warn(
                key("address"),
                "jk-nw has no bus address; the value is ignored",
            ),
            _ => {}
        }

        let entry = ports
            .entry(pack.port.as_path())
            .or_insert_with(|| (pack.protocol, i, HashMap::new()));
        let (protocol, first, addresses) = entry;
        if *first == i {
            // First pack on this port.
        } else if *protocol != pack.protocol {
            found.error(
                key("port"),
                format!(
                    "{} is already used by pack[{first}] with protocol {protocol}; one port speaks one protocol",
                    pack.port.display()
                ),
            );
        } else if pack.protocol == Protocol::JkNw {
            found.error(
                key("port"),
                format!(
                    "{} is already used by pack[{first}]: a jk-nw port connects exactly one BMS (only jk-pb packs share a bus)",
                    pack.port.display()
                ),
            );
        }
        if let (Protocol::JkPb, Some(address)) = (pack.protocol, pack.address) {
            if let Some(other) = addresses.insert(address, i) {
                found.error(
                    key("address"),
                    format!("address {address} is already used by pack[{other}] on the same bus"),
                );
            }
        }
    }
}

/// Shortest `[mqtt] interval`: state more often than this is noise for a dashboard.
const MIN_MQTT_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest `[mqtt] keep_alive` rumqttc accepts.
const MIN_MQTT_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// `[mqtt]`: checked whether or not it is enabled, so a config is not valid only while MQTT is
/// switched off.
fn mqtt(config: &Config, found: &mut Findings) {
    let m = &config.mqtt;
    let show = |d: Duration| humantime::format_duration(d).to_string();
    if m.enabled && m.host.trim().is_empty() {
        found.error("mqtt.host", "MQTT is enabled but no broker host is set");
    }
    if m.client_id.is_empty() {
        found.error(
            "mqtt.client_id",
            "must not be empty (the broker tells clients apart by it)",
        );
    }
    for (key, prefix) in [
        ("mqtt.topic_prefix", &m.topic_prefix),
        ("mqtt.discovery_prefix", &m.discovery_prefix),
    ] {
        if let Err(why) = topic_prefix(prefix) {
            found.error(key, format!("\"{prefix}\" {why}"));
        }
    }
    if m.interval < MIN_MQTT_INTERVAL {
        found.error(
            "mqtt.interval",
            format!(
                "{} is shorter than {}",
                show(m.interval),
                show(MIN_MQTT_INTERVAL)
            ),
        );
    }
    if m.keep_alive < MIN_MQTT_KEEP_ALIVE {
        found.error(
            "mqtt.keep_alive",
            format!(
                "{} is shorter than {} (the MQTT client's minimum)",
                show(m.keep_alive),
                show(MIN_MQTT_KEEP_ALIVE)
            ),
        );
    }
    if m.tls && !cfg!(feature = "mqtt-tls") {
        found.error(
            "mqtt.tls",
            "this busbar was built without TLS: rebuild with `cargo build --release --features mqtt-tls`, or set tls = false",
        );
    }
    if m.ca_file.is_some() && !m.tls {
        found.warn("mqtt.ca_file", "ignored: tls is off");
    }
}

/// Why `prefix` cannot start MQTT topic names, if it cannot.
fn topic_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() {
        Err("is empty")
    } else if prefix.contains(['+', '#']) {
        Err("contains an MQTT wildcard (+ or #)")
    } else if prefix.starts_with('/') || prefix.ends_with('/') {
        Err("must not start or end with /")
    } else if prefix.contains("//") {
        Err("contains an empty level (//)")
    } else if prefix.chars().any(char::is_control) {
        Err("contains a control character")
    } else {
        Ok(())
    }
}

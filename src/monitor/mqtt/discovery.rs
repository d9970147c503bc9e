//! Home Assistant MQTT discovery: one retained config message per entity. Pure.
//!
//! Home Assistant gets one device for the virtual battery and one per pack (linked to the
//! battery with `via_device`). Every entity reads a field of a state topic through a
//! `value_template`; see [`super::payload`] for the fields.
//!
//! What is not heard is not trusted: every entity needs `<prefix>/status` = "online" (the
//! last-will turns it "offline" when busbar vanishes), and a pack's readings also need that
//! pack's own `<prefix>/pack/<name>/availability` = "online" (`availability_mode: all`), so an
//! offline pack shows "unavailable" in Home Assistant instead of its last values as if they
//! were current. The pack's "Online" and "Last heard" entities stay available to say so.

use serde_json::{json, Map, Value};

use super::topics::{PackIds, Topics};

/// One message to publish (retained).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: String,
}

/// What the entity set depends on besides the config: how many temperature sensors each pack
/// reports (known from its first reading; 0 before it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    pub temperatures: Vec<usize>,
}

/// Everything discovery needs from the config.
#[derive(Clone, Debug)]
pub struct Discovery {
    pub topics: Topics,
    pub discovery_prefix: String,
    /// Cells in series, per pack (`[battery] cells`).
    pub cells: usize,
    /// Per pack, config order: the protocol (`jk-nw`, ...), for the device model.
    pub protocols: Vec<&'static str>,
    pub version: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Component {
    Sensor,
    BinarySensor,
}

impl Component {
    fn as_str(self) -> &'static str {
        match self {
            Component::Sensor => "sensor",
            Component::BinarySensor => "binary_sensor",
        }
    }
}

/// Which availability an entity follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follows {
    /// busbar's own (`<prefix>/status`).
    Busbar,
    /// busbar's and the pack's.
    Pack,
}

/// One entity, before it is tied to a device.
#[derive(Clone, Debug)]
struct Entity {
    component: Component,
    /// Object id suffix, e.g. `cvl`, `cell_01`.
    key: String,
    name: String,
    template: String,
    unit: Option<&'static str>,
    device_class: Option<&'static str>,
    state_class: Option<&'static str>,
    precision: Option<u8>,
    diagnostic: bool,
    icon: Option<&'static str>,
    follows: Follows,
}

impl Entity {
    /// A number: `field` of the state JSON, with unit and class.
    fn number(
        key: &str,
        name: &str,
        unit: Option<&'static str>,
        class: Option<&'static str>,
        precision: u8,
    ) -> Self {
        Self::number_at(
            key,
            name,
            &format!("value_json.{key}"),
            unit,
            class,
            precision,
        )
    }

    /// A number at a template expression (e.g. `value_json.cell_voltages[0]`); `null` or
    /// missing reads as "unknown".
    fn number_at(
        key: &str,
        name: &str,
        expression: &str,
        unit: Option<&'static str>,
        class: Option<&'static str>,
        precision: u8,
    ) -> Self {
        Self {
            component: Component::Sensor,
            key: key.into(),
            name: name.into(),
            template: format!("{{{{ {expression} | default(none) }}}}"),
            unit,
            device_class: class,
            state_class: Some("measurement"),
            precision: Some(precision),
            diagnostic: false,
            icon: None,
            follows: Follows::Pack,
        }
    }

    /// A text: `field` of the state JSON.
    fn text(key: &str, name: &str, template: &str, icon: &'static str) -> Self {
        Self {
            component: Component::Sensor,
            key: key.into(),
            name: name.into(),
            template: template.into(),
            unit: None,
            device_class: None,
            state_class: None,
            precision: None,
            diagnostic: false,
            icon: Some(icon),
            follows: Follows::Pack,
        }
    }

    /// ON while the boolean `expression` holds.
    fn flag(key: &str, name: &str, expression: &str, class: Option<&'static str>) -> Self {
        Self {
            component: Component::BinarySensor,
            key: key.into(),
            name: name.into(),
            template: format!("{{{{ 'ON' if {expression} else 'OFF' }}}}"),
            unit: None,
            device_class: class,
            state_class: None,
            precision: None,
            diagnostic: false,
            icon: None,
            follows: Follows::Pack,
        }
    }

    fn diagnostic(mut self) -> Self {
        self.diagnostic = true;
        self
    }

    fn counter(mut self) -> Self {
        self.state_class = Some("total_increasing");
        self
    }

    fn follows(mut self, follows: Follows) -> Self {
        self.follows = follows;
        self
    }
}

const V: Option<&str> = Some("V");
const A: Option<&str> = Some("A");
const W: Option<&str> = Some("W");
const PCT: Option<&str> = Some("%");
const C: Option<&str> = Some("°C");
const AH: Option<&str> = Some("Ah");
const VOLTAGE: Option<&str> = Some("voltage");
const CURRENT: Option<&str> = Some("current");
const POWER: Option<&str> = Some("power");
const BATTERY: Option<&str> = Some("battery");
const TEMPERATURE: Option<&str> = Some("temperature");

/// The virtual battery's entities (`<prefix>/battery/state`).
fn battery_entities() -> Vec<Entity> {
    let mut e = vec![
        Entity::number("cvl", "Charge voltage limit", V, VOLTAGE, 2),
        Entity::number("ccl", "Charge current limit", A, CURRENT, 1),
        Entity::number("dcl", "Discharge current limit", A, CURRENT, 1),
        Entity::number("dvl", "Discharge voltage limit", V, VOLTAGE, 2),
        Entity::number("soc", "State of charge", PCT, BATTERY, 1),
        Entity::number("soh", "State of health", PCT, None, 0),
        Entity::number("voltage", "Voltage", V, VOLTAGE, 2),
        Entity::number("current", "Current", A, CURRENT, 1),
        Entity::number("power", "Power", W, POWER, 0),
        Entity::number("temperature", "Temperature", C, TEMPERATURE, 1),
        Entity::number("min_cell_voltage", "Lowest cell", V, VOLTAGE, 3),
        Entity::number("max_cell_voltage", "Highest cell", V, VOLTAGE, 3),
        Entity::number("cell_delta", "Cell difference", V, VOLTAGE, 3),
        Entity::number("min_temperature", "Lowest temperature", C, TEMPERATURE, 1),
        Entity::number("max_temperature", "Highest temperature", C, TEMPERATURE, 1),
        Entity::number("packs_online", "Packs online", None, None, 0),
        Entity::number("packs_offline", "Packs offline", None, None, 0),
        Entity::number("installed_capacity_ah", "Installed capacity", AH, None, 0).diagnostic(),
        Entity::text(
            "charge_phase",
            "Charge phase",
            "{{ value_json.charge_phase }}",
            "mdi:battery-charging",
        ),
        Entity::text(
            "cvl_reason",
            "Charge voltage reason",
            "{{ value_json.cvl_reason }}",
            "mdi:information-outline",
        ),
        Entity::text(
            "charge_limited_by",
            "Charge limited by",
            "{{ value_json.charge_limited_by }}",
            "mdi:information-outline",
        ),
        Entity::text(
            "discharge_limited_by",
            "Discharge limited by",
            "{{ value_json.discharge_limited_by }}",
            "mdi:information-outline",
        ),
        Entity::text(
            "alarms",
            "Alarms",
            "{{ value_json.alarms | join(', ') or 'none' }}",
            "mdi:alert",
        ),
        Entity::text(
            "warnings",
            "Warnings",
            "{{ value_json.warnings | join(', ') or 'none' }}",
            "mdi:alert-outline",
        ),
        Entity::flag("alarm", "Alarm", "value_json.alarms", Some("problem")),
    ];
    for entity in &mut e {
        entity.follows = Follows::Busbar;
    }
    e
}

/// One pack's entities (`<prefix>/pack/<name>/state`).
fn pack_entities(cells: usize, temperatures: usize) -> Vec<Entity> {
    let mut e = vec![
        Entity::flag(
            "online",
            "Online",
            "value_json.online",
            Some("connectivity"),
        )
        .follows(Follows::Busbar),
        Entity::number("last_heard_s", "Last heard", Some("s"), Some("duration"), 1)
            .diagnostic()
            .follows(Follows::Busbar),
        Entity::number("voltage", "Voltage", V, VOLTAGE, 2),
        Entity::number("current", "Current", A, CURRENT, 1),
        Entity::number("power", "Power", W, POWER, 0),
        Entity::number("soc", "State of charge", PCT, BATTERY, 0),
        Entity::number("cell_min_voltage", "Lowest cell", V, VOLTAGE, 3),
        Entity::number("cell_max_voltage", "Highest cell", V, VOLTAGE, 3),
        Entity::number("cell_delta", "Cell difference", V, VOLTAGE, 3),
        Entity::number("cell_min_number", "Lowest cell number", None, None, 0).diagnostic(),
        Entity::number("cell_max_number", "Highest cell number", None, None, 0).diagnostic(),
        Entity::number("mos_temperature", "MOSFET temperature", C, TEMPERATURE, 1),
        Entity::number("remaining_capacity_ah", "Remaining capacity", AH, None, 1),
        Entity::number("cycles", "Cycles", None, None, 0).counter(),
        Entity::number("charge_limit", "Charge current limit", A, CURRENT, 1),
        Entity::number("discharge_limit", "Discharge current limit", A, CURRENT, 1),
        Entity::text(
            "charge_limited_by",
            "Charge limited by",
            "{{ value_json.charge_limited_by }}",
            "mdi:information-outline",
        ),
        Entity::text(
            "discharge_limited_by",
            "Discharge limited by",
            "{{ value_json.discharge_limited_by }}",
            "mdi:information-outline",
        ),
        Entity::text(
            "alarms",
            "Alarms",
            "{{ (value_json.alarms | default([])) | join(', ') or 'none' }}",
            "mdi:alert",
        ),
        Entity::flag(
            "charge_enabled",
            "Charge MOSFET",
            "value_json.charge_enabled",
            Some("power"),
        ),
        Entity::flag(
            "discharge_enabled",
            "Discharge MOSFET",
            "value_json.discharge_enabled",
            Some("power"),
        ),
        Entity::flag(
            "balancing",
            "Balancing",
            "value_json.balancing",
            Some("running"),
        ),
        Entity::number_at(
            "bad_frames",
            "Bad frames",
            "value_json.frames.bad",
            None,
            None,
            0,
        )
        .counter()
        .diagnostic()
        .follows(Follows::Busbar),
        Entity::number_at(
            "timeouts",
            "Timeouts",
            "value_json.frames.timeouts",
            None,
            None,
            0,
        )
        .counter()
        .diagnostic()
        .follows(Follows::Busbar),
    ];
    for t in 0..temperatures {
        e.push(Entity::number_at(
            &format!("temperature_{}", t + 1),
            &format!("Temperature {}", t + 1),
            &format!("value_json.temperatures[{t}]"),
            C,
            TEMPERATURE,
            1,
        ));
    }
    for cell in 0..cells {
        e.push(
            Entity::number_at(
                &format!("cell_{:02}", cell + 1),
                &format!("Cell {}", cell + 1),
                &format!("value_json.cell_voltages[{cell}]"),
                V,
                VOLTAGE,
                3,
            )
            .diagnostic(),
        );
    }
    e
}

impl Discovery {
    /// Every config message for `shape`, battery first, then each pack in config order.
    pub fn messages(&self, shape: &Shape) -> Vec<Message> {
        let t = &self.topics;
        let battery_device = json!({
            "identifiers": [t.node()],
            "name": t.prefix(),
            "manufacturer": "busbar",
            "model": match t.packs().len() {
                1 => "Virtual battery, 1 pack".to_string(),
                n => format!("Virtual battery, {n} packs"),
            },
            "sw_version": self.version,
        });
        let battery_state = t.battery_state();
        let mut out: Vec<Message> = battery_entities()
            .iter()
            .map(|e| self.message(e, "battery", &battery_state, &battery_device, None))
            .collect();
        for (i, pack) in t.packs().iter().enumerate() {
            let device = self.pack_device(i, pack);
            let state = t.pack_state(pack);
            let availability = t.pack_availability(pack);
            let temperatures = shape.temperatures.get(i).copied().unwrap_or(0);
            for e in pack_entities(self.cells, temperatures) {
                out.push(self.message(&e, &pack.object, &state, &device, Some(&availability)));
            }
        }
        out
    }

    fn pack_device(&self, index: usize, pack: &PackIds) -> Value {
        let t = &self.topics;
        let protocol = self.protocols.get(index).copied().unwrap_or("jk");
        json!({
            "identifiers": [format!("{}_{}", t.node(), pack.object)],
            "name": format!("{} {}", t.prefix(), pack.name),
            "manufacturer": "JK BMS",
            "model": format!("JK BMS ({protocol})"),
            "via_device": t.node(),
        })
    }

    /// The config message of entity `e` of the device whose object id part is `owner`.
    fn message(
        &self,
        e: &Entity,
        owner: &str,
        state_topic: &str,
        device: &Value,
        pack_availability: Option<&str>,
    ) -> Message {
        let t = &self.topics;
        let object = format!("{owner}_{}", e.key);
        let unique = format!("{}_{object}", t.node());
        let component = e.component.as_str();
        let mut c = Map::new();
        c.insert("name".into(), json!(e.name));
        c.insert("unique_id".into(), json!(unique));
        // `object_id` for Home Assistant before 2025.10, `default_entity_id` from then on
        // (object_id stops working in 2026.4); with both, neither version warns.
        c.insert("object_id".into(), json!(unique));
        c.insert(
            "default_entity_id".into(),
            json!(format!("{component}.{unique}")),
        );
        c.insert("state_topic".into(), json!(state_topic));
        c.insert("value_template".into(), json!(e.template));
        let mut availability = vec![json!({ "topic": t.availability() })];
        if let (Follows::Pack, Some(pack)) = (e.follows, pack_availability) {
            availability.push(json!({ "topic": pack }));
        }
        c.insert("availability".into(), Value::Array(availability));
        c.insert("availability_mode".into(), json!("all"));
        let optional = [
            ("unit_of_measurement", e.unit),
            ("device_class", e.device_class),
            ("state_class", e.state_class),
            ("icon", e.icon),
            ("entity_category", e.diagnostic.then_some("diagnostic")),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                c.insert(key.into(), json!(value));
            }
        }
        if let Some(p) = e.precision {
            c.insert("suggested_display_precision".into(), json!(p));
        }
        c.insert("device".into(), device.clone());
        c.insert(
            "origin".into(),
            json!({ "name": "busbar", "sw_version": self.version }),
        );
        Message {
            topic: format!(
                "{}/{component}/{}/{object}/config",
                self.discovery_prefix,
                t.node()
            ),
            payload: Value::Object(c).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn discovery(packs: &[&str], cells: usize) -> Discovery {
        Discovery {
            topics: Topics::new("busbar", packs),
            discovery_prefix: "homeassistant".into(),
            cells,
            protocols: vec!["jk-nw"; packs.len()],
            version: "0.1.0",
        }
    }

    fn parse(m: &Message) -> Value {
        serde_json::from_str(&m.payload).unwrap()
    }

    fn find<'a>(messages: &'a [Message], topic: &str) -> &'a Message {
        messages
            .iter()
            .find(|m| m.topic == topic)
            .unwrap_or_else(|| panic!("no {topic}"))
    }

    #[test]
    fn every_entity_has_a_distinct_topic_and_unique_id() {
        let d = discovery(&["pack1", "pack2"], 16);
        let shape = Shape {
            temperatures: vec![2, 0],
        };
        let messages = d.messages(&shape);
        let battery = battery_entities().len();
        let pack = pack_entities(16, 0).len();
        assert_eq!(messages.len(), battery + 2 * pack + 2);
        let topics: HashSet<_> = messages.iter().map(|m| &m.topic).collect();
        assert_eq!(topics.len(), messages.len());
        let ids: HashSet<_> = messages
            .iter()
            .map(|m| parse(m)["unique_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), messages.len());
        for m in &messages {
            let c = parse(m);
            assert!(m.topic.starts_with("homeassistant/"), "{}", m.topic);
            assert!(m.topic.ends_with("/config"), "{}", m.topic);
            for key in [
                "name",
                "state_topic",
                "value_template",
                "device",
                "availability",
            ] {
                assert!(c.get(key).is_some(), "{} lacks {key}", m.topic);
            }
            assert_eq!(c["availability"][0]["topic"], "busbar/status");
            assert_eq!(c["availability_mode"], "all");
        }
    }

    #[test]
    fn battery_sensors_read_the_battery_state() {
        let messages = discovery(&["pack1"], 16).messages(&Shape::default());
        let cvl = parse(find(
            &messages,
            "homeassistant/sensor/busbar/battery_cvl/config",
        ));
        assert_eq!(cvl["state_topic"], "busbar/battery/state");
        assert_eq!(
            cvl["value_template"],
            "{{ value_json.cvl | default(none) }}"
        );
        assert_eq!(cvl["unit_of_measurement"], "V");
        assert_eq!(cvl["device_class"], "voltage");
        assert_eq!(cvl["state_class"], "measurement");
        assert_eq!(cvl["unique_id"], "busbar_battery_cvl");
        assert_eq!(cvl["default_entity_id"], "sensor.busbar_battery_cvl");
        assert_eq!(cvl["device"]["identifiers"][0], "busbar");
        assert_eq!(cvl["availability"].as_array().unwrap().len(), 1);
        let soc = parse(find(
            &messages,
            "homeassistant/sensor/busbar/battery_soc/config",
        ));
        assert_eq!(soc["device_class"], "battery");
        assert_eq!(soc["unit_of_measurement"], "%");
    }

    #[test]
    fn pack_readings_go_unavailable_with_the_pack_but_online_does_not() {
        let messages = discovery(&["pack1"], 4).messages(&Shape {
            temperatures: vec![2],
        });
        let voltage = parse(find(
            &messages,
            "homeassistant/sensor/busbar/pack1_voltage/config",
        ));
        assert_eq!(voltage["state_topic"], "busbar/pack/pack1/state");
        assert_eq!(
            voltage["availability"],
            json!([{"topic": "busbar/status"}, {"topic": "busbar/pack/pack1/availability"}])
        );
        assert_eq!(voltage["device"]["via_device"], "busbar");
        assert_eq!(voltage["device"]["identifiers"][0], "busbar_pack1");
        let online = parse(find(
            &messages,
            "homeassistant/binary_sensor/busbar/pack1_online/config",
        ));
        assert_eq!(online["availability"], json!([{"topic": "busbar/status"}]));
        assert_eq!(online["device_class"], "connectivity");
        assert_eq!(
            online["value_template"],
            "{{ 'ON' if value_json.online else 'OFF' }}"
        );
    }

    #[test]
    fn one_sensor_per_cell_and_per_temperature_sensor() {
        let messages = discovery(&["pack1"], 4).messages(&Shape {
            temperatures: vec![2],
        });
        for cell in 1..=4 {
            let c = parse(find(
                &messages,
                &format!("homeassistant/sensor/busbar/pack1_cell_{cell:02}/config"),
            ));
            assert_eq!(
                c["value_template"],
                format!(
                    "{{{{ value_json.cell_voltages[{}] | default(none) }}}}",
                    cell - 1
                )
            );
            assert_eq!(c["entity_category"], "diagnostic");
        }
        assert!(!messages.iter().any(|m| m.topic.contains("pack1_cell_05")));
        find(
            &messages,
            "homeassistant/sensor/busbar/pack1_temperature_2/config",
        );
        assert!(!messages.iter().any(|m| m.topic.contains("temperature_3")));
    }

    #[test]
    fn battery_discovery_snapshot() {
        let messages = discovery(&["pack1"], 2).messages(&Shape {
            temperatures: vec![1],
        });
        let all: Vec<Value> = messages
            .iter()
            .map(|m| json!({"topic": m.topic, "payload": parse(m)}))
            .collect();
        let pretty = serde_json::to_string_pretty(&all).unwrap();
        insta::assert_snapshot!("discovery_one_pack_two_cells", pretty);
    }
}

use std::path::Path;
use std::time::Duration;

use super::*;

const EXAMPLE: &str = include_str!("../../config/busbar.example.toml");

const MINIMAL: &str = r#"
[battery]
cells = 16
charge_voltage = 3.45
float_voltage = 3.375
discharge_voltage = 2.90
max_charge_current = 300
max_discharge_current = 350

[[pack]]
name = "pack1"
port = "/dev/ttyUSB0"
protocol = "jk-nw"
max_charge_current = 60
max_discharge_current = 70
"#;

fn load(source: &str) -> Result<Loaded, ConfigError> {
    Config::from_source(Path::new("test.toml"), source)
}

/// The single problem of a config that must fail, as "line N: key: message".
fn problem(source: &str) -> Problem {
    match load(source) {
        Err(ConfigError::Parse { problem, .. }) => problem,
        Err(ConfigError::Invalid { mut problems, .. }) => {
            assert_eq!(problems.len(), 1, "expected one problem: {problems:?}");
            problems.remove(0)
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn the_example_config_is_the_seed_setup() {
    let loaded = load(EXAMPLE).expect("example config is valid");
    let c = &loaded.config;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(c.battery.cells, 16);
    assert_eq!(c.battery.max_charge_current, 300.0);
    assert_eq!(c.battery.max_discharge_current, 350.0);
    assert_eq!(c.packs.len(), 5);
    for p in &c.packs {
        assert_eq!(p.protocol, Protocol::JkNw);
        assert_eq!(p.max_charge_current, 60.0);
        assert_eq!(p.max_discharge_current, 70.0);
    }
}

#[test]
fn the_example_config_comments_every_key() {
    for (n, line) in EXAMPLE.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        if code.contains(" = ") && !line.trim_start().starts_with('#') {
            assert!(line.contains('#'), "line {} has no comment: {line}", n + 1);
        }
    }
}

#[test]
fn timing_and_can_default_to_design_values() {
    let c = load(MINIMAL).unwrap().config;
    assert_eq!(c.timing.poll_interval, Duration::from_secs(1));
    assert_eq!(c.timing.offline_after, Duration::from_secs(3));
    assert_eq!(c.timing.can_interval, Duration::from_secs(1));
    assert_eq!(c.can.interface, "can0");
}

#[test]
fn durations_read_humantime() {
    let src =
        format!("{MINIMAL}\n[timing]\npoll_interval = \"500ms\"\noffline_after = \"2s 500ms\"\n");
    let c = load(&src).unwrap().config;
    assert_eq!(c.timing.poll_interval, Duration::from_millis(500));
    assert_eq!(c.timing.offline_after, Duration::from_millis(2500));
}

#[test]
fn effective_settings_round_trip_through_toml() {
    let c = load(EXAMPLE).unwrap().config;
    let again = load(&c.to_toml()).unwrap().config;
    assert_eq!(c, again);
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let src = MINIMAL.replace("cells = 16", "cells = 16\ncharge_volts = 3.5");
    let p = problem(&src);
    assert_eq!(p.line, Some(4));
    assert!(p.key.starts_with("battery"), "{p}");
    assert!(p.message.contains("unknown field `charge_volts`"), "{p}");
}

#[test]
fn wrong_type_names_the_key_and_line() {
    let src = MINIMAL.replace("cells = 16", "cells = \"sixteen\"");
    let p = problem(&src);
    assert_eq!(p.key, "battery.cells");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("invalid type"), "{p}");
}

#[test]
fn missing_key_is_named() {
    let src = MINIMAL.replace("protocol = \"jk-nw\"\n", "");
    let p = problem(&src);
    assert!(p.message.contains("missing field `protocol`"), "{p}");
    assert!(p.key.starts_with("pack"), "{p}");
}

#[test]
fn unknown_protocol_is_named() {
    let src = MINIMAL.replace("\"jk-nw\"", "\"jk-bms\"");
    let p = problem(&src);
    assert_eq!(p.key, "pack[0].protocol");
    assert_eq!(p.line, Some(13));
    assert!(p.message.contains("jk-nw"), "{p}");
}

#[test]
fn bad_duration_is_named() {
    let src = format!("{MINIMAL}\n[timing]\npoll_interval = \"fast\"\n");
    let p = problem(&src);
    assert_eq!(p.key, "timing.poll_interval");
    assert_eq!(p.line, Some(18));
}

#[test]
fn float_above_charge_voltage_is_refused() {
    let src = MINIMAL.replace("float_voltage = 3.375", "float_voltage = 3.5");
    let p = problem(&src);
    assert_eq!(p.key, "battery.float_voltage");
    assert_eq!(p.line, Some(5));
    assert!(p.message.contains("above the charge"), "{p}");
}

#[test]
fn pack_voltage_instead_of_cell_voltage_is_explained() {
    let src = MINIMAL.replace("charge_voltage = 3.45", "charge_voltage = 55.2");
    let p = problem(&src);
    assert_eq!(p.key, "battery.charge_voltage");
    assert!(p.message.contains("per-cell"), "{p}");
}

#[test]
fn no_packs_is_refused() {
    let src = MINIMAL.split("[[pack]]").next().unwrap();
    let p = problem(src);
    assert_eq!(p.key, "pack");
    assert!(p.message.contains("at least one pack"), "{p}");
}

#[test]
fn address_zero_on_jk_pb_is_refused() {
    let src = MINIMAL.replace("\"jk-nw\"", "\"jk-pb\"\naddress = 0");
    let p = problem(&src);
    assert_eq!(p.key, "pack[0].address");
    assert_eq!(p.line, Some(14));
    assert!(p.message.contains("bus master"), "{p}");
}

#[test]
fn jk_pb_without_address_is_refused() {
    let src = MINIMAL.replace("\"jk-nw\"", "\"jk-pb\"");
    let p = problem(&src);
    assert_eq!(p.key, "pack[0].address");
}

#[test]
fn two_packs_on_one_jk_nw_port_are_refused() {
    let second = MINIMAL
        .split("[[pack]]")
        .nth(1)
        .unwrap()
        .replace("pack1", "pack2");
    let src = format!("{MINIMAL}\n[[pack]]{second}");
    let p = problem(&src);
    assert_eq!(p.key, "pack[1].port");
    assert_eq!(p.line, Some(19));
    assert!(p.message.contains("exactly one BMS"), "{p}");
}

#[test]
fn jk_pb_packs_share_a_port_with_distinct_addresses() {
    let pb = |name: &str, address: u8| {
        format!(
            "[[pack]]\nname = \"{name}\"\nport = \"/dev/ttyUSB1\"\nprotocol = \"jk-pb\"\naddress = {address}\nmax_charge_current = 100\nmax_discharge_current = 100\n"
        )
    };
    let head = MINIMAL.split("[[pack]]").next().unwrap();
    let ok = format!("{head}{}{}", pb("a", 1), pb("b", 2));
    assert!(load(&ok).is_ok());
    let clash = format!("{head}{}{}", pb("a", 1), pb("b", 1));
    let p = problem(&clash);
    assert_eq!(p.key, "pack[1].address");
    assert!(p.message.contains("already used by pack[0]"), "{p}");
}

#[test]
fn duplicate_pack_names_are_refused() {
    let second = MINIMAL
        .split("[[pack]]")
        .nth(1)
        .unwrap()
        .replace("ttyUSB0", "ttyUSB1");
    let src = format!("{MINIMAL}\n[[pack]]{second}");
    let p = problem(&src);
    assert_eq!(p.key, "pack[1].name");
}

#[test]
fn offline_after_not_longer_than_poll_interval_is_refused() {
    let src = format!("{MINIMAL}\n[timing]\npoll_interval = \"2s\"\noffline_after = \"2s\"\n");
    let p = problem(&src);
    assert_eq!(p.key, "timing.offline_after");
}

#[test]
fn current_beyond_what_can_carries_is_refused() {
    let src = MINIMAL.replace("max_charge_current = 300", "max_charge_current = 5000");
    let p = problem(&src);
    assert_eq!(p.key, "battery.max_charge_current");
    let src = MINIMAL.replace("max_charge_current = 60", "max_charge_current = -1");
    assert_eq!(problem(&src).key, "pack[0].max_charge_current");
}

#[test]
fn bad_can_interface_is_refused() {
    let src = format!("{MINIMAL}\n[can]\ninterface = \"candump:\"\n");
    assert_eq!(problem(&src).key, "can.interface");
    let src = format!("{MINIMAL}\n[can]\ninterface = \"/dev/can0\"\n");
    assert_eq!(problem(&src).key, "can.interface");
    let src = format!("{MINIMAL}\n[can]\ninterface = \"candump:-\"\n");
    assert!(load(&src).is_ok());
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let src = MINIMAL
        .replace("float_voltage = 3.375", "float_voltage = 3.5")
        .replace("max_discharge_current = 70", "max_discharge_current = -5");
    match load(&src) {
        Err(ConfigError::Invalid { problems, .. }) => assert_eq!(problems.len(), 2),
        other => panic!("expected two problems, got {other:?}"),
    }
}

#[test]
fn the_message_names_file_line_and_key() {
    let src = MINIMAL.replace("float_voltage = 3.375", "float_voltage = 3.5");
    let err = load(&src).unwrap_err().to_string();
    assert!(
        err.contains("test.toml") && err.contains("line 5: battery.float_voltage:"),
        "{err}"
    );
}

#[test]
fn address_on_jk_nw_only_warns() {
    let src = MINIMAL.replace("\"jk-nw\"", "\"jk-nw\"\naddress = 1");
    let loaded = load(&src).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].key, "pack[0].address");
}

#[test]
fn the_example_spells_out_the_default_limits_and_control() {
    let c = load(EXAMPLE).unwrap().config;
    assert_eq!(c.limits, crate::battery::LimitsConfig::default());
    assert_eq!(c.control, crate::battery::ControlConfig::default());
}

#[test]
fn a_bad_limit_table_is_named_with_its_line() {
    let src = format!(
        "{MINIMAL}\n[limits.charge_by_cell]\npoints = [{{ volts = 3.45, amps = 30 }}, {{ volts = 3.55, amps = 0 }}]\n"
    );
    let p = problem(&src);
    assert!(p.key.starts_with("limits.charge_by_cell.points"), "{p}");
    assert_eq!(p.line, Some(18));
}

#[test]
fn a_bad_control_value_is_named() {
    let src = format!("{MINIMAL}\n[control]\nramp_rate = -1.0\n");
    let p = problem(&src);
    assert_eq!(p.key, "control.ramp_rate");
    assert_eq!(p.line, Some(18));
}

#[test]
fn battery_settings_are_in_milli_units() {
    let s = load(MINIMAL).unwrap().config.battery_settings().unwrap();
    assert_eq!(s.charge_voltage_mv, 3450);
    assert_eq!(s.float_voltage_mv, 3375);
    assert_eq!(s.max_charge_current_ma, 300_000);
    assert_eq!(s.packs[0].max_discharge_current_ma, 70_000);
    assert_eq!(s.offline_after, Duration::from_secs(3));
}

#[test]
fn can_profile_and_name_default_to_victron_and_busbar() {
    let c = load(MINIMAL).unwrap().config;
    assert_eq!(c.can.profile, CanProfile::Victron);
    assert_eq!(c.can.name, "BUSBAR");
}

#[test]
fn a_brand_name_venus_rewrites_is_refused_on_the_victron_profile() {
    let src = format!("{MINIMAL}\n[can]\nname = \"PYLON\"\n");
    let p = problem(&src);
    assert_eq!(p.key, "can.name");
    assert!(p.message.contains("CCL = 0"), "{p}");
    let src = format!("{MINIMAL}\n[can]\nprofile = \"pylon\"\nname = \"PYLON\"\n");
    assert!(load(&src).is_ok());
}

#[test]
fn a_can_name_longer_than_frame_0x35e_is_refused() {
    let src = format!("{MINIMAL}\n[can]\nname = \"NINECHARS\"\n");
    assert_eq!(problem(&src).key, "can.name");
}

#[test]
fn a_can_interval_below_the_scheduler_floor_warns() {
    let src = format!("{MINIMAL}\n[timing]\ncan_interval = \"200ms\"\n");
    let loaded = load(&src).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].key, "timing.can_interval");
}

fn jk_pb_bus(packs: u8, timing: &str) -> String {
    let head = MINIMAL.split("[[pack]]").next().unwrap();
    let mut s = format!("{head}{timing}\n");
    for a in 1..=packs {
        s.push_str(&format!(
            "[[pack]]\nname = \"p{a}\"\nport = \"/dev/ttyUSB1\"\nprotocol = \"jk-pb\"\naddress = {a}\nmax_charge_current = 100\nmax_discharge_current = 100\n"
        ));
    }
    s
}

#[test]
fn offline_after_shorter_than_three_sweeps_of_a_jk_pb_bus_warns() {
    // 15 packs: a sweep is about 15 x 150 ms = 2.25 s; three sweeps 6.75 s > the default 3 s.
    let loaded = load(&jk_pb_bus(15, "")).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let w = &loaded.warnings[0];
    assert_eq!(w.key, "timing.offline_after");
    assert!(w.message.contains("/dev/ttyUSB1"), "{w}");
    assert!(w.message.contains("15 pack(s)"), "{w}");
    assert!(w.message.contains("2s 250ms"), "{w}");
    assert!(w.message.contains("6s 750ms"), "{w}");
    // Long enough: no warning.
    let ok = jk_pb_bus(15, "[timing]\noffline_after = \"7s\"\n");
    assert!(load(&ok).unwrap().warnings.is_empty());
    // A small bus is paced by poll_interval: 4 packs at 1 s polling need 3 s.
    assert!(load(&jk_pb_bus(4, "")).unwrap().warnings.is_empty());
    let short = jk_pb_bus(4, "[timing]\noffline_after = \"2500ms\"\n");
    let loaded = load(&short).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].message.contains("read every 1s"),
        "{:?}",
        loaded.warnings
    );
}

const JK_PB_EXAMPLE: &str = include_str!("../../config/busbar.jk-pb.example.toml");

#[test]
fn the_jk_pb_example_is_valid_without_warnings_and_commented() {
    let loaded = load(JK_PB_EXAMPLE).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.config.packs.len(), 4);
    let port = &loaded.config.packs[0].port;
    for (i, p) in loaded.config.packs.iter().enumerate() {
        assert_eq!(p.protocol, Protocol::JkPb);
        assert_eq!(&p.port, port, "one bus");
        assert_eq!(p.address, Some(i as u8 + 1));
    }
    for (n, line) in JK_PB_EXAMPLE.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        if code.contains(" = ") && !line.trim_start().starts_with('#') {
            assert!(line.contains('#'), "line {} has no comment: {line}", n + 1);
        }
    }
}

#[test]
fn mqtt_is_off_by_default_with_home_assistant_defaults() {
    let c = load(MINIMAL).unwrap().config;
    assert!(!c.mqtt.enabled);
    assert_eq!(c.mqtt.port, 1883);
    assert_eq!(c.mqtt.topic_prefix, "busbar");
    assert_eq!(c.mqtt.discovery_prefix, "homeassistant");
    assert!(c.mqtt.discovery && c.mqtt.retain && !c.mqtt.tls);
    assert_eq!(c.mqtt.interval, Duration::from_secs(5));
}

#[test]
fn mqtt_reads_every_key() {
    let src = format!(
        "{MINIMAL}\n[mqtt]\nenabled = true\nhost = \"broker.lan\"\nport = 1884\nclient_id = \"bb\"\nusername = \"u\"\npassword = \"p\"\ntopic_prefix = \"home/battery\"\nretain = false\ndiscovery = false\ndiscovery_prefix = \"ha\"\ninterval = \"10s\"\nkeep_alive = \"1m\"\n"
    );
    let c = load(&src).unwrap().config;
    assert!(c.mqtt.enabled && !c.mqtt.retain && !c.mqtt.discovery);
    assert_eq!(c.mqtt.host, "broker.lan");
    assert_eq!(c.mqtt.port, 1884);
    assert_eq!(c.mqtt.topic_prefix, "home/battery");
    assert_eq!(c.mqtt.password.as_ref().map(|p| p.expose()), Some("p"));
    assert_eq!(c.mqtt.keep_alive, Duration::from_secs(60));
    // The password never shows in the effective settings.
    let shown = c.to_toml();
    assert!(shown.contains("password = \"***\""), "{shown}");
}

#[test]
fn mqtt_enabled_without_a_host_is_refused() {
    let src = format!("{MINIMAL}\n[mqtt]\nenabled = true\nhost = \"\"\n");
    assert_eq!(problem(&src).key, "mqtt.host");
}

#[test]
fn mqtt_prefixes_with_wildcards_or_slashes_at_the_ends_are_refused() {
    for (key, value) in [
        ("topic_prefix", "busbar/#"),
        ("topic_prefix", "a/+/b"),
        ("topic_prefix", "/busbar"),
        ("topic_prefix", "busbar/"),
        ("topic_prefix", ""),
        ("discovery_prefix", "homeassistant/"),
        ("discovery_prefix", "home#"),
    ] {
        let src = format!("{MINIMAL}\n[mqtt]\n{key} = \"{value}\"\n");
        let p = problem(&src);
        assert_eq!(p.key, format!("mqtt.{key}"), "{value}: {p:?}");
    }
    let nested = format!("{MINIMAL}\n[mqtt]\ntopic_prefix = \"home/energy/busbar\"\n");
    assert!(load(&nested).is_ok());
}

#[test]
fn mqtt_client_id_interval_and_keep_alive_have_floors() {
    for (line, key) in [
        ("client_id = \"\"", "mqtt.client_id"),
        ("interval = \"500ms\"", "mqtt.interval"),
        ("keep_alive = \"2s\"", "mqtt.keep_alive"),
    ] {
        let src = format!("{MINIMAL}\n[mqtt]\n{line}\n");
        assert_eq!(problem(&src).key, key, "{line}");
    }
}

#[cfg(not(feature = "mqtt-tls"))]
#[test]
fn mqtt_tls_without_the_feature_says_how_to_get_it() {
    let src = format!("{MINIMAL}\n[mqtt]\ntls = true\n");
    let p = problem(&src);
    assert_eq!(p.key, "mqtt.tls");
    assert!(p.message.contains("--features mqtt-tls"), "{p:?}");
}

#[test]
fn the_example_documents_mqtt_and_http() {
    let c = load(EXAMPLE).unwrap().config;
    assert_eq!(c.mqtt, crate::config::MqttConfig::default());
    assert_eq!(c.http, crate::config::HttpConfig::default());
}

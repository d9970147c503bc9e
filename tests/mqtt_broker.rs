//! MQTT against a real Mosquitto: simulated packs -> `busbar run` -> broker -> a subscriber.
//!
//! Asserts what a Home Assistant user relies on: discovery for the battery, every pack and
//! every cell; state with plausible values; a pack that goes silent turns "offline" (its
//! sensors unavailable); Home Assistant restarting gets discovery again; a broker restart
//! (retained messages lost) gets discovery and "online" again; SIGKILL -> the broker's
//! last-will says "offline" (at once: the kernel closes the socket); SIGSTOP (a hung host: the
//! socket stays open) -> the last-will once the keep-alive runs out; SIGTERM -> busbar says
//! "offline" itself, at once, and still sends its last CAN frame set.
//!
//! Needs `/usr/sbin/mosquitto` (Debian package `mosquitto`): skipped with a notice without it,
//! except on CI (`.ci/run` installs it and sets `BUSBAR_TESTS_REQUIRE_TOOLS`).

mod e2e_support;
mod mqtt_support;

use std::time::{Duration, Instant};

use busbar::monitor::mqtt::discovery::{Discovery, Shape};
use busbar::monitor::mqtt::topics::Topics;
use e2e_support::{secs, Harness, Options, CELLS, CVL_V, PACK_CHARGE_A, PACK_DISCHARGE_A};
use mqtt_support::{Broker, Msg, Subscriber};

const PACKS: usize = 2;
/// The test config's keep-alive (the shortest rumqttc takes); Mosquitto fires the last-will
/// after 1.5 × this without a packet.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Start-up, connect and the first state round, on a loaded runner.
const START: Duration = Duration::from_secs(15);

fn start(broker: &Broker) -> Harness {
    start_on(broker.port)
}

fn start_on(port: u16) -> Harness {
    let mut options = Options::packs(PACKS);
    options.extra_config = format!(
        "[http]\nenabled = false\n\n[mqtt]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\n\
         keep_alive = \"{}s\"\ninterval = \"1s\"\n",
        KEEP_ALIVE.as_secs()
    );
    Harness::start(options)
}

/// What busbar should announce for the test's packs (before any temperature sensor is known).
fn expected_discovery() -> Vec<String> {
    let names: Vec<String> = (1..=PACKS).map(|i| format!("pack{i}")).collect();
    let d = Discovery {
        topics: Topics::new("busbar", &names),
        discovery_prefix: "homeassistant".into(),
        cells: CELLS,
        protocols: vec!["jk-nw"; PACKS],
        version: env!("CARGO_PKG_VERSION"),
    };
    d.messages(&Shape::default())
        .into_iter()
        .map(|m| m.topic)
        .collect()
}

fn signal(h: &Harness, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), h.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

fn fail(h: &Harness, broker: &Broker, e: String) -> ! {
    panic!(
        "{e}\n{}\nmosquitto log:\n{}",
        h.context("busbar"),
        broker.log()
    )
}

/// Every expected discovery config arrived after `after`, as JSON naming a state topic of
/// ours and our availability topic.
fn check_discovery(sub: &mut Subscriber, h: &Harness, broker: &Broker, after: Instant) {
    let deadline = Instant::now() + START;
    for topic in expected_discovery() {
        let m = sub
            .wait(&topic, after, deadline, |m| !m.payload.is_empty())
            .unwrap_or_else(|e| fail(h, broker, e));
        let c = m.json();
        let state = c["state_topic"].as_str().unwrap_or_default();
        let wanted = if topic.contains("/battery_") {
            "busbar/battery/state".to_string()
        } else {
            let pack = topic.split('/').nth(3).unwrap_or_default();
            let pack = pack.split('_').next().unwrap_or_default();
            format!("busbar/pack/{pack}/state")
        };
        assert_eq!(state, wanted, "{topic}: {c}");
        assert_eq!(c["availability"][0]["topic"], "busbar/status", "{topic}");
        assert!(c["unique_id"].is_string() && c["device"].is_object(), "{c}");
    }
}

#[test]
fn discovery_state_availability_restarts_and_last_will_through_mosquitto() {
    if !mqtt_support::mosquitto_installed() {
        return;
    }
    let dir = e2e_support::TempDir::new();
    let mut broker = Broker::start(&dir.0);
    let mut sub = Subscriber::connect(broker.port, &["busbar/#", "homeassistant/#"]);
    let h = start(&broker);
    let t0 = h.spawned_at;

    // online, discovery for the battery, both packs and all their cells.
    sub.wait("busbar/status", t0, t0 + START, |m| m.payload == "online")
        .unwrap_or_else(|e| fail(&h, &broker, e));
    check_discovery(&mut sub, &h, &broker, t0);
    let announced = Instant::now();
    println!(
        "discovery complete {} after spawn ({} configs)",
        secs(announced - t0),
        expected_discovery().len()
    );

    // State: the battery as on CAN, each pack with its cells.
    let battery = sub
        .wait("busbar/battery/state", t0, t0 + START, |m| {
            m.json()["ccl"].as_f64() == Some(PACK_CHARGE_A * PACKS as f64)
        })
        .unwrap_or_else(|e| fail(&h, &broker, e));
    let b = battery.json();
    assert!((b["cvl"].as_f64().unwrap() - CVL_V).abs() < 0.05, "{b}");
    assert_eq!(
        b["dcl"].as_f64(),
        Some(PACK_DISCHARGE_A * PACKS as f64),
        "{b}"
    );
    assert_eq!(b["packs_online"], PACKS, "{b}");
    let soc = b["soc"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&soc), "{b}");
    for pack in 1..=PACKS {
        let topic = format!("busbar/pack/pack{pack}/state");
        let m = sub
            .wait(&topic, t0, t0 + START, |m| m.json()["online"] == true)
            .unwrap_or_else(|e| fail(&h, &broker, e));
        let p = m.json();
        let cells: Vec<f64> = p["cell_voltages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(cells.len(), CELLS, "{p}");
        assert!(cells.iter().all(|v| (1.0..=5.0).contains(v)), "{p}");
        let sum: f64 = cells.iter().sum();
        let voltage = p["voltage"].as_f64().unwrap();
        assert!(
            (voltage - sum).abs() < sum * 0.05,
            "{voltage} V vs cells {sum} V"
        );
        assert_eq!(p["charge_limit"].as_f64(), Some(PACK_CHARGE_A), "{p}");
        assert!(p["last_heard_s"].as_f64().unwrap() < 2.0, "{p}");
        sub.wait(
            &format!("busbar/pack/pack{pack}/availability"),
            t0,
            t0 + START,
            |m| m.payload == "online",
        )
        .unwrap_or_else(|e| fail(&h, &broker, e));
    }

    // A silent pack: unavailable in Home Assistant within offline_after + slack, and its
    // state says so; busbar itself stays online.
    let silenced = h.fault(1, |f| f.silent = true);
    let bound = h.options.offline_after + Duration::from_millis(1500);
    let off = sub
        .wait(
            "busbar/pack/pack2/availability",
            silenced,
            silenced + bound,
            |m| m.payload == "offline",
        )
        .unwrap_or_else(|e| fail(&h, &broker, e));
    println!(
        "pack2 offline on MQTT {} after it went silent",
        secs(off.at - silenced)
    );
    sub.wait(
        "busbar/pack/pack2/state",
        silenced,
        off.at + Duration::from_secs(2),
        |m| m.json()["online"] == false,
    )
    .unwrap_or_else(|e| fail(&h, &broker, e));
    h.fault(1, |f| f.silent = false);

    // Home Assistant restarts: it says "online" on its status topic and gets discovery again.
    let ha_back = Instant::now();
    sub.publish("homeassistant/status", "online");
    sub.wait(
        "homeassistant/sensor/busbar/battery_cvl/config",
        ha_back,
        ha_back + Duration::from_secs(5),
        |m| !m.retained,
    )
    .unwrap_or_else(|e| fail(&h, &broker, e));

    // The broker restarts and forgets everything: busbar reconnects and announces again.
    let restarted = Instant::now();
    broker.restart();
    sub.wait("busbar/status", restarted, restarted + START, |m| {
        m.payload == "online"
    })
    .unwrap_or_else(|e| fail(&h, &broker, e));
    check_discovery(&mut sub, &h, &broker, restarted);
    sub.wait("busbar/battery/state", restarted, restarted + START, |_| {
        true
    })
    .unwrap_or_else(|e| fail(&h, &broker, e));
    println!(
        "after the broker restart: online and full discovery again {} later",
        secs(Instant::now() - restarted)
    );

    // SIGKILL: no goodbye from busbar. The kernel closes its socket, so the broker sees the
    // connection end without DISCONNECT and publishes the last-will at once (the keep-alive
    // bound is for a connection that goes quiet instead; see the SIGSTOP test).
    let killed = Instant::now();
    signal(&h, "KILL");
    let will = sub
        .wait(
            "busbar/status",
            killed,
            killed + KEEP_ALIVE * 3 / 2 + Duration::from_secs(3),
            |m| m.payload == "offline",
        )
        .unwrap_or_else(|e| fail(&h, &broker, e));
    println!(
        "last-will \"offline\" {} after SIGKILL",
        secs(will.at - killed)
    );
    // Retained: a dashboard that connects later sees "offline" too.
    let mut late = Subscriber::connect(broker.port, &["busbar/status"]);
    let late_start = Instant::now();
    let m: Msg = late
        .wait(
            "busbar/status",
            late_start,
            late_start + Duration::from_secs(5),
            |_| true,
        )
        .unwrap_or_else(|e| fail(&h, &broker, e));
    assert!(m.retained && m.payload == "offline", "{m:?}");
}

#[test]
fn sigterm_says_offline_at_once_and_stops_in_time() {
    if !mqtt_support::mosquitto_installed() {
        return;
    }
    let dir = e2e_support::TempDir::new();
    let broker = Broker::start(&dir.0);
    let mut sub = Subscriber::connect(broker.port, &["busbar/status"]);
    let mut h = start(&broker);
    let t0 = h.spawned_at;
    sub.wait("busbar/status", t0, t0 + START, |m| m.payload == "online")
        .unwrap_or_else(|e| fail(&h, &broker, e));
    // Let it publish a round or two.
    std::thread::sleep(Duration::from_millis(500));
    let sent = h.terminate();
    let offline = sub
        .wait("busbar/status", sent, sent + Duration::from_secs(3), |m| {
            m.payload == "offline"
        })
        .unwrap_or_else(|e| fail(&h, &broker, e));
    let exit = h
        .wait_exit(sent + Duration::from_secs(5))
        .unwrap_or_else(|e| fail(&h, &broker, e));
    assert!(exit.success(), "{exit:?}");
    println!(
        "SIGTERM: \"offline\" {} after, exited {} after",
        secs(offline.at - sent),
        secs(Instant::now() - sent)
    );
    // Well before any keep-alive could have run out: busbar said it, not the last-will.
    assert!(offline.at - sent < Duration::from_secs(2));
    // Rule 8 still holds with MQTT on: the last frame set carries zero current.
    let last = h.latest(0x351).expect("a 0x351 was sent");
    assert!(
        h.limits(&last).currents_are(0.0, 0.0),
        "{:?}",
        h.limits(&last)
    );
}

#[test]
fn a_frozen_busbar_is_declared_offline_by_the_last_will_once_its_keep_alive_runs_out() {
    if !mqtt_support::mosquitto_installed() {
        return;
    }
    let dir = e2e_support::TempDir::new();
    let broker = Broker::start(&dir.0);
    let mut sub = Subscriber::connect(broker.port, &["busbar/status"]);
    let h = start(&broker);
    let t0 = h.spawned_at;
    sub.wait("busbar/status", t0, t0 + START, |m| m.payload == "online")
        .unwrap_or_else(|e| fail(&h, &broker, e));
    // SIGSTOP: the socket stays open but nothing more comes (a hung host, a cut cable).
    let frozen = Instant::now();
    signal(&h, "STOP");
    // MQTT says 1.5 × keep-alive; Mosquitto 2.0.11 checks coarsely and was seen to take up
    // to ~2 × keep-alive (about 10.5 s for 5 s).
    let will = sub
        .wait(
            "busbar/status",
            frozen,
            frozen + KEEP_ALIVE * 2 + Duration::from_secs(7),
            |m| m.payload == "offline",
        )
        .unwrap_or_else(|e| fail(&h, &broker, e));
    let after = will.at - frozen;
    println!(
        "frozen busbar: last-will \"offline\" {} after SIGSTOP",
        secs(after)
    );
    // The last packet (a state round, 1 s interval) came at most ~1 s before the freeze.
    assert!(
        after >= KEEP_ALIVE * 3 / 2 - Duration::from_millis(1500),
        "offline only {} after the freeze: not the keep-alive",
        secs(after)
    );
    // Thawed, it notices the broker dropped it, reconnects and is online again.
    let thawed = Instant::now();
    signal(&h, "CONT");
    let back = sub
        .wait("busbar/status", thawed, thawed + START, |m| {
            m.payload == "online"
        })
        .unwrap_or_else(|e| fail(&h, &broker, e));
    println!("thawed: \"online\" again {} later", secs(back.at - thawed));
}

#[test]
fn a_broker_that_is_not_there_yet_is_logged_once_and_connected_to_when_it_comes() {
    if !mqtt_support::mosquitto_installed() {
        return;
    }
    let dir = e2e_support::TempDir::new();
    let port = mqtt_support::free_port();
    let mut h = start_on(port);
    let t0 = h.spawned_at;
    // CAN goes on regardless.
    let all = (
        PACK_CHARGE_A * PACKS as f64,
        PACK_DISCHARGE_A * PACKS as f64,
    );
    h.wait_for_351(t0, t0 + START, |l| l.currents_are(all.0, all.1))
        .unwrap_or_else(|e| panic!("{e}"));
    // Retries at 1 s, 2 s, 4 s after the first attempt: three failures by now, one warning.
    std::thread::sleep(Duration::from_secs(4));
    let log = h.log();
    let warnings = log.matches("MQTT: broker").count();
    assert_eq!(
        warnings, 1,
        "one warning per episode, not per retry:\n{log}"
    );
    // The broker comes: busbar connects at its next retry (back-off at most 8 s by now).
    let broker = Broker::start_on(&dir.0, port);
    let up = Instant::now();
    let mut sub = Subscriber::connect(port, &["busbar/status", "busbar/battery/state"]);
    sub.wait("busbar/status", up, up + Duration::from_secs(12), |m| {
        m.payload == "online"
    })
    .unwrap_or_else(|e| fail(&h, &broker, e));
    sub.wait(
        "busbar/battery/state",
        up,
        up + Duration::from_secs(12),
        |_| true,
    )
    .unwrap_or_else(|e| fail(&h, &broker, e));
    println!(
        "broker up: busbar online {} later",
        secs(Instant::now() - up)
    );
    assert!(h.log().contains("MQTT: connected to"), "{}", h.log());
}

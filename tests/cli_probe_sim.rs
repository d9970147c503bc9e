//! `busbar probe` against `busbar sim` over real pseudo-terminals, through the real binary:
//! the whole serial path (pty, termios, codec both ways) as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn busbar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_busbar"))
}

/// A running `busbar sim`, killed when dropped.
struct Sim {
    child: Child,
    ports: Vec<(String, String)>,
}

impl Sim {
    fn start(packs: usize) -> Sim {
        Sim::start_protocol(packs, "jk-nw")
    }

    fn start_protocol(packs: usize, protocol: &str) -> Sim {
        let mut child = busbar()
            .args(["sim", "--packs", &packs.to_string(), "--protocol", protocol])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ports = (0..packs)
            .map(|_| {
                let line = lines.next().expect("sim prints a line per pack").unwrap();
                // jk-pb adds " address=N" after the path.
                let mut words = line.split(' ');
                let (name, path) = (words.next().unwrap(), words.next().expect("NAME PATH"));
                (name.to_string(), path.to_string())
            })
            .collect();
        Sim { child, ports }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn probe_json_reads_a_simulated_pack() {
    let sim = Sim::start(2);
    assert_eq!(sim.ports[0].0, "pack1");
    assert_eq!(sim.ports[1].0, "pack2");
    for (_, port) in &sim.ports {
        let out = busbar()
            .args(["probe", "--protocol", "jk-nw", "--json", "--port", port])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let cells = v["cell_voltages"].as_array().unwrap();
        assert_eq!(cells.len(), 16);
        let sum: f64 = cells.iter().map(|c| c.as_f64().unwrap()).sum();
        let voltage = v["voltage"].as_f64().unwrap();
        assert!((voltage - sum).abs() < 0.02, "{voltage} vs cell sum {sum}");
        for c in cells {
            assert!((2.8..=3.6).contains(&c.as_f64().unwrap()), "{c}");
        }
        // Every key DESIGN.md fixes for the pack JSON is there with the right type.
        for key in ["current", "soc", "cycles", "capacity_ah", "mos_temperature"] {
            assert!(v[key].is_number(), "{key}: {}", v[key]);
        }
        for key in ["charge_enabled", "discharge_enabled", "balancing"] {
            assert!(v[key].is_boolean(), "{key}");
        }
        assert_eq!(v["temperatures"].as_array().unwrap().len(), 2);
        assert!(v["alarms"].is_array());
        assert_eq!(v["charge_enabled"], true);
        assert_eq!(v["capacity_ah"], 280.0);
    }
}

#[test]
fn probe_human_output_names_the_essentials() {
    let sim = Sim::start(1);
    let out = busbar()
        .args(["probe", "--port", &sim.ports[0].1])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["16 cells", "voltage", "SOC", "MOSFETs", "charge on", "T1"] {
        assert!(text.contains(word), "missing {word:?} in\n{text}");
    }
}

#[test]
fn probe_of_a_missing_port_fails_at_once_with_the_reason() {
    let started = Instant::now();
    let out = busbar()
        .args(["probe", "--port", "/dev/does-not-exist-busbar"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot open /dev/does-not-exist-busbar"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn probe_of_a_silent_bms_fails_after_its_tries() {
    // A pty nobody answers on: a BMS that is asleep or wired TX-to-TX.
    let (_master, slave) = tokio_serial::SerialStream::pair().unwrap();
    let path = tokio_serial::SerialPort::name(&slave).unwrap();
    let out = busbar()
        .args([
            "probe",
            "--port",
            &path,
            "--timeout",
            "200ms",
            "--tries",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no valid answer"), "{stderr}");
    assert!(stderr.contains("after 2 tries"), "{stderr}");
}

#[test]
fn jk_pb_sim_puts_every_address_on_one_port_and_probe_reads_each() {
    let sim = Sim::start_protocol(3, "jk-pb");
    let port = &sim.ports[0].1;
    assert!(sim.ports.iter().all(|(_, p)| p == port), "{:?}", sim.ports);
    for address in 1..=3u8 {
        let out = busbar()
            .args(["probe", "--protocol", "jk-pb", "--json", "--port", port])
            .args(["--address", &address.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["protocol"], "jk-pb");
        assert_eq!(v["address"], address);
        assert_eq!(v["cell_voltages"].as_array().unwrap().len(), 16);
        assert_eq!(v["capacity_ah"], 280.0);
        assert_eq!(v["bms_settings"]["cells"], 16);
        assert_eq!(v["bms_settings"]["max_charge_current_ma"], 200_000);
        assert_eq!(v["device_info"]["model"], "JK_PB2A16S20P");
        assert_eq!(v["cell_info"]["layout"], "JK02_32S");
        for key in ["current", "soc", "cycles", "mos_temperature"] {
            assert!(v[key].is_number(), "{key}: {}", v[key]);
        }
    }
    // Human output names the address and the BMS's own limits.
    let out = busbar()
        .args([
            "probe",
            "--protocol",
            "jk-pb",
            "--address",
            "2",
            "--port",
            port,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "16 cells",
        "address       2",
        "charge OCP 200 A",
        "JK_PB2A16S20P",
    ] {
        assert!(text.contains(word), "missing {word:?} in\n{text}");
    }
    // An address nobody has: no answer, named as such.
    let out = busbar()
        .args([
            "probe",
            "--protocol",
            "jk-pb",
            "--address",
            "9",
            "--port",
            port,
        ])
        .args(["--timeout", "200ms", "--tries", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no valid answer"));
}

#[test]
fn jk_pb_probe_needs_a_pollable_address() {
    for (args, want) in [
        (vec![], "needs --address"),
        (vec!["--address", "0"], "bus master"),
        (vec!["--address", "16"], "1..=15"),
    ] {
        let out = busbar()
            .args(["probe", "--protocol", "jk-pb", "--port", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(want), "{stderr}");
    }
}

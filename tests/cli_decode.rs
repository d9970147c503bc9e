//! `busbar decode` through the real binary: a capture file, stdin, `--json`, `--follow`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn busbar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_busbar"))
}

fn capture(prefix: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/can");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no capture {prefix}"))
}

fn with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = busbar()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok_stdout(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_real_byd_capture_reads_as_a_person_expects() {
    let out = ok_stdout(busbar().arg("decode").arg(capture("3_5")).output().unwrap());
    for want in [
        "\"BYD\"",
        "CVL 58.4 V   CCL 128.0 A   DCL 128.0 A   DVL 43.0 V",
        "SOC 67 %",
        "53.10 V   -0.7 A (discharging)   14.0 °C",
        "min 3.306 V (2)",
        "2 online, 0 blocking charge, 0 blocking discharge, 0 offline",
        "156 Ah installed",
        "firmware 1.23",
    ] {
        assert!(out.contains(want), "{want:?} missing in\n{out}");
    }
}

#[test]
fn candump_log_on_stdin_as_json() {
    let log = "(1700000000.000000) can1 351#2802B004D0074C01\n\
               (1700000000.001000) can1 355#43006400561A0000\n\
               (1700000000.002000) can1 35A#A9AAA202AAAAA202\n\
               (1700000000.003000) can1 374#5032433035000000\n\
               (1700000000.004000) can1 373#EA0C010D1F012201\n\
               (1700000000.005000) can1 305#0000000000000000\n\
               not a frame\n";
    let out = ok_stdout(with_stdin(&["decode", "--json", "-"], log));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cvl_v"], 55.2);
    assert_eq!(v["ccl_a"], 120.0);
    assert_eq!(v["soc_precise_pct"], 67.42);
    assert_eq!(v["alarms"], serde_json::json!(["general"]));
    assert_eq!(v["min_cell"]["id"], "P2C05");
    assert_eq!(v["min_cell"]["v"], 3.306);
    assert_eq!(v["min_temperature"]["c"], 14);
    assert_eq!(v["inverter_keep_alives"], 1);
    assert_eq!(v["frames"]["unreadable_lines"], 1);
    assert_eq!(v["voltage_v"], serde_json::Value::Null);
}

#[test]
fn follow_reports_after_every_0x351_plain_candump() {
    let dump = "  can1  351   [8]  28 02 B0 04 D0 07 4C 01\n\
                \x20 can1  356   [8]  BE 14 F9 FF 8C 00 00 00\n\
                \x20 can1  351   [8]  28 02 00 00 D0 07 4C 01\n";
    let out = ok_stdout(with_stdin(&["decode", "--follow", "--json"], dump));
    let ccl: Vec<f64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["ccl_a"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(ccl, [120.0, 0.0]);
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = busbar()
        .args(["decode", "/nonexistent/busbar.log"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/busbar.log"), "{err}");
}

//! `busbar demo`, the newcomer's first command, through the real binary: frames on stdout,
//! a summary line on stderr, and SIGTERM ends it with CCL = DCL = 0 and exit 0.

mod dbc_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use busbar::can::candump_line::{parse_line, DumpLine};

#[test]
fn the_demo_sends_the_seed_battery_and_stops_with_zero_limits() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_busbar"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let summary = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("CVL "))
    });
    let dbc = dbc_support::load();
    let limits = dbc_support::message(&dbc, 0x351).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = stdout.lines();
    let mut seen = Vec::new();
    // The first full sets: the seed set-up, five healthy packs, caps 300 / 350 A.
    while seen.len() < 2 && Instant::now() < deadline {
        let line = lines.next().expect("demo keeps writing").unwrap();
        if let DumpLine::Frame(f) = parse_line(&line) {
            if f.id() == 0x351 {
                seen.push([
                    dbc_support::value(limits, "ChargeVoltageLimit", f.data()),
                    dbc_support::value(limits, "ChargeCurrentLimit", f.data()),
                    dbc_support::value(limits, "DischargeCurrentLimit", f.data()),
                ]);
            }
        }
    }
    assert_eq!(seen.len(), 2, "two frames 0x351 within 20 s");
    for [cvl, ccl, dcl] in &seen {
        assert!((cvl - 55.2).abs() < 0.05, "CVL {cvl}");
        assert!(*ccl > 0.0 && *ccl <= 300.0, "CCL {ccl}");
        assert!(*dcl > 0.0 && *dcl <= 350.0, "DCL {dcl}");
    }
    let line = summary.join().unwrap().expect("a summary line on stderr");
    assert!(line.contains("packs 5/5 online"), "{line}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let last = lines
        .map_while(Result::ok)
        .filter_map(|l| match parse_line(&l) {
            DumpLine::Frame(f) if f.id() == 0x351 => Some(f),
            _ => None,
        })
        .last()
        .expect("a last frame set after SIGTERM");
    assert_eq!(
        dbc_support::value(limits, "ChargeCurrentLimit", last.data()),
        0.0
    );
    assert_eq!(
        dbc_support::value(limits, "DischargeCurrentLimit", last.data()),
        0.0
    );
    assert!(child.wait().unwrap().success(), "exit 0 after SIGTERM");
}

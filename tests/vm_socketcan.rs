//! SocketCAN for real: busbar in a small Linux VM (this kernel has no CAN) reads two simulated
//! packs over ptys and writes to `vcan0`; `candump -L` records the bus; `vcan0` goes down and up
//! mid-run; SIGTERM ends it. Here on the host every frame is decoded through `dbc/busbar.dbc`.
//!
//! Boots qemu (about 10 s with the kernel cached, see tests/vm/README.md), so it is ignored by
//! a plain `cargo test`; `.ci/run` runs it with `cargo test --test vm_socketcan -- --ignored`.

mod dbc_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use busbar::can::candump_line::{parse_line, DumpLine};
use busbar::can::CanFrame;

/// One candump -L line: (time, frame).
fn read_log(path: &Path) -> Vec<(f64, CanFrame)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let time = line.strip_prefix('(')?.split(')').next()?.parse().ok()?;
            match parse_line(line) {
                DumpLine::Frame(frame) => Some((time, frame)),
                _ => None,
            }
        })
        .collect()
}

#[test]
#[ignore = "boots a VM (qemu, Debian kernel with vcan); run by .ci/run"]
fn busbar_on_a_real_vcan0_survives_the_interface_going_down_and_stops_with_zero_limits() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/vm-out/socketcan");
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new(root.join("tests/vm/run.sh"))
        .arg(root.join("tests/vm/busbar-vcan-guest.sh"))
        .arg(env!("CARGO_BIN_EXE_busbar"))
        .env("VM_OUT", &out)
        .env("VM_TIMEOUT", "240")
        .status()
        .expect("tests/vm/run.sh runs");
    let log = std::fs::read_to_string(out.join("busbar.log")).unwrap_or_default();
    assert!(
        status.success(),
        "guest failed ({status}); busbar log:\n{log}"
    );

    let frames = read_log(&out.join("candump.log"));
    let dbc = dbc_support::load();
    let limits_msg = dbc_support::message(&dbc, 0x351).unwrap();
    let modules_msg = dbc_support::message(&dbc, 0x372).unwrap();
    let limits: Vec<(f64, [f64; 4])> = frames
        .iter()
        .filter(|(_, f)| f.id() == 0x351)
        .map(|(t, f)| {
            let v = |name| dbc_support::value(limits_msg, name, f.data());
            (
                *t,
                [
                    v("ChargeVoltageLimit"),
                    v("ChargeCurrentLimit"),
                    v("DischargeCurrentLimit"),
                    v("DischargeVoltageLimit"),
                ],
            )
        })
        .collect();
    assert!(
        limits.len() >= 7,
        "only {} frames 0x351:\n{log}",
        limits.len()
    );
    for (_, frame) in &frames {
        assert_eq!(frame.len(), 8, "{frame:?}: every frame has DLC 8");
        assert!(
            dbc_support::message(&dbc, frame.id()).is_some(),
            "{frame:?} not in the DBC"
        );
    }

    // Healthy: CVL = 16 x 3.45 V, DVL = 16 x 2.90 V, CCL/DCL = the sums of two packs.
    let (_, first) = limits[0];
    assert!((first[0] - 55.2).abs() < 0.05, "CVL {first:?}");
    assert!((first[3] - 46.4).abs() < 0.05, "DVL {first:?}");
    assert!((first[1] - 120.0).abs() < 0.05, "CCL {first:?}");
    assert!((first[2] - 140.0).abs() < 0.05, "DCL {first:?}");
    let modules = frames.iter().find(|(_, f)| f.id() == 0x372).unwrap().1;
    assert_eq!(
        dbc_support::value(modules_msg, "ModulesOnline", modules.data()),
        2.0
    );

    // vcan0 was down for 2 s: frames resume after it and busbar kept going (the guest checked
    // the process survived). The gap shows in the timestamps.
    let gap = limits
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(0.0, f64::max);
    assert!(
        gap >= 1.5,
        "no pause while vcan0 was down: largest gap {gap:.2} s"
    );
    let after_gap = limits
        .windows(2)
        .position(|w| w[1].0 - w[0].0 == gap)
        .map_or(0, |i| limits.len() - i - 1);
    assert!(
        after_gap >= 3,
        "only {after_gap} frames 0x351 after vcan0 came back"
    );

    // SIGTERM: the last 0x351 says no current, with a sane CVL (DESIGN.md rules 4 and 8).
    let (_, last) = *limits.last().unwrap();
    assert_eq!((last[1], last[2]), (0.0, 0.0), "last 0x351 {last:?}");
    assert!((last[0] - 55.2).abs() < 0.05, "last CVL {last:?}");
    assert!(log.contains("CCL = DCL = 0"), "{log}");
}

//! `busbar check-config` through the real binary: exit status and messages a user sees.

use std::path::PathBuf;
use std::process::Command;

fn busbar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_busbar"))
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/busbar.example.toml")
}

#[test]
fn the_example_config_checks_and_prints_effective_settings() {
    let out = busbar()
        .arg("check-config")
        .arg(example())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("valid"));
    // Defaults are filled in and every pack is listed.
    assert!(stdout.contains("poll_interval = \"1s\""), "{stdout}");
    assert_eq!(stdout.matches("[[pack]]").count(), 5, "{stdout}");
}

#[test]
fn an_invalid_config_exits_non_zero_naming_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("busbar-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let source = std::fs::read_to_string(example()).unwrap().replacen(
        "float_voltage = 3.375",
        "float_voltage = 3.60",
        1,
    );
    std::fs::write(&path, source).unwrap();
    let out = busbar().arg("check-config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("line 9: battery.float_voltage"), "{stderr}");
    assert!(stderr.contains("above the charge"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_file_exits_non_zero_with_the_reason() {
    let out = busbar()
        .args(["check-config", "/nonexistent/busbar.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent/busbar.toml: cannot read"),
        "{stderr}"
    );
}

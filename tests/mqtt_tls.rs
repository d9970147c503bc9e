//! MQTT over TLS (only with `--features mqtt-tls`): Mosquitto with a certificate from a CA made
//! for the test (openssl), busbar trusting that CA through `ca_file`, a plain-text subscriber on
//! a second listener of the same broker.
//!
//! `cargo test --features mqtt-tls --test mqtt_tls`
#![cfg(feature = "mqtt-tls")]

mod e2e_support;
mod mqtt_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::{secs, Harness, Options};
use mqtt_support::{free_port, Broker, Subscriber};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package openssl) is needed to make the test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ca.pem`, and `server.pem` / `server.key` for localhost signed by it.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=busbar test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    // Mosquitto started as root reads its key after dropping to the `mosquitto` user.
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
}

#[test]
fn busbar_publishes_over_tls_trusting_the_configured_ca() {
    let dir = e2e_support::TempDir::new();
    certificates(&dir.0);
    let (tls_port, plain_port) = (free_port(), free_port());
    let d = dir.0.display();
    let broker = Broker::start_with(
        &dir.0,
        plain_port,
        &format!(
            "listener {plain_port} 127.0.0.1\nlistener {tls_port} 127.0.0.1\n\
             cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
        ),
    );
    let mut sub = Subscriber::connect(plain_port, &["busbar/#"]);
    let mut options = Options::packs(1);
    options.extra_config = format!(
        "[http]\nenabled = false\n\n[mqtt]\nenabled = true\nhost = \"localhost\"\n\
         port = {tls_port}\ntls = true\nca_file = \"{d}/ca.pem\"\ninterval = \"1s\"\n"
    );
    let h = Harness::start(options);
    let t0 = h.spawned_at;
    let deadline = t0 + Duration::from_secs(15);
    let fail = |e: String| -> ! {
        panic!(
            "{e}\n{}\nmosquitto log:\n{}",
            h.context("busbar"),
            broker.log()
        )
    };
    sub.wait("busbar/status", t0, deadline, |m| m.payload == "online")
        .unwrap_or_else(|e| fail(e));
    let state = sub
        .wait("busbar/battery/state", t0, deadline, |_| true)
        .unwrap_or_else(|e| fail(e));
    assert!(state.json()["cvl"].is_number(), "{}", state.payload);
    println!("over TLS: state {} after spawn", secs(Instant::now() - t0));
}

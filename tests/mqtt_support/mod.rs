//! A real Mosquitto broker on a loopback port for a test, and a subscriber that records every
//! message with the instant it arrived.
//!
//! Mosquitto is required, not optional: CI (`.ci/run`) installs the Debian package; a machine
//! without it fails these tests with a message saying what to install.
#![allow(dead_code)] // each test crate uses a different part

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// Where Debian puts the broker; `$PATH` is searched too.
const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A port nobody listens on right now (the kernel's pick; free again when this returns).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

#[path = "../tool_support/mod.rs"]
mod tool_support;

/// Whether the broker is installed; prints a skip notice when not (or fails on CI, see
/// `tests/tool_support`). Every test that starts a [`Broker`] asks this first.
pub fn mosquitto_installed() -> bool {
    tool_support::find(&[MOSQUITTO, "mosquitto"], "mosquitto").is_some()
}

fn mosquitto_binary() -> PathBuf {
    if Path::new(MOSQUITTO).exists() {
        return PathBuf::from(MOSQUITTO);
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("mosquitto");
            if candidate.exists() {
                return candidate;
            }
        }
    }
    panic!(
        "mosquitto is not installed, and the MQTT tests need a real broker: \
         `apt-get install -y mosquitto` (Debian/Ubuntu; .ci/run does this on CI)"
    );
}

/// One Mosquitto process on `127.0.0.1:port`, no persistence (a restart forgets every
/// retained message, as a broker on a tmpfs would). Killed on drop.
pub struct Broker {
    pub port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Start on a free port in `dir`; returns once it accepts connections.
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    /// Start on `port`.
    pub fn start_on(dir: &Path, port: u16) -> Self {
        Self::start_with(dir, port, &format!("listener {port} 127.0.0.1\n"))
    }

    /// Start with `listeners` (config lines), waiting for `port` to accept connections.
    pub fn start_with(dir: &Path, port: u16, listeners: &str) -> Self {
        let config = dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "{listeners}allow_anonymous true\npersistence false\n\
                 log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
            ),
        )
        .expect("write mosquitto.conf");
        let mut broker = Self {
            port,
            config,
            log: dir.join("mosquitto.log"),
            child: None,
        };
        broker.spawn();
        broker
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("mosquitto log");
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(exit))) = self.child.as_mut().map(Child::try_wait) {
                panic!("mosquitto exited ({exit}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {} within 10 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: gone at once, retained messages with it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kill and start again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message as the subscriber got it.
#[derive(Clone, Debug)]
pub struct Msg {
    pub at: Instant,
    pub topic: String,
    pub payload: String,
    /// Delivered from the broker's retained store (at subscribe time).
    pub retained: bool,
}

impl Msg {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.topic, self.payload))
    }
}

/// A subscriber to `filters` that stays subscribed across broker restarts; can also publish.
pub struct Subscriber {
    client: Client,
    rx: Receiver<Msg>,
    /// Every message received so far, in arrival order.
    pub seen: Vec<Msg>,
}

impl Subscriber {
    pub fn connect(port: u16, filters: &[&str]) -> Self {
        let mut options = MqttOptions::new(format!("test-sub-{port}"), "127.0.0.1", port);
        options
            .set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(1024 * 1024, 64 * 1024);
        let (client, mut connection) = Client::new(options, 64);
        let (tx, rx) = mpsc::channel();
        let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
        let subscriber = client.clone();
        std::thread::Builder::new()
            .name("mqtt-subscriber".into())
            .spawn(move || {
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            // Clean session: subscribe again after every connect.
                            for f in &filters {
                                let _ = subscriber.try_subscribe(f, QoS::AtLeastOnce);
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let msg = Msg {
                                at: Instant::now(),
                                topic: p.topic.clone(),
                                payload: String::from_utf8_lossy(&p.payload).into_owned(),
                                retained: p.retain,
                            };
                            if tx.send(msg).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        // The broker is away (restart): retry shortly.
                        Err(_) => std::thread::sleep(Duration::from_millis(100)),
                    }
                }
            })
            .expect("spawn subscriber");
        Self {
            client,
            rx,
            seen: Vec::new(),
        }
    }

    pub fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .expect("publish");
    }

    /// The first message at or after `after` on `topic` for which `pred` holds, waiting until
    /// `deadline`.
    pub fn wait(
        &mut self,
        topic: &str,
        after: Instant,
        deadline: Instant,
        mut pred: impl FnMut(&Msg) -> bool,
    ) -> Result<Msg, String> {
        let mut next = 0;
        loop {
            while next < self.seen.len() {
                let m = &self.seen[next];
                next += 1;
                if m.topic == topic && m.at >= after && pred(m) {
                    return Ok(m.clone());
                }
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(wait) {
                Ok(m) => self.seen.push(m),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "no message on {topic} as wanted; last ones seen:\n{}",
                        self.recent(30)
                    ))
                }
            }
        }
    }

    /// Take everything already received.
    pub fn drain(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.seen.push(m);
        }
    }

    /// The newest message on each topic starting with `prefix`, received at or after `after`.
    pub fn newest_under(&self, prefix: &str, after: Instant) -> Vec<Msg> {
        let mut newest: std::collections::BTreeMap<&str, &Msg> = Default::default();
        for m in self.seen.iter().filter(|m| m.at >= after) {
            if m.topic.starts_with(prefix) {
                newest.insert(&m.topic, m);
            }
        }
        newest.into_values().cloned().collect()
    }

    pub fn recent(&self, n: usize) -> String {
        self.seen
            .iter()
            .skip(self.seen.len().saturating_sub(n))
            .map(|m| {
                let p: String = m.payload.chars().take(100).collect();
                format!("  {} {}\n", m.topic, p)
            })
            .collect()
    }
}

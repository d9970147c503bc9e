//! MQTT: state for Home Assistant (with discovery), ioBroker and Node-RED.
//!
//! Topics (`<prefix>` is `[mqtt] topic_prefix`, `<pack>` the pack's name made into one topic
//! level, see [`topics`]):
//!
//! | Topic | Retained | QoS | Payload |
//! |-------|----------|-----|---------|
//! | `<prefix>/status` | yes | 1 | `online`; `offline` on a clean stop, and from the broker (last-will) 1.5 × `keep_alive` after busbar vanished |
//! | `<prefix>/battery/state` | `retain` | 0 | the virtual battery as sent on CAN (`/api/state` `battery`, plus flat fields, see [`payload`]) |
//! | `<prefix>/pack/<pack>/state` | `retain` | 0 | one pack: `online`, `last_heard_s`, its limits, counters and its last reading (cells, temperatures, ...) |
//! | `<prefix>/pack/<pack>/availability` | yes | 1 | `online` while the pack is heard, else `offline` |
//! | `<prefix>/state` | `retain` | 0 | the whole status document (`/api/state`) |
//! | `<discovery_prefix>/<component>/<node>/<object>/config` | yes | 1 | Home Assistant discovery, one per entity ([`discovery`]) |
//!
//! State goes out every `interval`, and at once (at most every [`MIN_GAP`]) when the limits
//! were cut or a pack went offline or came back. Discovery and `online` go out after every
//! connection (so a broker that restarted without persistence learns them again) and when Home
//! Assistant announces itself on `<discovery_prefix>/status`.
//!
//! **Never in the way**: this runs on the monitoring thread, reads only the newest
//! [`Status`](crate::monitor::Status), and never waits for the broker. Messages wait in an
//! outbox holding at most one message per topic (a newer state replaces an older one still
//! waiting: drop-oldest, so it cannot grow), and move from there into rumqttc's small request
//! channel with `try_publish` only while it has room. rumqttc's event loop runs in a task of
//! its own, so nothing here is ever cancelled halfway through a write.

pub mod discovery;
pub mod payload;
pub mod topics;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ClientError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS,
};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::{Config, MqttConfig};
use crate::monitor::{Status, StatusReceiver};
use discovery::{Discovery, Message, Shape};
use topics::{Topics, OFFLINE, ONLINE};

/// rumqttc's request channel: small, so nothing piles up behind a broker that does not read.
/// The outbox in front of it keeps the newest message per topic.
const REQUEST_CAPACITY: usize = 16;
/// Events from the event-loop task (it waits when this is full; the main task never does).
const EVENT_CAPACITY: usize = 64;
/// State rounds triggered by a cut are at least this far apart.
pub const MIN_GAP: Duration = Duration::from_millis(250);
/// Reconnect back-off: doubles from the first to the last.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connection that lasted this long starts the back-off afresh.
const STABLE: Duration = Duration::from_secs(10);
/// How long a clean stop waits for "offline" and DISCONNECT to be written.
pub const GOODBYE: Duration = Duration::from_millis(1500);
/// Largest message out (the whole status of many packs is a few tens of kB) and in (only
/// Home Assistant's status).
const MAX_PACKET_OUT: usize = 512 * 1024;
const MAX_PACKET_IN: usize = 16 * 1024;

/// Why MQTT could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("tls = true, but this busbar was built without the `mqtt-tls` feature")]
    TlsNotBuilt,
    #[cfg(feature = "mqtt-tls")]
    #[error("ca_file {path}: {source}")]
    CaFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[cfg(feature = "mqtt-tls")]
    #[error("ca_file {0}: no usable certificate in it")]
    NoCertificate(std::path::PathBuf),
    #[cfg(feature = "mqtt-tls")]
    #[error("no system root certificates found; set ca_file")]
    NoRoots,
    #[cfg(feature = "mqtt-tls")]
    #[error("TLS set-up: {0}")]
    Tls(String),
}

/// What the MQTT task needs from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mqtt: MqttConfig,
    pub cells: usize,
    /// Config order: name and protocol.
    pub packs: Vec<(String, &'static str)>,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            mqtt: config.mqtt.clone(),
            cells: config.battery.cells,
            packs: config
                .packs
                .iter()
                .map(|p| (p.name.clone(), p.protocol.as_str()))
                .collect(),
        }
    }
}

/// Run until `quit` turns true (or its sender goes), then say goodbye: "offline" and a clean
/// DISCONNECT, within [`GOODBYE`]. Errors are logged; this never returns early otherwise.
pub async fn run(settings: Settings, mut status: StatusReceiver, mut quit: watch::Receiver<bool>) {
    let options = match options(&settings) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("MQTT not started: {e}");
            return;
        }
    };
    let (client, eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
    let (events_tx, mut events) = mpsc::channel(EVENT_CAPACITY);
    let m = &settings.mqtt;
    let ha_status = format!("{}/status", m.discovery_prefix);
    let driver = tokio::spawn(drive(
        eventloop,
        events_tx,
        format!("{}:{}", m.host, m.port),
        ha_status.clone(),
    ));
    let mut publisher = Publisher::new(client, &settings, ha_status);
    let mut tick = tokio::time::interval(m.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status_open = true;
    loop {
        let due = publisher.due;
        tokio::select! {
            biased;
            _ = quit.changed() => break,
            event = events.recv() => match event {
                Some(event) => publisher.on_link(event),
                // The event loop task ended: nothing more can be sent.
                None => break,
            },
            changed = status.changed(), if status_open => match changed {
                Ok(()) => {
                    let newest = status.borrow_and_update().clone();
                    publisher.on_status(newest);
                }
                Err(_) => status_open = false,
            },
            _ = tick.tick() => publisher.publish_state(),
            _ = sleep_until(due), if due.is_some() => publisher.publish_state(),
        }
        publisher.flush();
    }
    publisher.goodbye(&mut events).await;
    driver.abort();
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(at) = due {
        tokio::time::sleep_until(at).await;
    }
}

fn options(settings: &Settings) -> Result<MqttOptions, MqttError> {
    let m = &settings.mqtt;
    let mut o = MqttOptions::new(&m.client_id, &m.host, m.port);
    o.set_keep_alive(m.keep_alive)
        .set_clean_session(true)
        .set_max_packet_size(MAX_PACKET_IN, MAX_PACKET_OUT)
        .set_last_will(LastWill::new(
            format!("{}/status", m.topic_prefix),
            OFFLINE,
            QoS::AtLeastOnce,
            true,
        ));
    if let Some(user) = &m.username {
        let password = m.password.as_ref().map(|p| p.expose()).unwrap_or("");
        o.set_credentials(user, password);
    }
    if m.tls {
        o.set_transport(tls_transport(m)?);
    }
    Ok(o)
}

#[cfg(not(feature = "mqtt-tls"))]
fn tls_transport(_: &MqttConfig) -> Result<rumqttc::Transport, MqttError> {
    Err(MqttError::TlsNotBuilt)
}

/// TLS through rustls (ring): the CA file's certificates, or the system's roots.
#[cfg(feature = "mqtt-tls")]
fn tls_transport(m: &MqttConfig) -> Result<rumqttc::Transport, MqttError> {
    let mut roots = rustls::RootCertStore::empty();
    match &m.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| MqttError::CaFile {
                path: path.clone(),
                source,
            })?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(MqttError::NoCertificate(path.clone()));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(MqttError::NoRoots);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(Arc::new(tls)),
    ))
}

/// What the event-loop task reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// CONNACK: a new session (clean), nothing of ours is known to the broker.
    Connected,
    /// The connection is gone; the task is waiting to reconnect.
    Lost,
    /// A request left rumqttc's channel: there is room again.
    Sent,
    /// DISCONNECT was written.
    Disconnected,
    /// Home Assistant (re)started and wants discovery again.
    HomeAssistantOnline,
}

/// Poll rumqttc's event loop forever, reconnecting with back-off; log once per episode of
/// failures, not once per retry.
async fn drive(mut eventloop: EventLoop, events: mpsc::Sender<Link>, broker: String, ha: String) {
    let mut backoff = BACKOFF_MIN;
    let mut failing = false;
    let mut ever = false;
    let mut connected_at: Option<Instant> = None;
    loop {
        let link = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if !ever {
                    tracing::info!("MQTT: connected to {broker}");
                } else if failing {
                    tracing::info!("MQTT: connected to {broker} again");
                }
                ever = true;
                failing = false;
                connected_at = Some(Instant::now());
                Some(Link::Connected)
            }
            Ok(Event::Incoming(Packet::Publish(p))) => (p.topic == ha
                && p.payload.as_ref() == b"online")
                .then_some(Link::HomeAssistantOnline),
            Ok(Event::Outgoing(Outgoing::Publish(_) | Outgoing::Subscribe(_))) => Some(Link::Sent),
            Ok(Event::Outgoing(Outgoing::Disconnect)) => Some(Link::Disconnected),
            Ok(_) => None,
            Err(e) => {
                if connected_at.take().is_some_and(|t| t.elapsed() >= STABLE) {
                    backoff = BACKOFF_MIN;
                }
                if !failing {
                    tracing::warn!(
                        "MQTT: broker {broker}: {e}; retrying every {} to {} (logged once until it works)",
                        humantime::format_duration(BACKOFF_MIN),
                        humantime::format_duration(BACKOFF_MAX)
                    );
                    failing = true;
                } else {
                    tracing::debug!("MQTT: broker {broker}: {e}");
                }
                if events.send(Link::Lost).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                None
            }
        };
        if let Some(link) = link {
            if events.send(link).await.is_err() {
                return;
            }
        }
    }
}

/// A message waiting for room in rumqttc's channel.
#[derive(Clone, Debug)]
struct Queued {
    payload: Vec<u8>,
    qos: QoS,
    retain: bool,
}

/// At most one waiting message per topic, oldest topic first; a newer message for a topic that
/// still waits replaces the older one (drop-oldest), so this holds at most one message per
/// topic busbar publishes.
#[derive(Debug, Default)]
struct Outbox {
    order: VecDeque<String>,
    waiting: HashMap<String, Queued>,
}

impl Outbox {
    /// Queue `message`; true if it replaced a different one that was never sent (a message
    /// lost to a slow broker; the same one again is nothing lost).
    fn push(&mut self, topic: String, message: Queued) -> bool {
        if let Some(waiting) = self.waiting.get_mut(&topic) {
            let lost = waiting.payload != message.payload;
            *waiting = message;
            return lost;
        }
        self.order.push_back(topic.clone());
        self.waiting.insert(topic, message);
        false
    }

    fn pop(&mut self) -> Option<(String, Queued)> {
        let topic = self.order.pop_front()?;
        let message = self.waiting.remove(&topic)?;
        Some((topic, message))
    }

    fn put_back(&mut self, topic: String, message: Queued) {
        if self.waiting.insert(topic.clone(), message).is_none() {
            self.order.push_front(topic);
        }
    }

    fn clear(&mut self) {
        self.order.clear();
        self.waiting.clear();
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// Decides what to publish and when; owns the client side of rumqttc.
struct Publisher {
    client: AsyncClient,
    topics: Topics,
    discovery: Option<Discovery>,
    retain: bool,
    ha_status: String,
    connected: bool,
    outbox: Outbox,
    /// Messages replaced before they were sent, in this episode of a slow broker.
    dropped: u64,
    latest: Option<Arc<Status>>,
    last_round: Option<Instant>,
    /// A state round is wanted at this time (a cut came within [`MIN_GAP`] of the last one).
    due: Option<Instant>,
    /// CVL, CCL, DCL of the last round, to see a cut even if the `lowered` state was skipped.
    last_limits: Option<[f64; 3]>,
    /// Each pack's online flag in the last round.
    last_online: Vec<bool>,
    /// Discovery as the broker has it in this session: topic -> payload.
    announced: HashMap<String, String>,
    shape: Option<Shape>,
}

impl Publisher {
    fn new(client: AsyncClient, settings: &Settings, ha_status: String) -> Self {
        let m = &settings.mqtt;
        let names: Vec<&str> = settings.packs.iter().map(|(n, _)| n.as_str()).collect();
        let topics = Topics::new(&m.topic_prefix, &names);
        let discovery = m.discovery.then(|| Discovery {
            topics: topics.clone(),
            discovery_prefix: m.discovery_prefix.clone(),
            cells: settings.cells,
            protocols: settings.packs.iter().map(|(_, p)| *p).collect(),
            version: env!("CARGO_PKG_VERSION"),
        });
        Self {
            client,
            topics,
            discovery,
            retain: m.retain,
            ha_status,
            connected: false,
            outbox: Outbox::default(),
            dropped: 0,
            latest: None,
            last_round: None,
            due: None,
            last_limits: None,
            last_online: Vec::new(),
            announced: HashMap::new(),
            shape: None,
        }
    }

    fn on_link(&mut self, link: Link) {
        match link {
            Link::Connected => {
                self.connected = true;
                self.outbox.clear();
                self.announced.clear();
                self.shape = None;
                if self.discovery.is_some() {
                    if let Err(e) = self.client.try_subscribe(&self.ha_status, QoS::AtMostOnce) {
                        tracing::debug!("MQTT: subscribe to {}: {e}", self.ha_status);
                    }
                }
                self.queue(self.topics.availability(), ONLINE, QoS::AtLeastOnce, true);
                self.publish_state();
            }
            Link::Lost => {
                self.connected = false;
                self.outbox.clear();
                // The driver logs the lost connection; a new one starts a new episode.
                self.dropped = 0;
            }
            Link::HomeAssistantOnline => {
                self.announced.clear();
                self.shape = None;
                self.publish_state();
            }
            Link::Sent | Link::Disconnected => {}
        }
    }

    /// A new status from the daemon: publish at once if the limits were cut or a pack's
    /// online state changed.
    fn on_status(&mut self, newest: Option<Arc<Status>>) {
        let Some(status) = newest else { return };
        let cut = status.battery.as_ref().is_some_and(|b| {
            b.lowered
                || self
                    .last_limits
                    .is_some_and(|[cvl, ccl, dcl]| b.cvl < cvl || b.ccl < ccl || b.dcl < dcl)
        });
        let online_changed = self.last_online.len() == status.packs.len()
            && status
                .packs
                .iter()
                .zip(&self.last_online)
                .any(|(p, was)| p.online != *was);
        self.latest = Some(status);
        if cut || online_changed {
            self.soon();
        }
    }

    /// A state round now, or as soon as [`MIN_GAP`] allows.
    fn soon(&mut self) {
        let now = Instant::now();
        match self.last_round {
            Some(last) if now < last + MIN_GAP => {
                self.due.get_or_insert(last + MIN_GAP);
            }
            _ => self.publish_state(),
        }
    }

    /// Queue the state topics (and any discovery the broker does not have yet).
    fn publish_state(&mut self) {
        self.due = None;
        if !self.connected {
            return;
        }
        let Some(status) = self.latest.clone() else {
            return;
        };
        self.last_round = Some(Instant::now());
        self.announce(&status);
        let t = self.topics.clone();
        if let Some(b) = &status.battery {
            self.last_limits = Some([b.cvl, b.ccl, b.dcl]);
            match payload::battery(b) {
                Ok(json) => self.queue(t.battery_state(), json, QoS::AtMostOnce, self.retain),
                Err(e) => tracing::debug!("MQTT: battery state not encoded: {e}"),
            }
        }
        for (pack, view) in t.packs().iter().zip(&status.packs) {
            self.queue(
                t.pack_availability(pack),
                payload::pack_availability(view),
                QoS::AtLeastOnce,
                true,
            );
            match payload::pack(view) {
                Ok(json) => self.queue(t.pack_state(pack), json, QoS::AtMostOnce, self.retain),
                Err(e) => tracing::debug!("MQTT: pack state not encoded: {e}"),
            }
        }
        self.last_online = status.packs.iter().map(|p| p.online).collect();
        match payload::status(&status) {
            Ok(json) => self.queue(t.state(), json, QoS::AtMostOnce, self.retain),
            Err(e) => tracing::debug!("MQTT: status not encoded: {e}"),
        }
    }

    /// Queue the discovery messages the broker does not have in this session (all after a
    /// connect; new ones when a pack's first reading shows its temperature sensors), and an
    /// empty retained message for any that went away (Home Assistant removes that entity).
    fn announce(&mut self, status: &Status) {
        let Some(discovery) = &self.discovery else {
            return;
        };
        let shape = Shape {
            temperatures: status
                .packs
                .iter()
                .map(|p| p.reading.as_ref().map_or(0, |r| r.temperatures.len()))
                .collect(),
        };
        if self.shape.as_ref() == Some(&shape) {
            return;
        }
        let messages = discovery.messages(&shape);
        self.shape = Some(shape);
        let mut now: HashMap<String, String> = HashMap::with_capacity(messages.len());
        for Message { topic, payload } in messages {
            if self.announced.get(&topic) != Some(&payload) {
                self.queue(topic.clone(), payload.clone(), QoS::AtLeastOnce, true);
            }
            now.insert(topic, payload);
        }
        let gone: Vec<String> = self
            .announced
            .keys()
            .filter(|t| !now.contains_key(*t))
            .cloned()
            .collect();
        for topic in gone {
            self.queue(topic, "", QoS::AtLeastOnce, true);
        }
        self.announced = now;
    }

    fn queue(&mut self, topic: String, payload: impl Into<Vec<u8>>, qos: QoS, retain: bool) {
        let message = Queued {
            payload: payload.into(),
            qos,
            retain,
        };
        if self.outbox.push(topic, message) {
            if self.dropped == 0 {
                tracing::warn!(
                    "MQTT: the broker takes messages slower than busbar publishes; older state messages are replaced by newer ones (logged once until it catches up)"
                );
            }
            self.dropped += 1;
        }
    }

    /// Move waiting messages into rumqttc's channel while it has room; never wait.
    fn flush(&mut self) {
        while self.connected {
            let Some((topic, message)) = self.outbox.pop() else {
                break;
            };
            let payload = message.payload.clone();
            match self
                .client
                .try_publish(&topic, message.qos, message.retain, payload)
            {
                Ok(()) => {}
                Err(ClientError::TryRequest(_) | ClientError::Request(_)) => {
                    // Full (or the event loop is gone): try again after the next event.
                    self.outbox.put_back(topic, message);
                    break;
                }
            }
        }
        if self.outbox.len() == 0 && self.dropped > 0 {
            tracing::info!(
                "MQTT: caught up; {} stale messages were dropped",
                self.dropped
            );
            self.dropped = 0;
        }
    }

    /// "offline" (retained) and DISCONNECT, waiting at most [`GOODBYE`] for them to be
    /// written. If the channel is full the broker's last-will says "offline" instead.
    async fn goodbye(&mut self, events: &mut mpsc::Receiver<Link>) {
        if !self.connected {
            return;
        }
        self.outbox.clear();
        let offline =
            self.client
                .try_publish(self.topics.availability(), QoS::AtLeastOnce, true, OFFLINE);
        if offline.is_err() || self.client.try_disconnect().is_err() {
            return;
        }
        let deadline = Instant::now() + GOODBYE;
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(Link::Disconnected | Link::Lost)) | Ok(None) | Err(_) => return,
                Ok(Some(_)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(payload: &str) -> Queued {
        Queued {
            payload: payload.as_bytes().to_vec(),
            qos: QoS::AtMostOnce,
            retain: true,
        }
    }

    #[test]
    fn the_outbox_keeps_the_newest_message_per_topic_in_first_come_order() {
        let mut o = Outbox::default();
        assert!(!o.push("a".into(), q("1")));
        assert!(!o.push("b".into(), q("1")));
        assert!(o.push("a".into(), q("2")), "replaced an unsent message");
        assert!(
            !o.push("a".into(), q("2")),
            "the same message again loses nothing"
        );
        assert_eq!(o.len(), 2);
        let (topic, m) = o.pop().unwrap();
        assert_eq!(
            (topic.as_str(), m.payload.as_slice()),
            ("a", b"2".as_slice())
        );
        o.put_back("a".into(), m);
        assert_eq!(o.pop().unwrap().0, "a");
        assert_eq!(o.pop().unwrap().0, "b");
        assert!(o.pop().is_none());
    }

    #[test]
    fn the_outbox_stays_bounded_by_the_topics_however_much_is_pushed() {
        let mut o = Outbox::default();
        for round in 0..10_000 {
            for topic in [
                "busbar/state",
                "busbar/battery/state",
                "busbar/pack/p1/state",
            ] {
                o.push(topic.into(), q(&round.to_string()));
            }
        }
        assert_eq!(o.len(), 3);
        assert_eq!(o.order.len(), 3);
        assert_eq!(o.pop().unwrap().1.payload, b"9999");
    }
}

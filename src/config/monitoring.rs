//! `[http]` and `[mqtt]`: monitoring. Nothing here ever reaches the safety path; both only read
//! the newest state the daemon publishes.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

/// `[http]`: the status page, `/api/state` and `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub enabled: bool,
    /// Address and port to listen on. Loopback by default: the page has no login, so exposing it
    /// to a network is a choice the user makes (`0.0.0.0:8080`).
    pub listen: SocketAddr,
}

/// The default listen address, `127.0.0.1:8080`.
pub const DEFAULT_HTTP_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: DEFAULT_HTTP_LISTEN,
        }
    }
}

/// `[mqtt]`: state for Home Assistant, ioBroker, Node-RED. Off unless configured.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    pub enabled: bool,
    /// Broker host name or address.
    pub host: String,
    pub port: u16,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Never printed: `check-config` shows it masked.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "masked_password"
    )]
    pub password: Option<Secret>,
    /// Topics are `<topic_prefix>/status`, `<topic_prefix>/battery/state`,
    /// `<topic_prefix>/pack/<name>/state`, ... (`src/monitor/mqtt/mod.rs` has the table).
    pub topic_prefix: String,
    /// State messages are retained, so a client that subscribes later gets the newest at once.
    pub retain: bool,
    /// Publish Home Assistant discovery configs.
    pub discovery: bool,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// How often state is published.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// MQTT keep-alive. The broker publishes the last-will ("offline") 1.5 × this after busbar
    /// went quiet (a hung host, a cut cable); at once if busbar's process dies.
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// TLS to the broker (needs busbar built with the `mqtt-tls` feature).
    pub tls: bool,
    /// With `tls`: the CA certificate(s) (PEM) to trust instead of the system's roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "localhost".into(),
            port: 1883,
            client_id: "busbar".into(),
            username: None,
            password: None,
            topic_prefix: "busbar".into(),
            retain: true,
            discovery: true,
            discovery_prefix: "homeassistant".into(),
            interval: Duration::from_secs(5),
            keep_alive: Duration::from_secs(30),
            tls: false,
            ca_file: None,
        }
    }
}

/// A password: kept out of `Debug` output and printed configs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

fn masked_password<S: Serializer>(_: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("***")
}

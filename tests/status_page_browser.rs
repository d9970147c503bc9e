//! The status page in a real browser: Debian's Chromium driven through chromedriver (WebDriver,
//! W3C protocol, spoken with the small client in `http_support`) loads `/` from a running busbar
//! and checks what a user sees: a card per pack, a bar per cell with the min and max marked,
//! values that change live, and an unmistakable OFFLINE card for a silent pack. Screenshots are
//! kept in `target/test-artifacts/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages `chromium` and
//! `chromium-driver`; `.ci/run` installs them and makes their absence a failure, see
//! `tests/tool_support`).

mod e2e_support;
mod http_support;
mod tool_support;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::{Harness, Options, TempDir};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PACKS: usize = 4;

/// A chromedriver process with one headless Chromium session.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: TempDir,
}

impl Browser {
    fn start() -> Browser {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("bound").port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while http_support::request(addr, "GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = TempDir::new();
        // The flags the workplace documents for headless Chromium on a closed network.
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1400,1800",
                    format!("--user-data-dir={}", profile.0.display()),
                ],
            },
        }}});
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        browser
    }

    /// One WebDriver command; returns its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let response = http_support::request(self.addr, method, path, body.as_deref())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let value = response.json();
        assert_eq!(response.status, 200, "WebDriver {method} {path}: {value}");
        value["value"].clone()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn open(&self, url: &str) {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        );
    }

    /// Run `script` (a function body) in the page and return its result.
    fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Wait until `script` returns something truthy; return it.
    fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let value = self.eval(script);
            let truthy = !matches!(value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            assert!(Instant::now() < deadline, "the page never showed {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.call("GET", &self.session_path("/screenshot"), None);
        let png = base64_decode(png.as_str().expect("base64 PNG"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target/tmp has a parent")
            .join("test-artifacts");
        std::fs::create_dir_all(&dir).expect("artefact directory");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("screenshot written");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = self.session_path("");
            let _ = http_support::request(self.addr, "DELETE", &path, None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (RFC 4648), as WebDriver returns screenshots.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Per card: the pack name, the number of cell bars, whether min and max are marked, the
/// OFFLINE state.
const CARDS: &str = r#"
    return Array.from(document.querySelectorAll('.pack')).map(c => ({
        name: c.dataset.pack,
        bars: c.querySelectorAll('.cell[data-cell]').length,
        min: c.querySelectorAll('.cell.min').length,
        max: c.querySelectorAll('.cell.max').length,
        offline: c.classList.contains('offline'),
        banner: getComputedStyle(c.querySelector('.offline-banner')).display !== 'none'
            ? c.querySelector('.offline-banner').textContent : null,
        mv: Array.from(c.querySelectorAll('.cell[data-cell]')).map(b => Number(b.dataset.mv)),
    }));
"#;

#[test]
fn the_status_page_shows_every_pack_and_cell_live_and_a_silent_pack_offline() {
    if tool_support::find(&[CHROMIUM], "chromium").is_none()
        || tool_support::find(&[CHROMEDRIVER], "chromium-driver").is_none()
    {
        return;
    }
    let mut h = Harness::start(Options::packs(PACKS).with_http());
    let addr = h.http_addr();
    let spawned = h.spawned_at;
    h.wait_for_351(spawned, spawned + Duration::from_secs(6), |l| l.ccl > 0.0)
        .unwrap_or_else(|e| panic!("no frames: {e}\n{}", h.log()));
    let browser = Browser::start();
    browser.open(&format!("http://{addr}/"));

    // Every pack card, each with a bar per cell and its min and max marked.
    browser.wait_for(
        "a card with 16 bars per pack",
        &format!(
            "return document.querySelectorAll('.pack').length === {PACKS} && \
             Array.from(document.querySelectorAll('.pack')).every(c => \
               c.querySelectorAll('.cell[data-cell]').length === 16)"
        ),
    );
    let cards = browser.eval(CARDS);
    let cards = cards.as_array().expect("cards");
    let names: Vec<&str> = cards.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["pack1", "pack2", "pack3", "pack4"]);
    for card in cards {
        assert_eq!(card["bars"], 16, "{card}");
        assert_eq!(card["min"], 1, "min cell marked: {card}");
        assert_eq!(card["max"], 1, "max cell marked: {card}");
        assert_eq!(card["offline"], false, "{card}");
        assert!(card["mv"].as_array().is_some_and(|v| v
            .iter()
            .all(|mv| (2500..3650).contains(&mv.as_i64().unwrap_or(0)))));
    }
    // The battery on top, filled in, and fed by server-sent events.
    let ccl = browser.wait_for(
        "CCL",
        "return document.getElementById('b-ccl').textContent.includes('A') && \
         document.getElementById('b-ccl').textContent",
    );
    assert!(ccl.as_str().is_some_and(|t| t.contains("A")), "{ccl}");
    browser.wait_for(
        "the live connection",
        "return document.getElementById('conn').textContent === 'live'",
    );

    // Values change without a reload: the simulated packs' cells and the uptime move.
    let before = browser.eval(CARDS);
    let uptime_before = browser.eval("return document.getElementById('uptime').textContent");
    browser.wait_for(
        "a cell value changing",
        &format!(
            "const before = {before}; \
             const now = Array.from(document.querySelectorAll('.pack')).map(c => \
               Array.from(c.querySelectorAll('.cell[data-cell]')).map(b => Number(b.dataset.mv))); \
             return now.some((cells, i) => cells.some((mv, j) => mv !== before[i].mv[j]));"
        ),
    );
    let uptime_after = browser.eval("return document.getElementById('uptime').textContent");
    assert_ne!(uptime_before, uptime_after, "uptime did not move");
    let shot = browser.screenshot("status-page.png");
    eprintln!("screenshot: {}", shot.display());

    // A silent pack: its card turns OFFLINE with its age, the others stay online.
    h.fault(2, |f| f.silent = true);
    browser.wait_for(
        "pack3 OFFLINE",
        "return document.querySelector('.pack[data-pack=\"pack3\"]').classList.contains('offline')",
    );
    let cards = browser.eval(CARDS);
    let cards = cards.as_array().expect("cards");
    let pack3 = &cards[2];
    let banner = pack3["banner"].as_str().unwrap_or_default();
    assert!(banner.contains("OFFLINE"), "{pack3}");
    assert!(
        banner.contains("last heard") && banner.contains("s ago"),
        "{banner}"
    );
    assert!(
        cards
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c["offline"] == false),
        "only pack3 is offline"
    );
    let share = browser
        .eval("return document.querySelector('.pack[data-pack=\"pack3\"] .limits').textContent");
    assert!(
        share
            .as_str()
            .is_some_and(|t| t.contains("0.0 A") && t.contains("being offline")),
        "{share}"
    );
    let shot = browser.screenshot("status-page-offline.png");
    eprintln!("screenshot: {}", shot.display());
}

//! The status page's HTTP side through the real binary: simulated packs -> `busbar run` with
//! `[http]` on a free loopback port -> `/api/state` against `docs/api-state.schema.json`,
//! `/metrics` through a Prometheus text parser, `/` self-contained, `/api/events` streaming, and
//! a silent pack showing as offline everywhere.

mod e2e_support;
mod http_support;

use std::time::{Duration, Instant};

use e2e_support::{Harness, Options};
use http_support::{first_status_event, get};

const PACKS: usize = 3;

fn schema() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/api-state.schema.json")).expect("JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON schema")
}

fn assert_schema(validator: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

fn started() -> (Harness, std::net::SocketAddr) {
    let mut h = Harness::start(Options::packs(PACKS).with_http());
    let addr = h.http_addr();
    let spawned = h.spawned_at;
    h.wait_for_351(spawned, spawned + Duration::from_secs(6), |l| l.ccl > 0.0)
        .unwrap_or_else(|e| panic!("no frames: {e}\n{}", h.log()));
    (h, addr)
}

/// Poll `/api/state` until `pred` holds (10 s at most).
fn wait_state(
    addr: std::net::SocketAddr,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = get(addr, "/api/state").json();
        if pred(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "never {what}: {state:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("/metrics parses as Prometheus text");
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[test]
fn api_state_metrics_events_and_page_agree_with_the_bus() {
    let (h, addr) = started();
    let validator = schema();

    let response = get(addr, "/api/state");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let state = wait_state(addr, "all packs online", |s| {
        s["packs"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["online"] == true))
    });
    assert_schema(&validator, &state);
    assert_eq!(state["packs"].as_array().map(Vec::len), Some(PACKS));
    assert_eq!(
        state["packs"][0]["cell_voltages"].as_array().map(Vec::len),
        Some(16)
    );
    let cvl_on_bus = h.limits(&h.latest(0x351).expect("a 0x351")).cvl;
    assert!((state["battery"]["cvl"].as_f64().expect("cvl") - cvl_on_bus).abs() < 0.05);

    let event = first_status_event(addr);
    assert_schema(&validator, &event);

    let metrics = get(addr, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/openmetrics-text")));
    let text = metrics.text();
    for i in 1..=PACKS {
        let pack = format!("pack{i}");
        assert_eq!(
            metric(&text, "busbar_pack_online", &[("pack", &pack)]),
            Some(1.0)
        );
        assert!(metric(
            &text,
            "busbar_cell_voltage_volts",
            &[("pack", &pack), ("cell", "16")]
        )
        .is_some_and(|v| (2.5..3.65).contains(&v)));
        assert!(metric(
            &text,
            "busbar_pack_frames_total",
            &[("pack", &pack), ("result", "good")]
        )
        .is_some_and(|n| n >= 1.0));
    }
    assert!(
        metric(&text, "busbar_can_frames_total", &[("result", "sent")]).is_some_and(|n| n > 0.0)
    );

    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let html = page.text();
    assert!(html.contains("<title>busbar</title>"));
    // No external assets: nothing loaded from another host.
    for external in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "src=\"//",
    ] {
        assert!(
            !html.contains(external),
            "external asset ({external}) in the page"
        );
    }

    assert_eq!(get(addr, "/no/such/page").status, 404);
}

#[test]
fn a_silent_pack_is_offline_in_the_api_and_in_the_metrics() {
    let (h, addr) = started();
    wait_state(addr, "all packs online", |s| {
        s["packs"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["online"] == true))
    });
    h.fault(1, |f| f.silent = true);
    let state = wait_state(addr, "pack2 offline", |s| s["packs"][1]["online"] == false);
    let pack2 = &state["packs"][1];
    assert_eq!(pack2["charge_limit"], 0.0);
    assert_eq!(pack2["discharge_limit"], 0.0);
    assert_eq!(pack2["charge_limited_by"], "being offline");
    assert!(
        pack2["last_heard_s"].as_f64().is_some_and(|s| s >= 2.0),
        "{pack2}"
    );
    assert!(pack2["last_problem"].is_string(), "{pack2}");
    assert_eq!(state["battery"]["packs_offline"], 1);
    assert_schema(&schema(), &state);

    let text = get(addr, "/metrics").text();
    assert_eq!(
        metric(&text, "busbar_pack_online", &[("pack", "pack2")]),
        Some(0.0)
    );
    // What is not heard is not trusted: no stale values exported.
    assert_eq!(
        metric(&text, "busbar_pack_voltage_volts", &[("pack", "pack2")]),
        None
    );
    assert!(metric(
        &text,
        "busbar_pack_frames_total",
        &[("pack", "pack2"), ("result", "timeout")]
    )
    .is_some_and(|n| n >= 1.0));
}

/// At most 64 connections are open at once (`MAX_CONNECTIONS` in src/monitor/http): idle or
/// stalled clients beyond that wait in the backlog, so they cannot grow the daemon's memory;
/// when one leaves, the next is served. The CAN output never notices.
#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let (mut h, addr) = started();
    let mut idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // Every one of them accepted: each answers a request.
    for s in idle.iter_mut().take(1) {
        write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        let mut head = [0u8; 12];
        s.read_exact(&mut head).expect("an answer");
        assert_eq!(&head, b"HTTP/1.1 200");
    }
    let waiting = std::thread::spawn(move || get(addr, "/api/state").status);
    // The 65th is not served while the 64 stay open: a "nothing happens" window.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiting.is_finished(), "a 65th connection was served");
    let during = Instant::now();
    h.collect_until(during + Duration::from_millis(1200));
    assert!(
        !h.frames(0x351, during, Instant::now()).is_empty(),
        "CAN output went on meanwhile"
    );
    idle.pop();
    assert_eq!(waiting.join().expect("the request thread"), 200);
}

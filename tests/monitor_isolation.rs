//! The safety path never waits for monitoring: a stalled MQTT broker and HTTP clients that
//! never read must not delay a CAN frame.
//!
//! Two runs of the same scenario, measured the same way (in parallel, as cargo runs tests):
//!
//! - **baseline**: monitoring off;
//! - **stalled**: MQTT pointed at a "broker" that answers CONNECT and then never reads again
//!   (tiny receive buffer, so busbar's socket fills), and 20 HTTP clients on `/api/events` and
//!   `/metrics` that never read (tiny receive buffers too).
//!
//! In each: a pack goes silent; its share must leave CCL/DCL within `offline_after` + 1.5 s
//! (as in `e2e_run.rs`), and full frame sets keep their 1 s cadence (largest gap < 1.6 s) for
//! about ten seconds. Run with `--nocapture` to see the figures.

mod e2e_support;
mod mqtt_support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use e2e_support::{secs, Harness, Options, PACK_CHARGE_A, PACK_DISCHARGE_A};

const PACKS: usize = 4;
/// How long the cadence is watched after the daemon is healthy.
const WINDOW: Duration = Duration::from_secs(10);
/// The bound on the cut, as in `e2e_run.rs`.
const OFFLINE_SLACK: Duration = Duration::from_millis(1500);
/// Full frame sets are 1 s apart; a frame set delayed by monitoring would show here.
const MAX_SET_GAP: Duration = Duration::from_millis(1600);
const HTTP_CLIENTS: usize = 20;
/// Receive buffer of every stalled peer: small, so the daemon's side fills quickly.
const TINY_RCVBUF: libc::c_int = 4096;

fn tiny_receive_buffer(fd: libc::c_int) {
    // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&TINY_RCVBUF as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_RCVBUF");
}

/// An MQTT "broker" that accepts, answers CONNECT with CONNACK (so busbar starts publishing),
/// and then never reads again. Holds every connection until dropped.
struct StalledBroker {
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StalledBroker {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        tiny_receive_buffer(listener.as_raw_fd());
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, quit) = (connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !quit.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                        // Read the CONNECT (one small packet), answer, then never read again.
                        let mut buf = [0u8; 256];
                        if stream.read(&mut buf).is_ok_and(|n| n > 0) {
                            let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x00]);
                        }
                        held.push(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Self {
            port,
            connections,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StalledBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// HTTP clients that send a request and never read the answer.
fn stalled_http_clients(port: u16) -> Vec<TcpStream> {
    (0..HTTP_CLIENTS)
        .map(|i| {
            let mut stream = TcpStream::connect(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("HTTP client {i}: connect to {port}: {e}"));
            tiny_receive_buffer(stream.as_raw_fd());
            let path = if i % 2 == 0 {
                "/api/events"
            } else {
                "/metrics"
            };
            write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            stream
        })
        .collect()
}

/// What one run measured.
#[derive(Debug)]
struct Figures {
    cut: Duration,
    set_gaps: Vec<Duration>,
}

impl Figures {
    fn max_gap(&self) -> Duration {
        self.set_gaps.iter().copied().max().unwrap_or_default()
    }

    fn mean_gap(&self) -> Duration {
        let n = self.set_gaps.len().max(1) as u32;
        self.set_gaps.iter().sum::<Duration>() / n
    }
}

/// Start with `extra` config, call `stall` once healthy, silence pack 2, measure. Returns the
/// figures and the daemon's log.
fn run(
    label: &str,
    extra: String,
    stall: impl FnOnce() -> Box<dyn std::any::Any>,
) -> (Figures, String) {
    let mut options = Options::packs(PACKS);
    options.extra_config = extra;
    let mut h = Harness::start(options);
    let all = (
        PACK_CHARGE_A * PACKS as f64,
        PACK_DISCHARGE_A * PACKS as f64,
    );
    let spawned = h.spawned_at;
    let deadline = spawned + Duration::from_secs(10);
    let (healthy, _) = h
        .wait_for_351(spawned, deadline, |l| l.currents_are(all.0, all.1))
        .unwrap_or_else(|e| panic!("{label}: never healthy: {e}"));
    let stalled = stall();
    // Give the stall a moment to bite (sockets fill, queues full) before the cut.
    std::thread::sleep(Duration::from_secs(2));
    let silenced = h.fault(1, |f| f.silent = true);
    let bound = h.options.offline_after + OFFLINE_SLACK;
    let rest = (
        PACK_CHARGE_A * (PACKS - 1) as f64,
        PACK_DISCHARGE_A * (PACKS - 1) as f64,
    );
    let (cut_at, _) = h
        .wait_for_351(silenced, silenced + bound, |l| {
            l.currents_are(rest.0, rest.1)
        })
        .unwrap_or_else(|e| panic!("{label}: the cut was late: {e}"));
    let end = healthy + WINDOW;
    h.collect_until(end);
    let sets = h.frames(0x35E, healthy, end);
    let set_gaps: Vec<Duration> = sets.windows(2).map(|w| w[1].at - w[0].at).collect();
    let figures = Figures {
        cut: cut_at - silenced,
        set_gaps,
    };
    let mqtt_log: Vec<String> = h
        .log()
        .lines()
        .filter(|l| l.contains("MQTT") || l.contains("status page"))
        .map(|l| format!("    {l}"))
        .collect();
    println!(
        "{label}: cut {} after the pack went silent (bound {}); {} full sets over {}: gap max {}, mean {}\n  daemon log on monitoring:\n{}",
        secs(figures.cut),
        secs(bound),
        sets.len(),
        secs(WINDOW),
        secs(figures.max_gap()),
        secs(figures.mean_gap()),
        mqtt_log.join("\n")
    );
    assert!(
        sets.len() >= 8,
        "{label}: only {} full sets in {}",
        sets.len(),
        secs(WINDOW)
    );
    assert!(
        figures.max_gap() < MAX_SET_GAP,
        "{label}: full sets {:?} apart\n{}",
        figures.set_gaps,
        h.context("")
    );
    drop(stalled);
    (figures, h.log())
}

#[test]
fn baseline_without_monitoring() {
    run("baseline", "[http]\nenabled = false\n".into(), || {
        Box::new(())
    });
}

#[test]
fn a_stalled_broker_and_stalled_http_clients_do_not_delay_can_output() {
    let broker = StalledBroker::start();
    let http_port = mqtt_support::free_port();
    let extra = format!(
        "[http]\nenabled = true\nlisten = \"127.0.0.1:{http_port}\"\n\n[mqtt]\nenabled = true\n\
         host = \"127.0.0.1\"\nport = {}\ninterval = \"1s\"\nkeep_alive = \"5s\"\n",
        broker.port
    );
    let connections = broker.connections.clone();
    let (_, log) = run("stalled", extra, move || {
        Box::new((broker, stalled_http_clients(http_port)))
    });
    assert!(
        connections.load(Ordering::Relaxed) >= 1,
        "busbar never connected to the stalled broker"
    );
    // The stall was real: MQTT had more to send than the broker took, and dropped the oldest.
    assert!(
        log.contains("older state messages are replaced"),
        "MQTT never backed up:\n{log}"
    );
}

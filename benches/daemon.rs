//! `busbar run` measured from outside, with 16 simulated jk-nw packs on ptys polled at 2 Hz:
//!
//! 1. **CPU and peak RSS** of the daemon process over 60 s of steady running: `utime + stime`
//!    from `/proc/PID/stat`, `VmHWM` from `/proc/PID/status`.
//! 2. **Cut latency**: from the moment a simulated pack has written the last byte of a reply
//!    that lowers its limit (the simulator stamps each reply once `write_all` returns) to the
//!    moment the matching 0x351 line is read from the daemon's stdout. To make a reply
//!    observable, the bench opens one pack's charge (or discharge) MOSFET: the first reply
//!    carrying it drops CCL (DCL) by exactly that pack's 60 A (70 A), and the first 0x351 line
//!    showing that drop is its match. Packs are cut one after another (16 CCL cuts, then 16 DCL
//!    cuts, three rounds), each toggle at a pseudo-random moment at least 100 ms after the last
//!    cut went out, so the sample covers every phase of a reply against the 1 s frame grid.
//!    The table also splits the samples: the scheduler sends a lone 0x351 no sooner than 100 ms
//!    after any 0x351, the one in a full set included (`CUT_MIN_GAP`, src/can/scheduler.rs), so
//!    a reply that lands just after a full set waits for the end of that gap. A sample counts
//!    as "held" when a 0x351 line was read less than 100 ms before its reply was written.
//! 3. **Loss to cut**: a pack goes silent; the time until the first 0x351 without its share,
//!    from the moment it was silenced and from its last reply.
//!
//! The daemon is the optimised build cargo makes for benches (`target/release/busbar`):
//!
//! ```text
//! cargo bench --bench daemon
//! ```
//!
//! About 3 minutes. `BUSBAR_BENCH_CPU_SECS=10` shortens the CPU window for a quick look (the
//! figure to report is the 60 s one). Under `cargo test --benches` it makes a short smoke run
//! with the debug binary instead (2 s of CPU, one round of cuts, two silenced packs).
//!
//! Settings: `offline_after = "3s"` and `can_interval = "1s"` (the defaults); system caps of
//! 2000 A so that every pack's share shows in CCL/DCL (16 × 60 A = 960 A, 16 × 70 A = 1120 A);
//! `ramp_rate = 1000` A/s so a restored share is back at the next full set instead of after
//! 6 s of ramp (only cuts are timed; the ramp has its own end-to-end test).

#[path = "../tests/e2e_support/mod.rs"]
mod e2e_support;

use std::time::{Duration, Instant};

use e2e_support::{Harness, Options, PACK_CHARGE_A, PACK_DISCHARGE_A};

const PACKS: usize = 16;
/// Event streams opened and never read: their socket buffers fill and the server stops writing.
const STALLED_STREAMS: usize = 32;
/// `/metrics` requests sent and never read. With the streams, 56 of the 64 connections the
/// status page keeps open (`MAX_CONNECTIONS`), leaving room for the scraper.
const STALLED_SCRAPES: usize = 24;

/// Clients that stall busbar's status page, plus one thread that scrapes `/metrics` as fast as
/// it can, for as long as this lives.
struct StalledClients {
    _sockets: Vec<std::net::TcpStream>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    scraped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    scraper: Option<std::thread::JoinHandle<()>>,
}

impl StalledClients {
    fn open(addr: std::net::SocketAddr, streams: usize, scrapes: usize) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let request = |path: &str| {
            let mut s = std::net::TcpStream::connect(addr).expect("connect to the status page");
            write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request sent");
            s
        };
        let mut sockets: Vec<_> = (0..streams).map(|_| request("/api/events")).collect();
        sockets.extend((0..scrapes).map(|_| request("/metrics")));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let scraped = std::sync::Arc::new(AtomicUsize::new(0));
        let scraper = {
            let (stop, scraped) = (stop.clone(), scraped.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
                        continue;
                    };
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = write!(
                        s,
                        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                    );
                    let mut body = Vec::new();
                    if s.read_to_end(&mut body).is_ok() && body.starts_with(b"HTTP/1.1 200") {
                        scraped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        Self {
            _sockets: sockets,
            stop,
            scraped,
            scraper: Some(scraper),
        }
    }
}

impl Drop for StalledClients {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.scraper.take() {
            let _ = t.join();
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then a short smoke run.
    let measuring = std::env::args().any(|a| a == "--bench");
    let cpu_window = Duration::from_secs(
        std::env::var("BUSBAR_BENCH_CPU_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if measuring { 60 } else { 2 }),
    );
    let (rounds, silenced_packs): (usize, &[usize]) = if measuring {
        (3, &[0, 3, 5, 7, 9, 11, 13, 15])
    } else {
        (1, &[0, 15])
    };
    // Monitoring on, as deployed: the status page is part of what is measured.
    let mut options = Options::packs(PACKS).with_http();
    options.poll_interval = Duration::from_millis(500);
    options.offline_after = Duration::from_secs(3);
    options.can_interval = Duration::from_secs(1);
    options.max_charge_current = 2000.0;
    options.max_discharge_current = 2000.0;
    options.ramp_rate = Some(1000.0);
    let full = (
        PACK_CHARGE_A * PACKS as f64,
        PACK_DISCHARGE_A * PACKS as f64,
    );

    eprintln!("daemon bench: {}", options.binary.display());
    let mut h = Harness::start(options);
    let spawned = h.spawned_at;
    h.wait_for_351(spawned, spawned + Duration::from_secs(10), |l| {
        l.currents_are(full.0, full.1)
    })
    .unwrap_or_else(|e| panic!("never healthy: {e}"));

    // 1. CPU and memory, steady state.
    h.collect_until(Instant::now() + Duration::from_secs(1));
    eprintln!("CPU window: {} s ...", cpu_window.as_secs());
    let pid = h.pid();
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let frames0 = h.history().len();
    h.collect_until(t0 + cpu_window);
    let (cpu1, t1) = (cpu_seconds(pid), Instant::now());
    let frames = h.history().len() - frames0;
    let cpu_pct = 100.0 * (cpu1 - cpu0) / (t1 - t0).as_secs_f64();
    let hwm_cpu_phase = status_kib(pid, "VmHWM:");
    let rss = status_kib(pid, "VmRSS:");

    // 2. Cut latency, then again with clients that stall the status page (they open event
    // streams and scrapes and never read) while another scrapes /metrics in a loop.
    eprintln!("cut latency ...");
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let latencies = cut_latencies(&mut h, rounds, &mut rng, full);
    eprintln!("cut latency with stalled monitoring clients ...");
    let http = h.http_addr();
    let stalled = StalledClients::open(http, STALLED_STREAMS, STALLED_SCRAPES);
    let busy = stalled.scraped.clone();
    let latencies_stalled = cut_latencies(&mut h, rounds, &mut rng, full);
    let scrapes = busy.load(std::sync::atomic::Ordering::Relaxed);
    drop(stalled);

    // 3. Loss to cut.
    eprintln!("loss to cut ...");
    let offline_after = h.options.offline_after;
    let mut from_silence = Vec::new();
    let mut from_last_reply = Vec::new();
    for &pack in silenced_packs {
        let pause = Duration::from_millis(100 + rng.below(500));
        h.collect_until(Instant::now() + pause);
        let silenced = h.fault(pack, |f| f.silent = true);
        let (cut, _) = h
            .wait_for_351(silenced, silenced + offline_after * 2, |l| {
                l.ccl < full.0 - PACK_CHARGE_A + 0.05 && l.dcl < full.1 - PACK_DISCHARGE_A + 0.05
            })
            .unwrap();
        // Taken now: a reply built just before the silence may have been written after it.
        let last = h.last_reply(pack).expect("it answered before").written_at;
        from_silence.push(cut - silenced);
        from_last_reply.push(cut - last);
        h.fault(pack, |f| f.silent = false);
        let back = Instant::now();
        h.wait_for_351(back, back + Duration::from_secs(5), |l| {
            l.currents_are(full.0, full.1)
        })
        .unwrap();
    }
    let hwm = status_kib(pid, "VmHWM:");
    assert!(h.is_running());

    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let mut all: Vec<Duration> = latencies.iter().map(|(d, _)| *d).collect();
    let mut free: Vec<Duration> = latencies
        .iter()
        .filter(|(_, held)| !held)
        .map(|(d, _)| *d)
        .collect();
    let mut held: Vec<Duration> = latencies
        .iter()
        .filter(|(_, held)| *held)
        .map(|(d, _)| *d)
        .collect();
    all.sort();
    free.sort();
    held.sort();
    from_silence.sort();
    from_last_reply.sort();
    let above_goal = all
        .iter()
        .filter(|d| **d > Duration::from_millis(5))
        .count();
    let offline_goal = offline_after + Duration::from_millis(500);
    println!();
    if !measuring {
        println!("(smoke run under `cargo test`: run `cargo bench --bench daemon` for figures)");
    }
    println!(
        "busbar run: {PACKS} simulated jk-nw packs on ptys, polled at 2 Hz, full frame set every 1 s, offline_after {}",
        s(offline_after)
    );
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| cut latency p50 (reply's last byte written -> 0x351 line read), n = {} | {} | |",
        all.len(),
        ms(percentile(&all, 50.0))
    );
    println!(
        "| cut latency p99 | {} | <= 5 ms |",
        ms(percentile(&all, 99.0))
    );
    println!(
        "| cut latency max; samples above 5 ms | {}; {above_goal} | |",
        ms(*all.last().unwrap())
    );
    if !free.is_empty() {
        println!(
            "| - cuts not held by the 100 ms rate gap, n = {}: p50 / p99 / max | {} / {} / {} | |",
            free.len(),
            ms(percentile(&free, 50.0)),
            ms(percentile(&free, 99.0)),
            ms(*free.last().unwrap())
        );
    }
    let mut stalled_all: Vec<Duration> = latencies_stalled.iter().map(|(d, _)| *d).collect();
    stalled_all.sort();
    println!(
        "| cut latency with {STALLED_STREAMS} stalled event-stream requests (at most 8 are served), {STALLED_SCRAPES} stalled /metrics requests and {scrapes} scrapes in a loop, n = {}: p50 / p99 / max | {} / {} / {} | <= 5 ms |",
        stalled_all.len(),
        ms(percentile(&stalled_all, 50.0)),
        ms(percentile(&stalled_all, 99.0)),
        ms(*stalled_all.last().unwrap())
    );
    if !held.is_empty() {
        println!(
            "| - cuts that came < 100 ms after a 0x351, n = {}: min / p50 / max | {} / {} / {} | |",
            held.len(),
            ms(held[0]),
            ms(percentile(&held, 50.0)),
            ms(*held.last().unwrap())
        );
    }
    println!(
        "| loss to cut, from silencing: median / max, n = {} | {} / {} | <= {} |",
        from_silence.len(),
        s(percentile(&from_silence, 50.0)),
        s(*from_silence.last().unwrap()),
        s(offline_goal)
    );
    println!(
        "| loss to cut, from its last reply: median / max | {} / {} | |",
        s(percentile(&from_last_reply, 50.0)),
        s(*from_last_reply.last().unwrap()),
    );
    println!(
        "| CPU of busbar run over {} s (utime + stime) | {cpu_pct:.2} % of one core | <= 1 % |",
        (t1 - t0).as_secs()
    );
    println!(
        "| peak RSS (VmHWM) after the CPU window / at the end | {:.1} MB / {:.1} MB (VmRSS {:.1} MB) | <= 15 MB |",
        hwm_cpu_phase as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    println!("| CAN frames read in the CPU window | {frames} | |");
    println!();
}

/// Open each pack's charge, then discharge MOSFET, one after another, `rounds` times; for each
/// cut, the time from the reply that carried it to the 0x351 line, and whether the scheduler's
/// 100 ms rate gap held it.
fn cut_latencies(
    h: &mut Harness,
    rounds: usize,
    rng: &mut XorShift,
    full: (f64, f64),
) -> Vec<(Duration, bool)> {
    let mut latencies = Vec::new();
    let mut last_cut = Instant::now();
    for _round in 0..rounds {
        for discharge in [false, true] {
            let mut expected = if discharge { full.1 } else { full.0 };
            let share = if discharge {
                PACK_DISCHARGE_A
            } else {
                PACK_CHARGE_A
            };
            for pack in 0..PACKS {
                // Not within the daemon's 100 ms rate gap of our own previous cut.
                let pause = Duration::from_millis(100 + rng.below(500));
                h.collect_until(last_cut.max(Instant::now()) + pause);
                let toggled = h.fault(pack, |f| {
                    if discharge {
                        f.discharge_mosfet_off = true;
                    } else {
                        f.charge_mosfet_off = true;
                    }
                });
                expected -= share;
                let (line, _) = h
                    .wait_for_351(toggled, toggled + Duration::from_secs(3), |l| {
                        let v = if discharge { l.dcl } else { l.ccl };
                        v < expected + 0.05
                    })
                    .unwrap();
                let reply = h
                    .wait_reply(pack, toggled, line + Duration::from_secs(1), |r| {
                        if discharge {
                            r.faults.discharge_mosfet_off
                        } else {
                            r.faults.charge_mosfet_off
                        }
                    })
                    .expect("the reply that carried the fault");
                // Was the cut held back by the scheduler's rate gap (no lone 0x351 within 100 ms
                // of any 0x351, src/can/scheduler.rs)? Then a 0x351 went out shortly before the
                // reply.
                let previous = h
                    .history()
                    .iter()
                    .rev()
                    .filter(|rx| rx.frame.id() == 0x351 && rx.at < line)
                    .map(|rx| rx.at)
                    .next();
                let held = previous
                    .is_some_and(|p| p + busbar::can::scheduler::CUT_MIN_GAP > reply.written_at);
                latencies.push((line.saturating_duration_since(reply.written_at), held));
                last_cut = line;
            }
            for pack in 0..PACKS {
                h.fault(pack, |f| {
                    f.charge_mosfet_off = false;
                    f.discharge_mosfet_off = false;
                });
            }
            let restored = Instant::now();
            h.wait_for_351(restored, restored + Duration::from_secs(5), |l| {
                l.currents_are(full.0, full.1)
            })
            .unwrap();
        }
    }
    latencies
}

/// The value at `p` % of sorted `v` (nearest rank).
fn percentile(v: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// CPU time (user + system) of process `pid` so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks as f64 / per_second as f64
}

/// A `kB` line of `/proc/PID/status`.
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} not in /proc/{pid}/status"))
}

/// A small deterministic generator for the pauses (no rand dependency).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

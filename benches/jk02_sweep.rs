//! Sweep time of a JK-PB bus: 15 simulated packs (addresses 1..=15) on ONE pty paced at 115200
//! baud, polled by the real bus code (`busbar::bus::Bus`: one request in flight, ≥ 120 ms of
//! silence after the last byte), against the physical floor:
//!
//! floor per sweep = Σ bytes on the wire ÷ 11 520 B/s + 15 × 120 ms
//! bytes per address = request 11 + frame 300 + the simulator's padding 2 + ACK 8 = 321
//!
//! What the floor leaves out and the measurement contains: the simulated BMS's reply latency
//! (5 ms, `BusTiming::default`), the 1 ms gap margin, and scheduling. Goal: within 20 % of the
//! floor. `cargo bench --bench jk02_sweep` (about 20 s).

use std::time::Duration;

use busbar::bus::{Bus, BusSettings, MIN_GAP};
use busbar::jk02::{Register, ACK_LEN, FRAME_LEN, REQUEST_LEN};
use busbar::sim::server::{spawn_jk_pb, BusTiming, BUS_PADDING};
use tokio::time::Instant;

const PACKS: usize = 15;
const SWEEPS: u32 = 6;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let timing = BusTiming::default();
        let sim = spawn_jk_pb(PACKS, 16, Instant::now(), timing).expect("simulated bus");
        let mut bus = Bus::new(sim.path.clone(), BusSettings::new(Duration::from_millis(100)));
        // Warm-up sweep: opens the port.
        for address in 1..=PACKS as u8 {
            bus.ask(address, Register::CellInfo).await.expect("warm-up answer");
        }
        let started = Instant::now();
        let mut sweeps = Vec::new();
        for _ in 0..SWEEPS {
            let sweep_start = Instant::now();
            for address in 1..=PACKS as u8 {
                bus.ask(address, Register::CellInfo)
                    .await
                    .unwrap_or_else(|e| panic!("address {address}: {e}"));
            }
            sweeps.push(sweep_start.elapsed());
        }
        let total = started.elapsed();
        // Each sweep's first request waits out the silence after the previous sweep's last
        // answer, so SWEEPS back-to-back sweeps hold exactly SWEEPS × PACKS gaps.
        let mean = total / SWEEPS;
        let bytes_per_address = REQUEST_LEN + FRAME_LEN + BUS_PADDING + ACK_LEN;
        let wire = Duration::from_secs_f64((PACKS * bytes_per_address) as f64 / 11_520.0);
        let floor = wire + MIN_GAP * PACKS as u32;
        let best = sweeps.iter().min().copied().unwrap_or_default();
        println!("jk-pb sweep, {PACKS} packs on one simulated 115200-baud bus ({SWEEPS} sweeps):");
        println!(
            "  floor    {:>7.1} ms  ({PACKS} x {bytes_per_address} B = {:.1} ms on the wire + {PACKS} x {} ms gaps)",
            floor.as_secs_f64() * 1e3,
            wire.as_secs_f64() * 1e3,
            MIN_GAP.as_millis()
        );
        println!(
            "  measured {:>7.1} ms mean, {:.1} ms best  ({:.1} ms per pack)",
            mean.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3,
            mean.as_secs_f64() * 1e3 / PACKS as f64
        );
        println!(
            "  ratio    {:.3} x floor (goal <= 1.20); simulated reply latency {} ms per answer",
            mean.as_secs_f64() / floor.as_secs_f64(),
            timing.latency.as_millis()
        );
    });
}

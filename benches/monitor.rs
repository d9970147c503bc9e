//! What monitoring costs the daemon and a scrape: building one [`Status`] (the main loop does it
//! at most every 250 ms) and turning it into `/api/state` JSON and `/metrics` text, for 16 packs
//! × 16 cells, every pack online.
//!
//! Run: `cargo bench --bench monitor`

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use busbar::battery::Battery;
use busbar::config::Config;
use busbar::monitor::http::metrics;
use busbar::monitor::status::{Counters, Inputs, Status};
use busbar::pack::PackSnapshot;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const PACKS: usize = 16;
const CELLS: usize = 16;

fn config() -> Config {
    let mut toml = format!(
        "[battery]\ncells = {CELLS}\ncharge_voltage = 3.45\nfloat_voltage = 3.375\n\
         discharge_voltage = 2.90\nmax_charge_current = 1000\nmax_discharge_current = 1000\n"
    );
    for i in 0..PACKS {
        let _ = write!(
            toml,
            "\n[[pack]]\nname = \"pack{i}\"\nport = \"/dev/ttyUSB{i}\"\nprotocol = \"jk-nw\"\n\
             max_charge_current = 60\nmax_discharge_current = 70\n"
        );
    }
    Config::from_source(Path::new("bench.toml"), &toml)
        .expect("a valid config")
        .config
}

fn snapshot(i: usize) -> PackSnapshot {
    let mut p = PackSnapshot {
        cell_voltages_mv: (0..CELLS)
            .map(|c| 3300 + ((c * 7 + i * 13) % 40) as u16)
            .collect(),
        temperatures_dc: [200, 210].into_iter().collect(),
        mos_temperature_dc: Some(300),
        soc_pct: 60,
        capacity_ah: 280.0,
        remaining_capacity_ah: Some(168.0),
        current_ma: 10_000,
        charge_mosfet: true,
        discharge_mosfet: true,
        ..PackSnapshot::default()
    };
    p.voltage_mv = p.cell_sum_mv();
    p
}

fn monitor(c: &mut Criterion) {
    let config = config();
    let t0 = Instant::now();
    let mut battery = Battery::new(config.battery_settings().expect("valid"), t0).expect("valid");
    for i in 0..PACKS {
        battery.accept(i, t0, snapshot(i)).expect("plausible");
    }
    let now = t0 + Duration::from_millis(500);
    let state = battery.tick(now).expect("every pack answered");
    let counters = Counters::new(PACKS);
    let inputs = Inputs {
        config: &config,
        battery: &battery,
        state: Some(&state),
        counters: &counters,
        started: t0,
        now,
    };
    c.bench_function("status build (16 packs x 16 cells)", |b| {
        b.iter(|| black_box(Status::build(black_box(&inputs))))
    });
    let status = Status::build(&inputs);
    c.bench_function("/api/state JSON (16 packs)", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&status)).expect("serialisable")))
    });
    c.bench_function("/metrics text (16 packs)", |b| {
        b.iter(|| black_box(metrics::encode(black_box(&status))))
    });
}

criterion_group!(benches, monitor);
criterion_main!(benches);

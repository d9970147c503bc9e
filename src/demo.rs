//! `busbar demo`: the whole daemon with zero set-up. Five simulated 16S packs (the seed set-up)
//! on pseudo-terminals, read through the real serial path and the real core; CAN frames as
//! candump lines on stdout; a one-line summary a second on stderr; and a scripted event every
//! so often (a pack drops out and comes back, a MOSFET opens, a cell runs high, a sensor goes
//! below 0 °C) so a newcomer sees fail-to-zero work.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::battery::BatteryState;
use crate::cli::Listen;
use crate::config::{
    BatteryConfig, CanConfig, Config, HttpConfig, PackConfig, Protocol, TimingConfig,
};
use crate::daemon::{Daemon, DaemonError};
use crate::sim::server::{spawn_jk_nw, SimError, SimulatedPack};
use crate::sim::Faults;

/// The seed set-up: five packs of 16 cells.
const PACKS: usize = 5;
const CELLS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

/// One scripted step: at `at` into each cycle, apply `change` to one pack and say why.
struct Step {
    at: Duration,
    pack: usize,
    change: fn(&mut Faults),
    say: &'static str,
}

/// The script, repeated every [`CYCLE`]. Each fault is undone 20 s later, so the ramp back up
/// shows too.
const CYCLE: Duration = Duration::from_secs(120);
const SCRIPT: [Step; 8] = [
    Step {
        at: Duration::from_secs(15),
        pack: 2,
        change: |f| f.silent = true,
        say: "pack3 stops answering: its share leaves CCL/DCL within offline_after (3 s)",
    },
    Step {
        at: Duration::from_secs(35),
        pack: 2,
        change: |f| f.silent = false,
        say: "pack3 answers again: CCL/DCL rise back at the ramp (10 A/s), not in one jump",
    },
    Step {
        at: Duration::from_secs(45),
        pack: 1,
        change: |f| f.charge_mosfet_off = true,
        say: "pack2's BMS opens its charge MOSFET: CCL drops by its share, DCL stays",
    },
    Step {
        at: Duration::from_secs(65),
        pack: 1,
        change: |f| f.charge_mosfet_off = false,
        say: "pack2's charge MOSFET closes again",
    },
    Step {
        at: Duration::from_secs(75),
        pack: 3,
        change: |f| f.cell_override = Some((5, 3470)),
        say: "pack4 cell 5 runs high (3.47 V): that pack's charge share falls to 30 A",
    },
    Step {
        at: Duration::from_secs(95),
        pack: 3,
        change: |f| f.cell_override = None,
        say: "pack4 cell 5 back to normal",
    },
    Step {
        at: Duration::from_secs(100),
        pack: 4,
        change: |f| f.temperature_override = Some(-2),
        say: "pack5's sensors read -2 °C: no charging that pack below 0 °C",
    },
    Step {
        at: Duration::from_secs(115),
        pack: 4,
        change: |f| f.temperature_override = None,
        say: "pack5 warms up again",
    },
];

/// Run the demo until `stop` resolves.
pub async fn run(listen: Listen, stop: impl Future<Output = ()>) -> Result<(), DemoError> {
    let start = Instant::now();
    let packs = (0..PACKS)
        .map(|i| spawn_jk_nw(i, CELLS, start))
        .collect::<Result<Vec<_>, _>>()?;
    for p in &packs {
        say(format_args!(
            "demo: {} simulated on {}",
            p.name,
            p.path.display()
        ));
    }
    let mut config = config(&packs);
    config.http = match listen {
        Listen::Off => HttpConfig {
            enabled: false,
            ..HttpConfig::default()
        },
        // The server logs the address it really got (port 0 = any free one).
        Listen::At(addr) => HttpConfig {
            enabled: true,
            listen: addr,
        },
    };
    let daemon = Daemon::new(config)?;
    let summary = tokio::spawn(print_summary(daemon.subscribe()));
    let script = tokio::spawn(play_script(packs, start));
    let result = daemon.run(stop).await;
    summary.abort();
    script.abort();
    Ok(result?)
}

/// The seed set-up of `config/busbar.example.toml`, on the simulated ports, CAN to stdout.
pub fn config(packs: &[SimulatedPack]) -> Config {
    Config {
        battery: BatteryConfig {
            cells: CELLS,
            charge_voltage: 3.45,
            float_voltage: 3.375,
            discharge_voltage: 2.90,
            max_charge_current: 300.0,
            max_discharge_current: 350.0,
        },
        timing: TimingConfig::default(),
        can: CanConfig {
            interface: "candump:-".into(),
            ..CanConfig::default()
        },
        limits: Default::default(),
        control: Default::default(),
        http: Default::default(),
        mqtt: Default::default(),
        packs: packs
            .iter()
            .map(|p| PackConfig {
                name: p.name.clone(),
                port: p.path.clone(),
                protocol: Protocol::JkNw,
                address: None,
                max_charge_current: 60.0,
                max_discharge_current: 70.0,
            })
            .collect(),
    }
}

async fn play_script(packs: Vec<SimulatedPack>, start: Instant) {
    let mut cycle_start = start;
    loop {
        for step in &SCRIPT {
            tokio::time::sleep_until(cycle_start + step.at).await;
            if let Some(pack) = packs.get(step.pack) {
                let mut faults = pack
                    .faults
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                (step.change)(&mut faults);
            }
            say(format_args!("demo: {}", step.say));
        }
        cycle_start += CYCLE;
    }
}

async fn print_summary(mut states: watch::Receiver<Option<Arc<BatteryState>>>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        // Only the newest state matters; the daemon never waits for this reader.
        let state = states.borrow_and_update().clone();
        match state {
            Some(s) => say(format_args!("{}", summary_line(&s))),
            None => say(format_args!(
                "demo: waiting for every pack to answer once (start-up rule)"
            )),
        }
    }
}

/// One line on stderr. A closed stderr (the reader went away) must not stop the demo, whose
/// CAN output goes on on stdout, so errors are ignored instead of panicking like `eprintln!`.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `CVL 55.2 V  CCL 300.0 A  DCL 350.0 A  SOC 57 %  52.93 V  +12.3 A  packs 5/5 online`.
pub fn summary_line(s: &BatteryState) -> String {
    let soc = s
        .soc_pct()
        .map_or_else(|| "--".to_string(), |p| p.to_string());
    format!(
        "CVL {:.1} V  CCL {:.1} A  DCL {:.1} A  SOC {soc} %  {:.2} V  {:+.1} A  packs {}/{} online",
        f64::from(s.cvl_mv) / 1000.0,
        f64::from(s.ccl_ma) / 1000.0,
        f64::from(s.dcl_ma) / 1000.0,
        f64::from(s.voltage_mv) / 1000.0,
        f64::from(s.current_ma) / 1000.0,
        s.counts.online,
        s.counts.online + s.counts.offline,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate;

    #[test]
    fn the_script_steps_are_in_order_within_one_cycle_and_name_real_packs() {
        for pair in SCRIPT.windows(2) {
            assert!(
                pair[0].at < pair[1].at,
                "{} then {}",
                pair[0].say,
                pair[1].say
            );
        }
        assert!(SCRIPT.iter().all(|s| s.at < CYCLE && s.pack < PACKS));
    }

    #[test]
    fn every_fault_the_script_sets_it_also_clears() {
        for pack in 0..PACKS {
            let mut faults = Faults::default();
            for step in SCRIPT.iter().filter(|s| s.pack == pack) {
                (step.change)(&mut faults);
            }
            assert_eq!(faults, Faults::default(), "pack{} left faulty", pack + 1);
        }
    }

    #[test]
    fn the_demo_config_is_the_valid_seed_setup() {
        let packs: Vec<PackConfig> = (1..=PACKS)
            .map(|i| PackConfig {
                name: format!("pack{i}"),
                port: format!("/dev/pts/{i}").into(),
                protocol: Protocol::JkNw,
                address: None,
                max_charge_current: 60.0,
                max_discharge_current: 70.0,
            })
            .collect();
        let mut config = config(&[]);
        config.packs = packs;
        let found = validate(&config);
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        assert_eq!(config.can.interface, "candump:-");
        assert_eq!(config.battery.max_charge_current, 300.0);
    }
}

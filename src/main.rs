//! The `busbar` binary: parses the command line and hands over to the library. `anyhow` lives
//! here, at the edge; everything below returns typed errors.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use busbar::cli::{Cli, Command};
use busbar::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Human-readable logs on stderr; `BUSBAR_LOG` (or `RUST_LOG`) filters, default `info`.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("BUSBAR_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        // Colour codes only for a person at a terminal, never into journald or a log file.
        .with_ansi(std::io::stderr().is_terminal())
        // A closed stderr must not take the daemon down: its default complaint is an
        // `eprintln!`, which panics on the very pipe that just failed.
        .log_internal_errors(false)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => {
            let loaded = Config::load(&config)?;
            for warning in &loaded.warnings {
                tracing::warn!("{}: {warning}", config.display());
            }
            let runtime = runtime()?;
            runtime.block_on(async {
                let stop = busbar::shutdown::stop_signal()?;
                busbar::daemon::Daemon::new(loaded.config)?
                    .run(stop)
                    .await?;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen } => {
            let runtime = runtime()?;
            runtime.block_on(async {
                let stop = busbar::shutdown::stop_signal()?;
                busbar::demo::run(listen, stop).await?;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { path } => Ok(check_config(&path)),
        Command::Probe {
            port,
            protocol,
            address,
            json,
            timeout,
            tries,
        } => {
            let request = busbar::probe::ProbeRequest {
                port,
                protocol: protocol.into(),
                address,
                timeout,
                tries,
            };
            let runtime = runtime()?;
            let report = runtime.block_on(busbar::probe::probe(&request))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report.json())?);
            } else {
                print!("{}", report.human());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sim {
            packs,
            protocol,
            cells,
        } => {
            let runtime = runtime()?;
            runtime.block_on(busbar::sim::server::run_until_stopped(
                packs,
                protocol.into(),
                cells,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Decode {
            input,
            json,
            follow,
        } => {
            let options = busbar::can::decode_command::Options { json, follow };
            busbar::can::decode_command::run_cli(input.as_deref(), options)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("warning: {}: {warning}", path.display());
            }
            println!(
                "# {}: valid. Effective settings, defaults filled in:\n",
                path.display()
            );
            print!("{}", loaded.config.to_toml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The daemon's I/O is a handful of serial ports and one CAN socket: one thread is plenty and
/// keeps the footprint small on a Pi.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

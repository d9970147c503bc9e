//! The command line of DESIGN.md "Contract / Command line".

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Protocol;

#[derive(Debug, Parser)]
#[command(
    name = "busbar",
    version,
    about = "Several JK-BMS packs on one busbar, presented as one battery on CAN",
    long_about = "busbar reads every JK-BMS pack over its serial port and sends one battery's \
                  limits (CVL/CCL/DCL) to a Victron GX or Pylontech-protocol inverter over CAN. \
                  A pack that is not heard contributes nothing."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Zero set-up: five simulated packs read through the real serial path and core, CAN frames
    /// as candump lines on stdout, a summary a second and scripted faults on stderr, and the
    /// status page.
    Demo {
        /// Where the status page listens (`off` for none).
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_listen)]
        listen: Listen,
    },
    /// The daemon: read every pack, send one battery's limits on CAN.
    Run {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Validate a configuration file and print the effective settings.
    CheckConfig {
        /// The TOML file.
        path: PathBuf,
    },
    /// Read one pack once and print what it says.
    Probe {
        /// Serial port of the BMS, e.g. /dev/serial/by-id/usb-FTDI_...-port0.
        #[arg(long)]
        port: PathBuf,
        /// Protocol the BMS speaks.
        #[arg(long, value_enum, default_value = "jk-nw")]
        protocol: ProtocolArg,
        /// jk-pb only: DIP-switch address of the BMS on the bus.
        #[arg(long)]
        address: Option<u8>,
        /// Print one JSON object instead of the human-readable report.
        #[arg(long)]
        json: bool,
        /// How long to wait for each answer.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
        timeout: Duration,
        /// How many times to ask before giving up.
        #[arg(long, default_value_t = 3)]
        tries: u32,
    },
    /// Simulate JK BMS packs on pseudo-terminals; prints one `NAME PATH` line per pack and runs
    /// until stopped.
    Sim {
        /// Number of packs.
        #[arg(long, default_value_t = 1)]
        packs: usize,
        /// Protocol the simulated BMS speak.
        #[arg(long, value_enum, default_value = "jk-nw")]
        protocol: ProtocolArg,
        /// Cells in series per pack.
        #[arg(long, default_value_t = 16)]
        cells: usize,
    },
    /// Decode CAN frames (candump / candump -L / cansend text) into the battery an inverter
    /// hears, e.g. `candump can1 | busbar decode --follow -` on the GX.
    Decode {
        /// candump output to read; "-" or nothing reads stdin.
        input: Option<PathBuf>,
        /// Print one JSON object (with --follow, one per line) instead of the report.
        #[arg(long)]
        json: bool,
        /// Print after every 0x351 (the limits) instead of once at the end of the input.
        #[arg(long)]
        follow: bool,
    },
}

/// `--protocol` values; the names are those of the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    #[value(name = "jk-nw")]
    JkNw,
    #[value(name = "jk-pb")]
    JkPb,
}

impl From<ProtocolArg> for Protocol {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::JkNw => Protocol::JkNw,
            ProtocolArg::JkPb => Protocol::JkPb,
        }
    }
}

/// `--listen`: an address, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    Off,
    At(std::net::SocketAddr),
}

fn parse_listen(s: &str) -> Result<Listen, String> {
    if s == "off" {
        return Ok(Listen::Off);
    }
    s.parse()
        .map(Listen::At)
        .map_err(|e| format!("{e}: expected ADDRESS:PORT (e.g. 127.0.0.1:8080) or off"))
}

//! `busbar probe`: read one pack once and show what it says, for wiring checks and bug reports.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::bus::{Bus, BusSettings, PackInfo};
use crate::config::Protocol;
use crate::jk02;
use crate::jk_nw::{self, NwReply};
use crate::pack::{PackJson, PackSnapshot};
use crate::reader::{read_jk_nw, ReadError};
use crate::serial::{LinkError, SerialLink};

/// What to probe.
#[derive(Clone, Debug)]
pub struct ProbeRequest {
    pub port: PathBuf,
    pub protocol: Protocol,
    pub address: Option<u8>,
    /// Per try.
    pub timeout: Duration,
    pub tries: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Open(LinkError),
    #[error(
        "no valid answer from {} after {tries} tries of {} ms each: {last}\n\
         hint: is the BMS awake (press its button or connect a load), is the cable's TX on the BMS's RX, \
         and is it the right --protocol?",
        port.display(),
        timeout.as_millis()
    )]
    Silent {
        port: PathBuf,
        tries: u32,
        timeout: Duration,
        last: ReadError,
    },
    #[error("jk-pb needs --address N: the DIP-switch address (1..=15) of the BMS on the bus")]
    NoAddress,
    #[error("address {0} cannot be polled: JK-PB addresses are 1..=15 (0 is the bus master)")]
    BadAddress(u8),
    #[error("--tries must be at least 1")]
    NoTries,
}

/// A successful probe.
#[derive(Debug)]
pub struct ProbeReport {
    pub port: PathBuf,
    pub protocol: Protocol,
    pub reply: Reply,
    /// Tries it took (1 = first).
    pub tries: u32,
    /// Frames rejected on the way (noise, checksum).
    pub bad_frames: u32,
}

/// What the pack said, per protocol.
#[derive(Debug)]
pub enum Reply {
    /// Boxed, both: a reply is a few hundred bytes and a probe makes one.
    JkNw(Box<NwReply>),
    JkPb(Box<PbReply>),
}

/// A JK-PB's cell info, with its settings and device info where they were read.
#[derive(Debug)]
pub struct PbReply {
    pub address: u8,
    pub pack: PackSnapshot,
    pub cell_info: jk02::CellInfo,
    pub settings: Option<jk02::Settings>,
    pub device: Option<jk02::DeviceInfo>,
}

impl Reply {
    pub fn pack(&self) -> &PackSnapshot {
        match self {
            Reply::JkNw(r) => &r.pack,
            Reply::JkPb(r) => &r.pack,
        }
    }
}

/// DESIGN.md "Pack JSON" plus what a probe adds.
#[derive(Debug, Serialize)]
pub struct ProbeJson<'a> {
    pub port: String,
    pub protocol: &'static str,
    #[serde(flatten)]
    pub pack: PackJson,
    #[serde(flatten)]
    pub extras: Extras<'a>,
    pub bad_frames: u32,
}

/// Protocol-specific fields of [`ProbeJson`].
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Extras<'a> {
    JkNw {
        settings: &'a jk_nw::NwSettings,
        protocol_version: Option<u8>,
    },
    JkPb {
        address: u8,
        cell_info: &'a jk02::CellInfo,
        bms_settings_frame: Option<&'a jk02::Settings>,
        device_info: Option<&'a jk02::DeviceInfo>,
    },
}

/// Ask the pack up to `tries` times; a missing port fails at once.
pub async fn probe(request: &ProbeRequest) -> Result<ProbeReport, ProbeError> {
    if request.tries == 0 {
        return Err(ProbeError::NoTries);
    }
    if request.protocol == Protocol::JkPb {
        return probe_jk_pb(request).await;
    }
    let mut link = SerialLink::new(&request.port);
    let mut decoder = jk_nw::Decoder::new();
    let mut bad_frames = 0;
    let mut last = None;
    for attempt in 1..=request.tries {
        match read_jk_nw(&mut link, &mut decoder, request.timeout).await {
            Ok(read) => {
                return Ok(ProbeReport {
                    port: request.port.clone(),
                    protocol: request.protocol,
                    reply: Reply::JkNw(Box::new(read.reply)),
                    tries: attempt,
                    bad_frames: bad_frames + read.bad_frames,
                })
            }
            Err(ReadError::Link {
                source: source @ LinkError::Open { .. },
                ..
            }) => return Err(ProbeError::Open(source)),
            Err(e) => {
                bad_frames += e.bad_frames();
                last = Some(e);
                if !link.is_open() {
                    // The adapter went away mid-probe; give it the backoff before retrying.
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }
    Err(ProbeError::Silent {
        port: request.port.clone(),
        tries: request.tries,
        timeout: request.timeout,
        // The loop ran at least once (tries >= 1 checked above) and only gets here on errors.
        last: last.expect("at least one failed try"),
    })
}

/// jk-pb: cell info from `--address`, then settings and device info (best effort: a probe
/// that got the cell info succeeds).
async fn probe_jk_pb(request: &ProbeRequest) -> Result<ProbeReport, ProbeError> {
    let address = request.address.ok_or(ProbeError::NoAddress)?;
    if !jk02::request::POLLABLE_ADDRESSES.contains(&address) {
        return Err(ProbeError::BadAddress(address));
    }
    let mut settings = BusSettings::new(Duration::from_secs(1));
    settings.reply_timeout = request.timeout;
    let mut bus = Bus::new(request.port.clone(), settings);
    let mut info = PackInfo::default();
    let mut last = None;
    for attempt in 1..=request.tries {
        // Due now: settings and device info are read right after the cell info.
        let mut due = tokio::time::Instant::now();
        let (_, outcome) = bus.visit(address, &mut info, &mut due).await;
        match outcome {
            Ok(pack) => {
                let cell_info = bus.last_cell_info().cloned().unwrap_or_default();
                return Ok(ProbeReport {
                    port: request.port.clone(),
                    protocol: request.protocol,
                    reply: Reply::JkPb(Box::new(PbReply {
                        address,
                        pack,
                        cell_info,
                        settings: info.settings,
                        device: info.device,
                    })),
                    tries: attempt,
                    bad_frames: 0,
                });
            }
            Err(ReadError::Link {
                source: source @ LinkError::Open { .. },
                ..
            }) => return Err(ProbeError::Open(source)),
            Err(e) => last = Some(e),
        }
    }
    Err(ProbeError::Silent {
        port: request.port.clone(),
        tries: request.tries,
        timeout: request.timeout,
        // tries >= 1 was checked by the caller and the loop only gets here on errors.
        last: last.expect("at least one failed try"),
    })
}

impl ProbeReport {
    pub fn json(&self) -> ProbeJson<'_> {
        let extras = match &self.reply {
            Reply::JkNw(r) => Extras::JkNw {
                settings: &r.settings,
                protocol_version: r.protocol_version,
            },
            Reply::JkPb(r) => Extras::JkPb {
                address: r.address,
                cell_info: &r.cell_info,
                bms_settings_frame: r.settings.as_ref(),
                device_info: r.device.as_ref(),
            },
        };
        ProbeJson {
            port: self.port.display().to_string(),
            protocol: self.protocol.as_str(),
            pack: self.reply.pack().to_json(),
            extras,
            bad_frames: self.bad_frames,
        }
    }

    /// A report for people, one topic per line.
    pub fn human(&self) -> String {
        let p = self.reply.pack();
        let j = p.to_json();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let mut line = |s: String| {
            let _ = writeln!(out, "{s}");
        };
        line(format!(
            "{} ({}), software {}, {} cells",
            self.port.display(),
            self.protocol,
            or_dash(&p.device.software_version),
            p.cell_voltages_mv.len()
        ));
        let direction = match p.current_ma {
            c if c > 0 => "charging",
            c if c < 0 => "discharging",
            _ => "idle",
        };
        line(format!(
            "  voltage       {:.2} V   current {:+.2} A ({direction})   power {:.0} W",
            j.voltage, j.current, j.power
        ));
        line(format!(
            "  SOC           {} %   capacity {:.0} Ah   cycles {}",
            p.soc_pct, p.capacity_ah, p.cycles
        ));
        if let (Some(min), Some(max)) = (j.cell_min, j.cell_max) {
            line(format!(
                "  cells         min {:.3} V (#{})   max {:.3} V (#{})   delta {:.0} mV",
                min.voltage,
                min.cell,
                max.voltage,
                max.cell,
                j.cell_delta * 1000.0
            ));
        }
        for (row, chunk) in j.cell_voltages.chunks(8).enumerate() {
            let cells: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:>2}: {v:.3}", row * 8 + i + 1))
                .collect();
            line(format!("                {}", cells.join("  ")));
        }
        let mut temps: Vec<String> = j
            .temperatures
            .iter()
            .enumerate()
            .map(|(i, t)| format!("T{} {t:.1} °C", i + 1))
            .collect();
        if let Some(t) = j.mos_temperature {
            temps.push(format!("MOS {t:.1} °C"));
        }
        line(format!("  temperatures  {}", temps.join("   ")));
        let on = |b: bool| if b { "on" } else { "OFF" };
        line(format!(
            "  MOSFETs       charge {}   discharge {}   balancing {}",
            on(p.charge_mosfet),
            on(p.discharge_mosfet),
            if p.balancing { "yes" } else { "no" }
        ));
        line(format!(
            "  alarms        {}",
            if j.alarms.is_empty() {
                "none".to_string()
            } else {
                j.alarms.join(", ")
            }
        ));
        if let Reply::JkPb(r) = &self.reply {
            line(format!("  address       {}", r.address));
            if let Some(d) = &r.device {
                line(format!(
                    "  device        {} hw {} sw {} serial {}",
                    or_dash(&d.model),
                    or_dash(&d.hardware_version),
                    or_dash(&d.software_version),
                    or_dash(&d.serial_number)
                ));
            }
            if let Some(s) = &r.settings {
                line(format!(
                    "  BMS settings  {} cells   {:.0} Ah   charge OCP {:.0} A   discharge OCP {:.0} A",
                    s.cells,
                    f64::from(s.design_capacity_mah) / 1000.0,
                    f64::from(s.max_charge_current_ma) / 1000.0,
                    f64::from(s.max_discharge_current_ma) / 1000.0
                ));
            }
        }
        if self.bad_frames > 0 || self.tries > 1 {
            line(format!(
                "  link          {} tries, {} bad frames skipped",
                self.tries, self.bad_frames
            ));
        }
        out
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

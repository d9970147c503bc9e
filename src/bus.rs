//! The JK-PB RS485 bus: one port, many BMS addresses, one request in flight
//! (`protocols/jk02.md` §2.2). A thin I/O adapter over [`SerialLink`] and the sans-IO
//! [`crate::jk02`] codec.
//!
//! Rules it keeps:
//! - **One request in flight**: a request is written only after the previous one was answered
//!   (frame + ACK) or timed out.
//! - **Bus silence**: at least [`MIN_GAP`] (120 ms, jk02.md §2.2) between the end of the last
//!   byte received, or the timeout, and the next request.
//! - **A silent address costs one timeout** per sweep and never stalls the others: each visit
//!   starts with the cell-info request; only when that is answered are the rarer settings and
//!   device-info requests sent.
//! - **Attribution**: the frame carries no address (jk02.md §2.1), so a frame counts as the
//!   answer of the address asked only when that address's ACK for the same register follows
//!   it. A late frame of another address (followed by its own ACK) is dropped.
//! - Settings (0x161E) and device info (0x161C) are read at a pack's first answer and then every
//!   [`BusSettings::info_every`]; cell info (0x1620) every poll.
//!
//! Every visit becomes a [`Reading`] in the channel the jk-nw readers use, so the daemon treats
//! both protocols alike. The reader never judges plausibility (the core does).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::jk02::{
    self, CellInfo, DeviceInfo, Event, Frame, Layout, Message, Register, ScanError, Scanner,
    Settings, FRAME_LEN,
};
use crate::pack::{BmsSettings, PackSnapshot};
use crate::reader::{ReadError, Reading};
use crate::serial::SerialLink;

/// Bus silence between requests (jk02.md §2.2: SB-PB enforces ≥ 120 ms).
pub const MIN_GAP: Duration = Duration::from_millis(120);

/// Added to [`MIN_GAP`]: the adapter's trailing pad byte after the ACK (jk02.md §2.2 [!]) ends
/// 87 µs after it, and the timer may wake a little early on some platforms.
pub const GAP_MARGIN: Duration = Duration::from_millis(1);

/// How long an address may take to answer. A 300-byte frame plus ACK is 28 ms at 115200 baud;
/// a JK-PB starts answering within a few ms, USB adapters add some. A silent address costs
/// this once per sweep.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(250);

/// One sweep's cost per answering address, for sizing `offline_after`: request, frame and ACK on
/// the wire (28 ms) plus [`MIN_GAP`], rounded up.
pub const PER_ADDRESS: Duration = Duration::from_millis(150);

/// How often settings and device info are read again after the first time.
pub const INFO_EVERY: Duration = Duration::from_secs(300);

/// After a failed settings or device-info read: try again this much later.
pub const INFO_RETRY: Duration = Duration::from_secs(30);

/// One pack on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusMember {
    /// Index of the pack in the configuration.
    pub pack: usize,
    /// DIP-switch address, 1..=15.
    pub address: u8,
}

/// How a bus is polled.
#[derive(Clone, Debug)]
pub struct BusSettings {
    /// Per pack: a sweep over every address starts at most this often.
    pub poll_interval: Duration,
    pub reply_timeout: Duration,
    pub gap: Duration,
    pub info_every: Duration,
}

impl BusSettings {
    pub fn new(poll_interval: Duration) -> Self {
        Self {
            poll_interval,
            reply_timeout: REPLY_TIMEOUT,
            gap: MIN_GAP,
            info_every: INFO_EVERY,
        }
    }
}

/// A full frame, copied out of the scanner.
pub type FrameBytes = [u8; FRAME_LEN];

/// One answered request.
#[derive(Debug)]
pub struct BusRead {
    pub frame: FrameBytes,
    /// Frames rejected (checksum) or not ours (wrong type, another address's ACK) on the way.
    pub bad_frames: u32,
}

/// Ask `address` for `register` and wait up to `timeout` for its frame followed by its ACK.
pub async fn read_jk_pb(
    link: &mut SerialLink,
    scanner: &mut Scanner,
    address: u8,
    register: Register,
    timeout: Duration,
) -> Result<BusRead, ReadError> {
    // Bytes from an earlier, timed-out exchange belong to no request of ours.
    scanner.reset();
    let mut bad_frames = 0u32;
    let mut last_bad: Option<String> = None;
    let mut candidate: Option<FrameBytes> = None;
    let wanted = register.answer() as u8;
    let request = jk02::request(address, register);
    let result = link
        .exchange(&request, timeout, |chunk| {
            let mut rest = chunk;
            while !rest.is_empty() {
                let taken = scanner.push(rest);
                rest = &rest[taken..];
                while let Some(event) = scanner.next_event() {
                    match event {
                        Ok(Event::Frame(frame)) if frame.type_byte() == wanted => {
                            if candidate.is_some() {
                                bad_frames += 1;
                                last_bad = Some("a second frame before the ACK".into());
                            }
                            candidate = Some(*frame.bytes());
                        }
                        Ok(Event::Frame(frame)) => {
                            bad_frames += 1;
                            last_bad = Some(format!(
                                "frame type {:#04x}, asked for {wanted:#04x}",
                                frame.type_byte()
                            ));
                        }
                        Ok(Event::Message(Message::Ack {
                            address: a,
                            register: r,
                        })) => {
                            if a == address && r == register {
                                if let Some(frame) = candidate.take() {
                                    return Some(frame);
                                }
                            } else if candidate.take().is_some() {
                                // That frame was another address's (late) answer.
                                bad_frames += 1;
                                last_bad = Some(format!("a frame acknowledged by address {a}"));
                            }
                        }
                        // Our own request echoed by the adapter, or padding.
                        Ok(Event::Message(Message::Request { .. }))
                        | Err(ScanError::GarbageSkipped(_)) => {}
                        Err(why @ ScanError::BadFrame(_)) => {
                            bad_frames += 1;
                            last_bad = Some(why.to_string());
                        }
                    }
                }
            }
            None
        })
        .await;
    match result {
        Ok(frame) => Ok(BusRead { frame, bad_frames }),
        Err(source) => {
            // A frame of the asked type without the asked address's ACK after it: not trusted.
            if candidate.is_some() {
                bad_frames += 1;
                last_bad = Some(format!("a frame came but no ACK from address {address}"));
            }
            Err(ReadError::Link {
                source,
                bad_frames,
                last_bad,
            })
        }
    }
}

/// What one address said at its last settings/device-info read.
#[derive(Clone, Debug, Default)]
pub struct PackInfo {
    pub settings: Option<Settings>,
    pub device: Option<DeviceInfo>,
}

impl PackInfo {
    /// Fill the snapshot's identity and BMS settings.
    pub fn apply(&self, p: &mut PackSnapshot) {
        if let Some(d) = &self.device {
            p.device = d.to_pack_device();
        }
        if let Some(s) = &self.settings {
            p.bms_settings = Some(BmsSettings {
                cells: s.cells,
                capacity_mah: s.design_capacity_mah,
                max_charge_current_ma: s.max_charge_current_ma,
                max_discharge_current_ma: s.max_discharge_current_ma,
            });
        }
    }
}

/// The bus: one link, one scanner, the time the bus last went quiet.
pub struct Bus {
    link: SerialLink,
    scanner: Scanner,
    settings: BusSettings,
    quiet_since: Option<Instant>,
    last_cell_info: Option<CellInfo>,
    /// Frames rejected since [`Bus::take_bad_frames`] was last called (for monitoring).
    bad_frames: u32,
}

impl Bus {
    pub fn new(port: PathBuf, settings: BusSettings) -> Self {
        Self {
            link: SerialLink::new(port),
            scanner: Scanner::new(),
            settings,
            quiet_since: None,
            last_cell_info: None,
            bad_frames: 0,
        }
    }

    /// Frames rejected (checksum, length, another address's ACK...) since the last call, in
    /// successful and failed requests alike.
    pub fn take_bad_frames(&mut self) -> u32 {
        std::mem::take(&mut self.bad_frames)
    }

    /// Every field of the last cell-info frame a visit decoded (for `probe`).
    pub fn last_cell_info(&self) -> Option<&CellInfo> {
        self.last_cell_info.as_ref()
    }

    /// One request with the bus-silence rule around it.
    pub async fn ask(&mut self, address: u8, register: Register) -> Result<BusRead, ReadError> {
        if let Some(quiet) = self.quiet_since {
            tokio::time::sleep_until(quiet + self.settings.gap + GAP_MARGIN).await;
        }
        let result = read_jk_pb(
            &mut self.link,
            &mut self.scanner,
            address,
            register,
            self.settings.reply_timeout,
        )
        .await;
        // Answered: the ACK was the last byte. Timed out: nothing came for the whole timeout.
        self.quiet_since = Some(Instant::now());
        let bad = match &result {
            Ok(read) => read.bad_frames,
            Err(e) => e.bad_frames(),
        };
        self.bad_frames = self.bad_frames.saturating_add(bad);
        result
    }

    /// Read cell info of `address` (and, when `info` is due, settings and device info).
    /// Returns the snapshot and when its frame came.
    pub async fn visit(
        &mut self,
        address: u8,
        info: &mut PackInfo,
        info_due: &mut Instant,
    ) -> (Instant, Result<PackSnapshot, ReadError>) {
        let cell = match self.ask(address, Register::CellInfo).await {
            Ok(read) => read,
            Err(e) => return (Instant::now(), Err(e)),
        };
        let at = Instant::now();
        if at >= *info_due {
            let settings = self.ask(address, Register::Settings).await;
            if let Ok(read) = &settings {
                if let Ok(frame) = Frame::parse(&read.frame) {
                    info.settings = Settings::decode(&frame).ok();
                }
            }
            let device = self.ask(address, Register::DeviceInfo).await;
            if let Ok(read) = &device {
                if let Ok(frame) = Frame::parse(&read.frame) {
                    info.device = DeviceInfo::decode(&frame).ok();
                }
            }
            *info_due = Instant::now()
                + if settings.is_ok() && device.is_ok() {
                    self.settings.info_every
                } else {
                    // Retried soon, but not every sweep: a BMS that answers cell info and not
                    // these would otherwise cost the bus two timeouts per sweep.
                    self.settings.info_every.min(INFO_RETRY)
                };
        }
        // The scanner verified this frame and its type: parsing again cannot fail, and a JK-PB
        // always sends the 32S layout (jk02.md §2.1).
        let decoded = Frame::parse(&cell.frame)
            .ok()
            .and_then(|f| CellInfo::decode(&f, Some(Layout::Jk02_32S)).ok());
        let snapshot = decoded.as_ref().map(|c| {
            let mut p = c.to_snapshot();
            info.apply(&mut p);
            p
        });
        self.last_cell_info = decoded;
        match snapshot {
            Some(p) => (at, Ok(p)),
            // Unreachable in practice; reported as a timeout with the reason rather than a panic.
            None => (
                at,
                Err(ReadError::Link {
                    source: crate::serial::LinkError::Timeout {
                        path: self.link.path().to_path_buf(),
                        waited: Duration::ZERO,
                        received: FRAME_LEN,
                    },
                    bad_frames: 1,
                    last_bad: Some("cell-info frame did not decode".into()),
                }),
            ),
        }
    }
}

/// Poll every member of one bus forever, round robin, sending every outcome to `readings`.
/// Ends when the receiver is gone.
pub fn spawn_jk_pb_bus(
    port: PathBuf,
    members: Vec<BusMember>,
    settings: BusSettings,
    readings: mpsc::Sender<Reading>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let interval = settings.poll_interval;
        let mut bus = Bus::new(port, settings);
        let start = Instant::now();
        let mut infos: Vec<(PackInfo, Instant)> = members
            .iter()
            .map(|_| (PackInfo::default(), start))
            .collect();
        let mut ticks = tokio::time::interval(interval);
        // A sweep longer than the interval starts the next one at once, never in a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for (member, (info, due)) in members.iter().zip(infos.iter_mut()) {
                let (at, outcome) = bus.visit(member.address, info, due).await;
                let reading = Reading {
                    pack: member.pack,
                    at,
                    outcome,
                    bad_frames: bus.take_bad_frames(),
                };
                if readings.send(reading).await.is_err() {
                    return;
                }
            }
        }
    })
}

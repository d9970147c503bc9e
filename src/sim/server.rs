//! Simulated BMS on pseudo-terminals: each pack gets a pty whose far end behaves like a JK BMS
//! behind a USB-serial adapter. It answers the real requests with frames built by the real codec,
//! so everything that reads it goes through the same path as with hardware.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_serial::SerialStream;

use super::model::{Faults, SimPack};
use crate::config::Protocol;
use crate::jk02;
use crate::jk_nw;

/// What a simulator needs to be told while it runs.
pub type SharedFaults = Arc<Mutex<Faults>>;

/// A running simulated pack.
pub struct SimulatedPack {
    pub name: String,
    /// The path a reader opens, e.g. `/dev/pts/7`.
    pub path: PathBuf,
    /// Switch faults on and off while it runs.
    pub faults: SharedFaults,
    /// The replies it wrote most recently, with when and under which faults.
    pub replies: ReplyLog,
    pub task: JoinHandle<()>,
}

impl SimulatedPack {
    /// Unplug: stop answering and close both ends of the pty, and return only once they are
    /// closed (dropping the pack closes them too, but a moment later, on the runtime).
    pub async fn stop(mut self) {
        self.task.abort();
        // Resolves after the task's future, which owns the pty, has been dropped.
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimulatedPack {
    fn drop(&mut self) {
        // Closing the pty is what a vanished adapter looks like to a reader.
        self.task.abort();
    }
}

/// One reply the simulator wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyRecord {
    /// When the write of its last byte returned.
    pub written_at: std::time::Instant,
    /// The faults it was built under (a silent pack writes nothing, so never `silent`).
    pub faults: Faults,
}

/// The last [`ReplyLog::CAPACITY`] replies of one simulated pack, oldest first: lets a test or a
/// benchmark tell when a reply carrying a fault went out. Bounded, so a simulator may run for
/// months.
#[derive(Clone, Debug, Default)]
pub struct ReplyLog(Arc<Mutex<VecDeque<ReplyRecord>>>);

impl ReplyLog {
    /// Replies kept; older ones are forgotten.
    pub const CAPACITY: usize = 256;

    fn push(&self, record: ReplyRecord) {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() == Self::CAPACITY {
            log.pop_front();
        }
        log.push_back(record);
    }

    /// The replies written at or after `since`, oldest first.
    pub fn since(&self, since: std::time::Instant) -> Vec<ReplyRecord> {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter()
            .filter(|r| r.written_at >= since)
            .cloned()
            .collect()
    }

    /// The newest reply, if any.
    pub fn last(&self) -> Option<ReplyRecord> {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.back().cloned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot create a pseudo-terminal: {0}")]
    Pty(#[from] tokio_serial::Error),
    #[error("a JK-PB bus has addresses 1..=15; {got} packs asked")]
    TooManyAddresses { got: usize },
    #[error("at most {max} cells per pack, {got} asked", max = crate::pack::MAX_CELLS)]
    TooManyCells { got: usize },
    #[error("waiting for a stop signal: {0}")]
    Signal(#[source] io::Error),
}

/// Start pack number `index` (0-based) speaking jk-nw on a new pty. `start` is the simulator's
/// time zero, shared by all packs so they drift together.
pub fn spawn_jk_nw(index: usize, cells: usize, start: Instant) -> Result<SimulatedPack, SimError> {
    if cells > crate::pack::MAX_CELLS {
        return Err(SimError::TooManyCells { got: cells });
    }
    let (master, slave) = SerialStream::pair()?;
    let path = PathBuf::from(slave_name(&slave)?);
    let faults = SharedFaults::default();
    let replies = ReplyLog::default();
    let model = SimPack::new(index, cells);
    let task = tokio::spawn(serve_jk_nw(
        master,
        slave,
        model,
        faults.clone(),
        replies.clone(),
        start,
    ));
    Ok(SimulatedPack {
        name: format!("pack{}", index + 1),
        path,
        faults,
        replies,
        task,
    })
}

fn slave_name(slave: &SerialStream) -> Result<String, SimError> {
    use tokio_serial::SerialPort;
    slave.name().ok_or_else(|| {
        SimError::Pty(tokio_serial::Error::new(
            tokio_serial::ErrorKind::Unknown,
            "pty has no name",
        ))
    })
}

/// Answer every read-all request on `master` until the task is dropped. `slave` is held open so
/// the pty survives readers closing and reopening it.
async fn serve_jk_nw(
    mut master: SerialStream,
    _slave: SerialStream,
    model: SimPack,
    faults: SharedFaults,
    replies: ReplyLog,
    start: Instant,
) {
    let mut decoder = jk_nw::Decoder::new();
    let mut buf = [0u8; 256];
    let mut reply = Vec::with_capacity(512);
    loop {
        let n = match master.read(&mut buf).await {
            Ok(0) | Err(_) => {
                // No reader attached (EIO on some kernels): wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Ok(n) => n,
        };
        let mut requests = Vec::new();
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let taken = decoder.push(rest);
            rest = &rest[taken..];
            while let Some(frame) = decoder.next_frame() {
                // Anything that is not a valid read-all request goes unanswered, as on a BMS.
                if let Some(request) = frame.ok().and_then(|f| jk_nw::parse_request(&f).ok()) {
                    requests.push(request);
                }
            }
        }
        for request in requests {
            let faults = faults
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if faults.silent {
                continue;
            }
            reply.clear();
            if faults.garbage {
                // Noise as seen on long RS485/TTL cables, including a false start byte.
                reply.extend_from_slice(&[0x00, 0xFF, 0x4E, 0x13, 0x57, 0x68]);
            }
            let snapshot = model.snapshot(start.elapsed(), &faults);
            jk_nw::NwReply::lfp16(snapshot)
                .encode_with_command(request.reply_command(), &mut reply);
            if faults.bad_checksum {
                if let Some(last) = reply.last_mut() {
                    *last ^= 0x5A;
                }
            }
            if master.write_all(&reply).await.is_err() {
                break;
            }
            replies.push(ReplyRecord {
                written_at: std::time::Instant::now(),
                faults,
            });
        }
    }
}

/// One address on a simulated JK-PB bus.
pub struct BusPack {
    pub name: String,
    pub address: u8,
    pub faults: SharedFaults,
    pub replies: ReplyLog,
}

/// A simulated JK-PB RS485 bus: several addresses behind one pty.
pub struct SimulatedBus {
    /// The path a reader opens.
    pub path: PathBuf,
    /// Addresses 1..=N, in order.
    pub packs: Vec<BusPack>,
    pub task: JoinHandle<()>,
}

impl SimulatedBus {
    /// Unplug the whole bus (see [`SimulatedPack::stop`]).
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimulatedBus {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the simulated bus behaves on the wire.
#[derive(Clone, Copy, Debug)]
pub struct BusTiming {
    /// One byte at 115200 baud 8N1: 10 bits = 86.8 µs. The reply is paced at this rate
    /// (a pty has no baud rate of its own).
    pub byte_time: Duration,
    /// From the end of the request to the first byte of the reply.
    pub latency: Duration,
}

impl Default for BusTiming {
    fn default() -> Self {
        Self {
            byte_time: Duration::from_nanos(
                1_000_000_000 * 10 / crate::serial::JK_BAUD_RATE as u64,
            ),
            latency: Duration::from_millis(5),
        }
    }
}

/// Bytes the simulated bus sends around each frame: the factory adapter's 0x00 between frame and
/// ACK and after the ACK (jk02.md §2.2 [!]).
pub const BUS_PADDING: usize = 2;

/// Start `packs` JK-PB packs at addresses 1..=packs on one new pty, paced at 115200 baud.
pub fn spawn_jk_pb(
    packs: usize,
    cells: usize,
    start: Instant,
    timing: BusTiming,
) -> Result<SimulatedBus, SimError> {
    if cells > crate::pack::MAX_CELLS {
        return Err(SimError::TooManyCells { got: cells });
    }
    if packs > usize::from(*jk02::request::POLLABLE_ADDRESSES.end()) {
        return Err(SimError::TooManyAddresses { got: packs });
    }
    let (master, slave) = SerialStream::pair()?;
    let path = PathBuf::from(slave_name(&slave)?);
    let members: Vec<BusPack> = (0..packs)
        .map(|index| BusPack {
            name: format!("pack{}", index + 1),
            address: index as u8 + 1,
            faults: SharedFaults::default(),
            replies: ReplyLog::default(),
        })
        .collect();
    let served = members
        .iter()
        .enumerate()
        .map(|(index, m)| ServedAddress {
            address: m.address,
            model: SimPack::new(index, cells),
            faults: m.faults.clone(),
            replies: m.replies.clone(),
        })
        .collect();
    let task = tokio::spawn(serve_jk_pb(master, slave, served, timing, start));
    Ok(SimulatedBus {
        path,
        packs: members,
        task,
    })
}

struct ServedAddress {
    address: u8,
    model: SimPack,
    faults: SharedFaults,
    replies: ReplyLog,
}

/// The reply of one address to one trigger: frame, 0x00, ACK, 0x00 (plus faults).
fn jk_pb_reply(
    served: &ServedAddress,
    register: jk02::Register,
    faults: &Faults,
    elapsed: Duration,
    counter: u8,
    out: &mut Vec<u8>,
) {
    if faults.garbage {
        // Line noise, including a false frame header and a false Modbus start.
        out.extend_from_slice(&[0x00, 0xFF, 0x55, 0xAA, 0xEB, 0x90, 0x02, 0x01, 0x10, 0x13]);
    }
    let snapshot = served.model.snapshot(elapsed, faults);
    let mut frame = match register {
        jk02::Register::CellInfo => {
            jk02::CellInfo::from_snapshot(&snapshot, jk02::Layout::Jk02_32S, counter).encode()
        }
        jk02::Register::Settings => jk02::Settings::lfp16(
            (served.model.capacity_ah * 1000.0).round() as u32,
            served.address,
        )
        .encode(counter),
        jk02::Register::DeviceInfo => jk02::DeviceInfo {
            model: snapshot_text("JK_PB2A16S20P"),
            hardware_version: snapshot_text("15A"),
            software_version: snapshot_text("15.38"),
            uptime_s: elapsed.as_secs() as u32,
            power_on_count: 1,
            name: snapshot_text(&format!("busbar sim {}", served.address)),
            manufacture_date: snapshot_text("260101"),
            serial_number: snapshot_text(&format!("BUSBAR{:02}", served.address)),
        }
        .encode(counter),
    };
    if faults.bad_checksum {
        frame[jk02::frame::CHECKSUM_OFFSET] ^= 0x5A;
    }
    out.extend_from_slice(&frame);
    out.push(0x00);
    out.extend_from_slice(&jk02::ack(served.address, register));
    out.push(0x00);
}

fn snapshot_text(s: &str) -> crate::pack::ShortText {
    let mut t = crate::pack::ShortText::new();
    for c in s.chars() {
        if t.push(c).is_err() {
            break;
        }
    }
    t
}

/// Write `bytes` as a UART at `byte_time` per byte would deliver them: each chunk once its last
/// byte would have left the wire.
async fn write_paced(
    master: &mut SerialStream,
    bytes: &[u8],
    byte_time: Duration,
) -> io::Result<()> {
    const CHUNK: usize = 32;
    let begin = Instant::now();
    let mut sent = 0u32;
    for chunk in bytes.chunks(CHUNK) {
        sent += chunk.len() as u32;
        tokio::time::sleep_until(begin + byte_time * sent).await;
        master.write_all(chunk).await?;
    }
    Ok(())
}

/// Answer every trigger addressed to one of `served` until the task is dropped; requests to
/// other addresses go unanswered, as on a real bus.
async fn serve_jk_pb(
    mut master: SerialStream,
    _slave: SerialStream,
    served: Vec<ServedAddress>,
    timing: BusTiming,
    start: Instant,
) {
    let mut scanner = jk02::Scanner::new();
    let mut buf = [0u8; 256];
    let mut reply = Vec::with_capacity(512);
    let mut counter = 0u8;
    loop {
        let n = match master.read(&mut buf).await {
            Ok(0) | Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Ok(n) => n,
        };
        let mut requests = Vec::new();
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let taken = scanner.push(rest);
            rest = &rest[taken..];
            while let Some(event) = scanner.next_event() {
                if let Ok(jk02::Event::Message(jk02::Message::Request { address, register })) =
                    event
                {
                    requests.push((address, register));
                }
            }
        }
        for (address, register) in requests {
            let Some(target) = served.iter().find(|s| s.address == address) else {
                continue;
            };
            let faults = target
                .faults
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if faults.silent {
                continue;
            }
            tokio::time::sleep(timing.latency).await;
            reply.clear();
            counter = counter.wrapping_add(1);
            jk_pb_reply(
                target,
                register,
                &faults,
                start.elapsed(),
                counter,
                &mut reply,
            );
            if write_paced(&mut master, &reply, timing.byte_time)
                .await
                .is_err()
            {
                break;
            }
            target.replies.push(ReplyRecord {
                written_at: std::time::Instant::now(),
                faults,
            });
        }
    }
}

/// `busbar sim`: start the packs, print `NAME PATH` per pack, run until SIGINT/SIGTERM.
pub async fn run_until_stopped(
    packs: usize,
    protocol: Protocol,
    cells: usize,
) -> Result<(), SimError> {
    let start = Instant::now();
    let mut running = Vec::with_capacity(packs);
    let mut bus = None;
    match protocol {
        Protocol::JkNw => {
            for index in 0..packs {
                let pack = spawn_jk_nw(index, cells, start)?;
                println!("{} {}", pack.name, pack.path.display());
                running.push(pack);
            }
        }
        Protocol::JkPb => {
            // One bus: every pack on the same pty, each at its own address.
            let sim = spawn_jk_pb(packs, cells, start, BusTiming::default())?;
            for pack in &sim.packs {
                println!(
                    "{} {} address={}",
                    pack.name,
                    sim.path.display(),
                    pack.address
                );
            }
            bus = Some(sim);
        }
    }
    // Tests and scripts read the paths as soon as they appear.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tracing::info!(packs, %protocol, cells, "simulated packs ready; stop with Ctrl-C");
    crate::shutdown::stop_signal()
        .map_err(SimError::Signal)?
        .await;
    drop(bus);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::read_jk_nw;
    use crate::serial::{Backoff, LinkError, SerialLink};

    const TIMEOUT: Duration = Duration::from_millis(500);

    #[tokio::test]
    async fn each_reply_is_logged_with_its_faults_after_it_is_written() {
        let pack = spawn_jk_nw(0, 16, Instant::now()).unwrap();
        let mut link = SerialLink::new(&pack.path);
        let mut decoder = jk_nw::Decoder::new();
        let before = std::time::Instant::now();
        read_jk_nw(&mut link, &mut decoder, TIMEOUT).await.unwrap();
        pack.faults.lock().unwrap().charge_mosfet_off = true;
        let read = read_jk_nw(&mut link, &mut decoder, TIMEOUT).await.unwrap();
        let got = std::time::Instant::now();
        assert!(!read.reply.pack.charge_mosfet);
        let log = pack.replies.since(before);
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(!log[0].faults.charge_mosfet_off);
        assert!(log[1].faults.charge_mosfet_off);
        // Stamped once written, so before the reader had it.
        assert!(log[0].written_at <= log[1].written_at && log[1].written_at <= got);
        assert_eq!(pack.replies.last(), Some(log[1].clone()));
        // A silent pack writes nothing, so logs nothing.
        pack.faults.lock().unwrap().silent = true;
        let _ = read_jk_nw(&mut link, &mut decoder, Duration::from_millis(100)).await;
        assert_eq!(pack.replies.since(before).len(), 2);
    }

    #[test]
    fn the_log_keeps_only_the_newest_replies() {
        let log = ReplyLog::default();
        let t0 = std::time::Instant::now();
        for i in 0..ReplyLog::CAPACITY + 3 {
            log.push(ReplyRecord {
                written_at: t0 + Duration::from_millis(i as u64),
                faults: Faults::default(),
            });
        }
        let all = log.since(t0);
        assert_eq!(all.len(), ReplyLog::CAPACITY);
        assert_eq!(all[0].written_at, t0 + Duration::from_millis(3));
        assert_eq!(log.since(t0 + Duration::from_secs(60)), vec![]);
    }

    #[tokio::test]
    async fn stop_closes_the_pty_before_it_returns() {
        let pack = spawn_jk_nw(0, 16, Instant::now()).unwrap();
        let path = pack.path.clone();
        let mut link =
            SerialLink::new(&path).with_backoff(Backoff::new(Duration::ZERO, Duration::ZERO));
        let mut decoder = jk_nw::Decoder::new();
        read_jk_nw(&mut link, &mut decoder, TIMEOUT).await.unwrap();
        pack.stop().await;
        // The reader's open port is hung up at once (not a timeout: nobody is left to answer).
        let err = read_jk_nw(&mut link, &mut decoder, Duration::from_secs(5))
            .await
            .unwrap_err();
        let crate::reader::ReadError::Link { source, .. } = &err;
        assert!(
            matches!(source, LinkError::Gone { .. } | LinkError::Io { .. }),
            "{err}"
        );
        // And the port cannot be opened again: the adapter is gone.
        let err = read_jk_nw(&mut link, &mut decoder, TIMEOUT)
            .await
            .unwrap_err();
        let crate::reader::ReadError::Link { source, .. } = &err;
        assert!(matches!(source, LinkError::Open { .. }), "{err}");
    }
}

//! End-to-end harness: simulated JK-NW packs in this process (so a test can flip their faults,
//! unplug and replug them), the real `busbar run` as a child process writing `candump -L` lines
//! to stdout, and every line decoded through `dbc/busbar.dbc`.
//!
//! - **Packs** run on a current-thread tokio runtime of their own thread; the test thread only
//!   touches their `Faults` (a mutex) and their reply logs.
//! - **Stable paths**: the config names `DIR/packN`, a symlink to the pack's pty, as
//!   `/dev/serial/by-id/…` names an adapter. [`Harness::unplug`] stops the simulated pack (its pty
//!   is gone when it returns) and removes the link; [`Harness::replug`] starts a new one on a new
//!   pty and points the link at it atomically (a new link renamed over the old name).
//! - **Frames**: a reader thread stamps each stdout line with the `Instant` it was read and sends
//!   it over a channel. The waiting helpers pull from that channel until a frame satisfies a
//!   predicate or a deadline passes: no test sleeps for a fixed time. The candump timestamp (the
//!   daemon's wall clock when it wrote the line) is kept too, for rates measured on the daemon's
//!   side of the pipe.
//! - Drop kills the child and stops the packs; busbar's stderr goes to `DIR/busbar.log`, quoted
//!   in every failure message.
#![allow(dead_code)] // each test crate uses a different part

#[path = "../dbc_support/mod.rs"]
pub mod dbc;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use busbar::can::candump_line::{parse_line, DumpLine};
use busbar::can::CanFrame;
use busbar::sim::server::{spawn_jk_nw, ReplyRecord, SimulatedPack};
use busbar::sim::Faults;

/// Cells per simulated pack (the seed set-up: 16S LiFePO4).
pub const CELLS: usize = 16;
/// Each pack's base limits (the seed set-up).
pub const PACK_CHARGE_A: f64 = 60.0;
pub const PACK_DISCHARGE_A: f64 = 70.0;
/// CVL and DVL of 16 cells at 3.45 V / 2.90 V.
pub const CVL_V: f64 = 55.2;
pub const DVL_V: f64 = 46.4;
/// `[control] ramp_rate` default: CCL/DCL rise at most this fast.
pub const RAMP_A_PER_S: f64 = 10.0;
/// The daemon ticks its core at least this often (`src/daemon/mod.rs`).
pub const DAEMON_TICK: Duration = Duration::from_millis(100);

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub packs: usize,
    pub poll_interval: Duration,
    pub offline_after: Duration,
    pub can_interval: Duration,
    /// `[battery]` system caps, A.
    pub max_charge_current: f64,
    pub max_discharge_current: f64,
    /// `[control] ramp_rate`; `None` leaves the default (10 A/s).
    pub ramp_rate: Option<f64>,
    /// Extra environment for the daemon.
    pub env: Vec<(String, String)>,
    /// Run the daemon through `sh -c SCRIPT busbar CONFIG` (so `"$0"` is the binary and `"$1"`
    /// the config), e.g. to set a variable to the shell's own pid before `exec`.
    pub shell: Option<String>,
    /// `BUSBAR_LOG` for the daemon.
    pub log_filter: String,
    /// TOML appended to the generated config (e.g. `[http]`, `[mqtt]` tables).
    pub extra_config: String,
    /// The busbar binary; the one cargo built for this test or bench unless set.
    pub binary: PathBuf,
}

impl Options {
    /// `packs` seed-like packs (16S, 60 A / 70 A, caps 300 / 350 A), polled every 250 ms, offline
    /// after 2 s, full frame set every 1 s.
    ///
    /// Why these timings: 250 ms polling leaves eight polls inside `offline_after`, so a loaded
    /// CI runner that loses a poll or two never flaps a pack offline, and a 2 s `offline_after`
    /// keeps the scenarios that wait for a pack to go offline short. The CAN cadence stays at
    /// the 1 s a GX expects, so the "how fast do frames change" bounds are the real ones.
    pub fn packs(packs: usize) -> Self {
        Self {
            packs,
            poll_interval: Duration::from_millis(250),
            offline_after: Duration::from_secs(2),
            can_interval: Duration::from_secs(1),
            max_charge_current: 300.0,
            max_discharge_current: 350.0,
            ramp_rate: None,
            env: Vec::new(),
            shell: None,
            log_filter: "info".into(),
            extra_config: String::new(),
            binary: PathBuf::from(env!("CARGO_BIN_EXE_busbar")),
        }
    }
}

/// One candump line from the daemon.
#[derive(Clone, Copy, Debug)]
pub struct Rx {
    /// When the reader thread read the line.
    pub at: Instant,
    /// The line's candump timestamp: the daemon's wall clock when it wrote the frame.
    pub wall: SystemTime,
    pub frame: CanFrame,
}

/// 0x351 through the DBC.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub cvl: f64,
    pub ccl: f64,
    pub dcl: f64,
    pub dvl: f64,
}

impl Limits {
    /// CCL and DCL equal `ccl` / `dcl` to the frame's 0.1 A resolution.
    pub fn currents_are(&self, ccl: f64, dcl: f64) -> bool {
        close(self.ccl, ccl) && close(self.dcl, dcl)
    }
}

/// 0x372 through the DBC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modules {
    pub online: u32,
    pub blocking_charge: u32,
    pub blocking_discharge: u32,
    pub offline: u32,
}

/// Equal to 0.1 A / 0.1 V, the resolution of 0x351.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.05
}

/// Seconds, for messages.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The packs' event loop: a current-thread runtime driven by a thread of its own.
struct SimRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SimRuntime {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("simulated-packs".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // Dropping the runtime drops every pack's task, closing its pty.
                drop(runtime);
            })
            .unwrap();
        Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for SimRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A directory of our own under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "busbar-e2e-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Simulated packs + `busbar run` + its decoded output.
pub struct Harness {
    pub options: Options,
    // Field order is drop order: the child first (so it stops reading), then the packs, their
    // runtime, and last the directory.
    child: Child,
    reader: Option<JoinHandle<()>>,
    rx: Receiver<Rx>,
    /// Every frame pulled from the channel so far, in arrival order.
    history: Vec<Rx>,
    /// The reader thread saw end of file: the daemon closed its stdout.
    eof: bool,
    other_lines: Arc<AtomicUsize>,
    dbc: can_dbc::Dbc,
    packs: Vec<Option<SimulatedPack>>,
    sim_start: tokio::time::Instant,
    runtime: SimRuntime,
    /// When the child was spawned.
    pub spawned_at: Instant,
    pub config_path: PathBuf,
    dir: TempDir,
}

impl Harness {
    /// Start `options.packs` simulated packs, write the config and spawn the daemon.
    pub fn start(options: Options) -> Self {
        let dir = TempDir::new();
        let runtime = SimRuntime::start();
        let sim_start = {
            let _entered = runtime.handle.enter();
            tokio::time::Instant::now()
        };
        let mut packs = Vec::with_capacity(options.packs);
        for index in 0..options.packs {
            let pack = {
                let _entered = runtime.handle.enter();
                spawn_jk_nw(index, CELLS, sim_start).unwrap()
            };
            point_link(&dir.0, index, &pack.path);
            packs.push(Some(pack));
        }
        let config_path = dir.0.join("busbar.toml");
        std::fs::write(&config_path, config_text(&options, &dir.0)).unwrap();
        let log = std::fs::File::create(dir.0.join("busbar.log")).unwrap();

        let mut command = match &options.shell {
            Some(script) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(script)
                    .arg(&options.binary)
                    .arg(&config_path);
                c
            }
            None => {
                let mut c = Command::new(&options.binary);
                c.arg("run").arg("--config").arg(&config_path);
                c
            }
        };
        // SAFETY: `keep_our_fds_out` only makes async-signal-safe system calls, as required
        // between fork and exec.
        unsafe {
            command.pre_exec(keep_our_fds_out);
        }
        command
            .env("BUSBAR_LOG", &options.log_filter)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let spawned_at = Instant::now();
        let mut child = command.spawn().unwrap();

        let (tx, rx) = mpsc::channel();
        let other_lines = Arc::new(AtomicUsize::new(0));
        let stdout = child.stdout.take().unwrap();
        let others = other_lines.clone();
        let reader = std::thread::Builder::new()
            .name("busbar-stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let at = Instant::now();
                    match (parse_line(&line), candump_time(&line)) {
                        (DumpLine::Frame(frame), Some(wall)) => {
                            if tx.send(Rx { at, wall, frame }).is_err() {
                                break;
                            }
                        }
                        _ => {
                            others.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
            .unwrap();

        Self {
            options,
            child,
            reader: Some(reader),
            rx,
            history: Vec::new(),
            eof: false,
            other_lines,
            dbc: dbc::load(),
            packs,
            sim_start,
            runtime,
            spawned_at,
            config_path,
            dir,
        }
    }

    // ---- packs ----------------------------------------------------------------------------

    /// The stable path of pack `index` (what the config names).
    pub fn link(&self, index: usize) -> PathBuf {
        link_path(&self.dir.0, index)
    }

    /// Change pack `index`'s faults; returns the instant just before the change, so every
    /// reply built under the new faults is written after it (the simulator may answer on its
    /// own thread before this one takes another look at the clock).
    pub fn fault(&self, index: usize, change: impl FnOnce(&mut Faults)) -> Instant {
        let pack = self.packs[index].as_ref().expect("pack is plugged in");
        let before = Instant::now();
        change(&mut pack.faults.lock().unwrap());
        before
    }

    /// The replies pack `index` wrote at or after `since`.
    pub fn replies(&self, index: usize, since: Instant) -> Vec<ReplyRecord> {
        let pack = self.packs[index].as_ref().expect("pack is plugged in");
        pack.replies.since(since)
    }

    /// The first reply pack `index` wrote at or after `since` for which `pred` holds, waiting
    /// until `deadline` for it to be logged. The simulator logs a reply once its write has
    /// returned; on a loaded machine the daemon can have read it, and the test the 0x351 it
    /// caused, before the simulator's thread gets to that.
    pub fn wait_reply(
        &self,
        index: usize,
        since: Instant,
        deadline: Instant,
        mut pred: impl FnMut(&ReplyRecord) -> bool,
    ) -> Result<ReplyRecord, String> {
        loop {
            if let Some(r) = self.replies(index, since).into_iter().find(|r| pred(r)) {
                return Ok(r);
            }
            if Instant::now() >= deadline {
                return Err(self.context(&format!("no such reply from pack {}", index + 1)));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The newest reply pack `index` wrote.
    pub fn last_reply(&self, index: usize) -> Option<ReplyRecord> {
        self.packs[index]
            .as_ref()
            .expect("pack is plugged in")
            .replies
            .last()
    }

    /// Pull the adapter of pack `index`: its pty is closed and its link removed when this
    /// returns, the instant it returns. Also returns its last reply.
    pub fn unplug(&mut self, index: usize) -> (Instant, Option<ReplyRecord>) {
        let pack = self.packs[index].take().expect("pack is plugged in");
        let last = pack.replies.last();
        self.runtime.handle.block_on(pack.stop());
        std::fs::remove_file(self.link(index)).unwrap();
        (Instant::now(), last)
    }

    /// Plug pack `index` back in: a new simulated pack (same model, same clock) on a new pty,
    /// the link re-pointed atomically. Returns when the link is in place.
    pub fn replug(&mut self, index: usize) -> Instant {
        assert!(self.packs[index].is_none(), "pack {index} is plugged in");
        let pack = {
            let _entered = self.runtime.handle.enter();
            spawn_jk_nw(index, CELLS, self.sim_start).unwrap()
        };
        point_link(&self.dir.0, index, &pack.path);
        self.packs[index] = Some(pack);
        Instant::now()
    }

    // ---- the daemon -----------------------------------------------------------------------

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Send SIGTERM; returns the instant just before it was sent.
    pub fn terminate(&self) -> Instant {
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {}", self.pid());
        sent
    }

    /// Wait for the daemon to exit, then read the rest of its output.
    pub fn wait_exit(&mut self, deadline: Instant) -> Result<ExitStatus, String> {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The pipe is closed now; take every line still in it.
                while self.pump(Instant::now() + Duration::from_secs(5)) {}
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(self.context("the daemon did not exit in time"));
            }
            self.pump(Instant::now() + Duration::from_millis(20));
        }
    }

    /// busbar's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("busbar.log")).unwrap_or_default()
    }

    /// Stdout lines that were not candump frames.
    pub fn other_lines(&self) -> usize {
        self.other_lines.load(Ordering::Relaxed)
    }

    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    // ---- frames ---------------------------------------------------------------------------

    /// Take one frame from the reader, waiting until `deadline`. False on timeout or once the
    /// daemon's stdout is closed and drained.
    fn pump(&mut self, deadline: Instant) -> bool {
        if self.eof {
            return false;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(wait) {
            Ok(rx) => {
                self.history.push(rx);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                false
            }
        }
    }

    /// Take every frame already read.
    pub fn drain(&mut self) {
        while let Ok(rx) = self.rx.try_recv() {
            self.history.push(rx);
        }
    }

    /// Read frames until `until` (an observation window, for "nothing changes" assertions).
    pub fn collect_until(&mut self, until: Instant) {
        while Instant::now() < until {
            self.pump(until);
        }
        self.drain();
    }

    /// The first frame `id` read at or after `after` for which `pred` holds, waiting until
    /// `deadline` for it.
    pub fn wait_for(
        &mut self,
        id: u16,
        after: Instant,
        deadline: Instant,
        mut pred: impl FnMut(&Self, &Rx) -> bool,
    ) -> Result<Rx, String> {
        let mut next = 0;
        loop {
            while next < self.history.len() {
                let rx = self.history[next];
                next += 1;
                if rx.frame.id() == id && rx.at >= after && pred(self, &rx) {
                    return Ok(rx);
                }
            }
            if Instant::now() >= deadline || (self.eof && next == self.history.len()) {
                return Err(self.context(&format!(
                    "no frame 0x{id:03X} as wanted within {} after the mark",
                    secs(deadline.saturating_duration_since(after))
                )));
            }
            self.pump(deadline);
        }
    }

    /// The first 0x351 read at or after `after` whose limits satisfy `pred`.
    pub fn wait_for_351(
        &mut self,
        after: Instant,
        deadline: Instant,
        mut pred: impl FnMut(&Limits) -> bool,
    ) -> Result<(Instant, Limits), String> {
        self.wait_for(0x351, after, deadline, |h, rx| pred(&h.limits(rx)))
            .map(|rx| (rx.at, self.limits(&rx)))
    }

    /// The first 0x372 read at or after `after` whose counts satisfy `pred`.
    pub fn wait_for_372(
        &mut self,
        after: Instant,
        deadline: Instant,
        mut pred: impl FnMut(&Modules) -> bool,
    ) -> Result<(Instant, Modules), String> {
        self.wait_for(0x372, after, deadline, |h, rx| pred(&h.modules(rx)))
            .map(|rx| (rx.at, self.modules(&rx)))
    }

    /// The newest frame `id` taken from the reader so far (see [`Self::drain`]).
    pub fn latest(&self, id: u16) -> Option<Rx> {
        self.history
            .iter()
            .rev()
            .find(|rx| rx.frame.id() == id)
            .copied()
    }

    /// Every frame `id` read in `from..=to`.
    pub fn frames(&self, id: u16, from: Instant, to: Instant) -> Vec<Rx> {
        self.history
            .iter()
            .filter(|rx| rx.frame.id() == id && rx.at >= from && rx.at <= to)
            .copied()
            .collect()
    }

    /// Every frame read so far.
    pub fn history(&self) -> &[Rx] {
        &self.history
    }

    /// Every 0x351 read in `from..=to`, decoded.
    pub fn limits_between(&self, from: Instant, to: Instant) -> Vec<(Rx, Limits)> {
        self.frames(0x351, from, to)
            .into_iter()
            .map(|rx| (rx, self.limits(&rx)))
            .collect()
    }

    // ---- decoding through the DBC ---------------------------------------------------------

    pub fn dbc(&self) -> &can_dbc::Dbc {
        &self.dbc
    }

    /// Signal `name` of the frame, through the DBC.
    pub fn signal(&self, rx: &Rx, name: &str) -> f64 {
        let message = dbc::message(&self.dbc, rx.frame.id())
            .unwrap_or_else(|| panic!("0x{:03X} is not in the DBC", rx.frame.id()));
        dbc::value(message, name, rx.frame.data())
    }

    /// A text frame (0x35E, 0x370, 0x374..0x377) through the DBC.
    pub fn text(&self, rx: &Rx) -> String {
        let message = dbc::message(&self.dbc, rx.frame.id()).unwrap();
        dbc::text(message, rx.frame.data())
    }

    pub fn limits(&self, rx: &Rx) -> Limits {
        assert_eq!(rx.frame.id(), 0x351);
        Limits {
            cvl: self.signal(rx, "ChargeVoltageLimit"),
            ccl: self.signal(rx, "ChargeCurrentLimit"),
            dcl: self.signal(rx, "DischargeCurrentLimit"),
            dvl: self.signal(rx, "DischargeVoltageLimit"),
        }
    }

    pub fn modules(&self, rx: &Rx) -> Modules {
        assert_eq!(rx.frame.id(), 0x372);
        let count = |name| self.signal(rx, name) as u32;
        Modules {
            online: count("ModulesOnline"),
            blocking_charge: count("ModulesBlockingCharge"),
            blocking_discharge: count("ModulesBlockingDischarge"),
            offline: count("ModulesOffline"),
        }
    }

    /// What went wrong, with the recent 0x351 frames and the daemon's log.
    pub fn context(&self, what: &str) -> String {
        let mut s = format!("{what}\nlast frames 0x351 (time since spawn: CVL CCL DCL DVL):\n");
        let recent: Vec<_> = self
            .history
            .iter()
            .filter(|rx| rx.frame.id() == 0x351)
            .collect();
        for rx in recent.iter().skip(recent.len().saturating_sub(15)) {
            let l = self.limits(rx);
            let _ = writeln!(
                s,
                "  {:>8}: {:.1} V {:.1} A {:.1} A {:.1} V",
                secs(rx.at.saturating_duration_since(self.spawned_at)),
                l.cvl,
                l.ccl,
                l.dcl,
                l.dvl
            );
        }
        let log = self.log();
        let lines: Vec<_> = log.lines().collect();
        let _ = writeln!(s, "busbar log (last 40 lines):");
        for line in lines.iter().skip(lines.len().saturating_sub(40)) {
            let _ = writeln!(s, "  {line}");
        }
        s
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        // Packs, then their runtime (by field order), then the directory.
        for pack in self.packs.drain(..).flatten() {
            drop(pack);
        }
    }
}

/// In the child, before `exec`: mark every fd above stderr close-on-exec, so none of this
/// process's descriptors reach the daemon. It matters: serialport's `pair()` opens the simulated
/// packs' ptys without `O_CLOEXEC`, and a daemon that inherited a pty master would keep an
/// "unplugged" adapter alive (its own open port never hangs up). Tests run in parallel, so this
/// covers the packs of every test in the process, not only this harness's.
fn keep_our_fds_out() -> std::io::Result<()> {
    // SAFETY: plain system calls on integers; no memory is shared or allocated.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if done != 0 {
        // Kernels before 5.11: one descriptor at a time.
        for fd in 3..65_536 {
            // SAFETY: as above; an fd that is not open just fails.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                    libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
                }
            }
        }
    }
    Ok(())
}

fn link_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("pack{}", index + 1))
}

/// Point `DIR/packN` at `target` atomically: a new link under a temporary name, renamed over.
fn point_link(dir: &Path, index: usize, target: &Path) {
    let link = link_path(dir, index);
    let tmp = dir.join(format!(".pack{}.new", index + 1));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, &link).unwrap();
}

/// The config file: seed-like packs on their links, CAN as candump lines on stdout.
fn config_text(o: &Options, dir: &Path) -> String {
    let human = |d: Duration| format!("{}ms", d.as_millis());
    let mut s = format!(
        r#"[battery]
cells = {CELLS}
charge_voltage = 3.45
float_voltage = 3.375
discharge_voltage = 2.90
max_charge_current = {}
max_discharge_current = {}

[timing]
poll_interval = "{}"
offline_after = "{}"
can_interval = "{}"

[can]
interface = "candump:-"
"#,
        o.max_charge_current,
        o.max_discharge_current,
        human(o.poll_interval),
        human(o.offline_after),
        human(o.can_interval),
    );
    if let Some(rate) = o.ramp_rate {
        let _ = write!(s, "\n[control]\nramp_rate = {rate:?}\n");
    }
    for index in 0..o.packs {
        let _ = write!(
            s,
            r#"
[[pack]]
name = "pack{}"
port = "{}"
protocol = "jk-nw"
max_charge_current = {PACK_CHARGE_A:?}
max_discharge_current = {PACK_DISCHARGE_A:?}
"#,
            index + 1,
            link_path(dir, index).display()
        );
    }
    s.push('\n');
    s.push_str(&o.extra_config);
    s
}

/// `(1700000000.123456) can0 …` → the wall time in the parentheses.
fn candump_time(line: &str) -> Option<SystemTime> {
    let inner = line.trim_start().strip_prefix('(')?.split(')').next()?;
    let (secs, micros) = inner.split_once('.')?;
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = micros.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
}

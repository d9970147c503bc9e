//! CAN transports without a CAN kernel: the SocketCAN link driven through a scripted fake
//! socket (full queue, interface down, missing interface, bus-off, keep-alive), the candump
//! writer into files and `Write` sinks, the memory bus, and the scheduler and a transport in
//! a daemon-style `tokio::select!` loop.
//!
//! Time is Tokio's paused clock: backoffs and retry waits advance virtual time, so nothing
//! here sleeps for real and nothing depends on how fast the machine is.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use busbar::can::candump::CandumpWriter;
use busbar::can::episode::Fault;
use busbar::can::memory::MemoryBus;
use busbar::can::socketcan::{RawCanSocket, RawOpener, RawRx, RetryPolicy, SocketCanLink};
use busbar::can::transport::KEEPALIVE_ID;
use busbar::can::{
    open, BusState, CanFrame, CanOpenError, CanSendError, CanTransport, Limits, Plan, RxEvent,
    Scheduler, Transport,
};
use tokio::time::{advance, timeout, Instant};

const ENOBUFS: i32 = libc::ENOBUFS;
const ENETDOWN: i32 = libc::ENETDOWN;
const ENODEV: i32 = libc::ENODEV;

fn frame(id: u16, first: u8) -> CanFrame {
    CanFrame::with_8_bytes(id, [first, 0, 0, 0, 0, 0, 0, 0])
}

fn set() -> Vec<CanFrame> {
    (0..14).map(|i| frame(0x351 + i, i as u8)).collect()
}

// ---- the fake socket --------------------------------------------------------------------

#[derive(Default)]
struct Script {
    /// errno for each next open; empty = open works.
    opens: VecDeque<i32>,
    /// errno (0 = ok) for each next send; when empty, `forever` (0 = ok).
    sends: VecDeque<i32>,
    forever: i32,
    rx: VecDeque<RawRx>,
    sent: Vec<CanFrame>,
    open_calls: u32,
    send_calls: u32,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Script>>);

impl Fake {
    fn with(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.0.lock().unwrap());
    }
    fn get<T>(&self, f: impl FnOnce(&Script) -> T) -> T {
        f(&self.0.lock().unwrap())
    }
    fn link(&self) -> SocketCanLink<Fake> {
        SocketCanLink::with_opener("can0", self.clone())
    }
}

struct FakeSocket(Fake);

impl RawOpener for Fake {
    type Socket = FakeSocket;
    fn open(&mut self, _interface: &str) -> io::Result<FakeSocket> {
        let mut s = self.0.lock().unwrap();
        s.open_calls += 1;
        match s.opens.pop_front() {
            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(FakeSocket(self.clone())),
        }
    }
}

impl RawCanSocket for FakeSocket {
    fn try_send(&mut self, frame: &CanFrame) -> io::Result<()> {
        let mut s = self.0 .0.lock().unwrap();
        s.send_calls += 1;
        match s.sends.pop_front().unwrap_or(s.forever) {
            0 => {
                s.sent.push(*frame);
                Ok(())
            }
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }

    fn try_recv(&mut self) -> io::Result<Option<RawRx>> {
        Ok(self.0 .0.lock().unwrap().rx.pop_front())
    }

    fn recv(&mut self) -> impl Future<Output = io::Result<RawRx>> + Send {
        let next = self.0 .0.lock().unwrap().rx.pop_front();
        async move {
            match next {
                Some(rx) => Ok(rx),
                None => std::future::pending().await,
            }
        }
    }
}

// ---- log capture ------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Capture this thread's `tracing` output (the tests run on a current-thread runtime).
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }
}

// ---- SocketCAN link: full queue ---------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn enobufs_is_retried_and_the_frames_go_out() {
    let (logs, _guard) = Logs::capture();
    let fake = Fake::default();
    fake.with(|s| s.sends.extend([ENOBUFS, ENOBUFS, ENOBUFS]));
    let mut link = fake.link();
    let frames = set();
    link.send_all(&frames).await.unwrap();
    assert_eq!(fake.get(|s| s.sent.clone()), frames, "all, in order");
    assert_eq!(fake.get(|s| s.send_calls), 14 + 3);
    assert_eq!(
        logs.text(),
        "",
        "a burst that fits the budget is no episode"
    );
}

#[tokio::test(start_paused = true)]
async fn enobufs_forever_is_a_typed_error_within_the_budget() {
    let (logs, _guard) = Logs::capture();
    let fake = Fake::default();
    fake.with(|s| s.forever = ENOBUFS);
    let mut link = fake.link();
    let budget = RetryPolicy::default().budget;

    let start = Instant::now();
    let err = timeout(Duration::from_secs(5), link.send_all(&set()))
        .await
        .expect("no hang")
        .unwrap_err();
    let CanSendError::QueueFull {
        attempts, waited, ..
    } = err
    else {
        panic!("{err:?}");
    };
    // Waits of 1 + 2 + 4 + 8 + 16 + 16 = 47 ms between 7 tries; one more 16 would cross 50.
    assert_eq!(attempts, 7);
    assert_eq!(waited, Duration::from_millis(47));
    assert!(waited <= budget, "{waited:?}");
    assert!(Instant::now() - start <= budget);
    assert_eq!(fake.get(|s| s.sent.len()), 0);

    // While the episode lasts: one try, no waiting, not logged again.
    let start = Instant::now();
    for _ in 0..5 {
        let err = link.send_all(&set()).await.unwrap_err();
        assert!(
            matches!(err, CanSendError::QueueFull { attempts: 1, .. }),
            "{err:?}"
        );
    }
    assert_eq!(
        Instant::now(),
        start,
        "no waiting while the queue is known stuck"
    );
    assert_eq!(
        logs.count("transmit queue still full"),
        1,
        "{}",
        logs.text()
    );

    fake.with(|s| s.forever = 0);
    link.send_all(&set()).await.unwrap();
    assert_eq!(logs.count("sending again"), 1, "{}", logs.text());
    assert_eq!(fake.get(|s| s.sent.len()), 14);
}

// ---- SocketCAN link: interface down -----------------------------------------------------

#[tokio::test(start_paused = true)]
async fn interface_down_is_typed_logged_once_and_recovery_is_logged() {
    let (logs, _guard) = Logs::capture();
    let fake = Fake::default();
    fake.with(|s| s.forever = ENETDOWN);
    let mut link = fake.link();

    let err = link.send_all(&set()).await.unwrap_err();
    assert!(matches!(err, CanSendError::InterfaceDown { .. }), "{err:?}");
    assert!(!link.is_open(), "closed, to be reopened");
    assert_eq!(fake.get(|s| (s.open_calls, s.send_calls)), (1, 1));

    // Within the backoff: the same error at once, no syscall.
    for _ in 0..10 {
        let err = link.send(&frame(0x351, 0)).await.unwrap_err();
        assert!(matches!(err, CanSendError::InterfaceDown { .. }), "{err:?}");
    }
    assert_eq!(fake.get(|s| (s.open_calls, s.send_calls)), (1, 1));

    // Each backoff step: reopen, still down.
    for step_ms in [100, 200, 400, 800, 1600, 2000, 2000] {
        advance(Duration::from_millis(step_ms)).await;
        let err = link.send_all(&set()).await.unwrap_err();
        assert!(matches!(err, CanSendError::InterfaceDown { .. }), "{err:?}");
    }
    assert_eq!(fake.get(|s| s.open_calls), 8);

    // Brought up again.
    fake.with(|s| s.forever = 0);
    advance(Duration::from_secs(2)).await;
    link.send_all(&set()).await.unwrap();
    assert!(link.is_open());
    link.send_all(&set()).await.unwrap();

    assert_eq!(logs.count("is down"), 1, "{}", logs.text());
    assert_eq!(logs.count("WARN"), 1, "{}", logs.text());
    assert_eq!(logs.count("sending again"), 1, "{}", logs.text());
    assert!(logs.text().contains("interface down ("), "{}", logs.text());
}

// ---- SocketCAN link: missing interface --------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_missing_interface_at_open_is_typed_and_retried_later() {
    let (logs, _guard) = Logs::capture();
    let fake = Fake::default();
    fake.with(|s| s.opens.extend([ENODEV, ENODEV]));
    let mut link = fake.link();

    let err = link.try_open().unwrap_err();
    assert!(
        matches!(err, CanOpenError::NoSuchInterface { ref interface } if interface == "can0"),
        "{err:?}"
    );
    let err = link.send_all(&set()).await.unwrap_err();
    assert!(
        matches!(err, CanSendError::NoSuchInterface { .. }),
        "{err:?}"
    );
    assert_eq!(fake.get(|s| s.open_calls), 1, "backoff respected");

    advance(Duration::from_millis(100)).await;
    let err = link.send_all(&set()).await.unwrap_err();
    assert!(
        matches!(err, CanSendError::NoSuchInterface { .. }),
        "{err:?}"
    );
    assert_eq!(fake.get(|s| s.open_calls), 2);

    // The adapter is plugged in.
    advance(Duration::from_millis(200)).await;
    link.send_all(&set()).await.unwrap();
    assert_eq!(fake.get(|s| (s.open_calls, s.sent.len())), (3, 14));

    assert_eq!(
        logs.count("no network interface can0"),
        1,
        "{}",
        logs.text()
    );
    assert_eq!(logs.count("sending again"), 1, "{}", logs.text());
}

#[tokio::test(start_paused = true)]
async fn an_interface_that_vanishes_is_reopened_by_name() {
    let fake = Fake::default();
    let mut link = fake.link();
    link.send_all(&set()).await.unwrap();
    // USB adapter unplugged: the bound socket fails with ENODEV, and so does the next open.
    fake.with(|s| {
        s.sends.push_back(ENODEV);
        s.opens.push_back(ENODEV);
    });
    let err = link.send_all(&set()).await.unwrap_err();
    assert!(
        matches!(err, CanSendError::NoSuchInterface { .. }),
        "{err:?}"
    );
    advance(Duration::from_millis(100)).await;
    assert!(link.send_all(&set()).await.is_err());
    advance(Duration::from_millis(200)).await;
    link.send_all(&set()).await.unwrap();
    assert_eq!(fake.get(|s| s.open_calls), 3);
}

// ---- SocketCAN link: bus-off and receiving ----------------------------------------------

fn error_frame(class: u32) -> RawRx {
    RawRx::Error {
        class,
        data: [0; 8],
    }
}

#[tokio::test(start_paused = true)]
async fn bus_off_is_reported_and_a_full_queue_then_fails_fast() {
    let (logs, _guard) = Logs::capture();
    let fake = Fake::default();
    let mut link = fake.link();
    link.try_open().unwrap();
    fake.with(|s| s.rx.push_back(error_frame(libc::CAN_ERR_BUSOFF)));

    let event = timeout(Duration::from_secs(1), link.recv()).await.unwrap();
    assert_eq!(event, RxEvent::BusState(BusState::BusOff));
    assert_eq!(link.bus_state(), BusState::BusOff);

    // The stopped controller does not drain the queue: no waiting, a bus-off error.
    fake.with(|s| s.forever = ENOBUFS);
    let start = Instant::now();
    let err = link.send_all(&set()).await.unwrap_err();
    assert!(matches!(err, CanSendError::BusOff { .. }), "{err:?}");
    assert_eq!(Instant::now(), start);
    assert_eq!(fake.get(|s| s.send_calls), 1);

    // The kernel restarts it (restart-ms).
    fake.with(|s| {
        s.rx.push_back(error_frame(libc::CAN_ERR_RESTARTED));
        s.forever = 0;
    });
    let event = timeout(Duration::from_secs(1), link.recv()).await.unwrap();
    assert_eq!(event, RxEvent::BusState(BusState::Active));
    link.send_all(&set()).await.unwrap();

    assert_eq!(logs.count("controller bus-off"), 1, "{}", logs.text());
    assert_eq!(
        logs.count("restart-ms 100"),
        2,
        "advice in both lines: {}",
        logs.text()
    );
    assert_eq!(logs.count("error-active again"), 1, "{}", logs.text());
}

#[tokio::test(start_paused = true)]
async fn a_send_notices_bus_off_without_anyone_calling_recv() {
    let fake = Fake::default();
    let mut link = fake.link();
    link.send_all(&set()).await.unwrap();
    fake.with(|s| {
        s.rx.push_back(error_frame(libc::CAN_ERR_BUSOFF));
        s.forever = ENOBUFS;
    });
    let err = link.send_all(&set()).await.unwrap_err();
    assert!(matches!(err, CanSendError::BusOff { .. }), "{err:?}");
    assert_eq!(link.bus_state(), BusState::BusOff);
}

#[tokio::test(start_paused = true)]
async fn the_inverter_keepalive_is_recorded_and_other_frames_ignored() {
    let fake = Fake::default();
    let mut link = fake.link();
    link.try_open().unwrap();
    assert_eq!(link.last_keepalive(), None);
    let keepalive = CanFrame::with_8_bytes(KEEPALIVE_ID, [0; 8]);
    fake.with(|s| {
        s.rx.push_back(RawRx::Data(frame(0x307, 0x12)));
        s.rx.push_back(RawRx::Other);
        s.rx.push_back(RawRx::Data(keepalive));
    });
    let event = timeout(Duration::from_secs(1), link.recv()).await.unwrap();
    assert_eq!(event, RxEvent::Keepalive(keepalive));
    let first = link.last_keepalive().unwrap();

    advance(Duration::from_secs(1)).await;
    fake.with(|s| s.rx.push_back(RawRx::Data(keepalive)));
    // Also picked up by a send, for a daemon that never polls recv().
    link.send_all(&set()).await.unwrap();
    assert!(link.last_keepalive().unwrap() > first);
}

#[tokio::test(start_paused = true)]
async fn recv_reopens_a_closed_socket_by_itself() {
    let fake = Fake::default();
    fake.with(|s| s.opens.extend([ENODEV, ENODEV, ENODEV]));
    let mut link = fake.link();
    assert!(link.try_open().is_err());
    fake.with(|s| {
        s.rx.push_back(RawRx::Data(CanFrame::with_8_bytes(KEEPALIVE_ID, [0; 8])))
    });
    // Paused time runs ahead through the backoff (100 + 200 + 400 ms).
    let event = timeout(Duration::from_secs(5), link.recv()).await.unwrap();
    assert!(matches!(event, RxEvent::Keepalive(_)));
    assert_eq!(fake.get(|s| s.open_calls), 4);
    assert!(link.is_open());
}

// ---- the real kernel (no CAN needed: the name does not exist) ---------------------------

#[tokio::test]
async fn the_kernel_transport_reports_a_missing_interface_and_keeps_running() {
    let mut t = open("busbarnone0")
        .await
        .expect("a missing interface is no open error");
    assert!(matches!(t, Transport::SocketCan(_)), "{t:?}");
    let err = t.send_all(&set()).await.unwrap_err();
    assert!(
        matches!(err, CanSendError::NoSuchInterface { ref interface } if interface == "busbarnone0"),
        "{err:?}"
    );
    assert_eq!(err.fault(), Fault::NoSuchInterface);
}

#[tokio::test]
async fn malformed_settings_are_open_errors() {
    for bad in ["", "candump:", "/dev/can0", "can 0"] {
        let err = open(bad).await.unwrap_err();
        assert!(
            matches!(err, CanOpenError::InvalidName(_)),
            "{bad:?}: {err:?}"
        );
    }
    let err = open("candump:/nonexistent-dir-busbar/x.log")
        .await
        .unwrap_err();
    assert!(matches!(err, CanOpenError::File { .. }), "{err:?}");
}

// ---- candump ----------------------------------------------------------------------------

/// A `Write` that records each write and flush, in order.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<String>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf).into_owned();
        self.0.lock().unwrap().push(text);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap().push("<flush>".into());
        Ok(())
    }
}

fn fixed_clock() -> impl FnMut() -> SystemTime + Send + 'static {
    let mut micros = 0u64;
    move || {
        micros += 1;
        UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000) + Duration::from_micros(micros - 1)
    }
}

#[tokio::test]
async fn candump_lines_are_byte_exact_and_a_set_is_one_write_then_a_flush() {
    let sink = Sink::default();
    let mut w = CandumpWriter::new(sink.clone(), "stdout").with_clock(fixed_clock());
    let f351 = CanFrame::new(0x351, &[0x28, 0x02, 0xE8, 0x03, 0x1C, 0x02, 0x4C, 0x01]).unwrap();
    let f35e = CanFrame::new(0x35E, b"BUSBAR").unwrap();
    w.send_all(&[f351, f35e]).await.unwrap();
    assert_eq!(
        *sink.0.lock().unwrap(),
        vec![
            "(1700000000.123456) can0 351#2802E8031C024C01\n\
             (1700000000.123457) can0 35E#425553424152\n"
                .to_owned(),
            "<flush>".to_owned(),
        ]
    );
    // A lone cut is flushed too.
    w.send(&f351).await.unwrap();
    assert_eq!(sink.0.lock().unwrap().last().unwrap(), "<flush>");
}

#[tokio::test]
async fn candump_interface_name_is_configurable() {
    let mut w = CandumpWriter::new(Vec::new(), "buf")
        .with_clock(fixed_clock())
        .with_interface_name("vcan0");
    w.send_all(&[frame(0x356, 1)]).await.unwrap();
    assert_eq!(
        String::from_utf8(w.into_inner()).unwrap(),
        "(1700000000.123456) vcan0 356#0100000000000000\n"
    );
}

#[tokio::test]
async fn candump_file_is_created_then_appended() {
    let path = std::env::temp_dir().join(format!("busbar-candump-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let spec = format!("candump:{}", path.display());
    for first in [1u8, 2] {
        let mut t = open(&spec).await.unwrap();
        t.send_all(&[frame(0x351, first), frame(0x355, first)])
            .await
            .unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let tails: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once(") ").unwrap().1)
        .collect();
    assert_eq!(
        tails,
        [
            "can0 351#0100000000000000",
            "can0 355#0100000000000000",
            "can0 351#0200000000000000",
            "can0 355#0200000000000000"
        ]
    );
    for line in lines {
        // (ssssssssss.uuuuuu)
        let stamp = &line[1..line.find(')').unwrap()];
        let (secs, micros) = stamp.split_once('.').unwrap();
        assert_eq!((secs.len(), micros.len()), (10, 6), "{line}");
        assert!(
            stamp.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "{line}"
        );
    }
}

/// A pipe whose reader went away.
struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(libc::EPIPE))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn candump_write_errors_are_typed_and_logged_once() {
    let (logs, _guard) = Logs::capture();
    let mut w = CandumpWriter::new(BrokenPipe, "stdout");
    for _ in 0..5 {
        let err = w.send_all(&set()).await.unwrap_err();
        assert!(
            matches!(err, CanSendError::Io { ref target, .. } if target == "stdout"),
            "{err:?}"
        );
    }
    assert_eq!(logs.count("WARN"), 1, "{}", logs.text());
    assert_eq!(logs.count("I/O error on stdout"), 1, "{}", logs.text());
}

// ---- memory bus -------------------------------------------------------------------------

#[tokio::test]
async fn memory_bus_records_sets_and_fails_on_request() {
    let bus = MemoryBus::new();
    let mut t = bus.transport();
    t.send_all(&set()).await.unwrap();
    bus.fail_next(2, Fault::InterfaceDown);
    for _ in 0..2 {
        let err = t.send(&frame(0x351, 9)).await.unwrap_err();
        assert!(matches!(err, CanSendError::InterfaceDown { .. }), "{err:?}");
    }
    t.send(&frame(0x351, 7)).await.unwrap();
    assert_eq!(bus.failed_sends(), 2);
    assert_eq!(bus.sets().len(), 2);
    assert_eq!(bus.sets()[1], vec![frame(0x351, 7)]);
    assert_eq!(bus.frames().len(), 15);

    bus.inject(frame(0x307, 0x12));
    bus.inject(CanFrame::with_8_bytes(KEEPALIVE_ID, [0; 8]));
    let event = timeout(Duration::from_secs(1), t.recv()).await.unwrap();
    assert!(matches!(event, RxEvent::Keepalive(_)));
    assert!(t.last_keepalive().is_some());
}

// ---- scheduler + transport, the way the daemon runs them --------------------------------

/// The daemon's CAN loop in miniature: states arrive on a channel; the scheduler decides; the
/// transport sends; failures go back to the scheduler.
async fn can_loop(
    mut transport: Transport,
    mut states: tokio::sync::mpsc::Receiver<Limits>,
    can_interval: Duration,
) {
    let mut scheduler = Scheduler::new(can_interval);
    let mut latest: Option<Limits> = None;
    loop {
        let deadline = scheduler.next_deadline().map(Instant::from_std);
        tokio::select! {
            state = states.recv() => match state {
                Some(state) => latest = Some(state),
                None => return,
            },
            () = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await },
                if deadline.is_some() => {}
            _event = transport.recv() => continue,
        }
        let now = Instant::now().into_std();
        let Some(limits) = latest else { continue };
        // A real daemon encodes these from the BatteryState; here 0x351 carries the CCL in A.
        let f351 =
            CanFrame::with_8_bytes(0x351, [(limits.ccl_ma / 1000) as u8, 0, 0, 0, 0, 0, 0, 0]);
        let sent = match scheduler.plan(now, latest) {
            Plan::Nothing => continue,
            Plan::LimitsOnly => transport.send(&f351).await,
            Plan::FullSet => {
                let mut frames = set();
                frames[0] = f351;
                transport.send_all(&frames).await
            }
        };
        if sent.is_err() {
            scheduler.send_failed();
        }
    }
}

/// Let `ms` milliseconds of virtual time pass one at a time, so every deadline on the way is
/// served at its own instant (one `advance` jump would serve them all at the end).
async fn step(ms: u32) {
    for _ in 0..ms {
        advance(Duration::from_millis(1)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_cut_reaches_the_bus_at_once_and_a_failed_one_is_retried() {
    let bus = MemoryBus::new();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let task = tokio::spawn(can_loop(
        Transport::Memory(bus.transport()),
        rx,
        Duration::from_secs(1),
    ));
    let limits = |ccl_a: u32| Limits {
        cvl_mv: 55_200,
        ccl_ma: ccl_a * 1000,
        dcl_ma: 100_000,
    };

    tokio::task::yield_now().await;
    assert!(bus.sets().is_empty(), "nothing before the first state");
    tx.send(limits(100)).await.unwrap();
    step(1).await;
    assert_eq!(bus.sets().len(), 1, "the first state goes out at once");
    assert_eq!(bus.sets()[0].len(), 14);

    step(300).await;
    tx.send(limits(40)).await.unwrap();
    step(1).await;
    let sets = bus.sets();
    assert_eq!(sets.len(), 2, "the cut did not wait for the cadence");
    assert_eq!(
        sets[1],
        vec![CanFrame::with_8_bytes(0x351, [40, 0, 0, 0, 0, 0, 0, 0])]
    );

    // A rise waits for the full set at t0 + 1 s.
    tx.send(limits(60)).await.unwrap();
    step(500).await;
    assert_eq!(bus.sets().len(), 2);
    step(300).await;
    assert_eq!(bus.sets().len(), 3);
    assert_eq!(bus.sets()[2][0].data()[0], 60);

    // A cut while the bus fails: retried alone every 100 ms until it goes out.
    bus.fail_next(3, Fault::InterfaceDown);
    tx.send(limits(10)).await.unwrap();
    step(1).await;
    assert_eq!(bus.failed_sends(), 1);
    step(350).await;
    assert_eq!(bus.failed_sends(), 3);
    let sets = bus.sets();
    assert_eq!(sets.len(), 4, "{sets:?}");
    assert_eq!(
        sets[3],
        vec![CanFrame::with_8_bytes(0x351, [10, 0, 0, 0, 0, 0, 0, 0])]
    );

    drop(tx);
    task.await.unwrap();
}

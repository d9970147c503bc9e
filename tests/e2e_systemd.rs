//! systemd `Type=notify` through the real binary: `READY=1` once the first frame set is out,
//! `WATCHDOG=1` pings while the main loop turns, `STOPPING=1` on the way out. The test binds the
//! unix datagram socket systemd would, and passes it in `NOTIFY_SOCKET`.
//!
//! The daemon runs under `sh -c 'WATCHDOG_PID=$$ exec busbar …'`: sd-notify honours
//! `WATCHDOG_USEC` only in the process whose pid is `WATCHDOG_PID`, as systemd sets it, and only
//! the shell knows that pid before it becomes busbar.

mod e2e_support;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant, SystemTime};

use e2e_support::{secs, Harness, Options, TempDir};

/// `WATCHDOG_USEC`: systemd would kill a service that does not ping within this.
const WATCHDOG: Duration = Duration::from_millis(400);

/// One datagram: when it was received, on both clocks, and what it said.
struct Note {
    at: Instant,
    wall: SystemTime,
    text: String,
}

struct NotifySocket {
    socket: UnixDatagram,
    path: std::path::PathBuf,
    _dir: TempDir,
}

impl NotifySocket {
    fn bind() -> Self {
        let dir = TempDir::new();
        let path = dir.0.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        Self {
            socket,
            path,
            _dir: dir,
        }
    }

    /// The next datagram, or `None` once `deadline` has passed.
    fn next(&self, deadline: Instant) -> Option<Note> {
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    return Some(Note {
                        at: Instant::now(),
                        wall: SystemTime::now(),
                        text: String::from_utf8_lossy(&buf[..n]).into_owned(),
                    })
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("notify socket: {e}"),
            }
        }
    }

    /// Every datagram until `deadline`.
    fn until(&self, deadline: Instant) -> Vec<Note> {
        std::iter::from_fn(|| self.next(deadline)).collect()
    }
}

fn start(notify: &NotifySocket, watchdog_pid: &str) -> Harness {
    let mut options = Options::packs(2);
    options.env = vec![
        (
            "NOTIFY_SOCKET".into(),
            notify.path.to_string_lossy().into_owned(),
        ),
        ("WATCHDOG_USEC".into(), WATCHDOG.as_micros().to_string()),
    ];
    options.shell = Some(format!(
        r#"WATCHDOG_PID={watchdog_pid} exec "$0" run --config "$1""#
    ));
    Harness::start(options)
}

/// Wait for `READY=1`; returns it and whatever came before it.
fn ready(notify: &NotifySocket, h: &Harness) -> (Note, Vec<Note>) {
    let deadline = h.spawned_at + h.options.offline_after + Duration::from_secs(3);
    let mut before = Vec::new();
    while let Some(note) = notify.next(deadline) {
        if note.text.lines().any(|l| l == "READY=1") {
            return (note, before);
        }
        before.push(note);
    }
    panic!("{}", h.context("no READY=1"));
}

#[test]
fn ready_comes_after_the_first_frame_set_and_the_watchdog_is_fed_while_running() {
    let notify = NotifySocket::bind();
    let mut h = start(&notify, "$$");
    let (ready, before) = ready(&notify, &h);
    assert_eq!(ready.text, "READY=1\n");
    // The first 0x351 was written (the daemon stamps each line as it writes it) before READY
    // was received.
    let spawned = h.spawned_at;
    let first = h
        .wait_for(0x351, spawned, ready.at + Duration::from_secs(2), |_, _| {
            true
        })
        .unwrap();
    assert!(
        first.wall <= ready.wall,
        "READY=1 came {} before the first 0x351 was written",
        secs(first.wall.duration_since(ready.wall).unwrap_or_default())
    );
    assert!(before.iter().all(|n| n.text == "WATCHDOG=1\n"));

    // Fed at half the period, so systemd never sees a gap of a whole period.
    let window = ready.at + Duration::from_secs(2);
    let notes = notify.until(window);
    let pings: Vec<Instant> = notes
        .iter()
        .filter(|n| n.text == "WATCHDOG=1\n")
        .map(|n| n.at)
        .collect();
    assert_eq!(pings.len(), notes.len(), "only pings after READY");
    assert!(pings.len() >= 5, "{} pings in 2 s", pings.len());
    let gaps = std::iter::once(ready.at)
        .chain(pings.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap();
    assert!(gaps < WATCHDOG, "a gap of {} between pings", secs(gaps));
    assert!(h.is_running());

    // SIGTERM: STOPPING=1, exit 0.
    let termed = h.terminate();
    let status = h.wait_exit(termed + Duration::from_secs(5)).unwrap();
    assert!(status.success(), "{status}");
    let rest = notify.until(Instant::now() + Duration::from_millis(200));
    assert!(
        rest.iter().any(|n| n.text == "STOPPING=1\n"),
        "{:?}",
        rest.iter().map(|n| &n.text).collect::<Vec<_>>()
    );
}

#[test]
fn no_watchdog_pings_when_the_watchdog_belongs_to_another_process() {
    let notify = NotifySocket::bind();
    // pid 1 is never the daemon: as when busbar is a child of the service's main process.
    let h = start(&notify, "1");
    let (ready, before) = ready(&notify, &h);
    assert!(before.is_empty(), "{}", before[0].text);
    let notes = notify.until(ready.at + WATCHDOG * 3);
    assert!(
        notes.is_empty(),
        "{:?}",
        notes.iter().map(|n| &n.text).collect::<Vec<_>>()
    );
}

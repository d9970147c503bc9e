//! Reading packs: one request/response over a [`SerialLink`], and the per-port poll loop that
//! sends every outcome, good or bad, to whoever decides the limits. The reader never judges a
//! reading's plausibility (the core does) and never holds on to old values: it reports what it
//! heard, when it heard it.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::jk_nw::{self, DecodeError, FrameError, NwReply};
use crate::pack::PackSnapshot;
use crate::serial::{LinkError, SerialLink};

/// Why a poll produced no reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{source}{}", bad_frames_note(*.bad_frames, .last_bad.as_deref()))]
    Link {
        #[source]
        source: LinkError,
        /// Frames that arrived but were rejected (checksum, length, payload) during this poll.
        bad_frames: u32,
        last_bad: Option<String>,
    },
}

fn bad_frames_note(bad: u32, last: Option<&str>) -> String {
    match (bad, last) {
        (0, _) => String::new(),
        (n, Some(why)) => format!("; {n} bad frame(s) rejected, last: {why}"),
        (n, None) => format!("; {n} bad frame(s) rejected"),
    }
}

impl ReadError {
    /// Frames rejected during the failed poll.
    pub fn bad_frames(&self) -> u32 {
        match self {
            ReadError::Link { bad_frames, .. } => *bad_frames,
        }
    }

    /// The link, not the BMS, is the problem (port missing, adapter gone).
    pub fn is_link_down(&self) -> bool {
        matches!(
            self,
            ReadError::Link {
                source: LinkError::Open { .. }
                    | LinkError::Gone { .. }
                    | LinkError::Waiting { .. }
                    | LinkError::Io { .. },
                ..
            }
        )
    }
}

/// A successful read, with how many bad frames were skipped on the way.
#[derive(Debug)]
pub struct NwRead {
    pub reply: NwReply,
    pub bad_frames: u32,
}

/// Ask a jk-nw BMS for everything once (jk-nw.md §1.3 read-all) and wait up to `timeout` for
/// the first frame that passes every check. Bad frames in between are skipped and counted, so
/// noise on the line costs a little time, not the reading.
pub async fn read_jk_nw(
    link: &mut SerialLink,
    decoder: &mut jk_nw::Decoder,
    timeout: Duration,
) -> Result<NwRead, ReadError> {
    // Bytes left from an earlier, timed-out exchange belong to no request of ours.
    decoder.reset();
    let mut bad_frames = 0u32;
    let mut last_bad: Option<String> = None;
    let result = link
        .exchange(&jk_nw::READ_ALL_REQUEST, timeout, |chunk| {
            let mut rest = chunk;
            while !rest.is_empty() {
                // The decoder's buffer is bounded; it takes what fits once drained.
                let taken = decoder.push(rest);
                rest = &rest[taken..];
                while let Some(decoded) = decoder.next_reply() {
                    match decoded {
                        Ok(reply) => return Some(reply),
                        // Noise between frames is not a frame; it costs nothing but bytes.
                        Err(DecodeError::Frame(FrameError::GarbageSkipped(_))) => {}
                        Err(why) => {
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
        Ok(reply) => Ok(NwRead { reply, bad_frames }),
        Err(source) => Err(ReadError::Link {
            source,
            bad_frames,
            last_bad,
        }),
    }
}

/// One poll's outcome for one pack.
#[derive(Debug)]
pub struct Reading {
    /// Index of the pack in the configuration.
    pub pack: usize,
    /// When the answer was complete (or the poll gave up).
    pub at: Instant,
    pub outcome: Result<PackSnapshot, ReadError>,
    /// Frames rejected (checksum, length, payload) during this poll, also when a good one
    /// followed: counted for monitoring.
    pub bad_frames: u32,
}

/// How a reader polls.
#[derive(Clone, Debug)]
pub struct PollSettings {
    pub interval: Duration,
    /// How long to wait for a reply. JK answers within ~30 ms (jk-nw.md §1.1); USB adapters
    /// add latency, so allow much more, but less than the poll interval.
    pub reply_timeout: Duration,
}

impl PollSettings {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            reply_timeout: (interval * 4 / 5).min(Duration::from_millis(800)),
        }
    }
}

/// Poll one jk-nw pack on its own port forever, sending every outcome to `readings`. Ends when
/// the receiver is gone. One task per port: ports are read concurrently.
pub fn spawn_jk_nw_reader(
    pack: usize,
    port: PathBuf,
    settings: PollSettings,
    readings: mpsc::Sender<Reading>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut link = SerialLink::new(port);
        let mut decoder = jk_nw::Decoder::new();
        let mut ticks = tokio::time::interval(settings.interval);
        // After a long timeout, poll again at the cadence rather than in a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let read = read_jk_nw(&mut link, &mut decoder, settings.reply_timeout).await;
            let bad_frames = match &read {
                Ok(read) => read.bad_frames,
                Err(e) => e.bad_frames(),
            };
            let reading = Reading {
                pack,
                at: Instant::now(),
                outcome: read.map(|read| read.reply.pack),
                bad_frames,
            };
            if readings.send(reading).await.is_err() {
                break;
            }
        }
    })
}

//! `busbar decode [FILE|-] [--json] [--follow]`: candump text in, the battery the inverter
//! hears out. Run on the GX (`candump can1 | busbar decode --follow -`) or on a saved log.
//!
//! By default the report is printed once, at the end of the input. With `--follow` it is
//! printed after every 0x351 (the frame that carries the limits), for a live bus; with
//! `--json` as one JSON object (with `--follow`, one object per line).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::decode::{Decoder, Stats};
use super::id;
use super::report;

/// Command-line choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub json: bool,
    pub follow: bool,
}

/// Why the command failed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeCommandError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("reading the input: {0}")]
    Read(io::Error),
    #[error("writing the report: {0}")]
    Write(io::Error),
}

/// Read `input` to its end, writing reports to `out` as `options` say.
pub fn run(
    mut input: impl BufRead,
    out: &mut impl Write,
    options: Options,
) -> Result<Stats, DecodeCommandError> {
    let mut decoder = Decoder::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(DecodeCommandError::Read)?;
        if n == 0 {
            break;
        }
        // Invalid UTF-8 cannot be a candump line: it turns into garbage, counted.
        let line = String::from_utf8_lossy(&buf);
        let decoded = decoder.feed_line(&line);
        if options.follow && decoded == Some(id::LIMITS) {
            print(&decoder, out, options).map_err(DecodeCommandError::Write)?;
        }
    }
    if !options.follow {
        print(&decoder, out, options).map_err(DecodeCommandError::Write)?;
    }
    Ok(decoder.stats)
}

fn print(decoder: &Decoder, out: &mut impl Write, options: Options) -> io::Result<()> {
    let (battery, stats) = (&decoder.battery, &decoder.stats);
    if options.json {
        let value = report::json(battery, stats);
        let text = if options.follow {
            value.to_string()
        } else {
            serde_json::to_string_pretty(&value).map_err(io::Error::other)?
        };
        writeln!(out, "{text}")?;
    } else {
        if options.follow {
            writeln!(out, "--")?;
        }
        write!(out, "{}", report::human(battery, stats))?;
    }
    // A live pipe wants each report now, not when a buffer fills.
    out.flush()
}

/// The command: `input` is a file, or stdin when `None` or `-`. A closed stdout (`| head`)
/// ends it quietly.
pub fn run_cli(input: Option<&Path>, options: Options) -> Result<Stats, DecodeCommandError> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match input {
        Some(path) if path != Path::new("-") => {
            let file = File::open(path).map_err(|source| DecodeCommandError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            run(BufReader::new(file), &mut out, options)
        }
        _ => run(io::stdin().lock(), &mut out, options),
    };
    match result {
        Err(DecodeCommandError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            Ok(Stats::default())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "(1700000000.000000) can0 351#2802F401D0074C01\n\
                       (1700000000.001000) can0 356#BE14F9FF8C000000\n\
                       garbage line\n\
                       (1700000001.000000) can0 351#28020000D0074C01\n\
                       (1700000001.001000) can0 18FF50E5#01\n";

    fn run_on(text: &[u8], options: Options) -> (String, Stats) {
        let mut out = Vec::new();
        let stats = run(text, &mut out, options).unwrap();
        (String::from_utf8(out).unwrap(), stats)
    }

    #[test]
    fn prints_once_at_the_end_with_the_latest_values() {
        let (text, stats) = run_on(LOG.as_bytes(), Options::default());
        assert_eq!(text.matches("limits").count(), 1, "{text}");
        assert!(
            text.contains("CVL 55.2 V   CCL 0.0 A   DCL 200.0 A   DVL 33.2 V"),
            "{text}"
        );
        assert!(
            text.contains("53.10 V   -0.7 A (discharging)   14.0 °C"),
            "{text}"
        );
        assert_eq!(
            stats,
            Stats {
                decoded: 3,
                unknown: 1,
                short: 0,
                garbage: 1
            }
        );
    }

    #[test]
    fn follow_prints_after_every_0x351() {
        let (text, _) = run_on(
            LOG.as_bytes(),
            Options {
                json: false,
                follow: true,
            },
        );
        assert_eq!(text.matches("limits").count(), 2, "{text}");
        let (text, _) = run_on(
            LOG.as_bytes(),
            Options {
                json: true,
                follow: true,
            },
        );
        let objects: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0]["ccl_a"], 50.0);
        assert_eq!(objects[1]["ccl_a"], 0.0);
        // The first report came before 0x356 was heard.
        assert_eq!(objects[0]["voltage_v"], serde_json::Value::Null);
        assert_eq!(objects[1]["voltage_v"], 53.1);
    }

    #[test]
    fn json_is_one_object_and_invalid_utf8_is_garbage() {
        let mut input = LOG.as_bytes().to_vec();
        input.extend_from_slice(b"\xFF\xFE\n");
        let (text, stats) = run_on(
            &input,
            Options {
                json: true,
                follow: false,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["cvl_v"], 55.2);
        assert_eq!(v["dvl_v"], 33.2);
        assert_eq!(v["current_a"], -0.7);
        assert_eq!(v["frames"]["unreadable_lines"], 2);
        assert_eq!(stats.garbage, 2);
    }
}

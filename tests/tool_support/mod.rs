//! Tests that drive an outside program (Chromium, mosquitto) need it installed. `.ci/run`
//! installs them and sets `BUSBAR_TESTS_REQUIRE_TOOLS=1`, so on CI a missing program fails the
//! test; on a developer's fresh machine `cargo test` passes and says loudly what it skipped.
#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};

/// Set by `.ci/run`: never skip.
pub const REQUIRE: &str = "BUSBAR_TESTS_REQUIRE_TOOLS";

/// The first of `candidates` (absolute paths, or names looked up on `PATH`) that exists; `None`
/// after printing a skip notice, or a panic when [`REQUIRE`] is set.
pub fn find(candidates: &[&str], package: &str) -> Option<PathBuf> {
    let found = candidates.iter().find_map(|c| {
        let path = Path::new(c);
        if path.is_absolute() {
            path.exists().then(|| path.to_path_buf())
        } else {
            std::env::var_os("PATH").and_then(|dirs| {
                std::env::split_paths(&dirs)
                    .map(|d| d.join(c))
                    .find(|p| p.exists())
            })
        }
    });
    if found.is_none() {
        let what = candidates.join(" or ");
        assert!(
            std::env::var_os(REQUIRE).is_none(),
            "{what} is missing: install the Debian package {package} (.ci/run does)"
        );
        eprintln!(
            "SKIPPED: {what} is not installed (Debian package {package}); \
             `apt-get install {package}` to run this test (CI always does)"
        );
    }
    found
}

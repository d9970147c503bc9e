//! One problem found while validating a `[limits]` / `[control]` section or the battery settings,
//! named by its key path so the config loader can point at the line (`limits.charge_by_cell.points[2].volts`).

use std::fmt;

/// A value that cannot be used, with the TOML key path that holds it.
///
/// Array indices count from 0, as in TOML tools and the config loader (`pack[1].address`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigProblem {
    /// Key path, e.g. `limits.charge_by_soc.points[1].percent_of_max`.
    pub key: String,
    /// What is wrong and what would be right, in words for the user.
    pub message: String,
}

impl ConfigProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Collects problems; validation reports all of them, not only the first.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<ConfigProblem>);

impl Problems {
    pub(crate) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem::new(key, message));
    }

    pub(crate) fn into_result(self) -> Result<(), Vec<ConfigProblem>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

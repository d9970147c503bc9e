//! Topic names and Home Assistant ids, from the configured prefixes and the pack names. Pure.
//!
//! Pack names are the user's (`[[pack]] name`), so they may hold characters that mean something
//! in MQTT (`/` is a level, `+` and `#` are wildcards) or that Home Assistant does not take in an
//! id. [`topic_level`] and [`object_id`] make them safe; two names that come out the same get a
//! `_2`, `_3`, ... so every pack keeps topics and entities of its own.

/// Availability payloads (Home Assistant's defaults).
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

/// One pack's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackIds {
    /// As configured, for people (device names).
    pub name: String,
    /// One topic level: `<prefix>/pack/<level>/state`.
    pub level: String,
    /// `[a-z0-9_]`: the pack's part of Home Assistant object and unique ids.
    pub object: String,
}

/// Every topic busbar publishes under `topic_prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
    /// The object id of the virtual battery (and the node id in discovery topics): the topic
    /// prefix made into an id, so two busbars on one broker (distinct prefixes) stay apart.
    node: String,
    packs: Vec<PackIds>,
}

impl Topics {
    /// `prefix` as validated by the config (no wildcards, no `/` at either end).
    pub fn new<S: AsRef<str>>(prefix: &str, pack_names: &[S]) -> Self {
        let levels = unique(pack_names.iter().map(|n| topic_level(n.as_ref())).collect());
        let objects = unique(pack_names.iter().map(|n| object_id(n.as_ref())).collect());
        let packs = pack_names
            .iter()
            .zip(levels)
            .zip(objects)
            .map(|((name, level), object)| PackIds {
                name: name.as_ref().to_string(),
                level,
                object,
            })
            .collect();
        Self {
            prefix: prefix.to_string(),
            node: object_id(prefix),
            packs,
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The discovery node id and the start of every unique id.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn packs(&self) -> &[PackIds] {
        &self.packs
    }

    /// `<prefix>/status`: "online" / "offline", retained; the last-will sets "offline".
    pub fn availability(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// `<prefix>/state`: the whole status document (`/api/state`).
    pub fn state(&self) -> String {
        format!("{}/state", self.prefix)
    }

    /// `<prefix>/battery/state`: the virtual battery.
    pub fn battery_state(&self) -> String {
        format!("{}/battery/state", self.prefix)
    }

    /// `<prefix>/pack/<name>/state`: one pack, also while it is offline (`"online": false`).
    pub fn pack_state(&self, pack: &PackIds) -> String {
        format!("{}/pack/{}/state", self.prefix, pack.level)
    }

    /// `<prefix>/pack/<name>/availability`: "online" while the pack is heard, else "offline";
    /// the pack's sensors in Home Assistant go unavailable with it.
    pub fn pack_availability(&self, pack: &PackIds) -> String {
        format!("{}/pack/{}/availability", self.prefix, pack.level)
    }
}

/// A name as one MQTT topic level: no `/`, `+`, `#`, NUL or control characters (each becomes
/// `_`), no spaces at the ends, never empty.
pub fn topic_level(name: &str) -> String {
    let level: String = name
        .trim()
        .chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if level.is_empty() {
        "_".into()
    } else {
        level
    }
}

/// A name as a Home Assistant object id: lower-case ASCII letters, digits and single `_`
/// (everything else becomes `_`), never empty.
pub fn object_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('_') {
            id.push('_');
        }
    }
    while id.ends_with('_') {
        id.pop();
    }
    if id.is_empty() {
        "pack".into()
    } else {
        id
    }
}

/// Make every entry distinct: the second `x` becomes `x_2`, the third `x_3` (skipping any that
/// are taken).
fn unique(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let mut candidate = name.clone();
        let mut n = 2;
        while out.contains(&candidate) {
            candidate = format!("{name}_{n}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_live_under_the_prefix() {
        let t = Topics::new("home/busbar", &["pack1", "pack2"]);
        assert_eq!(t.availability(), "home/busbar/status");
        assert_eq!(t.state(), "home/busbar/state");
        assert_eq!(t.battery_state(), "home/busbar/battery/state");
        assert_eq!(t.pack_state(&t.packs()[1]), "home/busbar/pack/pack2/state");
        assert_eq!(
            t.pack_availability(&t.packs()[0]),
            "home/busbar/pack/pack1/availability"
        );
        assert_eq!(t.node(), "home_busbar");
    }

    #[test]
    fn pack_names_cannot_break_topics_or_ids() {
        assert_eq!(topic_level("rack/1 #top+"), "rack_1 _top_");
        assert_eq!(topic_level("  "), "_");
        assert_eq!(topic_level("a\0b\nc"), "a_b_c");
        assert_eq!(object_id("Rack 1 / Top!"), "rack_1_top");
        assert_eq!(object_id("Ünïcode"), "n_code");
        assert_eq!(object_id("--"), "pack");
    }

    #[test]
    fn names_that_clash_after_cleaning_stay_apart() {
        let t = Topics::new("busbar", &["a/b", "a+b", "a_b", "A B"]);
        let levels: Vec<_> = t.packs().iter().map(|p| p.level.as_str()).collect();
        assert_eq!(levels, ["a_b", "a_b_2", "a_b_3", "A B"]);
        let objects: Vec<_> = t.packs().iter().map(|p| p.object.as_str()).collect();
        assert_eq!(objects, ["a_b", "a_b_2", "a_b_3", "a_b_4"]);
        assert_eq!(t.packs()[0].name, "a/b");
    }

    #[test]
    fn a_suffix_never_takes_a_name_that_is_already_used() {
        // "x_2" is a real pack name here; the second "x" must not take it.
        assert_eq!(
            unique(vec!["x_2".into(), "x".into(), "x".into()]),
            ["x_2", "x", "x_3"]
        );
    }
}

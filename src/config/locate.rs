//! Find where a key sits in the TOML source, so that problems found after parsing still carry a
//! line number. Uses `toml_edit`, which keeps byte spans of every key and value.

use toml_edit::{ImDocument, Item, Table};

/// 1-based line number of byte `offset` in `source`.
pub fn line_at(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// One step of a key path: a key, or an index into an array (of tables).
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Split `pack[1].address` into `pack`, `[1]`, `address`.
fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some(close) = rest.find(']') {
            if let Ok(i) = rest[1..close].parse() {
                out.push(Step::Index(i));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

/// Line of the deepest part of `path` that exists in the source: the key itself if written,
/// otherwise its table (a missing key is reported at the table that should hold it).
pub fn line_of_key(source: &str, path: &str) -> Option<usize> {
    let doc = ImDocument::parse(source).ok()?;
    let offset = deepest_span(doc.as_table(), &steps(path))?;
    Some(line_at(source, offset))
}

fn deepest_span(table: &Table, steps: &[Step<'_>]) -> Option<usize> {
    let Some((Step::Key(key), rest)) = steps.split_first() else {
        return table.span().map(|s| s.start);
    };
    let Some((k, item)) = table.get_key_value(key) else {
        return table.span().map(|s| s.start);
    };
    let here = k.span().or_else(|| item.span()).map(|s| s.start);
    let deeper = match (item, rest.first()) {
        (Item::Table(t), Some(Step::Key(_))) => deepest_span(t, rest),
        (Item::ArrayOfTables(array), Some(Step::Index(i))) => array
            .get(*i)
            .and_then(|t| deepest_span(t, &rest[1..]).or_else(|| t.span().map(|s| s.start))),
        _ => None,
    };
    deeper.or(here)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
[battery]
cells = 16

[[pack]]
name = \"a\"

[[pack]]
name = \"b\"
address = 0
";

    #[test]
    fn splits_key_paths() {
        assert_eq!(
            steps("pack[1].address"),
            vec![Step::Key("pack"), Step::Index(1), Step::Key("address")]
        );
        assert_eq!(
            steps("battery.cells"),
            vec![Step::Key("battery"), Step::Key("cells")]
        );
    }

    #[test]
    fn finds_keys_in_tables_and_arrays_of_tables() {
        assert_eq!(line_of_key(SOURCE, "battery.cells"), Some(2));
        assert_eq!(line_of_key(SOURCE, "pack[1].address"), Some(9));
        assert_eq!(line_of_key(SOURCE, "pack[0].name"), Some(5));
    }

    #[test]
    fn a_missing_key_points_at_its_table() {
        assert_eq!(line_of_key(SOURCE, "pack[0].port"), Some(4));
        assert_eq!(line_of_key(SOURCE, "battery.charge_voltage"), Some(1));
    }

    #[test]
    fn line_at_counts_from_one() {
        assert_eq!(line_at("a\nb\nc", 0), 1);
        assert_eq!(line_at("a\nb\nc", 2), 2);
        assert_eq!(line_at("a\nb\nc", 99), 3);
    }
}

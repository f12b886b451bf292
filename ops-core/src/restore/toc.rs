//! The archive's table of contents (`pg_restore -l`) and `pg_restore --verbose` lines.

use std::collections::HashSet;

/// Multi-word entry kinds first so that the longest match wins.
const KINDS: &[&str] = &[
    "TABLE DATA",
    "TABLE ATTACH",
    "FK CONSTRAINT",
    "CHECK CONSTRAINT",
    "SEQUENCE SET",
    "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW DATA",
    "MATERIALIZED VIEW",
    "FOREIGN TABLE",
    "DEFAULT ACL",
    "INDEX ATTACH",
    "LARGE OBJECT",
    "BLOB DATA",
    "BLOBS",
    "EVENT TRIGGER",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "FOREIGN DATA WRAPPER",
    "USER MAPPING",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "ROW SECURITY",
    "SHELL TYPE",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "PROCEDURAL LANGUAGE",
    "STATISTICS DATA",
];

/// One entry of the archive's table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TocEntry {
    pub(crate) id: u32,
    pub(crate) kind: String,
    /// `schema name owner` as printed (names are not quoted, so may contain spaces).
    pub(crate) rest: String,
}

/// The parsed table of contents.
#[derive(Debug, Clone, Default)]
pub(crate) struct Toc {
    pub(crate) entries: Vec<TocEntry>,
}

impl Toc {
    /// Parse `pg_restore -l` output.
    pub(crate) fn parse(listing: &str) -> Self {
        let entries = listing.lines().filter_map(parse_line).collect();
        Self { entries }
    }

    /// Item ids `pg_restore` will report on, honouring `--no-acl`.
    pub(crate) fn item_ids(&self, no_acl: bool) -> HashSet<u32> {
        self.entries
            .iter()
            .filter(|e| !(no_acl && (e.kind == "ACL" || e.kind == "DEFAULT ACL")))
            .map(|e| e.id)
            .collect()
    }

    /// `schema name owner` strings of the TABLE entries.
    pub(crate) fn tables(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|e| e.kind == "TABLE")
            .map(|e| e.rest.as_str())
    }
}

fn parse_line(line: &str) -> Option<TocEntry> {
    let line = line.trim_end();
    if line.starts_with(';') || line.is_empty() {
        return None;
    }
    let (id, rest) = line.split_once("; ")?;
    let id: u32 = id.trim().parse().ok()?;
    // "<catalog oid> <object oid> <kind> <schema> <name> <owner>"
    let mut parts = rest.splitn(3, ' ');
    parts.next()?;
    parts.next()?;
    let tail = parts.next()?;
    let kind = KINDS
        .iter()
        .find(|k| tail.starts_with(*k) && tail[k.len()..].starts_with(' '))
        .map(|k| (*k).to_owned())
        .or_else(|| tail.split(' ').next().map(str::to_owned))?;
    let rest = tail[kind.len()..].trim_start().to_owned();
    Some(TocEntry { id, kind, rest })
}

/// The item id a `pg_restore --verbose` line reports as processed, if any.
pub(crate) fn done_item(line: &str) -> Option<u32> {
    let line = line.strip_prefix("pg_restore: ")?;
    let rest = ["processing item ", "finished item ", "skipping item "]
        .iter()
        .find_map(|p| line.strip_prefix(p))?;
    rest.split(' ').next()?.parse().ok()
}

/// Whether a `pg_restore`/`pg_dump` stderr line is verbose chatter rather than a problem.
pub(crate) fn is_chatter(line: &str) -> bool {
    !(line.contains("error") || line.contains("warning") || line.contains("FATAL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = ";\n; Archive created at 2026-11-25 13:32:05 UTC\n;     dbname: src\n;\n; Selected TOC Entries:\n;\n\
214; 1259 16385 TABLE public a postgres\n\
3359; 0 0 COMMENT public TABLE a postgres\n\
3360; 0 0 ACL public TABLE a postgres\n\
216; 1259 16403 TABLE public we ird postgres\n\
3350; 0 16385 TABLE DATA public a postgres\n\
3207; 2606 16397 FK CONSTRAINT public b b_id_fkey postgres\n";

    #[test]
    fn parses_listing() {
        let toc = Toc::parse(LISTING);
        assert_eq!(toc.entries.len(), 6);
        assert_eq!(toc.entries[4].kind, "TABLE DATA");
        assert_eq!(toc.entries[4].rest, "public a postgres");
        assert_eq!(toc.entries[5].kind, "FK CONSTRAINT");
        assert_eq!(
            toc.tables().collect::<Vec<_>>(),
            ["public a postgres", "public we ird postgres"]
        );
        assert_eq!(toc.item_ids(true).len(), 5);
        assert_eq!(toc.item_ids(false).len(), 6);
    }

    proptest::proptest! {
        #![proptest_config(ops_proptest::config())]

        /// Issue #15: `pg_restore -l` and `--verbose` output of any dump (mutated listings,
        /// any text) parses without a panic.
        #[test]
        fn proptest_any_listing_parses(text in proptest::prop_oneof![
            ops_proptest::text_mutated(vec![LISTING.to_owned()]),
            "[0-9; A-Za-z\n]{0,200}",
            "\\PC{0,200}",
        ]) {
            let toc = Toc::parse(&text);
            let _ = (toc.item_ids(true), toc.tables().count());
            for line in text.lines() {
                let _ = (done_item(line), is_chatter(line));
            }
        }
    }

    #[test]
    fn verbose_lines() {
        assert_eq!(
            done_item("pg_restore: processing item 214 TABLE a"),
            Some(214)
        );
        assert_eq!(
            done_item("pg_restore: finished item 3350 TABLE DATA a"),
            Some(3350)
        );
        assert_eq!(
            done_item("pg_restore: skipping item 3360 ACL TABLE a"),
            Some(3360)
        );
        assert_eq!(
            done_item("pg_restore: launching item 3350 TABLE DATA a"),
            None
        );
        assert!(is_chatter("pg_restore: creating TABLE \"public.a\""));
        assert!(!is_chatter("pg_restore: error: could not read input file"));
    }
}

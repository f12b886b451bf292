//! Every SQL text the restore workflow and rollback send, in one place: catalog reads as
//! constants, statements as small functions that quote what they are given ([`ident`],
//! [`literal`]), and [`exec`], the one way a statement is run. The user's sanitise scripts
//! and check queries are theirs and run as given.

use tokio_postgres::GenericClient;

use super::error::RestoreError;
use super::settings::{DatabaseLocale, LocaleProvider};

/// Quote an SQL identifier (`"` doubled).
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quote an SQL string literal; works whatever `standard_conforming_strings` is.
pub(crate) fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        out.push_str(" E");
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Run `sql` (one or more statements, no parameters); a failure says it was trying to `step`.
pub(crate) async fn exec(
    client: &impl GenericClient,
    sql: &str,
    step: &str,
) -> Result<(), RestoreError> {
    tracing::debug!(sql, "executing");
    client
        .batch_execute(sql)
        .await
        .map_err(|e| RestoreError::pg(step, e))
}

// --- catalog reads (see `catalog.rs`) ---------------------------------------------------

/// The connected role, the connected database, the role's attributes and whether it is a
/// member of `pg_signal_backend`.
pub(crate) const CURRENT_ROLE: &str = "SELECT current_user::text, current_database()::text, \
     r.rolsuper, r.rolcreatedb, r.rolcreaterole, \
     pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') \
     FROM pg_roles r WHERE r.rolname = current_user";

/// `$1`: a role name. Whether the current role is a member of it.
pub(crate) const IS_MEMBER: &str = "SELECT pg_has_role(current_user, $1::text::name, 'MEMBER')";

/// `$1`: a database. Its owner, connection limit, `datallowconn`, `datistemplate`, whether
/// its ACL is the default, and its comment.
pub(crate) const DATABASE: &str = "SELECT pg_get_userbyid(d.datdba), d.datconnlimit, d.datallowconn, d.datistemplate, \
     d.datacl IS NULL, shobj_description(d.oid, 'pg_database') \
     FROM pg_database d WHERE d.datname = $1";

/// `$1`: a database. Its grants: grantee (`NULL` for PUBLIC), privilege, grantable.
pub(crate) const DATABASE_GRANTS: &str = "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, \
     a.privilege_type, a.is_grantable \
     FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1 \
     ORDER BY 1 NULLS FIRST, 2";

/// `$1`: a database. Its `ALTER DATABASE … SET` (role `NULL`) and `ALTER ROLE … IN
/// DATABASE … SET` settings.
pub(crate) const DATABASE_ROLE_SETTINGS: &str = "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, s.setconfig \
     FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
     WHERE d.datname = $1 ORDER BY 1 NULLS FIRST";

/// `$1`: a database. One row (`datistemplate`) if it exists.
pub(crate) const IS_TEMPLATE: &str = "SELECT datistemplate FROM pg_database WHERE datname = $1";

/// Every database name.
pub(crate) const DATABASE_NAMES: &str = "SELECT datname FROM pg_database";

/// The other sessions on database `$1` (autovacuum workers left out: a rename or drop stops
/// them itself): pid, user (`?` if unknown), application name, state (`NULL` when the role
/// may not see it), whether the current role may terminate it and whether its role is a
/// superuser. "May terminate" follows `pg_terminate_backend`: a superuser may terminate any
/// session; anyone else only sessions of a non-superuser role whose privileges it has or as
/// a member of `pg_signal_backend` (a process without a role counts as a superuser's, as
/// Postgres 16 counts it).
macro_rules! other_sessions {
    () => {
        "SELECT a.pid, coalesce(a.usename::text, '?') AS usr, \
         coalesce(a.application_name, '') AS app, a.state, \
         coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) \
         OR coalesce(NOT r.rolsuper AND (pg_has_role(r.oid, 'USAGE') \
         OR pg_has_role('pg_signal_backend'::name, 'USAGE')), false) AS may, \
         coalesce(r.rolsuper, true) AS su \
         FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid \
         WHERE a.datname = $1 AND a.pid <> pg_backend_pid() \
         AND a.backend_type IS DISTINCT FROM 'autovacuum worker'"
    };
}

/// `$1`: a database. The other sessions on it (see `other_sessions!`): pid, user,
/// application name, state, may terminate, superuser.
pub(crate) const SESSIONS: &str = concat!(
    "SELECT pid, usr, app, state, may, su FROM (",
    other_sessions!(),
    ") s ORDER BY pid"
);

/// The server's system identifier (`pg_control_system()`, executable by every role on a
/// stock server), as text: the same for every spelling of the server's address.
pub(crate) const SYSTEM_IDENTIFIER: &str =
    "SELECT system_identifier::text FROM pg_control_system()";

/// `$1`: a database. Its oid, if it exists.
pub(crate) const DATABASE_OID: &str = "SELECT oid::int8 FROM pg_database WHERE datname = $1";

/// `$1`: a database. Its encoding, `LC_COLLATE`, `LC_CTYPE`, locale provider (`c` libc, `i`
/// ICU, `b` builtin; `NULL` before PostgreSQL 15), ICU or builtin locale (`daticulocale` in
/// 15–16, `datlocale` from 17) and ICU rules (16+). Read through `to_jsonb` so that one text
/// fits every server version.
pub(crate) const DATABASE_LOCALE: &str = "SELECT pg_encoding_to_char(d.encoding)::text, d.datcollate::text, d.datctype::text, \
     j ->> 'datlocprovider', coalesce(j ->> 'datlocale', j ->> 'daticulocale'), j ->> 'daticurules' \
     FROM pg_database d, to_jsonb(d) j WHERE d.datname = $1";

/// The data directory (superuser or `pg_read_all_settings`).
pub(crate) const DATA_DIRECTORY: &str = "SELECT current_setting('data_directory')";

// --- the advisory lock and sessions -----------------------------------------------------

/// `$1`: the lock class, `$2`: the key text. Take the session-level advisory lock or not.
pub(crate) const TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1, hashtext($2))";

/// `$1`: the lock class, `$2`: the key text. Release the lock [`TRY_LOCK`] took.
pub(crate) const UNLOCK: &str = "SELECT pg_advisory_unlock($1, hashtext($2))";

/// `$1`: a database, `$2`: pids (`int4[]`) already terminated. In one statement: the other
/// sessions on the database, as [`SESSIONS`] lists them, each one the role may terminate
/// and not in `$2` terminated (`pg_terminate_backend(pid)` without a timeout: it signals and
/// returns at once), and in a 7th column whether it was signalled now. No row: nobody is
/// left.
pub(crate) const TERMINATE_SESSIONS: &str = concat!(
    "SELECT pid, usr, app, state, may, su, \
     CASE WHEN may AND pid <> ALL($2::int4[]) THEN pg_terminate_backend(pid) ELSE false END \
     FROM (",
    other_sessions!(),
    ") s ORDER BY pid"
);

/// `$1`: a database. Its prepared transactions: gid, owner, when prepared.
pub(crate) const PREPARED_TRANSACTIONS: &str = "SELECT gid, owner::text, prepared::text FROM pg_prepared_xacts \
     WHERE database = $1::text::name ORDER BY prepared, gid";

// --- facts about the data ---------------------------------------------------------------

/// Ordinary and partitioned user tables: schema, name.
pub(crate) const USER_TABLES: &str = "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' \
     AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2";

/// `$1`: a database. Its size in bytes.
pub(crate) const DATABASE_SIZE: &str = "SELECT pg_database_size($1)::bigint";

/// Export the transaction's snapshot for `pg_dump --snapshot`.
pub(crate) const EXPORT_SNAPSHOT: &str = "SELECT pg_export_snapshot()";

// --- the stream engine (see `steps/stream.rs`) ------------------------------------------

/// Open a consistent read-only snapshot on the source (the holder's, then exported).
pub(crate) const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// A copy worker's source session: refuse rather than silently filter rows under row-level
/// security, then import the exported snapshot `snapshot` (a text the server gave).
pub(crate) fn import_snapshot(snapshot: &str) -> String {
    format!(
        "SET row_security = off; {BEGIN_SNAPSHOT}; SET TRANSACTION SNAPSHOT {}",
        literal(snapshot)
    )
}

/// A copy worker's target session: a restore's commits need not wait for the disk, and
/// row-level security never filters it. `synchronous_commit = off` is crash-safe here (the
/// WAL is still written, and fsync stays on): a server crash before the swap ends the
/// workers' sessions, so the run fails and the working copy is dropped (or removed as a
/// marked leftover by the next run); the swap's own commit is synchronous, and flushing the
/// WAL up to it makes every earlier copy commit durable before QA is the new database.
pub(crate) const TARGET_SESSION: &str = "SET synchronous_commit = off; SET row_security = off";

/// This session's server process id.
pub(crate) const BACKEND_PID: &str = "SELECT pg_backend_pid()";

/// Where the source has no extension's or system's objects: the condition on `c`
/// (`pg_class`) and `n` (`pg_namespace`) the stream engine's reads share.
macro_rules! user_relation {
    () => {
        "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
         AND d.objid = c.oid AND d.deptype = 'e')"
    };
}

/// The tables whose rows the stream engine copies (plain tables and leaf partitions, not
/// an extension's): schema, name, the size on disk with indexes (`pg_total_relation_size`,
/// for largest first)
/// and the columns to copy in order (generated and dropped columns left out), and whether
/// every one of those columns is of a built-in type (or an array of one) with binary I/O, so
/// the table can be copied in binary format between servers of the same major version.
pub(crate) const COPY_TABLES: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, pg_total_relation_size(c.oid)::int8, \
     coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a \
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), \
     '{}'::text[]), \
     NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
     LEFT JOIN pg_type e ON e.oid = t.typelem \
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
     AND NOT (t.oid < 16384 AND t.typsend <> 0 AND t.typreceive <> 0 \
     AND (e.oid IS NULL OR (e.oid < 16384 AND e.typsend <> 0 AND e.typreceive <> 0)))) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND ",
    user_relation!(),
    " ORDER BY 3 DESC, 1, 2"
);

/// Plain tables that are not partitions (their indexes are built as soon as their rows are
/// in): schema, name.
pub(crate) const PLAIN_TABLES: &str = concat!(
    "SELECT n.nspname::text, c.relname::text FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND NOT c.relispartition AND ",
    user_relation!()
);

/// The indexes of [`PLAIN_TABLES`]: schema, table, index.
pub(crate) const PLAIN_TABLE_INDEXES: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, ic.relname::text FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND NOT c.relispartition AND ",
    user_relation!()
);

/// Foreign keys between two plain tables that are not partitions (each added as soon as both
/// its tables are in): schema, table, constraint, referenced schema, referenced table.
pub(crate) const PLAIN_FOREIGN_KEYS: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, k.conname::text, rn.nspname::text, \
     r.relname::text FROM pg_constraint k \
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace \
     WHERE k.contype = 'f' AND c.relkind = 'r' AND NOT c.relispartition \
     AND r.relkind = 'r' AND NOT r.relispartition AND ",
    user_relation!(),
    " AND rn.nspname <> 'information_schema' AND rn.nspname NOT LIKE 'pg\\_%' \
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
     AND d.objid = r.oid AND d.deptype = 'e')"
);

/// Tables with extended statistics objects (`CREATE STATISTICS`, restored with the
/// post-data): schema, table. They are analyzed only once those exist.
pub(crate) const TABLES_WITH_EXTENDED_STATS: &str = "SELECT DISTINCT n.nspname::text, c.relname::text \
     FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace";

/// Partitioned tables (no rows of their own; their rows are copied per leaf): schema, name.
pub(crate) const PARTITIONED_TABLES: &str = concat!(
    "SELECT n.nspname::text, c.relname::text FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p' AND ",
    user_relation!(),
    " ORDER BY 1, 2"
);

/// The sequences whose values are carried over (an extension's left out): schema, name.
pub(crate) const SEQUENCES: &str = concat!(
    "SELECT n.nspname::text, c.relname::text FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND ",
    user_relation!(),
    " ORDER BY 1, 2"
);

/// One sequence's state (`last_value`, `is_called`), as `pg_dump` reads it.
pub(crate) fn sequence_state(schema: &str, name: &str) -> String {
    format!(
        "SELECT last_value, is_called FROM {}.{}",
        ident(schema),
        ident(name)
    )
}

/// `$1`: a quoted qualified sequence name, `$2`: value, `$3`: is_called. Set it.
pub(crate) const SET_SEQUENCE: &str = "SELECT pg_catalog.setval($1::text::regclass, $2, $3)";

/// The large objects (their oids) and the size on disk of all of them.
pub(crate) const LARGE_OBJECTS: &str = "SELECT oid::int8 FROM pg_largeobject_metadata ORDER BY oid";
/// The size on disk of the large objects (for largest first).
pub(crate) const LARGE_OBJECTS_SIZE: &str = "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_largeobject_metadata) \
     THEN pg_table_size('pg_largeobject')::int8 ELSE 0::int8 END";
/// `$1`: oid, `$2`: offset, `$3`: length. A slice of a large object.
pub(crate) const LO_READ: &str = "SELECT lo_get($1::int8::oid, $2::int8, $3::int4)";
/// `$1`: oid, `$2`: offset, `$3`: bytes. Write a slice of a large object (created by the
/// pre-data section).
pub(crate) const LO_WRITE: &str = "SELECT lo_put($1::int8::oid, $2::int8, $3::bytea)";

/// `COPY … TO STDOUT` of one table's columns on the source, in text or binary format.
pub(crate) fn copy_out(schema: &str, table: &str, columns: &[String], binary: bool) -> String {
    format!(
        "COPY {}.{}{} TO STDOUT{}",
        ident(schema),
        ident(table),
        column_list(columns),
        if binary { " (FORMAT binary)" } else { "" }
    )
}

/// Empty the (new, empty) table then `COPY … FROM STDIN (FREEZE)` into it: `FREEZE` needs the
/// table emptied in the same transaction, and spares the later vacuum the rows' freezing.
pub(crate) fn truncate_for_copy(schema: &str, table: &str) -> String {
    format!("BEGIN; TRUNCATE ONLY {}.{}", ident(schema), ident(table))
}

/// `COPY … FROM STDIN` into one table on the target (after [`truncate_for_copy`]), in the
/// format of the matching [`copy_out`].
pub(crate) fn copy_in(schema: &str, table: &str, columns: &[String], binary: bool) -> String {
    format!(
        "COPY {}.{}{} FROM STDIN ({}FREEZE)",
        ident(schema),
        ident(table),
        column_list(columns),
        if binary { "FORMAT binary, " } else { "" }
    )
}

/// The server's version number (`server_version_num`, e.g. 150018).
pub(crate) const SERVER_VERSION_NUM: &str = "SELECT current_setting('server_version_num')::int4";

/// ` (a, b)`, or nothing for a table without columns.
fn column_list(columns: &[String]) -> String {
    if columns.is_empty() {
        String::new()
    } else {
        let cols: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        format!(" ({})", cols.join(", "))
    }
}

/// The exact row count of one table (`ONLY`: partitions count once).
pub(crate) fn count_rows(schema: &str, table: &str) -> String {
    format!(
        "SELECT count(*) FROM ONLY {}.{}",
        ident(schema),
        ident(table)
    )
}

/// `ANALYZE` one table.
pub(crate) fn analyze(schema: &str, table: &str) -> String {
    format!("ANALYZE {}.{}", ident(schema), ident(table))
}

// --- databases --------------------------------------------------------------------------

/// Create an empty database (the working copy) from `template0`, with `locale`'s encoding,
/// provider, collation, ctype and ICU/builtin locale, or the cluster's defaults (`None`).
pub(crate) fn create_database(name: &str, locale: Option<&DatabaseLocale>) -> String {
    let mut sql = format!("CREATE DATABASE {} TEMPLATE template0", ident(name));
    if let Some(l) = locale {
        sql.push_str(&format!(
            " ENCODING {} LC_COLLATE {} LC_CTYPE {}",
            literal(&l.encoding),
            literal(&l.collate),
            literal(&l.ctype)
        ));
        match l.provider {
            LocaleProvider::Unknown => {}
            LocaleProvider::Libc => sql.push_str(" LOCALE_PROVIDER libc"),
            LocaleProvider::Icu => {
                sql.push_str(" LOCALE_PROVIDER icu");
                if let Some(icu) = &l.icu_locale {
                    sql.push_str(&format!(" ICU_LOCALE {}", literal(icu)));
                }
                if let Some(rules) = &l.icu_rules {
                    sql.push_str(&format!(" ICU_RULES {}", literal(rules)));
                }
            }
            LocaleProvider::Builtin => {
                sql.push_str(" LOCALE_PROVIDER builtin");
                if let Some(b) = &l.icu_locale {
                    sql.push_str(&format!(" BUILTIN_LOCALE {}", literal(b)));
                }
            }
        }
    }
    sql
}

/// Drop a database, closing its sessions.
pub(crate) fn drop_database(name: &str) -> String {
    format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name))
}

/// Open or close a database to new connections.
pub(crate) fn allow_connections(database: &str, allow: bool) -> String {
    format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
        ident(database)
    )
}

/// Rename a database.
pub(crate) fn rename_database(from: &str, to: &str) -> String {
    format!("ALTER DATABASE {} RENAME TO {}", ident(from), ident(to))
}

// --- database-level settings carried to the new copy (see `settings.rs`) ----------------

/// Give a database to `owner`.
pub(crate) fn set_owner(database: &str, owner: &str) -> String {
    format!(
        "ALTER DATABASE {} OWNER TO {}",
        ident(database),
        ident(owner)
    )
}

/// Take PUBLIC's default privileges away (before the grants that replace them).
pub(crate) fn revoke_public(database: &str) -> String {
    format!("REVOKE ALL ON DATABASE {} FROM PUBLIC", ident(database))
}

/// Grant `privilege` (a keyword from the catalog, e.g. `CONNECT`) to `grantee` (`None`:
/// PUBLIC).
pub(crate) fn grant(
    database: &str,
    privilege: &str,
    grantee: Option<&str>,
    grantable: bool,
) -> String {
    let who = grantee.map_or_else(|| "PUBLIC".to_owned(), ident);
    format!(
        "GRANT {privilege} ON DATABASE {} TO {who}{}",
        ident(database),
        if grantable { " WITH GRANT OPTION" } else { "" }
    )
}

/// Set a database's connection limit.
pub(crate) fn connection_limit(database: &str, limit: i32) -> String {
    format!(
        "ALTER DATABASE {} CONNECTION LIMIT {limit}",
        ident(database)
    )
}

/// Set a database's comment.
pub(crate) fn comment(database: &str, text: &str) -> String {
    format!(
        "COMMENT ON DATABASE {} IS {}",
        ident(database),
        literal(text)
    )
}

/// Remove a database's comment (the working copy's marker, when QA had no comment).
pub(crate) fn clear_comment(database: &str) -> String {
    format!("COMMENT ON DATABASE {} IS NULL", ident(database))
}

/// `ALTER DATABASE … SET name TO value` (`role` `None`) or `ALTER ROLE … IN DATABASE … SET`;
/// `value` as stored in `pg_db_role_setting`.
pub(crate) fn set_setting(database: &str, role: Option<&str>, name: &str, value: &str) -> String {
    let db = ident(database);
    let prefix = match role {
        Some(r) => format!("ALTER ROLE {} IN DATABASE {db}", ident(r)),
        None => format!("ALTER DATABASE {db}"),
    };
    format!("{prefix} SET {} TO {}", ident(name), guc_value(name, value))
}

/// Render a stored setting value the way `pg_dump` does: list-valued
/// settings are split into one literal per element.
fn guc_value(name: &str, value: &str) -> String {
    const LIST: &[&str] = &[
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "local_preload_libraries",
        "shared_preload_libraries",
        "unix_socket_directories",
    ];
    if LIST.contains(&name.to_ascii_lowercase().as_str()) {
        let items = split_guc_list(value);
        if items.is_empty() {
            return "''".to_owned();
        }
        items
            .iter()
            .map(|i| literal(i))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        literal(value)
    }
}

/// Split `a, "B c", d` into `a`, `B c`, `d` (double quotes removed, `""` unescaped).
fn split_guc_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                item.push(*c);
                chars.next();
            }
            item = item.trim_end().to_owned();
        }
        items.push(item);
        if chars.next().is_none() {
            break;
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b"), " E'a\\\\b'");
    }

    #[test]
    fn create_database_keeps_the_locale() {
        assert_eq!(
            create_database("qa_next", None),
            "CREATE DATABASE \"qa_next\" TEMPLATE template0"
        );
        let icu = DatabaseLocale {
            encoding: "UTF8".into(),
            collate: "C".into(),
            ctype: "C".into(),
            provider: LocaleProvider::Icu,
            icu_locale: Some("en".into()),
            icu_rules: None,
        };
        assert_eq!(
            create_database("qa_next", Some(&icu)),
            "CREATE DATABASE \"qa_next\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' \
             LC_CTYPE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en'"
        );
        let libc = DatabaseLocale {
            encoding: "LATIN1".into(),
            collate: "de_DE.ISO-8859-1".into(),
            ctype: "de_DE.ISO-8859-1".into(),
            provider: LocaleProvider::Libc,
            icu_locale: None,
            icu_rules: None,
        };
        assert_eq!(
            create_database("qa_next", Some(&libc)),
            "CREATE DATABASE \"qa_next\" TEMPLATE template0 ENCODING 'LATIN1' \
             LC_COLLATE 'de_DE.ISO-8859-1' LC_CTYPE 'de_DE.ISO-8859-1' LOCALE_PROVIDER libc"
        );
    }

    #[test]
    fn splits_lists_like_pg_dump() {
        assert_eq!(
            split_guc_list("\"$user\", public, \"We ird\"\"x\""),
            ["$user", "public", "We ird\"x"]
        );
        assert_eq!(guc_value("search_path", "app, public"), "'app', 'public'");
        assert_eq!(guc_value("statement_timeout", "30s"), "'30s'");
    }

    #[test]
    fn statements_quote_every_name() {
        let odd = "qa\"; DROP DATABASE x; --";
        let quoted = "\"qa\"\"; DROP DATABASE x; --\"";
        for sql in [
            create_database(odd, None),
            drop_database(odd),
            allow_connections(odd, false),
            rename_database(odd, odd),
            set_owner(odd, odd),
            revoke_public(odd),
            connection_limit(odd, 3),
            comment(odd, odd),
        ] {
            assert!(sql.contains(quoted), "{sql}");
        }
        assert_eq!(
            rename_database("qa", "qa_prev_1"),
            "ALTER DATABASE \"qa\" RENAME TO \"qa_prev_1\""
        );
        assert_eq!(
            allow_connections("qa_next", false),
            "ALTER DATABASE \"qa_next\" ALLOW_CONNECTIONS false"
        );
        assert_eq!(
            count_rows("public", "Mixed Case"),
            "SELECT count(*) FROM ONLY \"public\".\"Mixed Case\""
        );
        assert_eq!(
            grant("qa", "CONNECT", None, true),
            "GRANT CONNECT ON DATABASE \"qa\" TO PUBLIC WITH GRANT OPTION"
        );
    }
}

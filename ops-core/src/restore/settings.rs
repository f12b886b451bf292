//! Database-level state that stays with a database's OID and must be carried
//! to the new copy before the swap: owner, grants, connection limit, comment,
//! `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET`.

use tokio_postgres::Client;

use super::error::RestoreError;
use super::server::{ident, literal};

/// A snapshot of one database's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DbSettings {
    pub(crate) owner: String,
    pub(crate) conn_limit: i32,
    pub(crate) allow_conn: bool,
    pub(crate) is_template: bool,
    /// `None`: default privileges (`datacl IS NULL`).
    pub(crate) acl: Option<Vec<Grant>>,
    pub(crate) comment: Option<String>,
    /// `(role or None for every role, ["name=value", …])`.
    pub(crate) role_settings: Vec<(Option<String>, Vec<String>)>,
}

/// One privilege granted on the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `None` is PUBLIC.
    pub(crate) grantee: Option<String>,
    pub(crate) privilege: String,
    pub(crate) grantable: bool,
}

/// Read `database`'s settings, or `None` if it does not exist.
pub(crate) async fn snapshot(
    client: &Client,
    database: &str,
) -> Result<Option<DbSettings>, RestoreError> {
    let step = || format!("read the settings of database `{database}`");
    let Some(row) = client
        .query_opt(
            "SELECT pg_get_userbyid(d.datdba), d.datconnlimit, d.datallowconn, d.datistemplate, \
             d.datacl IS NULL, shobj_description(d.oid, 'pg_database') \
             FROM pg_database d WHERE d.datname = $1",
            &[&database],
        )
        .await
        .map_err(|e| RestoreError::pg(step(), e))?
    else {
        return Ok(None);
    };
    let acl_null: bool = row.get(4);
    let acl = if acl_null {
        None
    } else {
        let rows = client
            .query(
                "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, \
                 a.privilege_type, a.is_grantable \
                 FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1 \
                 ORDER BY 1 NULLS FIRST, 2",
                &[&database],
            )
            .await
            .map_err(|e| RestoreError::pg(step(), e))?;
        Some(
            rows.iter()
                .map(|r| Grant {
                    grantee: r.get(0),
                    privilege: r.get(1),
                    grantable: r.get(2),
                })
                .collect(),
        )
    };
    let rows = client
        .query(
            "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, s.setconfig \
             FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
             WHERE d.datname = $1 ORDER BY 1 NULLS FIRST",
            &[&database],
        )
        .await
        .map_err(|e| RestoreError::pg(step(), e))?;
    let role_settings = rows
        .iter()
        .map(|r| {
            let cfg: Option<Vec<String>> = r.get(1);
            (r.get(0), cfg.unwrap_or_default())
        })
        .collect();
    Ok(Some(DbSettings {
        owner: row.get(0),
        conn_limit: row.get(1),
        allow_conn: row.get(2),
        is_template: row.get(3),
        acl,
        comment: row.get(5),
        role_settings,
    }))
}

/// Statements that give `target` the settings of `from` (except
/// `ALLOW_CONNECTIONS`, which the swap handles). `target` is fresh from
/// `template0`, so it has default privileges and no settings.
pub(crate) fn apply_statements(from: &DbSettings, target: &str, current_user: &str) -> Vec<String> {
    let db = ident(target);
    let mut out = Vec::new();
    if from.owner != current_user {
        out.push(format!(
            "ALTER DATABASE {db} OWNER TO {}",
            ident(&from.owner)
        ));
    }
    if let Some(acl) = &from.acl {
        out.push(format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"));
        for g in acl {
            let who = g
                .grantee
                .as_deref()
                .map_or_else(|| "PUBLIC".to_owned(), ident);
            out.push(format!(
                "GRANT {} ON DATABASE {db} TO {who}{}",
                g.privilege,
                if g.grantable {
                    " WITH GRANT OPTION"
                } else {
                    ""
                }
            ));
        }
    }
    if from.conn_limit != -1 {
        out.push(format!(
            "ALTER DATABASE {db} CONNECTION LIMIT {}",
            from.conn_limit
        ));
    }
    if let Some(c) = &from.comment {
        out.push(format!("COMMENT ON DATABASE {db} IS {}", literal(c)));
    }
    for (role, settings) in &from.role_settings {
        let prefix = match role {
            Some(r) => format!("ALTER ROLE {} IN DATABASE {db}", ident(r)),
            None => format!("ALTER DATABASE {db}"),
        };
        for s in settings {
            if let Some((name, value)) = s.split_once('=') {
                out.push(format!(
                    "{prefix} SET {} TO {}",
                    ident(name),
                    guc_value(name, value)
                ));
            }
        }
    }
    out
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
    fn splits_lists_like_pg_dump() {
        assert_eq!(
            split_guc_list("\"$user\", public, \"We ird\"\"x\""),
            ["$user", "public", "We ird\"x"]
        );
        assert_eq!(guc_value("search_path", "app, public"), "'app', 'public'");
        assert_eq!(guc_value("statement_timeout", "30s"), "'30s'");
    }

    #[test]
    fn statements_for_a_locked_down_db() {
        let s = DbSettings {
            owner: "qa_owner".into(),
            conn_limit: 20,
            allow_conn: true,
            is_template: false,
            acl: Some(vec![Grant {
                grantee: Some("qa_app".into()),
                privilege: "CONNECT".into(),
                grantable: false,
            }]),
            comment: Some("QA's db".into()),
            role_settings: vec![
                (None, vec!["search_path=app, public".into()]),
                (Some("qa_app".into()), vec!["statement_timeout=30s".into()]),
            ],
        };
        let sql = apply_statements(&s, "qa_next", "admin");
        assert_eq!(
            sql,
            [
                "ALTER DATABASE \"qa_next\" OWNER TO \"qa_owner\"",
                "REVOKE ALL ON DATABASE \"qa_next\" FROM PUBLIC",
                "GRANT CONNECT ON DATABASE \"qa_next\" TO \"qa_app\"",
                "ALTER DATABASE \"qa_next\" CONNECTION LIMIT 20",
                "COMMENT ON DATABASE \"qa_next\" IS 'QA''s db'",
                "ALTER DATABASE \"qa_next\" SET \"search_path\" TO 'app', 'public'",
                "ALTER ROLE \"qa_app\" IN DATABASE \"qa_next\" SET \"statement_timeout\" TO '30s'",
            ]
        );
    }
}

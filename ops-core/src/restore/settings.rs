//! Database-level state that stays with a database's OID and must be carried
//! to the new copy before the swap: owner, grants, connection limit, comment,
//! `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET`; and a database's encoding
//! and locale ([`DatabaseLocale`]), which only `CREATE DATABASE` can set.

use std::fmt;

use tokio_postgres::{Client, GenericClient};

use super::error::RestoreError;
use super::sql;

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
        .query_opt(sql::DATABASE, &[&database])
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
            .query(sql::DATABASE_GRANTS, &[&database])
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
        .query(sql::DATABASE_ROLE_SETTINGS, &[&database])
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

/// Which library a database's collations come from (`datlocprovider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocaleProvider {
    /// The C library (`LC_COLLATE`/`LC_CTYPE`).
    Libc,
    /// ICU, with an ICU locale such as `en` or `de-DE`.
    Icu,
    /// PostgreSQL's own (17+), with a builtin locale such as `C.UTF-8`.
    Builtin,
    /// The server predates locale providers (before 15): libc, not named in `CREATE DATABASE`.
    Unknown,
}

impl fmt::Display for LocaleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Libc => "libc",
            Self::Icu => "icu",
            Self::Builtin => "builtin",
            Self::Unknown => "libc (server before 15)",
        })
    }
}

/// A database's encoding and locale, as `CREATE DATABASE` sets them and `ORDER BY` on text
/// depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseLocale {
    /// `ENCODING`, e.g. `UTF8`.
    pub encoding: String,
    /// `LC_COLLATE`.
    pub collate: String,
    /// `LC_CTYPE`.
    pub ctype: String,
    /// `LOCALE_PROVIDER`.
    pub provider: LocaleProvider,
    /// `ICU_LOCALE` (ICU) or `BUILTIN_LOCALE` (builtin).
    pub icu_locale: Option<String>,
    /// `ICU_RULES` (16+).
    pub icu_rules: Option<String>,
}

impl fmt::Display for DatabaseLocale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "encoding {}, provider {}, LC_COLLATE {}, LC_CTYPE {}",
            self.encoding, self.provider, self.collate, self.ctype
        )?;
        if let Some(l) = &self.icu_locale {
            write!(f, ", locale {l}")?;
        }
        if let Some(r) = &self.icu_rules {
            write!(f, ", ICU rules {r}")?;
        }
        Ok(())
    }
}

impl DatabaseLocale {
    /// What differs between `self` (called `this`) and `other` (called `that`), one line
    /// per setting: `encoding: UTF8 (production) vs LATIN1 (QA)`.
    pub fn differences(&self, this: &str, other: &Self, that: &str) -> Vec<String> {
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".to_owned());
        let pairs = [
            ("encoding", self.encoding.clone(), other.encoding.clone()),
            (
                "locale provider",
                self.provider.to_string(),
                other.provider.to_string(),
            ),
            ("LC_COLLATE", self.collate.clone(), other.collate.clone()),
            ("LC_CTYPE", self.ctype.clone(), other.ctype.clone()),
            (
                "ICU/builtin locale",
                opt(&self.icu_locale),
                opt(&other.icu_locale),
            ),
            ("ICU rules", opt(&self.icu_rules), opt(&other.icu_rules)),
        ];
        pairs
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(what, a, b)| format!("{what}: {a} ({this}) vs {b} ({that})"))
            .collect()
    }
}

/// Read `database`'s encoding and locale, or `None` if it does not exist.
pub(crate) async fn locale(
    client: &impl GenericClient,
    database: &str,
) -> Result<Option<DatabaseLocale>, RestoreError> {
    let row = client
        .query_opt(sql::DATABASE_LOCALE, &[&database])
        .await
        .map_err(|e| RestoreError::pg(format!("read the locale of database `{database}`"), e))?;
    Ok(row.map(|r| {
        let provider: Option<String> = r.get(3);
        DatabaseLocale {
            encoding: r.get(0),
            collate: r.get(1),
            ctype: r.get(2),
            provider: match provider.as_deref() {
                Some("c") => LocaleProvider::Libc,
                Some("i") => LocaleProvider::Icu,
                Some("b") => LocaleProvider::Builtin,
                _ => LocaleProvider::Unknown,
            },
            icu_locale: r.get(4),
            icu_rules: r.get(5),
        }
    }))
}

/// Statements that give `target` the settings of `from` (except
/// `ALLOW_CONNECTIONS`, which the swap handles). `target` is fresh from
/// `template0`, so it has default privileges and no settings.
pub(crate) fn apply_statements(from: &DbSettings, target: &str, current_user: &str) -> Vec<String> {
    let mut out = Vec::new();
    if from.owner != current_user {
        out.push(sql::set_owner(target, &from.owner));
    }
    if let Some(acl) = &from.acl {
        out.push(sql::revoke_public(target));
        for g in acl {
            out.push(sql::grant(
                target,
                &g.privilege,
                g.grantee.as_deref(),
                g.grantable,
            ));
        }
    }
    if from.conn_limit != -1 {
        out.push(sql::connection_limit(target, from.conn_limit));
    }
    if let Some(c) = &from.comment {
        out.push(sql::comment(target, c));
    }
    for (role, settings) in &from.role_settings {
        for s in settings {
            if let Some((name, value)) = s.split_once('=') {
                out.push(sql::set_setting(target, role.as_deref(), name, value));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

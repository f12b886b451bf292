//! What the restore workflow reads from the QA server's catalog before it decides anything:
//! the connected role and its privileges, a database's own settings, database names, and
//! the sessions and prepared transactions on a database. The guards
//! ([`guards`](super::guards)) are plain functions over these answers; the real server
//! answers through `tokio_postgres::Client`, the unit tests through an in-memory catalog.

use tokio_postgres::Client;

use super::error::{PreparedTransaction, RestoreError};
use super::settings::{self, DbSettings};
use super::sql;

/// The connected role as the preflight sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Role {
    /// `current_user`.
    pub(crate) name: String,
    /// The database the session is connected to.
    pub(crate) database: String,
    pub(crate) superuser: bool,
    pub(crate) createdb: bool,
    pub(crate) createrole: bool,
    /// Member of `pg_signal_backend` (may terminate other roles' sessions).
    pub(crate) signal_backend: bool,
}

/// Another session on a database (autovacuum workers left out: a rename or drop stops
/// them itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) pid: i32,
    /// Its role (`?` if unknown).
    pub(crate) user: String,
    /// Its `application_name` (empty if unset).
    pub(crate) application_name: String,
    /// Its state, when the connected role may see it.
    pub(crate) state: Option<String>,
    /// Whether the connected role may terminate it (Postgres' rules for
    /// `pg_terminate_backend`).
    pub(crate) may_terminate: bool,
    /// Whether its role is a superuser (or it has no role).
    pub(crate) superuser: bool,
}

impl Session {
    /// A row of [`sql::SESSIONS`] or [`sql::TERMINATE_SESSIONS`] (same first six columns).
    pub(crate) fn from_row(row: &tokio_postgres::Row) -> Self {
        Self {
            pid: row.get(0),
            user: row.get(1),
            application_name: row.get(2),
            state: row.get(3),
            may_terminate: row.get(4),
            superuser: row.get(5),
        }
    }
}

/// Reads of the server's catalog. Each method makes one kind of read and names it in its
/// error.
#[async_trait::async_trait]
pub(crate) trait Catalog: Send + Sync {
    /// The connected role, its attributes and the connected database.
    async fn current_role(&self) -> Result<Role, RestoreError>;
    /// Whether the current role is a member of `role` (how a non-superuser owns QA).
    async fn member_of(&self, role: &str) -> Result<bool, RestoreError>;
    /// `database`'s own settings (owner, grants, template flag…), `None` if it does not exist.
    async fn database(&self, database: &str) -> Result<Option<DbSettings>, RestoreError>;
    /// Whether `database` is a template; `None` if it does not exist.
    async fn is_template(&self, database: &str) -> Result<Option<bool>, RestoreError>;
    /// Every database's name.
    async fn database_names(&self) -> Result<Vec<String>, RestoreError>;
    /// The sessions on `database` other than this one.
    async fn sessions(&self, database: &str) -> Result<Vec<Session>, RestoreError>;
    /// The prepared transactions on `database` (none when `max_prepared_transactions` is 0).
    async fn prepared_transactions(
        &self,
        database: &str,
    ) -> Result<Vec<PreparedTransaction>, RestoreError>;
}

#[async_trait::async_trait]
impl Catalog for Client {
    async fn current_role(&self) -> Result<Role, RestoreError> {
        let row = self
            .query_one(sql::CURRENT_ROLE, &[])
            .await
            .map_err(|e| RestoreError::pg("read the current role's privileges", e))?;
        Ok(Role {
            name: row.get(0),
            database: row.get(1),
            superuser: row.get(2),
            createdb: row.get(3),
            createrole: row.get(4),
            signal_backend: row.get(5),
        })
    }

    async fn member_of(&self, role: &str) -> Result<bool, RestoreError> {
        Ok(self
            .query_one(sql::IS_MEMBER, &[&role])
            .await
            .map_err(|e| RestoreError::pg("check ownership of QA", e))?
            .get(0))
    }

    async fn database(&self, database: &str) -> Result<Option<DbSettings>, RestoreError> {
        settings::snapshot(self, database).await
    }

    async fn is_template(&self, database: &str) -> Result<Option<bool>, RestoreError> {
        Ok(self
            .query_opt(sql::IS_TEMPLATE, &[&database])
            .await
            .map_err(|e| RestoreError::pg(format!("look up `{database}`"), e))?
            .map(|r| r.get(0)))
    }

    async fn database_names(&self) -> Result<Vec<String>, RestoreError> {
        let rows = self
            .query(sql::DATABASE_NAMES, &[])
            .await
            .map_err(|e| RestoreError::pg("list databases", e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn sessions(&self, database: &str) -> Result<Vec<Session>, RestoreError> {
        let rows = self
            .query(sql::SESSIONS, &[&database])
            .await
            .map_err(|e| RestoreError::pg(format!("list the sessions on `{database}`"), e))?;
        Ok(rows.iter().map(Session::from_row).collect())
    }

    async fn prepared_transactions(
        &self,
        database: &str,
    ) -> Result<Vec<PreparedTransaction>, RestoreError> {
        let rows = self
            .query(sql::PREPARED_TRANSACTIONS, &[&database])
            .await
            .map_err(|e| {
                RestoreError::pg(format!("list the prepared transactions on `{database}`"), e)
            })?;
        Ok(rows
            .iter()
            .map(|r| PreparedTransaction {
                gid: r.get(0),
                owner: r.get(1),
                prepared: r.get(2),
            })
            .collect())
    }
}

/// An in-memory catalog for unit tests: answers from its fields and records each read.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Memory {
    pub(crate) role: Role,
    /// Roles the current role is a member of.
    pub(crate) member_of: Vec<String>,
    pub(crate) databases: std::collections::BTreeMap<String, DbSettings>,
    pub(crate) sessions: Vec<(String, Session)>,
    pub(crate) prepared: Vec<(String, PreparedTransaction)>,
    /// The reads made, as `method(argument)`.
    pub(crate) reads: std::sync::Mutex<Vec<String>>,
}

#[cfg(test)]
impl Memory {
    fn read(&self, what: String) {
        self.reads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(what);
    }

    /// The reads made so far.
    pub(crate) fn reads(&self) -> Vec<String> {
        self.reads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
#[async_trait::async_trait]
impl Catalog for Memory {
    async fn current_role(&self) -> Result<Role, RestoreError> {
        self.read("current_role()".into());
        Ok(self.role.clone())
    }

    async fn member_of(&self, role: &str) -> Result<bool, RestoreError> {
        self.read(format!("member_of({role})"));
        Ok(self.role.name == role || self.member_of.iter().any(|r| r == role))
    }

    async fn database(&self, database: &str) -> Result<Option<DbSettings>, RestoreError> {
        self.read(format!("database({database})"));
        Ok(self.databases.get(database).cloned())
    }

    async fn is_template(&self, database: &str) -> Result<Option<bool>, RestoreError> {
        self.read(format!("is_template({database})"));
        Ok(self.databases.get(database).map(|d| d.is_template))
    }

    async fn database_names(&self) -> Result<Vec<String>, RestoreError> {
        self.read("database_names()".into());
        Ok(self.databases.keys().cloned().collect())
    }

    async fn sessions(&self, database: &str) -> Result<Vec<Session>, RestoreError> {
        self.read(format!("sessions({database})"));
        Ok(self
            .sessions
            .iter()
            .filter(|(d, _)| d == database)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn prepared_transactions(
        &self,
        database: &str,
    ) -> Result<Vec<PreparedTransaction>, RestoreError> {
        self.read(format!("prepared_transactions({database})"));
        Ok(self
            .prepared
            .iter()
            .filter(|(d, _)| d == database)
            .map(|(_, p)| p.clone())
            .collect())
    }
}

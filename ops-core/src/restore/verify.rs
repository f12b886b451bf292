//! The verification gate: tables present, row counts, user check queries.
//! Every comparison happens in Rust; SQL only fetches facts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, GenericClient};

use super::error::RestoreError;
use super::server::PgServer;
use super::sql;
use super::toc::Toc;

/// A user-supplied query that must return exactly one row with one `true` boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckQuery {
    /// A short name used in logs and errors.
    pub name: String,
    /// The query, e.g. `SELECT count(*) > 0 FROM customers`.
    pub sql: String,
}

impl CheckQuery {
    /// A named check.
    pub fn new(name: impl Into<String>, sql: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sql: sql.into(),
        }
    }
}

/// Per-table row counts of a source database (`"schema.table"` → rows).
///
/// Written next to a dump when the workflow dumps a live database (counts
/// taken in the dump's own snapshot, so they match exactly), or by the job
/// that makes nightly dumps, so a restore from a file can be checked when
/// production is not reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCountManifest {
    /// The source database name.
    pub database: String,
    /// `pg_database_size` of the source, used as the progress total.
    #[serde(default)]
    pub database_bytes: Option<u64>,
    /// Exact row counts per table (`FROM ONLY`, so partitions count once).
    pub tables: BTreeMap<String, i64>,
}

impl RowCountManifest {
    /// Count the rows of every table in `database` (`jobs` connections in parallel).
    pub async fn collect(
        server: &PgServer,
        database: &str,
        jobs: u32,
    ) -> Result<Self, RestoreError> {
        let client = server.connect(database).await?;
        let tables = user_tables(&client).await?;
        let bytes = database_size(&client, database).await?;
        drop(client);
        let tables = count_rows(server, database, &tables, jobs).await?;
        Ok(Self {
            database: database.to_owned(),
            database_bytes: bytes,
            tables,
        })
    }

    /// Read a manifest written by [`Self::save`].
    pub fn load(path: &Path) -> Result<Self, RestoreError> {
        let text = std::fs::read(path)
            .map_err(|e| RestoreError::io(format!("read {}", path.display()), e))?;
        serde_json::from_slice(&text).map_err(|e| {
            RestoreError::Config(format!(
                "{} is not a row-count manifest: {e}",
                path.display()
            ))
        })
    }

    /// Write the manifest as JSON.
    pub fn save(&self, path: &Path) -> Result<(), RestoreError> {
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| RestoreError::Config(format!("cannot encode manifest: {e}")))?;
        std::fs::write(path, text)
            .map_err(|e| RestoreError::io(format!("write {}", path.display()), e))
    }
}

/// `"schema.table"` of a table.
pub(crate) fn key(schema: &str, table: &str) -> String {
    format!("{schema}.{table}")
}

/// Ordinary and partitioned user tables as `(schema, name)`.
pub(crate) async fn user_tables(
    client: &impl GenericClient,
) -> Result<Vec<(String, String)>, RestoreError> {
    let rows = client
        .query(sql::USER_TABLES, &[])
        .await
        .map_err(|e| RestoreError::pg("list tables", e))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub(crate) async fn database_size(
    client: &impl GenericClient,
    database: &str,
) -> Result<Option<u64>, RestoreError> {
    let row = client
        .query_one(sql::DATABASE_SIZE, &[&database])
        .await
        .map_err(|e| RestoreError::pg(format!("read the size of `{database}`"), e))?;
    let size: i64 = row.get(0);
    Ok(u64::try_from(size).ok())
}

/// Exact row counts, spread over `jobs` connections.
pub(crate) async fn count_rows(
    server: &PgServer,
    database: &str,
    tables: &[(String, String)],
    jobs: u32,
) -> Result<BTreeMap<String, i64>, RestoreError> {
    let jobs = usize::try_from(jobs.max(1))
        .unwrap_or(1)
        .min(tables.len().max(1));
    let mut buckets: Vec<Vec<(String, String)>> = vec![Vec::new(); jobs];
    for (i, t) in tables.iter().enumerate() {
        buckets[i % jobs].push(t.clone());
    }
    let futs = buckets.into_iter().map(|bucket| async move {
        let mut out = Vec::new();
        if bucket.is_empty() {
            return Ok(out);
        }
        let client = server.connect(database).await?;
        for (schema, table) in bucket {
            out.push((
                key(&schema, &table),
                count_one(&client, &schema, &table).await?,
            ));
        }
        Ok::<_, RestoreError>(out)
    });
    let mut all = BTreeMap::new();
    for part in futures_util::future::join_all(futs).await {
        all.extend(part?);
    }
    Ok(all)
}

pub(crate) async fn count_one(
    client: &impl GenericClient,
    schema: &str,
    table: &str,
) -> Result<i64, RestoreError> {
    let row = client
        .query_one(sql::count_rows(schema, table).as_str(), &[])
        .await
        .map_err(|e| RestoreError::pg(format!("count the rows of {schema}.{table}"), e))?;
    Ok(row.get(0))
}

/// Every TABLE of the archive must exist in the restored database.
pub(crate) fn missing_tables(toc: &Toc, present: &[(String, String)]) -> Vec<String> {
    let present: Vec<String> = present.iter().map(|(s, t)| format!("{s} {t}")).collect();
    toc.tables()
        .filter(|rest| {
            // `rest` is "schema name owner"; names are printed unquoted.
            !present
                .iter()
                .any(|p| rest == p || rest.starts_with(&format!("{p} ")))
        })
        .map(|rest| format!("table `{rest}` from the dump is missing"))
        .collect()
}

/// Compare restored counts with the expected ones (`tolerance` is a fraction, 0 = exact).
pub(crate) fn compare_counts(
    expected: &BTreeMap<String, i64>,
    actual: &BTreeMap<String, i64>,
    tolerance: f64,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (table, want) in expected {
        match actual.get(table) {
            None => failures.push(format!("table {table} is missing (expected {want} rows)")),
            Some(got) => {
                #[allow(clippy::cast_precision_loss)]
                let allowed = (*want as f64 * tolerance).abs();
                #[allow(clippy::cast_precision_loss)]
                let diff = (*got - *want).abs() as f64;
                if diff > allowed {
                    failures.push(format!("table {table} has {got} rows, expected {want}"));
                }
            }
        }
    }
    failures
}

/// Run the user checks; each must return one row with one `true`.
pub(crate) async fn run_checks(client: &Client, checks: &[CheckQuery]) -> Vec<String> {
    let mut failures = Vec::new();
    for check in checks {
        let outcome = match client.query(check.sql.as_str(), &[]).await {
            Err(e) => Err(format!(
                "errored: {}",
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned())
            )),
            Ok(rows) if rows.len() != 1 || rows[0].len() != 1 => Err(format!(
                "returned {} row(s) instead of one row with one boolean",
                rows.len()
            )),
            Ok(rows) => match rows[0].try_get::<_, Option<bool>>(0) {
                Ok(Some(true)) => Ok(()),
                Ok(Some(false)) => Err("returned false".to_owned()),
                Ok(None) => Err("returned NULL".to_owned()),
                Err(_) => Err("did not return a boolean".to_owned()),
            },
        };
        match outcome {
            Ok(()) => tracing::info!(check = %check.name, "check passed"),
            Err(why) => failures.push(format!("check `{}` {why}", check.name)),
        }
    }
    failures
}

/// Tables named in the archive, as `(schema, name)`, resolved against the restored catalogue.
pub(crate) fn toc_tables_resolved(
    toc: &Toc,
    present: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out = BTreeSet::new();
    for rest in toc.tables() {
        if let Some(p) = present
            .iter()
            .find(|(s, t)| rest.starts_with(&format!("{s} {t} ")) || rest == format!("{s} {t}"))
        {
            out.insert(p.clone());
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_compare_in_rust() {
        let exp = BTreeMap::from([("public.a".to_owned(), 100), ("public.b".to_owned(), 5)]);
        let act = BTreeMap::from([("public.a".to_owned(), 100), ("public.b".to_owned(), 4)]);
        assert_eq!(compare_counts(&exp, &act, 0.0).len(), 1);
        assert!(compare_counts(&exp, &act, 0.25).is_empty());
        let missing = BTreeMap::from([("public.a".to_owned(), 100)]);
        assert_eq!(compare_counts(&exp, &missing, 0.5).len(), 1);
    }

    #[test]
    fn tables_from_toc() {
        let toc = Toc::parse("1; 1259 1 TABLE public we ird postgres\n2; 1259 2 TABLE app x bob\n");
        let present = vec![("public".to_owned(), "we ird".to_owned())];
        assert_eq!(
            missing_tables(&toc, &present),
            ["table `app x bob` from the dump is missing"]
        );
        assert_eq!(toc_tables_resolved(&toc, &present), present);
    }
}

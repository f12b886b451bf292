//! The stream engine ([`Engine::Stream`](super::super::Engine::Stream)): Schema, Copy and
//! PostData, in place of Dump and Restore for a live source.
//!
//! - **Schema**: the source exports one repeatable-read snapshot (its session stays open in
//!   the state until PostData begins); `pg_dump -Fc --section=pre-data --section=post-data
//!   --snapshot=S` writes the schema (no rows) to the run's marked work folder.
//! - **Copy**: the pre-data is restored (`pg_restore --section=pre-data`); then `jobs`
//!   workers, each with a session on the source that imported the snapshot and one on the
//!   working copy, take the tables in the order of the work waiting on each (its size with
//!   its indexes, plus for a table foreign keys point to the size of the tables they come
//!   from, see `plan_tasks`) and stream each with `COPY … TO STDOUT` into
//!   `TRUNCATE; COPY … FROM STDIN (FREEZE)` (plain tables and leaf partitions; generated
//!   columns left out), in batches of [`BATCH`] bytes: memory is bounded per worker. The
//!   binary format is used when both servers are of the same major version and every copied
//!   column is of a built-in type (or an array of one) with binary I/O — no number, date or
//!   timestamp is printed by the source and parsed again by the target, which makes the copy
//!   about a third cheaper in CPU; otherwise (an extension's type, an enum, a domain, a
//!   composite…) text. Rows are counted in the stream (text: lines; binary: tuples, the
//!   framing checked) and must be what the target took. As soon as a plain table's
//!   rows are in, one of N indexers builds its own indexes and primary/unique/exclusion
//!   constraints (`pg_restore --section=post-data -L <its items>`) and then `ANALYZE`s it
//!   (unless sanitise scripts will change rows, or it has extended statistics, which come
//!   with the post-data: the Analyze step does those), while other tables are still
//!   copied; a foreign key between two plain tables is added (and validated) by an indexer
//!   as soon as both its tables are built, never two at once on one table (they lock both
//!   sides). Large objects (created empty by the pre-data) are filled in
//!   [`LO_CHUNK`] slices by one worker; the sequences are set to their values read at the
//!   snapshot.
//! - **PostData**: `pg_restore -j N --section=post-data -L <the rest>` from the schema file
//!   (a file, so `pg_restore` works in parallel): what Copy did not build — foreign keys
//!   from or to partitioned tables, triggers, policies, partitioned tables' indexes,
//!   materialized views refreshed.
//!
//! An interrupt drops the workers (their sessions close; the target's transactions roll
//! back) and kills `pg_restore`/`pg_dump`'s process groups; a worker whose session dies or
//! a source that goes away fails the step. Either way the runner drops the working copy and
//! the work folder, as for the dump engine; QA is never touched before the swap.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::{SinkExt, StreamExt};
use tokio_postgres::Client;

use super::super::error::RestoreError;
use super::super::sql::{self, exec};
use super::super::toc::Toc;
use super::super::{DumpSource, RowCounts, Step, tools, verify};
use super::{Ctx, Expected, State, dump, load};

/// Bytes of `COPY` data a worker gathers before handing them to the target.
pub(super) const BATCH: usize = 256 * 1024;

/// Bytes of a large object read and written at a time.
pub(super) const LO_CHUNK: i32 = 1024 * 1024;

/// One unit of a worker's work.
#[derive(Debug)]
enum Task {
    /// A plain table or leaf partition: schema, name, columns to copy, and whether its
    /// columns allow the binary format (built-in types with binary I/O).
    Table {
        schema: String,
        table: String,
        columns: Vec<String>,
        binary: bool,
    },
    /// Every large object's content.
    LargeObjects,
}

/// A source sequence's state.
#[derive(Debug, Clone)]
pub(super) struct SequenceValue {
    schema: String,
    name: String,
    value: i64,
    called: bool,
}

/// What a worker copied.
#[derive(Debug, Default)]
struct Copied {
    /// Rows per table (`schema.table`).
    rows: BTreeMap<String, i64>,
    large_objects: u64,
    bytes: u64,
}

fn interrupted() -> RestoreError {
    RestoreError::Interrupted {
        step: Step::Copy,
        swapped: false,
        left_behind: Vec::new(),
    }
}

/// The source and its database (the table runs the stream engine for live sources only).
fn source<'a>(cx: &Ctx<'a>) -> Result<(&'a super::super::PgServer, &'a str), RestoreError> {
    match &cx.job.source {
        DumpSource::Database { server, database } => Ok((server, database)),
        DumpSource::File(p) => Err(RestoreError::Config(format!(
            "the stream engine needs a live source, not the dump file {}",
            p.display()
        ))),
    }
}

/// Export the snapshot and `pg_dump` the schema in it to the work folder.
pub(super) async fn schema(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let (server, database) = source(cx)?;
    let folder = dump::work_folder(cx, st)?;
    let holder = server.connect(database).await?;
    exec(&holder, sql::BEGIN_SNAPSHOT, "open the source snapshot").await?;
    let snap: String = holder
        .query_one(sql::EXPORT_SNAPSHOT, &[])
        .await
        .map_err(|e| RestoreError::pg("export the source snapshot", e))?
        .get(0);
    // Sequences are not transactional: read them at once, as close to the snapshot as can
    // be (a `nextval` on the source from now on is not carried over).
    st.sequences = read_sequences(&holder).await?;
    st.snapshot = Some((holder, snap.clone()));
    let path = folder.join("schema.dump");
    let opts = &cx.job.options;
    let cmd = tools::schema_dump_command(opts.bin_dir.as_deref(), server, database, &path, &snap);
    let ctl = tools::Control {
        cancel: cx.job.cancel.clone(),
        pause: cx.job.pause.clone().map(|p| (Step::Schema, p)),
    };
    tools::run_streaming(cmd, "pg_dump", |_| {}, &ctl).await?;
    st.dump_path = path;
    Ok(())
}

/// Pre-data, then the rows, large objects and sequence values in the snapshot.
pub(super) async fn copy(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let (server, database) = source(cx)?;
    load::pg_restore(cx, st, Some("pre-data"), None).await?;
    let Some((holder, snap)) = &st.snapshot else {
        return Err(RestoreError::Config(
            "the stream engine's snapshot is missing (Schema did not run)".to_owned(),
        ));
    };
    let folder = st
        .dump_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let plan = plan_builds(&st.toc, &folder, holder).await?;
    let tasks = plan_tasks(holder, &plan.fks).await?;
    let partitioned = holder
        .query(sql::PARTITIONED_TABLES, &[])
        .await
        .map_err(|e| RestoreError::pg("list the source's partitioned tables", e))?;
    let jobs = usize::try_from(cx.job.options.jobs.max(1))
        .unwrap_or(1)
        .min(tasks.len().max(1));
    tracing::info!(
        tasks = tasks.len(),
        workers = jobs,
        "streaming the source's rows into the working copy"
    );
    // Statistics taken now would be stale after sanitising: then the Analyze step does it all.
    let analyze_early = cx.job.options.analyze && cx.job.options.sanitize.is_empty();
    // The binary format (cheaper to write and to read than text: no number or timestamp
    // formatting and parsing) is only portable between servers of the same major version.
    let same_major = major_version(holder).await? == major_version(cx.admin).await?;
    let queue = Mutex::new(tasks);
    let paused = AtomicBool::new(false);
    let board = Board::new(&plan, jobs);
    let workers = (0..jobs)
        .map(|_| async {
            let r = worker(
                cx,
                (server, database, snap),
                &queue,
                (&paused, same_major),
                &board,
            )
            .await;
            board.update(|b| b.copying -= 1);
            r
        })
        .collect::<Vec<_>>();
    let indexers = (0..jobs).map(|_| indexer(cx, &st.dump_path, &plan, &board, analyze_early));
    let all = async {
        let (copied, _) = tokio::try_join!(
            futures_util::future::try_join_all(workers),
            futures_util::future::try_join_all(indexers)
        )?;
        Ok::<_, RestoreError>(copied)
    };
    let results = match &cx.job.cancel {
        Some(token) => tokio::select! {
            biased;
            () = token.cancelled() => return Err(interrupted()),
            r = all => r?,
        },
        None => all.await?,
    };
    let mut counts = BTreeMap::new();
    let (mut los, mut bytes) = (0u64, 0u64);
    for c in results {
        counts.extend(c.rows);
        los += c.large_objects;
        bytes += c.bytes;
    }
    for row in partitioned {
        counts.insert(verify::key(row.get(0), row.get(1)), 0);
    }
    let sequences = set_sequences(cx, &st.sequences).await?;
    let (done, analyzed) = board.into_done();
    let rest = folder.join("post-data.list");
    write_list(
        &rest,
        &mut st
            .toc
            .entries
            .iter()
            .map(|e| e.id)
            .filter(|id| !done.contains(id)),
    )?;
    st.analyzed = analyzed;
    tracing::info!(
        tables = counts.len(),
        bytes,
        large_objects = los,
        sequences,
        "rows, large objects and sequences copied"
    );
    st.post_list = Some(rest);
    if matches!(cx.job.options.row_counts, RowCounts::Auto) {
        st.expected = Some(Expected {
            counts,
            tolerance: 0.0,
            bytes: None,
        });
    }
    Ok(())
}

/// `pg_restore -j N --section=post-data` from the schema file.
pub(super) async fn post_data(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    load::pg_restore(cx, st, Some("post-data"), Some(Step::PostData)).await?;
    st.items_restored = st.items.len();
    Ok(())
}

/// What Copy builds as soon as it can, while other tables are still copied.
#[derive(Debug, Default)]
struct BuildPlan {
    /// Per plain table (not a partition, `schema.table`).
    tables: BTreeMap<String, TableBuild>,
    /// Foreign keys between two such tables, each added (and validated) once both its tables
    /// are built.
    fks: Vec<ForeignKey>,
}

/// What is done for a plain table once its rows are in.
#[derive(Debug, Clone, Default)]
struct TableBuild {
    /// A `pg_restore -L` list of its own post-data indexes and constraints (primary keys,
    /// unique, exclusion) and their ids (`None`: it has none).
    list: Option<(PathBuf, Vec<u32>)>,
    /// Whether it may be analyzed then (not if it has extended statistics, which the
    /// post-data creates).
    analyze: bool,
}

/// A foreign key's `pg_restore -L` list and the tables it locks (`schema.table`).
#[derive(Debug, Clone)]
struct ForeignKey {
    id: u32,
    list: PathBuf,
    tables: Vec<String>,
}

/// Write a `pg_restore -L` list of `ids`.
fn write_list(path: &Path, ids: &mut dyn Iterator<Item = u32>) -> Result<(), RestoreError> {
    let text: String = ids.map(|id| format!("{id};\n")).collect();
    std::fs::write(path, text).map_err(|e| RestoreError::io(format!("write {}", path.display()), e))
}

/// Per plain table, the list of its own post-data indexes and constraints, built as soon as
/// its rows are in; the foreign keys between plain tables, added as soon as both sides are
/// built (what was not built early is left to PostData, [`State::post_list`]). Files in the
/// work folder.
async fn plan_builds(toc: &Toc, folder: &Path, holder: &Client) -> Result<BuildPlan, RestoreError> {
    let query = |q: &'static str, what: &'static str| async move {
        holder
            .query(q, &[])
            .await
            .map_err(|e| RestoreError::pg(what, e))
    };
    let tables = query(sql::PLAIN_TABLES, "list the source's plain tables").await?;
    let indexes = query(sql::PLAIN_TABLE_INDEXES, "list the source's indexes").await?;
    let fks = query(sql::PLAIN_FOREIGN_KEYS, "list the source's foreign keys").await?;
    let ext_stats = query(
        sql::TABLES_WITH_EXTENDED_STATS,
        "list the source's extended statistics",
    )
    .await?;
    let with_ext_stats: std::collections::HashSet<String> = ext_stats
        .iter()
        .map(|r| verify::key(r.get(0), r.get(1)))
        .collect();
    // Longest names first: with names holding spaces, `schema a b ` wins over `schema a `.
    let mut tables: Vec<(String, String)> = tables.iter().map(|r| (r.get(0), r.get(1))).collect();
    tables.sort_by_key(|(s, t)| std::cmp::Reverse(s.len() + t.len()));
    let index_of: BTreeMap<(String, String), String> = indexes
        .iter()
        .map(|r| {
            let (s, t, i): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            ((s.clone(), i), verify::key(&s, &t))
        })
        .collect();
    // `schema table constraint ` as the archive lists an FK, and its tables.
    let mut fk_of: Vec<(String, Vec<String>)> = fks
        .iter()
        .map(|r| {
            let (s, t, c, rs, rt): (String, String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            let (from, to) = (verify::key(&s, &t), verify::key(&rs, &rt));
            let tables = if from == to {
                vec![from]
            } else {
                vec![from, to]
            };
            (format!("{s} {t} {c} "), tables)
        })
        .collect();
    fk_of.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    let mut per_table: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut plan = BuildPlan::default();
    for e in &toc.entries {
        let owner = match e.kind.as_str() {
            "CONSTRAINT" => tables
                .iter()
                .find(|(s, t)| e.rest.starts_with(&format!("{s} {t} ")))
                .map(|(s, t)| verify::key(s, t)),
            "INDEX" => index_of
                .iter()
                .find(|((s, i), _)| e.rest.starts_with(&format!("{s} {i} ")))
                .map(|(_, k)| k.clone()),
            "FK CONSTRAINT" => {
                if let Some((_, fk_tables)) = fk_of.iter().find(|(p, _)| e.rest.starts_with(p)) {
                    let list = folder.join(format!("fk-{}.list", e.id));
                    write_list(&list, &mut std::iter::once(e.id))?;
                    plan.fks.push(ForeignKey {
                        id: e.id,
                        list,
                        tables: fk_tables.clone(),
                    });
                }
                None
            }
            _ => None,
        };
        if let Some(k) = owner {
            per_table.entry(k).or_default().push(e.id);
        }
    }
    for (n, (s, t)) in tables.iter().enumerate() {
        let key = verify::key(s, t);
        let list = match per_table.remove(&key) {
            Some(ids) => {
                let path = folder.join(format!("early-{n}.list"));
                write_list(&path, &mut ids.iter().copied())?;
                Some((path, ids))
            }
            None => None,
        };
        let analyze = !with_ext_stats.contains(&key);
        plan.tables.insert(key, TableBuild { list, analyze });
    }
    Ok(plan)
}

/// The work the indexers share with the copy workers.
struct Board {
    state: Mutex<BoardState>,
    changed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct BoardState {
    /// The plain tables (`schema.table`): those built here.
    plain: std::collections::HashSet<String>,
    /// Plain tables whose rows are in, waiting for their indexes and statistics.
    copied: VecDeque<(String, String)>,
    /// Foreign keys not added yet.
    fks: Vec<ForeignKey>,
    /// Plain tables built: rows, own indexes and keys, statistics.
    built: std::collections::HashSet<String>,
    /// The tables of the foreign keys being added (two such never run at once on one
    /// table: each locks both its tables, and two could deadlock).
    locked: std::collections::HashSet<String>,
    /// Builds running.
    running: usize,
    /// Copy workers still running.
    copying: usize,
    /// Archive items built here (left out of PostData's list).
    done: std::collections::HashSet<u32>,
    /// Tables analyzed here (`schema.table`).
    analyzed: std::collections::BTreeSet<String>,
}

/// What an indexer does next.
enum Next {
    Table(String, String),
    Fk(ForeignKey),
    Wait,
    Stop,
}

impl Board {
    fn new(plan: &BuildPlan, workers: usize) -> Board {
        Board {
            state: Mutex::new(BoardState {
                plain: plan.tables.keys().cloned().collect(),
                fks: plan.fks.clone(),
                copying: workers,
                ..BoardState::default()
            }),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Change the state (never held across an await) and wake the indexers.
    fn update<T>(&self, f: impl FnOnce(&mut BoardState) -> T) -> T {
        let out = match self.state.lock() {
            Ok(mut st) => f(&mut st),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        };
        self.changed.notify_waiters();
        out
    }

    /// The next build: a copied table first, else a foreign key whose tables are built
    /// and not locked by another; stop once nothing is copying, running or left to run.
    fn next(&self) -> Next {
        let mut st = match self.state.lock() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((s, t)) = st.copied.pop_front() {
            st.running += 1;
            return Next::Table(s, t);
        }
        let ready = st.fks.iter().position(|fk| {
            fk.tables
                .iter()
                .all(|t| st.built.contains(t) && !st.locked.contains(t))
        });
        if let Some(i) = ready {
            let fk = st.fks.remove(i);
            st.locked.extend(fk.tables.iter().cloned());
            st.running += 1;
            return Next::Fk(fk);
        }
        if st.copying == 0 && st.running == 0 {
            Next::Stop
        } else {
            Next::Wait
        }
    }

    /// The items built and the tables analyzed.
    fn into_done(
        self,
    ) -> (
        std::collections::HashSet<u32>,
        std::collections::BTreeSet<String>,
    ) {
        let st = match self.state.into_inner() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        (st.done, st.analyzed)
    }
}

/// Build what is ready: a copied table's own indexes and keys (one `pg_restore -L`) and then
/// its statistics (`ANALYZE`, if `analyze`), or a foreign key whose both tables are built
/// (one `pg_restore -L`: added and validated while other tables are still copied); until
/// the workers are done and nothing is left.
async fn indexer(
    cx: &Ctx<'_>,
    dump: &Path,
    plan: &BuildPlan,
    board: &Board,
    analyze: bool,
) -> Result<(), RestoreError> {
    let mut session: Option<Client> = None;
    let restore = |list: &Path| {
        let mut opts = cx.job.options.clone();
        opts.jobs = 1;
        let cmd = tools::restore_section_command(
            &cx.job.server,
            cx.next,
            dump,
            &opts,
            Some("post-data"),
            Some(list),
        );
        let ctl = tools::Control {
            cancel: cx.job.cancel.clone(),
            pause: None,
        };
        async move { tools::run_streaming(cmd, "pg_restore", |_| {}, &ctl).await }
    };
    loop {
        // Registered before looking, so a change made meanwhile is not missed.
        let changed = board.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match board.next() {
            Next::Stop => return Ok(()),
            Next::Wait => changed.await,
            Next::Table(schema, table) => {
                let key = verify::key(&schema, &table);
                let TableBuild {
                    list,
                    analyze: may_analyze,
                } = plan.tables.get(&key).cloned().unwrap_or_default();
                if let Some((path, _)) = &list {
                    restore(path).await?;
                }
                let analyzed = analyze && may_analyze;
                if analyzed {
                    if session.is_none() {
                        session = Some(cx.job.server.connect(cx.next).await?);
                    }
                    if let Some(c) = &session {
                        exec(
                            c,
                            &sql::analyze(&schema, &table),
                            "analyze the working copy",
                        )
                        .await?;
                    }
                }
                tracing::debug!(schema, table, analyzed, "table built");
                board.update(|b| {
                    b.running -= 1;
                    if let Some((_, ids)) = &list {
                        b.done.extend(ids.iter().copied());
                    }
                    if analyzed {
                        b.analyzed.insert(key.clone());
                    }
                    b.built.insert(key);
                });
            }
            Next::Fk(fk) => {
                restore(&fk.list).await?;
                tracing::debug!(tables = ?fk.tables, "foreign key added");
                board.update(|b| {
                    b.running -= 1;
                    for t in &fk.tables {
                        b.locked.remove(t);
                    }
                    b.done.insert(fk.id);
                });
            }
        }
    }
}

/// The tables (and the large objects, if any), read in the snapshot, in the order of the
/// work that waits on each: its size with its indexes, plus, for a table foreign keys
/// point to, the size of the tables they come from (their validation waits for both
/// sides), largest first. So a referenced table is not copied last, leaving its indexes
/// and the validation of the keys into it as a serial tail.
async fn plan_tasks(holder: &Client, fks: &[ForeignKey]) -> Result<VecDeque<Task>, RestoreError> {
    let rows = holder
        .query(sql::COPY_TABLES, &[])
        .await
        .map_err(|e| RestoreError::pg("list the source's tables", e))?;
    let lo_size: i64 = holder
        .query_one(sql::LARGE_OBJECTS_SIZE, &[])
        .await
        .map_err(|e| RestoreError::pg("measure the source's large objects", e))?
        .get(0);
    let mut sized: Vec<(i64, Task)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<_, i64>(2),
                Task::Table {
                    schema: r.get(0),
                    table: r.get(1),
                    columns: r.get(3),
                    binary: r.get(4),
                },
            )
        })
        .collect();
    let size_of: BTreeMap<String, i64> = rows
        .iter()
        .map(|r| (verify::key(r.get(0), r.get(1)), r.get(2)))
        .collect();
    let mut waiting: BTreeMap<String, i64> = BTreeMap::new();
    for fk in fks {
        if let [from, to] = fk.tables.as_slice() {
            *waiting.entry(to.clone()).or_default() += size_of.get(from).copied().unwrap_or(0);
        }
    }
    for (weight, task) in &mut sized {
        if let Task::Table { schema, table, .. } = task {
            *weight += waiting
                .get(&verify::key(schema, table))
                .copied()
                .unwrap_or(0);
        }
    }
    if lo_size > 0 {
        sized.push((lo_size, Task::LargeObjects));
    }
    // Stable: equal weights keep the catalog's order.
    sized.sort_by_key(|t| std::cmp::Reverse(t.0));
    Ok(sized.into_iter().map(|(_, t)| t).collect())
}

/// One worker: a session on the source in the snapshot and one on the working copy; takes
/// tasks until none is left.
async fn worker(
    cx: &Ctx<'_>,
    (server, database, snapshot): (&super::super::PgServer, &str, &str),
    queue: &Mutex<VecDeque<Task>>,
    (paused, same_major): (&AtomicBool, bool),
    board: &Board,
) -> Result<Copied, RestoreError> {
    let src = server.connect(database).await?;
    exec(
        &src,
        &sql::import_snapshot(snapshot),
        "import the source snapshot in a copy worker",
    )
    .await?;
    let src_pid: i32 = src
        .query_one(sql::BACKEND_PID, &[])
        .await
        .map_err(|e| RestoreError::pg("read a copy worker's source session", e))?
        .get(0);
    let dst = cx.job.server.connect(cx.next).await?;
    exec(&dst, sql::TARGET_SESSION, "set up a copy worker's session").await?;
    let mut out = Copied::default();
    loop {
        // Never held across an await.
        let task = queue.lock().map_or(None, |mut q| q.pop_front());
        let Some(task) = task else {
            return Ok(out);
        };
        match task {
            Task::Table {
                schema,
                table,
                columns,
                binary,
            } => {
                let binary = binary && same_major;
                let (rows, bytes) = copy_table(
                    cx,
                    (&src, src_pid, &dst),
                    &schema,
                    &table,
                    (&columns, binary),
                    paused,
                )
                .await?;
                tracing::debug!(schema, table, rows, bytes, binary, "table copied");
                let key = verify::key(&schema, &table);
                // A plain table's indexes and statistics now, while other tables are copied.
                board.update(|b| {
                    if b.plain.contains(&key) {
                        b.copied.push_back((schema.clone(), table.clone()));
                    }
                });
                out.rows.insert(key, rows);
                out.bytes += bytes;
            }
            Task::LargeObjects => {
                let (n, bytes) = copy_large_objects(&src, &dst).await?;
                out.large_objects += n;
                out.bytes += bytes;
            }
        }
    }
}

/// A server's major version (`server_version_num / 10000`; 9.x as 90x).
async fn major_version(c: &Client) -> Result<i32, RestoreError> {
    let n: i32 = c
        .query_one(sql::SERVER_VERSION_NUM, &[])
        .await
        .map_err(|e| RestoreError::pg("read the server version", e))?
        .get(0);
    Ok(if n >= 100_000 { n / 10_000 } else { n / 100 })
}

/// Stream one table (in binary format if `binary`, else text); returns its rows and bytes.
/// The first worker to receive data calls the test hook once (with its source session's
/// pid) before going on.
async fn copy_table(
    cx: &Ctx<'_>,
    (src, src_pid, dst): (&Client, i32, &Client),
    schema: &str,
    table: &str,
    (columns, binary): (&[String], bool),
    paused: &AtomicBool,
) -> Result<(i64, u64), RestoreError> {
    let what = || format!("copy the rows of {schema}.{table}");
    let malformed = |e: &str| {
        RestoreError::Verification(vec![format!(
            "table {schema}.{table}: the source's binary COPY stream is malformed ({e}); \
             use the dump engine for this source and report it"
        )])
    };
    exec(dst, &sql::truncate_for_copy(schema, table), &what()).await?;
    let sink = dst
        .copy_in::<_, VecDeque<u8>>(sql::copy_in(schema, table, columns, binary).as_str())
        .await
        .map_err(|e| RestoreError::pg(what(), e))?;
    let stream = src
        .copy_out(sql::copy_out(schema, table, columns, binary).as_str())
        .await
        .map_err(|e| RestoreError::pg(format!("{} from the source", what()), e))?;
    futures_util::pin_mut!(sink);
    futures_util::pin_mut!(stream);
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH);
    let mut counter = if binary {
        RowCounter::Binary(BinaryRows::default())
    } else {
        RowCounter::Text(0)
    };
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| RestoreError::pg(format!("{} from the source", what()), e))?;
        counter.feed(&chunk).map_err(malformed)?;
        bytes += chunk.len() as u64;
        buf.extend_from_slice(&chunk);
        if buf.len() >= BATCH {
            let full = std::mem::replace(&mut buf, Vec::with_capacity(BATCH));
            sink.send(VecDeque::from(full))
                .await
                .map_err(|e| RestoreError::pg(what(), e))?;
        }
        if let Some(hook) = &cx.job.pause {
            if !paused.swap(true, Ordering::SeqCst) {
                hook(Step::Copy, u32::try_from(src_pid).ok()).await;
            }
        }
    }
    if !buf.is_empty() {
        sink.send(VecDeque::from(buf))
            .await
            .map_err(|e| RestoreError::pg(what(), e))?;
    }
    counter.finish().map_err(malformed)?;
    let taken = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| RestoreError::pg(what(), e))?;
    exec(dst, "COMMIT", &what()).await?;
    let rows = counter.rows();
    if u64::try_from(rows).ok() != Some(taken) {
        return Err(RestoreError::Verification(vec![format!(
            "table {schema}.{table}: {rows} rows read from the source, {taken} written"
        )]));
    }
    Ok((rows, bytes))
}

/// Counts the rows of a `COPY … TO STDOUT` stream as it passes, whatever its chunking.
#[derive(Debug)]
enum RowCounter {
    /// Text format: one line per row (newlines in values are escaped).
    Text(i64),
    /// Binary format: tuples parsed from their headers.
    Binary(BinaryRows),
}

impl RowCounter {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), &'static str> {
        match self {
            RowCounter::Text(n) => {
                *n += i64::try_from(chunk.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0);
                Ok(())
            }
            RowCounter::Binary(b) => b.feed(chunk),
        }
    }

    fn rows(&self) -> i64 {
        match self {
            RowCounter::Text(n) => *n,
            RowCounter::Binary(b) => b.rows,
        }
    }

    /// An error if the stream stopped where it may not (binary: inside a row, or before
    /// its trailer).
    fn finish(&self) -> Result<(), &'static str> {
        match self {
            RowCounter::Binary(b) if !matches!(b.stage, BinStage::End) => {
                Err("it ended inside a row or without its trailer")
            }
            _ => Ok(()),
        }
    }
}

/// The signature opening a binary `COPY` stream.
const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Where a binary `COPY` stream's parse stands.
#[derive(Debug, Default, Clone, Copy)]
enum BinStage {
    /// The signature, flags and header extension length (19 bytes).
    #[default]
    Header,
    /// Skipping the header extension.
    Extension(usize),
    /// A tuple's field count (2 bytes; -1 ends the stream).
    Count,
    /// A field's length (4 bytes; -1 is NULL); `left` fields after it in the tuple.
    Length { left: u16 },
    /// Skipping a field's bytes.
    Field { bytes: usize, left: u16 },
    /// After the trailer: nothing may follow.
    End,
}

/// A parser of the binary `COPY` format that only counts tuples (checking the framing).
#[derive(Debug, Default)]
struct BinaryRows {
    stage: BinStage,
    /// The bytes of the header or integer being read, and how many are in.
    head: [u8; 19],
    have: usize,
    rows: i64,
}

impl BinaryRows {
    /// The next `n` bytes (≤ 19) once all are in, across chunks.
    fn take(&mut self, data: &mut &[u8], n: usize) -> Option<[u8; 19]> {
        let k = (n - self.have).min(data.len());
        self.head[self.have..self.have + k].copy_from_slice(&data[..k]);
        *data = &data[k..];
        self.have += k;
        if self.have < n {
            return None;
        }
        self.have = 0;
        Some(self.head)
    }

    /// The stage after a tuple's fields, `left` still to come.
    fn next_field(left: u16) -> BinStage {
        if left == 0 {
            BinStage::Count
        } else {
            BinStage::Length { left: left - 1 }
        }
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<(), &'static str> {
        while !data.is_empty() {
            self.stage = match self.stage {
                BinStage::Header => {
                    let Some(h) = self.take(&mut data, 19) else {
                        continue;
                    };
                    if &h[..11] != BINARY_SIGNATURE {
                        return Err("no binary COPY signature");
                    }
                    let ext = u32::from_be_bytes([h[15], h[16], h[17], h[18]]);
                    match usize::try_from(ext) {
                        Ok(0) => BinStage::Count,
                        Ok(n) => BinStage::Extension(n),
                        Err(_) => return Err("header extension too long"),
                    }
                }
                BinStage::Extension(n) => {
                    let k = n.min(data.len());
                    data = &data[k..];
                    if n == k {
                        BinStage::Count
                    } else {
                        BinStage::Extension(n - k)
                    }
                }
                BinStage::Count => {
                    let Some(h) = self.take(&mut data, 2) else {
                        continue;
                    };
                    match i16::from_be_bytes([h[0], h[1]]) {
                        -1 => BinStage::End,
                        n => {
                            let n = u16::try_from(n).map_err(|_| "negative field count")?;
                            self.rows += 1;
                            if n == 0 {
                                BinStage::Count
                            } else {
                                BinStage::Length { left: n - 1 }
                            }
                        }
                    }
                }
                BinStage::Length { left } => {
                    let Some(h) = self.take(&mut data, 4) else {
                        continue;
                    };
                    match i32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
                        -1 | 0 => Self::next_field(left),
                        n => BinStage::Field {
                            bytes: usize::try_from(n).map_err(|_| "negative field length")?,
                            left,
                        },
                    }
                }
                BinStage::Field { bytes, left } => {
                    let k = bytes.min(data.len());
                    data = &data[k..];
                    if bytes == k {
                        Self::next_field(left)
                    } else {
                        BinStage::Field {
                            bytes: bytes - k,
                            left,
                        }
                    }
                }
                BinStage::End => return Err("data after the trailer"),
            };
        }
        Ok(())
    }
}

/// Fill every large object (created empty by the pre-data) from the source, in slices.
async fn copy_large_objects(src: &Client, dst: &Client) -> Result<(u64, u64), RestoreError> {
    let what = "copy the large objects";
    let oids = src
        .query(sql::LARGE_OBJECTS, &[])
        .await
        .map_err(|e| RestoreError::pg("list the source's large objects", e))?;
    exec(dst, "BEGIN", what).await?;
    let (mut n, mut bytes) = (0u64, 0u64);
    for row in oids {
        let oid: i64 = row.get(0);
        let mut offset: i64 = 0;
        loop {
            let data: Vec<u8> = src
                .query_one(sql::LO_READ, &[&oid, &offset, &LO_CHUNK])
                .await
                .map_err(|e| RestoreError::pg(format!("read large object {oid}"), e))?
                .get(0);
            if data.is_empty() {
                break;
            }
            dst.execute(sql::LO_WRITE, &[&oid, &offset, &data])
                .await
                .map_err(|e| RestoreError::pg(format!("write large object {oid}"), e))?;
            let len = data.len();
            offset += i64::try_from(len).unwrap_or(i64::MAX);
            bytes += len as u64;
            if len < usize::try_from(LO_CHUNK).unwrap_or(usize::MAX) {
                break;
            }
        }
        n += 1;
    }
    exec(dst, "COMMIT", what).await?;
    Ok((n, bytes))
}

/// The source's sequences and their state (`last_value`, `is_called`), read as `pg_dump`
/// reads them.
async fn read_sequences(holder: &Client) -> Result<Vec<SequenceValue>, RestoreError> {
    let seqs = holder
        .query(sql::SEQUENCES, &[])
        .await
        .map_err(|e| RestoreError::pg("list the source's sequences", e))?;
    let mut out = Vec::with_capacity(seqs.len());
    for row in &seqs {
        let (schema, name): (String, String) = (row.get(0), row.get(1));
        let state = holder
            .query_one(sql::sequence_state(&schema, &name).as_str(), &[])
            .await
            .map_err(|e| RestoreError::pg(format!("read sequence {schema}.{name}"), e))?;
        out.push(SequenceValue {
            schema,
            name,
            value: state.get(0),
            called: state.get(1),
        });
    }
    Ok(out)
}

/// Set every sequence of the working copy to its value read at the snapshot (as
/// `pg_dump`'s `SEQUENCE SET`). Returns how many.
async fn set_sequences(cx: &Ctx<'_>, seqs: &[SequenceValue]) -> Result<usize, RestoreError> {
    if seqs.is_empty() {
        return Ok(0);
    }
    let dst = cx.job.server.connect(cx.next).await?;
    for s in seqs {
        let qualified = format!("{}.{}", sql::ident(&s.schema), sql::ident(&s.name));
        dst.query_one(sql::SET_SEQUENCE, &[&qualified, &s.value, &s.called])
            .await
            .map_err(|e| RestoreError::pg(format!("set sequence {}.{}", s.schema, s.name), e))?;
    }
    Ok(seqs.len())
}

#[cfg(test)]
mod tests {
    use super::{BINARY_SIGNATURE, RowCounter};

    /// A binary `COPY` stream: header (with a 3-byte extension), `rows` (each a list of
    /// fields, `None` for NULL) and the trailer.
    fn binary_stream(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut out = BINARY_SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&3u32.to_be_bytes());
        out.extend_from_slice(b"ext");
        for row in rows {
            out.extend_from_slice(&i16::try_from(row.len()).unwrap().to_be_bytes());
            for field in row {
                match field {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(b) => {
                        out.extend_from_slice(&i32::try_from(b.len()).unwrap().to_be_bytes());
                        out.extend_from_slice(b);
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn count(data: &[u8], chunk: usize) -> Result<i64, &'static str> {
        let mut c = RowCounter::Binary(super::BinaryRows::default());
        for part in data.chunks(chunk) {
            c.feed(part)?;
        }
        c.finish()?;
        Ok(c.rows())
    }

    #[test]
    fn binary_rows_are_counted_whatever_the_chunking() {
        let long = vec![b'\n'; 300];
        let rows: Vec<Vec<Option<&[u8]>>> = vec![
            vec![Some(b"\x00\x00\x00\x01"), None, Some(b"")],
            vec![],
            vec![Some(&long), Some(b"-1"), None],
            vec![None],
        ];
        let data = binary_stream(&rows);
        for chunk in [1, 2, 3, 7, 19, 20, 64, data.len()] {
            assert_eq!(count(&data, chunk), Ok(4), "chunks of {chunk} bytes");
        }
        assert_eq!(count(&binary_stream(&[]), 5), Ok(0));
    }

    #[test]
    fn a_malformed_binary_stream_is_refused() {
        let data = binary_stream(&[vec![Some(b"abc")]]);
        // Cut inside the row, or before the trailer.
        for cut in [20, 27, data.len() - 1] {
            assert!(count(&data[..cut], 4).is_err(), "cut at {cut}");
        }
        let mut bad = data.clone();
        bad[0] = b'X';
        assert!(count(&bad, 64).is_err());
        let mut extra = data.clone();
        extra.push(0);
        assert!(count(&extra, 64).is_err());
        let mut negative = data;
        // The field count of the only row.
        negative[22..24].copy_from_slice(&(-2i16).to_be_bytes());
        assert!(count(&negative, 64).is_err());
    }

    #[test]
    fn text_rows_are_lines() {
        let mut c = RowCounter::Text(0);
        for part in [&b"1\ta\n2\t"[..], b"b\\nc\n", b""] {
            c.feed(part).unwrap();
        }
        c.finish().unwrap();
        assert_eq!(c.rows(), 2);
    }
}

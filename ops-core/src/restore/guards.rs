//! The safety guards and privilege checks of restore and rollback: plain functions over the
//! job's names and what the [`Catalog`] returns, so each refusal is unit-tested without a
//! server. [`check_catalog`] reads the catalog in the order the preflight always has.

use super::catalog::{Catalog, Role};
use super::error::{Guard, Privilege, RestoreError};
use super::server::PgServer;
use super::settings::DbSettings;
use super::{DumpSource, ProductionGuard, validate_name};

/// The target's own name and server: an acceptable name, nothing that looks like
/// production, not the maintenance database.
pub(crate) fn target(
    guard: &ProductionGuard,
    qa: &str,
    server: &PgServer,
) -> Result<(), RestoreError> {
    validate_name("QA database", qa)?;
    guard.check("database", qa)?;
    for host in server.tcp_host_names() {
        guard.check("host", &host)?;
    }
    if server.maintenance_db() == qa {
        return Err(RestoreError::refused(
            Guard::MaintenanceDatabase,
            format!(
                "`{qa}` is the maintenance database the workflow connects to; use another (e.g. `postgres`)"
            ),
        ));
    }
    Ok(())
}

/// A live source must not be the target itself (same database name on the same server).
pub(crate) fn source_is_not_target(
    qa: &str,
    server: &PgServer,
    source: &DumpSource,
) -> Result<(), RestoreError> {
    if let DumpSource::Database {
        server: source_server,
        database,
    } = source
    {
        if database == qa && source_server.host_label() == server.host_label() {
            return Err(RestoreError::refused(
                Guard::SourceIsTarget,
                format!(
                    "the target `{qa}` on {} is the source database",
                    source_server.host_label()
                ),
            ));
        }
    }
    Ok(())
}

/// Which database on which server: the server's system identifier
/// (`pg_control_system()`) and the database's oid (`None`: it does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbIdentity {
    pub(crate) system: String,
    pub(crate) oid: Option<i64>,
}

/// A live source must not be QA itself, however either connection string spells the host
/// (`localhost`, `127.0.0.1`, `::1`, a unix socket, a second listen address): the same
/// system identifier and the same database oid are the same database. (A physical replica
/// shares its primary's identifier and oids: a replica of QA is QA, refused too.)
pub(crate) fn source_is_not_target_by_identity(
    qa: &str,
    qa_id: &DbIdentity,
    source_db: &str,
    source_id: &DbIdentity,
) -> Result<(), RestoreError> {
    if qa_id.system == source_id.system && qa_id.oid.is_some() && qa_id.oid == source_id.oid {
        return Err(RestoreError::refused(
            Guard::SourceIsTarget,
            format!(
                "the target `{qa}` is the source database `{source_db}`: the same database \
                 (oid {}) on the same server (system identifier {}), whatever the two \
                 connection strings call the host; restore into another QA database or from \
                 another source",
                qa_id.oid.unwrap_or_default(),
                qa_id.system
            ),
        ));
    }
    Ok(())
}

/// QA must not be the database the admin session is connected to.
pub(crate) fn not_connected_to(qa: &str, role: &Role) -> Result<(), RestoreError> {
    if role.database == qa {
        return Err(RestoreError::refused(
            Guard::ConnectedDatabase,
            format!("`{qa}` is the database this session is connected to"),
        ));
    }
    Ok(())
}

/// `CREATEDB` for the working copy `next`, `pg_signal_backend` for the swap (a superuser has
/// both).
pub(crate) fn role_privileges(role: &Role, qa: &str, next: &str) -> Result<(), RestoreError> {
    if role.superuser {
        return Ok(());
    }
    if !role.createdb {
        return Err(RestoreError::MissingPrivilege {
            privilege: Privilege::CreateDb {
                role: role.name.clone(),
            },
            needed_for: format!("create the working copy `{next}`"),
        });
    }
    if !role.signal_backend {
        return Err(RestoreError::MissingPrivilege {
            privilege: Privilege::SignalBackend {
                role: role.name.clone(),
            },
            needed_for: format!("terminate the sessions on `{qa}` during the swap"),
        });
    }
    Ok(())
}

/// A template database is never replaced.
pub(crate) fn not_template(qa: &str, is_template: bool) -> Result<(), RestoreError> {
    if is_template {
        return Err(RestoreError::refused(
            Guard::Template,
            format!("`{qa}` is a template database"),
        ));
    }
    Ok(())
}

/// A non-superuser must own QA (`member`: it is a member of QA's owner role).
pub(crate) fn ownership(qa: &str, owner: &str, member: bool) -> Result<(), RestoreError> {
    if member {
        return Ok(());
    }
    Err(RestoreError::MissingPrivilege {
        privilege: Privilege::Ownership {
            database: qa.to_owned(),
            owner: owner.to_owned(),
        },
        needed_for: format!("rename `{qa}` and give the new copy the same owner"),
    })
}

/// Carrying another role's `ALTER ROLE … IN DATABASE qa SET` needs `CREATEROLE` (a
/// superuser has it).
pub(crate) fn role_settings(
    qa: &str,
    settings: &DbSettings,
    role: &Role,
) -> Result<(), RestoreError> {
    if role.superuser || role.createrole {
        return Ok(());
    }
    let other_roles = settings
        .role_settings
        .iter()
        .any(|(r, _)| r.as_deref().is_some_and(|r| r != role.name));
    if other_roles {
        return Err(RestoreError::MissingPrivilege {
            privilege: Privilege::CreateRole {
                role: role.name.clone(),
            },
            needed_for: format!("carry `ALTER ROLE … IN DATABASE {qa} SET` settings"),
        });
    }
    Ok(())
}

/// What the catalog half of the preflight learned.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The connected role.
    pub(crate) role: Role,
    /// QA's settings, `None` if QA does not exist yet.
    pub(crate) qa: Option<DbSettings>,
}

/// The guards that need the catalog, in order: the connected database, the role's
/// privileges, then QA itself (template, ownership, other roles' settings). QA's owner is
/// looked up for a non-superuser only.
pub(crate) async fn check_catalog(
    catalog: &dyn Catalog,
    qa: &str,
    next: &str,
) -> Result<Checked, RestoreError> {
    let role = catalog.current_role().await?;
    not_connected_to(qa, &role)?;
    role_privileges(&role, qa, next)?;
    let settings = catalog.database(qa).await?;
    if let Some(s) = &settings {
        not_template(qa, s.is_template)?;
        if !role.superuser {
            let member = catalog.member_of(&s.owner).await?;
            ownership(qa, &s.owner, member)?;
            role_settings(qa, s, &role)?;
        }
    } else {
        tracing::warn!(
            database = qa,
            "QA does not exist yet; it will be created by the swap"
        );
    }
    Ok(Checked { role, qa: settings })
}

#[cfg(test)]
mod tests {
    use super::super::catalog::Memory;
    use super::*;

    fn server(conn: &str) -> PgServer {
        PgServer::new(conn).unwrap()
    }

    fn refusal(r: Result<(), RestoreError>) -> Guard {
        match r {
            Err(RestoreError::Refused { guard, .. }) => guard,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn missing(r: Result<Checked, RestoreError>) -> Privilege {
        match r {
            Err(RestoreError::MissingPrivilege { privilege, .. }) => privilege,
            other => panic!("expected a missing privilege, got {other:?}"),
        }
    }

    #[test]
    fn target_refuses_production_names_and_hosts() {
        let guard = ProductionGuard::default();
        let local = server("host=db.qa.example user=u");
        assert_eq!(
            refusal(target(&guard, "orders_prod", &local)),
            Guard::Production
        );
        let prod_host = server("host=db-prod-1.example.com user=u");
        assert_eq!(refusal(target(&guard, "qa", &prod_host)), Guard::Production);
        assert!(target(&guard, "product_qa", &local).is_ok());
        let off = ProductionGuard {
            enabled: false,
            ..ProductionGuard::default()
        };
        assert!(target(&off, "orders_prod", &prod_host).is_ok());
    }

    #[test]
    fn target_refuses_the_maintenance_database_and_bad_names() {
        let guard = ProductionGuard::default();
        let s = server("host=h user=u dbname=admin");
        let err = target(&guard, "admin", &s).unwrap_err();
        assert!(err.to_string().contains("maintenance database"), "{err}");
        assert_eq!(refusal(Err(err)), Guard::MaintenanceDatabase);
        assert!(target(&guard, "qa", &s).is_ok());
        assert!(matches!(
            target(&guard, "qa; DROP", &s),
            Err(RestoreError::Config(_))
        ));
    }

    #[test]
    fn source_must_not_be_the_target() {
        let qa_server = server("host=h port=5432 user=u");
        let same = DumpSource::Database {
            server: server("host=h port=5432 user=reader"),
            database: "qa".into(),
        };
        assert_eq!(
            refusal(source_is_not_target("qa", &qa_server, &same)),
            Guard::SourceIsTarget
        );
        let other_host = DumpSource::Database {
            server: server("host=prod port=5432 user=reader"),
            database: "qa".into(),
        };
        assert!(source_is_not_target("qa", &qa_server, &other_host).is_ok());
        let other_db = DumpSource::Database {
            server: server("host=h port=5432 user=reader"),
            database: "shop".into(),
        };
        assert!(source_is_not_target("qa", &qa_server, &other_db).is_ok());
        let file = DumpSource::File("/backups/qa.dump".into());
        assert!(source_is_not_target("qa", &qa_server, &file).is_ok());
    }

    #[test]
    fn the_same_database_on_the_same_server_is_refused_whatever_the_names() {
        let id = |system: &str, oid: Option<i64>| DbIdentity {
            system: system.into(),
            oid,
        };
        let qa = id("7715865561082912901", Some(16384));
        // Same server, same oid: refused, even though the source is named differently
        // (the names may differ only in spelling).
        let err = source_is_not_target_by_identity("qa", &qa, "qa", &qa.clone()).unwrap_err();
        assert!(
            matches!(&err, RestoreError::Refused { guard: Guard::SourceIsTarget, detail }
                if detail.contains("oid 16384") && detail.contains("7715865561082912901")),
            "{err:?}"
        );
        // Same server, another database.
        assert!(
            source_is_not_target_by_identity(
                "qa",
                &qa,
                "shop",
                &id("7715865561082912901", Some(16385))
            )
            .is_ok()
        );
        // Another server, same oid (every cluster numbers from 16384).
        assert!(source_is_not_target_by_identity("qa", &qa, "qa", &id("1", Some(16384))).is_ok());
        // QA does not exist yet.
        let none = id("7715865561082912901", None);
        assert!(source_is_not_target_by_identity("qa", &none, "qa", &none).is_ok());
    }

    fn superuser() -> Role {
        Role {
            name: "postgres".into(),
            database: "postgres".into(),
            superuser: true,
            ..Role::default()
        }
    }

    /// CREATEDB and pg_signal_backend, not a superuser.
    fn least(name: &str) -> Role {
        Role {
            name: name.into(),
            database: "postgres".into(),
            createdb: true,
            signal_backend: true,
            ..Role::default()
        }
    }

    fn qa_owned_by(owner: &str) -> DbSettings {
        DbSettings {
            owner: owner.into(),
            conn_limit: -1,
            allow_conn: true,
            ..DbSettings::default()
        }
    }

    fn catalog(role: Role, qa: Option<DbSettings>) -> Memory {
        Memory {
            role,
            databases: qa.into_iter().map(|s| ("qa".to_owned(), s)).collect(),
            ..Memory::default()
        }
    }

    #[tokio::test]
    async fn a_superuser_passes_without_an_ownership_lookup() {
        let mut qa = qa_owned_by("someone_else");
        qa.role_settings = vec![(Some("app".into()), vec!["work_mem=1MB".into()])];
        let cat = catalog(superuser(), Some(qa.clone()));
        let checked = check_catalog(&cat, "qa", "qa_next").await.unwrap();
        assert_eq!(checked.role.name, "postgres");
        assert_eq!(checked.qa, Some(qa));
        assert_eq!(cat.reads(), ["current_role()", "database(qa)"]);
    }

    #[tokio::test]
    async fn a_qa_that_does_not_exist_yet_is_accepted() {
        let cat = catalog(least("admin"), None);
        let checked = check_catalog(&cat, "qa", "qa_next").await.unwrap();
        assert_eq!(checked.qa, None);
        assert_eq!(cat.reads(), ["current_role()", "database(qa)"]);
    }

    #[tokio::test]
    async fn the_connected_database_is_refused() {
        let mut role = superuser();
        role.database = "qa".into();
        let cat = catalog(role, Some(qa_owned_by("postgres")));
        let err = check_catalog(&cat, "qa", "qa_next").await.unwrap_err();
        assert!(
            matches!(
                &err,
                RestoreError::Refused {
                    guard: Guard::ConnectedDatabase,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(cat.reads(), ["current_role()"], "refused before reading QA");
    }

    #[tokio::test]
    async fn a_template_is_refused_even_for_a_superuser() {
        let mut qa = qa_owned_by("postgres");
        qa.is_template = true;
        let cat = catalog(superuser(), Some(qa));
        let err = check_catalog(&cat, "qa", "qa_next").await.unwrap_err();
        assert_eq!(err.to_string(), "refused: `qa` is a template database");
        assert!(matches!(
            err,
            RestoreError::Refused {
                guard: Guard::Template,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn createdb_is_checked_first() {
        let role = Role {
            createdb: false,
            signal_backend: false,
            ..least("weak")
        };
        let cat = catalog(role, Some(qa_owned_by("weak")));
        let p = missing(check_catalog(&cat, "qa", "qa_next").await);
        assert_eq!(
            p,
            Privilege::CreateDb {
                role: "weak".into()
            }
        );
    }

    #[tokio::test]
    async fn pg_signal_backend_is_needed_for_the_swap() {
        let role = Role {
            signal_backend: false,
            ..least("creator")
        };
        let cat = catalog(role, Some(qa_owned_by("creator")));
        let err = check_catalog(&cat, "qa", "qa_next").await;
        let Err(RestoreError::MissingPrivilege {
            privilege,
            needed_for,
        }) = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            privilege,
            Privilege::SignalBackend {
                role: "creator".into()
            }
        );
        assert_eq!(needed_for, "terminate the sessions on `qa` during the swap");
    }

    #[tokio::test]
    async fn a_role_that_does_not_own_qa_is_refused() {
        let cat = catalog(least("admin"), Some(qa_owned_by("qa_owner")));
        let p = missing(check_catalog(&cat, "qa", "qa_next").await);
        assert_eq!(
            p,
            Privilege::Ownership {
                database: "qa".into(),
                owner: "qa_owner".into()
            }
        );
        assert_eq!(
            cat.reads(),
            ["current_role()", "database(qa)", "member_of(qa_owner)"]
        );
    }

    #[tokio::test]
    async fn ownership_through_membership_is_enough() {
        let mut cat = catalog(least("admin"), Some(qa_owned_by("qa_owner")));
        cat.member_of = vec!["qa_owner".into()];
        assert!(check_catalog(&cat, "qa", "qa_next").await.is_ok());
        let cat = catalog(least("admin"), Some(qa_owned_by("admin")));
        assert!(check_catalog(&cat, "qa", "qa_next").await.is_ok());
    }

    #[tokio::test]
    async fn other_roles_settings_need_createrole() {
        let mut qa = qa_owned_by("admin");
        qa.role_settings = vec![
            (None, vec!["search_path=app, public".into()]),
            (Some("admin".into()), vec!["work_mem=1MB".into()]),
        ];
        // Database-wide and its own settings: no CREATEROLE needed.
        let cat = catalog(least("admin"), Some(qa.clone()));
        assert!(check_catalog(&cat, "qa", "qa_next").await.is_ok());

        qa.role_settings
            .push((Some("qa_app".into()), vec!["statement_timeout=30s".into()]));
        let cat = catalog(least("admin"), Some(qa.clone()));
        let p = missing(check_catalog(&cat, "qa", "qa_next").await);
        assert_eq!(
            p,
            Privilege::CreateRole {
                role: "admin".into()
            }
        );

        let with_createrole = Role {
            createrole: true,
            ..least("admin")
        };
        let cat = catalog(with_createrole, Some(qa));
        assert!(check_catalog(&cat, "qa", "qa_next").await.is_ok());
    }
}

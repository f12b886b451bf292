//! Step 4e: the spec's project, by name: the account's project of that name is used;
//! without one it is created (duplicate-safe: journaled before the create is sent, and an
//! ambiguous create is answered by a lookup by name — projects carry no tags — and
//! adoption; marked [`PROJECT_MARK`] in its description so teardown and the audit touch
//! only what the tool made). The droplet, its volumes and its reserved IP are then put in
//! it by URN, in one call for all the hosts of a batch that use the project.

use super::super::fleet::Batch;
use super::super::journal::{ProjectRef, Step};
use super::super::run::{HostRun, chain};
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{NewProject, PROJECT_MARK, PortError, Project, ProjectMember};

impl Provisioner {
    /// The account's project named `name`, when there is one.
    pub(crate) async fn project_named(&self, name: &str) -> Result<Option<Project>> {
        let all = self
            .call(&self.budgets.compute, || self.compute.projects())
            .await?;
        Ok(all.into_iter().find(|p| p.name == name))
    }

    pub(crate) async fn step_project(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let r = self.project_step(b, h).await;
        // Whatever happened, this host no longer holds up the batch's assign call.
        if let Some(key) = h.gathering_project.take() {
            b.project_assigns.withdraw(&key);
        }
        r
    }

    async fn project_step(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let Some(want) = h.j.spec.project.clone() else {
            return Ok(());
        };
        let Some(droplet) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        if h.j.resources.project.is_none() {
            // One host of the batch at a time: the first creates it, the others find it.
            let _one = b.lock_name(&format!("project:{}", want.name)).await;
            self.find_or_create_project(h, &want.name, want.purpose())
                .await?;
            self.save(&mut h.j).await?;
        }
        let Some(project) = h.j.resources.project.clone() else {
            return Err(Error::Precondition("no project recorded".into()));
        };
        let mut members = vec![ProjectMember::Droplet(droplet)];
        members.extend(
            h.j.resources
                .volumes
                .iter()
                .map(|v| ProjectMember::Volume(v.id.clone())),
        );
        if let Some(ip) = &h.j.resources.reserved_ip {
            members.push(ProjectMember::ReservedIp(ip.ip.clone()));
        }
        // One call for every host of the batch that is ready to assign to this project.
        if h.gathering_project.take().is_none() {
            // Not registered by `run_batch` (defensive): register now so the bookkeeping
            // of `send` holds.
            b.project_assigns.register(&want.name);
        }
        let id = project.id.clone();
        let r = b
            .project_assigns
            .send(&want.name, members, |all| async move {
                tracing::debug!(project = %id, resources = all.len(), "assigning resources to project");
                self.call(&self.budgets.compute, || {
                    self.compute.assign_to_project(&id, &all)
                })
                .await
                .map_err(|e| (e.kind(), chain(&e)))
            })
            .await;
        r.map_err(|(kind, msg)| {
            Error::Port(PortError::new(
                crate::ports::Service::Compute,
                "compute",
                kind,
                msg,
            ))
        })
    }

    async fn find_or_create_project(
        &self,
        h: &mut HostRun,
        name: &str,
        purpose: &str,
    ) -> Result<()> {
        let sent = h.j.resources.project_creates_sent > 0;
        let what = format!("project `{name}`");
        let found = if sent {
            self.await_found(h, &what, || self.project_named(name))
                .await?
        } else {
            self.project_named(name).await?
        };
        if let Some(p) = found {
            if sent {
                self.emit(ProgressEvent::Adopted {
                    host: h.j.spec.name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: format!("project {} ({}) found by name", p.id, p.name),
                });
            }
            self.record_project(h, &p, sent && p.description == PROJECT_MARK);
            return Ok(());
        }
        let req = NewProject {
            name: name.to_owned(),
            purpose: purpose.to_owned(),
            description: PROJECT_MARK.to_owned(),
        };
        // Journaled before it is sent.
        h.j.resources.project_creates_sent = h.j.resources.project_creates_sent.saturating_add(1);
        self.save(&mut h.j).await?;
        match self
            .call(&self.budgets.compute, || self.compute.create_project(&req))
            .await
        {
            Ok(p) => {
                self.record_project(h, &p, true);
                Ok(())
            }
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(host = %h.j.spec.name, project = %name, error = %chain(&e), "project create ambiguous; looking up by name");
                match self
                    .await_found(h, &what, || self.project_named(name))
                    .await?
                {
                    Some(p) => {
                        self.emit(ProgressEvent::Adopted {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            resource: format!("project {} ({}) found by name", p.id, p.name),
                        });
                        self.record_project(h, &p, p.description == PROJECT_MARK);
                        Ok(())
                    }
                    None => {
                        h.j.resources.project_creates_sent = 0;
                        self.emit(ProgressEvent::Retrying {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            step: Step::Project,
                            attempt: 1,
                            reason: chain(&e),
                        });
                        Err(e.into())
                    }
                }
            }
            Err(e) => {
                // Refused: this create made nothing. Another host of the batch may have
                // created the project meanwhile (its name is taken): use that one.
                h.j.resources.project_creates_sent =
                    h.j.resources.project_creates_sent.saturating_sub(1);
                match self.project_named(name).await {
                    Ok(Some(p)) => {
                        self.record_project(h, &p, false);
                        Ok(())
                    }
                    _ => Err(e.into()),
                }
            }
        }
    }

    fn record_project(&self, h: &mut HostRun, p: &Project, created: bool) {
        h.j.resources.project_creates_sent = 0;
        h.j.resources.project = Some(ProjectRef {
            id: p.id.clone(),
            name: p.name.clone(),
            created,
        });
    }
}

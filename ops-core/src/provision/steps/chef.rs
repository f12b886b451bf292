//! Steps 2a/2b: the Chef API client (key kept in memory) and the Chef node.

use super::super::journal::Step;
use super::super::run::{HostRun, chain};
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::NewNode;

impl Provisioner {
    pub(crate) async fn create_client(&self, h: &mut HostRun) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        let mut last = None;
        for attempt in 1..=self.config.create_attempts.max(1) {
            match self
                .call(&self.budgets.config_mgmt, || self.cm.create_client(&name))
                .await
            {
                Ok(c) => {
                    h.creds = Some(c);
                    h.j.resources.chef_client = Some(name);
                    return Ok(());
                }
                Err(e) if e.is_ambiguous() => {
                    // It may exist now, but then without a key we hold: remove and retry.
                    if self
                        .call(&self.budgets.config_mgmt, || self.cm.client_exists(&name))
                        .await?
                    {
                        self.delete_tolerant_client(&name).await?;
                    }
                    self.emit(ProgressEvent::Retrying {
                        host: h.j.spec.name.clone(),
                        run_id: h.j.run_id.clone(),
                        step: Step::ChefClient,
                        attempt,
                        reason: chain(&e),
                    });
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from))
    }

    pub(crate) async fn delete_tolerant_client(&self, name: &str) -> Result<()> {
        match self
            .call(&self.budgets.config_mgmt, || self.cm.delete_client(name))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn delete_tolerant_node(&self, name: &str) -> Result<()> {
        match self
            .call(&self.budgets.config_mgmt, || self.cm.delete_node(name))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn step_chef_client(&self, h: &mut HostRun, retried: bool) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        if retried
            && self
                .call(&self.budgets.config_mgmt, || self.cm.client_exists(&name))
                .await?
        {
            // Created by this run before an interruption; its key is gone with the process.
            self.delete_tolerant_client(&name).await?;
        }
        self.create_client(h).await
    }

    pub(crate) fn new_node(&self, h: &HostRun) -> NewNode {
        let spec = &h.j.spec;
        let mut normal = spec.chef.attributes.clone();
        normal.insert(
            "ops_core".into(),
            serde_json::json!({ "run_id": h.j.run_id, "managed": true }),
        );
        NewNode {
            name: spec.node_name().to_string(),
            environment: spec.chef.environment.clone(),
            run_list: spec.chef.run_list.clone(),
            normal: serde_json::Value::Object(normal),
        }
    }

    pub(crate) async fn create_node(&self, h: &mut HostRun) -> Result<()> {
        let node = self.new_node(h);
        let Some(owner) = h.creds.clone() else {
            return Err(Error::Precondition("no client key in memory".into()));
        };
        let mut last = None;
        for attempt in 1..=self.config.create_attempts.max(1) {
            match self
                .call(&self.budgets.config_mgmt, || {
                    self.cm.create_node(&node, &owner)
                })
                .await
            {
                Ok(()) => {
                    h.j.resources.chef_node = Some(node.name.clone());
                    return Ok(());
                }
                Err(e) if e.is_ambiguous() => {
                    if self
                        .call(&self.budgets.config_mgmt, || self.cm.get_node(&node.name))
                        .await?
                        .is_some()
                    {
                        h.j.resources.chef_node = Some(node.name.clone());
                        self.emit(ProgressEvent::Adopted {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            resource: format!("chef node {}", node.name),
                        });
                        return Ok(());
                    }
                    self.emit(ProgressEvent::Retrying {
                        host: h.j.spec.name.clone(),
                        run_id: h.j.run_id.clone(),
                        step: Step::ChefNode,
                        attempt,
                        reason: chain(&e),
                    });
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from))
    }

    /// After an interruption the client key is lost: re-register client (and node).
    pub(crate) async fn rekey(&self, h: &mut HostRun, recreate_node: bool) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        if recreate_node {
            self.delete_tolerant_node(&name).await?;
            h.j.resources.chef_node = None;
        }
        self.delete_tolerant_client(&name).await?;
        h.j.resources.chef_client = None;
        self.create_client(h).await?;
        if recreate_node {
            self.create_node(h).await?;
        }
        self.emit(ProgressEvent::Adopted {
            host: h.j.spec.name.clone(),
            run_id: h.j.run_id.clone(),
            resource: format!(
                "chef client {name} (re-registered: its key was lost with the interrupted run)"
            ),
        });
        Ok(())
    }

    pub(crate) async fn step_chef_node(&self, h: &mut HostRun, retried: bool) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        if retried
            && self
                .call(&self.budgets.config_mgmt, || self.cm.get_node(&name))
                .await?
                .is_some()
        {
            if h.creds.is_some() {
                h.j.resources.chef_node = Some(name.clone());
                self.emit(ProgressEvent::Adopted {
                    host: name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: format!("chef node {name}"),
                });
                return Ok(());
            }
            return self.rekey(h, true).await;
        }
        if h.creds.is_none() {
            self.rekey(h, false).await?;
        }
        self.create_node(h).await
    }
}

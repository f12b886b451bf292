//! Step 2d: the spec's block-storage volumes, by name in the host's region. A volume the
//! account has (and that no other droplet holds) is used; one it lacks is created, tagged
//! with the tool tag and the run tag (journaled before the create is sent; an ambiguous
//! create is answered by a lookup by name and run tag, and adoption). Both are attached
//! when the droplet is created (`volumes` of the droplet create), so the cloud-init user
//! data finds them at first boot and mounts them.

use super::super::journal::VolumeRef;
use super::super::run::{HostRun, chain};
use super::super::spec::{TOOL_TAG, VolumeSpec};
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{NewVolume, Volume};

impl Provisioner {
    /// The account's volume named `name` in `region`, when there is one.
    pub(crate) async fn volume_named(&self, name: &str, region: &str) -> Result<Option<Volume>> {
        let all = self
            .call(&self.budgets.compute, || self.compute.volumes())
            .await?;
        Ok(all
            .into_iter()
            .find(|v| v.name == name && v.region == region))
    }

    pub(crate) async fn step_volumes(&self, h: &mut HostRun) -> Result<()> {
        for want in h.j.spec.volumes.clone() {
            if h.j.resources.volumes.iter().any(|v| v.name == want.name) {
                continue;
            }
            self.one_volume(h, &want).await?;
            self.save(&mut h.j).await?;
        }
        Ok(())
    }

    async fn one_volume(&self, h: &mut HostRun, want: &VolumeSpec) -> Result<()> {
        let region = h.j.spec.region.clone();
        let run_tag = h.j.run_tag();
        let sent = h.j.resources.volume_creates_sent.contains(&want.name);
        let found = if sent {
            self.await_found(h, &format!("volume `{}`", want.name), || {
                self.volume_named(&want.name, &region)
            })
            .await?
        } else {
            self.volume_named(&want.name, &region).await?
        };
        if let Some(v) = found {
            let ours = v.tags.contains(&run_tag);
            if sent && ours {
                self.emit(ProgressEvent::Adopted {
                    host: h.j.spec.name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: format!("volume {} ({}) found by name and run tag", v.id, v.name),
                });
            }
            return self.record_volume(h, &v, ours);
        }
        let req = NewVolume {
            name: want.name.clone(),
            region: region.clone(),
            size_gib: want.size_gib,
            filesystem: Some(want.filesystem().to_owned()),
            label: None,
            tags: vec![TOOL_TAG.to_owned(), run_tag.clone()],
        };
        // Journaled before it is sent.
        h.j.resources.volume_creates_sent.push(want.name.clone());
        self.save(&mut h.j).await?;
        match self
            .call(&self.budgets.compute, || self.compute.create_volume(&req))
            .await
        {
            Ok(v) => self.record_volume(h, &v, true),
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(host = %h.j.spec.name, volume = %want.name, error = %chain(&e), "volume create ambiguous; looking up by name and run tag");
                let found = self
                    .await_found(h, &format!("volume `{}`", want.name), || {
                        self.volume_named(&want.name, &region)
                    })
                    .await?;
                match found {
                    Some(v) if v.tags.contains(&run_tag) => {
                        self.emit(ProgressEvent::Adopted {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            resource: format!(
                                "volume {} ({}) found by name and run tag",
                                v.id, v.name
                            ),
                        });
                        self.record_volume(h, &v, true)
                    }
                    _ => {
                        // Proven not made by this run.
                        h.j.resources
                            .volume_creates_sent
                            .retain(|n| *n != want.name);
                        Err(e.into())
                    }
                }
            }
            Err(e) => {
                h.j.resources
                    .volume_creates_sent
                    .retain(|n| *n != want.name);
                Err(e.into())
            }
        }
    }

    fn record_volume(&self, h: &mut HostRun, v: &Volume, created: bool) -> Result<()> {
        let mine = h.j.resources.droplet.as_ref().map(|d| d.id);
        if let Some(other) = v.droplet_ids.iter().find(|d| Some(**d) != mine) {
            return Err(Error::Precondition(format!(
                "volume `{}` ({}) is attached to droplet {other}: detach it first (the run \
                 does not take a volume from another host)",
                v.name, v.id
            )));
        }
        h.j.resources.volume_creates_sent.retain(|n| *n != v.name);
        h.j.resources.volumes.push(VolumeRef {
            id: v.id.clone(),
            name: v.name.clone(),
            created,
        });
        Ok(())
    }
}

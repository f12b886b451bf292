//! Spec-valid edge values (issue #16): the official OpenAPI spec allows a server to send
//! `null` where a field is `nullable`, to leave out what is not `required`, to send empty
//! arrays and to add fields it does not list. A real DigitalOcean does some of that today
//! and may do more tomorrow; these modes make the fake do it so code built on the client
//! is tested against it. Which fields each mode touches is taken from the spec (the
//! `nullable`, `required` and array fields of `droplet`, `image`, `size`, `region`,
//! `action`, `sshKeys`, `domain`, `domain_record`, `tags`, `network_v4`/`v6`, and for the
//! objects the provision workflow's volumes, projects and alerts use (issue #22)
//! `volume_full`, `project`, `resource` and `alert_policy`), and the workspace's Prism
//! tests check that every mode stays within the spec.
//!
//! Fields that carry identity stay, even where the spec allows `null`: a volume's `tags`
//! (the run tag adopts it, the tool tag lets teardown touch it) and `droplet_ids` (what it
//! is attached to), a project's `description` (the tool's mark), an alert policy's
//! `description` and `entities`. A server that sent `null` there would be saying something
//! else (no tags, attached to nothing), not the same thing in another form.

use serde_json::{Map, Value, json};

/// One kind of spec-valid edge value the fake can send; see
/// [`Faults::set_edge_values`](super::Faults::set_edge_values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EdgeValue {
    /// Every field the spec marks `nullable` is `null` (a droplet's `kernel` and
    /// `next_backup_window`; an image's `slug`, `min_disk_size`, `size_gigabytes`, `tags`;
    /// an action's `completed_at`, `resource_id`, `region_slug`; a domain's `ttl` and
    /// `zone_file`; a record's `priority`, `port`, `weight`, `flags`, `tag`), except the
    /// identity fields named in the module docs.
    Nulls,
    /// Optional fields that describe rather than identify are left out: the droplet's
    /// `disk_info`, `kernel`, `vpc_uuid`, `gpu_info`; everything of an image but `id`,
    /// `name` and `slug`; a size's `disk_info`/`gpu_info`; an action's timestamps,
    /// resource and region fields; a domain's `ip_address`, `ttl`, `zone_file`; a record's
    /// `ttl`, `priority`, `port`, `weight`, `flags`, `tag`; a tag's `resources`; a
    /// network's `netmask` and `gateway`; a volume's `description`, `created_at`,
    /// `size_gigabytes`, `filesystem_type`, `filesystem_label`; a project's `purpose`,
    /// `environment`, `owner_uuid`, `owner_id`, `created_at`, `updated_at`, `is_default`;
    /// a project resource's `assigned_at` and `links`. Ids, names, status, addresses,
    /// types stay.
    OmittedOptional,
    /// Arrays that carry no identity are empty: a droplet's `features`, `backup_ids`,
    /// `snapshot_ids`, `volume_ids`, `disk_info`; an image's `tags`; a size's `disk_info`;
    /// a region's `features`; an alert policy's `tags` and its destinations' `slack`.
    EmptyArrays,
    /// Every object carries a field the spec does not list.
    UnknownFields,
}

/// The kind of object a JSON key holds, for the keys the fake answers with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Droplet,
    Image,
    Size,
    Region,
    Action,
    Domain,
    Record,
    Tag,
    Network,
    Volume,
    Project,
    ProjectResource,
    AlertPolicy,
    AlertDestinations,
    Other,
}

fn kind_of(key: &str) -> Kind {
    match key {
        "droplet" | "droplets" => Kind::Droplet,
        "image" | "images" => Kind::Image,
        "size" | "sizes" => Kind::Size,
        "region" | "regions" => Kind::Region,
        "action" => Kind::Action,
        "domain" | "domains" => Kind::Domain,
        "domain_record" | "domain_records" => Kind::Record,
        "tag" | "tags" => Kind::Tag,
        "v4" | "v6" => Kind::Network,
        "volume" | "volumes" => Kind::Volume,
        "project" | "projects" => Kind::Project,
        "resources" => Kind::ProjectResource,
        "policy" | "policies" => Kind::AlertPolicy,
        "alerts" => Kind::AlertDestinations,
        _ => Kind::Other,
    }
}

fn nullable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Droplet => &["kernel", "next_backup_window"],
        Kind::Image => &["slug", "min_disk_size", "size_gigabytes", "tags"],
        Kind::Action => &["completed_at", "resource_id", "region_slug"],
        Kind::Domain => &["ttl", "zone_file"],
        Kind::Record => &["priority", "port", "weight", "flags", "tag"],
        _ => &[],
    }
}

fn omittable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Droplet => &["disk_info", "kernel", "vpc_uuid", "gpu_info"],
        Kind::Image => &[
            "type",
            "distribution",
            "public",
            "regions",
            "created_at",
            "min_disk_size",
            "size_gigabytes",
            "description",
            "tags",
            "status",
            "error_message",
        ],
        Kind::Size => &["disk_info", "gpu_info"],
        Kind::Action => &[
            "type",
            "started_at",
            "completed_at",
            "resource_id",
            "resource_type",
            "region",
            "region_slug",
        ],
        Kind::Domain => &["ip_address", "ttl", "zone_file"],
        Kind::Record => &["ttl", "priority", "port", "weight", "flags", "tag"],
        Kind::Tag => &["resources"],
        Kind::Network => &["netmask", "gateway"],
        Kind::Volume => &[
            "description",
            "created_at",
            "size_gigabytes",
            "filesystem_type",
            "filesystem_label",
        ],
        Kind::Project => &[
            "purpose",
            "environment",
            "owner_uuid",
            "owner_id",
            "created_at",
            "updated_at",
            "is_default",
        ],
        Kind::ProjectResource => &["assigned_at", "links"],
        _ => &[],
    }
}

fn emptiable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Droplet => &[
            "features",
            "backup_ids",
            "snapshot_ids",
            "volume_ids",
            "disk_info",
        ],
        Kind::Image => &["tags"],
        Kind::Size => &["disk_info"],
        Kind::Region => &["features"],
        Kind::AlertPolicy => &["tags"],
        Kind::AlertDestinations => &["slack"],
        _ => &[],
    }
}

/// Applies `modes` to an answer body, in place.
pub(super) fn apply(body: &mut Value, modes: &[EdgeValue]) {
    if modes.is_empty() {
        return;
    }
    walk(body, Kind::Other, modes);
}

fn walk(v: &mut Value, kind: Kind, modes: &[EdgeValue]) {
    match v {
        Value::Array(items) => {
            for item in items {
                walk(item, kind, modes);
            }
        }
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                // `droplet.tags` and `links.actions` hold strings and links, not tags or
                // actions; only objects are transformed, so a kind never misapplies.
                walk(child, kind_of(key), modes);
            }
            transform(map, kind, modes);
        }
        _ => {}
    }
}

fn transform(map: &mut Map<String, Value>, kind: Kind, modes: &[EdgeValue]) {
    for mode in modes {
        match mode {
            EdgeValue::Nulls => {
                for f in nullable(kind) {
                    map.insert((*f).to_owned(), Value::Null);
                }
            }
            EdgeValue::OmittedOptional => {
                for f in omittable(kind) {
                    map.remove(*f);
                }
            }
            EdgeValue::EmptyArrays => {
                for f in emptiable(kind) {
                    if map.get(*f).is_some_and(Value::is_array) {
                        map.insert((*f).to_owned(), json!([]));
                    }
                }
            }
            EdgeValue::UnknownFields => {
                map.insert(
                    "x_field_the_spec_does_not_list".to_owned(),
                    json!({"note": "spec-valid extension", "values": [1, null, "x"]}),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_touch_only_the_listed_fields_of_objects() {
        let mut body = json!({
            "droplet": {"id": 3, "name": "a", "kernel": {"id": 1}, "vpc_uuid": "u",
                        "features": ["ipv6"], "tags": ["ops-run:x"],
                        "image": {"id": 7, "name": "u", "slug": "ubuntu", "tags": ["t"], "regions": ["nyc3"]},
                        "networks": {"v4": [{"ip_address": "1.2.3.4", "type": "public", "gateway": "g"}]}},
            "links": {"actions": [{"id": 9, "rel": "create", "href": "h"}]}
        });
        apply(&mut body, &[EdgeValue::Nulls]);
        assert_eq!(body["droplet"]["kernel"], Value::Null);
        assert_eq!(body["droplet"]["image"]["slug"], Value::Null);
        assert_eq!(body["droplet"]["tags"], json!(["ops-run:x"]));
        assert_eq!(body["links"]["actions"][0]["id"], 9);
        apply(
            &mut body,
            &[EdgeValue::OmittedOptional, EdgeValue::EmptyArrays],
        );
        assert!(body["droplet"].get("vpc_uuid").is_none());
        assert!(body["droplet"]["image"].get("regions").is_none());
        assert_eq!(body["droplet"]["image"]["id"], 7);
        assert_eq!(body["droplet"]["features"], json!([]));
        assert!(
            body["droplet"]["networks"]["v4"][0]
                .get("gateway")
                .is_none()
        );
        assert_eq!(
            body["droplet"]["networks"]["v4"][0]["ip_address"],
            "1.2.3.4"
        );
        apply(&mut body, &[EdgeValue::UnknownFields]);
        assert!(
            body["droplet"]["networks"]["v4"][0]
                .get("x_field_the_spec_does_not_list")
                .is_some()
        );
        assert!(body.get("x_field_the_spec_does_not_list").is_some());
    }

    /// Issue #22: the volume, project, project resource and alert policy tables; identity
    /// fields (tags, droplet_ids, description, entities, urn, status) are never touched.
    #[test]
    fn the_provision_resources_keep_their_identity_fields() {
        let mut body = json!({
            "volumes": [{"id": "v", "name": "d", "description": "x", "size_gigabytes": 10,
                         "droplet_ids": [3], "tags": ["ops-core"], "created_at": "t",
                         "filesystem_type": "ext4", "filesystem_label": "", "region": {"slug": "nyc3"}}],
            "project": {"id": "p", "name": "n", "description": "created by ops-core",
                        "purpose": "Web", "is_default": false, "owner_id": 1},
            "resources": [{"urn": "do:droplet:3", "status": "assigned", "assigned_at": "t",
                           "links": {"self": "h"}}],
            "policy": {"uuid": "u", "description": "ops-core h: cpu", "entities": ["3"],
                       "tags": ["web"], "alerts": {"email": ["a@b.c"], "slack": [{"channel": "#x"}]}}
        });
        apply(
            &mut body,
            &[
                EdgeValue::Nulls,
                EdgeValue::OmittedOptional,
                EdgeValue::EmptyArrays,
            ],
        );
        let v = &body["volumes"][0];
        assert_eq!(v["tags"], json!(["ops-core"]));
        assert_eq!(v["droplet_ids"], json!([3]));
        assert!(v.get("description").is_none() && v.get("filesystem_type").is_none());
        assert_eq!(v["region"]["slug"], "nyc3");
        assert_eq!(body["project"]["description"], "created by ops-core");
        assert!(body["project"].get("purpose").is_none());
        assert_eq!(body["resources"][0]["status"], "assigned");
        assert!(body["resources"][0].get("links").is_none());
        assert_eq!(body["policy"]["entities"], json!(["3"]));
        assert_eq!(body["policy"]["tags"], json!([]));
        assert_eq!(body["policy"]["alerts"]["slack"], json!([]));
        assert_eq!(body["policy"]["alerts"]["email"], json!(["a@b.c"]));
    }
}

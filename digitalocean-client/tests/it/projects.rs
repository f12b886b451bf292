//! Projects (issue #22): each method's request shape, the default project, resources by
//! URN, error paths, and the checks made before sending.

use crate::common;

use common::{error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{
    CreateProject, ProjectEnvironment, ProjectResourceStatus, UpdateProject, droplet_urn,
    reserved_ip_urn, volume_urn,
};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::query_param;

const ID: &str = "4e1bfbc3-dc3e-41f2-a18f-1b4d7ba71679";
const PATH: &str = "/v2/projects/4e1bfbc3-dc3e-41f2-a18f-1b4d7ba71679";

fn project() -> Value {
    json!({
        "id": ID, "owner_uuid": "99525febec065ca37b2ffe4f852fd2b2581895e7", "owner_id": 258992,
        "name": "web", "description": "", "purpose": "Web Application",
        "environment": "Production", "is_default": false,
        "created_at": "2018-09-27T20:10:35Z", "updated_at": "2018-09-27T20:10:35Z"
    })
}

fn update() -> UpdateProject {
    UpdateProject {
        name: "web".into(),
        description: "front".into(),
        purpose: "Web Application".into(),
        environment: ProjectEnvironment::Staging,
        is_default: false,
    }
}

fn update_json() -> Value {
    json!({"name": "web", "description": "front", "purpose": "Web Application",
           "environment": "Staging", "is_default": false})
}

fn resources() -> Value {
    json!({"resources": [
        {"urn": "do:droplet:3164444", "assigned_at": "2018-09-28T19:26:37Z", "status": "ok"},
        {"urn": "do:floatingip:45.55.96.47", "assigned_at": "2018-09-28T19:26:37Z", "status": "already_assigned"},
        {"urn": "do:volume:506f78a4-e098-11e5-ad9f-000f53306ae1", "status": "not_found"}
    ], "links": {}, "meta": {"total": 3}})
}

#[tokio::test]
async fn crud_and_the_default_project() {
    let (server, client) = setup().await;
    on("GET", "/v2/projects")
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(
            json!({"projects": [project()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    for p in [PATH, "/v2/projects/default"] {
        on("GET", p)
            .respond_with(ok_json(json!({"project": project()})))
            .expect(1)
            .mount(&server)
            .await;
        on_json("PUT", p, update_json())
            .respond_with(ok_json(json!({"project": project()})))
            .expect(1)
            .mount(&server)
            .await;
    }
    on_json(
        "POST",
        "/v2/projects",
        json!({"name": "web", "purpose": "Web Application", "description": "front", "environment": "Production"}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"project": project()})))
    .expect(1)
    .mount(&server)
    .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let p = client.projects();
    let all = p.list().collect_all().await.unwrap();
    assert_eq!(all[0].environment, Some(ProjectEnvironment::Production));
    assert_eq!(all[0].owner_id, Some(258992));
    assert_eq!(p.get(ID).await.unwrap().id.as_deref(), Some(ID));
    assert_eq!(p.get_default().await.unwrap().name, "web");
    let mut req = CreateProject::new("web", "Web Application");
    req.description = Some("front".into());
    req.environment = Some(ProjectEnvironment::Production);
    p.create(&req).await.unwrap();
    p.update(ID, &update()).await.unwrap();
    p.update_default(&update()).await.unwrap();
    p.delete(ID).await.unwrap();
}

#[tokio::test]
async fn resources_by_urn() {
    let (server, client) = setup().await;
    let urns = json!({"resources": [
        "do:droplet:3164444", "do:floatingip:45.55.96.47",
        "do:volume:506f78a4-e098-11e5-ad9f-000f53306ae1"
    ]});
    for p in [PATH, "/v2/projects/default"] {
        on("GET", &format!("{p}/resources"))
            .and(query_param("per_page", "200"))
            .respond_with(ok_json(resources()))
            .expect(1)
            .mount(&server)
            .await;
        on_json("POST", &format!("{p}/resources"), urns.clone())
            .respond_with(ok_json(resources()))
            .expect(1)
            .mount(&server)
            .await;
    }
    let p = client.projects();
    let listed = p.list_resources(ID).collect_all().await.unwrap();
    assert_eq!(listed.len(), 3);
    p.list_default_resources().collect_all().await.unwrap();
    let urns = [
        droplet_urn(3164444),
        reserved_ip_urn("45.55.96.47"),
        volume_urn("506f78a4-e098-11e5-ad9f-000f53306ae1"),
    ];
    let assigned = p.assign_resources(ID, &urns).await.unwrap();
    assert!(assigned[0].status.is_in_project());
    assert_eq!(assigned[1].status, ProjectResourceStatus::AlreadyAssigned);
    assert!(
        assigned[1].status.is_in_project(),
        "a repeat is not a failure"
    );
    assert_eq!(assigned[2].status, ProjectResourceStatus::NotFound);
    assert!(!assigned[2].status.is_in_project());
    p.assign_default_resources(&urns).await.unwrap();
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/projects", |c| async move {
        c.projects().list().collect_all().await
    })
    .await;
    error_paths("GET", PATH, |c| async move { c.projects().get(ID).await }).await;
    error_paths("GET", "/v2/projects/default", |c| async move {
        c.projects().get_default().await
    })
    .await;
    error_paths("POST", "/v2/projects", |c| async move {
        c.projects().create(&CreateProject::new("web", "x")).await
    })
    .await;
    error_paths("PUT", PATH, |c| async move {
        c.projects().update(ID, &update()).await
    })
    .await;
    error_paths("PUT", "/v2/projects/default", |c| async move {
        c.projects().update_default(&update()).await
    })
    .await;
    error_paths(
        "DELETE",
        PATH,
        |c| async move { c.projects().delete(ID).await },
    )
    .await;
    let res = format!("{PATH}/resources");
    error_paths("GET", &res, |c| async move {
        c.projects().list_resources(ID).collect_all().await
    })
    .await;
    error_paths("POST", &res, |c| async move {
        c.projects().assign_resources(ID, &[droplet_urn(1)]).await
    })
    .await;
    error_paths("GET", "/v2/projects/default/resources", |c| async move {
        c.projects().list_default_resources().collect_all().await
    })
    .await;
    error_paths("POST", "/v2/projects/default/resources", |c| async move {
        c.projects()
            .assign_default_resources(&[droplet_urn(1)])
            .await
    })
    .await;
}

#[tokio::test]
async fn a_project_with_resources_is_not_deleted() {
    let (server, client) = setup().await;
    on("DELETE", PATH)
        .respond_with(ResponseTemplate::new(412).set_body_json(json!({
            "id": "precondition_failed",
            "message": "cannot delete a project with resources. move or remove the resources first"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.projects().delete(ID).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(412));
    assert_eq!(err.api_error_id(), Some("precondition_failed"));
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("project_id", |c| async move {
        c.projects().get("default").await
    })
    .await;
    refused("project_id", |c| async move {
        c.projects().list_resources("web").collect_all().await
    })
    .await;
    refused("name", |c| async move {
        c.projects()
            .create(&CreateProject::new("x".repeat(176), "p"))
            .await
    })
    .await;
    refused("purpose", |c| async move {
        c.projects().create(&CreateProject::new("web", "")).await
    })
    .await;
    refused("environment", |c| async move {
        let mut u = update();
        u.environment = ProjectEnvironment::Unknown;
        c.projects().update_default(&u).await
    })
    .await;
    refused("resources", |c| async move {
        c.projects().assign_resources(ID, &[]).await
    })
    .await;
    refused("resources", |c| async move {
        c.projects()
            .assign_default_resources(&["do:reservedip:45.55.96.47".to_owned()])
            .await
    })
    .await;
}

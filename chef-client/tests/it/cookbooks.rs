//! Issue #23: cookbook listings (`GET /cookbooks`, `GET /cookbooks/NAME`) in the documented
//! answer shape, the `num_versions` parameter, and the metadata-only upload.

use crate::common;

use chef_client::NumVersions;
use common::{ORG, Signed, setup};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn listing(server: &str) -> serde_json::Value {
    json!({
        "apache2": {"url": format!("{server}{ORG}/cookbooks/apache2"),
                    "versions": [{"url": format!("{server}{ORG}/cookbooks/apache2/5.1.0"), "version": "5.1.0"},
                                 {"url": format!("{server}{ORG}/cookbooks/apache2/4.2.0"), "version": "4.2.0"}]},
        "user_setup": {"url": format!("{server}{ORG}/cookbooks/user_setup"),
                       "versions": [{"url": format!("{server}{ORG}/cookbooks/user_setup/0.1.0"), "version": "0.1.0"}]}
    })
}

#[tokio::test]
async fn list_with_and_without_num_versions() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/cookbooks")))
        .and(query_param_is_missing("num_versions"))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_json(listing(&server.uri())))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/cookbooks")))
        .and(query_param("num_versions", "all"))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_json(listing(&server.uri())))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/cookbooks")))
        .and(query_param("num_versions", "3"))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let all = c.cookbooks().list(NumVersions::Default).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["apache2", "user_setup"]
    );
    assert_eq!(all[0].versions[1].version, "4.2.0");
    assert!(all[1].url.ends_with("/cookbooks/user_setup"));
    assert_eq!(c.cookbooks().list(NumVersions::All).await.unwrap(), all);
    assert!(
        c.cookbooks()
            .list(NumVersions::Latest(3))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn one_cookbook_and_a_missing_one() {
    let (server, c) = setup().await;
    let one = json!({"user_setup": listing(&server.uri())["user_setup"].clone()});
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/cookbooks/user_setup")))
        .and(query_param("num_versions", "all"))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_json(one))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/cookbooks/nope")))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": ["Cannot find a cookbook named nope"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let cb = c
        .cookbooks()
        .get("user_setup", NumVersions::All)
        .await
        .unwrap();
    assert_eq!(cb.name, "user_setup");
    assert_eq!(cb.versions.len(), 1);
    assert_eq!(cb.versions[0].version, "0.1.0");
    let err = c
        .cookbooks()
        .get("nope", NumVersions::Default)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    // Refused before sending: no mock for these.
    assert!(c.cookbooks().get("..", NumVersions::All).await.is_err());
}

#[tokio::test]
async fn metadata_only_upload_and_version_validation() {
    let (server, c) = setup().await;
    Mock::given(method("PUT"))
        .and(path(format!("{ORG}/cookbooks/user_setup/0.1.0")))
        .and(body_partial_json(json!({
            "cookbook_name": "user_setup", "version": "0.1.0",
            "metadata": {"name": "user_setup", "version": "0.1.0"}})))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"cookbook_name": "user_setup"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    c.cookbooks()
        .put_metadata_only("user_setup", "0.1.0")
        .await
        .unwrap();
    for bad in ["1", "1.x.0", "1.2.3.4", "", "1..2", "-1.0.0"] {
        let err = c
            .cookbooks()
            .put_metadata_only("user_setup", bad)
            .await
            .unwrap_err();
        assert!(
            matches!(err, chef_client::Error::InvalidRequest(_)),
            "{bad}: {err:?}"
        );
    }
}

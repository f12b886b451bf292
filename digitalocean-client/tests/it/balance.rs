//! The account's balance (issue #22): request shape and error paths.

use crate::common;

use common::{error_paths, ok_json, on, setup};
use serde_json::json;

#[tokio::test]
async fn balance_is_read() {
    let (server, client) = setup().await;
    on("GET", "/v2/customers/my/balance")
        .respond_with(ok_json(json!({
            "month_to_date_balance": "23.44", "account_balance": "12.23",
            "month_to_date_usage": "11.21", "generated_at": "2019-07-09T15:01:12Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let b = client.account().balance().await.unwrap();
    assert_eq!(b.month_to_date_balance, "23.44");
    assert_eq!(b.account_balance, "12.23");
    assert_eq!(b.month_to_date_usage, "11.21");
    assert_eq!(b.generated_at.as_deref(), Some("2019-07-09T15:01:12Z"));
}

#[tokio::test]
async fn balance_keeps_the_error_paths() {
    error_paths("GET", "/v2/customers/my/balance", |c| async move {
        c.account().balance().await
    })
    .await;
}

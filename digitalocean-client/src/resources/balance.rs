//! The account's balance: `/v2/customers/my/balance`.

use reqwest::Method;
use serde::Deserialize;

use super::catalog::Account;
use crate::error::Result;

/// The account's balance. Amounts are decimal strings in USD, as DigitalOcean sends them
/// (e.g. `"23.44"`), so no precision is lost; parse them with a decimal type if needed.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Balance {
    /// Balance as of `generated_at`: `account_balance` plus `month_to_date_usage`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub month_to_date_balance: String,
    /// Balance as of the last invoice.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub account_balance: String,
    /// Usage this month so far.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub month_to_date_usage: String,
    /// When the figures were computed (RFC 3339).
    #[serde(default)]
    pub generated_at: Option<String>,
}

impl Account<'_> {
    /// `GET /v2/customers/my/balance`: what the account owes so far this month. Needs a
    /// token with billing read access.
    ///
    /// ```no_run
    /// # async fn demo(client: digitalocean_client::Client) -> digitalocean_client::Result<()> {
    /// let b = client.account().balance().await?;
    /// println!("month to date: ${} (usage ${})", b.month_to_date_balance, b.month_to_date_usage);
    /// // The account's limits are on the account itself.
    /// let a = client.account().get().await?;
    /// println!("droplet limit {}, reserved IP limit {}", a.droplet_limit, a.floating_ip_limit);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn balance(&self) -> Result<Balance> {
        let url = self
            .client
            .url(&["v2", "customers", "my", "balance"], &[])?;
        self.client
            .send(Method::GET, url, None::<&()>, "balance")
            .await
    }
}

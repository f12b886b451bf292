//! Search (`GET /search/INDEX`) and partial search (`POST /search/INDEX`).
//!
//! Results are paged with `start`/`rows`. The pager advances `start` by the number of rows
//! *requested*, never by the number returned: Chef servers filter deleted objects out of a
//! page after the index answered, so pages can be short (chef/chef#4029). It stops at an
//! empty page, or at a short page once `start` has reached `total`. (goiardi 0.11 reports the
//! page's row count as `total`, so a full page is always followed by another request.)
//!
//! Because `total` cannot be trusted, a server that keeps answering full pages would keep
//! the pager going for ever: it fetches at most [`SearchPager::max_pages`] pages (default
//! [`DEFAULT_MAX_PAGES`]) and then fails with [`Error::TooManyPages`] rather than stop
//! silently with a partial result.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::{Client, Scope};
use crate::error::{Error, Result};
use crate::resources::nodes::Node;

/// Rows per page unless set otherwise (what Chef itself uses).
pub const DEFAULT_ROWS: u32 = 1000;

/// Pages a [`SearchPager`] fetches at most unless set otherwise (10 million rows at the
/// default 1000 rows per page).
pub const DEFAULT_MAX_PAGES: u32 = 10_000;

/// One page of results.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchPage<T> {
    /// The rows of this page.
    pub rows: Vec<T>,
    /// Offset of this page.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub start: u64,
    /// Total matches for the query.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub total: u64,
}

/// A partial-search row: `data` holds only the requested attribute paths.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PartialRow {
    /// URL of the object.
    #[serde(default)]
    pub url: Option<String>,
    /// Requested key → value (`null` when the object lacks the path).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub data: Map<String, Value>,
}

/// A data-bag search row: the item is wrapped, its content is in `raw_data`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataBagSearchRow {
    /// `data_bag_item_BAG_ID`.
    #[serde(default)]
    pub name: Option<String>,
    /// The bag.
    #[serde(default)]
    pub data_bag: Option<String>,
    /// The item itself.
    pub raw_data: Value,
}

/// Handler for `/search`. Get one with [`Client::search`].
#[derive(Debug, Clone, Copy)]
pub struct Search<'c> {
    client: &'c Client,
}

impl<'c> Search<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// The searchable indexes (`GET /search`): `node`, `role`, `client`, `environment` and
    /// one per data bag.
    pub async fn indexes(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["search"])?;
        let map: BTreeMap<String, Value> = self
            .client
            .json(Method::GET, url, None, "search index list")
            .await?;
        Ok(map.into_keys().collect())
    }

    /// A query on any index; `T` is the row type (e.g. [`Node`], [`DataBagSearchRow`],
    /// [`serde_json::Value`]).
    ///
    /// ```no_run
    /// # async fn run(client: chef_client::Client) -> chef_client::Result<()> {
    /// use chef_client::Node;
    /// let web: Vec<Node> = client.search().query("node", "role:web AND chef_environment:prod")
    ///     .rows(100)
    ///     .collect_all()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn query<T: DeserializeOwned>(
        &self,
        index: impl Into<String>,
        q: impl Into<String>,
    ) -> SearchPager<'c, T> {
        SearchPager::new(self.client, index.into(), q.into(), None)
    }

    /// A node query.
    pub fn nodes(&self, q: impl Into<String>) -> SearchPager<'c, Node> {
        self.query("node", q)
    }

    /// Partial search: only the attribute paths in `keys` come back, under the given names.
    ///
    /// ```no_run
    /// # async fn run(client: chef_client::Client) -> chef_client::Result<()> {
    /// let rows = client.search()
    ///     .partial("node", "role:web", [
    ///         ("name", vec!["name"]),
    ///         ("ip", vec!["automatic", "ipaddress"]),
    ///     ])
    ///     .collect_all()
    ///     .await?;
    /// for row in rows {
    ///     println!("{:?} {:?}", row.data["name"], row.data["ip"]);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn partial<K, P, S>(
        &self,
        index: impl Into<String>,
        q: impl Into<String>,
        keys: impl IntoIterator<Item = (K, P)>,
    ) -> SearchPager<'c, PartialRow>
    where
        K: Into<String>,
        P: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let keys: BTreeMap<String, Vec<String>> = keys
            .into_iter()
            .map(|(k, p)| (k.into(), p.into_iter().map(Into::into).collect()))
            .collect();
        SearchPager::new(self.client, index.into(), q.into(), Some(keys))
    }
}

/// A search that fetches page after page. Created by [`Search::query`] and friends.
#[derive(Debug)]
#[must_use = "a pager does nothing until next_page() or collect_all() is awaited"]
pub struct SearchPager<'c, T> {
    client: &'c Client,
    index: String,
    q: String,
    rows: u32,
    start: u64,
    sort: Option<String>,
    partial_keys: Option<BTreeMap<String, Vec<String>>>,
    total: Option<u64>,
    done: bool,
    max_pages: u32,
    pages: u32,
    _row: PhantomData<fn() -> T>,
}

impl<'c, T: DeserializeOwned> SearchPager<'c, T> {
    fn new(
        client: &'c Client,
        index: String,
        q: String,
        partial_keys: Option<BTreeMap<String, Vec<String>>>,
    ) -> Self {
        Self {
            client,
            index,
            q,
            rows: DEFAULT_ROWS,
            start: 0,
            sort: None,
            partial_keys,
            total: None,
            done: false,
            max_pages: DEFAULT_MAX_PAGES,
            pages: 0,
            _row: PhantomData,
        }
    }

    /// Rows per page (default 1000; 0 is treated as 1).
    pub fn rows(mut self, rows: u32) -> Self {
        self.rows = rows.max(1);
        self
    }

    /// Offset of the first page (default 0).
    pub fn start(mut self, start: u64) -> Self {
        self.start = start;
        self
    }

    /// Sort order, e.g. `X_CHEF_id_CHEF_X asc`.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// Most pages to fetch (default [`DEFAULT_MAX_PAGES`]; 0 is treated as 1). When the
    /// server still has more after that many, the next [`next_page`](Self::next_page) is
    /// [`Error::TooManyPages`] (and the pager ends). Raise it, or `rows`, for result sets
    /// larger than `max_pages × rows`.
    pub fn max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Total matches reported by the last page fetched.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Fetch one page of rows and advance. `None` when there is nothing left.
    pub async fn next_page(&mut self) -> Option<Result<Vec<T>>> {
        if self.done {
            return None;
        }
        if self.pages >= self.max_pages {
            self.done = true;
            return Some(Err(Error::TooManyPages {
                what: "search",
                limit: self.max_pages,
            }));
        }
        self.pages += 1;
        let result = self.fetch().await;
        match result {
            Ok(page) => {
                self.total = Some(page.total);
                self.start = self.start.saturating_add(u64::from(self.rows));
                // A full page may be followed by more even when `total` says otherwise:
                // goiardi reports the page's row count as `total`. The cost on servers with
                // a correct total is one extra (empty) request when the total is a multiple
                // of `rows`.
                let full = page.rows.len() as u64 >= u64::from(self.rows);
                if page.rows.is_empty() || (self.start >= page.total && !full) {
                    self.done = true;
                }
                Some(Ok(page.rows))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// Fetch every remaining page.
    pub async fn collect_all(mut self) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while let Some(page) = self.next_page().await {
            out.extend(page?);
        }
        Ok(out)
    }

    async fn fetch(&self) -> Result<SearchPage<T>> {
        let mut url = self.client.url(Scope::Org, &["search", &self.index])?;
        {
            let mut qp = url.query_pairs_mut();
            qp.append_pair("q", &self.q)
                .append_pair("start", &self.start.to_string())
                .append_pair("rows", &self.rows.to_string());
            if let Some(sort) = &self.sort {
                qp.append_pair("sort", sort);
            }
        }
        let (method, body) = match &self.partial_keys {
            None => (Method::GET, None),
            Some(keys) => (Method::POST, Some(Client::encode("partial search", keys)?)),
        };
        let bytes = self.client.execute(method, url, body).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            what: "search",
            source,
        })
    }
}

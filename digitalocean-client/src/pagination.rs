//! [`Pager`]: walks `links.pages.next` until the last page.

use std::collections::HashSet;
use std::marker::PhantomData;

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::{Client, decode};
use crate::error::{Error, Result};
use crate::validate;

/// Default page size requested by every list (the API maximum).
pub const DEFAULT_PER_PAGE: u32 = validate::MAX_PER_PAGE;

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    pages: Option<Pages>,
}

#[derive(Deserialize, Default)]
struct Pages {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    total: Option<u64>,
}

/// Lazily fetches the pages of a list endpoint.
///
/// It follows `links.pages.next` (only its path and query, resolved against the
/// configured base URL) and stops when there is no `next` link, or when a `next`
/// link was already visited — so a misbehaving server cannot make it loop forever.
#[derive(Debug)]
pub struct Pager<'c, T> {
    client: &'c Client,
    key: &'static str,
    what: &'static str,
    next: Option<Url>,
    per_page: u32,
    started: bool,
    pending_error: Option<Error>,
    seen: HashSet<String>,
    total: Option<u64>,
    _item: PhantomData<fn() -> T>,
}

impl<'c, T: DeserializeOwned> Pager<'c, T> {
    /// `key` is the JSON field holding the items (`"droplets"`, `"ssh_keys"`, …).
    pub(crate) fn new(
        client: &'c Client,
        key: &'static str,
        what: &'static str,
        first: Result<Url>,
    ) -> Self {
        let (next, pending_error) = match first {
            Ok(url) => (Some(url), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            client,
            key,
            what,
            next,
            per_page: DEFAULT_PER_PAGE,
            started: false,
            pending_error,
            seen: HashSet::new(),
            total: None,
            _item: PhantomData,
        }
    }

    /// Page size, 1..=200 (default 200). Out-of-range values make the first
    /// [`Pager::next_page`] return [`Error::InvalidInput`] without sending anything.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page;
        self
    }

    /// `meta.total` from the last page fetched, if the server sent it.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Fetch the next page: `None` once the list is exhausted (or after an error).
    pub async fn next_page(&mut self) -> Option<Result<Vec<T>>> {
        if let Some(err) = self.pending_error.take() {
            self.next = None;
            return Some(Err(err));
        }
        let mut url = self.next.take()?;
        if !self.started {
            self.started = true;
            if let Err(e) = validate::per_page(self.per_page) {
                return Some(Err(e));
            }
            let per_page = self.per_page.to_string();
            url.query_pairs_mut().append_pair("per_page", &per_page);
        }
        self.seen.insert(url.as_str().to_owned());
        Some(self.fetch(url).await)
    }

    async fn fetch(&mut self, url: Url) -> Result<Vec<T>> {
        let raw = self.client.execute(Method::GET, url, None).await?;
        let mut page: serde_json::Map<String, serde_json::Value> = decode(&raw.body, self.what)?;
        let items = match page.remove(self.key) {
            Some(v) => serde_json::from_value(v).map_err(|source| Error::Decode {
                what: self.what,
                source,
            })?,
            None => Vec::new(),
        };
        let links: Links = match page.remove("links") {
            Some(v) => serde_json::from_value(v).unwrap_or_default(),
            None => Links::default(),
        };
        if let Some(meta) = page.remove("meta") {
            self.total = serde_json::from_value::<Meta>(meta)
                .unwrap_or_default()
                .total;
        }
        if let Some(href) = links.pages.and_then(|p| p.next).filter(|h| !h.is_empty()) {
            let next = self.client.resolve_link(&href)?;
            if self.seen.contains(next.as_str()) {
                tracing::warn!(next = %next.path(), "pagination loop detected; stopping");
            } else {
                self.next = Some(next);
            }
        }
        Ok(items)
    }

    /// Fetch every remaining page and concatenate the items.
    pub async fn collect_all(mut self) -> Result<Vec<T>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await {
            all.extend(page?);
        }
        Ok(all)
    }
}

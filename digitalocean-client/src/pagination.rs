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

/// Default [`Pager::max_pages`]: 10,000 pages (2 million items at 200 per page).
pub const DEFAULT_MAX_PAGES: u32 = 10_000;

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

/// One list page as decoded: its items, its non-empty `links.pages.next`, and `meta.total`
/// when the page has a `meta` object (`Some(None)`: a `meta` without a usable total).
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<String>,
    pub(crate) meta_total: Option<Option<u64>>,
}

/// Decodes one list page; the items are under `key` (`"droplets"`, `"ssh_keys"`, …).
pub(crate) fn decode_page<T: DeserializeOwned>(
    body: &[u8],
    key: &str,
    what: &'static str,
) -> Result<Page<T>> {
    let mut page: serde_json::Map<String, serde_json::Value> = decode(body, what)?;
    let items: Vec<T> = match page.remove(key) {
        Some(v) => serde_json::from_value(v).map_err(|source| Error::Decode { what, source })?,
        None => Vec::new(),
    };
    // A malformed `links` must not end the listing silently with part of it.
    let links: Links = match page.remove("links") {
        None | Some(serde_json::Value::Null) => Links::default(),
        Some(v) => serde_json::from_value(v).map_err(|source| Error::Decode { what, source })?,
    };
    let meta_total = page.remove("meta").map(|meta| {
        serde_json::from_value::<Meta>(meta)
            .unwrap_or_default()
            .total
    });
    Ok(Page {
        items,
        next: links.pages.and_then(|p| p.next).filter(|h| !h.is_empty()),
        meta_total,
    })
}

/// The page limit: `max_pages`, or the pages `total` (from the server) needs at the page
/// size the server really uses, plus slack, when that is smaller.
pub(crate) fn page_limit(
    max_pages: u32,
    per_page: u32,
    total: Option<u64>,
    page_size: Option<u64>,
) -> u32 {
    let Some(total) = total else {
        return max_pages;
    };
    let per_page = u64::from(per_page.max(1));
    let size = page_size.unwrap_or(per_page).clamp(1, per_page);
    let needed = total.div_ceil(size);
    let with_slack = needed.saturating_add(2).saturating_add(needed / 10);
    u32::try_from(with_slack).map_or(max_pages, |n| n.min(max_pages))
}

/// Lazily fetches the pages of a list endpoint.
///
/// It follows `links.pages.next` (only its path and query, resolved against the
/// configured base URL) and stops when there is no `next` link, or when a `next`
/// link was already visited — so a misbehaving server cannot make it loop forever.
///
/// A server that keeps inventing new `next` links is stopped too: the pager fetches at
/// most [`Pager::max_pages`] pages (default [`DEFAULT_MAX_PAGES`]), or, when the server
/// sends `meta.total`, the page count that total implies plus some slack (items added
/// while paging), whichever is smaller. When the server still sends a `next` link past
/// that, [`Pager::next_page`] returns [`Error::TooManyPages`] rather than stopping silently
/// with part of the list. A malformed `links` object is [`Error::Decode`] for the same
/// reason.
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
    max_pages: u32,
    pages: u32,
    /// Fewest items on a page that had a `next` link: the page size the server really uses.
    page_size: Option<u64>,
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
            max_pages: DEFAULT_MAX_PAGES,
            pages: 0,
            page_size: None,
            _item: PhantomData,
        }
    }

    /// Page size, 1..=200 (default 200). Out-of-range values make the first
    /// [`Pager::next_page`] return [`Error::InvalidInput`] without sending anything.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page;
        self
    }

    /// Most pages to fetch (default [`DEFAULT_MAX_PAGES`]; 0 is treated as 1). Past it, a
    /// further `next` link makes [`Pager::next_page`] return [`Error::TooManyPages`].
    /// When the server sends `meta.total`, the limit is lowered to the pages that total
    /// needs plus slack (2 pages and 10 %).
    pub fn max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// The page limit in force: [`Pager::max_pages`], or what `meta.total` implies (plus
    /// slack) when that is smaller.
    fn page_limit(&self) -> u32 {
        page_limit(self.max_pages, self.per_page, self.total, self.page_size)
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
        let limit = self.page_limit();
        if self.pages >= limit {
            tracing::warn!(
                what = self.what,
                pages = self.pages,
                limit,
                "the server keeps sending next links; giving up"
            );
            return Some(Err(Error::TooManyPages {
                what: self.what,
                pages: self.pages,
                limit,
            }));
        }
        self.pages += 1;
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
        let page = decode_page::<T>(&raw.body, self.key, self.what)?;
        if let Some(total) = page.meta_total {
            self.total = total;
        }
        if let Some(href) = page.next {
            if !page.items.is_empty() {
                let n = page.items.len() as u64;
                self.page_size = Some(self.page_size.map_or(n, |s| s.min(n)));
            }
            let next = self.client.resolve_link(&href)?;
            if self.seen.contains(next.as_str()) {
                tracing::warn!(next = %next.path(), "pagination loop detected; stopping");
            } else {
                self.next = Some(next);
            }
        }
        Ok(page.items)
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

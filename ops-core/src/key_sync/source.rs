//! The source of truth: users, their keys, groups, shell and state, read from a directory of
//! per-user files or from one file, then validated as a whole.
//!
//! File formats (chosen by extension, `.toml` or `.json`):
//!
//! ```toml
//! # one user per file…
//! id = "alice"
//! ssh_keys = ["ssh-ed25519 AAAAC3Nza… alice@laptop"]
//! groups = ["sysadmin"]
//! shell = "/bin/bash"
//! state = "present"          # or "removed"; default "present"
//! ```
//!
//! …or several users in one file: `[[users]]` tables in TOML, a JSON array, or a JSON object
//! `{"users": [...]}`. Unknown fields are rejected, so a typo (`ssh_key`) cannot silently
//! drop every key of a user.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::keys::{KeyPolicy, ValidKey, validate_key};
use crate::{Error, Result};

/// Whether a user must exist on the hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    /// The account exists with exactly the listed keys.
    #[default]
    Present,
    /// The account is removed (`action: remove` in the data bag item).
    Removed,
}

/// One user as written in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// User name (also the data bag item id).
    pub id: String,
    /// OpenSSH public key lines.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// Groups (one of them is the group the recipe manages).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Login shell (absolute path); `None` leaves the data bag's value alone.
    #[serde(default)]
    pub shell: Option<String>,
    /// Present or removed.
    #[serde(default)]
    pub state: UserState,
}

/// Where something was read: a file and, when known, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// File name as given (or `<input>` for in-memory input).
    pub file: String,
    /// 1-based line.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// A key of the source, validated, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceKey {
    /// The validated key.
    pub key: ValidKey,
    /// Where it was written.
    pub location: Location,
}

/// A validated user of the source of truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    /// User name.
    pub id: String,
    /// Keys, in source order.
    pub keys: Vec<SourceKey>,
    /// Groups, in source order, without duplicates.
    pub groups: Vec<String>,
    /// Login shell, when managed.
    pub shell: Option<String>,
    /// Present or removed.
    pub state: UserState,
    /// Where the user was defined.
    pub location: Location,
}

/// The whole validated source of truth. Built only by the loaders, so holding one means every
/// key parsed and passed the [`KeyPolicy`] and no id or key is duplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    users: BTreeMap<String, DesiredUser>,
}

/// Input format of [`KeySource::parse_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

impl KeySource {
    /// Loads a directory (every `*.toml` / `*.json` file directly in it, in name order; other
    /// files are ignored) or a single file. Blocking file I/O: the source is small.
    ///
    /// Every problem is reported at once, each as `file:line: message`, in
    /// [`Error::Validation`].
    pub fn load(path: &Path, policy: &KeyPolicy) -> Result<Self> {
        let target = path.display().to_string();
        let io_err = |e: std::io::Error| Error::Validation {
            target: target.clone(),
            problems: vec![format!("{target}: cannot be read ({e})")],
        };
        // A path that is not there is named as such (it used to be "unknown format" when it
        // had no extension, issue #17).
        let meta = std::fs::metadata(path).map_err(io_err)?;
        let mut files = Vec::new();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).map_err(io_err)? {
                let p = entry.map_err(io_err)?.path();
                let hidden = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
                if p.is_file() && !hidden && format_of(&p).is_some() {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut inputs = Vec::new();
        for f in &files {
            let name = f.display().to_string();
            let Some(format) = format_of(f) else {
                return Err(Error::Validation {
                    target,
                    problems: vec![format!("{name}: unknown format (use .toml or .json)")],
                });
            };
            let text = std::fs::read_to_string(f).map_err(io_err)?;
            inputs.push((name, format, text));
        }
        build(&target, &inputs, policy)
    }

    /// Parses one in-memory document named `name` (used in problem locations).
    pub fn parse_str(
        text: &str,
        format: SourceFormat,
        name: &str,
        policy: &KeyPolicy,
    ) -> Result<Self> {
        build(name, &[(name.to_owned(), format, text.to_owned())], policy)
    }

    /// Validates users given in code (locations read `<input>`).
    pub fn from_specs(specs: Vec<UserSpec>, policy: &KeyPolicy) -> Result<Self> {
        let mut v = Validator::new(policy);
        for spec in specs {
            v.user(spec, "<input>", None);
        }
        v.finish("<input>")
    }

    /// The users, ordered by id.
    pub fn users(&self) -> impl Iterator<Item = &DesiredUser> {
        self.users.values()
    }

    /// One user.
    pub fn get(&self, id: &str) -> Option<&DesiredUser> {
        self.users.get(id)
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there is no user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

fn format_of(p: &Path) -> Option<SourceFormat> {
    match p.extension()?.to_str()? {
        "toml" => Some(SourceFormat::Toml),
        "json" => Some(SourceFormat::Json),
        _ => None,
    }
}

/// The 1-based line of byte `offset` (the line/column rule of every parse error).
fn line_at(text: &str, offset: usize) -> usize {
    crate::error::line_column(text, offset).0
}

/// Finds the line of successive occurrences of a needle in a file's text.
struct Finder<'t> {
    text: &'t str,
    next_from: HashMap<String, usize>,
}

impl<'t> Finder<'t> {
    fn new(text: &'t str) -> Self {
        Finder {
            text,
            next_from: HashMap::new(),
        }
    }

    fn locate(&mut self, needle: &str) -> Option<usize> {
        if needle.is_empty() {
            return None;
        }
        let from = self.next_from.get(needle).copied().unwrap_or(0);
        let pos = self.text.get(from..)?.find(needle)? + from;
        self.next_from.insert(needle.to_owned(), pos + needle.len());
        Some(line_at(self.text, pos))
    }
}

fn key_needle(line: &str) -> &str {
    let mut it = line.split_whitespace();
    let first = it.next().unwrap_or("");
    it.next().unwrap_or(first)
}

fn build(
    target: &str,
    inputs: &[(String, SourceFormat, String)],
    policy: &KeyPolicy,
) -> Result<KeySource> {
    let mut v = Validator::new(policy);
    for (name, format, text) in inputs {
        match parse_doc(text, *format) {
            Ok(specs) => {
                let mut finder = Finder::new(text);
                for spec in specs {
                    match spec {
                        Ok(spec) => v.user(spec, name, Some(&mut finder)),
                        Err((msg, id)) => {
                            let line = id.and_then(|id| finder.locate(&format!("\"{id}\"")));
                            v.problem(
                                Location {
                                    file: name.clone(),
                                    line,
                                },
                                msg,
                            );
                        }
                    }
                }
            }
            Err((msg, line)) => v.problem(
                Location {
                    file: name.clone(),
                    line,
                },
                msg,
            ),
        }
    }
    if inputs.is_empty() {
        v.problem(
            Location {
                file: target.to_owned(),
                line: None,
            },
            "no .toml or .json user file found".to_owned(),
        );
    }
    v.finish(target)
}

type SpecResult = std::result::Result<UserSpec, (String, Option<String>)>;

/// Parses a document into user specs; a document-level error comes with its line.
fn parse_doc(
    text: &str,
    format: SourceFormat,
) -> std::result::Result<Vec<SpecResult>, (String, Option<usize>)> {
    match format {
        SourceFormat::Toml => {
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                let line = e.span().map(|s| line_at(text, s.start));
                (
                    format!(
                        "invalid TOML: {}",
                        crate::error::without_values(e.message())
                    ),
                    line,
                )
            })?;
            let values = match table.get("users") {
                Some(toml::Value::Array(a)) => a.clone(),
                Some(_) => return Err(("`users` must be an array of tables".to_owned(), None)),
                None => vec![toml::Value::Table(table)],
            };
            Ok(values
                .into_iter()
                .map(|val| {
                    let id = val.get("id").and_then(|i| i.as_str()).map(str::to_owned);
                    val.try_into::<UserSpec>().map_err(|e| {
                        let msg = crate::error::without_values(e.message());
                        (format!("invalid user: {msg}"), id)
                    })
                })
                .collect())
        }
        SourceFormat::Json => {
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                let msg = crate::error::without_values(&e.to_string());
                (format!("invalid JSON: {msg}"), Some(e.line()))
            })?;
            let values = match value {
                serde_json::Value::Array(a) => a,
                serde_json::Value::Object(mut o) if o.contains_key("users") => {
                    match o.remove("users") {
                        Some(serde_json::Value::Array(a)) => a,
                        _ => return Err(("`users` must be an array".to_owned(), None)),
                    }
                }
                v @ serde_json::Value::Object(_) => vec![v],
                _ => {
                    return Err((
                        "expected a user object or an array of users".to_owned(),
                        Some(1),
                    ));
                }
            };
            Ok(values
                .into_iter()
                .map(|val| {
                    let id = val.get("id").and_then(|i| i.as_str()).map(str::to_owned);
                    serde_json::from_value::<UserSpec>(val).map_err(|e| {
                        let msg = crate::error::without_values(&e.to_string());
                        (format!("invalid user: {msg}"), id)
                    })
                })
                .collect())
        }
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && s.len() <= 32
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

struct Validator<'p> {
    policy: &'p KeyPolicy,
    problems: Vec<(Location, String)>,
    users: BTreeMap<String, DesiredUser>,
    /// fingerprint → (user, location) of its first use.
    seen_keys: HashMap<String, (String, Location)>,
}

impl<'p> Validator<'p> {
    fn new(policy: &'p KeyPolicy) -> Self {
        Validator {
            policy,
            problems: Vec::new(),
            users: BTreeMap::new(),
            seen_keys: HashMap::new(),
        }
    }

    fn problem(&mut self, at: Location, msg: String) {
        self.problems.push((at, msg));
    }

    fn user(&mut self, spec: UserSpec, file: &str, mut finder: Option<&mut Finder<'_>>) {
        let mut locate = |needle: &str| finder.as_mut().and_then(|f| f.locate(needle));
        let at = |line| Location {
            file: file.to_owned(),
            line,
        };
        let user_at = at(locate(&format!("\"{}\"", spec.id)));
        if !valid_name(&spec.id) {
            self.problem(
                user_at.clone(),
                format!(
                    "invalid user id {:?} (lowercase letters, digits, `_`, `-`, `.`; at most 32)",
                    spec.id
                ),
            );
        }
        let duplicate = self.users.get(&spec.id).map(|prev| prev.location.clone());
        if let Some(prev) = &duplicate {
            let msg = format!("user `{}` is defined twice (first at {prev})", spec.id);
            self.problem(user_at.clone(), msg);
        }
        let mut groups: Vec<String> = Vec::new();
        for g in spec.groups {
            if !valid_name(&g) {
                self.problem(
                    user_at.clone(),
                    format!("user `{}`: invalid group name {g:?}", spec.id),
                );
            } else if !groups.contains(&g) {
                groups.push(g);
            }
        }
        if let Some(shell) = &spec.shell {
            if !shell.starts_with('/') {
                self.problem(
                    user_at.clone(),
                    format!("user `{}`: shell must be an absolute path", spec.id),
                );
            }
        }
        let mut keys = Vec::new();
        for (i, line) in spec.ssh_keys.iter().enumerate() {
            let key_at = at(locate(key_needle(line)).or(user_at.line));
            match validate_key(line, self.policy) {
                Ok(key) => {
                    if let Some((owner, first)) = self.seen_keys.get(&key.fingerprint) {
                        let msg = if *owner == spec.id {
                            format!(
                                "user `{}`: duplicate key {} (first at {first})",
                                spec.id, key.fingerprint
                            )
                        } else {
                            format!(
                                "user `{}`: key {} is also listed for `{owner}` at {first}",
                                spec.id, key.fingerprint
                            )
                        };
                        self.problem(key_at, msg);
                    } else {
                        self.seen_keys
                            .insert(key.fingerprint.clone(), (spec.id.clone(), key_at.clone()));
                        keys.push(SourceKey {
                            key,
                            location: key_at,
                        });
                    }
                }
                Err(e) => self.problem(key_at, format!("user `{}`: key #{}: {e}", spec.id, i + 1)),
            }
        }
        if duplicate.is_some() {
            return;
        }
        self.users.insert(
            spec.id.clone(),
            DesiredUser {
                id: spec.id,
                keys,
                groups,
                shell: spec.shell,
                state: spec.state,
                location: user_at,
            },
        );
    }

    fn finish(mut self, target: &str) -> Result<KeySource> {
        if self.problems.is_empty() {
            tracing::debug!(users = self.users.len(), "key source validated");
            return Ok(KeySource { users: self.users });
        }
        self.problems.sort();
        let problems: Vec<String> = self
            .problems
            .into_iter()
            .map(|(at, m)| format!("{at}: {m}"))
            .collect();
        tracing::warn!(
            problems = problems.len(),
            source = target,
            "key source rejected"
        );
        Err(Error::Validation {
            target: target.to_owned(),
            problems,
        })
    }
}

//! TOML configuration files.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::cli::CliError;

/// Read and parse a TOML file.
///
/// Errors are [bad input](crate::cli::ExitKind::BadInput) and name the file, the line and
/// column, and the parser's complaint — never the text of the line, which may hold a secret.
pub fn load_toml<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::bad_input(format!(
            "cannot read the {what} file {}: check the path",
            path.display()
        ))
        .with_source(e)
    })?;
    parse_toml(&text, path, what)
}

/// Parse TOML text that came from `path` (used in messages only).
pub fn parse_toml<T: DeserializeOwned>(text: &str, path: &Path, what: &str) -> Result<T, CliError> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let (line, col) = ops_core::error::line_column(text, span.start);
                format!(" at line {line}, column {col}")
            })
            .unwrap_or_default();
        CliError::bad_input(format!(
            "the {what} file {} is not valid{at}: {}; fix it and run again",
            path.display(),
            ops_core::error::without_values(e.message())
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct C {
        name: String,
        token: String,
    }

    #[test]
    fn error_names_position_not_text() {
        let text = "name = \"a\"\ntoken = sup3rsecret\n";
        let e = parse_toml::<C>(text, Path::new("x.toml"), "config").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("x.toml"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("sup3rsecret"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}

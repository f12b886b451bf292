//! Credentials out of error bodies.
//!
//! A server, a proxy or a debugging gateway may echo the request it refused — its
//! `Authorization` header, the login body — in the error it returns. A client keeps part of
//! that body in its error (the server's message is worth keeping) and the error is then
//! printed, logged or written to a journal. [`scrub`] removes the client's own credentials
//! from such a body before anything keeps it: the raw text and its JSON-escaped form.

/// What a scrubbed credential is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// `body` with every occurrence of each secret (raw, and as it reads inside a JSON string)
/// replaced by [`REDACTED`]. Secrets shorter than 4 bytes are ignored: replacing them would
/// mangle ordinary text and they protect nothing. Borrowed back unchanged when nothing
/// matched.
pub fn scrub<'a>(body: &'a [u8], secrets: &[&str]) -> std::borrow::Cow<'a, [u8]> {
    let mut out = std::borrow::Cow::Borrowed(body);
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        for form in [s.to_string(), json_escaped(s)] {
            if let Some(replaced) = replace_all(&out, form.as_bytes(), REDACTED.as_bytes()) {
                out = std::borrow::Cow::Owned(replaced);
            }
        }
    }
    out
}

/// `s` as it reads inside a JSON string (the form [`scrub`] also replaces).
pub fn json_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let first = hay.windows(needle.len()).position(|w| w == needle)?;
    let mut out = Vec::with_capacity(hay.len());
    out.extend_from_slice(&hay[..first]);
    out.extend_from_slice(with);
    let mut i = first + needle.len();
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_raw_and_json_escaped_is_replaced() {
        let body =
            br#"{"message":"Bearer dop_v1_abc rejected; dop_v1_abc again","echo":"p\"w\\x1"}"#;
        let out = scrub(body, &["dop_v1_abc", "p\"w\\x1"]);
        let text = String::from_utf8(out.into_owned()).unwrap();
        assert_eq!(
            text,
            r#"{"message":"Bearer [REDACTED] rejected; [REDACTED] again","echo":"[REDACTED]"}"#
        );
    }

    #[test]
    fn nothing_to_scrub_borrows_and_short_secrets_are_ignored() {
        let body = b"no secret here: abc";
        assert!(matches!(
            scrub(body, &["abc", "zzzz"]),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(&*scrub(b"", &["secret"]), b"");
        assert_eq!(&*scrub(b"secr", &["secret"]), b"secr");
    }
}

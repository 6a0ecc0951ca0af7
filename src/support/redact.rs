//! Scrubbing of text that is about to be shown: anything shaped like an AWS
//! secret access key, a session token or an ECR password becomes `****`, so
//! does the user information of a URL (`https://user:pass@host`), control
//! characters are escaped (a message stays one line, and cannot drive a
//! terminal), and an overlong message is cut.
//!
//! Secrets are kept in [`crate::Secret`] and never formatted; this is the
//! second line of defence for text that comes from elsewhere (SDK error
//! messages, a server's answer, a credential process's output, echoed input).

/// The most characters of one message that are shown.
pub const MAX_MESSAGE: usize = 2048;

/// Makes `text` safe to show: see the module documentation.
pub fn scrub(text: &str) -> String {
    let cut = match text.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}… ({} bytes in all, cut)", &text[..at], text.len()),
        None => text.to_string(),
    };
    escape_controls(&scrub_secrets(&redact_userinfo(&cut)))
}

/// `scheme://user:pass@host` → `scheme://****@host`, for every URL in `text`.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("****");
                out.push_str(&tail[userinfo_end..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Escapes control characters (`\n`, `\u{1b}`, ...) and bidirectional
/// formatting characters, so that shown text is one line, cannot move a
/// terminal's cursor or change its colours, and reads in the order it is.
pub fn escape_controls(text: &str) -> String {
    let hostile = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hostile) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if hostile(c) {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Replaces every long run of base64 characters (40 or more, the length of an
/// AWS secret key; tokens and ECR passwords are far longer) with `****`.
fn scrub_secrets(text: &str) -> String {
    const MIN_RUN: usize = 40;
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // Paths and URLs are long runs of '/' and letters too; only scrub runs
        // that mix cases and digits like keys do.
        let looks_secret = run.len() >= MIN_RUN
            && run.chars().any(|c| c.is_ascii_uppercase())
            && run.chars().any(|c| c.is_ascii_lowercase())
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().filter(|c| *c == '/').count() * 8 < run.len();
        if looks_secret {
            out.push_str("****");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_b64(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::{scrub, MAX_MESSAGE};

    #[test]
    fn secret_shapes_are_scrubbed() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(scrub(&format!("secret={key}.")), "secret=****.");
        let token = "QVdTOmV5SndZWGxzYjJGa0lqb2lZV0pqWkdWbVp5SXNJbVJoZEdGclpYa2lPaUk9";
        assert_eq!(scrub(&format!("token {token}")), "token ****");
    }

    #[test]
    fn url_userinfo_is_redacted() {
        assert_eq!(
            scrub("endpoint https://admin:hunter2@vpce.example:8443/path?x=1 (override)"),
            "endpoint https://****@vpce.example:8443/path?x=1 (override)"
        );
        assert_eq!(
            scrub("proxy http://user@proxy:3128 and http://plain.example/a@b"),
            "proxy http://****@proxy:3128 and http://plain.example/a@b"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            scrub("evil\u{1b}[2Jname\nsecond line\r"),
            "evil\\u{1b}[2Jname\\nsecond line\\r"
        );
        assert_eq!(scrub("tab\there"), "tab\\there");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(1024 * 1024);
        let shown = scrub(&long);
        assert!(shown.len() < MAX_MESSAGE + 100, "{}", shown.len());
        assert!(shown.ends_with("(1048576 bytes in all, cut)"), "{shown}");
    }

    #[test]
    fn ordinary_text_is_kept() {
        for s in [
            "not an ECR registry: evil.example is not an ECR hostname",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "/home/someone/.ecr/cache/0123456789abcdef0123456789abcdef/registry.json",
            "arn:aws:iam::123456789012:role/ReadOnly",
        ] {
            assert_eq!(scrub(s), s);
        }
    }
}

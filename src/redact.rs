//! Scrubbing of text that is about to be logged: anything shaped like an AWS
//! secret access key, a session token or an ECR password becomes `****`.
//!
//! Secrets are kept in [`crate::Secret`] and never formatted; this is the
//! second line of defence for text that comes from elsewhere (SDK error
//! messages, a credential process's output).

/// Replaces every long run of base64 characters (40 or more, the length of an
/// AWS secret key; tokens and ECR passwords are far longer) with `****`.
pub fn scrub(text: &str) -> String {
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
    use super::scrub;

    #[test]
    fn secret_shapes_are_scrubbed() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(scrub(&format!("secret={key}.")), "secret=****.");
        let token = "QVdTOmV5SndZWGxzYjJGa0lqb2lZV0pqWkdWbVp5SXNJbVJoZEdGclpYa2lPaUk9";
        assert_eq!(scrub(&format!("token {token}")), "token ****");
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

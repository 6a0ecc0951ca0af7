//! The credential-helpers protocol of Bazel and other build tools on `get`:
//! a JSON request `{"uri": ...}`, answered with headers and an expiry, through
//! the built binary, the real SDK and the fake ECR server. Every answer is
//! checked against the specification's response schema (restated below).

use crate::common::fake_ecr::iso8601;
use crate::common::*;
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// The specification's GetCredentialsResponse schema: an object whose
/// optional `headers` maps names to arrays of strings and whose optional
/// `expires` is an RFC 3339 string; other properties allowed.
fn response_schema() -> Value {
    json!({
        "type": "object",
        "required": [],
        "properties": {
            "expires": {"type": "string", "format": "date-time"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}}
            }
        }
    })
}

/// The specification's GetCredentialsRequest schema: an object with a string
/// `uri`; other properties allowed.
fn request_schema() -> Value {
    json!({
        "type": "object",
        "required": ["uri"],
        "properties": {"uri": {"type": "string"}}
    })
}

/// Validates `v` against `schema`: the keywords the two schemas use (`type`,
/// `required`, `properties`, `additionalProperties`, `items`, and the
/// `date-time` format as RFC 3339 in UTC with whole or fractional seconds).
fn validate(schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{at}: {what}: {v}"));
    match schema["type"].as_str() {
        Some("object") if !v.is_object() => return fail("not an object"),
        Some("array") if !v.is_array() => return fail("not an array"),
        Some("string") if !v.is_string() => return fail("not a string"),
        _ => {}
    }
    if schema["format"] == "date-time" && !is_rfc3339(v.as_str().unwrap_or_default()) {
        return fail("not an RFC 3339 date-time");
    }
    if let Some(object) = v.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap()) {
                return fail(&format!("{name} is required"));
            }
        }
        for (k, item) in object {
            match schema["properties"].get(k) {
                Some(s) => validate(s, item, &format!("{at}.{k}"))?,
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => return fail(&format!("{k} is not allowed")),
                    s @ Value::Object(_) => validate(s, item, &format!("{at}.{k}"))?,
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), v.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (s.ends_with('Z') || s.ends_with("+00:00"))
}

fn request(uri: &str) -> String {
    let r = json!({ "uri": uri });
    validate(&request_schema(), &r, "request").expect("the test's own request is valid");
    r.to_string()
}

fn answer(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{run:#?}");
    let v = run.json();
    validate(&response_schema(), &v, "response").unwrap_or_else(|e| panic!("{e}\n{run:#?}"));
    v
}

/// The password in an answer's `Authorization: Basic` header.
fn password_in(v: &Value) -> String {
    let header = v["headers"]["Authorization"][0]
        .as_str()
        .expect("Authorization");
    let b64 = header.strip_prefix("Basic ").expect("Basic");
    let pair = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    pair.strip_prefix("AWS:").expect("user AWS").to_string()
}

#[test]
fn an_ecr_uri_gets_basic_auth_and_the_token_expiry_from_the_shared_cache() {
    let env = TestEnv::new();
    let uri = format!("https://{REGISTRY}/v2/team/app/manifests/latest");
    let twelve_hours = Duration::from_secs(12 * 3600);
    let before = SystemTime::now();
    let run = env.run(&["get"], &request(&uri));
    let after = SystemTime::now();
    let v = answer(&run);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(env.ecr.count(), 1);
    assert_eq!(v["headers"].as_object().unwrap().len(), 1, "{v}");
    assert_eq!(v["headers"]["Authorization"].as_array().unwrap().len(), 1);
    let password = password_in(&v);
    // The expiry is the token's (the fake's: 12 hours after its answer), in
    // whole seconds; same-form UTC timestamps sort as text.
    let expires = v["expires"].as_str().unwrap();
    let (lo, hi) = (
        iso8601(before + twelve_hours - Duration::from_secs(1)),
        iso8601(after + twelve_hours + Duration::from_secs(1)),
    );
    assert!(
        lo.as_str() <= expires && expires <= hi.as_str(),
        "{lo} <= {expires} <= {hi}"
    );
    // A Docker `get` for the same registry is served the same token from
    // the same cache, with no second call.
    assert_eq!(env.get(REGISTRY).secret(), password);
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn a_docker_login_cached_first_serves_the_build_tool_too() {
    let env = TestEnv::new();
    let secret = env.get(REGISTRY).secret();
    for uri in [
        format!("https://{REGISTRY}"),
        format!("https://{}:443/v2/", REGISTRY.to_ascii_uppercase()),
    ] {
        // Extra properties are allowed in a request.
        let req = json!({ "uri": uri, "future": {"field": 1} }).to_string();
        let v = answer(&env.run(&["get"], &format!("\n  {req}\n")));
        assert_eq!(password_in(&v), secret, "{uri}");
    }
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn a_uri_that_is_not_ecr_gets_the_empty_answer_and_no_call() {
    let env = TestEnv::new();
    for uri in [
        "https://github.com/bazelbuild/bazel/releases/download/7.0.0/x.tar.gz",
        "https://index.docker.io/v2/library/alpine/manifests/3",
        "grpcs://remote.example.com/build.bazel.remote.execution.v2.Execution/Execute",
        // ECR over plain HTTP: a password is never sent there.
        &format!("http://{REGISTRY}/v2/"),
    ] {
        let run = env.run(&["get"], &request(uri));
        let v = answer(&run);
        assert_eq!(v, json!({"headers": {}}), "{uri}");
        assert!(!run.stderr.contains("error"), "{uri}: {run:#?}");
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn a_malformed_request_fails_with_one_line_and_no_answer() {
    let env = TestEnv::new();
    for input in [
        "{\"uri\": 42}",
        "{\"uri\": null}",
        "{\"uri\": \"no-scheme.example\"}",
    ] {
        let run = env.run(&["get"], input);
        assert_eq!(run.code, 1, "{input}: {run:#?}");
        assert_eq!(run.stdout, "", "{input}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{input}: {run:#?}");
        assert!(
            run.stderr.contains("uri"),
            "{input}: the message names what is wrong: {run:#?}"
        );
    }
    // JSON without a `uri` is no build tool's request: the Docker protocol
    // answers it, with its "not found".
    for input in ["{not json", "{}", "{\"url\": \"https://x\"}"] {
        env.run(&["get"], input).assert_not_found();
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn an_ecr_failure_fails_the_request_with_the_cause_on_stderr() {
    let env = TestEnv::new();
    env.ecr
        .set_default(Reply::Error(400, "AccessDeniedException"));
    let run = env.run(&["get"], &request(&format!("https://{REGISTRY}/v2/")));
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("ecr:GetAuthorizationToken"), "{run:#?}");
}

#[test]
fn the_schema_check_itself_refuses_what_the_spec_forbids() {
    let s = response_schema();
    assert!(validate(&s, &json!({}), "r").is_ok());
    assert!(validate(&s, &json!([]), "r").is_err());
    assert!(validate(&s, &json!({"headers": {"A": "x"}}), "r").is_err());
    assert!(validate(&s, &json!({"headers": {"A": [1]}}), "r").is_err());
    assert!(validate(&s, &json!({"expires": "tomorrow"}), "r").is_err());
    assert!(validate(&s, &json!({"expires": 5}), "r").is_err());
    assert!(validate(&request_schema(), &json!({"uri": 1}), "q").is_err());
    assert!(validate(&request_schema(), &json!({}), "q").is_err());
}

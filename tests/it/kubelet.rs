//! `kubelet`: the kubelet image credential provider protocol, through the
//! built binary, the real SDK, the fake ECR server and (for pod roles) a fake
//! STS that speaks the Query protocol.

// The harness re-exports items that only some test files use.
#[allow(unused_imports)]
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";
const ROLE: &str = "arn:aws:iam::123456789012:role/ecr-pull";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/other-pull";
/// A service-account token shaped like a real one (a JWT).
const SA_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleTEifQ.eyJhdWQiOlsic3RzLmFtYXpvbmF3cy5jb20iXSwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmRlZmF1bHQ6YXBwIn0.U0lHTkFUVVJFU0VDUkVUVkFMVUUwMTIzNDU2Nzg5YWJjZGVm";
/// Another pod's valid token (the fake STS accepts both).
const OTHER_POD_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleTEifQ.eyJhdWQiOlsic3RzLmFtYXpvbmF3cy5jb20iXSwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OnRlYW0tYjphcHAifQ.T1RIRVJQT0RTSUdOQVRVUkUwMTIzNDU2Nzg5";
/// A forged token: STS rejects it.
const FORGED_TOKEN: &str = "not-a-jwt-at-all";

fn request(version: &str, image: &str) -> String {
    format!(r#"{{"kind":"CredentialProviderRequest","apiVersion":"{version}","image":"{image}"}}"#)
}

fn request_with_token(image: &str, token: &str, annotations: &[(&str, &str)]) -> String {
    let annotations: serde_json::Map<String, serde_json::Value> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::json!({
        "kind": "CredentialProviderRequest",
        "apiVersion": V1,
        "image": image,
        "serviceAccountToken": token,
        "serviceAccountAnnotations": annotations,
    })
    .to_string()
}

/// Parses a Go duration string made of h, m and s parts.
fn go_duration(s: &str) -> Duration {
    let mut total = 0u64;
    let mut number = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number.parse().expect("a number before the unit");
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => panic!("not a Go duration: {s}"),
        }
    }
    assert!(number.is_empty(), "not a Go duration: {s}");
    Duration::from_secs(total)
}

/// Runs `kubelet` and checks the invariants of a success: exit 0, a
/// response with exactly these keys, nothing on stderr.
fn ok(env: &TestEnv, input: &str) -> serde_json::Value {
    let run = env.run(&["kubelet"], input);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr, "", "{run:#?}");
    assert!(run.stdout.ends_with('\n'));
    let json = run.json();
    let keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "apiVersion",
            "auth",
            "cacheDuration",
            "cacheKeyType",
            "kind"
        ],
        "{json}"
    );
    assert_eq!(json["kind"], "CredentialProviderResponse");
    assert_eq!(json["cacheKeyType"], "Registry");
    json
}

/// Runs `kubelet` expecting a failure: exit 1, nothing on stdout, one line
/// on stderr, which is returned.
fn fails(env: &TestEnv, input: &str) -> String {
    let run = env.run(&["kubelet"], input);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(!run.stderr.contains("Usage:"), "{run:#?}");
    run.stderr
}

#[test]
fn v1_request_gets_a_v1_response_with_half_the_token_life() {
    let env = TestEnv::new();
    let json = ok(&env, &request(V1, &format!("{REGISTRY}/team/app:v1.2.3")));
    assert_eq!(json["apiVersion"], V1);
    assert_eq!(
        json["auth"],
        serde_json::json!({
            REGISTRY: {"username": "AWS", "password": FakeEcr::password("123456789012", AKID, 1)}
        })
    );
    // A 12-hour token: kubelet keeps it for half of what is left.
    let d = go_duration(json["cacheDuration"].as_str().unwrap());
    assert!(
        d <= Duration::from_secs(6 * 3600) && d >= Duration::from_secs(6 * 3600 - 60),
        "{d:?}"
    );
    let calls = env.ecr.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].region.as_str(), calls[0].access_key.as_str()),
        ("us-east-1", AKID)
    );
    assert!(
        calls[0].registry_ids.is_empty(),
        "registryIds is deprecated"
    );
}

#[test]
fn v1beta1_is_answered_in_v1beta1_and_digests_and_other_hosts_work() {
    let env = TestEnv::new();
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let json = ok(&env, &request(V1BETA1, &format!("{REGISTRY}/app@{digest}")));
    assert_eq!(json["apiVersion"], V1BETA1);
    assert!(json["auth"][REGISTRY]["password"].is_string(), "{json}");
    let host = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";
    let json = ok(&env, &request(V1, &format!("{host}/app:1")));
    assert!(json["auth"][host]["password"].is_string(), "{json}");
    assert_eq!(env.ecr.calls()[1].region, "eu-west-1");
    let json = ok(&env, &request(V1, "public.ecr.aws/nginx/nginx:latest"));
    assert_eq!(
        json["auth"]["public.ecr.aws"]["password"],
        FakeEcr::password("public", AKID, 3)
    );
}

#[test]
fn cache_duration_follows_the_remaining_validity() {
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Token(Duration::from_secs(3600)));
    let json = ok(&env, &request(V1, &format!("{REGISTRY}/app")));
    let d = go_duration(json["cacheDuration"].as_str().unwrap());
    assert!(
        d <= Duration::from_secs(1800) && d >= Duration::from_secs(1740),
        "{d:?}"
    );

    // Nearly expired: kubelet must not cache it at all.
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Token(Duration::from_secs(50)));
    let json = ok(&env, &request(V1, &format!("{REGISTRY}/app")));
    assert_eq!(json["cacheDuration"], "0s");
}

#[test]
fn a_second_request_is_served_from_the_helper_cache() {
    let env = TestEnv::new();
    let first = ok(&env, &request(V1, &format!("{REGISTRY}/a:1")));
    let second = ok(&env, &request(V1BETA1, &format!("{REGISTRY}/b:2")));
    assert_eq!(first["auth"], second["auth"]);
    assert_eq!(env.ecr.count(), 1);
    // The same login as `get`.
    assert_eq!(
        env.get(REGISTRY).secret(),
        first["auth"][REGISTRY]["password"]
    );
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn non_ecr_images_fail_without_any_call() {
    let env = TestEnv::new();
    for (image, want) in [
        ("nginx:1.27", "Docker Hub"),
        ("docker.io/library/nginx:1.27", "not an ECR hostname"),
        ("ghcr.io/org/app:1", "not an ECR hostname"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
            "is not an ECR domain",
        ),
    ] {
        let stderr = fails(&env, &request(V1, image));
        assert!(
            stderr.contains("not an ECR registry") && stderr.contains(want),
            "{image}: {stderr}"
        );
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn malformed_requests_say_what_was_expected() {
    let env = TestEnv::new();
    let image = format!("{REGISTRY}/app");
    let cases = [
        (
            "".to_string(),
            vec!["not valid JSON", "CredentialProviderRequest"],
        ),
        ("not json".to_string(), vec!["not valid JSON"]),
        (
            request(V1, &image).replace("CredentialProviderRequest", "Pod"),
            vec!["kind is \"Pod\"", "expected \"CredentialProviderRequest\""],
        ),
        (
            request("credentialprovider.kubelet.k8s.io/v1alpha1", &image),
            vec!["unsupported apiVersion", V1, V1BETA1],
        ),
        (
            format!(r#"{{"kind":"CredentialProviderRequest","image":"{image}"}}"#),
            vec!["no \"apiVersion\"", V1],
        ),
        (
            format!(r#"{{"kind":"CredentialProviderRequest","apiVersion":"{V1}"}}"#),
            vec!["no \"image\""],
        ),
    ];
    for (input, wants) in cases {
        let stderr = fails(&env, &input);
        for want in wants {
            assert!(
                stderr.contains(want),
                "{input:?}: {stderr:?} lacks {want:?}"
            );
        }
    }
    assert_eq!(env.ecr.count(), 0);
    let run = env.run(&["kubelet", "extra"], "");
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr.contains("kubelet takes no arguments"),
        "{run:#?}"
    );
}

#[test]
fn ecr_failures_are_one_line_and_nothing_on_stdout() {
    let env = TestEnv::new();
    env.ecr
        .set_default(Reply::Error(400, "AccessDeniedException"));
    let stderr = fails(&env, &request(V1, &format!("{REGISTRY}/app")));
    assert!(
        stderr.contains("access denied for account 123456789012"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Pod roles: a fake STS.

/// One recorded STS request.
#[derive(Debug, Clone)]
struct StsCall {
    /// The form parameters of the body.
    params: BTreeMap<String, String>,
    /// Files below the watched directory at the time of the call:
    /// (path, mode, content), and directories: (path, mode, "").
    files: Vec<(PathBuf, u32, String)>,
}

#[derive(Clone)]
struct FakeSts {
    url: String,
    calls: Arc<Mutex<Vec<StsCall>>>,
    refuse: Arc<Mutex<bool>>,
}

/// The tokens the fake STS accepts; any other gets `InvalidIdentityToken`.
const ACCEPTED_TOKENS: [&str; 2] = [SA_TOKEN, OTHER_POD_TOKEN];

impl FakeSts {
    /// Starts an STS that answers AssumeRoleWithWebIdentity for the
    /// [`ACCEPTED_TOKENS`] with temporary credentials whose access key id is
    /// `ASIASTS<n>` for the n-th call, rejects other tokens as a real STS does
    /// (`InvalidIdentityToken`), and records the files below `watch` at each
    /// call.
    fn start(watch: PathBuf) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sts = FakeSts {
            url,
            calls: Arc::default(),
            refuse: Arc::default(),
        };
        let s = sts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                let watch = watch.clone();
                std::thread::spawn(move || s.serve(stream, &watch));
            }
        });
        sts
    }

    fn calls(&self) -> Vec<StsCall> {
        self.calls.lock().unwrap().clone()
    }

    fn serve(&self, stream: TcpStream, watch: &Path) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut len = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let params: BTreeMap<String, String> = String::from_utf8_lossy(&body)
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (form_decode(k), form_decode(v)))
                .collect();
            let token = params.get("WebIdentityToken").cloned().unwrap_or_default();
            let mut files = Vec::new();
            walk(watch, &mut files);
            let n = {
                let mut calls = self.calls.lock().unwrap();
                calls.push(StsCall { params, files });
                calls.len()
            };
            let (status, body) = if !ACCEPTED_TOKENS.contains(&token.as_str()) {
                (
                    400,
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key from your identity provider</Message></Error><RequestId>fake</RequestId></ErrorResponse>".to_string(),
                )
            } else if *self.refuse.lock().unwrap() {
                (
                    403,
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>fake</RequestId></ErrorResponse>".to_string(),
                )
            } else {
                (
                    200,
                    format!(
                        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                         <AssumeRoleWithWebIdentityResult>\
                         <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>\
                         <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/ecr-pull/s</Arn><AssumedRoleId>AROAFAKE:s</AssumedRoleId></AssumedRoleUser>\
                         <Credentials><AccessKeyId>ASIASTS{n}</AccessKeyId><SecretAccessKey>stsSecretKeyValue{n}</SecretAccessKey><SessionToken>stsSessionToken{n}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
                         <Audience>sts.amazonaws.com</Audience>\
                         </AssumeRoleWithWebIdentityResult>\
                         <ResponseMetadata><RequestId>fake-{n}</RequestId></ResponseMetadata>\
                         </AssumeRoleWithWebIdentityResponse>"
                    ),
                )
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The permission bits (0 where there are none).
fn mode_of(m: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        0
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u32, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let mode = e.metadata().map(|m| mode_of(&m)).unwrap_or_default();
        if p.is_dir() {
            out.push((p.clone(), mode, String::new()));
            walk(&p, out);
        } else {
            let content = std::fs::read_to_string(&p).unwrap_or_default();
            out.push((p, mode, content));
        }
    }
}

/// A test world with a fake STS and a private TMPDIR (watched: the pod's
/// token must never be written there, or anywhere).
fn role_env() -> (TestEnv, FakeSts, PathBuf) {
    let mut env = TestEnv::new();
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let sts = FakeSts::start(tmp.clone());
    // The temp directory: TMPDIR on Unix, TMP / TEMP on Windows.
    for var in ["TMPDIR", "TMP", "TEMP"] {
        env.set(var, &tmp.display().to_string());
    }
    env.set("AWS_ENDPOINT_URL_STS", &sts.url.clone());
    (env, sts, tmp)
}

#[test]
fn the_annotated_role_is_assumed_with_the_pod_token() {
    let (env, sts, tmp) = role_env();
    // The environment's static keys (set by the harness) must not win.
    let input = request_with_token(
        &format!("{REGISTRY}/app:1"),
        SA_TOKEN,
        &[("eks.amazonaws.com/ecr-role-arn", ROLE), ("other", "x")],
    );
    let run = env.run(&["kubelet"], &input);
    assert_eq!(run.code, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(
        json["auth"][REGISTRY]["password"],
        FakeEcr::password("123456789012", "ASIASTS1", 1)
    );

    let calls = sts.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let p = &calls[0].params;
    assert_eq!(p["Action"], "AssumeRoleWithWebIdentity");
    assert_eq!(p["RoleArn"], ROLE);
    assert_eq!(p["WebIdentityToken"], SA_TOKEN);
    assert_eq!(p["RoleSessionName"], "ecr-login-kubelet");
    // ECR was called with the role's temporary credentials.
    let ecr = env.ecr.calls();
    assert_eq!(ecr.len(), 1);
    assert_eq!(ecr[0].access_key, "ASIASTS1");

    // While STS was asked, the token was on no disk: nothing in the temp
    // directory then, and no file of the whole test world holds it now.
    assert!(calls[0].files.is_empty(), "{:#?}", calls[0].files);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let mut everything = Vec::new();
    walk(env.dir.path(), &mut everything);
    for (path, _, content) in &everything {
        assert!(
            !content.contains(SA_TOKEN),
            "{} holds the token",
            path.display()
        );
    }
    // The token is never logged, not even at trace level.
    let mut env = env;
    env.set("AWS_ECR_LOG", "trace");
    env.set("AWS_ECR_DISABLE_CACHE", "true");
    let run = env.run(&["kubelet"], &input);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("role"), "{}", run.stderr);
    assert!(!run.stderr.contains("eyJ"), "{}", run.stderr);
    assert!(!run.stderr.contains("stsSecretKeyValue"), "{}", run.stderr);
    assert_eq!(sts.calls().len(), 2);
}

#[test]
fn every_pod_is_checked_by_sts_and_then_shares_the_roles_cached_token() {
    let (env, sts, _) = role_env();
    let image = format!("{REGISTRY}/app:1");
    let first = request_with_token(
        &image,
        SA_TOKEN,
        &[("eks.amazonaws.com/ecr-role-arn", ROLE)],
    );
    let json1 = ok(&env, &first);
    // Another pod (another valid token), same role: STS is asked with that
    // pod's token, then the role's cached ECR token is served (no ECR call).
    let other_pod = request_with_token(
        &image,
        OTHER_POD_TOKEN,
        &[("eks.amazonaws.com/ecr-role-arn", ROLE)],
    );
    let json2 = ok(&env, &other_pod);
    assert_eq!(json1["auth"], json2["auth"]);
    assert_eq!((sts.calls().len(), env.ecr.count()), (2, 1));
    assert_eq!(sts.calls()[1].params["WebIdentityToken"], OTHER_POD_TOKEN);
    // Another role: its own STS call and token.
    let other_role = request_with_token(
        &image,
        SA_TOKEN,
        &[("eks.amazonaws.com/ecr-role-arn", OTHER_ROLE)],
    );
    let json3 = ok(&env, &other_role);
    assert_eq!(sts.calls()[2].params["RoleArn"], OTHER_ROLE);
    assert_eq!(
        json3["auth"][REGISTRY]["password"],
        FakeEcr::password("123456789012", "ASIASTS3", 2)
    );
    // No role at all: the node's credentials, with their own cache entry.
    let json4 = ok(&env, &request(V1, &image));
    assert_eq!(
        json4["auth"][REGISTRY]["password"],
        FakeEcr::password("123456789012", AKID, 3)
    );
    assert_eq!(sts.calls().len(), 3);
}

/// Pod B names pod A's role with a token STS rejects, or while STS cannot be
/// reached: an error and no password, whether or not pod A filled the cache.
#[test]
fn a_pod_whose_token_sts_does_not_accept_gets_no_password() {
    let (mut env, sts, _) = role_env();
    let image = format!("{REGISTRY}/app:1");
    let annotation = [("eks.amazonaws.com/ecr-role-arn", ROLE)];
    let forged = request_with_token(&image, FORGED_TOKEN, &annotation);
    let no_secret = |stderr: &str| {
        assert!(!stderr.contains("-auth-token"), "{stderr}");
        assert!(!stderr.contains(FORGED_TOKEN), "{stderr}");
    };
    // Before pod A: rejected by STS.
    let stderr = fails(&env, &forged);
    assert!(stderr.contains("InvalidIdentityToken"), "{stderr}");
    assert!(stderr.contains(ROLE), "{stderr}");
    no_secret(&stderr);
    assert_eq!((sts.calls().len(), env.ecr.count()), (1, 0));
    // Pod A fills the cache for the role.
    let json = ok(&env, &request_with_token(&image, SA_TOKEN, &annotation));
    let password = json["auth"][REGISTRY]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.ecr.count(), 1);
    // After pod A: still rejected, STS asked again, A's password not served.
    let stderr = fails(&env, &forged);
    assert!(stderr.contains("InvalidIdentityToken"), "{stderr}");
    assert!(!stderr.contains(&password), "{stderr}");
    assert_eq!((sts.calls().len(), env.ecr.count()), (3, 1));
    // STS down (nothing listens there): an error, even for a valid token
    // whose role has a cached ECR token.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    env.set("AWS_ENDPOINT_URL_STS", &url);
    for token in [FORGED_TOKEN, SA_TOKEN] {
        let stderr = fails(&env, &request_with_token(&image, token, &annotation));
        assert!(stderr.contains("AssumeRoleWithWebIdentity"), "{stderr}");
        assert!(!stderr.contains(&password), "{stderr}");
        no_secret(&stderr);
    }
    assert_eq!((sts.calls().len(), env.ecr.count()), (3, 1));
}

#[test]
fn the_environment_role_applies_when_the_annotation_is_missing() {
    let (mut env, sts, _) = role_env();
    env.set("AWS_ECR_ROLE_ARN", OTHER_ROLE);
    env.set("AWS_ROLE_SESSION_NAME", "node-7");
    env.set("AWS_ECR_DISABLE_CACHE", "true");
    let image = format!("{REGISTRY}/app:1");
    ok(&env, &request_with_token(&image, SA_TOKEN, &[]));
    assert_eq!(sts.calls()[0].params["RoleArn"], OTHER_ROLE);
    assert_eq!(sts.calls()[0].params["RoleSessionName"], "node-7");
    // The annotation wins over the environment.
    ok(
        &env,
        &request_with_token(
            &image,
            SA_TOKEN,
            &[("eks.amazonaws.com/ecr-role-arn", ROLE)],
        ),
    );
    assert_eq!(sts.calls()[1].params["RoleArn"], ROLE);
    // Without a token there is nothing to assume the role with: node credentials.
    ok(&env, &request(V1, &image));
    assert_eq!(sts.calls().len(), 2);
    assert_eq!(env.ecr.calls()[2].access_key, AKID);
}

#[test]
fn the_irsa_annotation_applies_after_the_ecr_one_and_before_the_environment() {
    const IRSA_ROLE: &str = "arn:aws:iam::123456789012:role/app-irsa";
    let (mut env, sts, _) = role_env();
    env.set("AWS_ECR_ROLE_ARN", OTHER_ROLE);
    env.set("AWS_ECR_DISABLE_CACHE", "true");
    let image = format!("{REGISTRY}/app:1");
    let irsa = ("eks.amazonaws.com/role-arn", IRSA_ROLE);
    ok(&env, &request_with_token(&image, SA_TOKEN, &[irsa]));
    let both = [irsa, ("eks.amazonaws.com/ecr-role-arn", ROLE)];
    ok(&env, &request_with_token(&image, SA_TOKEN, &both));
    ok(&env, &request_with_token(&image, SA_TOKEN, &[]));
    let roles: Vec<String> = sts
        .calls()
        .iter()
        .map(|c| c.params["RoleArn"].clone())
        .collect();
    assert_eq!(roles, [IRSA_ROLE, ROLE, OTHER_ROLE]);
}

#[test]
fn a_token_without_a_role_uses_the_node_credentials() {
    let (env, sts, _) = role_env();
    let json = ok(
        &env,
        &request_with_token(&format!("{REGISTRY}/app"), SA_TOKEN, &[("other", "x")]),
    );
    assert_eq!(
        json["auth"][REGISTRY]["password"],
        FakeEcr::password("123456789012", AKID, 1)
    );
    assert!(sts.calls().is_empty());
}

#[test]
fn role_failures_are_explained_without_the_token() {
    let (env, sts, tmp) = role_env();
    *sts.refuse.lock().unwrap() = true;
    let input = request_with_token(
        &format!("{REGISTRY}/app"),
        SA_TOKEN,
        &[("eks.amazonaws.com/ecr-role-arn", ROLE)],
    );
    let stderr = fails(&env, &input);
    assert!(stderr.contains(ROLE), "{stderr}");
    assert!(
        stderr.contains("AssumeRoleWithWebIdentity") || stderr.contains("AccessDenied"),
        "{stderr}"
    );
    assert!(!stderr.contains("eyJ"), "{stderr}");
    assert_eq!(env.ecr.count(), 0);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    assert!(sts.calls()[0].files.is_empty());

    let bad_role = request_with_token(
        &format!("{REGISTRY}/app"),
        SA_TOKEN,
        &[("eks.amazonaws.com/ecr-role-arn", "ecr-pull")],
    );
    let stderr = fails(&env, &bad_role);
    assert!(stderr.contains("not an IAM role ARN"), "{stderr}");
    assert_eq!(sts.calls().len(), 1);
}

#[test]
fn hostile_images_are_echoed_escaped_and_capped() {
    let env = TestEnv::new();
    // A 1 MB image name (just under the request limit): the error echoes a bounded part of it.
    let huge = format!("evil.example/{}", "a".repeat(1000 * 1000));
    let stderr = fails(&env, &request(V1, &huge));
    assert!(stderr.len() < 4096, "{} bytes on stderr", stderr.len());
    assert!(stderr.contains("evil.example"), "{stderr}");
    // Terminal escapes and line breaks in the image do not reach stderr raw.
    let nasty = "evil.example\u{1b}[2J\rfake: line/app";
    let stderr = fails(
        &env,
        &request(V1, &nasty.replace('\u{1b}', "\\u001b").replace('\r', "\\r")),
    );
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert_eq!(env.ecr.count(), 0);
}

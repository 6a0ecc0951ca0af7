//! A newcomer's mistakes get a message that names the cause, by default
//! (no AWS_ECR_LOG needed), while hosts that are plainly not ECR stay quiet.

mod common;

use common::*;

#[test]
fn a_mistyped_ecr_host_is_a_one_line_warning_by_default() {
    let env = TestEnv::new();
    for (host, cause) in [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaw.com",
            "\"amazonaw.com\" is not an ECR domain (expected amazonaws.com",
        ),
        (
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "the account id must be exactly 12 digits",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil",
            "is not an ECR domain",
        ),
    ] {
        let run = env.get(host);
        run.assert_not_found();
        assert_eq!(run.stderr.lines().count(), 1, "{host}: {run:#?}");
        assert!(run.stderr.contains("warn"), "{host}: {run:#?}");
        assert!(run.stderr.contains(cause), "{host}: {run:#?}");
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn a_host_that_is_plainly_not_ecr_stays_quiet() {
    let env = TestEnv::new();
    for host in ["ghcr.io", "https://index.docker.io/v1/", "localhost:5000"] {
        let run = env.get(host);
        run.assert_not_found();
        assert_eq!(run.stderr, "", "{host}: {run:#?}");
    }
}

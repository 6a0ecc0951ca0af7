//! The integration tests: one binary (one link) with a module per topic,
//! sharing the harness in `common/` (a temp HOME, the fake ECR and SSO
//! servers, the bounded process runner). Tests that need root are
//! `#[ignore = "needs root"]`; `scripts/test` runs them with `--include-ignored`.

mod common;

mod aliases;
mod aws_login;
mod bazel;
mod cache;
mod configure;
mod configure_ecr;
mod crash;
mod dropin;
mod fallback;
mod faults;
mod fuzz_regressions;
mod get;
mod hostile;
mod hostile_config;
mod hostile_obeyed;
mod hostile_users;
mod identity;
mod kubelet;
mod manpage;
mod messages;
mod mistakes;
mod secrets;
mod sso;
mod tls;
mod tokens;

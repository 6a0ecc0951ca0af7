//! The one place that speaks AWS. Nothing outside this folder imports an
//! `aws_*` crate. It implements the core's seam (`crate::core::source`):
//! [`SdkTokenSource`], on the AWS SDK for Rust, is the `TokenSource` and
//! the `SignIn` that `cli::run` wires. It depends on the core, never the
//! other way.
//!
//! - `client`: the HTTPS client and TLS trust, provider settings, the
//!   deadline runtime;
//! - `token`: [`SdkTokenSource`]: credentials, then `GetAuthorizationToken`
//!   of ECR or ECR Public, and the API endpoint a registry uses;
//! - `sts`: assuming roles, with keys or with a web-identity token;
//! - [`mfa`]: MFA for assume-role profiles (prompt, kept session);
//! - [`sign_in`]: the caches of SSO and `aws login` sign-ins (read to
//!   explain, and written by `device`, SSO's device-authorization flow);
//! - `interactive`: `SignIn` for [`SdkTokenSource`], on those three;
//! - `error`: the mapping of SDK errors to the core's `FetchError`.

mod client;
mod device;
mod error;
mod interactive;
pub mod mfa;
pub mod sign_in;
mod sts;
mod tls;
mod token;

pub use token::SdkTokenSource;

//! The one place that speaks AWS. Nothing outside this folder imports an
//! `aws_*` crate: the rest of the helper sees the [`TokenSource`] seam, its
//! [`FetchError`], and [`SdkTokenSource`], the implementation on the AWS SDK
//! for Rust.
//!
//! - [`client`]: the HTTPS client and TLS trust, provider settings, the
//!   deadline runtime;
//! - [`token`]: [`SdkTokenSource`]: credentials, then `GetAuthorizationToken`
//!   of ECR or ECR Public, and the API endpoint a registry uses;
//! - [`sts`]: assuming roles, with keys or with a web-identity token;
//! - [`mfa`]: MFA for assume-role profiles (prompt, kept session);
//! - [`sign_in`]: the caches of SSO and `aws login` sign-ins (read to
//!   explain, and written by [`device`], SSO's device-authorization flow);
//! - [`error`]: [`FetchError`] and the mapping of SDK errors to it.

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

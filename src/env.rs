//! Names of every environment variable the helper reads, in one place.
//! [`crate::settings::Settings`] reads them, once.

/// Directory of the token cache (default `~/.ecr`).
pub const CACHE_DIR: &str = "AWS_ECR_CACHE_DIR";
/// `true`/`1` disables the token cache entirely.
pub const DISABLE_CACHE: &str = "AWS_ECR_DISABLE_CACHE";
/// `true`/`1` turns `store` and `erase` into silent no-ops.
pub const IGNORE_CREDS_STORAGE: &str = "AWS_ECR_IGNORE_CREDS_STORAGE";
/// The fallback credential helper for registries that are not ECR (`desktop`
/// runs `docker-credential-desktop`); wins over `fallback` in the config file.
pub const FALLBACK_HELPER: &str = "AWS_ECR_FALLBACK_HELPER";
/// Set (to `1`) in the environment of a fallback helper this helper runs: a
/// copy of this helper run as its own fallback sees it and refuses to pass
/// the request on again. Not an `AWS_*` name: those are removed from a
/// fallback's environment.
pub const AS_FALLBACK: &str = "ECR_LOGIN_AS_FALLBACK";
/// Verbosity of diagnostics: `error`, `warn` (default), `info`, `debug`, `trace`.
pub const LOG: &str = "AWS_ECR_LOG";
/// A file that diagnostics are also appended to (created 0600).
pub const LOG_FILE: &str = "AWS_ECR_LOG_FILE";
/// Total deadline of one `get`, in seconds (default 30).
pub const TIMEOUT: &str = "AWS_ECR_TIMEOUT";
/// The registry → profile / role map file (default `~/.ecr/config.toml`).
pub const CONFIG: &str = "AWS_ECR_CONFIG";
/// `auto` (default), `on` or `off`: whether to consult the EC2 instance metadata service.
pub const IMDS: &str = "AWS_ECR_IMDS";
/// How long to wait for another process refreshing the same registry, in seconds.
pub const LOCK_TIMEOUT: &str = "AWS_ECR_LOCK_TIMEOUT";

/// The standard AWS variable `AWS_PROFILE`.
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// The standard AWS variable `AWS_ACCESS_KEY_ID`.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The standard AWS variable `AWS_SECRET_ACCESS_KEY`.
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// The standard AWS variable `AWS_SESSION_TOKEN`.
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// The standard AWS variable `AWS_CONFIG_FILE`.
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// The standard AWS variable `AWS_SHARED_CREDENTIALS_FILE`.
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// The standard AWS variable `AWS_ROLE_ARN`.
pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";
/// The standard AWS variable `AWS_ROLE_SESSION_NAME`.
pub const AWS_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
/// The standard AWS variable `AWS_WEB_IDENTITY_TOKEN_FILE`.
pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The standard AWS variable `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
pub const AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
/// The standard AWS variable `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
pub const AWS_CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The standard AWS variable `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (EKS Pod Identity).
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// The standard AWS variable `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/// The standard AWS variable `AWS_EC2_METADATA_DISABLED`.
pub const AWS_EC2_METADATA_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";
/// The standard AWS variable `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
pub const AWS_EC2_METADATA_SERVICE_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// The standard AWS variable `AWS_CA_BUNDLE`.
pub const AWS_CA_BUNDLE: &str = "AWS_CA_BUNDLE";
/// OpenSSL's `SSL_CERT_FILE`: the OS trust store's bundle file.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// OpenSSL's `SSL_CERT_DIR`: the OS trust store's directories (`:`-separated).
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// The standard AWS variable `AWS_ENDPOINT_URL`.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// The standard AWS variable `AWS_ENDPOINT_URL_ECR`.
pub const AWS_ENDPOINT_URL_ECR: &str = "AWS_ENDPOINT_URL_ECR";
/// The standard AWS variable `AWS_ENDPOINT_URL_ECR_PUBLIC`.
pub const AWS_ENDPOINT_URL_ECR_PUBLIC: &str = "AWS_ENDPOINT_URL_ECR_PUBLIC";
/// Set by aws-vault to the profile whose temporary credentials it exported.
pub const AWS_VAULT: &str = "AWS_VAULT";

/// The standard AWS variable `AWS_REGION`.
pub const AWS_REGION: &str = "AWS_REGION";
/// The IAM role kubelet mode pulls as when a request carries a
/// service-account token but names no role.
pub const ECR_ROLE_ARN: &str = "AWS_ECR_ROLE_ARN";
/// Docker's configuration directory.
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// Podman's (containers-auth.json) credentials file.
pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";
/// The per-user runtime directory (Podman's default auth file lives there).
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// The standard AWS variable `AWS_ENDPOINT_URL_SSO_OIDC` (`login`'s device authorization).
pub const AWS_ENDPOINT_URL_SSO_OIDC: &str = "AWS_ENDPOINT_URL_SSO_OIDC";
/// Where `aws login` keeps its sessions (default `~/.aws/login/cache`), as the SDK reads it.
pub const AWS_LOGIN_CACHE_DIRECTORY: &str = "AWS_LOGIN_CACHE_DIRECTORY";

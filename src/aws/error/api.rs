//! The failures of a `GetAuthorizationToken` request, ECR's or ECR Public's,
//! as a [`FetchError`]: a name that does not resolve (which name, and what is
//! likely wrong), credentials AWS does not accept, a denied permission, an
//! API that keeps failing, and the SDK's other errors ([`sdk_error`]).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{credentials_refused, dns_failure, sdk_error, FetchError};

/// One token request, as its errors tell it: whose, to which API, where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenRequest<'a> {
    /// The registry's account (`public` for ECR Public).
    pub account: &'a str,
    /// The API region.
    pub region: &'a str,
    /// The registry's partition (`aws`, `aws-cn`, ...).
    pub partition: &'static str,
    /// The variable the endpoint comes from, when it is overridden.
    pub overridden_by: Option<&'static str>,
    /// The identity's description (where the credentials came from).
    pub source_label: &'a str,
}

impl TokenRequest<'_> {
    /// The [`FetchError`] of a failed request; `host` is the endpoint's host
    /// the request went to, when it is known.
    pub(crate) fn error<E>(
        &self,
        err: SdkError<E, HttpResponse>,
        host: Option<String>,
    ) -> FetchError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        // A name that does not resolve is not retried: say which name, and
        // what is likely wrong.
        match dns_failure(&err) {
            Some(detail) => FetchError::Unresolved {
                host: host.unwrap_or_default(),
                region: self.region.to_string(),
                partition: self.partition,
                overridden_by: self.overridden_by,
                detail,
            },
            None => sdk_error(err, self.region, &|code, message, full| {
                self.api_error(code, message, full)
            }),
        }
    }

    /// The [`FetchError`] of the API's error `code` with its `message` (else
    /// the `full` text).
    fn api_error(&self, code: Option<&str>, message: Option<&str>, full: String) -> FetchError {
        let detail = message.map(str::to_string).unwrap_or(full);
        let code = code.unwrap_or_default();
        if let Some(refused) = credentials_refused(code, &detail, self.source_label) {
            return refused;
        }
        match code {
            "AccessDeniedException" | "AccessDenied" => FetchError::AccessDenied {
                account: self.account.to_string(),
                region: self.region.to_string(),
                detail,
                hint: "",
            },
            "ThrottlingException"
            | "ServerException"
            | "ServiceUnavailableException"
            | "InternalFailure" => FetchError::Unavailable {
                region: self.region.to_string(),
                detail,
            },
            _ => FetchError::Other(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_codes_map_to_what_to_do() {
        let request = TokenRequest {
            account: "123456789012",
            region: "eu-west-1",
            partition: "aws",
            overridden_by: None,
            source_label: "profile p",
        };
        let map = |code: &str| request.api_error(Some(code), Some("m"), "full".into());
        assert!(matches!(
            map("AccessDeniedException"),
            FetchError::AccessDenied { ref account, ref region, .. }
                if account == "123456789012" && region == "eu-west-1"
        ));
        assert!(matches!(
            map("ThrottlingException"),
            FetchError::Unavailable { .. }
        ));
        assert!(matches!(
            map("InternalFailure"),
            FetchError::Unavailable { .. }
        ));
        assert!(matches!(map("Frobnicated"), FetchError::Other(ref d) if d == "m"));
        assert!(matches!(
            request.api_error(None, None, "full".into()),
            FetchError::Other(ref d) if d == "full"
        ));
    }
}

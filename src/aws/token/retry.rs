//! What the SDK's retries leave out: a request whose endpoint name does not
//! resolve is not retried. No answer to the lookup comes sooner on a second
//! try (a region the partition does not have, a mistyped endpoint override,
//! a machine without DNS), and the SDK's backoff would spend 2.6-5.4 s before
//! the same error.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};

use crate::aws::error::{error_chain, is_dns_failure};

/// Forbids a retry after a DNS failure; says nothing about anything else.
#[derive(Debug, Default)]
pub(crate) struct NoRetryOnDns;

impl ClassifyRetry for NoRetryOnDns {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(err)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        match err.as_connector_error() {
            Some(connector) if is_dns_failure(&error_chain(connector)) => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ecr-login: no retry of a name that does not resolve"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the SDK's transient-error classifier, which calls every
        // connection error retryable.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

//! Unit tests of [`super`].

use super::*;

#[test]
fn registry_hostnames_select_the_matching_api_endpoint() {
    use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let cases = [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://api.ecr.us-east-1.amazonaws.com",
        ),
        (
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
            "https://api.ecr-fips.us-east-1.amazonaws.com",
        ),
        (
            "123456789012.dkr-ecr.us-east-1.on.aws",
            "https://ecr.us-east-1.api.aws",
        ),
        (
            "123456789012.dkr-ecr-fips.us-east-1.on.aws",
            "https://ecr-fips.us-east-1.api.aws",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "https://api.ecr.cn-north-1.amazonaws.com.cn",
        ),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            "https://api.ecr-fips.us-gov-west-1.amazonaws.com",
        ),
    ];
    for (host, want) in cases {
        let registry = Registry::parse(host).unwrap();
        let (fips, dual) = endpoint_variant(&registry, false);
        let params = Params::builder()
            .region(registry.api_region())
            .use_fips(fips)
            .use_dual_stack(dual)
            .build()
            .unwrap();
        let endpoint = block_on_ready(DefaultResolver::new().resolve_endpoint(&params))
            .unwrap()
            .unwrap();
        assert_eq!(endpoint.url(), want, "{host}");
        assert_eq!(
            SdkTokenSource::default().api_endpoint(&registry),
            want,
            "{host}"
        );
        assert_eq!(endpoint_variant(&registry, true), (false, false));
    }
}

#[test]
fn a_token_is_not_cached_past_the_credentials_that_minted_it() {
    let now = SystemTime::now();
    let token = now + Duration::from_secs(12 * 3600);
    let session = now + Duration::from_secs(3600);
    assert_eq!(capped(token, Some(session)), session);
    assert_eq!(capped(token, None), token);
    assert_eq!(capped(token, Some(token + Duration::from_secs(60))), token);
}

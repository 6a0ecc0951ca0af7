//! Unit tests of [`super`].

use super::*;

/// (name, input, expected: Ok((account, region, fips, dual_stack, partition)) or Err)
type Row = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str, bool, bool, Partition)>,
);

const A: &str = "123456789012";
use Partition::*;

#[rustfmt::skip]
const PRIVATE: &[Row] = &[
    ("bare host", "123456789012.dkr.ecr.us-east-1.amazonaws.com", Some((A, "us-east-1", false, false, Aws))),
    ("https scheme", "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", Some((A, "us-east-1", false, false, Aws))),
    ("http scheme", "http://123456789012.dkr.ecr.us-west-2.amazonaws.com", Some((A, "us-west-2", false, false, Aws))),
    ("with path", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app", Some((A, "eu-west-1", false, false, Aws))),
    ("scheme, path, trailing slash", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/", Some((A, "eu-west-1", false, false, Aws))),
    ("with port", "123456789012.dkr.ecr.us-east-1.amazonaws.com:443", Some((A, "us-east-1", false, false, Aws))),
    ("port and path", "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443/repo", Some((A, "us-east-1", false, false, Aws))),
    ("upper case", "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM", Some((A, "us-east-1", false, false, Aws))),
    ("surrounding whitespace", "  123456789012.dkr.ecr.us-east-1.amazonaws.com\n", Some((A, "us-east-1", false, false, Aws))),
    ("trailing dot (FQDN)", "123456789012.dkr.ecr.us-east-1.amazonaws.com.", Some((A, "us-east-1", false, false, Aws))),
    ("fips", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", Some((A, "us-east-1", true, false, Aws))),
    ("govcloud", "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", Some((A, "us-gov-west-1", false, false, AwsUsGov))),
    ("govcloud fips", "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com", Some((A, "us-gov-east-1", true, false, AwsUsGov))),
    ("china", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Some((A, "cn-north-1", false, false, AwsCn))),
    ("china northwest", "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn", Some((A, "cn-northwest-1", false, false, AwsCn))),
    ("european sovereign cloud", "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", Some((A, "eusc-de-east-1", false, false, AwsEusc))),
    ("iso", "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", Some((A, "us-iso-east-1", false, false, AwsIso))),
    ("isob", "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", Some((A, "us-isob-east-1", false, false, AwsIsoB))),
    ("isoe", "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", Some((A, "eu-isoe-west-1", false, false, AwsIsoE))),
    ("isof", "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", Some((A, "us-isof-south-1", false, false, AwsIsoF))),
    ("dual-stack", "123456789012.dkr-ecr.us-east-1.on.aws", Some((A, "us-east-1", false, true, Aws))),
    ("dual-stack fips", "123456789012.dkr-ecr-fips.us-east-2.on.aws", Some((A, "us-east-2", true, true, Aws))),
    ("dual-stack govcloud", "123456789012.dkr-ecr.us-gov-west-1.on.aws", Some((A, "us-gov-west-1", false, true, AwsUsGov))),
    ("dual-stack china", "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn", Some((A, "cn-north-1", false, true, AwsCn))),
    ("new region", "123456789012.dkr.ecr.ap-southeast-5.amazonaws.com", Some((A, "ap-southeast-5", false, false, Aws))),
    ("dual-stack with path", "https://123456789012.dkr-ecr.eu-central-1.on.aws/app", Some((A, "eu-central-1", false, true, Aws))),
    // Rejected: a region of another partition than the domain's.
    ("commercial region, china domain", "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn", None),
    ("commercial region, iso domain", "123456789012.dkr.ecr.us-east-1.c2s.ic.gov", None),
    ("china region, commercial domain", "123456789012.dkr.ecr.cn-north-1.amazonaws.com", None),
    ("isob region, iso domain", "123456789012.dkr.ecr.us-isob-east-1.c2s.ic.gov", None),
    ("iso region, commercial domain", "123456789012.dkr.ecr.us-iso-east-1.amazonaws.com", None),
    ("sovereign region, commercial domain", "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.com", None),
    ("commercial region, sovereign domain", "123456789012.dkr.ecr.eu-west-1.amazonaws.eu", None),
    ("govcloud region, china domain", "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com.cn", None),
    ("commercial region, china dual-stack", "123456789012.dkr-ecr.us-east-1.on.amazonwebservices.com.cn", None),
    ("china region, dual-stack domain", "123456789012.dkr-ecr.cn-north-1.on.aws", None),
    // Rejected.
    ("empty", "", None),
    ("whitespace only", " \t\n", None),
    ("docker hub", "https://index.docker.io/v1/", None),
    ("other registry", "ghcr.io", None),
    ("lookalike suffix", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", None),
    ("lookalike prefix", "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com", None),
    ("userinfo pointing elsewhere", "123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.example", None),
    ("userinfo before host", "https://user:pw@123456789012.dkr.ecr.us-east-1.amazonaws.com", None),
    ("11-digit account", "12345678901.dkr.ecr.us-east-1.amazonaws.com", None),
    ("13-digit account", "1234567890123.dkr.ecr.us-east-1.amazonaws.com", None),
    ("letters in account", "12345678901a.dkr.ecr.us-east-1.amazonaws.com", None),
    ("no account", "dkr.ecr.us-east-1.amazonaws.com", None),
    ("api endpoint, not registry", "api.ecr.us-east-1.amazonaws.com", None),
    ("missing dkr", "123456789012.ecr.us-east-1.amazonaws.com", None),
    ("unknown domain", "123456789012.dkr.ecr.us-east-1.amazonaws.org", None),
    ("dual-stack label on classic domain", "123456789012.dkr-ecr.us-east-1.amazonaws.com", None),
    ("classic label on dual-stack domain", "123456789012.dkr.ecr.us-east-1.on.aws", None),
    ("bad region", "123456789012.dkr.ecr.useast1.amazonaws.com", None),
    ("region with dots", "123456789012.dkr.ecr.us.east.1.amazonaws.com", None),
    ("empty port", "123456789012.dkr.ecr.us-east-1.amazonaws.com:", None),
    ("port out of range", "123456789012.dkr.ecr.us-east-1.amazonaws.com:70000", None),
    ("non-numeric port", "123456789012.dkr.ecr.us-east-1.amazonaws.com:https", None),
    ("IPv6 literal", "[::1]:5000", None),
    ("IPv4 address", "127.0.0.1:5000", None),
    ("unicode lookalike", "123456789012.dkr.ecr.us-east-1.amazonaws.cоm", None),
    ("NUL byte", "123456789012.dkr.ecr.us-east-1.amazonaws.com\0", None),
    ("embedded newline", "123456789012.dkr.ecr.us-east-1.amazonaws.com\nevil.example", None),
    ("underscore", "123456789012.dkr.ecr.us_east_1.amazonaws.com", None),
    ("ftp scheme", "ftp://123456789012.dkr.ecr.us-east-1.amazonaws.com", None),
    ("double fips", "123456789012.dkr.ecr-fips-fips.us-east-1.amazonaws.com", None),
];

#[test]
fn private_hostname_table() {
    assert!(PRIVATE.len() >= 40);
    for (name, input, want) in PRIVATE {
        let got = Registry::parse(input);
        match (want, got) {
            (Some((account, region, fips, dual, partition)), Ok(Registry::Private(p))) => {
                assert_eq!(
                    (
                        p.account.as_str(),
                        p.region.as_str(),
                        p.fips,
                        p.dual_stack,
                        p.partition
                    ),
                    (*account, *region, *fips, *dual, *partition),
                    "row {name:?}"
                );
                assert!(
                    !p.host.contains(['/', ':', ' ']),
                    "row {name:?}: host {}",
                    p.host
                );
            }
            (None, Err(e)) => assert!(
                e.to_string().starts_with("not an ECR registry"),
                "row {name:?}"
            ),
            (want, got) => panic!("row {name:?}: input {input:?}: want {want:?}, got {got:?}"),
        }
    }
}

#[rustfmt::skip]
const PUBLIC: &[(&str, &str, &str)] = &[
    ("public", "public.ecr.aws", "public.ecr.aws"),
    ("public with scheme and path", "https://public.ecr.aws/nginx/nginx", "public.ecr.aws"),
    ("public upper case", "PUBLIC.ECR.AWS", "public.ecr.aws"),
    ("public alternate host", "ecr-public.aws.com", "ecr-public.aws.com"),
];

#[test]
fn public_hostname_table() {
    for (name, input, host) in PUBLIC {
        assert_eq!(
            Registry::parse(input),
            Ok(Registry::Public {
                host: host.to_string()
            }),
            "row {name:?}"
        );
    }
    for bad in [
        "public.ecr.aws.evil.example",
        "notpublic.ecr.aws",
        "public.ecr.aws@evil.example",
    ] {
        assert!(Registry::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn host_is_normalised() {
    let r = Registry::parse("HTTPS://123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM:443/x").unwrap();
    assert_eq!(r.host(), "123456789012.dkr.ecr.us-east-1.amazonaws.com");
    assert_eq!(r.api_region(), "us-east-1");
}

#[test]
fn oversized_input_is_rejected() {
    let long = format!("{}.dkr.ecr.us-east-1.amazonaws.com", "1".repeat(5000));
    assert!(Registry::parse(&long)
        .unwrap_err()
        .reason
        .contains("bytes long"));
}

#[test]
fn private_hosts_are_built_in_the_regions_partition() {
    let host = |a, r| private_host(a, r);
    assert_eq!(
        host("123456789012", "eu-west-1").as_deref(),
        Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    );
    assert_eq!(
        host("123456789012", "cn-north-1").as_deref(),
        Some("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
    );
    assert_eq!(
        host("123456789012", "us-gov-west-1").as_deref(),
        Some("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com")
    );
    assert_eq!(host("1234", "us-east-1"), None);
    assert_eq!(host("123456789012", "nowhere"), None);
    assert_eq!(host_of("HTTPS://Ghcr.IO:443/v2/").unwrap(), "ghcr.io");
}

#[test]
fn names_that_look_like_ecr_are_told_apart_from_plainly_other_hosts() {
    for host in [
        "123456789012.dkr.ecr.us-east-1.amazonaw.com",
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "https://123456789012.DKR.ECR.us-east-7.amazonaws.com/v2/",
        "123456789012.dkr-ecr.us-east-1.on.aws",
        "public.ecr.aws",
        "ecr-public.aws.com",
    ] {
        assert!(looks_like_ecr(host), "{host}");
    }
    for host in ["ghcr.io", "docker.io", "localhost:5000", "quay.io/ecr", ""] {
        assert!(!looks_like_ecr(host), "{host}");
    }
    let e = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaw.com").unwrap_err();
    assert!(
        e.reason
            .contains("\"amazonaw.com\" is not an ECR domain (expected amazonaws.com, "),
        "{}",
        e.reason
    );
}

#[test]
fn one_token_key_per_partition_region_and_endpoint_variant() {
    let key = |h: &str| Registry::parse(h).unwrap().cache_key().to_string();
    #[rustfmt::skip]
    let rows = [
        ("three accounts, one region: one key", "111111111111.dkr.ecr.us-east-1.amazonaws.com", "dkr.ecr.us-east-1.amazonaws.com"),
        ("another account, same key", "222222222222.dkr.ecr.us-east-1.amazonaws.com", "dkr.ecr.us-east-1.amazonaws.com"),
        ("another region", "111111111111.dkr.ecr.eu-west-1.amazonaws.com", "dkr.ecr.eu-west-1.amazonaws.com"),
        ("FIPS is its own variant", "111111111111.dkr.ecr-fips.us-east-1.amazonaws.com", "dkr.ecr-fips.us-east-1.amazonaws.com"),
        ("dual-stack is its own variant", "111111111111.dkr-ecr.us-east-1.on.aws", "dkr-ecr.us-east-1.on.aws"),
        ("China", "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn", "dkr.ecr.cn-north-1.amazonaws.com.cn"),
        ("ECR Public", "public.ecr.aws", "public.ecr.aws"),
        ("ECR Public's other name shares its token", "ecr-public.aws.com", "public.ecr.aws"),
    ];
    for (name, host, want) in rows {
        assert_eq!(key(host), want, "{name}");
        assert!(Registry::is_cache_key(want), "{name}");
    }
    let back = Registry::in_key("dkr.ecr.us-east-1.amazonaws.com", "333333333333").unwrap();
    assert_eq!(back.host(), "333333333333.dkr.ecr.us-east-1.amazonaws.com");
    assert!(!Registry::is_cache_key(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    ));
    assert!(!Registry::is_cache_key("ecr-public.aws.com"));
    assert!(!Registry::is_cache_key("example.com"));
}

#[test]
fn every_match_images_glob_names_hosts_this_parser_accepts() {
    let globs = match_images();
    assert!(globs.contains(&"ecr-public.aws.com".to_string()));
    assert!(globs.contains(&"*.dkr-ecr-fips.*.on.aws:443".to_string()));
    for glob in &globs {
        let host = glob
            .replacen("*", "123456789012", 1)
            .replacen("*", "us-east-1", 1);
        // Regions of each partition: the glob's domain decides which.
        let ok = [
            "us-east-1",
            "cn-north-1",
            "eusc-de-east-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "us-isof-south-1",
        ]
        .iter()
        .any(|r| Registry::parse(&host.replace("us-east-1", r)).is_ok());
        assert!(ok, "{glob}");
    }
}

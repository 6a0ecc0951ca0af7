//! Registry hostnames: which strings name an ECR registry, and what they say
//! about account, region, partition, FIPS and dual-stack.
//!
//! Parsing is purely local: nothing here touches the network, so a hostname
//! that is not ECR is rejected before any credential or API work starts.

use std::fmt;

/// An ECR registry named by a hostname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registry {
    /// A private registry, `<account>.dkr.ecr.<region>.<domain>` and friends.
    Private(PrivateRegistry),
    /// ECR Public (`public.ecr.aws`, `ecr-public.aws.com`).
    Public {
        /// The host as normalised (lower case, no scheme, path or port).
        host: String,
    },
}

/// A private ECR registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateRegistry {
    /// The 12-digit AWS account id.
    pub account: String,
    /// The AWS region, e.g. `us-east-1`.
    pub region: String,
    /// The hostname asked for the FIPS endpoint (`dkr.ecr-fips`).
    pub fips: bool,
    /// The hostname is a dual-stack (IPv4 + IPv6) one (`dkr-ecr.<region>.on.aws`).
    pub dual_stack: bool,
    /// The AWS partition the domain belongs to.
    pub partition: Partition,
    /// The host as normalised (lower case, no scheme, path or port).
    pub host: String,
}

/// AWS partitions that ECR hostnames can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Commercial regions (`amazonaws.com`, `on.aws`).
    Aws,
    /// AWS GovCloud (US) (`us-gov-*` regions).
    AwsUsGov,
    /// China (`amazonaws.com.cn`).
    AwsCn,
    /// AWS European Sovereign Cloud (`amazonaws.eu`).
    AwsEusc,
    /// US ISO East (`c2s.ic.gov`).
    AwsIso,
    /// US ISOB East (`sc2s.sgov.gov`).
    AwsIsoB,
    /// EU ISOE West (`cloud.adc-e.uk`).
    AwsIsoE,
    /// US ISOF (`csp.hci.ic.gov`).
    AwsIsoF,
}

impl Partition {
    /// The partition's id as AWS writes it in ARNs.
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsCn => "aws-cn",
            Partition::AwsEusc => "aws-eusc",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Why a string is not an ECR registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ECR registry: {reason}")]
pub struct NotEcr {
    /// What is wrong with it, for the user.
    pub reason: String,
}

fn not_ecr(reason: impl Into<String>) -> NotEcr {
    NotEcr {
        reason: reason.into(),
    }
}

/// Domains of private `dkr.ecr` hostnames, with their partition.
const DOMAINS: &[(&str, Partition)] = &[
    ("amazonaws.com", Partition::Aws),
    ("amazonaws.com.cn", Partition::AwsCn),
    ("amazonaws.eu", Partition::AwsEusc),
    ("c2s.ic.gov", Partition::AwsIso),
    ("sc2s.sgov.gov", Partition::AwsIsoB),
    ("cloud.adc-e.uk", Partition::AwsIsoE),
    ("csp.hci.ic.gov", Partition::AwsIsoF),
];

/// Domains of dual-stack `dkr-ecr` hostnames, with their partition.
const DUAL_STACK_DOMAINS: &[(&str, Partition)] = &[
    ("on.aws", Partition::Aws),
    ("on.amazonwebservices.com.cn", Partition::AwsCn),
];

/// Hosts of ECR Public.
const PUBLIC_HOSTS: &[&str] = &["public.ecr.aws", "ecr-public.aws.com"];

/// The longest input worth looking at; real hostnames are far shorter.
const MAX_INPUT: usize = 1024;

impl Registry {
    /// Parses what Docker sends: a bare host, `https://host`, `host/path`,
    /// `host:port`, in any letter case.
    pub fn parse(input: &str) -> Result<Registry, NotEcr> {
        let host = host_of(input)?;
        if PUBLIC_HOSTS.contains(&host.as_str()) {
            return Ok(Registry::Public { host });
        }
        parse_private(&host).map(Registry::Private)
    }

    /// The normalised host (lower case; no scheme, port or path).
    pub fn host(&self) -> &str {
        match self {
            Registry::Private(p) => &p.host,
            Registry::Public { host } => host,
        }
    }

    /// What one token serves: ECR's `GetAuthorizationToken` answers for a
    /// principal, not a registry, so a token fetched once for an identity in
    /// a partition, region and endpoint variant (FIPS, dual-stack) opens
    /// every account's registry there that the principal may read (the
    /// registry's policy decides). The key is the host without its account:
    /// `dkr.ecr.us-east-1.amazonaws.com`, `dkr-ecr-fips.us-east-1.on.aws`;
    /// both names of ECR Public share `public.ecr.aws`.
    pub fn cache_key(&self) -> &str {
        match self {
            Registry::Private(p) => p.host.split_once('.').map_or(&p.host[..], |(_, rest)| rest),
            Registry::Public { .. } => PUBLIC_HOSTS[0],
        }
    }

    /// The registry of `account` that the token of `key` ([`Registry::cache_key`])
    /// serves; ECR Public for its key.
    pub fn in_key(key: &str, account: &str) -> Option<Registry> {
        if key == PUBLIC_HOSTS[0] {
            return Registry::parse(key).ok();
        }
        let registry = Registry::parse(&format!("{account}.{key}")).ok()?;
        (registry.cache_key() == key).then_some(registry)
    }

    /// Whether `s` is a token key ([`Registry::cache_key`]).
    pub fn is_cache_key(s: &str) -> bool {
        Registry::in_key(s, "000000000000").is_some_and(|r| r.cache_key() == s)
    }

    /// The region whose API serves this registry (ECR Public: `us-east-1`).
    pub fn api_region(&self) -> &str {
        match self {
            Registry::Private(p) => &p.region,
            Registry::Public { .. } => "us-east-1",
        }
    }
}

/// Every host form this parser accepts, as kubelet `matchImages` globs
/// (one DNS label per `*`; kubelet compares ports too, so each form comes
/// bare and with `:443`). Letter case cannot be listed: kubelet matches it
/// exactly, and images name ECR hosts in lower case.
pub fn match_images() -> Vec<String> {
    let mut bare = Vec::new();
    for (domain, _) in DOMAINS {
        bare.push(format!("*.dkr.ecr.*.{domain}"));
        bare.push(format!("*.dkr.ecr-fips.*.{domain}"));
    }
    for (domain, _) in DUAL_STACK_DOMAINS {
        bare.push(format!("*.dkr-ecr.*.{domain}"));
        bare.push(format!("*.dkr-ecr-fips.*.{domain}"));
    }
    bare.extend(PUBLIC_HOSTS.iter().map(|h| h.to_string()));
    let with_port: Vec<String> = bare.iter().map(|h| format!("{h}:443")).collect();
    bare.extend(with_port);
    bare
}

/// The host of a private registry of `account` in `region`, in the domain of
/// the region's partition (`None` when that is not an ECR hostname).
pub fn private_host(account: &str, region: &str) -> Option<String> {
    DOMAINS.iter().find_map(|(domain, _)| {
        let host = format!("{account}.dkr.ecr.{region}.{domain}");
        parse_private(&host).ok().map(|p| p.host)
    })
}

/// Extracts the lower-cased host from a registry reference (any registry:
/// `https://Host:5000/v2/` → `host`); an error when it is not a plain DNS
/// name.
pub fn host_of(input: &str) -> Result<String, NotEcr> {
    let s = input.trim();
    if s.is_empty() {
        return Err(not_ecr("empty registry"));
    }
    if s.len() > MAX_INPUT {
        return Err(not_ecr(format!(
            "registry name is {} bytes long (at most {MAX_INPUT})",
            s.len()
        )));
    }
    let lower = s.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .unwrap_or(&lower);
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(not_ecr(
            "a registry address must not carry user information ('@')",
        ));
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) => {
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                let shown: String = port.chars().take(20).collect();
                return Err(not_ecr(format!("bad port {shown:?}")));
            }
            if port.parse::<u16>().is_err() {
                return Err(not_ecr(format!("port {port} is out of range")));
            }
            host
        }
        None => authority,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(not_ecr("no host name"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        let shown: String = host.chars().take(80).collect();
        return Err(not_ecr(format!("{shown:?} is not a plain DNS name")));
    }
    Ok(host.to_string())
}

/// Whether `input` looks like an ECR registry name (it names the `dkr.ecr`
/// service or ECR Public), whether or not it parses: a mistake in such a
/// name deserves a warning, a host that is plainly not ECR does not.
pub fn looks_like_ecr(input: &str) -> bool {
    let lower = input.trim().to_ascii_lowercase();
    let host = host_of(&lower).unwrap_or(lower);
    ["dkr.ecr", "dkr-ecr", "ecr.aws", "ecr-public"]
        .iter()
        .any(|mark| host.contains(mark))
}

fn parse_private(host: &str) -> Result<PrivateRegistry, NotEcr> {
    let unknown = || not_ecr(format!("{host} is not an ECR hostname"));
    let (account, rest) = host.split_once('.').ok_or_else(unknown)?;
    let (service, rest) = rest.split_once('.').ok_or_else(unknown)?;
    let (dual_stack, fips, rest) = match service {
        "dkr" => {
            let (ecr, rest) = rest.split_once('.').ok_or_else(unknown)?;
            match ecr {
                "ecr" => (false, false, rest),
                "ecr-fips" => (false, true, rest),
                _ => return Err(unknown()),
            }
        }
        "dkr-ecr" => (true, false, rest),
        "dkr-ecr-fips" => (true, true, rest),
        _ => return Err(unknown()),
    };
    let (region, domain) = rest.split_once('.').ok_or_else(unknown)?;
    let domains = if dual_stack {
        DUAL_STACK_DOMAINS
    } else {
        DOMAINS
    };
    let mut partition = domains
        .iter()
        .find(|(d, _)| *d == domain)
        .map(|(_, p)| *p)
        .ok_or_else(|| {
            let known: Vec<&str> = domains.iter().map(|(d, _)| *d).collect();
            not_ecr(format!(
                "{host}: {domain:?} is not an ECR domain (expected {})",
                known.join(", ")
            ))
        })?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_ecr(format!(
            "{host}: the account id must be exactly 12 digits"
        )));
    }
    if !is_region(region) {
        return Err(not_ecr(format!("{host}: {region:?} is not an AWS region")));
    }
    if partition == Partition::Aws && region.starts_with("us-gov-") {
        partition = Partition::AwsUsGov;
    }
    let belongs = region_partition(region);
    if belongs != partition {
        return Err(not_ecr(format!(
            "{host}: region {region} is in the {belongs} partition, but the domain {domain} is {partition}"
        )));
    }
    Ok(PrivateRegistry {
        account: account.to_string(),
        region: region.to_string(),
        fips,
        dual_stack,
        partition,
        host: host.to_string(),
    })
}

/// The partition a region belongs to, by its prefix (as the SDK's partition
/// table matches them). Regions of no other partition are commercial.
fn region_partition(region: &str) -> Partition {
    const PREFIXES: &[(&str, Partition)] = &[
        ("cn-", Partition::AwsCn),
        ("us-gov-", Partition::AwsUsGov),
        ("us-iso-", Partition::AwsIso),
        ("us-isob-", Partition::AwsIsoB),
        ("eu-isoe-", Partition::AwsIsoE),
        ("us-isof-", Partition::AwsIsoF),
        ("eusc-", Partition::AwsEusc),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or(Partition::Aws, |(_, p)| *p)
}

/// `us-east-1`, `us-gov-west-1`, `us-isob-east-1`, `eusc-de-east-1`: letters,
/// hyphens, and a final number.
fn is_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or_default();
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return false;
    };
    s.len() <= 32
        && (2..=4).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.len() <= 2
        && last.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;

//! `configure --from-aws-config`: the ECR registries the AWS profiles imply.
//! A profile names an account with `sso_account_id`, or with the account of
//! its `role_arn`; the region is its `region`, else its `sso_region` (or its
//! sso-session's). That account's registry in that region gets a
//! `credHelpers` entry, and the account a `[[registry]]` rule selecting the
//! profile. When several profiles name one account, the first by name wins
//! (a warning names the others).

use std::collections::BTreeMap;

use crate::core::profile::{ProfileSet, Section};

/// What the profiles imply.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Implied {
    /// Registry hosts, sorted, without duplicates.
    pub registries: Vec<String>,
    /// (account, profile, one registry host of the account), one per account.
    pub rules: Vec<(String, String, String)>,
    /// Profiles that were skipped or shadowed, one line each.
    pub warnings: Vec<String>,
}

/// The registries and rules `set`'s profiles imply.
pub fn implied(set: &ProfileSet) -> Implied {
    let mut out = Implied::default();
    let mut by_account: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (name, section) in set.profiles() {
        let Some(account) = account_of(section) else {
            continue;
        };
        let region = section
            .get("region")
            .or_else(|| section.get("sso_region"))
            .or_else(|| {
                let session = set.sso_session(section.get("sso_session")?)?;
                session.get("sso_region")
            });
        let Some(region) = region else {
            out.warnings.push(format!(
                "profile {name} (account {account}) has no region; skipped (add region = ... to it)"
            ));
            continue;
        };
        let Some(host) = crate::core::registry::private_host(&account, region.trim()) else {
            out.warnings.push(format!(
                "profile {name}: account {account} in region {region:?} is not an ECR registry; skipped"
            ));
            continue;
        };
        if !out.registries.contains(&host) {
            out.registries.push(host.clone());
        }
        by_account
            .entry(account)
            .or_default()
            .push((name.to_string(), host));
    }
    out.registries.sort();
    for (account, profiles) in by_account {
        let (profile, host) = profiles[0].clone();
        if profiles.len() > 1 {
            let others: Vec<&str> = profiles[1..].iter().map(|(p, _)| p.as_str()).collect();
            out.warnings.push(format!(
                "account {account} has profiles {profile}, {}: the rule selects {profile} (edit the rule to choose another)",
                others.join(", ")
            ));
        }
        out.rules.push((account, profile, host));
    }
    out
}

/// `sso_account_id`, else the account of `role_arn`.
fn account_of(section: &Section) -> Option<String> {
    let account = match section.get("sso_account_id") {
        Some(id) => id.trim().to_string(),
        None => {
            let arn = section.get("role_arn")?;
            arn.trim().split(':').nth(4)?.to_string()
        }
    };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sso_and_role_profiles_imply_registries_and_rules() {
        let mut set = ProfileSet::default();
        set.add_config(
            "[default]\nregion = us-east-1\n\
             [profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\n\
             [profile prod]\nsso_account_id = 222222222222\nsso_region = eu-west-1\nregion = eu-central-1\n\
             [profile ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\nsource_profile = default\nregion = cn-north-1\n\
             [profile noregion]\nrole_arn = arn:aws:iam::333333333333:role/X\n\
             [profile keys]\nregion = us-west-2\n\
             [sso-session corp]\nsso_region = ap-south-1\nsso_start_url = https://corp.awsapps.com/start\n",
        );
        let found = implied(&set);
        assert_eq!(
            found.registries,
            [
                "111111111111.dkr.ecr.ap-south-1.amazonaws.com",
                "222222222222.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "222222222222.dkr.ecr.eu-central-1.amazonaws.com",
            ]
        );
        let rules: Vec<(&str, &str)> = found
            .rules
            .iter()
            .map(|(a, p, _)| (a.as_str(), p.as_str()))
            .collect();
        assert_eq!(rules, [("111111111111", "dev"), ("222222222222", "ops")]);
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("profile noregion"));
        assert!(found.warnings[1].contains("profiles ops, prod"));
    }
}

//! Whether to ask the EC2 instance metadata service (IMDS) for credentials.
//!
//! Off EC2, the metadata address either refuses or silently drops packets, and
//! an SDK that probes it anyway makes a helper without credentials hang for
//! seconds. The rule:
//!
//! 1. `AWS_EC2_METADATA_DISABLED=true` → never.
//! 2. `AWS_ECR_IMDS=on` → always; `AWS_ECR_IMDS=off` → never.
//! 3. Linux: only when the DMI / hypervisor identifiers say EC2
//!    (`/sys/class/dmi/id/sys_vendor` or `bios_vendor` = `Amazon EC2`,
//!    `board_asset_tag` = `i-…`, `product_uuid` or `/sys/hypervisor/uuid`
//!    starting with `ec2`). These files are readable in containers on EC2 too.
//! 4. Windows: always (EC2 Windows hosts are common and have no sysfs).
//! 5. Other systems (macOS, BSD): never.
//!
//! Reading a few small sysfs files costs microseconds.

use std::path::Path;

use crate::env;

/// Whether the credential chain may use the instance metadata service.
pub fn allowed(var: &dyn Fn(&str) -> Option<String>) -> bool {
    let disabled =
        var(env::AWS_EC2_METADATA_DISABLED).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if disabled {
        return false;
    }
    match var(env::IMDS)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("on" | "true" | "1") => return true,
        Some("off" | "false" | "0") => return false,
        _ => {}
    }
    if cfg!(windows) {
        return true;
    }
    cfg!(target_os = "linux") && on_ec2(Path::new("/sys"))
}

/// Whether the sysfs tree under `sys` identifies an EC2 instance.
pub fn on_ec2(sys: &Path) -> bool {
    let read = |rel: &str| {
        std::fs::read_to_string(sys.join(rel))
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    read("class/dmi/id/sys_vendor") == "amazon ec2"
        || read("class/dmi/id/bios_vendor") == "amazon ec2"
        || read("class/dmi/id/board_asset_tag").starts_with("i-")
        || read("class/dmi/id/product_uuid").starts_with("ec2")
        || read("hypervisor/uuid").starts_with("ec2")
}

/// A stable id of this machine (part of the instance-metadata identity).
pub fn machine_id() -> String {
    [
        "/etc/machine-id",
        "/sys/class/dmi/id/board_asset_tag",
        "/var/lib/dbus/machine-id",
    ]
    .iter()
    .find_map(|p| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysfs(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (rel, content) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, content).expect("write");
        }
        dir
    }

    #[test]
    fn ec2_is_recognised_by_its_identifiers() {
        assert!(on_ec2(
            sysfs(&[("class/dmi/id/sys_vendor", "Amazon EC2\n")]).path()
        ));
        assert!(on_ec2(
            sysfs(&[("class/dmi/id/board_asset_tag", "i-0123456789abcdef0\n")]).path()
        ));
        assert!(on_ec2(
            sysfs(&[("hypervisor/uuid", "ec2e1916-9099-7caf-fd21-012345abcdef\n")]).path()
        ));
        assert!(!on_ec2(
            sysfs(&[
                ("class/dmi/id/sys_vendor", "QEMU\n"),
                ("class/dmi/id/product_uuid", "4c4c4544-0000\n")
            ])
            .path()
        ));
        assert!(!on_ec2(sysfs(&[]).path()));
    }

    #[test]
    fn environment_overrides() {
        let disabled = |k: &str| (k == env::AWS_EC2_METADATA_DISABLED).then(|| "true".to_string());
        assert!(!allowed(&disabled));
        let on = |k: &str| (k == env::IMDS).then(|| "on".to_string());
        assert!(allowed(&on));
        let off = |k: &str| (k == env::IMDS).then(|| "off".to_string());
        assert!(!allowed(&off));
        let both = |k: &str| match k {
            env::AWS_EC2_METADATA_DISABLED => Some("true".to_string()),
            env::IMDS => Some("on".to_string()),
            _ => None,
        };
        assert!(!allowed(&both));
    }
}

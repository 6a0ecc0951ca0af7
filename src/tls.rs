//! The certificates trusted for AWS calls, read once per process into one
//! deduplicated list: the OS store (rustls-native-certs: `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` when set, else the platform's store) plus `AWS_CA_BUNDLE`.
//!
//! Only certificates that a root store accepts are passed on, so a bad bundle
//! is a clear error instead of a crash deep in the TLS stack. The HTTPS
//! client takes the list as PEM ([`Roots::pem`]) with its own loading of the
//! OS store turned off, so nothing is read or parsed twice.

use std::collections::HashSet;

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The trust roots: every accepted certificate once, in PEM.
#[derive(Debug)]
pub struct Roots {
    pem: Vec<u8>,
    count: usize,
}

impl Roots {
    /// The OS store plus the `AWS_CA_BUNDLE` file at `aws_ca_bundle`, if any.
    /// Errors (naming the problem, not the variable) when that file cannot
    /// be read, is not PEM, or holds no usable certificate.
    pub fn load(aws_ca_bundle: Option<&str>) -> Result<Self, String> {
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            crate::debug!("OS trust store: {error}");
        }
        Self::from_parts(native.certs, aws_ca_bundle)
    }

    /// `native` plus the certificates of the bundle file at `aws_ca_bundle`.
    fn from_parts(
        native: Vec<CertificateDer<'static>>,
        aws_ca_bundle: Option<&str>,
    ) -> Result<Self, String> {
        let mut roots = Builder::default();
        for cert in &native {
            roots.add(cert);
        }
        if let Some(path) = aws_ca_bundle {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
            let mut usable = 0;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|_| "not a valid PEM file".to_string())?;
                if roots.add(&cert) {
                    usable += 1;
                }
            }
            if usable == 0 {
                return Err("contains no usable certificate".into());
            }
        }
        crate::debug!(
            "trusting {} CA certificates ({} from the OS store)",
            roots.count,
            native.len()
        );
        Ok(Roots {
            pem: roots.pem,
            count: roots.count,
        })
    }

    /// Every certificate, PEM-encoded, for the HTTPS client's trust store.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// How many distinct certificates are trusted.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Collects accepted certificates once each, PEM-encoded.
#[derive(Default)]
struct Builder {
    seen: HashSet<Vec<u8>>,
    pem: Vec<u8>,
    count: usize,
}

impl Builder {
    /// Adds `cert` unless it is a duplicate or a root store refuses it;
    /// true when it is (now or already) trusted.
    fn add(&mut self, cert: &CertificateDer<'_>) -> bool {
        if self.seen.contains(cert.as_ref()) {
            return true;
        }
        // The same check the HTTPS client's root store makes (it would
        // panic on a certificate that fails it).
        if rustls::RootCertStore::empty().add(cert.clone()).is_err() {
            return false;
        }
        self.seen.insert(cert.to_vec());
        self.pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            self.pem.extend_from_slice(line);
            self.pem.push(b'\n');
        }
        self.pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        self.count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA_A: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBlDCCATmgAwIBAgIUUEVoPuZHRf+9u2pUj6crffEr0vgwCgYIKoZIzj0EAwIw\n\
HjEcMBoGA1UEAwwTZWNyLWxvZ2luIHRlc3QgQ0EgYTAgFw0yNjExMjUxOTM4NDZa\n\
GA8yMTI2MTEwMTE5Mzg0NlowHjEcMBoGA1UEAwwTZWNyLWxvZ2luIHRlc3QgQ0Eg\n\
YTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNK+ygeu0h5b7DcH9NGHsUc7YEOf\n\
KSdvD8bYx+JEnj9xGC0iA12i17zRkJ/XJo49EhmRpvnmzDVYlhv6Qte8pkajUzBR\n\
MB0GA1UdDgQWBBTnNASYeB4dryikJBAWRcf/Mc9C1zAfBgNVHSMEGDAWgBTnNASY\n\
eB4dryikJBAWRcf/Mc9C1zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA\n\
MEYCIQCgeSJwP0l4KBVYl9GhKiKPC6YAsSvm7yhzKr3ThHKDjgIhAIwrMO+9ZQ0X\n\
rWh0XrMwkC9KkycoftHGyqyv8kPC76ZV\n\
-----END CERTIFICATE-----";
    const CA_B: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBkjCCATmgAwIBAgIUC/9l6Nc1F6xR0ANXNtqsoNfOk0kwCgYIKoZIzj0EAwIw\n\
HjEcMBoGA1UEAwwTZWNyLWxvZ2luIHRlc3QgQ0EgYjAgFw0yNjExMjUxOTM4NDZa\n\
GA8yMTI2MTEwMTE5Mzg0NlowHjEcMBoGA1UEAwwTZWNyLWxvZ2luIHRlc3QgQ0Eg\n\
YjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABPGFhtImXeHOdtPAGCNDHh5aMOLs\n\
hMt1rZP2wYkk+HUAchS2uoDzdClWRKFEiMvujf3zogG3VUEUUQUalFfL4KKjUzBR\n\
MB0GA1UdDgQWBBTVkGsLOz9oRlRr0xt6f2YHEH0HrTAfBgNVHSMEGDAWgBTVkGsL\n\
Oz9oRlRr0xt6f2YHEH0HrTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cA\n\
MEQCID0O2heylSb3uxrFv0HKGgWxgFMmIuwwdv1AWBUXlsa8AiBwZI6gLKQyOILR\n\
stdkx6scTRMZ7vLJl1CBatJ6U7UBOw==\n\
-----END CERTIFICATE-----";
    /// Valid PEM whose content is not a certificate.
    const NOT_A_CERT: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("test certificate")
    }

    fn bundle(dir: &tempfile::TempDir, name: &str, contents: &str) -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write the test bundle");
        path.display().to_string()
    }

    fn certs(roots: &Roots) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(roots.pem())
            .collect::<Result<_, _>>()
            .expect("Roots::pem is valid PEM")
    }

    #[test]
    fn the_bundle_adds_to_the_os_store_and_each_certificate_is_trusted_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = bundle(&dir, "a.pem", &format!("{CA_A}\n{CA_B}\n{CA_A}\n"));
        let roots = Roots::from_parts(vec![der(CA_A), der(CA_A)], Some(&path)).unwrap();
        assert_eq!(roots.count(), 2);
        assert_eq!(certs(&roots), vec![der(CA_A), der(CA_B)]);
    }

    #[test]
    fn without_a_bundle_the_os_store_alone_minus_what_a_root_store_refuses() {
        let roots = Roots::from_parts(vec![der(CA_B), der(NOT_A_CERT)], None).unwrap();
        assert_eq!(certs(&roots), vec![der(CA_B)]);
        assert_eq!(Roots::from_parts(vec![], None).unwrap().count(), 0);
    }

    #[test]
    fn unusable_certificates_in_the_bundle_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = bundle(&dir, "a.pem", &format!("{NOT_A_CERT}\n{CA_A}\n"));
        let roots = Roots::from_parts(vec![], Some(&path)).unwrap();
        assert_eq!(certs(&roots), vec![der(CA_A)]);
    }

    #[test]
    fn a_bad_bundle_is_an_error_that_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem").display().to_string();
        let cases = [
            ("missing file", missing, "cannot read"),
            ("not base64", bundle(&dir, "b64.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"), "not a valid PEM file"),
            ("unterminated", bundle(&dir, "open.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n"), "not a valid PEM file"),
            ("no certificate", bundle(&dir, "text.pem", "just text\n"), "contains no usable certificate"),
            ("only unusable", bundle(&dir, "bad.pem", NOT_A_CERT), "contains no usable certificate"),
        ];
        for (name, path, want) in cases {
            let err = Roots::from_parts(vec![der(CA_A)], Some(&path)).unwrap_err();
            assert!(err.contains(want), "{name}: {err}");
        }
    }
}

//! Unit tests of [`super`].

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

/// The DER of every certificate of `pem`, as `Builder` reads them.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
    let mut certs = Vec::new();
    for_each_certificate(pem, |b64| {
        certs.push(PEM_BASE64.decode(b64).map_err(|_| ())?);
        Ok(())
    })?;
    Ok(certs)
}

fn der(pem: &str) -> Vec<u8> {
    let certs = pem_certificates(pem.as_bytes()).expect("test PEM");
    assert_eq!(certs.len(), 1);
    certs.into_iter().next().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, contents: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write a test file");
    path.display().to_string()
}

/// The certificates of `roots`, decoded the way the HTTPS client does.
fn certs(roots: Roots) -> Vec<Vec<u8>> {
    use rustls_pki_types::pem::PemObject as _;
    CertificateDer::pem_slice_iter(roots.pem())
        .map(|c| c.expect("Roots::pem is valid PEM").to_vec())
        .collect()
}

#[test]
fn the_pem_decoder_agrees_with_rustls() {
    use rustls_pki_types::pem::PemObject as _;
    // Text around, another kind of section, CRLF line ends, a space
    // inside a line.
    let text = [
        "subject=CN = a",
        CA_A,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        &CA_B.replace('\n', "\r\n"),
        &CA_A.replacen("MIIB", "MI IB", 1),
    ]
    .join("\n");
    let want: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(text.as_bytes())
        .map(|c| c.unwrap().to_vec())
        .collect();
    assert_eq!(want.len(), 3);
    assert_eq!(pem_certificates(text.as_bytes()).unwrap(), want);
    assert_eq!(
        pem_certificates(b"no PEM here").unwrap(),
        Vec::<Vec<u8>>::new()
    );
    for bad in [
        "-----BEGIN CERTIFICATE-----\nAAAA\n",
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    ] {
        assert!(pem_certificates(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn the_bundle_adds_to_the_os_store_and_each_certificate_is_trusted_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "a.pem", &format!("{CA_A}\n{CA_B}\n{CA_A}\n"));
    let mut roots = Builder::default();
    roots.add_der(&der(CA_A));
    roots.add_der(&der(CA_A));
    roots.add_bundle(&path).unwrap();
    let roots = roots.finish();
    assert_eq!(roots.count(), 2);
    assert_eq!(certs(roots), vec![der(CA_A), der(CA_B)]);
}

#[test]
fn base64_without_padding_reaches_the_client_padded() {
    let unpadded = CA_B.replace("Ow==", "Ow");
    assert_ne!(unpadded, CA_B);
    let mut roots = Builder::default();
    assert_eq!(roots.add_pem(unpadded.as_bytes()), Ok(1));
    assert_eq!(certs(roots.finish()), vec![der(CA_B)]);
}

#[test]
fn certificates_a_root_store_refuses_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "a.pem", &format!("{NOT_A_CERT}\n{CA_A}\n"));
    let mut roots = Builder::default();
    assert!(!roots.add_der(&der(NOT_A_CERT)));
    roots.add_bundle(&path).unwrap();
    assert_eq!(certs(roots.finish()), vec![der(CA_A)]);
}

#[test]
fn a_bad_bundle_is_an_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem").display().to_string();
    let cases = [
        ("missing file", missing, "cannot read"),
        (
            "bad base64",
            write(
                &dir,
                "b64.pem",
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            ),
            "not a valid PEM file",
        ),
        (
            "unterminated",
            write(&dir, "open.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n"),
            "not a valid PEM file",
        ),
        (
            "no certificate",
            write(&dir, "text.pem", "just text\n"),
            "contains no usable certificate",
        ),
        (
            "only unusable",
            write(&dir, "bad.pem", NOT_A_CERT),
            "contains no usable certificate",
        ),
    ];
    for (name, path, want) in cases {
        let err = Builder::default().add_bundle(&path).unwrap_err();
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn the_os_store_reads_the_file_and_the_directories_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let certs_dir = dir.path().join("certs");
    std::fs::create_dir(&certs_dir).unwrap();
    let bundle = write(&dir, "bundle.pem", CA_A);
    std::fs::write(certs_dir.join("b.pem"), CA_B).unwrap();
    std::fs::write(certs_dir.join("junk.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::os::unix::fs::symlink(&bundle, certs_dir.join("0123abcd.0")).unwrap();
    std::os::unix::fs::symlink(certs_dir.join("b.pem"), certs_dir.join("4567cdef.0")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone.pem"), certs_dir.join("dangling.0")).unwrap();
    let mut roots = Builder::default();
    read_paths(
        Some(std::path::Path::new(&bundle)),
        std::slice::from_ref(&certs_dir),
        &mut roots,
    );
    let mut got = certs(roots.finish());
    got.sort();
    let mut want = vec![der(CA_A), der(CA_B)];
    want.sort();
    assert_eq!(got, want);
    // A missing file or directory is skipped, not an error.
    let mut roots = Builder::default();
    read_paths(
        Some(&dir.path().join("none.pem")),
        &[dir.path().join("none")],
        &mut roots,
    );
    assert_eq!(roots.finish().count(), 0);
}

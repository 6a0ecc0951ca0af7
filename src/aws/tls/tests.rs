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

/// The certificates of `all`, checking the root store holds as many.
fn certs(all: All) -> Vec<Vec<u8>> {
    assert_eq!(all.store.len(), all.der.len());
    all.der
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
    for der in check_bundle(&path).unwrap().der {
        roots.add_der(&der);
    }
    assert_eq!(roots.count(), 2);
    assert_eq!(certs(roots.finish()), vec![der(CA_A), der(CA_B)]);
}

#[test]
fn base64_without_padding_is_read() {
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
    for der in check_bundle(&path).unwrap().der {
        roots.add_der(&der);
    }
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
        let err = check_bundle(&path).unwrap_err();
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
    assert_eq!(roots.count(), 0);
}

const ROOT_A: &str = include_str!("../../../tests/data/tls/root-a.pem");
const IMPOSTOR_A: &str = include_str!("../../../tests/data/tls/impostor-a.pem");
const ROOT_B: &str = include_str!("../../../tests/data/tls/root-b.pem");
const INTER_A: &str = include_str!("../../../tests/data/tls/inter-a.pem");
const SERVER: &str = include_str!("../../../tests/data/tls/server.pem");

#[test]
fn names_are_read_from_the_der() {
    let (root, inter, server) = (der(ROOT_A), der(INTER_A), der(SERVER));
    let n = |d: &[u8]| {
        let names = verify::names(d).expect("a certificate");
        (d[names.issuer].to_vec(), d[names.subject].to_vec())
    };
    let (root_issuer, root_subject) = n(&root);
    let (inter_issuer, inter_subject) = n(&inter);
    let (server_issuer, _) = n(&server);
    assert_eq!(root_issuer, root_subject, "self-signed");
    assert_eq!(inter_issuer, root_subject);
    assert_eq!(server_issuer, inter_subject);
    assert_ne!(inter_subject, root_subject);
    assert!(String::from_utf8_lossy(&root_subject).contains("ecr-login test root A"));
    // Cut short before the end of the subject, or not a certificate at all.
    assert!(verify::names(&root[..root.len() / 4]).is_none());
    assert!(verify::names(b"\x30\x03\x02\x01\x01").is_none());
    assert!(verify::names(b"").is_none());
}

/// The subject (as the verifier compares it) of the PEM certificate `pem`.
fn subject(pem: &str) -> Vec<u8> {
    let d = der(pem);
    let names = verify::names(&d).unwrap();
    d[names.subject].to_vec()
}

#[test]
fn candidates_are_the_certificates_of_that_subject_however_much_is_decoded_first() {
    let bundle = format!("{IMPOSTOR_A}\n{ROOT_B}\n{NOT_A_CERT}\n{ROOT_A}");
    for prefix in [PREFIX, 64, 8, usize::MAX] {
        let mut found = RootCertStore::empty();
        add_by_subject_prefix(bundle.as_bytes(), &[&subject(ROOT_A)], prefix, &mut found);
        assert_eq!(found.len(), 2, "prefix {prefix}: the impostor and root A");
        let mut found = RootCertStore::empty();
        add_by_subject_prefix(
            bundle.as_bytes(),
            &[&subject(INTER_A), &subject(ROOT_B)],
            prefix,
            &mut found,
        );
        assert_eq!(found.len(), 1, "prefix {prefix}: root B");
    }
}

/// Roots from files written into `dir`: `(variable, files)` where the
/// variable is `SSL_CERT_FILE`, `SSL_CERT_DIR` or `AWS_CA_BUNDLE`.
fn roots_of(dir: &tempfile::TempDir, store: &[(&str, &[&str])]) -> Roots {
    let mut os = OsStore::default();
    let mut bundle = None;
    for (n, (var, pems)) in store.iter().enumerate() {
        let text = pems.join("\n");
        match *var {
            "SSL_CERT_DIR" => {
                let d = dir.path().join(format!("dir{n}"));
                std::fs::create_dir(&d).unwrap();
                for (i, pem) in pems.iter().enumerate() {
                    std::fs::write(d.join(format!("{i}.pem")), pem).unwrap();
                }
                os.cert_dir = Some(d.display().to_string());
            }
            "SSL_CERT_FILE" => os.cert_file = Some(write(dir, &format!("file{n}.pem"), &text)),
            "AWS_CA_BUNDLE" => bundle = Some(write(dir, &format!("bundle{n}.pem"), &text)),
            other => panic!("{other}"),
        }
    }
    if os.cert_file.is_none() && os.cert_dir.is_none() {
        // Never the machine's own store.
        os.cert_file = Some(write(dir, "empty.pem", ""));
    }
    Roots::load(bundle.as_deref(), &os).unwrap()
}

/// What, the store (see [`roots_of`]), trusted, whether the whole store is read.
type Case = (&'static str, Store, bool, bool);
type Store = &'static [(&'static str, &'static [&'static str])];

#[test]
fn the_verifier_decides_as_rustls_does_with_the_whole_store() {
    use rustls_pki_types::{ServerName, UnixTime};
    let provider = rustls::crypto::ring::default_provider();
    let algorithms = provider.signature_verification_algorithms;
    let (server, inter) = (der(SERVER), der(INTER_A));
    let (server, inter) = (CertificateDer::from(server), CertificateDer::from(inter));
    let cases: [Case; 10] = [
        (
            "root A in SSL_CERT_FILE",
            &[("SSL_CERT_FILE", &[ROOT_B, ROOT_A])],
            true,
            false,
        ),
        (
            "an impostor first",
            &[("SSL_CERT_FILE", &[IMPOSTOR_A, ROOT_A])],
            true,
            false,
        ),
        (
            "root A in SSL_CERT_DIR only",
            &[("SSL_CERT_DIR", &[ROOT_B, ROOT_A])],
            true,
            true,
        ),
        (
            "root A in the directory, the impostor in the file",
            &[
                ("SSL_CERT_FILE", &[IMPOSTOR_A]),
                ("SSL_CERT_DIR", &[ROOT_A]),
            ],
            true,
            true,
        ),
        (
            "root A in AWS_CA_BUNDLE",
            &[("SSL_CERT_FILE", &[ROOT_B]), ("AWS_CA_BUNDLE", &[ROOT_A])],
            true,
            false,
        ),
        (
            "the intermediate itself trusted",
            &[("SSL_CERT_FILE", &[INTER_A])],
            true,
            false,
        ),
        ("another root", &[("SSL_CERT_FILE", &[ROOT_B])], false, true),
        (
            "only the impostor",
            &[("SSL_CERT_FILE", &[IMPOSTOR_A])],
            false,
            true,
        ),
        (
            "the impostor everywhere",
            &[
                ("SSL_CERT_DIR", &[IMPOSTOR_A]),
                ("AWS_CA_BUNDLE", &[IMPOSTOR_A]),
            ],
            false,
            true,
        ),
        ("nothing", &[("SSL_CERT_FILE", &[])], false, true),
    ];
    let name = ServerName::try_from("localhost").unwrap();
    let wrong = ServerName::try_from("example.com").unwrap();
    let ip = ServerName::try_from("127.0.0.1").unwrap();
    for (what, store, trusted, whole) in cases {
        let dir = tempfile::tempdir().unwrap();
        let roots = roots_of(&dir, store);
        let ours = verify::Verifier::new(roots.clone(), algorithms);
        let check = |v: &dyn rustls::client::danger::ServerCertVerifier, n: &ServerName<'_>| {
            v.verify_server_cert(
                &server,
                std::slice::from_ref(&inter),
                n,
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
        };
        let got = check(&ours, &name);
        assert_eq!(got.is_ok(), trusted, "{what}: {got:?}");
        assert_eq!(check(&ours, &ip).is_ok(), trusted, "{what}: by address");
        assert!(check(&ours, &wrong).is_err(), "{what}: another name");
        assert_eq!(
            roots.0.all.get().is_some(),
            whole,
            "{what}: the whole store read"
        );
        // rustls' own verifier, given every trusted certificate.
        if !roots.store().is_empty() {
            let reference = rustls::client::WebPkiServerVerifier::builder_with_provider(
                std::sync::Arc::new(roots.store().clone()),
                std::sync::Arc::new(rustls::crypto::ring::default_provider()),
            )
            .build()
            .unwrap();
            let want = check(reference.as_ref(), &name);
            assert_eq!(got, want, "{what}: as rustls decides");
        }
        if !trusted {
            assert!(
                matches!(
                    got,
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::UnknownIssuer
                            | rustls::CertificateError::BadSignature
                    ))
                ),
                "{what}: {got:?}"
            );
        }
    }
}

#[test]
fn a_bundle_that_is_also_the_os_bundle_file_is_searched_once() {
    let dir = tempfile::tempdir().unwrap();
    let both = write(&dir, "both.pem", ROOT_B);
    let other = write(&dir, "other.pem", &format!("{ROOT_B}\n{ROOT_A}"));
    let a = subject(ROOT_A);
    for (os_file, want, read) in [(&both, 0, false), (&other, 1, true)] {
        let os = OsStore {
            cert_file: Some(os_file.clone()),
            cert_dir: None,
        };
        let roots = Roots::load(Some(&both), &os).unwrap();
        assert_eq!(roots.candidates(&[&a]).len(), want, "{os_file}");
        assert_eq!(
            roots.0.os_bundle.get().unwrap().is_some(),
            read,
            "{os_file}"
        );
        assert!(roots.0.all.get().is_none(), "the whole store is not read");
    }
}

const ODD_NAME: &str = include_str!("../../../tests/data/tls/odd-name.pem");

#[test]
fn subject_hashes_are_openssls() {
    // `openssl x509 -noout -subject_hash`; the odd name has a
    // PrintableString, UTF-8 with non-ASCII letters, upper case and runs of
    // spaces inside and around its strings.
    for (pem, want) in [
        (ROOT_A, 0x926f_74b5),
        (IMPOSTOR_A, 0x926f_74b5),
        (ROOT_B, 0xbd5f_50ef),
        (INTER_A, 0x442f_0666),
        (ODD_NAME, 0x5aae_7f2d),
    ] {
        assert_eq!(index::subject_hash(&subject(pem)), Some(want), "{pem}");
    }
    assert_eq!(index::subject_hash(b""), None);
    assert_eq!(
        index::subject_hash(b"\x30\x00"),
        None,
        "not a set of attributes"
    );
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn the_directory_index_finds_the_anchor_without_reading_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::write(certs.join("a.pem"), ROOT_A).unwrap();
    std::fs::write(certs.join("impostor.pem"), IMPOSTOR_A).unwrap();
    std::fs::write(certs.join("b.pem"), ROOT_B).unwrap();
    // As `openssl rehash` names them: links, `.0` then `.1` for one hash.
    std::os::unix::fs::symlink("impostor.pem", certs.join("926f74b5.0")).unwrap();
    std::os::unix::fs::symlink("a.pem", certs.join("926f74b5.1")).unwrap();
    std::os::unix::fs::symlink("b.pem", certs.join("bd5f50ef.0")).unwrap();
    // A bundle file that the index makes unnecessary, and one more file
    // under the hash that is a directory (skipped).
    let bundle = write(&dir, "bundle.pem", &format!("{ROOT_A}\n{ROOT_B}"));
    let os = OsStore {
        cert_file: Some(bundle),
        cert_dir: Some(certs.display().to_string()),
    };
    let roots = Roots::load(None, &os).unwrap();
    let found = roots.candidates(&[&subject(ROOT_A)]);
    assert_eq!(found.len(), 2, "the impostor and root A");
    assert!(
        roots.0.os_bundle.get().is_none(),
        "the bundle file is not read"
    );
    assert!(roots.0.all.get().is_none(), "nor the whole store");
    // Not in the index (the intermediate): the bundle file is searched.
    std::fs::create_dir(certs.join("442f0666.0")).unwrap();
    std::fs::write(
        dir.path().join("bundle.pem"),
        format!("{ROOT_A}\n{INTER_A}"),
    )
    .unwrap();
    assert_eq!(roots.candidates(&[&subject(INTER_A)]).len(), 1);
    assert!(roots.0.os_bundle.get().is_some());
}

//! Loading a CA bundle (`AWS_CA_BUNDLE`) safely: only certificates that parse
//! are passed on, so a bad bundle is a clear error instead of a crash deep in
//! the TLS stack.

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Reads a PEM bundle and returns it re-encoded with only the certificates
/// that a root store accepts. Errors when none do.
pub fn read_ca_bundle(path: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut store = rustls::RootCertStore::empty();
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let Ok(cert) = cert else {
            return Err("not a valid PEM file".into());
        };
        if store.add(cert.clone()).is_ok() {
            out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            for line in b64.as_bytes().chunks(64) {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
            out.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
    }
    if out.is_empty() {
        return Err("contains no usable certificate".into());
    }
    Ok(out)
}

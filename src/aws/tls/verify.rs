//! The server certificate check: rustls-webpki's, against trust anchors
//! found from the server's own chain.
//!
//! webpki builds a path from the server's certificate up through the
//! certificates it sent, and at each step considers only the trust anchors
//! whose subject is byte for byte the issuer name of the certificate in hand.
//! So the anchors that can matter are the ones whose subject is the issuer of
//! a certificate of the chain: [`Roots::candidates`] reads only those (found
//! by subject: `AWS_CA_BUNDLE`, the OS directories' subject-hash index, the
//! OS bundle file), and the whole store is decoded only when they do not
//! make a valid path. A chain is accepted exactly when the
//! whole store accepts it: the candidates are taken from the trusted
//! certificates, and anything they refuse is decided by the whole store.

use std::ops::Range;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::Roots;

/// A [`ServerCertVerifier`] that checks the chain and the name as rustls'
/// `WebPkiServerVerifier` does (no revocation lists, as there), trusting
/// [`Roots`], read as the chain needs them.
#[derive(Debug)]
pub(crate) struct Verifier {
    roots: Roots,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Verifier {
    pub(crate) fn new(roots: Roots, algorithms: WebPkiSupportedAlgorithms) -> Self {
        Verifier { roots, algorithms }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        let issuers: Vec<&[u8]> = std::iter::once(end_entity)
            .chain(intermediates)
            .filter_map(|c| names(c).map(|n| &c[n.issuer]))
            .collect();
        let algorithms = self.algorithms.all;
        let candidates = self.roots.candidates(&issuers);
        let quick = !candidates.is_empty()
            && verify_server_cert_signed_by_trust_anchor(
                &cert,
                &candidates,
                intermediates,
                now,
                algorithms,
            )
            .is_ok();
        if !quick {
            crate::debug!(
                "TLS: no path to a candidate found by subject; reading the whole trust store"
            );
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                self.roots.store(),
                intermediates,
                now,
                algorithms,
            )?;
        }
        verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Where a certificate's issuer and subject names are: the contents of the
/// two `Name` sequences (what webpki compares), as byte ranges of `der`.
pub(super) struct Names {
    pub issuer: Range<usize>,
    pub subject: Range<usize>,
}

/// The [`Names`] of the DER certificate `der`, which may be cut short after
/// the subject; `None` when it is not shaped like a certificate or is cut
/// before the end of its subject.
pub(super) fn names(der: &[u8]) -> Option<Names> {
    const SEQUENCE: u8 = 0x30;
    let (_, cert) = tlv(der, 0, SEQUENCE)?;
    let (_, tbs) = tlv(der, cert.start, SEQUENCE)?;
    let mut at = tbs.start;
    // version [0] EXPLICIT, optional
    if der.get(at) == Some(&0xa0) {
        at = tlv(der, at, 0xa0)?.1.end;
    }
    at = tlv(der, at, 0x02)?.1.end; // serialNumber
    at = tlv(der, at, SEQUENCE)?.1.end; // signature
    let (_, issuer) = tlv(der, at, SEQUENCE)?;
    let (_, validity) = tlv(der, issuer.end, SEQUENCE)?;
    let (_, subject) = tlv(der, validity.end, SEQUENCE)?;
    (subject.end <= der.len()).then_some(Names { issuer, subject })
}

/// The DER element at `at`, which must have tag `tag`: its header length and
/// the range of its contents (which may run past the end of `der`).
fn tlv(der: &[u8], at: usize, tag: u8) -> Option<(usize, Range<usize>)> {
    let (found, header, len) = der_header(der, at)?;
    if found != tag {
        return None;
    }
    let start = at + header;
    Some((header, start..start.checked_add(len)?))
}

/// The header of the DER element at `at`: its tag, the header's length and
/// the contents' length. `None` past the end, for a long-form tag, or a
/// length over 4 bytes (none of which a certificate name needs).
pub(super) fn der_header(der: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let tag = *der.get(at)?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *der.get(at + 1)?;
    if first < 0x80 {
        return Some((tag, 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = der
        .get(at + 2..at + 2 + n)?
        .iter()
        .fold(0usize, |len, &b| (len << 8) | usize::from(b));
    Some((tag, 2 + n, len))
}

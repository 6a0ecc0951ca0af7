//! The certificates trusted for AWS calls, read once per process into one
//! deduplicated list: the OS store plus `AWS_CA_BUNDLE`.
//!
//! The OS store is what rustls-native-certs reads. On Linux and other Unix
//! systems (not macOS): `SSL_CERT_FILE` and every file in `SSL_CERT_DIR`
//! (`:`-separated) when either is set, else the first well-known bundle file
//! and every well-known directory (openssl-probe's lists), each file once.
//! Those files are read here rather than by rustls-native-certs: its PEM
//! decoder costs ~55 000 instructions a certificate, 17 M for Debian's store
//! (146 certificates, in the bundle and again in `/etc/ssl/certs/*.pem`);
//! here it is 7 M, duplicates being recognised by their text before any
//! decoding. Certificates are public: they need no constant-time decoding.
//! Elsewhere (macOS, Windows) the platform store comes from rustls-native-certs.
//!
//! Only certificates that a root store accepts are passed on, so a bad bundle
//! is a clear error instead of a crash deep in the TLS stack. The HTTPS client
//! gets the list as PEM ([`Roots::pem`], one line a certificate, which it
//! decodes fastest) with its own loading of the OS store turned off.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use memchr::memmem::Finder;
use rustls_pki_types::CertificateDer;

/// Where the OS store is on Unix when OpenSSL's variables say so
/// (`SSL_CERT_FILE`, `SSL_CERT_DIR`), as the settings read them.
#[derive(Debug, Clone, Default)]
pub struct OsStore {
    /// `SSL_CERT_FILE`.
    pub cert_file: Option<String>,
    /// `SSL_CERT_DIR` (`:`-separated).
    pub cert_dir: Option<String>,
}

/// The trust roots: every accepted certificate once, in PEM.
#[derive(Debug, Clone)]
pub struct Roots {
    pem: Vec<u8>,
    #[cfg_attr(not(test), allow(dead_code))]
    count: usize,
}

impl Roots {
    /// The OS store (located by `os`) plus the `AWS_CA_BUNDLE` file at
    /// `aws_ca_bundle`, if any. Errors (naming the problem, not the variable)
    /// when that file cannot be read, is not PEM, or holds no usable
    /// certificate.
    pub fn load(aws_ca_bundle: Option<&str>, os: &OsStore) -> Result<Self, String> {
        let mut roots = Builder::default();
        os_store(&mut roots, os);
        let native = roots.count;
        if let Some(path) = aws_ca_bundle {
            roots.add_bundle(path)?;
        }
        crate::debug!(
            "trusting {} CA certificates ({native} from the OS store)",
            roots.count
        );
        Ok(roots.finish())
    }

    /// Every certificate, PEM-encoded, for the HTTPS client's trust store.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// How many distinct certificates are trusted.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Collects accepted certificates once each, PEM-encoded.
struct Builder {
    seen: HashSet<Vec<u8>, BuildHasherDefault<FxHasher>>,
    pem: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    /// Sized for a usual OS store (~150 certificates of ~2 KB in PEM), so
    /// that adding them does not rehash and reallocate along the way.
    fn default() -> Self {
        Builder {
            seen: HashSet::with_capacity_and_hasher(256, Default::default()),
            pem: Vec::with_capacity(256 * 2048),
            count: 0,
        }
    }
}

impl Builder {
    /// Adds the certificate whose base64 text (without whitespace) is `b64`,
    /// unless it is a duplicate or a root store refuses it: `Ok(true)` when
    /// it is (now or already) trusted, an error when `b64` is not base64.
    /// Duplicates are found by their text, before any decoding.
    fn add_base64(&mut self, b64: &[u8]) -> Result<bool, ()> {
        use base64::engine::general_purpose::STANDARD;
        if self.seen.contains(b64) {
            return Ok(true);
        }
        // Canonical base64 goes to the HTTPS client as it is; anything
        // else (no padding, stray bits) is encoded anew.
        let (der, canonical) = match STANDARD.decode(b64) {
            Ok(der) => (der, true),
            Err(_) => (PEM_BASE64.decode(b64).map_err(|_| ())?, false),
        };
        // The same check the HTTPS client's root store makes (it would
        // panic on a certificate that fails it).
        if rustls::RootCertStore::empty()
            .add(CertificateDer::from(der.as_slice()))
            .is_err()
        {
            return Ok(false);
        }
        self.seen.insert(b64.to_vec());
        self.pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        if canonical {
            self.pem.extend_from_slice(b64);
        } else {
            self.pem.extend_from_slice(STANDARD.encode(&der).as_bytes());
        }
        self.pem.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
        self.count += 1;
        Ok(true)
    }

    /// Adds the certificate `der` (see [`Builder::add_base64`]).
    #[cfg_attr(all(unix, not(target_os = "macos")), allow(dead_code))]
    fn add_der(&mut self, der: &[u8]) -> bool {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        self.add_base64(b64.as_bytes()) == Ok(true)
    }

    /// Adds the certificates of the PEM text `pem`; errors on a malformed
    /// certificate section (those before it are kept). Returns how many of
    /// its certificates are trusted.
    fn add_pem(&mut self, pem: &[u8]) -> Result<usize, ()> {
        let mut usable = 0;
        for_each_certificate(pem, |b64| {
            if self.add_base64(b64)? {
                usable += 1;
            }
            Ok(())
        })?;
        Ok(usable)
    }

    /// Adds the certificates of the `AWS_CA_BUNDLE` file at `path`; errors
    /// when it cannot be read, is not PEM, or holds no usable certificate.
    fn add_bundle(&mut self, path: &str) -> Result<(), String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        match self.add_pem(&bytes) {
            Err(()) => Err("not a valid PEM file".into()),
            Ok(0) => Err("contains no usable certificate".into()),
            Ok(_) => Ok(()),
        }
    }

    fn finish(self) -> Roots {
        Roots {
            pem: self.pem,
            count: self.count,
        }
    }
}

/// rustc's FxHash: the set's keys are ~2 KB of base64 each, which SipHash
/// (std's default, built against hash flooding) reads at a quarter of the
/// speed; they come from the trust files, not from an adversary.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word: [u8; 8] = word.try_into().expect("chunks of 8 bytes");
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &byte in words.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Base64 as PEM files may hold it: padding optional, trailing bits ignored.
const PEM_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Calls `each` with the base64 text, whitespace removed, of every
/// `CERTIFICATE` section of a PEM file, in order; text around the sections
/// and other kinds of section are skipped. Stops at the first error of
/// `each`, and errors on an unterminated section.
fn for_each_certificate(
    pem: &[u8],
    mut each: impl FnMut(&[u8]) -> Result<(), ()>,
) -> Result<(), ()> {
    static BEGIN: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"-----BEGIN CERTIFICATE-----"));
    static END: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"-----END CERTIFICATE-----"));
    let (begin, end) = (&*BEGIN, &*END);
    let mut text = Vec::new();
    let mut rest = pem;
    while let Some(at) = begin.find(rest) {
        let body = &rest[at + begin.needle().len()..];
        let stop = end.find(body).ok_or(())?;
        rest = &body[stop + end.needle().len()..];
        let body = &body[..stop];
        text.clear();
        let mut from = 0;
        for eol in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
            text.extend_from_slice(body[from..eol].trim_ascii());
            from = eol + 1;
        }
        if memchr::memchr3(b' ', b'\t', b'\r', &text).is_some() {
            text.retain(|b| !b.is_ascii_whitespace());
        }
        each(&text)?;
    }
    Ok(())
}

/// Adds the OS store's certificates (see the module documentation).
#[cfg(all(unix, not(target_os = "macos")))]
fn os_store(roots: &mut Builder, os: &OsStore) {
    use std::path::PathBuf;

    let file = os.cert_file.as_deref().map(PathBuf::from);
    let dirs: Vec<PathBuf> = os
        .cert_dir
        .as_deref()
        .map(|d| {
            std::env::split_paths(d)
                .filter(|d| !d.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if file.is_some() || !dirs.is_empty() {
        read_paths(file.as_deref(), &dirs, roots);
    } else {
        let probe = openssl_probe::probe();
        read_paths(probe.cert_file.as_deref(), &probe.cert_dir, roots);
    }
}

/// Adds the certificates of `file` and of every file in `dirs`, each file once.
#[cfg(all(unix, not(target_os = "macos")))]
fn read_paths(file: Option<&std::path::Path>, dirs: &[std::path::PathBuf], roots: &mut Builder) {
    use std::os::unix::fs::MetadataExt as _;
    // Each file once, however many names (symlinks, hash links) it has.
    let mut seen = HashSet::new();
    let mut read = |path: &std::path::Path, meta: &std::fs::Metadata, roots: &mut Builder| {
        if !seen.insert((meta.dev(), meta.ino())) {
            return;
        }
        match read_file(path, meta.len()).map(|bytes| roots.add_pem(&bytes)) {
            Ok(Ok(_)) => {}
            Ok(Err(())) => crate::debug!("OS trust store: {} is not valid PEM", path.display()),
            Err(e) => crate::debug!("OS trust store: cannot read {}: {e}", path.display()),
        }
    };
    if let Some(file) = file {
        match std::fs::metadata(file) {
            Ok(meta) => read(file, &meta, roots),
            Err(e) => crate::debug!("OS trust store: cannot read {}: {e}", file.display()),
        }
    }
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                crate::debug!("OS trust store: cannot list {}: {e}", dir.display());
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Follows symlinks (`openssl rehash` makes them); skips dangling ones.
            if let Ok(meta) = std::fs::metadata(&path) {
                if meta.is_file() {
                    read(&path, &meta, roots);
                }
            }
        }
    }
}

/// The contents of the file at `path`, which `stat` said is `len` bytes:
/// open, read, close (`fs::read` stats it again and reads once more to see
/// the end: ~440 more system calls for Debian's store, ~2 ms here).
#[cfg(all(unix, not(target_os = "macos")))]
fn read_file(path: &std::path::Path, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::fs::File::open(path)?
        .take(len)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Adds the OS store's certificates (see the module documentation).
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn os_store(roots: &mut Builder, _os: &OsStore) {
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        crate::debug!("OS trust store: {error}");
    }
    for cert in &native.certs {
        roots.add_der(cert);
    }
}

#[cfg(test)]
mod tests;

//! The certificates trusted for AWS calls: the OS store plus `AWS_CA_BUNDLE`,
//! and the server certificate check that trusts them ([`verify`]).
//!
//! The OS store is what rustls-native-certs reads. On Linux and other Unix
//! systems (not macOS): `SSL_CERT_FILE` and every file in `SSL_CERT_DIR`
//! (`:`-separated) when either is set, else the first well-known bundle file
//! and every well-known directory (openssl-probe's lists), each file once.
//! Elsewhere (macOS, Windows) the platform store comes from rustls-native-certs.
//!
//! A handshake needs one root: the issuer at the top of the server's chain.
//! So nothing is decoded up front. [`Roots::load`] only reads and checks
//! `AWS_CA_BUNDLE` (a bad bundle is a clear error before any connection);
//! the verifier then asks [`Roots::candidates`] for the trusted certificates
//! whose subject is an issuer name of the chain: those of `AWS_CA_BUNDLE`,
//! those the OS store's directories index under OpenSSL's subject hash
//! ([`index`]: one or two small files), and when that finds none, those of
//! the OS bundle file (decoding only the first few hundred bytes of each
//! certificate: ~1.2 M instructions for Debian's). Only when they make no
//! valid path is the whole store read ([`Roots::store`], once per process):
//! Debian's store is 146 certificates in the bundle and again in
//! `/etc/ssl/certs/*.pem`, ~14 M instructions to read and decode in full.
//! The whole store's files are read here rather than by rustls-native-certs,
//! whose PEM decoder costs ~55 000 instructions a certificate; duplicates are
//! recognised by their text before decoding.
//! Certificates are public: they need no constant-time decoding.
//!
//! Only certificates that a root store accepts are trusted (the others are
//! skipped, as rustls' own loading of the OS store skips them).

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, LazyLock, OnceLock};

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use memchr::memmem::Finder;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

pub(crate) mod connector;
mod index;
pub(crate) mod verify;

/// Where the OS store is on Unix when OpenSSL's variables say so
/// (`SSL_CERT_FILE`, `SSL_CERT_DIR`), as the settings read them.
#[derive(Debug, Clone, Default)]
pub struct OsStore {
    /// `SSL_CERT_FILE`.
    pub cert_file: Option<String>,
    /// `SSL_CERT_DIR` (`:`-separated).
    pub cert_dir: Option<String>,
}

/// The trust roots: the OS store and `AWS_CA_BUNDLE`, read as needed (see
/// the module documentation). Cheap to clone: clones share what was read.
#[derive(Debug, Clone)]
pub struct Roots(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// The `AWS_CA_BUNDLE` file's certificates (checked by [`Roots::load`]).
    bundle: Option<Bundle>,
    os: OsStore,
    /// The OS store's bundle file and directories, found on the first
    /// handshake.
    paths: OnceLock<OsPaths>,
    /// The OS store's bundle file, read when the directories' index does
    /// not have the chain's anchor.
    os_bundle: OnceLock<Option<Vec<u8>>>,
    /// Every trusted certificate, read when the candidates do not do.
    all: OnceLock<All>,
}

/// The certificates of the `AWS_CA_BUNDLE` file, decoded, and which file
/// it is (not read again as the OS store's bundle file when that is it).
#[derive(Debug)]
struct Bundle {
    der: Vec<Vec<u8>>,
    file: Option<FileId>,
}

/// A file's device and inode number.
type FileId = (u64, u64);

/// Every trusted certificate once, as a root store.
#[derive(Debug)]
struct All {
    store: RootCertStore,
    /// The same certificates in DER (what the tests compare).
    #[cfg_attr(not(test), allow(dead_code))]
    der: Vec<Vec<u8>>,
}

impl Roots {
    /// The OS store (located by `os`) plus the `AWS_CA_BUNDLE` file at
    /// `aws_ca_bundle`, if any. Errors (naming the problem, not the variable)
    /// when that file cannot be read, is not PEM, or holds no usable
    /// certificate. Reads nothing of the OS store yet.
    pub fn load(aws_ca_bundle: Option<&str>, os: &OsStore) -> Result<Self, String> {
        let bundle = match aws_ca_bundle {
            Some(path) => Some(check_bundle(path)?),
            None => None,
        };
        Ok(Roots(Arc::new(Inner {
            bundle,
            os: os.clone(),
            paths: OnceLock::new(),
            os_bundle: OnceLock::new(),
            all: OnceLock::new(),
        })))
    }

    /// Trusted certificates whose subject is one of `subjects` (the
    /// contents of DER `Name`s): those of `AWS_CA_BUNDLE` and those the OS
    /// store's directories index under their subject hash ([`index`]); when
    /// that finds none, those of the OS store's bundle file. Possibly not all
    /// of them: the others are only in [`Roots::store`].
    pub(crate) fn candidates(&self, subjects: &[&[u8]]) -> RootCertStore {
        let mut found = RootCertStore::empty();
        let bundle = self.0.bundle.as_ref();
        for der in bundle.map_or(&[][..], |b| &b.der) {
            if verify::names(der).is_some_and(|n| subjects.contains(&&der[n.subject])) {
                let _ = found.add(CertificateDer::from(der.as_slice()));
            }
        }
        let (_, dirs) = self.0.paths.get_or_init(|| os_paths(&self.0.os));
        for dir in dirs {
            for hash in subjects.iter().filter_map(|s| index::subject_hash(s)) {
                for n in 0.. {
                    let Some(pem) = read_regular(&dir.join(format!("{hash:08x}.{n}"))) else {
                        break;
                    };
                    add_by_subject(&pem, subjects, &mut found);
                }
            }
        }
        if !found.is_empty() {
            crate::debug!("TLS: {} trust anchor candidates for the chain", found.len());
            return found;
        }
        let skip = bundle.and_then(|b| b.file);
        let file = self
            .0
            .paths
            .get_or_init(|| os_paths(&self.0.os))
            .0
            .as_deref();
        if let Some(os_bundle) = self.0.os_bundle.get_or_init(|| os_bundle(file, skip)) {
            add_by_subject(os_bundle, subjects, &mut found);
        }
        crate::debug!("TLS: {} trust anchor candidates for the chain", found.len());
        found
    }

    /// Every trusted certificate, read once (on the first call).
    pub(crate) fn store(&self) -> &RootCertStore {
        &self.all().store
    }

    fn all(&self) -> &All {
        self.0.all.get_or_init(|| {
            let mut roots = Builder::default();
            os_store(&mut roots, &self.0.os);
            let native = roots.count();
            for der in self.0.bundle.iter().flat_map(|b| &b.der) {
                roots.add_der(der);
            }
            crate::debug!(
                "trusting {} CA certificates ({native} from the OS store)",
                roots.count()
            );
            roots.finish()
        })
    }
}

/// The certificates of the `AWS_CA_BUNDLE` file at `path`, if it is PEM
/// holding a certificate that a root store accepts.
fn check_bundle(path: &str) -> Result<Bundle, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read: {e}");
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(cannot)?;
    let mut usable = false;
    let mut der = Vec::new();
    let pem = for_each_certificate(&bytes, |b64| {
        let cert = PEM_BASE64.decode(b64).map_err(|_| ())?;
        usable = usable
            || RootCertStore::empty()
                .add(CertificateDer::from(cert.as_slice()))
                .is_ok();
        der.push(cert);
        Ok(())
    });
    match (pem, usable) {
        (Err(()), _) => Err("not a valid PEM file".into()),
        (Ok(()), false) => Err("contains no usable certificate".into()),
        (Ok(()), true) => Ok(Bundle {
            der,
            file: file_id(&meta),
        }),
    }
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt as _;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<FileId> {
    None
}

/// How much of a certificate's base64 text is decoded to read its subject:
/// 384 bytes of DER, past the subject of all but unusual certificates (the
/// others are decoded whole).
const PREFIX: usize = 512;

/// Adds to `found` the certificates of the PEM text `pem` whose subject is
/// one of `subjects` and that a root store accepts. Malformed sections are
/// skipped (the whole store's reading says so).
fn add_by_subject(pem: &[u8], subjects: &[&[u8]], found: &mut RootCertStore) {
    add_by_subject_prefix(pem, subjects, PREFIX, found);
}

/// [`add_by_subject`], decoding `prefix` characters of base64 first.
fn add_by_subject_prefix(pem: &[u8], subjects: &[&[u8]], prefix: usize, found: &mut RootCertStore) {
    let mut der = Vec::new();
    let _ = for_each_certificate_prefix(pem, prefix, |b64, whole| {
        der.clear();
        if PEM_BASE64.decode_vec(b64, &mut der).is_err() {
            return Ok(None);
        }
        let Some(names) = verify::names(&der) else {
            // Cut short before the end of the subject: ask for all of it.
            return Ok((!whole).then_some(()));
        };
        if subjects.contains(&&der[names.subject]) {
            if !whole {
                return Ok(Some(()));
            }
            let _ = found.add(CertificateDer::from(der.as_slice()));
        }
        Ok(None)
    });
}

/// Collects accepted certificates once each.
struct Builder {
    seen: HashSet<Vec<u8>, BuildHasherDefault<FxHasher>>,
    store: RootCertStore,
    der: Vec<Vec<u8>>,
}

impl Default for Builder {
    /// Sized for a usual OS store (~150 certificates), so that adding them
    /// does not rehash and reallocate along the way.
    fn default() -> Self {
        Builder {
            seen: HashSet::with_capacity_and_hasher(256, Default::default()),
            store: RootCertStore {
                roots: Vec::with_capacity(256),
            },
            der: Vec::with_capacity(256),
        }
    }
}

impl Builder {
    /// Adds the certificate whose base64 text (without whitespace) is `b64`,
    /// unless it is a duplicate or a root store refuses it: `Ok(true)` when
    /// it is (now or already) trusted, an error when `b64` is not base64.
    /// Duplicates are found by their text, before any decoding.
    fn add_base64(&mut self, b64: &[u8]) -> Result<bool, ()> {
        if self.seen.contains(b64) {
            return Ok(true);
        }
        let der = PEM_BASE64.decode(b64).map_err(|_| ())?;
        if self
            .store
            .add(CertificateDer::from(der.as_slice()))
            .is_err()
        {
            return Ok(false);
        }
        self.seen.insert(b64.to_vec());
        self.der.push(der);
        Ok(true)
    }

    /// Adds the certificate `der` (see [`Builder::add_base64`]).
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

    /// How many distinct certificates are trusted.
    fn count(&self) -> usize {
        self.der.len()
    }

    fn finish(self) -> All {
        All {
            store: self.store,
            der: self.der,
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
    for_each_certificate_prefix(pem, usize::MAX, |b64, _| each(b64).map(|()| None))
}

/// [`for_each_certificate`], giving `each` only the first `prefix`
/// characters of each certificate's text (and whether that is all of it);
/// when `each` answers `Some`, it is called again with the whole text.
fn for_each_certificate_prefix(
    pem: &[u8],
    prefix: usize,
    mut each: impl FnMut(&[u8], bool) -> Result<Option<()>, ()>,
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
        let whole = base64_text(body, prefix, &mut text);
        if each(&text, whole)?.is_some() && !whole {
            base64_text(body, usize::MAX, &mut text);
            each(&text, true)?;
        }
    }
    Ok(())
}

/// Puts into `text` the base64 of a PEM section's `body` without its
/// whitespace, up to about `limit` characters (whole lines); returns whether
/// that is all of it.
fn base64_text(body: &[u8], limit: usize, text: &mut Vec<u8>) -> bool {
    text.clear();
    let mut from = 0;
    let mut whole = true;
    for eol in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
        if text.len() >= limit {
            whole = body[from..].trim_ascii().is_empty();
            break;
        }
        text.extend_from_slice(body[from..eol].trim_ascii());
        from = eol + 1;
    }
    if memchr::memchr3(b' ', b'\t', b'\r', text).is_some() {
        text.retain(|b| !b.is_ascii_whitespace());
    }
    if !whole {
        // Decodable alone: a whole number of base64 quanta.
        text.truncate(text.len() / 4 * 4);
    }
    whole
}

/// The OS store's bundle file and directories.
type OsPaths = (Option<std::path::PathBuf>, Vec<std::path::PathBuf>);

/// The OS store's bundle file and directories (see the module documentation).
#[cfg(all(unix, not(target_os = "macos")))]
fn os_paths(os: &OsStore) -> OsPaths {
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
        (file, dirs)
    } else {
        let probe = openssl_probe::probe();
        (probe.cert_file, probe.cert_dir)
    }
}

/// Adds the OS store's certificates (see the module documentation).
#[cfg(all(unix, not(target_os = "macos")))]
fn os_store(roots: &mut Builder, os: &OsStore) {
    let (file, dirs) = os_paths(os);
    read_paths(file.as_deref(), &dirs, roots);
}

/// The contents of the OS store's bundle file `file`, if there is one and it
/// is not the file `skip` (`AWS_CA_BUNDLE`, read already).
fn os_bundle(file: Option<&std::path::Path>, skip: Option<FileId>) -> Option<Vec<u8>> {
    let file = file?;
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() || skip.is_some_and(|id| file_id(&meta) == Some(id)) {
        return None;
    }
    read_file(file, meta.len()).ok()
}

/// The contents of `path` if it is (a link to) a regular file.
fn read_regular(path: &std::path::Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| read_file(path, meta.len()).ok())?
}

/// No bundle file or directories: the platform store is read whole.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn os_paths(_os: &OsStore) -> OsPaths {
    (None, Vec::new())
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

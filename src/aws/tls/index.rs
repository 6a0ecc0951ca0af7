//! OpenSSL's index of a certificate directory: `c_rehash` / `openssl rehash`
//! (Debian's `update-ca-certificates`) name each certificate, or a link to
//! it, `<hash>.<n>`, where the hash is OpenSSL's `X509_NAME_hash` of its
//! subject: the SHA-1 of the name's canonical form (every string as UTF-8,
//! outer and repeated whitespace removed, ASCII lower-cased), its first four
//! bytes read little-endian, in hex.
//!
//! A lookup reads the one or two files of that name instead of the ~300 of
//! the directory. A name this module hashes differently from OpenSSL (an
//! unusual string type) just finds nothing: the caller then searches
//! further, and a file found is still compared byte for byte.

use sha1::{Digest as _, Sha1};

/// OpenSSL's subject hash of the DER `Name` whose contents are `name`
/// (a sequence of RDN sets); `None` when it is not such a name.
pub(super) fn subject_hash(name: &[u8]) -> Option<u32> {
    let mut canon = Vec::with_capacity(name.len());
    for (tag, rdn) in elements(name)? {
        if tag != 0x31 {
            return None;
        }
        let mut avas = Vec::new();
        for (tag, ava) in elements(rdn)? {
            if tag != 0x30 {
                return None;
            }
            let parts = elements(ava)?;
            let [(0x06, oid), (value_tag, value)] = parts.as_slice() else {
                return None;
            };
            let mut out = Vec::new();
            put(&mut out, 0x06, oid);
            match utf8(*value_tag, value) {
                Some(text) => put(&mut out, 0x0c, &canonical(&text)),
                None => put(&mut out, *value_tag, value),
            }
            let mut encoded = Vec::new();
            put(&mut encoded, 0x30, &out);
            avas.push(encoded);
        }
        // DER orders a SET OF by the encodings of its elements.
        avas.sort();
        put(&mut canon, 0x31, &avas.concat());
    }
    if canon.is_empty() {
        return None;
    }
    let digest = Sha1::digest(&canon);
    Some(u32::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// The elements (tag, contents) of a sequence of DER elements; `None` when
/// it is not one (long tags and lengths over 4 bytes are not expected here).
fn elements(mut der: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (tag, header, len) = super::verify::der_header(der, 0)?;
        let contents = der.get(header..header.checked_add(len)?)?;
        out.push((tag, contents));
        der = &der[header + len..];
    }
    Some(out)
}

/// Appends the DER element `tag`, `contents` to `out`.
fn put(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
}

/// The UTF-8 text of a string OpenSSL canonicalises (UTF8String,
/// PrintableString, IA5String, VisibleString and T61String as Latin-1,
/// BMPString, UniversalString); `None` for any other type.
fn utf8(tag: u8, value: &[u8]) -> Option<Vec<u8>> {
    let chars: Vec<char> = match tag {
        0x0c => {
            return std::str::from_utf8(value)
                .ok()
                .map(|s| s.as_bytes().to_vec())
        }
        0x13 | 0x14 | 0x16 | 0x1a => value.iter().map(|&b| char::from(b)).collect(),
        0x1e if value.len().is_multiple_of(2) => value
            .chunks_exact(2)
            .map(|c| char::from_u32(u32::from(u16::from_be_bytes([c[0], c[1]]))))
            .collect::<Option<_>>()?,
        0x1c if value.len().is_multiple_of(4) => value
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    Some(chars.into_iter().collect::<String>().into_bytes())
}

/// OpenSSL's `asn1_string_canon` of UTF-8 `text`: no leading or trailing
/// whitespace, each inner run of it one space, ASCII letters lower case.
fn canonical(text: &[u8]) -> Vec<u8> {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end - start);
    let mut in_space = false;
    for b in &text[start..end] {
        if space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

//! The object-store interface the handler needs: HEAD, GET, PUT and DELETE
//! (with S3's conditions), LIST. S3 implements it for real ([`s3`]); tests
//! of the handler's logic use memory.

#[cfg(feature = "s3")]
pub mod s3;

use std::collections::HashMap;
use std::future::Future;
use std::time::SystemTime;

/// User metadata that marks an object as one of our outputs.
pub const META_VARIANT: &str = "imgflow-variant";
pub const META_SOURCE_KEY: &str = "imgflow-source-key";
pub const META_SOURCE_VERSION: &str = "imgflow-source-version-id";

/// S3's limits on a PUT that no retry gets past: a key of at most 1024
/// bytes of UTF-8, and user metadata (names and values, in bytes) of at
/// most 2 KB.
pub const MAX_KEY_BYTES: usize = 1024;
pub const MAX_METADATA_BYTES: usize = 2048;

/// The size S3 counts for user metadata.
pub fn metadata_bytes(metadata: &[(&str, String)]) -> usize {
    metadata
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum()
}

/// What a HEAD request tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    pub version_id: Option<String>,
    /// Without quotes; what a conditional request names.
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
    /// User metadata (`x-amz-meta-*`), names lower-case without the prefix.
    pub metadata: HashMap<String, String>,
}

/// A GET: the object's headers, and its body unless they ruled it out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub head: ObjectHead,
    /// `None` when the caller's `read_body` refused these headers: the body
    /// was not read.
    pub body: Option<Vec<u8>>,
}

/// One object to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutObject<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// Owned, so that the SDK sends it without a copy.
    pub body: Vec<u8>,
    pub content_type: &'a str,
    pub cache_control: &'a str,
    pub metadata: Vec<(&'static str, String)>,
    /// `Some(arn)`: encrypt with this KMS key; `None`: the bucket's default.
    pub kms_key_arn: Option<&'a str>,
    /// Write only if this holds (S3 conditional writes); otherwise
    /// [`StoreError::Conflict`].
    pub condition: Option<Condition>,
}

/// A conditional write's precondition on the object it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// There is no such object (`If-None-Match: *`).
    Absent,
    /// The object is still the one with this ETag (`If-Match`).
    Unchanged(String),
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<SystemTime>,
}

/// Store failures, by what the caller should do about them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The object is not there (deleted since the event): nothing to do.
    #[error("not found: {0}")]
    NotFound(String),
    /// A conditional request's precondition did not hold: someone else
    /// changed the object first. Read it again and decide again.
    #[error("changed meanwhile: {0}")]
    Conflict(String),
    /// The object is in an archive storage class: no read succeeds until
    /// someone restores it, so retrying the event cannot help.
    #[error("archived: {0}")]
    Archived(String),
    /// Throttling, network, timeouts, 5xx, denied access: retrying (after a
    /// fix, for access) can succeed, so the event must not be lost.
    #[error("{0}")]
    Transient(String),
}

pub trait ObjectStore: Send + Sync {
    fn head(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<ObjectHead, StoreError>> + Send;
    /// GET, reading the body only when `read_body` accepts the headers
    /// (so an object that is too large is never downloaded).
    fn get(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        read_body: &(dyn Fn(&ObjectHead) -> bool + Sync),
    ) -> impl Future<Output = Result<Fetched, StoreError>> + Send;
    fn put(&self, object: PutObject<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes `key` (no error when it is not there), or with `if_match`
    /// only while it is still the object with that ETag.
    fn delete(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every object whose key starts with `prefix`.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<Listed>, StoreError>> + Send;
}

/// The longest percent-encoded value stored as it is. It is the most a
/// key could take when percent-encoding was the only form: the 2 KB less
/// our names (58 bytes), the longest variant name ("compressed") and a
/// version id (32), so every output written then keeps its value.
pub const PERCENT_ENCODED_MAX: usize = MAX_METADATA_BYTES - 58 - 10 - 32;

/// What starts the compact form (percent-encoding never writes a `:`).
const BASE64_PREFIX: &str = "base64:";

/// S3 metadata travels as HTTP headers: ASCII only. Keys may be any UTF-8,
/// so they are stored percent-encoded (reversible, readable for ASCII
/// keys), or, past [`PERCENT_ENCODED_MAX`], base64-encoded after
/// `base64:`: 4/3 of the UTF-8 bytes where percent-encoding takes up to 3
/// times, so that every key S3 takes (1024 bytes) fits beside our other
/// metadata.
pub fn metadata_value(text: &str) -> String {
    use base64::Engine as _;
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let percent = utf8_percent_encode(text, KEEP).to_string();
    if percent.len() <= PERCENT_ENCODED_MAX {
        percent
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        format!("{BASE64_PREFIX}{encoded}")
    }
}

/// The text a [`metadata_value`] carries.
pub fn metadata_text(value: &str) -> String {
    use base64::Engine as _;
    let decoded = value
        .strip_prefix(BASE64_PREFIX)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
    match decoded {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => percent_encoding::percent_decode_str(value)
            .decode_utf8_lossy()
            .into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_values_are_ascii() {
        assert_eq!(
            metadata_value("holiday photos/été 1.png"),
            "holiday%20photos/%C3%A9t%C3%A9%201.png"
        );
        assert_eq!(metadata_value("plain/key-1_x.jpg"), "plain/key-1_x.jpg");
        for text in ["holiday photos/été 1.png", "a+b%c.jpg", "plain"] {
            assert_eq!(metadata_text(&metadata_value(text)), text);
        }
    }

    #[test]
    fn keys_too_long_percent_encoded_are_base64_encoded() {
        // 1024 bytes of UTF-8, the most S3 takes: 3072 percent-encoded.
        let key = format!("写真/ab{}.png", "猫".repeat(337));
        assert_eq!(key.len(), 1024);
        let value = metadata_value(&key);
        assert_eq!(value.len(), "base64:".len() + 1368, "{value}");
        assert!(value.is_ascii());
        assert_eq!(metadata_text(&value), key);
        // The longest value that was percent-encoded before stays so.
        let before = format!("{}.png", "é".repeat((PERCENT_ENCODED_MAX - 4) / 6));
        assert!(metadata_value(&before).len() <= PERCENT_ENCODED_MAX);
        assert!(metadata_value(&before).starts_with("%C3%A9"));
        assert!(metadata_value(&format!("é{before}")).starts_with("base64:"));
    }

    #[test]
    fn the_names_counted_in_the_threshold_are_ours() {
        let names = META_VARIANT.len() + META_SOURCE_KEY.len() + META_SOURCE_VERSION.len();
        assert_eq!(names, 58);
        let longest = imgflow_engine::variant::VARIANT_TABLE
            .iter()
            .map(|v| v.name.len())
            .max();
        assert_eq!(longest, Some(10));
    }
}

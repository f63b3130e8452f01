//! S3 event notifications, in `aws_lambda_events`' types: each record becomes
//! the object to process, its key decoded once, or the outcome that says why
//! it is not processed.

pub use aws_lambda_events::event::s3::{S3Event, S3EventRecord};

use crate::outcome::Outcome;
use imgflow_engine::Reason;

/// One object to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub bucket: String,
    /// Decoded: the key as S3 stores it.
    pub key: String,
    /// From the event; `None` makes the handler ask S3 (HEAD).
    pub size: Option<u64>,
    pub version_id: Option<String>,
}

/// Decodes an event key: `+` is a space, then percent-decoding (UTF-8).
/// A literal `+` arrives as `%2B`, so the order matters.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| format!("key {raw:?} is not valid UTF-8 once decoded"))
}

/// The object a record asks to process, or why it is skipped or rejected
/// without a request to S3.
pub fn source_of(record: &S3EventRecord, processed_bucket: &str) -> Result<SourceObject, Outcome> {
    let object = &record.s3.object;
    let raw_key = object.key.as_deref().unwrap_or_default();
    let key = match decode_key(raw_key) {
        Ok(key) => key,
        Err(message) => return Err(Outcome::stopped(raw_key, Reason::BadKey, message)),
    };
    let event_name = record.event_name.as_deref().unwrap_or_default();
    if !event_name.is_empty() && !event_name.starts_with("ObjectCreated:") {
        return Err(Outcome::stopped(
            key,
            Reason::NotObjectCreated,
            format!("a {event_name} event"),
        ));
    }
    let bucket = match record.s3.bucket.name.as_deref() {
        Some(bucket) if !bucket.is_empty() && !key.is_empty() => bucket,
        _ => {
            return Err(Outcome::stopped(
                key,
                Reason::BadEvent,
                "the record names no bucket or no object key",
            ))
        }
    };
    if bucket == processed_bucket {
        return Err(Outcome::stopped(
            key,
            Reason::ProcessedBucket,
            "an event from the processed bucket",
        ));
    }
    if key.ends_with('/') {
        return Err(Outcome::stopped(
            key,
            Reason::FolderKey,
            "the key ends with '/': a folder, not a file",
        ));
    }
    let size = object.size.and_then(|s| u64::try_from(s).ok());
    if size == Some(0) {
        return Err(Outcome::stopped(
            key,
            Reason::Empty,
            "the object is empty (0 bytes)",
        ));
    }
    Ok(SourceObject {
        bucket: bucket.to_owned(),
        key,
        size,
        version_id: object.version_id.clone().filter(|v| !v.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgflow_testkit::{encode_event_key, s3_event_of};

    #[test]
    fn keys_decode_like_s3_encodes_them() {
        let cases = [
            ("photo.jpg", "photo.jpg"),
            ("a+b/c+d.png", "a b/c d.png"),
            ("uploads/a%2Bb.jpg", "uploads/a+b.jpg"),
            ("%C3%A9t%C3%A9/fa%C3%A7ade+1.jpg", "été/façade 1.jpg"),
            ("100%25.png", "100%.png"),
            ("bad%zzescape.png", "bad%zzescape.png"),
            ("ends%2", "ends%2"),
            ("%E2%9C%93", "✓"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_key(raw).unwrap(), want, "{raw}");
        }
        assert!(decode_key("%FF%FE").is_err(), "invalid UTF-8 is an error");
        for key in ["holiday photos/été 1.png", "a+b/c%d.jpg", "plain.png"] {
            assert_eq!(decode_key(&encode_event_key(key)).unwrap(), key);
        }
    }

    fn record(event: &str, bucket: &str, key: &str, size: Option<u64>) -> S3EventRecord {
        let mut json = s3_event_of([(bucket, key, size)]);
        let record = &mut json["Records"][0];
        record["eventName"] = event.into();
        record["s3"]["object"]["versionId"] = "v1".into();
        serde_json::from_value(record.take()).unwrap()
    }

    fn reason(r: S3EventRecord) -> Reason {
        source_of(&r, "down").unwrap_err().reason().unwrap()
    }

    #[test]
    fn guards() {
        let ok = source_of(
            &record("ObjectCreated:Put", "up", "a b.jpg", Some(10)),
            "down",
        );
        assert_eq!(
            ok,
            Ok(SourceObject {
                bucket: "up".into(),
                key: "a b.jpg".into(),
                size: Some(10),
                version_id: Some("v1".into())
            })
        );
        let cases = [
            (
                ("ObjectCreated:Put", "down", "x.jpg", Some(1)),
                Reason::ProcessedBucket,
            ),
            (
                ("ObjectCreated:Put", "up", "folder/", Some(0)),
                Reason::FolderKey,
            ),
            (("ObjectCreated:Put", "up", "x.jpg", Some(0)), Reason::Empty),
            (
                ("ObjectRemoved:Delete", "up", "x.jpg", None),
                Reason::NotObjectCreated,
            ),
            (
                ("ObjectCreated:Put", "", "x.jpg", Some(1)),
                Reason::BadEvent,
            ),
        ];
        for ((event, bucket, key, size), want) in cases {
            assert_eq!(
                reason(record(event, bucket, key, size)),
                want,
                "{event} {bucket} {key}"
            );
        }
        let mut bad = record("ObjectCreated:Put", "up", "x", Some(1));
        bad.s3.object.key = Some("%FF%FE.jpg".into());
        let outcome = source_of(&bad, "down").unwrap_err();
        assert_eq!(outcome.reason(), Some(Reason::BadKey));
        assert_eq!(outcome.key(), "%FF%FE.jpg", "the raw key names it");
    }

    #[test]
    fn parses_a_real_notification() {
        // An S3 notification as S3 sends it (the one the README invokes with).
        let body = include_str!("../tests/fixtures/s3-put-event.json");
        let event: S3Event = serde_json::from_str(body).unwrap();
        assert_eq!(event.records.len(), 1);
        let src = source_of(&event.records[0], "processed").unwrap();
        assert_eq!(src.bucket, "my-uploads");
        assert_eq!(src.key, "holiday/IMG 0001.JPG");
        assert_eq!(src.size, Some(123456));
        assert_eq!(src.version_id, None);
    }
}

//! S3 event notifications: the records the function is asked to process,
//! with keys decoded the way S3 encodes them.

use serde::Deserialize;

/// An S3 event notification (`{"Records": [...]}`), reduced to what we use.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Event {
    #[serde(rename = "Records", default)]
    pub records: Vec<EventRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub s3: S3Entity,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    pub bucket: BucketEntity,
    pub object: ObjectEntity,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BucketEntity {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ObjectEntity {
    /// URL-encoded as S3 sends it; see [`decode_key`].
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(rename = "versionId", default)]
    pub version_id: Option<String>,
}

/// One object to process, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub bucket: String,
    pub key: String,
    pub size: Option<u64>,
    pub version_id: Option<String>,
}

/// Why a record was skipped without processing (not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not an `ObjectCreated:*` event (e.g. `s3:TestEvent`, deletes).
    NotACreate(String),
    /// A "folder": a key ending in `/`.
    FolderKey,
    /// The event came from the processed bucket: processing it would loop.
    FromProcessedBucket,
    /// Zero bytes: nothing to decode (counted as a rejection by the caller).
    Empty,
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

impl EventRecord {
    /// The object to process, or why this record is skipped.
    pub fn source(&self, processed_bucket: &str) -> Result<Result<SourceObject, Skip>, String> {
        if !self.event_name.is_empty() && !self.event_name.starts_with("ObjectCreated:") {
            return Ok(Err(Skip::NotACreate(self.event_name.clone())));
        }
        let key = decode_key(&self.s3.object.key)?;
        if self.s3.bucket.name == processed_bucket {
            return Ok(Err(Skip::FromProcessedBucket));
        }
        if key.ends_with('/') {
            return Ok(Err(Skip::FolderKey));
        }
        if self.s3.object.size == Some(0) {
            return Ok(Err(Skip::Empty));
        }
        Ok(Ok(SourceObject {
            bucket: self.s3.bucket.name.clone(),
            key,
            size: self.s3.object.size,
            version_id: self.s3.object.version_id.clone().filter(|v| !v.is_empty()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    fn record(event: &str, bucket: &str, key: &str, size: Option<u64>) -> EventRecord {
        serde_json::from_value(serde_json::json!({
            "eventName": event,
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": size, "versionId": "v1"}}
        }))
        .unwrap()
    }

    #[test]
    fn guards() {
        let ok = record("ObjectCreated:Put", "up", "a+b.jpg", Some(10))
            .source("down")
            .unwrap();
        assert_eq!(
            ok,
            Ok(SourceObject {
                bucket: "up".into(),
                key: "a b.jpg".into(),
                size: Some(10),
                version_id: Some("v1".into())
            })
        );
        let skip = |r: EventRecord| r.source("down").unwrap().unwrap_err();
        assert_eq!(
            skip(record("ObjectCreated:Put", "down", "x.jpg", Some(1))),
            Skip::FromProcessedBucket
        );
        assert_eq!(
            skip(record("ObjectCreated:Put", "up", "folder/", Some(0))),
            Skip::FolderKey
        );
        assert_eq!(
            skip(record("ObjectCreated:Put", "up", "x.jpg", Some(0))),
            Skip::Empty
        );
        assert_eq!(
            skip(record("ObjectRemoved:Delete", "up", "x.jpg", None)),
            Skip::NotACreate("ObjectRemoved:Delete".into())
        );
    }

    #[test]
    fn parses_a_real_notification() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1",
            "eventTime":"2026-11-27T02:00:00.000Z","eventName":"ObjectCreated:Put",
            "s3":{"s3SchemaVersion":"1.0","configurationId":"imgflow",
            "bucket":{"name":"uploads-123","arn":"arn:aws:s3:::uploads-123"},
            "object":{"key":"holiday/IMG+0001.JPG","size":123456,"eTag":"abc","sequencer":"0A"}}}]}"#;
        let event: S3Event = serde_json::from_str(body).unwrap();
        assert_eq!(event.records.len(), 1);
        let src = event.records[0].source("processed").unwrap().unwrap();
        assert_eq!(src.key, "holiday/IMG 0001.JPG");
        assert_eq!(src.version_id, None);
    }
}

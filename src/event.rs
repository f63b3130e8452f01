//! S3 event notifications, in `aws_lambda_events`' types: each record becomes
//! a change to one upload (created or removed), its key decoded once, or the
//! outcome that says why it is not handled.

pub use aws_lambda_events::event::s3::{S3Event, S3EventRecord};

use crate::outcome::Outcome;
use imgflow_engine::Reason;
use std::cmp::Ordering;
use std::fmt;

/// One upload an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub bucket: String,
    /// Decoded: the key as S3 stores it.
    pub key: String,
    /// From the event; `None` makes the handler ask S3 (HEAD).
    pub size: Option<u64>,
    pub version_id: Option<String>,
    /// Where the event stands among the events of its key; `None` when the
    /// object comes from elsewhere (`imgflow reprocess`).
    pub sequencer: Option<Sequencer>,
}

/// What happened to the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `ObjectCreated:*`: make its variants.
    Created(SourceObject),
    /// `ObjectRemoved:*` (a delete, or a delete marker in a versioned
    /// bucket): remove its variants.
    Removed(SourceObject),
}

impl Change {
    pub fn object(&self) -> &SourceObject {
        match self {
            Change::Created(object) | Change::Removed(object) => object,
        }
    }
}

/// An event's `sequencer`: a hexadecimal string that orders the events of
/// one key. S3 documents how to compare two: left-pad the shorter with
/// zeros, then compare as strings. (Comparing sequencers of different keys
/// means nothing.)
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sequencer(String);

impl Sequencer {
    /// `None` unless `text` is a non-empty hexadecimal string.
    pub fn parse(text: &str) -> Option<Self> {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Sequencer(text.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without leading zeros: what the comparison works on.
    fn significant(&self) -> &str {
        self.0.trim_start_matches('0')
    }
}

impl Ord for Sequencer {
    fn cmp(&self, other: &Self) -> Ordering {
        // Left-padding to equal length then comparing strings is comparing
        // lengths without leading zeros first, then the digits.
        let (a, b) = (self.significant(), other.significant());
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    }
}

// Equal when the comparison says so: `00AB` is `AB`.
impl PartialEq for Sequencer {
    fn eq(&self, other: &Self) -> bool {
        self.significant() == other.significant()
    }
}

impl Eq for Sequencer {}

impl std::hash::Hash for Sequencer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.significant().hash(state);
    }
}

impl PartialOrd for Sequencer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Sequencer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Sequencer {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Sequencer::parse(&text).ok_or_else(|| format!("{text:?} is not a hexadecimal sequencer"))
    }
}

impl From<Sequencer> for String {
    fn from(sequencer: Sequencer) -> String {
        sequencer.0
    }
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

/// The change a record reports, or why it is skipped or rejected without a
/// request to S3.
// (An outcome is made once per record: its size does not matter.)
#[allow(clippy::result_large_err)]
pub fn change_of(record: &S3EventRecord, processed_bucket: &str) -> Result<Change, Outcome> {
    let object = &record.s3.object;
    let raw_key = object.key.as_deref().unwrap_or_default();
    let key = match decode_key(raw_key) {
        Ok(key) => key,
        Err(message) => return Err(Outcome::stopped(raw_key, Reason::BadKey, message)),
    };
    // A record without a name is taken as a create, as before removals were
    // handled (hand-written test events often leave it out).
    let event_name = record.event_name.as_deref().unwrap_or_default();
    let removed = event_name.starts_with("ObjectRemoved:");
    if !event_name.is_empty() && !removed && !event_name.starts_with("ObjectCreated:") {
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
    let sequencer = match object.sequencer.as_deref() {
        None | Some("") => None,
        Some(text) => match Sequencer::parse(text) {
            Some(sequencer) => Some(sequencer),
            None => {
                return Err(Outcome::stopped(
                    key,
                    Reason::BadEvent,
                    format!("the sequencer {text:?} is not hexadecimal"),
                ))
            }
        },
    };
    let mut source = SourceObject {
        bucket: bucket.to_owned(),
        key,
        size: None,
        version_id: object.version_id.clone().filter(|v| !v.is_empty()),
        sequencer,
    };
    if removed {
        return Ok(Change::Removed(source));
    }
    source.size = object.size.and_then(|s| u64::try_from(s).ok());
    if source.size == Some(0) {
        return Err(Outcome::stopped(
            source.key,
            Reason::Empty,
            "the object is empty (0 bytes)",
        ));
    }
    Ok(Change::Created(source))
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
        change_of(&r, "down").unwrap_err().reason().unwrap()
    }

    #[test]
    fn guards() {
        let ok = change_of(
            &record("ObjectCreated:Put", "up", "a b.jpg", Some(10)),
            "down",
        );
        assert_eq!(
            ok,
            Ok(Change::Created(SourceObject {
                bucket: "up".into(),
                key: "a b.jpg".into(),
                size: Some(10),
                version_id: Some("v1".into()),
                sequencer: Sequencer::parse("000000000000001"),
            }))
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
                ("ObjectRestore:Completed", "up", "x.jpg", None),
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
        let outcome = change_of(&bad, "down").unwrap_err();
        assert_eq!(outcome.reason(), Some(Reason::BadKey));
        assert_eq!(outcome.key(), "%FF%FE.jpg", "the raw key names it");
        let mut bad = record("ObjectCreated:Put", "up", "x", Some(1));
        bad.s3.object.sequencer = Some("00zz".into());
        let outcome = change_of(&bad, "down").unwrap_err();
        assert_eq!(outcome.reason(), Some(Reason::BadEvent));
        assert!(
            matches!(&outcome, Outcome::Rejected { message, .. } if message.contains("00zz")),
            "{outcome:?}"
        );
    }

    #[test]
    fn removals_are_changes_too() {
        for name in ["ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"] {
            let change = change_of(&record(name, "up", "a/b.png", None), "down").unwrap();
            let Change::Removed(object) = change else {
                panic!("{name}: {change:?}");
            };
            assert_eq!((object.key.as_str(), object.size), ("a/b.png", None));
            assert_eq!(object.version_id.as_deref(), Some("v1"));
            assert!(object.sequencer.is_some());
        }
        // A delete has no size: it is never refused as empty.
        let change = change_of(&record("ObjectRemoved:Delete", "up", "x", Some(0)), "down");
        assert!(matches!(change, Ok(Change::Removed(_))), "{change:?}");
    }

    #[test]
    fn sequencers_compare_as_s3_documents() {
        let s = |text: &str| Sequencer::parse(text).unwrap();
        // Left-padded with zeros, then compared as strings.
        assert!(s("0055B1A8F5B2E8B6A5") > s("0055B1A8F5B2E8B6A4"));
        assert!(s("0100") > s("FF"));
        assert!(s("00FF") == s("FF").max(s("00FF")));
        assert_eq!(s("00ff").cmp(&s("FF")), Ordering::Equal);
        assert!(s("1") < s("0000000000000000002"));
        assert!(s("A") > s("9"));
        for bad in ["", "0x12", "12 ", "g1"] {
            assert_eq!(Sequencer::parse(bad), None, "{bad:?}");
        }
        let json = serde_json::to_string(&s("00ab")).unwrap();
        assert_eq!(json, "\"00AB\"");
        assert_eq!(serde_json::from_str::<Sequencer>(&json).unwrap(), s("00AB"));
        assert!(serde_json::from_str::<Sequencer>("\"nope\"").is_err());
    }

    #[test]
    fn parses_a_real_notification() {
        // An S3 notification as S3 sends it (the one the README invokes with).
        let body = include_str!("../tests/fixtures/s3-put-event.json");
        let event: S3Event = serde_json::from_str(body).unwrap();
        assert_eq!(event.records.len(), 1);
        let Change::Created(src) = change_of(&event.records[0], "processed").unwrap() else {
            panic!("a put is a create");
        };
        assert_eq!(src.bucket, "my-uploads");
        assert_eq!(src.key, "holiday/IMG 0001.JPG");
        assert_eq!(src.size, Some(123456));
        assert_eq!(src.version_id, None);
    }
}

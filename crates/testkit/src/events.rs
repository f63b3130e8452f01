//! S3 event notifications as S3 sends them to Lambda, for tests and the
//! benchmark: every field a real notification has, keys encoded S3's way.

use serde_json::Value;

/// An S3 `ObjectCreated:Put` event for `(bucket, key, size)` records, the key
/// encoded the way S3 encodes it in events (`+` for space, percent-escapes).
pub fn s3_event(records: &[(&str, &str, u64)]) -> Value {
    s3_event_of(records.iter().map(|&(b, k, size)| (b, k, Some(size))))
}

/// Same; a record without a size leaves the size check to the function's HEAD.
/// The fields every real notification carries are filled in (time, user
/// identity, request parameters, sequencer).
pub fn s3_event_of<'a>(
    records: impl IntoIterator<Item = (&'a str, &'a str, Option<u64>)>,
) -> Value {
    let records: Vec<Value> = records
        .into_iter()
        .enumerate()
        .map(|(i, (bucket, key, size))| {
            let mut object = serde_json::json!({
                "key": encode_event_key(key),
                "eTag": "0123456789abcdef0123456789abcdef",
                // S3's sequencers are hex strings that grow with each event on a key.
                "sequencer": format!("00{:014X}", i + 1),
            });
            if let Some(size) = size {
                object["size"] = size.into();
            }
            serde_json::json!({
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "1970-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "imgflow",
                       "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}"),
                                  "ownerIdentity": {"principalId": "EXAMPLE"}},
                       "object": object}
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// One record of any event type (`ObjectRemoved:Delete`, …) with the
/// sequencer and version id given, as S3 sends it.
pub fn s3_change(
    name: &str,
    bucket: &str,
    key: &str,
    sequencer: &str,
    version_id: Option<&str>,
) -> Value {
    let mut event = s3_event_of([(bucket, key, None)]);
    let record = &mut event["Records"][0];
    record["eventName"] = name.into();
    record["s3"]["object"]["sequencer"] = sequencer.into();
    if let Some(version) = version_id {
        record["s3"]["object"]["versionId"] = version.into();
    }
    event
}

/// S3's encoding of keys in event notifications: form-style, `+` for space.
pub fn encode_event_key(key: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/')
        .remove(b' ');
    utf8_percent_encode(key, KEEP).to_string().replace(' ', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_encodes_them() {
        assert_eq!(encode_event_key("a b/é.png"), "a+b/%C3%A9.png");
        assert_eq!(encode_event_key("a+b/c%d.jpg"), "a%2Bb/c%25d.jpg");
        assert_eq!(encode_event_key("plain/key-1_x.jpg"), "plain/key-1_x.jpg");
    }

    #[test]
    fn events_have_the_fields_lambda_event_types_require() {
        let event = s3_event(&[("up", "a b.jpg", 10)]);
        let record = &event["Records"][0];
        for field in [
            "eventTime",
            "userIdentity",
            "requestParameters",
            "responseElements",
        ] {
            assert!(!record[field].is_null(), "{field}: {record}");
        }
        assert_eq!(record["s3"]["object"]["key"], "a+b.jpg");
        assert_eq!(record["s3"]["object"]["size"], 10);
    }
}

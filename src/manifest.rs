//! The manifest: one JSON object per upload in the processed bucket, at
//! `<source key>.json`, naming the upload's current variants. It is written
//! after every variant it names, so its presence means the set is complete;
//! it is the one object an application reads to find an upload's variants.
//! Pure: what it holds and how two of them compare; the handler does the I/O.

use crate::event::Sequencer;
use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/json";
/// A manifest changes when its upload does: caches must ask again.
pub const CACHE_CONTROL: &str = "no-cache";

/// Where the manifest of `source_key` lives in the processed bucket. Variant
/// keys end in an image extension, so the two never collide.
pub fn key_of(source_key: &str) -> String {
    format!("{source_key}.json")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub source: Source,
    /// The variants' content id: the first 8 hex digits of `source.sha256`.
    pub id: String,
    pub variants: Vec<Variant>,
    /// When this manifest was written (RFC 3339, UTC).
    pub updated: String,
}

/// The upload the variants were made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub bucket: String,
    pub key: String,
    /// The version read, in a versioned bucket.
    pub version_id: Option<String>,
    /// The event's; `None` when written by `imgflow reprocess`.
    pub sequencer: Option<Sequencer>,
    pub bytes: u64,
    pub sha256: String,
    pub format: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub name: String,
    pub key: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("the manifest {key} is not a manifest: {source}")]
pub struct ManifestError {
    pub key: String,
    #[source]
    pub source: serde_json::Error,
}

impl Manifest {
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Self, ManifestError> {
        serde_json::from_slice(bytes).map_err(|source| ManifestError {
            key: key.to_owned(),
            source,
        })
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings and numbers cannot fail.
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        json
    }

    /// Whether this manifest comes from a later event of the key than
    /// `sequencer`. Unknown on either side (an event without one, a manifest
    /// written by `imgflow reprocess`) is not later: the source object
    /// itself decides then.
    pub fn is_newer_than(&self, sequencer: Option<&Sequencer>) -> bool {
        match (&self.source.sequencer, sequencer) {
            (Some(ours), Some(theirs)) => ours > theirs,
            _ => false,
        }
    }

    /// Whether it names exactly these variant keys.
    pub fn names_exactly<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> bool {
        let mut ours: Vec<&str> = self.variants.iter().map(|v| v.key.as_str()).collect();
        let mut theirs: Vec<&str> = keys.into_iter().collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        ours == theirs
    }

    /// Its variant keys that `next` does not name: what replacing this
    /// manifest by `next` leaves to delete (only keys named as variants of
    /// `next`'s upload: see [`Manifest::variant_keys_of`]).
    pub fn retired_by(&self, next: &Manifest) -> Vec<String> {
        self.variant_keys_of(&next.source.key)
            .into_iter()
            .filter(|key| !next.variants.iter().any(|n| &n.key == key))
            .collect()
    }

    /// The keys it names that are named as variants of `upload_key`, the
    /// upload whose manifest it is, with its content id: what deleting
    /// that upload's variants may delete. A manifest in the processed
    /// bucket is data: a damaged one must not make the function delete
    /// other objects (another upload's variants have another stem, or,
    /// beside an upload of the same stem, another id).
    pub fn variant_keys_of(&self, upload_key: &str) -> Vec<String> {
        self.variants
            .iter()
            .filter(|v| {
                imgflow_engine::naming::variant_of(upload_key, &v.key)
                    .is_some_and(|(_, id)| id == self.id)
            })
            .map(|v| v.key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(sequencer: Option<&str>, keys: &[&str]) -> Manifest {
        Manifest {
            source: Source {
                bucket: "up".into(),
                key: "trips/moon walk/astronaut.png".into(),
                version_id: None,
                sequencer: sequencer.map(|s| Sequencer::parse(s).unwrap()),
                bytes: 10,
                sha256: "ab".repeat(32),
                format: "PNG".into(),
                width: 4,
                height: 3,
            },
            id: "abababab".into(),
            variants: keys
                .iter()
                .map(|k| Variant {
                    name: "thumbnail".into(),
                    key: (*k).into(),
                    content_type: "image/jpeg".into(),
                    width: 2,
                    height: 1,
                    bytes: 5,
                })
                .collect(),
            updated: "2026-11-27T23:00:00Z".into(),
        }
    }

    #[test]
    fn lives_beside_the_variants_under_the_source_key() {
        assert_eq!(
            key_of("trips/moon walk/astronaut.png"),
            "trips/moon walk/astronaut.png.json"
        );
    }

    #[test]
    fn round_trips_as_json_with_the_documented_fields() {
        let m = manifest(Some("0055AED6DCD90281E5"), &["a_thumbnail_abababab.jpg"]);
        let json: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
        for field in ["source", "id", "variants", "updated"] {
            assert!(json.get(field).is_some(), "{field}");
        }
        for field in [
            "bucket",
            "key",
            "version_id",
            "sequencer",
            "bytes",
            "sha256",
            "format",
            "width",
            "height",
        ] {
            assert!(json["source"].get(field).is_some(), "source.{field}");
        }
        assert_eq!(json["source"]["version_id"], serde_json::Value::Null);
        assert_eq!(json["source"]["sequencer"], "0055AED6DCD90281E5");
        let back = Manifest::parse("k.json", &m.to_json()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn a_broken_manifest_is_an_error_naming_it() {
        let error = Manifest::parse("a/b.png.json", b"{\"id\": 1").unwrap_err();
        assert!(error.to_string().contains("a/b.png.json"), "{error}");
        let error = Manifest::parse("x.json", br#"{"id":"x"}"#).unwrap_err();
        assert!(error.to_string().contains("missing field"), "{error}");
    }

    #[test]
    fn order_follows_the_sequencers_and_unknown_is_never_newer() {
        let m = manifest(Some("0A"), &[]);
        let s = |t: &str| Sequencer::parse(t).unwrap();
        assert!(m.is_newer_than(Some(&s("09"))));
        assert!(!m.is_newer_than(Some(&s("0A"))));
        assert!(!m.is_newer_than(Some(&s("0B"))));
        assert!(!m.is_newer_than(None));
        assert!(!manifest(None, &[]).is_newer_than(Some(&s("01"))));
    }

    const OLD_LOW: &str = "trips/moon walk/astronaut_low_0000aaaa.jpg";
    const NEW_LOW: &str = "trips/moon walk/astronaut_low_0000bbbb.jpg";
    const PNG: &str = "trips/moon walk/astronaut_png_0000aaaa.png";

    fn with_id(id: &str, keys: &[&str]) -> Manifest {
        Manifest {
            id: id.into(),
            ..manifest(None, keys)
        }
    }

    #[test]
    fn replacing_retires_only_what_the_next_does_not_name() {
        let old = with_id("0000aaaa", &[OLD_LOW, PNG]);
        let next = with_id("0000bbbb", &[NEW_LOW]);
        assert_eq!(old.retired_by(&next), [OLD_LOW, PNG]);
        // The same variant in both (same bytes, the manifest rewritten).
        let again = with_id("0000aaaa", &[PNG]);
        assert_eq!(old.retired_by(&again), [OLD_LOW]);
        assert!(next.names_exactly([NEW_LOW]));
        assert!(!old.names_exactly([PNG]));
    }

    #[test]
    fn only_keys_named_as_the_uploads_variants_are_ever_deleted() {
        let crafted = with_id(
            "0000aaaa",
            &[
                OLD_LOW,
                "trips/moon walk/other_low_0000aaaa.jpg",
                "trips/moon walk/astronaut.png",
                "billing/report.csv",
                "trips/moon walk/astronaut_low_0000aaaa.jpg.json",
                // astronaut.jpg's, whose variants share the stem: another id.
                "trips/moon walk/astronaut_low_0000cccc.jpg",
            ],
        );
        let upload = "trips/moon walk/astronaut.png";
        assert_eq!(crafted.variant_keys_of(upload), [OLD_LOW]);
        assert_eq!(
            crafted.retired_by(&with_id("0000bbbb", &[NEW_LOW])),
            [OLD_LOW]
        );
        assert!(crafted.variant_keys_of("elsewhere.png").is_empty());
    }
}

//! The handler's failure model, against an in-memory object store (the S3
//! implementation is tested against a real S3 API in the integration tests).

mod support;
use image::{DynamicImage, ImageFormat};
use imgflow_engine::memory::Budget;
use imgflow_engine::{Reason, Settings};
use imgflow_lambda::event::S3Event;
use imgflow_lambda::handler::{handle_event, HandlerSettings};
use imgflow_lambda::manifest::{self, Manifest};
use imgflow_lambda::outcome::Outcome;
use imgflow_lambda::store::{
    metadata_bytes, metadata_text, Condition, Fetched, Listed, ObjectHead, ObjectStore, PutObject,
    StoreError, MAX_KEY_BYTES, MAX_METADATA_BYTES, META_VARIANT,
};
use imgflow_testkit::fixtures::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use support::settings;

/// One stored object: its body, user metadata, ETag (a write counter) and
/// when it was written.
#[derive(Clone)]
struct Stored {
    body: Vec<u8>,
    metadata: HashMap<String, String>,
    etag: String,
    modified: SystemTime,
}

/// (bucket, key) → object
type Objects = HashMap<(String, String), Stored>;

#[derive(Default)]
struct MemoryStore {
    objects: Mutex<Objects>,
    writes: AtomicUsize,
    fail_gets: bool,
    /// Fail the PUT of keys containing this text.
    fail_put_containing: Option<&'static str>,
    /// Fail the DELETE of keys containing this text.
    fail_delete_containing: Mutex<Option<&'static str>>,
    get_delay: Option<Duration>,
    heads: AtomicUsize,
    bodies_read: AtomicUsize,
}

impl MemoryStore {
    fn insert(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.store(bucket, key, bytes, HashMap::new());
    }

    fn store(&self, bucket: &str, key: &str, body: Vec<u8>, metadata: HashMap<String, String>) {
        let etag = format!("{:032x}", self.writes.fetch_add(1, Ordering::Relaxed) + 1);
        let stored = Stored {
            body,
            metadata,
            etag,
            modified: SystemTime::now(),
        };
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), stored);
    }

    fn object(&self, bucket: &str, key: &str) -> Option<Stored> {
        let objects = self.objects.lock().unwrap();
        objects.get(&(bucket.into(), key.into())).cloned()
    }

    fn remove(&self, bucket: &str, key: &str) {
        self.objects
            .lock()
            .unwrap()
            .remove(&(bucket.into(), key.into()));
    }

    fn lookup(&self, bucket: &str, key: &str) -> Result<ObjectHead, StoreError> {
        let o = self
            .object(bucket, key)
            .ok_or_else(|| StoreError::NotFound(key.into()))?;
        Ok(ObjectHead {
            size: o.body.len() as u64,
            version_id: None,
            etag: Some(o.etag),
            last_modified: Some(o.modified),
            metadata: o.metadata,
        })
    }

    fn keys(&self, bucket: &str) -> Vec<String> {
        let mut k: Vec<String> = self
            .objects
            .lock()
            .unwrap()
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect();
        k.sort();
        k
    }

    /// The processed bucket's variants (its keys less the manifests).
    fn variants(&self) -> Vec<String> {
        let mut keys = self.keys("processed");
        keys.retain(|k| !k.ends_with(".json"));
        keys
    }

    fn manifest(&self, source_key: &str) -> Option<Manifest> {
        let key = manifest::key_of(source_key);
        let o = self.object("processed", &key)?;
        Some(Manifest::parse(&key, &o.body).unwrap())
    }

    /// Checks a conditional request against what is stored now.
    fn check(
        &self,
        bucket: &str,
        key: &str,
        condition: Option<&Condition>,
    ) -> Result<(), StoreError> {
        let now = self.object(bucket, key).map(|o| o.etag);
        match (condition, now) {
            (None, _) => Ok(()),
            (Some(Condition::Absent), None) => Ok(()),
            (Some(Condition::Absent), Some(_)) => {
                Err(StoreError::Conflict(format!("{key} exists")))
            }
            (Some(Condition::Unchanged(_)), None) => Err(StoreError::NotFound(key.into())),
            (Some(Condition::Unchanged(want)), Some(etag)) if *want == etag => Ok(()),
            (Some(Condition::Unchanged(_)), Some(_)) => {
                Err(StoreError::Conflict(format!("{key} changed")))
            }
        }
    }
}

impl ObjectStore for MemoryStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectHead, StoreError> {
        self.heads.fetch_add(1, Ordering::Relaxed);
        self.lookup(bucket, key)
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
        _version: Option<&str>,
        read_body: &(dyn Fn(&ObjectHead) -> bool + Sync),
    ) -> Result<Fetched, StoreError> {
        if let Some(d) = self.get_delay {
            tokio::time::sleep(d).await;
        }
        if self.fail_gets {
            return Err(StoreError::Transient(
                "SlowDown: please reduce your request rate".into(),
            ));
        }
        let head = self.lookup(bucket, key)?;
        let body = read_body(&head)
            .then(|| self.object(bucket, key).map(|o| o.body))
            .flatten();
        self.bodies_read
            .fetch_add(usize::from(body.is_some()), Ordering::Relaxed);
        Ok(Fetched { head, body })
    }

    async fn put(&self, o: PutObject<'_>) -> Result<(), StoreError> {
        if self.fail_put_containing.is_some_and(|s| o.key.contains(s)) {
            return Err(StoreError::Transient("connection reset".into()));
        }
        // S3's answers (400s, which the S3 store classifies as transient).
        if o.key.len() > MAX_KEY_BYTES {
            return Err(StoreError::Transient("KeyTooLongError".into()));
        }
        if metadata_bytes(&o.metadata) > MAX_METADATA_BYTES {
            return Err(StoreError::Transient("MetadataTooLarge".into()));
        }
        self.check(o.bucket, o.key, o.condition.as_ref())?;
        let metadata = o
            .metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.store(o.bucket, o.key, o.body, metadata);
        Ok(())
    }

    async fn delete(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<(), StoreError> {
        let failing = *self.fail_delete_containing.lock().unwrap();
        if failing.is_some_and(|s| key.contains(s)) {
            return Err(StoreError::Transient("503 SlowDown".into()));
        }
        let condition = if_match.map(|e| Condition::Unchanged(e.to_owned()));
        self.check(bucket, key, condition.as_ref())?;
        self.remove(bucket, key);
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let objects = self.objects.lock().unwrap();
        let mut listed: Vec<Listed> = objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), o)| Listed {
                key: k.clone(),
                size: o.body.len() as u64,
                last_modified: Some(o.modified),
            })
            .collect();
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listed)
    }
}

/// An S3 notification for (bucket, key, size) records, keys encoded as S3 does.
fn event(records: &[(&str, &str, Option<u64>)]) -> S3Event {
    serde_json::from_value(imgflow_testkit::s3_event_of(records.iter().copied())).unwrap()
}

fn png() -> Vec<u8> {
    encode_with_image(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png)
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn keys_with_spaces_unicode_and_folders() {
    let store = MemoryStore::default();
    let bytes = png();
    store.insert("uploads", "holiday photos/été 1.png", bytes.clone());
    let ev = event(&[(
        "uploads",
        "holiday photos/été 1.png",
        Some(bytes.len() as u64),
    )]);
    let out = handle_event(&store, &settings(), &ev, later()).await;
    assert!(matches!(out[0], Outcome::Processed { .. }), "{out:?}");
    let id = imgflow_engine::naming::content_id(&bytes);
    let mut want: Vec<String> = [
        "compressed_{}.jpg",
        "low_{}.jpg",
        "webp_{}.webp",
        "png_{}.png",
        "thumbnail_{}.jpg",
    ]
    .iter()
    .map(|s| format!("holiday photos/été 1_{}", s.replace("{}", &id)))
    .collect();
    want.sort();
    assert_eq!(store.variants(), want);
    let manifest = store.manifest("holiday photos/été 1.png").unwrap();
    assert!(manifest.names_exactly(want.iter().map(String::as_str)));
    // Outputs are marked, so an event about them is skipped.
    let head = store.head("processed", &want[0]).await.unwrap();
    assert!(head.metadata.contains_key(META_VARIANT));
    assert_eq!(
        head.metadata["imgflow-source-key"], "holiday%20photos/%C3%A9t%C3%A9%201.png",
        "metadata is ASCII: the key is percent-encoded"
    );
}

#[tokio::test]
async fn permanent_problems_succeed_with_nothing_written() {
    let store = MemoryStore::default();
    store.insert("uploads", "notes.txt", b"just text".to_vec());
    store.insert("uploads", "empty.jpg", vec![]);
    store.insert("processed", "x_png_00000000.png", png());
    let ev = event(&[
        ("uploads", "notes.txt", Some(9)),
        ("uploads", "empty.jpg", Some(0)),
        ("uploads", "folder/", Some(0)),
        ("processed", "x_png_00000000.png", Some(10)),
        ("uploads", "deleted-since.png", Some(10)),
    ]);
    let out = handle_event(&store, &settings(), &ev, later()).await;
    let labels: Vec<_> = out
        .iter()
        .map(|o| (o.key().to_owned(), o.label()))
        .collect();
    assert_eq!(
        labels,
        [
            ("notes.txt".to_owned(), "rejected"),
            ("empty.jpg".to_owned(), "rejected"),
            ("folder/".to_owned(), "rejected"),
            ("x_png_00000000.png".to_owned(), "skipped"),
            ("deleted-since.png".to_owned(), "skipped"),
        ]
    );
    let reasons: Vec<_> = out.iter().map(Outcome::reason).collect();
    assert_eq!(
        reasons,
        [
            Some(Reason::NotAnImage),
            Some(Reason::Empty),
            Some(Reason::FolderKey),
            Some(Reason::ProcessedBucket),
            Some(Reason::Gone)
        ]
    );
    assert_eq!(
        store.keys("processed"),
        ["x_png_00000000.png"],
        "nothing new written"
    );
}

#[tokio::test]
async fn keys_too_long_for_s3_are_refused_before_they_are_read() {
    let store = MemoryStore::default();
    let bytes = png();
    let size = Some(bytes.len() as u64);
    // The longest output key is the compressed variant's: the stem and
    // "_compressed_<8 hex>.jpg" (24 bytes). 1000 + 24 = S3's 1024 exactly.
    let fits = format!("{}.png", "f".repeat(1000));
    let over = format!("{}.png", "o".repeat(1001));
    // 811 bytes of key, 2407 percent-encoded: past the 2 KB of metadata
    // that way, so it goes base64-encoded (1091 bytes).
    let accented = format!("photos/{}.png", "é".repeat(400));
    // A version id no S3 bucket hands out (theirs have 32 characters),
    // beside a key of 1900 bytes percent-encoded: past the 2 KB.
    let versioned = format!("{}.png", "é".repeat(316));
    for key in [&fits, &over, &accented, &versioned] {
        store.insert("uploads", key, bytes.clone());
    }
    let mut ev = event(&[
        ("uploads", &fits, size),
        ("uploads", &over, size),
        ("uploads", &accented, size),
        ("uploads", &versioned, size),
    ]);
    ev.records[3].s3.object.version_id = Some("v".repeat(200));
    let out = handle_event(&store, &settings(), &ev, later()).await;
    for (key, outcome) in [(&fits, &out[0]), (&accented, &out[2])] {
        assert!(matches!(outcome, Outcome::Processed { .. }), "{out:?}");
        assert!(store.manifest(key).is_some());
        assert_complete(&store, key);
    }
    let marked = store
        .variants()
        .into_iter()
        .filter(|k| k.starts_with("photos/"))
        .map(|k| store.object("processed", &k).unwrap().metadata["imgflow-source-key"].clone())
        .collect::<Vec<_>>();
    assert_eq!(marked.len(), 5);
    for value in marked {
        assert!(value.starts_with("base64:"), "{value}");
        assert_eq!(metadata_text(&value), accented);
    }
    let whys = [
        (&out[1], "the compressed variant's key would be 1025 bytes"),
        // 1900 bytes of key, 200 of version, the names and a variant name
        (
            &out[3],
            "the key takes 2168 bytes in each variant's metadata",
        ),
    ];
    for (outcome, why) in whys {
        assert_eq!(outcome.reason(), Some(Reason::BadKey), "{outcome:?}");
        assert_eq!(outcome.label(), "rejected");
        let Outcome::Rejected { message, .. } = outcome else {
            unreachable!()
        };
        assert!(message.contains(why), "{message}");
    }
    assert_eq!(
        store.bodies_read.load(Ordering::Relaxed),
        2,
        "only the ones that fit are read"
    );
    assert_eq!(store.variants().len(), 10, "nothing written for the others");
}

#[tokio::test]
async fn own_outputs_in_the_upload_bucket_are_skipped() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    // Simulate a misconfiguration that writes outputs where uploads land.
    let mut s = settings();
    s.processed_bucket = "uploads".into();
    let first = handle_event(&store, &s, &event(&[("uploads", "a.png", None)]), later()).await;
    assert!(matches!(
        first[0],
        Outcome::Skipped {
            reason: Reason::ProcessedBucket,
            ..
        }
    ));
    s.processed_bucket = "processed".into();
    handle_event(&store, &s, &event(&[("uploads", "a.png", None)]), later()).await;
    let output = store.variants()[0].clone();
    let copy = store.object("processed", &output).unwrap();
    store.store("uploads", &output, copy.body, copy.metadata);
    let again = handle_event(&store, &s, &event(&[("uploads", &output, None)]), later()).await;
    assert!(
        matches!(
            again[0],
            Outcome::Skipped {
                reason: Reason::OwnOutput,
                ..
            }
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn with_the_event_size_there_is_no_head_and_refused_bodies_are_not_read() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    let size = png().len() as u64;
    let out = handle_event(
        &store,
        &settings(),
        &event(&[("uploads", "a.png", Some(size))]),
        later(),
    )
    .await;
    assert!(matches!(out[0], Outcome::Processed { .. }), "{out:?}");
    assert_eq!(
        store.heads.load(Ordering::Relaxed),
        0,
        "the event's size spares the HEAD"
    );
    assert_eq!(
        store.bodies_read.load(Ordering::Relaxed),
        1,
        "no manifest yet: no body"
    );

    // One of our outputs copied into the upload bucket: skipped from the
    // GET's headers, its body never read.
    let output = store.variants()[0].clone();
    let copy = store.object("processed", &output).unwrap();
    let copy_size = copy.body.len() as u64;
    store.store("uploads", &output, copy.body, copy.metadata);
    let out = handle_event(
        &store,
        &settings(),
        &event(&[("uploads", &output, Some(copy_size))]),
        later(),
    )
    .await;
    assert!(
        matches!(
            out[0],
            Outcome::Skipped {
                reason: Reason::OwnOutput,
                ..
            }
        ),
        "{out:?}"
    );

    // Replaced by a larger object after the event was sent: the GET's size
    // decides, and the body is not read.
    let mut small_limit = settings();
    let mut engine = Settings::default();
    engine.limits.max_bytes = 1000;
    small_limit.engine = Arc::new(engine);
    store.insert("uploads", "swapped.png", png());
    let out = handle_event(
        &store,
        &small_limit,
        &event(&[("uploads", "swapped.png", Some(10))]),
        later(),
    )
    .await;
    assert!(
        matches!(
            &out[0],
            Outcome::Rejected {
                reason: Reason::TooManyBytes,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(
        store.bodies_read.load(Ordering::Relaxed),
        1,
        "no body read after the first image (no other manifest exists)"
    );
    assert_eq!(store.heads.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn over_the_byte_limit_is_refused_from_the_event_size() {
    let store = MemoryStore {
        fail_gets: true,
        ..Default::default()
    };
    let ev = event(&[("uploads", "huge.tif", Some(10 * 1024 * 1024 * 1024))]);
    let out = handle_event(&store, &settings(), &ev, later()).await;
    assert!(
        matches!(
            &out[0],
            Outcome::Rejected {
                reason: Reason::TooManyBytes,
                ..
            }
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn transient_errors_fail_and_never_half_land() {
    let store = MemoryStore {
        fail_gets: true,
        ..Default::default()
    };
    store.insert("uploads", "a.png", png());
    let out = handle_event(
        &store,
        &settings(),
        &event(&[("uploads", "a.png", None)]),
        later(),
    )
    .await;
    assert!(
        matches!(&out[0], Outcome::Failed { reason: Reason::StoreFailed, message, .. } if message.contains("SlowDown")),
        "{out:?}"
    );

    let store = MemoryStore {
        fail_put_containing: Some("_webp_"),
        ..Default::default()
    };
    store.insert("uploads", "a.png", png());
    let out = handle_event(
        &store,
        &settings(),
        &event(&[("uploads", "a.png", None)]),
        later(),
    )
    .await;
    assert!(matches!(&out[0], Outcome::Failed { .. }), "{out:?}");
    assert!(
        store.keys("processed").is_empty(),
        "the variants that landed were taken back"
    );
}

#[tokio::test]
async fn the_deadline_stops_work_cleanly() {
    let store = MemoryStore {
        get_delay: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    store.insert("uploads", "a.png", png());
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_millis(800);
    let out = handle_event(
        &store,
        &settings(),
        &event(&[("uploads", "a.png", None)]),
        deadline,
    )
    .await;
    assert!(
        matches!(&out[0], Outcome::Failed { reason: Reason::Deadline, message, .. } if message.contains("deadline")),
        "{out:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up before the deadline, not after the slow GET"
    );
    assert!(store.keys("processed").is_empty());
}

#[tokio::test]
async fn duplicate_events_write_the_same_keys() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    // Two events of one key in one batch race for the manifest: one
    // processes, the other finds it done (or a later one in place).
    let ev = event(&[("uploads", "a.png", None), ("uploads", "a.png", None)]);
    let out = handle_event(&store, &settings(), &ev, later()).await;
    let labels: Vec<_> = out.iter().map(Outcome::label).collect();
    assert!(labels.contains(&"processed"), "{out:?}");
    assert!(
        out.iter()
            .all(|o| o.reason().is_none() || o.reason() == Some(Reason::Superseded)),
        "{out:?}"
    );
    let first = store.keys("processed");
    let again = handle_event(&store, &settings(), &ev, later()).await;
    assert!(
        again.iter().all(|o| o.label() != "processed"),
        "nothing encoded again: {again:?}"
    );
    assert_eq!(store.keys("processed"), first);
    assert_eq!(store.variants().len(), 5);
}

#[tokio::test]
async fn images_wait_for_memory_and_one_that_never_fits_is_refused_up_front() {
    let store = MemoryStore::default();
    let small = png();
    let large = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(1200, 900)),
        ImageFormat::Png,
    );
    let settings_for = |budget: u64| HandlerSettings {
        memory: Budget::new(budget),
        ..settings()
    };
    let inspect = |bytes: &[u8]| imgflow_engine::inspect(bytes, &Settings::default(), 1).unwrap();
    let needs = |bytes: &[u8]| inspect(bytes).leanest().0;
    store.insert("uploads", "small-1.png", small.clone());
    store.insert("uploads", "small-2.png", small.clone());
    store.insert("uploads", "large.png", large.clone());

    // Room for one small image at a time: both are processed, in turn.
    let ev = event(&[
        ("uploads", "small-1.png", Some(small.len() as u64)),
        ("uploads", "small-2.png", Some(small.len() as u64)),
    ]);
    let out = handle_event(&store, &settings_for(needs(&small) + 1), &ev, later()).await;
    assert!(out.iter().all(|o| o.label() == "processed"), "{out:?}");

    // The large one can never fit: rejected before decoding, the small one
    // beside it still processed, and the invocation succeeds.
    let budget = needs(&small) * 2;
    assert!(needs(&large) > budget);
    let ev = event(&[
        ("uploads", "large.png", Some(large.len() as u64)),
        ("uploads", "small-1.png", Some(small.len() as u64)),
    ]);
    let before = store.keys("processed").len();
    let out = handle_event(&store, &settings_for(budget), &ev, later()).await;
    assert_eq!(out[0].reason(), Some(Reason::TooLargeForMemory));
    assert_eq!(out[0].label(), "rejected");
    let Outcome::Rejected { message, .. } = &out[0] else {
        panic!("{:?}", out[0]);
    };
    assert!(
        message.contains("1200x900") && message.contains("memory size of at least"),
        "{message}"
    );
    assert_eq!(
        out[1].label(),
        "unchanged",
        "the same bytes again: no encode"
    );
    assert_eq!(
        store.keys("processed").len(),
        before,
        "the small one's keys exist already; nothing of the large one"
    );
    assert!(!store
        .keys("processed")
        .iter()
        .any(|k| k.starts_with("large")));
}

/// A record waiting for memory must not hold an upload the budget does not
/// count: its bytes are reserved before they are read.
#[tokio::test]
async fn an_upload_is_read_only_once_its_bytes_fit_in_the_budget() {
    let store = MemoryStore::default();
    let small = png();
    store.insert("uploads", "waits.png", small.clone());
    let needs = imgflow_engine::inspect(&small, &Settings::default(), 1)
        .unwrap()
        .leanest()
        .0;
    let budget = Budget::new(needs + (1 << 20));
    // A running image leaves one byte too few for the upload.
    let running = budget
        .try_admit(budget.total() - small.len() as u64 + 1)
        .unwrap();
    let settings = HandlerSettings {
        memory: budget.clone(),
        ..settings()
    };
    let ev = event(&[("uploads", "waits.png", Some(small.len() as u64))]);
    let (out, ()) = tokio::join!(handle_event(&store, &settings, &ev, later()), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            store.bodies_read.load(Ordering::Relaxed),
            0,
            "read before its bytes were reserved"
        );
        drop(running);
    });
    assert_eq!(out[0].label(), "processed", "{out:?}");
    assert_eq!(store.bodies_read.load(Ordering::Relaxed), 1);
    assert_eq!(
        budget.try_admit(budget.total()).map(|a| a.bytes()),
        Some(budget.total()),
        "all given back"
    );
}

/// An upload larger than the whole budget reserves nothing to wait for: its
/// estimate refuses it at once, even while another image holds memory.
#[tokio::test]
async fn an_upload_larger_than_the_budget_is_refused_without_waiting() {
    let store = MemoryStore::default();
    let small = png();
    store.insert("uploads", "big.png", small.clone());
    let budget = Budget::new(small.len() as u64 - 1);
    let _running = budget.try_admit(1).unwrap();
    let settings = HandlerSettings {
        memory: budget.clone(),
        ..settings()
    };
    let ev = event(&[("uploads", "big.png", Some(small.len() as u64))]);
    let out = handle_event(&store, &settings, &ev, later()).await;
    assert_eq!(out[0].reason(), Some(Reason::TooLargeForMemory), "{out:?}");
    assert_eq!(out[0].label(), "rejected");
}

#[tokio::test]
async fn waiting_for_memory_stops_at_the_deadline_for_a_retry() {
    let store = MemoryStore::default();
    let small = png();
    store.insert("uploads", "waits.png", small.clone());
    let settings = settings();
    // Another record holds the whole budget for longer than the invocation.
    let budget = Budget::new(64 << 20);
    let _held = budget.try_admit(budget.total()).unwrap();
    let settings = HandlerSettings {
        memory: budget.clone(),
        ..settings
    };
    let deadline = Instant::now() + settings.deadline_margin + Duration::from_millis(300);
    // The first waits for room for its upload, the second for its turn.
    store.insert("uploads", "waits-too.png", small.clone());
    let ev = event(&[
        ("uploads", "waits.png", Some(small.len() as u64)),
        ("uploads", "waits-too.png", Some(small.len() as u64)),
    ]);
    let out = handle_event(&store, &settings, &ev, deadline).await;
    for outcome in &out {
        assert_eq!(outcome.label(), "failed", "{out:?}");
        assert_eq!(outcome.reason(), Some(Reason::Deadline));
    }
    assert_eq!(store.bodies_read.load(Ordering::Relaxed), 0, "nothing read");
    assert!(store.keys("processed").is_empty(), "nothing written");
}

// The lifecycle: manifests, overwrites, deletes and the order of events.

/// One record of `eventName` for `uploads/<key>` with this sequencer.
fn change(name: &str, key: &str, sequencer: &str) -> S3Event {
    let mut json = imgflow_testkit::s3_event_of([("uploads", key, None)]);
    let record = &mut json["Records"][0];
    record["eventName"] = name.into();
    record["s3"]["object"]["sequencer"] = sequencer.into();
    serde_json::from_value(json).unwrap()
}

fn put(key: &str, sequencer: &str) -> S3Event {
    change("ObjectCreated:Put", key, sequencer)
}

fn delete(key: &str, sequencer: &str) -> S3Event {
    change("ObjectRemoved:Delete", key, sequencer)
}

fn other_png() -> Vec<u8> {
    encode_with_image(&DynamicImage::ImageRgb8(gradient(40, 30)), ImageFormat::Png)
}

async fn one(store: &MemoryStore, event: S3Event) -> Outcome {
    handle_event(store, &settings(), &event, later())
        .await
        .remove(0)
}

/// The invariant a reader relies on: a manifest names only variants that exist.
fn assert_complete(store: &MemoryStore, key: &str) {
    if let Some(m) = store.manifest(key) {
        for v in &m.variants {
            assert!(
                store.object("processed", &v.key).is_some(),
                "the manifest of {key} names {} which is missing",
                v.key
            );
        }
    }
}

fn ids(store: &MemoryStore) -> Vec<String> {
    let mut ids: Vec<String> = store
        .variants()
        .iter()
        .filter_map(|k| k.rsplit('_').next()?.split('.').next().map(str::to_owned))
        .collect();
    ids.dedup();
    ids
}

#[tokio::test]
async fn the_manifest_names_every_variant_and_its_source() {
    let store = MemoryStore::default();
    let bytes = png();
    store.insert("uploads", "trips/moon walk/astronaut.png", bytes.clone());
    let out = one(&store, put("trips/moon walk/astronaut.png", "0A")).await;
    assert_eq!(out.label(), "processed", "{out:?}");
    let key = "trips/moon walk/astronaut.png.json";
    let stored = store.object("processed", key).expect("the manifest");
    let m = store.manifest("trips/moon walk/astronaut.png").unwrap();
    assert_eq!(m.source.bucket, "uploads");
    assert_eq!(m.source.key, "trips/moon walk/astronaut.png");
    assert_eq!(m.source.sequencer.as_ref().map(|s| s.as_str()), Some("0A"));
    assert_eq!(m.source.bytes, bytes.len() as u64);
    assert_eq!(m.source.sha256, imgflow_engine::naming::sha256_hex(&bytes));
    assert_eq!(
        (m.source.format.as_str(), m.source.width, m.source.height),
        ("PNG", 64, 48)
    );
    assert_eq!(m.id, imgflow_engine::naming::content_id(&bytes));
    assert_eq!(m.variants.len(), 5);
    let thumb = m.variants.iter().find(|v| v.name == "thumbnail").unwrap();
    assert_eq!(
        (thumb.content_type.as_str(), thumb.width.max(thumb.height)),
        ("image/jpeg", 64)
    );
    // RFC 3339 in UTC, written just now.
    let updated = chrono::DateTime::parse_from_rfc3339(&m.updated).unwrap();
    assert!(m.updated.ends_with('Z'), "{}", m.updated);
    assert!((chrono::Utc::now() - updated.to_utc()).num_seconds().abs() < 60);
    assert!(m.names_exactly(store.variants().iter().map(String::as_str)));
    assert_eq!(
        stored
            .metadata
            .get("imgflow-source-key")
            .map(String::as_str),
        Some("trips/moon%20walk/astronaut.png")
    );
    assert!(
        !stored.metadata.contains_key(META_VARIANT),
        "a manifest is not a variant"
    );
}

#[tokio::test]
async fn an_overwrite_replaces_and_older_or_repeated_events_change_nothing() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    assert_eq!(one(&store, put("a.png", "10")).await.label(), "processed");
    let first = ids(&store);

    store.insert("uploads", "a.png", other_png());
    let out = one(&store, put("a.png", "20")).await;
    let Outcome::Processed { replaced, id, .. } = &out else {
        panic!("{out:?}");
    };
    assert_eq!(replaced.len(), 5, "the old five are deleted");
    assert_eq!(
        ids(&store),
        std::slice::from_ref(id),
        "only the new upload's variants remain"
    );
    assert_ne!(first, ids(&store));
    let after_overwrite = store.keys("processed");

    // The first upload's event again, late: nothing that survives.
    let out = one(&store, put("a.png", "10")).await;
    assert_eq!(out.reason(), Some(Reason::Superseded), "{out:?}");
    assert_eq!(store.keys("processed"), after_overwrite);

    // The overwrite's event again: nothing encoded, nothing written.
    let writes = store.writes.load(Ordering::Relaxed);
    let out = one(&store, put("a.png", "20")).await;
    assert!(
        matches!(
            out,
            Outcome::Unchanged {
                manifest_written: false,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(store.writes.load(Ordering::Relaxed), writes);

    // The same bytes uploaded again: only the manifest's source changes.
    let out = one(&store, put("a.png", "0030")).await;
    assert!(
        matches!(
            out,
            Outcome::Unchanged {
                manifest_written: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(
        store
            .manifest("a.png")
            .unwrap()
            .source
            .sequencer
            .unwrap()
            .as_str(),
        "0030"
    );
    assert_eq!(
        store.variants(),
        after_overwrite
            .iter()
            .filter(|k| !k.ends_with(".json"))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_complete(&store, "a.png");
}

/// Variants written before long keys took the base64 form (an unversioned
/// bucket wrote no version, leaving room for 2000 bytes percent-encoded)
/// are still found by their metadata when the upload goes.
#[tokio::test]
async fn a_delete_finds_variants_whose_key_an_older_version_percent_encoded() {
    let store = MemoryStore::default();
    let key = format!("{}.png", "é".repeat(325));
    let old_form = format!("{}.png", "%C3%A9".repeat(325));
    assert_eq!(old_form.len(), 1954);
    let variant = imgflow_engine::naming::output_key(&key, "webp", "0000aaaa", "webp");
    let metadata = HashMap::from([
        ("imgflow-variant".to_owned(), "webp".to_owned()),
        ("imgflow-source-key".to_owned(), old_form),
    ]);
    store.store("processed", &variant, b"RIFF".to_vec(), metadata);
    let out = one(&store, delete(&key, "20")).await;
    assert!(
        matches!(&out, Outcome::Removed { deleted, .. } if deleted.len() == 1 && deleted[0] == variant),
        "{out:?}"
    );
    assert!(store.variants().is_empty());
}

/// A manifest is data in a bucket: one that names other objects (damaged,
/// or written by someone else) makes the delete remove only what is named
/// as the upload's variants.
#[tokio::test]
async fn a_delete_never_removes_what_a_tampered_manifest_names_beyond_the_variants() {
    let store = MemoryStore::default();
    store.insert("uploads", "photos/cat.jpg", png());
    store.insert("uploads", "photos/dog.jpg", other_png());
    for key in ["photos/cat.jpg", "photos/dog.jpg"] {
        assert_eq!(one(&store, put(key, "10")).await.label(), "processed");
    }
    store.insert("processed", "billing/report.csv", b"a,b".to_vec());
    let dog = store.manifest("photos/dog.jpg").unwrap();
    let mut cat = store.manifest("photos/cat.jpg").unwrap();
    let named = |key: &str| manifest::Variant {
        name: "webp".into(),
        key: key.into(),
        content_type: "image/webp".into(),
        width: 1,
        height: 1,
        bytes: 1,
    };
    cat.variants.push(named("billing/report.csv"));
    cat.variants.push(named(&dog.variants[2].key));
    store.insert(
        "processed",
        &manifest::key_of("photos/cat.jpg"),
        cat.to_json(),
    );

    store.remove("uploads", "photos/cat.jpg");
    let out = one(&store, delete("photos/cat.jpg", "20")).await;
    assert!(
        matches!(&out, Outcome::Removed { deleted, .. } if deleted.len() == 5),
        "{out:?}"
    );
    assert!(store.object("processed", "billing/report.csv").is_some());
    assert_complete(&store, "photos/dog.jpg");
    assert_eq!(store.variants().len(), 6, "{:?}", store.variants());
}

#[tokio::test]
async fn a_delete_removes_everything_and_late_events_write_nothing() {
    let store = MemoryStore::default();
    store.insert("uploads", "photos/cat.jpg", png());
    store.insert("uploads", "photos/cat.png", other_png());
    assert_eq!(
        one(&store, put("photos/cat.jpg", "10")).await.label(),
        "processed"
    );
    assert_eq!(
        one(&store, put("photos/cat.png", "11")).await.label(),
        "processed"
    );
    let neighbour = store.manifest("photos/cat.png").unwrap();

    store.remove("uploads", "photos/cat.jpg");
    let out = one(&store, delete("photos/cat.jpg", "20")).await;
    let Outcome::Removed {
        manifest_deleted,
        deleted,
        ..
    } = &out
    else {
        panic!("{out:?}");
    };
    assert!(manifest_deleted);
    assert_eq!(deleted.len(), 5);
    assert!(store.manifest("photos/cat.jpg").is_none());
    // `cat.png` shares the stem: its variants stay.
    assert!(store
        .variants()
        .iter()
        .all(|k| neighbour.variants.iter().any(|v| &v.key == k)));
    assert_eq!(store.variants().len(), 5);

    // The create, late: the upload is gone, nothing is written.
    let out = one(&store, put("photos/cat.jpg", "10")).await;
    assert_eq!(out.reason(), Some(Reason::Gone), "{out:?}");
    // The delete again: nothing left to do.
    let out = one(&store, delete("photos/cat.jpg", "20")).await;
    assert!(
        matches!(&out, Outcome::Removed { manifest_deleted: false, deleted, .. } if deleted.is_empty()),
        "{out:?}"
    );

    // Uploaded again; the old delete, replayed, leaves the new upload alone.
    store.insert("uploads", "photos/cat.jpg", png());
    assert_eq!(
        one(&store, put("photos/cat.jpg", "30")).await.label(),
        "processed"
    );
    let out = one(&store, delete("photos/cat.jpg", "20")).await;
    assert_eq!(out.reason(), Some(Reason::Superseded), "{out:?}");
    assert_eq!(store.variants().len(), 10);
    assert_complete(&store, "photos/cat.jpg");
}

#[tokio::test]
async fn a_delete_never_removes_the_upload_under_the_key() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    assert_eq!(one(&store, put("a.png", "10")).await.label(), "processed");
    // A delete with nothing ordering it after the manifest (no sequencer),
    // while the upload is there: the variants stay.
    let mut unordered = delete("a.png", "10");
    unordered.records[0].s3.object.sequencer = None;
    let out = one(&store, unordered).await;
    assert_eq!(out.reason(), Some(Reason::StillCurrent), "{out:?}");
    assert_eq!(store.variants().len(), 5);
    // Deleted then uploaded again before the delete's event: the old
    // manifest goes (the new upload's own event makes its variants).
    let out = one(&store, delete("a.png", "20")).await;
    assert!(
        matches!(&out, Outcome::Removed { deleted, .. } if deleted.len() == 5),
        "{out:?}"
    );
    assert_eq!(one(&store, put("a.png", "30")).await.label(), "processed");
    assert_eq!(store.variants().len(), 5);
}

#[tokio::test]
async fn uploads_from_before_manifests_are_found_by_their_metadata() {
    let store = MemoryStore::default();
    store.insert("uploads", "old/a.png", png());
    store.insert("uploads", "old/a.jpg", other_png());
    assert_eq!(
        one(&store, put("old/a.png", "10")).await.label(),
        "processed"
    );
    assert_eq!(
        one(&store, put("old/a.jpg", "11")).await.label(),
        "processed"
    );
    // As an upload processed before manifests existed left it.
    store.remove("processed", &manifest::key_of("old/a.png"));
    store.remove("uploads", "old/a.png");
    let out = one(&store, delete("old/a.png", "20")).await;
    assert!(
        matches!(&out, Outcome::Removed { manifest_deleted: false, deleted, .. } if deleted.len() == 5),
        "{out:?}"
    );
    let left = store.manifest("old/a.jpg").unwrap();
    assert!(
        left.names_exactly(store.variants().iter().map(String::as_str)),
        "only a.jpg's remain"
    );
}

#[tokio::test]
async fn an_interrupted_replacement_is_finished_by_the_retry() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    assert_eq!(one(&store, put("a.png", "10")).await.label(), "processed");
    let old_id = ids(&store)[0].clone();

    // The new manifest lands; deleting one old variant fails (a 503).
    store.insert("uploads", "a.png", other_png());
    *store.fail_delete_containing.lock().unwrap() = Some("_webp_");
    let out = one(&store, put("a.png", "20")).await;
    assert!(
        matches!(&out, Outcome::Failed { reason: Reason::StoreFailed, message, .. } if message.contains("503")),
        "{out:?}"
    );
    assert_complete(&store, "a.png");
    assert_ne!(store.manifest("a.png").unwrap().id, old_id);
    assert!(
        store.variants().iter().any(|k| k.contains(&old_id)),
        "one old variant is left"
    );

    // Lambda's retry: the same event finds its manifest in place and
    // deletes what is left of the old upload.
    *store.fail_delete_containing.lock().unwrap() = None;
    let out = one(&store, put("a.png", "20")).await;
    assert!(
        matches!(&out, Outcome::Unchanged { deleted, .. } if deleted.len() == 1),
        "{out:?}"
    );
    assert!(!store.variants().iter().any(|k| k.contains(&old_id)));
    assert_eq!(store.variants().len(), 5);
}

#[tokio::test]
async fn a_failed_manifest_write_fails_the_record_and_names_nothing_missing() {
    let store = MemoryStore {
        fail_put_containing: Some(".json"),
        ..Default::default()
    };
    store.insert("uploads", "a.png", png());
    let out = one(&store, put("a.png", "10")).await;
    assert!(
        matches!(&out, Outcome::Failed { reason: Reason::StoreFailed, message, .. } if message.contains("manifest")),
        "{out:?}"
    );
    assert!(store.manifest("a.png").is_none());
}

#[tokio::test]
async fn a_failed_delete_leaves_no_manifest_and_the_retry_finishes() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    assert_eq!(one(&store, put("a.png", "10")).await.label(), "processed");
    store.remove("uploads", "a.png");
    *store.fail_delete_containing.lock().unwrap() = Some("_png_");
    let out = one(&store, delete("a.png", "20")).await;
    assert_eq!(out.label(), "failed", "{out:?}");
    assert!(store.manifest("a.png").is_none(), "the manifest goes first");
    *store.fail_delete_containing.lock().unwrap() = None;
    let out = one(&store, delete("a.png", "20")).await;
    assert!(
        matches!(&out, Outcome::Removed { deleted, .. } if deleted.len() == 1),
        "{out:?}"
    );
    assert!(store.keys("processed").is_empty());
}

#[tokio::test]
async fn racing_records_of_one_key_keep_the_later_upload() {
    // The later upload's record and the earlier one's in one batch, side by
    // side: whatever the interleaving, the later manifest stays, complete.
    for _ in 0..20 {
        let store = MemoryStore::default();
        store.insert("uploads", "a.png", other_png());
        let mut ev = put("a.png", "20");
        ev.records.extend(put("a.png", "10").records);
        let out = handle_event(&store, &settings(), &ev, later()).await;
        assert!(out.iter().all(|o| o.label() != "failed"), "{out:?}");
        let m = store.manifest("a.png").unwrap();
        assert_eq!(m.source.sequencer.unwrap().as_str(), "20");
        assert_complete(&store, "a.png");
        assert_eq!(store.variants().len(), 5);
    }
}

#[tokio::test]
async fn an_unreadable_manifest_is_replaced_and_its_variants_found_by_metadata() {
    let store = MemoryStore::default();
    store.insert("uploads", "a.png", png());
    assert_eq!(one(&store, put("a.png", "10")).await.label(), "processed");
    let old_id = ids(&store)[0].clone();
    // Damaged in place (not one this function would write).
    store.insert(
        "processed",
        &manifest::key_of("a.png"),
        b"{not json".to_vec(),
    );
    store.insert("uploads", "a.png", other_png());
    let out = one(&store, put("a.png", "20")).await;
    assert!(
        matches!(&out, Outcome::Processed { replaced, .. } if replaced.len() == 5),
        "{out:?}"
    );
    assert!(
        store.manifest("a.png").is_some(),
        "a readable manifest again"
    );
    assert!(!store.variants().iter().any(|k| k.contains(&old_id)));
    assert_complete(&store, "a.png");
}

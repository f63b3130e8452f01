//! Faults injected into a real S3 API (moto server) by an SDK interceptor
//! (the test kit's `faults`; requests no fault matches get moto's answer):
//! each step of an overwrite or a delete failing half-way. The
//! interceptor replaces S3's answer after the request reached moto, so
//! these are the harder faults: S3 acted, the function was told it failed
//! (a 503 or a timeout after the fact). The record fails for Lambda's retry,
//! which finishes it; a manifest never names a missing variant. (Faults
//! where S3 did not act are in tests/handler.rs, against memory.)

mod support;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::delete_object::{DeleteObjectError, DeleteObjectInput};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectInput};
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectInput};
use aws_sdk_s3::Client;
use image::{DynamicImage, ImageFormat};
use imgflow_engine::Reason;
use imgflow_lambda::event::S3Event;
use imgflow_lambda::handler::handle_event;
use imgflow_lambda::outcome::Outcome;
use imgflow_lambda::store::s3::S3Store;
use imgflow_testkit::faults::{self, Fault};
use imgflow_testkit::fixtures::*;
use imgflow_testkit::{s3_change, S3Emulator};
use serde_json::Value;
use std::time::{Duration, Instant};
use support::settings;

const KEY: &str = "albums/a.png";

/// S3 through moto, with `faults` answering the requests they match.
fn store_with(moto: &S3Emulator, faults: &[&Fault]) -> S3Store {
    let config = moto
        .client()
        .config()
        .to_builder()
        .interceptor(faults::interceptor(faults))
        // The SDK's retries, quick: a fault that persists fails the record.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    S3Store::new(Client::from_conf(config))
}

fn event(name: &str, sequencer: &str) -> S3Event {
    serde_json::from_value(s3_change(name, "uploads", KEY, sequencer, None)).unwrap()
}

/// One record through the handler. (The test kit's moto helpers block on
/// their own runtime, so the tests are synchronous and this one is separate.)
fn run(store: &S3Store, event: S3Event) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    runtime
        .block_on(handle_event(store, &settings(), &event, deadline))
        .remove(0)
}

fn png(w: u32, h: u32) -> Vec<u8> {
    encode_with_image(&DynamicImage::ImageRgb8(gradient(w, h)), ImageFormat::Png)
}

fn manifest(moto: &S3Emulator) -> Option<Value> {
    let body = moto.get("processed", &format!("{KEY}.json"))?;
    Some(serde_json::from_slice(&body).unwrap())
}

fn variants(moto: &S3Emulator) -> Vec<String> {
    let mut keys = moto.keys("processed");
    keys.retain(|k| !k.ends_with(".json"));
    keys
}

/// A manifest, when there is one, names only variants that exist.
fn assert_complete(moto: &S3Emulator) {
    let Some(m) = manifest(moto) else { return };
    let stored = variants(moto);
    for v in m["variants"].as_array().unwrap() {
        let key = v["key"].as_str().unwrap();
        assert!(
            stored.iter().any(|k| k == key),
            "the manifest names {key}, which is missing"
        );
    }
}

/// A moto with one upload processed (sequencer 10), then overwritten by
/// other bytes: the overwrite's event is next. The first upload's id.
fn overwritten(moto: &S3Emulator) -> String {
    moto.seed(&["uploads", "processed"], &[("uploads", KEY, png(64, 48))]);
    let plain = store_with(moto, &[]);
    assert_eq!(
        run(&plain, event("ObjectCreated:Put", "10")).label(),
        "processed"
    );
    let id = manifest(moto).unwrap()["id"].as_str().unwrap().to_owned();
    moto.put("uploads", KEY, png(40, 30));
    id
}

/// An S3 error answer, as the SDK models it.
fn s3_error(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("injected by the test")
        .build()
}

#[test]
fn a_503_or_a_timeout_deleting_the_replaced_variants_fails_for_the_retry() {
    for code in ["SlowDown", "RequestTimeout"] {
        let moto = S3Emulator::start().unwrap();
        let old = overwritten(&moto);
        let delete_old = Fault::on(
            {
                let old = old.clone();
                move |r: &DeleteObjectInput| r.key().is_some_and(|k| k.contains(&old))
            },
            move || DeleteObjectError::generic(s3_error(code)),
        );
        let out = run(
            &store_with(&moto, &[&delete_old]),
            event("ObjectCreated:Put", "20"),
        );
        assert!(
            matches!(&out, Outcome::Failed { reason: Reason::StoreFailed, message, .. } if message.contains("replaced") && message.contains(code)),
            "{code}: {out:?}"
        );
        assert!(delete_old.answered() > 0);
        // The new manifest is in place, and complete.
        assert_ne!(manifest(&moto).unwrap()["id"], old.as_str());
        assert_complete(&moto);

        // Lambda's retry of the same event, S3 healthy again: nothing of
        // the old upload is left.
        let out = run(&store_with(&moto, &[]), event("ObjectCreated:Put", "20"));
        assert_eq!(out.label(), "unchanged", "{code}: {out:?}");
        assert_eq!(variants(&moto).len(), 5);
        assert!(!variants(&moto).iter().any(|k| k.contains(&old)));
        assert_complete(&moto);
    }
}

#[test]
fn a_failed_manifest_put_fails_for_the_retry() {
    let moto = S3Emulator::start().unwrap();
    let old = overwritten(&moto);
    let put_manifest = Fault::on(
        |r: &PutObjectInput| r.key().is_some_and(|k| k.ends_with(".json")),
        || PutObjectError::generic(s3_error("ServiceUnavailable")),
    );
    let out = run(
        &store_with(&moto, &[&put_manifest]),
        event("ObjectCreated:Put", "20"),
    );
    assert!(
        matches!(&out, Outcome::Failed { reason: Reason::StoreFailed, message, .. } if message.contains("manifest")),
        "{out:?}"
    );
    assert_complete(&moto);
    assert!(
        variants(&moto).iter().any(|k| k.contains(&old)),
        "nothing deleted yet"
    );

    let out = run(&store_with(&moto, &[]), event("ObjectCreated:Put", "20"));
    assert_ne!(out.label(), "failed", "{out:?}");
    assert_eq!(variants(&moto).len(), 5);
    assert!(!variants(&moto).iter().any(|k| k.contains(&old)));
    assert_complete(&moto);
}

#[test]
fn a_503_reading_the_manifest_writes_nothing() {
    let moto = S3Emulator::start().unwrap();
    let old = overwritten(&moto);
    let before = moto.keys("processed");
    let get_manifest = Fault::on(
        |r: &GetObjectInput| r.key().is_some_and(|k| k.ends_with(".json")),
        || GetObjectError::generic(s3_error("SlowDown")),
    );
    let out = run(
        &store_with(&moto, &[&get_manifest]),
        event("ObjectCreated:Put", "20"),
    );
    assert_eq!(out.label(), "failed", "{out:?}");
    assert_eq!(moto.keys("processed"), before);
    assert_eq!(manifest(&moto).unwrap()["id"], old.as_str());
}

#[test]
fn a_manifest_replaced_meanwhile_is_read_again() {
    let moto = S3Emulator::start().unwrap();
    let old = overwritten(&moto);
    // S3 answers the first conditional write of the manifest with 412, as
    // when another record replaced it between our read and our write.
    let conflict = Fault::on(
        |r: &PutObjectInput| r.key().is_some_and(|k| k.ends_with(".json")),
        || PutObjectError::generic(s3_error("PreconditionFailed")),
    )
    .once();
    let out = run(
        &store_with(&moto, &[&conflict]),
        event("ObjectCreated:Put", "20"),
    );
    assert_eq!(conflict.answered(), 1);
    assert_ne!(out.label(), "failed", "decided again, not failed: {out:?}");
    assert_eq!(variants(&moto).len(), 5);
    assert!(!variants(&moto).iter().any(|k| k.contains(&old)));
    assert_complete(&moto);
}

#[test]
fn a_503_while_removing_fails_for_the_retry() {
    let moto = S3Emulator::start().unwrap();
    moto.seed(&["uploads", "processed"], &[("uploads", KEY, png(64, 48))]);
    assert_eq!(
        run(&store_with(&moto, &[]), event("ObjectCreated:Put", "10")).label(),
        "processed"
    );
    moto.delete("uploads", KEY);
    let delete_webp = Fault::on(
        |r: &DeleteObjectInput| r.key().is_some_and(|k| k.contains("_webp_")),
        || DeleteObjectError::generic(s3_error("SlowDown")),
    );
    let out = run(
        &store_with(&moto, &[&delete_webp]),
        event("ObjectRemoved:Delete", "20"),
    );
    assert_eq!(out.label(), "failed", "{out:?}");
    assert!(
        manifest(&moto).is_none(),
        "the manifest goes first: it never names a deleted variant"
    );

    let out = run(&store_with(&moto, &[]), event("ObjectRemoved:Delete", "20"));
    assert_eq!(out.label(), "removed", "{out:?}");
    assert!(moto.keys("processed").is_empty());
}

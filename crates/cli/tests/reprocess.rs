//! `imgflow reprocess` against moto server as S3 (started on a free loopback
//! port; `pip install 'moto[server]'`, which scripts/test.sh does).

use image::{DynamicImage, ImageFormat};
use imgflow_testkit::fixtures::*;
use imgflow_testkit::S3Emulator;
use std::process::{Command, Output};

fn imgflow(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgflow"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("PROCESSED_BUCKET", "processed")
        .output()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn reprocess_redrives_a_prefix_and_single_objects() {
    let moto = S3Emulator::start().unwrap();
    let a = encode_with_image(&DynamicImage::ImageRgb8(gradient(80, 60)), ImageFormat::Png);
    let b = jpeg_rgb(&gradient(60, 40), &JpegOptions::default());
    moto.seed(
        &["uploads", "processed"],
        &[
            ("uploads", "photos/", vec![]),
            ("uploads", "photos/a.png", a.clone()),
            ("uploads", "photos/sub/b.jpg", b),
            ("uploads", "photos/readme.txt", b"text".to_vec()),
            ("uploads", "other/c.png", a),
        ],
    );

    let dry = imgflow(
        &moto.endpoint,
        &["reprocess", "--prefix", "s3://uploads/photos/", "--dry-run"],
    );
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("3 object(s)"),
        "the folder marker is not an object to process: {text}"
    );
    assert!(
        moto.keys("processed").is_empty(),
        "--dry-run writes nothing"
    );

    let run = imgflow(
        &moto.endpoint,
        &["reprocess", "--prefix", "s3://uploads/photos/"],
    );
    assert!(
        run.status.success(),
        "rejections are not failures: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("processed 2 · unchanged 0 · skipped 0 · rejected 1 · failed 0"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("photos/readme.txt: not_an_image"));
    assert_eq!(
        moto.keys("processed").len(),
        12,
        "five variants and a manifest each"
    );
    // Again: the same bytes, nothing encoded or written.
    let again = imgflow(
        &moto.endpoint,
        &["reprocess", "--prefix", "s3://uploads/photos/"],
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("processed 0 · unchanged 2"));

    // One object; the flags set the engine as they do for `process`.
    let one = imgflow(
        &moto.endpoint,
        &["reprocess", "s3://uploads/other/c.png", "--variants", "png"],
    );
    assert!(one.status.success());
    assert_eq!(moto.keys("processed").len(), 14);

    // S3 unreachable: failures are counted, named, and the exit status says so.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let failed = imgflow(&dead, &["reprocess", "s3://uploads/other/c.png"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("failed 1"));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("other/c.png: store_failed"));
    // One line with the causes, not the SDK's debug form of the error.
    assert!(
        stderr.contains("dispatch failure") && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("ServiceError") && !stderr.contains("Response {"),
        "{stderr}"
    );

    // A bucket that does not exist: S3's code and message, and the request id.
    let missing = imgflow(
        &moto.endpoint,
        &["reprocess", "--prefix", "s3://no-such-bucket/"],
    );
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot list s3://no-such-bucket/: ListObjectsV2: NoSuchBucket: The specified bucket does not exist (request id "),
        "{stderr}"
    );
    assert!(!stderr.contains("raw:"), "{stderr}");

    let usage = imgflow(&moto.endpoint, &["reprocess", "https://example.com/x.png"]);
    assert_eq!(usage.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("not an s3:// URL"));

    // A bad setting is a usage error naming the variable.
    let bad = imgflow(
        &moto.endpoint,
        &[
            "reprocess",
            "s3://uploads/other/c.png",
            "--processed-bucket",
            "Bad_Bucket",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--processed-bucket (or PROCESSED_BUCKET)=\"Bad_Bucket\""),
        "{stderr}"
    );

    // Nothing to process: the usage names both ways of saying what.
    let nothing = imgflow(&moto.endpoint, &["reprocess"]);
    assert_eq!(nothing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&nothing.stderr);
    assert!(stderr.contains("<S3_URL|--prefix <S3_URL>>"), "{stderr}");
}

#[test]
fn prune_deletes_what_gone_or_replaced_uploads_left() {
    let moto = S3Emulator::start().unwrap();
    let png = |w, h| encode_with_image(&DynamicImage::ImageRgb8(gradient(w, h)), ImageFormat::Png);
    moto.seed(
        &["uploads", "processed"],
        &[
            ("uploads", "photos/a.png", png(80, 60)),
            ("uploads", "photos/b.png", png(70, 50)),
            ("uploads", "legacy/c.png", png(60, 40)),
            ("uploads", "photos/aa.png", png(50, 30)),
        ],
    );
    let run = imgflow(&moto.endpoint, &["reprocess", "--prefix", "s3://uploads/"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(moto.keys("processed").len(), 24);
    // An old upload's variant an overwrite left (as before manifests),
    // b deleted while nothing handled deletes, c from before manifests.
    moto.put_with_metadata(
        "processed",
        "photos/a_png_00000000.png",
        png(8, 8),
        &[
            ("imgflow-variant", "png"),
            ("imgflow-source-key", "photos/a.png"),
        ],
    );
    moto.delete("uploads", "photos/b.png");
    moto.delete("processed", "legacy/c.png.json");
    // b's manifest, damaged: it also names a neighbour's variant (same
    // folder, another stem) and something else in the bucket. Neither
    // goes with b.
    let neighbours = moto.keys("processed");
    let aa_low = neighbours
        .iter()
        .find(|k| k.starts_with("photos/aa_low_"))
        .expect("aa's low variant");
    let mut b: serde_json::Value =
        serde_json::from_slice(&moto.get("processed", "photos/b.png.json").unwrap()).unwrap();
    let variants = b["variants"].as_array_mut().unwrap();
    let mut extra = variants[0].clone();
    extra["key"] = aa_low.as_str().into();
    variants.push(extra.clone());
    extra["key"] = "photos/a.png.json".into();
    variants.push(extra);
    moto.put(
        "processed",
        "photos/b.png.json",
        serde_json::to_vec(&b).unwrap(),
    );
    let before = moto.keys("processed");

    let prune = |extra: &[&str]| {
        let mut args = vec!["prune", "--upload-bucket", "uploads"];
        args.extend_from_slice(extra);
        imgflow(&moto.endpoint, &args)
    };
    let dry = prune(&["--min-age-minutes", "0", "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("would delete  photos/b.png.json  (its upload is gone)"),
        "{text}"
    );
    assert!(
        text.contains("would delete  photos/a_png_00000000.png  (replaced"),
        "{text}"
    );
    assert!(
        text.contains("1 manifest(s) and 6 variant(s)")
            && text.contains("5 variant(s) of uploads without a manifest"),
        "{text}"
    );
    assert!(
        !text.contains("aa_"),
        "a neighbour sharing the prefix stays: {text}"
    );
    assert_eq!(moto.keys("processed"), before, "--dry-run deletes nothing");

    // Everything is recent: the default minimum age leaves it all.
    let young = prune(&[]);
    assert!(String::from_utf8_lossy(&young.stdout).contains("deleted 0 object(s)"));
    assert_eq!(moto.keys("processed"), before);

    let real = prune(&["--min-age-minutes", "0"]);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert!(String::from_utf8_lossy(&real.stdout).contains("deleted 7 object(s)"));
    let left = moto.keys("processed");
    assert_eq!(left.len(), 17, "{left:?}");
    assert!(!left
        .iter()
        .any(|k| k.starts_with("photos/b") || k.contains("00000000")));

    // S3 unreachable: a clear failure.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let failed = imgflow(&dead, &["prune", "--upload-bucket", "uploads"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("cannot read s3://processed/"));
}

//! The shipped `bootstrap` binary under a Lambda Runtime API (the test kit's,
//! on loopback) against moto server as S3 (started on a free loopback port;
//! `pip install 'moto[server]'`, which scripts/test.sh does), with a UDP
//! listener as the X-Ray daemon.

use image::{DynamicImage, ImageFormat};
use imgflow_testkit::fixtures::*;
use imgflow_testkit::{s3_event, trace_header, LocalFunction, Reported, RuntimeApi, S3Emulator};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Creates the `uploads` and `processed` buckets and puts `objects` in uploads.
fn seed(moto: &S3Emulator, objects: &[(&str, Vec<u8>)]) {
    let objects: Vec<(&str, &str, Vec<u8>)> = objects
        .iter()
        .map(|(key, body)| ("uploads", *key, body.clone()))
        .collect();
    moto.seed(&["uploads", "processed"], &objects);
}

/// The shipped bootstrap binary against `endpoint`, with only the variables
/// Lambda would set plus `extra`.
fn start_function(api: &RuntimeApi, endpoint: &str, extra: &[(&str, &str)]) -> LocalFunction {
    let env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("PROCESSED_BUCKET", "processed"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    LocalFunction::start(Path::new(env!("CARGO_BIN_EXE_bootstrap")), api, &env).unwrap()
}

fn invoke(api: &RuntimeApi, event: Value, timeout_ms: u64) -> Reported {
    api.invoke(event, Duration::from_millis(timeout_ms))
        .expect("the function reported a result")
        .reported
}

/// Every stdout line as JSON (the function prints nothing else).
fn json_lines(function: &LocalFunction) -> Vec<Value> {
    function
        .lines_since(0, Duration::from_millis(200))
        .iter()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|_| panic!("stdout carries only JSON lines, got: {l}"))
        })
        .collect()
}

/// Checks one EMF record against the CloudWatch EMF specification.
fn assert_valid_emf(record: &Value) {
    let aws = &record["_aws"];
    assert!(
        aws["Timestamp"].as_u64().is_some(),
        "Timestamp in ms: {record}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics array");
    assert!(!directives.is_empty());
    for d in directives {
        assert!(d["Namespace"]
            .as_str()
            .is_some_and(|n| !n.is_empty() && n.len() <= 255));
        for set in d["Dimensions"].as_array().unwrap() {
            let set = set.as_array().unwrap();
            assert!(set.len() <= 30);
            for name in set {
                assert!(
                    record[name.as_str().unwrap()].is_string(),
                    "dimension {name} has a string value"
                );
            }
        }
        let metrics = d["Metrics"].as_array().unwrap();
        assert!(metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            let unit = m["Unit"].as_str().unwrap();
            assert!(
                imgflow_lambda::telemetry::emf::Unit::parse(unit).is_some(),
                "unit {unit}"
            );
            let def = imgflow_lambda::telemetry::catalog::metric(name)
                .unwrap_or_else(|| panic!("{name} is not in the catalog"));
            assert_eq!(def.unit.as_str(), unit);
            let v = &record[name];
            assert!(
                v.is_number()
                    || v.as_array()
                        .is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number))
            );
        }
    }
}

#[test]
fn s3_events_end_to_end() {
    let moto = S3Emulator::start().unwrap();
    let photo = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(320, 200)),
        ImageFormat::Png,
    );
    let jpeg = jpeg_rgb(&gradient(200, 100), &JpegOptions::default());
    seed(
        &moto,
        &[
            ("holiday photos/été 1.png", photo.clone()),
            ("b.jpg", jpeg.clone()),
            ("notes.txt", b"just text".to_vec()),
            ("empty.png", vec![]),
        ],
    );

    let api = RuntimeApi::start().unwrap();
    let function = start_function(&api, &moto.endpoint, &[("LOG_LEVEL", "DEBUG")]);

    // Two images in one event, with an encoded key.
    let event = s3_event(&[
        ("uploads", "holiday photos/été 1.png", photo.len() as u64),
        ("uploads", "b.jpg", jpeg.len() as u64),
    ]);
    assert_eq!(
        event["Records"][0]["s3"]["object"]["key"], "holiday+photos/%C3%A9t%C3%A9+1.png",
        "keys arrive encoded the way S3 encodes them"
    );
    let Reported::Response(body) = invoke(&api, event.clone(), 60_000) else {
        panic!("invocation failed")
    };
    assert_eq!(body["records"][0]["outcome"], "processed", "{body}");
    assert_eq!(body["records"][1]["outcome"], "processed");
    let first = moto.keys("processed");
    assert_eq!(
        first.len(),
        12,
        "five variants and a manifest each: {first:?}"
    );
    let id = imgflow_engine::naming::content_id(&photo);
    assert!(
        first.contains(&format!("holiday photos/été 1_webp_{id}.webp")),
        "{first:?}"
    );
    let head = moto.head("processed", &format!("holiday photos/été 1_webp_{id}.webp"));
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(
        head.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(head.metadata().unwrap()["imgflow-variant"], "webp");

    // The same event again: same keys, nothing encoded or written.
    let Reported::Response(body) = invoke(&api, event, 60_000) else {
        panic!("duplicate failed")
    };
    assert_eq!(body["records"][0]["outcome"], "unchanged", "{body}");
    assert_eq!(moto.keys("processed"), first);

    // Permanent problems succeed with nothing written; our own bucket is skipped.
    let event = s3_event(&[
        ("uploads", "notes.txt", 9),
        ("uploads", "empty.png", 0),
        ("uploads", "folder/", 0),
        ("processed", &first[0], 10),
    ]);
    let Reported::Response(body) = invoke(&api, event, 60_000) else {
        panic!("rejections must not fail")
    };
    let outcomes = outcomes(&body);
    assert_eq!(outcomes, ["rejected", "rejected", "rejected", "skipped"]);
    assert_eq!(moto.keys("processed"), first);

    // Everything on stdout is JSON: logs and valid EMF records.
    let lines = json_lines(&function);
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    emf.iter().for_each(|r| assert_valid_emf(r));
    let count = |metric: &str| emf.iter().filter(|r| r.get(metric).is_some()).count();
    assert_eq!(count("ColdStart"), 1, "once per cold start");
    assert_eq!(count("ImagesProcessed"), 2);
    assert_eq!(count("ManifestsWritten"), 2);
    assert_eq!(count("ImagesRejected"), 3);
    assert_eq!(count("BytesSaved"), 10, "one record per variant per image");
    let logs: Vec<&Value> = lines.iter().filter(|l| l.get("level").is_some()).collect();
    let processed = logs
        .iter()
        .find(|l| l["message"] == "image processed")
        .unwrap();
    for field in [
        "timestamp",
        "request_id",
        "xray_trace_id",
        "cold_start",
        "function_name",
        "key",
    ] {
        assert!(
            processed.get(field).is_some(),
            "{field} missing from {processed}"
        );
    }
    assert_eq!(
        logs.iter()
            .filter(|l| l["message"] == "variant written")
            .count(),
        10,
        "DEBUG: one line per variant"
    );
    assert!(logs.iter().any(|l| l["level"] == "ERROR"
        && l["reason"] == "not_an_image"
        && l["key"] == "notes.txt"));
}

/// The variants an upload's manifest names, and the manifest itself.
fn manifest(moto: &S3Emulator, key: &str) -> Option<Value> {
    let body = moto.get("processed", &format!("{key}.json"))?;
    Some(serde_json::from_slice(&body).expect("a manifest is JSON"))
}

fn manifest_variants(m: &Value) -> Vec<String> {
    let mut keys: Vec<String> = m["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

/// Each record's outcome in an invocation's response.
fn outcomes(body: &Value) -> Vec<&str> {
    body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["outcome"].as_str().expect("an outcome"))
        .collect()
}

fn outcome_of(api: &RuntimeApi, event: Value) -> Value {
    let Reported::Response(body) = invoke(api, event, 60_000) else {
        panic!("the invocation failed")
    };
    body["records"][0].clone()
}

#[test]
fn variants_follow_their_upload() {
    let moto = S3Emulator::start().unwrap();
    seed(&moto, &[]);
    let api = RuntimeApi::start().unwrap();
    let _function = start_function(&api, &moto.endpoint, &[]);
    let key = "trips/moon walk/astronaut.png";
    let first = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(120, 80)),
        ImageFormat::Png,
    );
    let second = jpeg_rgb(&gradient(90, 60), &JpegOptions::default());
    let put =
        |seq: &str| imgflow_testkit::s3_change("ObjectCreated:Put", "uploads", key, seq, None);

    // Upload: a manifest naming five variants, all there.
    moto.put("uploads", key, first.clone());
    assert_eq!(outcome_of(&api, put("0A01"))["outcome"], "processed");
    let m = manifest(&moto, key).expect("the manifest");
    let named = manifest_variants(&m);
    assert_eq!(named.len(), 5);
    let mut stored = moto.keys("processed");
    stored.retain(|k| !k.ends_with(".json"));
    assert_eq!(stored, named);
    assert_eq!(m["source"]["sequencer"], "0A01");
    assert_eq!(m["source"]["format"], "PNG");
    assert_eq!(m["source"]["key"], key);
    let head = moto.head("processed", &format!("{key}.json"));
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.cache_control(), Some("no-cache"));

    // Overwrite: a new manifest, the old variants gone.
    moto.put("uploads", key, second.clone());
    let record = outcome_of(&api, put("0A02"));
    assert_eq!(record["outcome"], "processed", "{record}");
    let m2 = manifest(&moto, key).unwrap();
    assert_eq!(m2["source"]["format"], "JPEG");
    let mut stored = moto.keys("processed");
    stored.retain(|k| !k.ends_with(".json"));
    assert_eq!(
        stored,
        manifest_variants(&m2),
        "only the new upload's variants"
    );
    let after = moto.keys("processed");

    // The first upload's event replayed: no change.
    let record = outcome_of(&api, put("0A01"));
    assert_eq!(record["reason"], "superseded", "{record}");
    assert_eq!(moto.keys("processed"), after);
    assert_eq!(manifest(&moto, key).unwrap(), m2);

    // Delete: nothing left.
    moto.delete("uploads", key);
    let record = outcome_of(
        &api,
        imgflow_testkit::s3_change("ObjectRemoved:Delete", "uploads", key, "0A03", None),
    );
    assert_eq!(record["outcome"], "removed", "{record}");
    assert!(
        moto.keys("processed").is_empty(),
        "{:?}",
        moto.keys("processed")
    );

    // A late create after the delete: nothing written.
    let record = outcome_of(&api, put("0A02"));
    assert_eq!(record["reason"], "gone", "{record}");
    assert!(moto.keys("processed").is_empty());
}

/// A key of 791 bytes of UTF-8 takes 2373 percent-encoded, past the 2 KB
/// of metadata S3 allows: its variants carry it base64-encoded, and the
/// delete finds them by it.
#[test]
fn a_long_non_ascii_key_is_processed_and_its_variants_removed() {
    let moto = S3Emulator::start().unwrap();
    seed(&moto, &[]);
    let api = RuntimeApi::start().unwrap();
    let _function = start_function(&api, &moto.endpoint, &[]);
    let key = format!("写真/{}.png", "猫".repeat(260));
    assert_eq!(key.len(), 791);
    let photo = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(120, 80)),
        ImageFormat::Png,
    );
    moto.put("uploads", &key, photo);
    let put = imgflow_testkit::s3_change("ObjectCreated:Put", "uploads", &key, "0B01", None);
    let record = outcome_of(&api, put);
    assert_eq!(record["outcome"], "processed", "{record}");
    let variants = manifest_variants(&manifest(&moto, &key).expect("the manifest"));
    assert_eq!(variants.len(), 5);
    for variant in &variants {
        let head = moto.head("processed", variant);
        let value = &head.metadata().unwrap()["imgflow-source-key"];
        assert!(value.starts_with("base64:"), "{value}");
        assert_eq!(imgflow_lambda::store::metadata_text(value), key);
    }

    moto.delete("uploads", &key);
    let removed = imgflow_testkit::s3_change("ObjectRemoved:Delete", "uploads", &key, "0B02", None);
    let record = outcome_of(&api, removed);
    assert_eq!(record["outcome"], "removed", "{record}");
    assert!(
        moto.keys("processed").is_empty(),
        "{:?}",
        moto.keys("processed")
    );
}

/// An upload stored in Glacier cannot be read until it is restored: a
/// rejection that says so, not three attempts and the failed-events queue.
#[test]
fn an_archived_upload_is_rejected_with_what_to_do() {
    let moto = S3Emulator::start().unwrap();
    seed(&moto, &[]);
    let api = RuntimeApi::start().unwrap();
    let function = start_function(&api, &moto.endpoint, &[]);
    let photo = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(120, 80)),
        ImageFormat::Png,
    );
    moto.put_archived("uploads", "old/scan.png", photo);
    let put =
        imgflow_testkit::s3_change("ObjectCreated:Put", "uploads", "old/scan.png", "0C01", None);
    let record = outcome_of(&api, put);
    assert_eq!(record["outcome"], "rejected", "{record}");
    assert_eq!(record["reason"], "archived", "{record}");
    let logged = json_lines(&function)
        .into_iter()
        .find(|l| l["reason"] == "archived")
        .expect("the rejection is logged");
    let message = logged["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("s3://uploads/old/scan.png is in an archive storage class: restore it"),
        "{logged}"
    );
    assert!(moto.keys("processed").is_empty());
}

#[test]
fn a_delete_marker_removes_the_variants_of_a_versioned_upload() {
    let moto = S3Emulator::start().unwrap();
    seed(&moto, &[]);
    moto.enable_versioning("uploads");
    let api = RuntimeApi::start().unwrap();
    let _function = start_function(&api, &moto.endpoint, &[]);
    let key = "v/photo.jpg";
    let photo = jpeg_rgb(&gradient(100, 70), &JpegOptions::default());
    let v1 = moto.put("uploads", key, photo).expect("a version id");
    let created =
        |seq: &str| imgflow_testkit::s3_change("ObjectCreated:Put", "uploads", key, seq, Some(&v1));
    assert_eq!(outcome_of(&api, created("10"))["outcome"], "processed");
    assert_eq!(
        manifest(&moto, key).unwrap()["source"]["version_id"],
        v1.as_str()
    );
    assert_eq!(moto.keys("processed").len(), 6);

    let marker = moto.delete("uploads", key).expect("a delete marker");
    let record = outcome_of(
        &api,
        imgflow_testkit::s3_change(
            "ObjectRemoved:DeleteMarkerCreated",
            "uploads",
            key,
            "20",
            Some(&marker),
        ),
    );
    assert_eq!(record["outcome"], "removed", "{record}");
    assert!(moto.keys("processed").is_empty());

    // The create again, late: its version still exists, but it is not
    // the current object any more.
    let record = outcome_of(&api, created("10"));
    assert_eq!(record["outcome"], "skipped", "{record}");
    assert!(moto.keys("processed").is_empty());
}

/// Phone photos: HEIC uploads (made from the committed photo by
/// pillow-heif) give the five variants, turned and with alpha as libheif
/// shows them; an AVIF is rejected naming its format.
#[test]
fn heic_uploads_give_the_five_variants() {
    let corpus = imgflow_testkit::heic::make_heic_corpus(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("heic-lambda"),
        &["orient6", "alpha", "avif"],
    );
    let turned = corpus.case("orient6");
    let alpha = corpus.case("alpha");
    let uploads = [
        ("DCIM/IMG_0001.HEIC", turned.bytes()),
        ("DCIM/IMG_0002.heic", alpha.bytes()),
        ("DCIM/IMG_0003.avif", corpus.avif()),
    ];
    let moto = S3Emulator::start().unwrap();
    seed(&moto, &uploads);
    let api = RuntimeApi::start().unwrap();
    let function = start_function(&api, &moto.endpoint, &[]);
    let records: Vec<(&str, &str, u64)> = uploads
        .iter()
        .map(|(key, body)| ("uploads", *key, body.len() as u64))
        .collect();
    let Reported::Response(body) = invoke(&api, s3_event(&records), 60_000) else {
        panic!("invocation failed")
    };
    let outcomes = outcomes(&body);
    assert_eq!(outcomes, ["processed", "processed", "rejected"], "{body}");
    assert_eq!(
        moto.keys("processed").len(),
        12,
        "five variants and a manifest each"
    );

    let png_of = |stem: &str, source: &[u8]| {
        let id = imgflow_engine::naming::content_id(source);
        let png = moto.get("processed", &format!("DCIM/{stem}_png_{id}.png"));
        image::load_from_memory(&png.expect("the png variant")).unwrap()
    };
    for (case, stem) in [(turned, "IMG_0001"), (alpha, "IMG_0002")] {
        let png = png_of(stem, &case.bytes());
        let (rgb, luma) = imgflow_testkit::heic::psnr(&png, &case.reference(), 255.0);
        assert!(luma >= 45.0 && rgb >= 36.0, "{stem}: {rgb:.1}/{luma:.1} dB");
        assert_eq!(png.color().has_alpha(), case.has_alpha(), "{stem}");
    }
    let id = imgflow_engine::naming::content_id(&alpha.bytes());
    let webp = moto
        .get("processed", &format!("DCIM/IMG_0002_webp_{id}.webp"))
        .expect("the webp variant");
    assert!(image::load_from_memory(&webp).unwrap().color().has_alpha());

    let lines = json_lines(&function);
    assert!(
        lines.iter().any(|l| l["level"] == "ERROR"
            && l["reason"] == "unsupported_format"
            && l["key"] == "DCIM/IMG_0003.avif"
            && l.to_string().contains("AVIF")),
        "{lines:#?}"
    );
}

#[test]
fn info_level_has_one_line_per_image() {
    let moto = S3Emulator::start().unwrap();
    let photo = encode_with_image(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png);
    seed(&moto, &[("a.png", photo.clone())]);
    let api = RuntimeApi::start().unwrap();
    let function = start_function(&api, &moto.endpoint, &[("LOG_LEVEL", "info")]);
    let Reported::Response(_) = invoke(
        &api,
        s3_event(&[("uploads", "a.png", photo.len() as u64)]),
        60_000,
    ) else {
        panic!("invocation failed")
    };
    let lines = json_lines(&function);
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"image processed"));
    assert!(
        !messages.contains(&"variant written"),
        "no per-variant lines at INFO"
    );
    assert!(lines.iter().all(|l| l["level"] != "DEBUG"));
}

#[test]
fn unreachable_s3_fails_within_the_deadline_and_keeps_serving() {
    // Nothing listens on this port.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let api = RuntimeApi::start().unwrap();
    let _function = start_function(&api, &dead, &[("DEADLINE_MARGIN_MS", "500")]);
    let event = s3_event(&[("uploads", "a.png", 100)]);
    for _ in 0..2 {
        let started = Instant::now();
        let reported = invoke(&api, event.clone(), 4_000);
        assert!(
            started.elapsed() < Duration::from_millis(4_000),
            "reported before the deadline"
        );
        let Reported::Error(body) = reported else {
            panic!("a transient failure must fail the invocation")
        };
        let message = body.to_string();
        assert!(message.contains("a.png"), "{message}");
    }
}

/// An X-Ray daemon stand-in: every UDP datagram received on a loopback port.
struct XrayDaemon {
    address: String,
    datagrams: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl XrayDaemon {
    fn start() -> XrayDaemon {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = socket.local_addr().unwrap().to_string();
        let (tx, datagrams) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = socket.recv(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        XrayDaemon { address, datagrams }
    }

    /// The segment documents received until none arrives for `quiet`.
    fn documents(&self, quiet: Duration) -> Vec<Value> {
        let mut docs = Vec::new();
        while let Ok(datagram) = self.datagrams.recv_timeout(quiet) {
            let text = String::from_utf8(datagram).unwrap();
            let (header, body) = text
                .split_once('\n')
                .expect("header line, then the document");
            assert_eq!(
                serde_json::from_str::<Value>(header).unwrap(),
                serde_json::json!({"format": "json", "version": 1}),
                "the daemon protocol header"
            );
            docs.push(serde_json::from_str(body).unwrap());
        }
        docs
    }
}

#[test]
fn xray_subsegments_hang_under_the_lambda_segment() {
    let moto = S3Emulator::start().unwrap();
    let photo = encode_with_image(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png);
    seed(
        &moto,
        &[("a.png", photo.clone()), ("notes.txt", b"text".to_vec())],
    );
    let daemon = XrayDaemon::start();
    let api = RuntimeApi::start().unwrap();
    // LOG_LEVEL=ERROR: traces do not depend on the log level.
    let _function = start_function(
        &api,
        &moto.endpoint,
        &[
            ("AWS_XRAY_DAEMON_ADDRESS", &daemon.address),
            ("LOG_LEVEL", "ERROR"),
        ],
    );
    let event = s3_event(&[
        ("uploads", "a.png", photo.len() as u64),
        ("uploads", "notes.txt", 4),
    ]);

    let header = trace_header(true);
    let root = header
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("Root=")
        .unwrap();
    let lambda_segment = header
        .split(';')
        .nth(1)
        .unwrap()
        .strip_prefix("Parent=")
        .unwrap();
    let done = api
        .invoke_traced(event.clone(), Duration::from_secs(60), &header)
        .unwrap();
    assert!(matches!(done.reported, Reported::Response(_)));
    let docs = daemon.documents(Duration::from_millis(1500));

    // Every document: an independent subsegment of this trace, unique ids.
    let mut ids = std::collections::HashSet::new();
    for d in &docs {
        assert_eq!(d["type"], "subsegment", "{d}");
        assert_eq!(d["trace_id"], root, "{d}");
        let id = d["id"].as_str().unwrap();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{d}"
        );
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
        assert!(d["start_time"].as_f64().unwrap() <= d["end_time"].as_f64().unwrap());
    }
    let by_id = |id: &Value| docs.iter().find(|d| d["id"] == *id);
    let children = |parent: &Value| -> Vec<&Value> {
        docs.iter()
            .filter(|d| d["parent_id"] == parent["id"])
            .collect()
    };
    let nested_in = |child: &Value, parent: &Value| {
        child["start_time"].as_f64().unwrap() >= parent["start_time"].as_f64().unwrap() - 1e-3
            && child["end_time"].as_f64().unwrap() <= parent["end_time"].as_f64().unwrap() + 1e-3
    };

    // The invocation hangs under the segment Lambda made (the header's Parent).
    let invocation: Vec<&Value> = docs
        .iter()
        .filter(|d| d["parent_id"] == lambda_segment)
        .collect();
    assert_eq!(invocation.len(), 1, "{docs:#?}");
    let invocation = invocation[0];
    assert_eq!(invocation["name"], "imgflow");

    // Its children: one subsegment per record, annotated with the outcome.
    let records = children(invocation);
    assert_eq!(records.len(), 2, "{records:#?}");
    let record = |outcome: &str| {
        *records
            .iter()
            .find(|r| r["annotations"]["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {outcome} record in {records:#?}"))
    };
    let rejected = record("rejected");
    assert_eq!(rejected["annotations"]["reason"], "not_an_image");
    let processed = record("processed");
    for r in &records {
        assert!(nested_in(r, invocation));
    }

    // Under the processed record: the S3 calls, decode, each encode, each put.
    let steps = children(processed);
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "decode").count(),
        1,
        "{names:?}"
    );
    let mut encoded: Vec<&str> = steps
        .iter()
        .filter(|s| s["name"].as_str().unwrap().starts_with("encode "))
        .map(|s| s["annotations"]["variant"].as_str().unwrap())
        .collect();
    encoded.sort();
    assert_eq!(encoded, ["compressed", "low", "png", "thumbnail", "webp"]);
    let s3_calls: Vec<&&Value> = steps.iter().filter(|s| s["name"] == "S3").collect();
    let operations: Vec<&str> = s3_calls
        .iter()
        .map(|s| s["aws"]["operation"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        operations.iter().filter(|o| **o == "PutObject").count(),
        5,
        "{s3_calls:#?}"
    );
    assert!(operations.contains(&"GetObject"), "{operations:?}");
    for s in &steps {
        assert!(nested_in(s, processed), "{s}");
        assert!(by_id(&s["parent_id"]).is_some());
    }
    let webp = steps
        .iter()
        .find(|s| s["annotations"]["variant"] == "webp" && s["name"] != "S3")
        .unwrap();
    assert!(
        webp.to_string().contains("\"bytes\""),
        "bytes in the metadata: {webp}"
    );

    // Sampled=0: nothing is sent.
    let unsampled = trace_header(false);
    api.invoke_traced(event, Duration::from_secs(60), &unsampled)
        .unwrap();
    assert!(daemon.documents(Duration::from_millis(1000)).is_empty());
}

#[test]
fn a_bad_setting_stops_the_init_naming_the_variable() {
    let api = RuntimeApi::start().unwrap();
    for (variable, value) in [
        ("JPEG_QUALITY", "abc"),
        ("LOG_LEVEL", "loud"),
        ("AWS_XRAY_DAEMON_ADDRESS", "nowhere"),
        ("PROCESSED_BUCKET", ""),
    ] {
        let mut function = start_function(&api, "http://127.0.0.1:9", &[(variable, value)]);
        let status = function
            .wait_exit(Duration::from_secs(10))
            .expect("init stops");
        assert!(!status.success());
        let lines = json_lines(&function);
        assert!(
            lines.iter().any(|l| l["level"] == "ERROR"
                && l["error"].as_str().is_some_and(|e| e.contains(variable))),
            "{variable}: {lines:?}"
        );
    }
    assert!(
        api.wait_for_next(Duration::from_millis(100)).is_none(),
        "never asked for an event"
    );
}

/// Uploads just under the default pixel limit, made here (never committed),
/// through the bootstrap at a Lambda memory size: the function's peak
/// resident memory (what Lambda counts) and its response. Slow: these run
/// in scripts/test.sh with `--ignored`.
mod large_uploads {
    use super::*;
    use imgflow_testkit::memory_kib;

    const MIB: u64 = 1024;

    /// The 100 MP upload as a PNG and as a JPEG, made once for the tests
    /// below (or by the memory tests beside them: `large_uploads`).
    fn large_uploads() -> &'static (Vec<u8>, Vec<u8>) {
        static MADE: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
        MADE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let (png, jpeg) = imgflow_testkit::fixtures::large_uploads(dir.path()).unwrap();
            (std::fs::read(png).unwrap(), std::fs::read(jpeg).unwrap())
        })
    }

    fn large_png() -> Vec<u8> {
        large_uploads().0.clone()
    }

    fn large_jpeg() -> Vec<u8> {
        large_uploads().1.clone()
    }

    /// Runs the bootstrap at `memory_mb` (and the variables `extra`)
    /// against a fresh emulator holding `objects`, invokes it once with all
    /// of them in one event, and returns the response, the process's peak
    /// resident memory (KiB), its output lines and the emulator.
    fn invoke_at(
        memory_mb: &str,
        extra: &[(&str, &str)],
        objects: &[(&str, Vec<u8>)],
    ) -> (Value, u64, Vec<Value>, S3Emulator) {
        let moto = S3Emulator::start().unwrap();
        seed(&moto, objects);
        let api = RuntimeApi::start().unwrap();
        let function = start_function(
            &api,
            &moto.endpoint,
            &[&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb)], extra].concat(),
        );
        let records: Vec<(&str, &str, u64)> = objects
            .iter()
            .map(|(key, body)| ("uploads", *key, body.len() as u64))
            .collect();
        let Reported::Response(body) = invoke(&api, s3_event(&records), 900_000) else {
            panic!("the invocation failed")
        };
        let (peak, _) = memory_kib(function.pid()).expect("/proc/PID/status");
        let lines = json_lines(&function);
        (body, peak, lines, moto)
    }

    #[test]
    #[ignore = "slow: two 100 MP images (scripts/test.sh runs it)"]
    fn two_100_megapixel_rgba_pngs_in_one_event_at_2048_mb() {
        let png = large_png();
        assert!(png.len() < 100 << 20, "inside MAX_INPUT_BYTES");
        let (body, peak, lines, moto) = invoke_at(
            "2048",
            &[],
            &[("big/one.png", png.clone()), ("big/two.png", png)],
        );
        for record in body["records"].as_array().unwrap() {
            assert_eq!(record["outcome"], "processed", "{body}");
        }
        assert_eq!(
            moto.keys("processed").len(),
            12,
            "five variants and a manifest each"
        );
        println!("2048 MB, two 100 MP RGBA PNGs: peak {} MiB", peak / MIB);
        assert!(
            peak < 2048 * MIB * 9 / 10,
            "peak {} MiB, over 90% of 2048 MB",
            peak / MIB
        );
        // The function reports its own peak against the memory size.
        let reported = lines
            .iter()
            .find_map(|l| l["MemoryUtilization"].as_f64())
            .expect("a MemoryUtilization record");
        assert!(reported > 0.0 && reported < 90.0, "{reported}");
    }

    #[test]
    #[ignore = "slow: 100 MP images (scripts/test.sh runs it)"]
    fn at_1024_mb_a_100_megapixel_upload_is_processed_or_refused_up_front() {
        for (key, bytes) in [("big.png", large_png()), ("big.jpg", large_jpeg())] {
            // What the function's admission will say (its budget: the memory
            // size less the process's reserve).
            let inspection =
                imgflow_engine::inspect(&bytes, &imgflow_engine::Settings::default(), 2).unwrap();
            let budget = (1024 - imgflow_lambda::config::PROCESS_RESERVE_MIB) << 20;
            let fits = inspection.leanest().0 <= budget;
            let (body, peak, lines, moto) = invoke_at("1024", &[], &[(key, bytes)]);
            let record = &body["records"][0];
            println!(
                "1024 MB, {key}: {} (peak {} MiB)",
                record["outcome"],
                peak / MIB
            );
            if fits {
                assert_eq!(record["outcome"], "processed", "{body}");
                assert_eq!(
                    moto.keys("processed").len(),
                    6,
                    "five variants and a manifest"
                );
                assert!(peak < 1024 * MIB, "peak {} MiB", peak / MIB);
            } else {
                assert_eq!(record["outcome"], "rejected", "{body}");
                let log = lines
                    .iter()
                    .find(|l| l["reason"] == "too_large_for_memory" && l["key"] == key)
                    .unwrap_or_else(|| panic!("no too_large_for_memory line: {lines:?}"));
                assert!(log.to_string().contains("memory size of at least"), "{log}");
                assert!(moto.keys("processed").is_empty());
                // Refused from the header: not a pixel decoded.
                assert!(peak < 200 * MIB, "peak {} MiB", peak / MIB);
            }
        }
    }

    #[test]
    #[ignore = "slow: a 95 MP image (scripts/test.sh runs it)"]
    fn at_2048_mb_a_95_megapixel_webp_that_overflows_its_control_partition_is_processed() {
        // Admitted lean at 2048 MB: the WebP without the token buffer, whose
        // modes overflow VP8's control partition at libwebp's defaults. The
        // WebP alone: the other variants at 100 MP are the tests' above.
        let (w, h) = CONTROL_PARTITION_OVERFLOW_SIZE;
        let png = png_fast(&DynamicImage::ImageRgb8(control_partition_overflow(w, h)));
        let (body, peak, lines, moto) =
            invoke_at("2048", &[("VARIANTS", "webp")], &[("big/cells.png", png)]);
        assert_eq!(body["records"][0]["outcome"], "processed", "{body}");
        assert_eq!(moto.keys("processed").len(), 2, "the WebP and a manifest");
        assert!(
            lines.iter().any(|l| l["message"]
                .as_str()
                .is_some_and(|m| m.contains("control partition overflowed"))),
            "the WebP was not encoded again: the fixture no longer overflows \
             with this libwebp (find another size or content)"
        );
        println!(
            "2048 MB, a 95 MP PNG whose WebP overflows: peak {} MiB",
            peak / MIB
        );
        assert!(peak < 2048 * MIB * 9 / 10, "peak {} MiB", peak / MIB);
    }
}

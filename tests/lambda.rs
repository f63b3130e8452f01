//! The shipped `bootstrap` binary under a Lambda Runtime API (this file's own
//! small implementation, on loopback) against moto server as S3 (started on a
//! free loopback port; `pip install 'moto[server]'`, which scripts/test.sh does).

mod common;

use aws_sdk_s3::primitives::ByteStream;
use common::*;
use image::{DynamicImage, ImageFormat};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// moto server on a free port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server not found: pip install 'moto[server]' (scripts/test.sh does)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version_latest()
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .force_path_style(true)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An invocation's result as the runtime reported it.
#[derive(Debug)]
enum Reported {
    Response(Value),
    Error(Value),
}

/// A minimal Lambda Runtime API: hands out queued events on `/next` and
/// collects `/response` and `/error` posts.
struct RuntimeApi {
    address: String,
    events: Sender<(Value, u64)>,
    results: Receiver<(String, Reported)>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

impl RuntimeApi {
    fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events_tx, events_rx) = channel::<(Value, u64)>();
        let (results_tx, results_rx) = channel();
        let events_rx = Arc::new(Mutex::new(events_rx));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let events = Arc::clone(&events_rx);
                let results = results_tx.clone();
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    let mut counter = 0u32;
                    while let Some((method, path, body)) = read_request(&mut reader) {
                        if method == "GET" && path.ends_with("/invocation/next") {
                            let Ok((event, timeout_ms)) = events.lock().unwrap().recv() else {
                                return;
                            };
                            counter += 1;
                            let id = format!("req-{}-{counter}", std::process::id());
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_millis() as u64
                                + timeout_ms;
                            let body = event.to_string();
                            let _ = write!(
                                writer,
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:imgflow\r\n\
                                 Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\n\
                                 Content-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                        } else {
                            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let id = path.split('/').rev().nth(1).unwrap_or_default().to_owned();
                            let reported = if path.ends_with("/error") {
                                Reported::Error(value)
                            } else {
                                Reported::Response(value)
                            };
                            let _ = results.send((id, reported));
                            let _ = write!(
                                writer,
                                "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
                            );
                        }
                        let _ = writer.flush();
                    }
                });
            }
        });
        RuntimeApi {
            address,
            events: events_tx,
            results: results_rx,
        }
    }

    fn invoke(&self, event: Value, timeout_ms: u64) -> Reported {
        self.events.send((event, timeout_ms)).unwrap();
        let (_, reported) = self
            .results
            .recv_timeout(Duration::from_secs(60))
            .expect("the function reported a result");
        reported
    }
}

/// The bootstrap binary, its stdout collected line by line.
struct Function {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Function {
    fn start(runtime: &RuntimeApi, endpoint: &str, extra_env: &[(&str, &str)]) -> Function {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "imgflow")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/imgflow")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("PROCESSED_BUCKET", "processed")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Function { child, lines }
    }

    fn json_lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|_| panic!("stdout carries only JSON lines, got: {l}"))
            })
            .collect()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3_event(records: &[(&str, &str, u64)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(bucket, key, size)| {
            serde_json::json!({
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                       "object": {"key": key, "size": size}}
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn listing(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
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
                imgflow::telemetry::emf::Unit::parse(unit).is_some(),
                "unit {unit}"
            );
            let def = imgflow::telemetry::catalog::metric(name)
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
    let moto = Moto::start();
    let rt = runtime();
    let client = s3(&moto.endpoint);
    let photo = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(320, 200)),
        ImageFormat::Png,
    );
    let jpeg = jpeg_rgb(&gradient(200, 100), &JpegOptions::default());
    rt.block_on(async {
        for b in ["uploads", "processed"] {
            client.create_bucket().bucket(b).send().await.unwrap();
        }
        for (key, body) in [
            ("holiday photos/été 1.png", photo.clone()),
            ("b.jpg", jpeg.clone()),
            ("notes.txt", b"just text".to_vec()),
            ("empty.png", vec![]),
        ] {
            client
                .put_object()
                .bucket("uploads")
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .unwrap();
        }
    });

    let api = RuntimeApi::start();
    let function = Function::start(&api, &moto.endpoint, &[("LOG_LEVEL", "DEBUG")]);

    // Two images in one event, with an encoded key.
    let event = s3_event(&[
        (
            "uploads",
            "holiday+photos/%C3%A9t%C3%A9+1.png",
            photo.len() as u64,
        ),
        ("uploads", "b.jpg", jpeg.len() as u64),
    ]);
    let Reported::Response(body) = api.invoke(event.clone(), 60_000) else {
        panic!("invocation failed")
    };
    assert_eq!(body["records"][0]["outcome"], "processed", "{body}");
    assert_eq!(body["records"][1]["outcome"], "processed");
    let first = rt.block_on(listing(&client, "processed"));
    assert_eq!(first.len(), 10, "{first:?}");
    let id = imgflow::naming::content_id(&photo);
    assert!(
        first.contains(&format!("holiday photos/été 1_webp_{id}.webp")),
        "{first:?}"
    );
    let head = rt
        .block_on(
            client
                .head_object()
                .bucket("processed")
                .key(format!("holiday photos/été 1_webp_{id}.webp"))
                .send(),
        )
        .unwrap();
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(
        head.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(head.metadata().unwrap()["imgflow-variant"], "webp");

    // The same event again: same keys, nothing new.
    let Reported::Response(_) = api.invoke(event, 60_000) else {
        panic!("duplicate failed")
    };
    assert_eq!(rt.block_on(listing(&client, "processed")), first);

    // Permanent problems succeed with nothing written; our own bucket is skipped.
    let event = s3_event(&[
        ("uploads", "notes.txt", 9),
        ("uploads", "empty.png", 0),
        ("uploads", "folder/", 0),
        ("processed", &first[0].replace(' ', "+"), 10),
    ]);
    let Reported::Response(body) = api.invoke(event, 60_000) else {
        panic!("rejections must not fail")
    };
    let outcomes: Vec<&str> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["rejected", "rejected", "rejected", "skipped"]);
    assert_eq!(rt.block_on(listing(&client, "processed")), first);

    // Everything on stdout is JSON: logs and valid EMF records.
    std::thread::sleep(Duration::from_millis(200));
    let lines = function.json_lines();
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    emf.iter().for_each(|r| assert_valid_emf(r));
    let count = |metric: &str| emf.iter().filter(|r| r.get(metric).is_some()).count();
    assert_eq!(count("ColdStart"), 1, "once per cold start");
    assert_eq!(count("ImagesProcessed"), 4);
    assert_eq!(count("ImagesRejected"), 3);
    assert_eq!(count("BytesSaved"), 20, "one record per variant per image");
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
        20,
        "DEBUG: one line per variant"
    );
    assert!(logs.iter().any(|l| l["level"] == "ERROR"
        && l["reason"] == "not_an_image"
        && l["key"] == "notes.txt"));
}

#[test]
fn info_level_has_one_line_per_image() {
    let moto = Moto::start();
    let rt = runtime();
    let client = s3(&moto.endpoint);
    let photo = encode_with_image(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png);
    rt.block_on(async {
        for b in ["uploads", "processed"] {
            client.create_bucket().bucket(b).send().await.unwrap();
        }
        client
            .put_object()
            .bucket("uploads")
            .key("a.png")
            .body(ByteStream::from(photo.clone()))
            .send()
            .await
            .unwrap();
    });
    let api = RuntimeApi::start();
    let function = Function::start(&api, &moto.endpoint, &[("LOG_LEVEL", "info")]);
    let Reported::Response(_) = api.invoke(
        s3_event(&[("uploads", "a.png", photo.len() as u64)]),
        60_000,
    ) else {
        panic!("invocation failed")
    };
    std::thread::sleep(Duration::from_millis(200));
    let lines = function.json_lines();
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
    let api = RuntimeApi::start();
    let _function = Function::start(&api, &dead, &[("DEADLINE_MARGIN_MS", "500")]);
    let event = s3_event(&[("uploads", "a.png", 100)]);
    for _ in 0..2 {
        let started = Instant::now();
        let reported = api.invoke(event.clone(), 4_000);
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

fn imgflow_cli(endpoint: &str, args: &[&str]) -> std::process::Output {
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

#[test]
fn reprocess_redrives_a_prefix_and_single_objects() {
    let moto = Moto::start();
    let rt = runtime();
    let client = s3(&moto.endpoint);
    let a = encode_with_image(&DynamicImage::ImageRgb8(gradient(80, 60)), ImageFormat::Png);
    let b = jpeg_rgb(&gradient(60, 40), &JpegOptions::default());
    rt.block_on(async {
        for bucket in ["uploads", "processed"] {
            client.create_bucket().bucket(bucket).send().await.unwrap();
        }
        for (key, body) in [
            ("photos/", vec![]),
            ("photos/a.png", a.clone()),
            ("photos/sub/b.jpg", b.clone()),
            ("photos/readme.txt", b"text".to_vec()),
            ("other/c.png", a.clone()),
        ] {
            client
                .put_object()
                .bucket("uploads")
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .unwrap();
        }
    });

    let dry = imgflow_cli(
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
        rt.block_on(listing(&client, "processed")).is_empty(),
        "--dry-run writes nothing"
    );

    let run = imgflow_cli(
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
        text.contains("processed 2 · skipped 0 · rejected 1 · failed 0"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("photos/readme.txt: not_an_image"));
    assert_eq!(rt.block_on(listing(&client, "processed")).len(), 10);

    let one = imgflow_cli(&moto.endpoint, &["reprocess", "s3://uploads/other/c.png"]);
    assert!(one.status.success());
    assert_eq!(rt.block_on(listing(&client, "processed")).len(), 15);

    // S3 unreachable: failures are counted and the exit status says so.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let failed = imgflow_cli(&dead, &["reprocess", "s3://uploads/other/c.png"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("failed 1"));

    let usage = imgflow_cli(&moto.endpoint, &["reprocess", "https://example.com/x.png"]);
    assert_eq!(usage.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("not an s3:// URL"));
}

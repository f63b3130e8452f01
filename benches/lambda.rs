//! `cargo bench --bench lambda`: what the Lambda binary costs besides the
//! engine — cold start (process start to the first `GET /invocation/next`),
//! memory after init, and the warm overhead of one S3 event (round trip minus
//! the engine's own time) — with the shipped `bootstrap` under a loopback
//! Runtime API against moto server, and a Python + Pillow function's init
//! measured the same way for comparison.
//!
//! Options (after `--`): `--cold-starts N` (20), `--invocations N` (30),
//! `--image FILE` (samples/astronaut.png), `--endpoint URL` (an S3 emulator
//! already running), `--python PATH` (a Python with Pillow and boto3; default:
//! the one scripts/bench-setup.sh made, if any), `--json FILE`.
//! Under `cargo test` (no `--bench` argument) it runs a short smoke version.

use anyhow::{bail, Context as _};
use imgflow_testkit::{
    cpu_ms, memory_kib, s3_event, LocalFunction, Reported, RuntimeApi, S3Emulator,
};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    cold_starts: u32,
    invocations: u32,
    image: PathBuf,
    endpoint: Option<String>,
    python: Option<PathBuf>,
    json: Option<PathBuf>,
}

impl Options {
    /// `cargo bench` passes `--bench`; `cargo test` does not: then a smoke run.
    fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut o = Options {
            cold_starts: 20,
            invocations: 30,
            image: root.join("samples/astronaut.png"),
            endpoint: None,
            python: default_python(),
            json: None,
        };
        let mut benching = false;
        let mut args = args.skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => benching = true,
                "--cold-starts" => o.cold_starts = count(&arg, &value()?)?,
                "--invocations" => o.invocations = count(&arg, &value()?)?,
                "--image" => o.image = PathBuf::from(value()?),
                "--endpoint" => o.endpoint = Some(value()?),
                "--python" => o.python = Some(PathBuf::from(value()?)),
                "--json" => o.json = Some(PathBuf::from(value()?)),
                other => bail!("unknown option {other:?} (see the top of benches/lambda.rs)"),
            }
        }
        if !benching {
            (o.cold_starts, o.invocations, o.python, o.json) = (2, 2, None, None);
        }
        Ok(o)
    }
}

fn count(flag: &str, value: &str) -> anyhow::Result<u32> {
    match value.parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => bail!("{flag} {value:?}: expected a count from 1 to 1000"),
    }
}

/// The interpreter scripts/bench-setup.sh made (a venv under its cache).
fn default_python() -> Option<PathBuf> {
    let cache = std::env::var_os("IMGFLOW_BENCH_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/imgflow-bench"))
        })?;
    Some(cache.join("venv/bin/python")).filter(|p| p.is_file())
}

/// Median, 90th percentile and extremes of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for an empty sample. Nearest-rank percentiles.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Spread {
            median: rank(0.5),
            p90: rank(0.9),
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

#[derive(Debug, Serialize)]
pub struct LambdaBench {
    pub cold_starts: u32,
    /// Process start to the first `GET /invocation/next`.
    pub cold_start_ms: Spread,
    /// Peak resident memory when init is done (KiB): median over the runs.
    pub init_peak_rss_kib: u64,
    pub invocations: u32,
    pub image: String,
    /// The Runtime API's view: event handed out → response received.
    pub round_trip_ms: Spread,
    /// Decode and encodes, as the function logged them (`engine_ms`).
    pub engine_ms: Spread,
    /// Round trip minus engine, per invocation.
    pub overhead_ms: Spread,
    /// Of which the S3 calls (the upload's GET beside the manifest's, five
    /// variant PUTs, the manifest's PUT; the event has the size, so no
    /// HEAD): `processing_ms - engine_ms`.
    pub s3_ms: Spread,
    /// And the rest: runtime client, event parsing, logs, EMF, X-Ray export
    /// (`round trip - processing_ms`).
    pub function_ms: Spread,
    /// The function's CPU time per warm invocation, all threads (engine included).
    pub cpu_ms_per_invocation: f64,
    /// Peak resident memory after the warm invocations (KiB).
    pub warm_peak_rss_kib: u64,
    pub python: Option<PythonInit>,
}

/// A Python function's init, timed from outside as the Rust one is.
#[derive(Debug, Serialize)]
pub struct PythonInit {
    pub interpreter: String,
    pub what: String,
    pub init_ms: Spread,
    pub peak_rss_kib: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Options::parse(std::env::args())?;
    let bootstrap = Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let image = std::fs::read(&args.image)
        .with_context(|| format!("cannot read the image {}", args.image.display()))?;
    let emulator;
    let endpoint = match &args.endpoint {
        Some(url) => url.clone(),
        None => {
            emulator = S3Emulator::start()?;
            emulator.endpoint.clone()
        }
    };
    // Traces go to a local socket that drains them, so the X-Ray exporter
    // does its real work (Lambda sets this address when tracing is on).
    let xray = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let xray_address = xray.local_addr()?.to_string();
    std::thread::spawn(move || {
        let mut buf = vec![0; 65536];
        while xray.recv(&mut buf).is_ok() {}
    });
    let env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_XRAY_DAEMON_ADDRESS", xray_address.as_str()),
        ("PROCESSED_BUCKET", "bench-processed"),
        ("LOG_LEVEL", "INFO"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    eprintln!(
        "bench: {} cold starts of {}",
        args.cold_starts,
        bootstrap.display()
    );
    let mut cold = Vec::new();
    let mut init_rss = Vec::new();
    for _ in 0..args.cold_starts {
        let (ms, rss) = cold_start(bootstrap, &env)?;
        cold.push(ms);
        init_rss.push(rss);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(upload(&endpoint, &image, args.invocations))?;
    eprintln!(
        "bench: {} warm invocations with {}",
        args.invocations,
        args.image.display()
    );
    let warm = warm_invocations(bootstrap, &env, args.invocations, image.len() as u64)?;

    let python = match &args.python {
        Some(python) => Some(python_init(python, 10)?),
        None => None,
    };
    let spread = |v: &[f64]| Spread::of(v).context("no measurements");
    init_rss.sort_unstable();
    let bench = LambdaBench {
        cold_starts: args.cold_starts,
        cold_start_ms: spread(&cold)?,
        init_peak_rss_kib: init_rss[init_rss.len() / 2],
        invocations: args.invocations,
        image: format!(
            "{} ({} bytes)",
            args.image.file_name().unwrap_or_default().to_string_lossy(),
            image.len()
        ),
        round_trip_ms: spread(&warm.round_trip)?,
        engine_ms: spread(&warm.engine)?,
        overhead_ms: spread(&warm.overhead)?,
        s3_ms: spread(&warm.s3)?,
        function_ms: spread(&warm.function)?,
        cpu_ms_per_invocation: warm.cpu_ms,
        warm_peak_rss_kib: warm.peak_rss_kib,
        python,
    };
    print!("{}", table(&bench));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&bench)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// One cold start: ms to the first `/next`, and peak RSS (KiB) at that point.
fn cold_start(bootstrap: &Path, env: &[(String, String)]) -> anyhow::Result<(f64, u64)> {
    // A fresh API each time: a killed function's pending `/next` must not
    // hold on to the next run's events.
    let api = RuntimeApi::start()?;
    let mut function = LocalFunction::start(bootstrap, &api, env)?;
    let Some(next) = api.wait_for_next(Duration::from_secs(30)) else {
        let status = function.wait_exit(Duration::from_secs(1));
        bail!(
            "{} never asked for an event (exit: {status:?}); its output:\n{}",
            bootstrap.display(),
            function.lines().join("\n")
        );
    };
    let ms = (next - function.started_at).as_secs_f64() * 1000.0;
    let (peak, _) = memory_kib(function.pid()).context("cannot read /proc/PID/status")?;
    Ok((ms, peak))
}

/// The image under one key per invocation (`bench/photo-<i>.png`): an upload
/// the function has already processed is `unchanged`, not processed again.
async fn upload(endpoint: &str, image: &[u8], invocations: u32) -> anyhow::Result<()> {
    let client = imgflow_testkit::emulator::client_for(endpoint);
    for bucket in ["bench-uploads", "bench-processed"] {
        let created = client.create_bucket().bucket(bucket).send().await;
        if let Err(e) = created {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e);
            if !matches!(
                code,
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
            ) {
                return Err(anyhow::Error::new(e).context(format!("cannot create {bucket}")));
            }
        }
    }
    for i in 0..=invocations {
        client
            .put_object()
            .bucket("bench-uploads")
            .key(format!("bench/photo-{i}.png"))
            .body(image.to_vec().into())
            .send()
            .await
            .context("cannot upload the bench image")?;
    }
    Ok(())
}

struct Warm {
    round_trip: Vec<f64>,
    engine: Vec<f64>,
    overhead: Vec<f64>,
    s3: Vec<f64>,
    function: Vec<f64>,
    /// The function's CPU time (all threads) per warm invocation.
    cpu_ms: f64,
    peak_rss_kib: u64,
}

fn warm_invocations(
    bootstrap: &Path,
    env: &[(String, String)],
    n: u32,
    size: u64,
) -> anyhow::Result<Warm> {
    let api = RuntimeApi::start()?;
    let function = LocalFunction::start(bootstrap, &api, env)?;
    let mut warm = Warm {
        round_trip: Vec::new(),
        engine: Vec::new(),
        overhead: Vec::new(),
        s3: Vec::new(),
        function: Vec::new(),
        cpu_ms: 0.0,
        peak_rss_kib: 0,
    };
    let mut cpu_before = 0.0;
    for i in 0..=n {
        let key = format!("bench/photo-{i}.png");
        let event = s3_event(&[("bench-uploads", &key, size)]);
        let done = api.invoke(event, Duration::from_secs(60))?;
        if let Reported::Error(e) = &done.reported {
            bail!(
                "the invocation failed: {e}\n{}",
                function.lines().join("\n")
            );
        }
        if i == 0 {
            // The first one pays for connections and page faults.
            cpu_before = cpu_ms(function.pid()).context("cannot read /proc/PID/stat")?;
            continue;
        }
        let (engine_ms, processing_ms) = logged_times(&function, &done.request_id)
            .with_context(|| format!("no 'image processed' log line for {}", done.request_id))?;
        let round_trip = done.elapsed.as_secs_f64() * 1000.0;
        warm.round_trip.push(round_trip);
        warm.engine.push(engine_ms);
        warm.overhead.push(round_trip - engine_ms);
        warm.s3.push(processing_ms - engine_ms);
        warm.function.push(round_trip - processing_ms);
    }
    let cpu_after = cpu_ms(function.pid()).context("cannot read /proc/PID/stat")?;
    warm.cpu_ms = (cpu_after - cpu_before) / f64::from(n);
    warm.peak_rss_kib = memory_kib(function.pid()).map_or(0, |(peak, _)| peak);
    Ok(warm)
}

/// `engine_ms` and `processing_ms` of the function's INFO line for a request.
fn logged_times(function: &LocalFunction, request_id: &str) -> Option<(f64, f64)> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let found = function.lines().iter().rev().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["request_id"] == request_id && v["message"] == "image processed")
                .then(|| Some((v["engine_ms"].as_f64()?, v["processing_ms"].as_f64()?)))
                .flatten()
        });
        if found.is_some() || Instant::now() > until {
            return found;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a Python + Pillow function does before its first event: start the
/// interpreter, import Pillow and boto3, make an S3 client. Timed from
/// process start to exit; the script reports its own peak RSS.
fn python_init(python: &Path, runs: u32) -> anyhow::Result<PythonInit> {
    let with_boto3 = Command::new(python)
        .args(["-c", "import boto3"])
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", python.display()))?
        .success();
    let (what, script) = if with_boto3 {
        (
            "python start + import PIL.Image, boto3 + boto3.client('s3')",
            "import resource, PIL.Image, boto3; boto3.client('s3', region_name='us-east-1'); \
             print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        )
    } else {
        (
            "python start + import PIL.Image (boto3 not installed: an underestimate)",
            "import resource, PIL.Image; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        )
    };
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let out = Command::new(python)
            .args(["-c", script])
            .stderr(Stdio::inherit())
            .output()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !out.status.success() {
            bail!(
                "{} cannot import Pillow: run scripts/bench-setup.sh or pass --python",
                python.display()
            );
        }
        rss.push(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .unwrap_or(0),
        );
    }
    rss.sort_unstable();
    Ok(PythonInit {
        // The version, not the path: the results are published.
        interpreter: python_version(python),
        what: what.to_owned(),
        init_ms: Spread::of(&times).context("no measurements")?,
        peak_rss_kib: rss[rss.len() / 2],
    })
}

/// `Python 3.11.7`, or `python` when it cannot say.
fn python_version(python: &Path) -> String {
    Command::new(python)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "python".to_owned())
}

fn table(b: &LambdaBench) -> String {
    let row = |name: &str, s: &Spread| {
        format!(
            "{name:<42} {:>9.1} {:>9.1} {:>9.1} {:>9.1}\n",
            s.median, s.p90, s.min, s.max
        )
    };
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut out = format!(
        "{:<42} {:>9} {:>9} {:>9} {:>9}\n",
        "ms", "median", "p90", "min", "max"
    );
    out += &row(
        &format!("cold start, {} runs", b.cold_starts),
        &b.cold_start_ms,
    );
    if let Some(p) = &b.python {
        out += &row("Python + Pillow function init", &p.init_ms);
    }
    out += &row(
        &format!("warm invocation, {} runs", b.invocations),
        &b.round_trip_ms,
    );
    out += &row("  engine (decode + encodes)", &b.engine_ms);
    out += &row("  overhead (round trip - engine)", &b.overhead_ms);
    out += &row("    S3 calls (2 GETs + 6 PUTs, emulator)", &b.s3_ms);
    out += &row("    the rest (runtime, logs, EMF, X-Ray)", &b.function_ms);
    out += &format!(
        "CPU time of the function per warm invocation (all threads): {:.1} ms\n",
        b.cpu_ms_per_invocation
    );
    out += &format!(
        "peak RSS: after init {:.1} MiB; after the warm runs {:.1} MiB\n",
        mib(b.init_peak_rss_kib),
        mib(b.warm_peak_rss_kib)
    );
    if let Some(p) = &b.python {
        out += &format!(
            "Python init peak RSS {:.1} MiB ({}: {})\n",
            mib(p.peak_rss_kib),
            p.interpreter,
            p.what
        );
    }
    out += &format!("image: {}\n", b.image);
    out
}

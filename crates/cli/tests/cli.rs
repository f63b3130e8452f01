//! The `imgflow` binary as a user runs it: names, output, exit codes.

use image::{DynamicImage, ImageFormat};
use imgflow_testkit::fixtures::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn imgflow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("VARIANTS")
        .env_remove("JPEG_QUALITY")
        .output()
        .expect("imgflow runs")
}

/// `--json` output: one JSON value a line.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn sample_png() -> Vec<u8> {
    encode_with_image(
        &DynamicImage::ImageRgb8(gradient(120, 80)),
        ImageFormat::Png,
    )
}

fn sample_jpeg() -> Vec<u8> {
    jpeg_rgb(&gradient(90, 60), &JpegOptions::default())
}

fn expected_names(stem: &str, source: &[u8]) -> Vec<String> {
    let id = imgflow_engine::naming::content_id(source);
    let mut v = vec![
        format!("{stem}_compressed_{id}.jpg"),
        format!("{stem}_low_{id}.jpg"),
        format!("{stem}_webp_{id}.webp"),
        format!("{stem}_png_{id}.png"),
        format!("{stem}_thumbnail_{id}.jpg"),
    ];
    v.sort();
    v
}

#[test]
fn odd_names_give_the_contract_names() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("Cat Photo.PNG", sample_png(), "Cat Photo"),
        ("été façade.jpeg", sample_jpeg(), "été façade"),
        ("no_extension", sample_png(), "no_extension"),
        (
            "archive.v2.JPG",
            jpeg_rgb(&gradient(30, 20), &JpegOptions::default()),
            "archive.v2",
        ),
    ];
    for (name, bytes, stem) in &cases {
        let input = dir.path().join(name);
        fs::write(&input, bytes).unwrap();
        let out = dir.path().join(format!("out-{stem}"));
        let r = imgflow(
            &["process", name, "--out", out.to_str().unwrap()],
            dir.path(),
        );
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert_eq!(listing(&out), expected_names(stem, bytes), "{name}");
        // Each file is what its extension says.
        for f in listing(&out) {
            let bytes = fs::read(out.join(&f)).unwrap();
            let format = image::guess_format(&bytes).unwrap();
            let ext = f.rsplit('.').next().unwrap();
            assert_eq!(ImageFormat::from_extension(ext), Some(format), "{f}");
        }
    }
}

#[test]
fn table_and_json_output() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.png"), sample_png()).unwrap();
    let r = imgflow(&["process", "a.png", "--out", "out"], dir.path());
    assert!(r.status.success());
    let table = String::from_utf8(r.stdout).unwrap();
    for word in [
        "a.png",
        "PNG 120x80",
        "compressed",
        "low",
        "webp",
        "png",
        "thumbnail",
        "120x80",
        "encode ms",
    ] {
        assert!(table.contains(word), "{word} missing from:\n{table}");
    }
    assert!(
        r.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );

    let r = imgflow(&["process", "a.png", "--out", "out", "--json"], dir.path());
    assert!(r.status.success());
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 5);
    let names: Vec<_> = lines
        .iter()
        .map(|l| l["variant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["compressed", "low", "webp", "png", "thumbnail"]);
    for l in &lines {
        let file = dir.path().join(l["file"].as_str().unwrap());
        assert_eq!(
            fs::metadata(&file).unwrap().len(),
            l["bytes"].as_u64().unwrap()
        );
        assert_eq!(
            l["source_bytes"].as_u64().unwrap() as i64 - l["bytes"].as_i64().unwrap(),
            l["bytes_saved"].as_i64().unwrap()
        );
        assert!(l["encode_ms"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(lines[4]["width"], 120);
    assert_eq!(lines[4]["height"], 80);
}

#[test]
fn folders_are_walked_and_non_images_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    fs::create_dir_all(photos.join("2024/june")).unwrap();
    fs::write(photos.join("top.png"), sample_png()).unwrap();
    fs::write(photos.join("2024/june/beach.jpg"), sample_jpeg()).unwrap();
    fs::write(photos.join("2024/notes.txt"), "not an image").unwrap();
    // Output inside the input folder is not re-read on a second run.
    let r = imgflow(&["process", "photos", "--out", "photos/out"], dir.path());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(listing(&photos.join("out")).len(), 10);
    let r = imgflow(&["process", "photos", "--out", "photos/out"], dir.path());
    assert!(r.status.success());
    assert_eq!(
        listing(&photos.join("out")).len(),
        10,
        "outputs were not processed as inputs"
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("skipped 1 file"));
}

#[test]
fn a_long_file_name_gets_variants_with_names_a_file_system_takes() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.png", "x".repeat(245));
    fs::write(dir.path().join(&name), sample_png()).unwrap();
    let r = imgflow(&["process", &name, "--out", "o"], dir.path());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let written = listing(&dir.path().join("o"));
    assert_eq!(written.len(), 5, "{written:?}");
    assert!(written
        .iter()
        .all(|n| n.len() <= 255 && n.starts_with("xxxx")));
}

#[test]
fn the_output_folder_cannot_be_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    fs::create_dir_all(&photos).unwrap();
    fs::write(photos.join("top.png"), sample_png()).unwrap();
    for out in ["photos", "photos/.", "./photos/"] {
        let r = imgflow(&["process", "photos", "--out", out], dir.path());
        assert_eq!(r.status.code(), Some(2), "--out {out}");
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(
            stderr.contains("photos: is the output folder too"),
            "--out {out}: {stderr}"
        );
        assert_eq!(listing(&photos), ["top.png"], "nothing written");
    }
    // `inspect` says what it skipped, as `process` does.
    fs::write(photos.join("notes.txt"), "not an image").unwrap();
    let r = imgflow(&["inspect", "photos"], dir.path());
    assert!(r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("skipped 1 file"));
}

/// A file named like an image is an input even when its bytes are not one
/// (a damaged photo must not vanish from a folder's run unreported).
#[test]
fn damaged_images_in_folders_are_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    fs::create_dir_all(&photos).unwrap();
    fs::write(photos.join("good.png"), sample_png()).unwrap();
    fs::write(photos.join("BROKEN.JPG"), [0xFF]).unwrap();
    fs::write(photos.join("empty.heic"), b"").unwrap();
    fs::write(photos.join(".DS_Store"), b"Bud1").unwrap();
    let r = imgflow(&["process", "photos", "--out", "out"], dir.path());
    assert_eq!(r.status.code(), Some(1));
    let stderr = String::from_utf8(r.stderr).unwrap();
    assert!(
        stderr.contains("BROKEN.JPG: not_an_image"),
        "the damaged JPEG is named:\n{stderr}"
    );
    assert!(
        stderr.contains("empty.heic: empty"),
        "the empty HEIC is named:\n{stderr}"
    );
    assert!(stderr.contains("skipped 1 file"), "{stderr}");
    assert_eq!(listing(&dir.path().join("out")).len(), 5);
}

#[test]
fn failures_are_reported_per_file_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.png"), sample_png()).unwrap();
    fs::write(dir.path().join("notes.jpg"), "plain text with a .jpg name").unwrap();
    let png = sample_png();
    fs::write(dir.path().join("cut.png"), &png[..png.len() / 2]).unwrap();
    fs::write(dir.path().join("empty.png"), b"").unwrap();
    let r = imgflow(
        &[
            "process",
            "good.png",
            "notes.jpg",
            "cut.png",
            "empty.png",
            "missing.png",
            "--out",
            "out",
        ],
        dir.path(),
    );
    assert_eq!(r.status.code(), Some(1));
    let stderr = String::from_utf8(r.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "one line per failure:\n{stderr}");
    for (file, code) in [
        ("notes.jpg", "not_an_image"),
        ("cut.png", "truncated"),
        ("empty.png", "empty"),
        ("missing.png", "read_failed"),
    ] {
        assert!(
            lines.iter().any(|l| l.contains(file) && l.contains(code)),
            "{file}/{code} not in:\n{stderr}"
        );
    }
    // Only the good file's five variants, and no temporary files.
    let out = listing(&dir.path().join("out"));
    assert_eq!(out, expected_names("good", &png));
}

#[test]
fn an_image_over_the_memory_budget_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("big.png"), sample_png()).unwrap();
    let r = imgflow(
        &["process", "big.png", "--out", "out", "--memory-budget", "1"],
        dir.path(),
    );
    assert_eq!(r.status.code(), Some(1));
    let stderr = String::from_utf8(r.stderr).unwrap();
    assert!(
        stderr.contains("big.png: too_large_for_memory:")
            && stderr.contains("over the memory budget of 1 MiB")
            && stderr.contains("--memory-budget"),
        "{stderr}"
    );
    assert!(listing(&dir.path().join("out")).is_empty());
    // With room, the same image goes through.
    let r = imgflow(
        &[
            "process",
            "big.png",
            "--out",
            "out",
            "--memory-budget",
            "512",
        ],
        dir.path(),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn inspect_prints_the_estimate_and_names_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.png"), sample_png()).unwrap();
    fs::write(dir.path().join("notes.jpg"), "plain text").unwrap();
    let r = imgflow(
        &["inspect", "a.png", "notes.jpg", "--threads", "1"],
        dir.path(),
    );
    assert_eq!(r.status.code(), Some(1), "one input is bad");
    let stdout = String::from_utf8(r.stdout).unwrap();
    assert!(
        stdout.starts_with("a.png  PNG ") && stdout.contains("MiB one variant at a time"),
        "{stdout}"
    );
    let stderr = String::from_utf8(r.stderr).unwrap();
    assert!(stderr.contains("notes.jpg: not_an_image:"), "{stderr}");
    let r = imgflow(&["inspect", "--json", "a.png"], dir.path());
    let record: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(record["memory_one_at_a_time_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(
        record["memory_side_by_side_bytes"].as_u64()
            >= record["memory_one_at_a_time_bytes"].as_u64()
    );
}

#[test]
fn capacity_gives_the_largest_images_per_memory_size() {
    let dir = tempfile::tempdir().unwrap();
    let r = imgflow(
        &["capacity", "--json", "--memory-sizes", "1024,3008"],
        dir.path(),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8(r.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4, "two kinds per memory size: {rows:?}");
    let at = |mb: u64, kind: &str| {
        rows.iter()
            .find(|r| r["memory_mb"] == mb && r["kind"] == kind)
            .unwrap()
    };
    let png_1g = at(1024, "RGBA PNG");
    assert_eq!(png_1g["limited_by"], "memory");
    assert!(png_1g["estimate_mib"].as_u64().unwrap() <= 1024 - 48);
    assert!(png_1g["megapixels"].as_f64() < at(1024, "JPEG")["megapixels"].as_f64());
    // At 3008 MB the pixel limit (100 MP by default) refuses first; a
    // higher limit lets the memory decide.
    assert_eq!(at(3008, "JPEG")["limited_by"], "MAX_INPUT_PIXELS");
    let r = imgflow(
        &[
            "capacity",
            "--memory-sizes",
            "3008",
            "--max-input-pixels",
            "1000000000",
        ],
        dir.path(),
    );
    let table = String::from_utf8(r.stdout).unwrap();
    assert!(
        table.starts_with("| memory size | largest RGBA PNG | largest JPEG |")
            && table.contains("| 3008 MB |")
            && !table.contains("MAX_INPUT_PIXELS ("),
        "{table}"
    );
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.png"), sample_png()).unwrap();
    let cases: [&[&str]; 8] = [
        &["process"],
        &["process", "a.png"],
        &["process", "a.png", "--out", "o", "--threads", "0"],
        &["process", "a.png", "--out", "o", "--jpeg-quality", "0"],
        &["capacity", "--memory-sizes", "64"],
        &["capacity", "--memory-sizes", "1024,lots"],
        &["capacity", "--max-input-pixels", "0"],
        &["frobnicate"],
    ];
    for args in cases {
        let r = imgflow(args, dir.path());
        assert_eq!(
            r.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(!r.stderr.is_empty());
    }
    let r = imgflow(
        &["process", "a.png", "--out", "o", "--jpeg-quality", "0"],
        dir.path(),
    );
    // Named as it was given: the flag here, the variable below.
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        stderr.contains("--jpeg-quality=\"0\" is invalid"),
        "{stderr}"
    );

    let r = Command::new(env!("CARGO_BIN_EXE_imgflow"))
        .args(["process", "a.png", "--out", "o"])
        .current_dir(dir.path())
        .env("THUMBNAIL_SIZE", "big")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("THUMBNAIL_SIZE=\"big\""));
    assert!(!dir.path().join("o").exists() || listing(&dir.path().join("o")).is_empty());
}

#[test]
fn environment_and_flags_choose_variants() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.png"), sample_png()).unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_imgflow"))
        .args([
            "process",
            "a.png",
            "--out",
            "o",
            "--threads",
            "1",
            "--thumbnail-size",
            "50x50",
        ])
        .current_dir(dir.path())
        .env("VARIANTS", "thumbnail,png")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let files = listing(&dir.path().join("o"));
    assert_eq!(files.len(), 2);
    let thumb = files.iter().find(|f| f.contains("_thumbnail_")).unwrap();
    let img = image::open(dir.path().join("o").join(thumb)).unwrap();
    assert_eq!((img.width(), img.height()), (50, 33));
    // A flag beats the environment.
    let r = Command::new(env!("CARGO_BIN_EXE_imgflow"))
        .args(["process", "a.png", "--out", "p", "--variants", "webp"])
        .current_dir(dir.path())
        .env("VARIANTS", "thumbnail,png")
        .output()
        .unwrap();
    assert!(r.status.success());
    let files = listing(&dir.path().join("p"));
    assert!(files.len() == 1 && files[0].ends_with(".webp"), "{files:?}");
}

/// Stopped by a signal while it writes (Ctrl-C, `kill`), a run leaves no
/// temporary file, and its image all of its variants or none; it exits
/// with 128 + the signal, as a shell reports it.
#[cfg(unix)]
#[test]
fn a_signal_while_writing_takes_back_what_was_being_written() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    // Noise: a PNG variant of about 24 MB, whose write takes a while.
    let noisy = png_fast(&DynamicImage::ImageRgba8(noise_rgba(3000, 2000)));
    fs::write(dir.path().join("noise.png"), noisy).unwrap();
    let out = dir.path().join("out");
    let mut stopped_while_writing = 0;
    for (signal, number) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let _ = fs::remove_dir_all(&out);
        let mut child = Command::new(env!("CARGO_BIN_EXE_imgflow"))
            .args(["process", "noise.png", "--out", "out", "--threads", "1"])
            .env("VARIANTS", "compressed,png")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The first staged file, then the signal.
        let started = Instant::now();
        let staged = loop {
            if listing(&out).iter().any(|n| n.ends_with(".tmp")) {
                break true;
            }
            if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(120) {
                break false;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        if staged {
            let pid = child.id().to_string();
            assert!(Command::new("kill")
                .args([&format!("-{signal}"), &pid])
                .status()
                .unwrap()
                .success());
        }
        let status = child.wait().unwrap();
        let left = listing(&out);
        assert!(
            !left.iter().any(|n| n.ends_with(".tmp")),
            "SIG{signal}: {left:?}"
        );
        assert!(left.is_empty() || left.len() == 2, "SIG{signal}: {left:?}");
        if staged {
            assert_eq!(status.code(), Some(128 + number), "SIG{signal}");
            stopped_while_writing += 1;
        }
    }
    assert!(
        stopped_while_writing > 0,
        "no run was caught while it wrote"
    );
}

#[test]
fn an_unusable_output_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.png"), sample_png()).unwrap();
    fs::write(dir.path().join("file"), "x").unwrap();
    let r = imgflow(&["process", "a.png", "--out", "file/sub"], dir.path());
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("file/sub"));
}

#[test]
fn bench_prints_a_table_and_draws_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let corpus: PathBuf = dir.path().join("corpus");
    fs::create_dir(&corpus).unwrap();
    fs::write(corpus.join("a.png"), sample_png()).unwrap();
    fs::write(corpus.join("b.jpg"), sample_jpeg()).unwrap();
    let r = imgflow(
        &[
            "bench",
            "corpus",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--plot",
            "bench.svg",
            "--json",
            "bench.json",
        ],
        dir.path(),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let table = String::from_utf8(r.stdout).unwrap();
    for word in [
        "a.png",
        "b.jpg",
        "TOTAL",
        "1 thread",
        "RSS",
        "compressed",
        "thumbnail",
        "PNG exact",
    ] {
        assert!(table.contains(word), "{word} missing:\n{table}");
    }
    assert!(
        !table.contains(" NO"),
        "imgflow's PNG must be exact:\n{table}"
    );
    let svg = fs::read_to_string(dir.path().join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("imgflow"));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("bench.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert!(json[0]["single"]["maxrss_kb"].as_u64().unwrap() > 0);

    // --compare without the reference tools says how to get them.
    let r = imgflow(
        &[
            "bench",
            "corpus",
            "--compare",
            "--reps",
            "1",
            "--cache",
            "nowhere",
        ],
        dir.path(),
    );
    assert_eq!(r.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        stderr.contains("nowhere") && stderr.contains("scripts/bench-setup.sh"),
        "{stderr}"
    );
}

/// `imgflow process photo.heic`: a turned phone-style HEIC made by
/// pillow-heif, the same bytes named `.jpg`, a cut one and an AVIF.
#[test]
fn heic_photos_are_processed_whatever_their_name() {
    let corpus = imgflow_testkit::heic::make_heic_corpus(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("heic-cli"),
        &["orient6", "avif"],
    );
    let case = corpus.case("orient6");
    let heic = case.bytes();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("photo.heic"), &heic).unwrap();
    fs::write(dir.path().join("renamed.jpg"), &heic).unwrap();
    fs::write(dir.path().join("cut.heic"), &heic[..heic.len() / 2]).unwrap();
    fs::write(dir.path().join("other.avif"), corpus.avif()).unwrap();

    for (name, stem) in [("photo.heic", "photo"), ("renamed.jpg", "renamed")] {
        let out = dir.path().join(format!("out-{stem}"));
        let r = imgflow(
            &["process", name, "--out", out.to_str().unwrap(), "--json"],
            dir.path(),
        );
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert_eq!(listing(&out), expected_names(stem, &heic), "{name}");
        let lines = json_lines(&r.stdout);
        assert_eq!(lines.len(), 5);
        assert!(
            lines.iter().all(|l| l["source_format"] == "HEIC"),
            "{lines:?}"
        );
        // Turned by its irot: portrait, as the viewer shows it.
        let png = out.join(format!(
            "{stem}_png_{}.png",
            imgflow_engine::naming::content_id(&heic)
        ));
        let png = image::open(png).unwrap();
        let (rgb, luma) = imgflow_testkit::heic::psnr(&png, &case.reference(), 255.0);
        assert!(luma >= 45.0 && rgb >= 36.0, "{name}: {rgb:.1}/{luma:.1} dB");
    }

    let r = imgflow(
        &["process", "cut.heic", "other.avif", "--out", "bad"],
        dir.path(),
    );
    assert_eq!(r.status.code(), Some(1));
    let stderr = String::from_utf8(r.stderr).unwrap();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("cut.heic") && l.contains("truncated")),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.contains("other.avif")
            && l.contains("unsupported_format")
            && l.contains("AVIF")),
        "{stderr}"
    );
    assert!(listing(&dir.path().join("bad")).is_empty());
}

/// A device or a pipe is refused before it is read (it has no size to
/// check and may never end), given by name or met in a folder.
#[cfg(unix)]
#[test]
fn devices_and_pipes_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    fs::create_dir_all(&photos).unwrap();
    std::os::unix::fs::symlink("/dev/zero", photos.join("zero.png")).unwrap();
    let made = Command::new("mkfifo")
        .arg(photos.join("pipe.jpg"))
        .status()
        .unwrap();
    assert!(made.success());
    let refused = |args: &[&str]| {
        let r = imgflow(args, dir.path());
        assert_eq!(r.status.code(), Some(1));
        String::from_utf8(r.stderr).unwrap()
    };
    let stderr = refused(&["process", "/dev/zero", "--out", "out"]);
    assert!(
        stderr.contains("/dev/zero: read_failed: cannot read: not a regular file"),
        "{stderr}"
    );
    let stderr = refused(&["process", "photos", "--out", "out"]);
    for name in ["pipe.jpg", "zero.png"] {
        assert!(
            stderr.contains(&format!(
                "{name}: read_failed: cannot read: not a regular file"
            )),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("out").exists() || listing(&dir.path().join("out")).is_empty());
}

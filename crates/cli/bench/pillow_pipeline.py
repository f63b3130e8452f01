#!/usr/bin/env python3
"""Reference pipeline: the Python + Pillow Lambda that imgflow replaces.

usage: pillow_pipeline.py [--reps N] [--warmup N] [--outdir DIR] IMAGE...

Each image file is read once, outside the timing.  One run of the pipeline:
  decode      Image.open on the bytes; convert('RGB') unless already RGB
              (then load()); HEIC through pillow-heif when installed
  compressed  JPEG quality 85, optimize=True
  low         JPEG quality 60, optimize=True
  webp        WebP quality 85
  png         PNG optimize=True
  thumbnail   copy(), thumbnail((200, 200)), JPEG quality 85
Every variant is encoded into an in-memory buffer; the steps are timed one
after another.  --warmup runs (default 1) are untimed, then --reps runs
(default 5) are timed.  One JSON line per image goes to stdout:
  tool, file, reps, median_ms, min_ms (whole pipeline), step_median_ms,
  bytes (per variant), thumbnail_size [w, h],
  maxrss_kb (peak RSS of this process so far, KiB: run one image per process
  for a per-image figure), import_ms (time to import PIL.Image).
--outdir DIR writes the last timed run's outputs as <stem>.<variant>.<ext>.
"""
import io
import json
import os
import resource
import statistics
import sys
import time

_t = time.perf_counter()
from PIL import Image  # noqa: E402  (timed on purpose)
IMPORT_MS = (time.perf_counter() - _t) * 1000.0

try:
    # HEIC through libheif (libde265), one decoding thread as imgflow's
    # single-threaded run; outside IMPORT_MS, which stays Pillow's alone.
    import pillow_heif  # noqa: E402

    pillow_heif.options.DECODE_THREADS = 1
    pillow_heif.register_heif_opener()
except ImportError:
    pass

# variant -> (file extension, Image.save keyword arguments)
ENCODINGS = {
    "compressed": ("jpg", {"format": "JPEG", "quality": 85, "optimize": True}),
    "low": ("jpg", {"format": "JPEG", "quality": 60, "optimize": True}),
    "webp": ("webp", {"format": "WEBP", "quality": 85}),
    "png": ("png", {"format": "PNG", "optimize": True}),
}
THUMB_BOX = (200, 200)
THUMB_SAVE = {"format": "JPEG", "quality": 85}
EXTENSIONS = {**{k: ext for k, (ext, _) in ENCODINGS.items()}, "thumbnail": "jpg"}


def encode(image, **save_args):
    buf = io.BytesIO()
    image.save(buf, **save_args)
    return buf.getvalue()


def run_once(data, step_ms=None):
    """One pass of the pipeline over the encoded bytes `data`.

    Returns ({variant: encoded bytes}, thumbnail size).  When `step_ms` is a
    dict, each step's duration (ms) is appended to step_ms[step].
    """
    outputs = {}
    clock = [time.perf_counter()]

    def lap(step):
        if step_ms is not None:
            now = time.perf_counter()
            step_ms.setdefault(step, []).append((now - clock[0]) * 1000.0)
            clock[0] = now

    image = Image.open(io.BytesIO(data))
    if image.mode == "RGB":
        image.load()
    else:
        image = image.convert("RGB")
    lap("decode")

    for variant, (_, save_args) in ENCODINGS.items():
        outputs[variant] = encode(image, **save_args)
        lap(variant)

    small = image.copy()
    small.thumbnail(THUMB_BOX)
    outputs["thumbnail"] = encode(small, **THUMB_SAVE)
    lap("thumbnail")
    return outputs, small.size


def usage_error(msg):
    print(f"pillow_pipeline.py: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opts = {"reps": 5, "warmup": 1, "outdir": None}
    images = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--reps", "--warmup", "--outdir"):
            if i + 1 >= len(argv):
                usage_error(f"{arg} needs a value")
            value = argv[i + 1]
            i += 2
            if arg == "--outdir":
                opts["outdir"] = value
                continue
            try:
                opts[arg[2:]] = int(value)
            except ValueError:
                usage_error(f"{arg} wants a whole number, not {value!r}")
        elif arg in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        elif arg.startswith("--"):
            usage_error(f"unknown option {arg}")
        else:
            images.append(arg)
            i += 1
    if opts["reps"] < 1 or opts["warmup"] < 0:
        usage_error("--reps must be >= 1 and --warmup >= 0")
    if not images:
        usage_error("usage: pillow_pipeline.py [--reps N] [--warmup N] [--outdir DIR] IMAGE...")
    return opts, images


def bench_image(path, reps, warmup, outdir):
    with open(path, "rb") as fh:
        data = fh.read()
    for _ in range(warmup):
        run_once(data)
    totals, step_ms = [], {}
    outputs = thumb_size = None
    for _ in range(reps):
        start = time.perf_counter()
        outputs, thumb_size = run_once(data, step_ms)
        totals.append((time.perf_counter() - start) * 1000.0)

    name = os.path.basename(path)
    if outdir:
        os.makedirs(outdir, exist_ok=True)
        stem = os.path.splitext(name)[0]
        for variant, blob in outputs.items():
            target = os.path.join(outdir, f"{stem}.{variant}.{EXTENSIONS[variant]}")
            with open(target, "wb") as fh:
                fh.write(blob)

    return {
        "tool": "pillow",
        "file": name,
        "reps": reps,
        "median_ms": round(statistics.median(totals), 2),
        "min_ms": round(min(totals), 2),
        "step_median_ms": {s: round(statistics.median(v), 2) for s, v in step_ms.items()},
        "bytes": {variant: len(blob) for variant, blob in outputs.items()},
        "thumbnail_size": list(thumb_size),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "import_ms": round(IMPORT_MS, 2),
    }


def main(argv):
    opts, images = parse_args(argv)
    failed = 0
    for path in images:
        try:
            result = bench_image(path, opts["reps"], opts["warmup"], opts["outdir"])
        except Exception as exc:  # report and go on with the next image
            print(f"pillow_pipeline.py: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

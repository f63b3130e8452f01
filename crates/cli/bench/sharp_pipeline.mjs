#!/usr/bin/env node
// Reference pipeline: imgflow's five variants made with sharp (libvips).
//
// usage: node sharp_pipeline.mjs [--reps N] [--warmup N] [--outdir DIR]
//                                [--mode seq|par] [--concurrency N] IMAGE...
//
// Each image file is read once into a Buffer, outside the timing.  Every
// variant is a pipeline of its own over that Buffer (so the input is decoded
// once per variant; the thumbnail gets libvips' shrink-on-load), with
// removeAlpha() standing in for Pillow's convert('RGB'):
//   compressed  jpeg({ quality: 85 })
//   low         jpeg({ quality: 60 })
//   webp        webp({ quality: 85 })
//   png         png() with sharp's defaults
//   thumbnail   resize(200, 200, { fit: 'inside' }).jpeg({ quality: 85 })
// --mode seq (default) awaits the variants one after another and times each;
// --mode par starts all five at once (Promise.all) and has no step times.
// --concurrency N sets sharp.concurrency(N), the libvips threads per pipeline
// (default 1: the single-threaded figure).  sharp's operation cache is off.
// --warmup runs (default 1) are untimed, then --reps runs (default 5) timed.
// One JSON line per image goes to stdout: tool, file, reps, median_ms, min_ms,
// step_median_ms, bytes, thumbnail_size [w, h], maxrss_kb (peak RSS of this
// process so far, KiB), import_ms (time to import sharp).
// --outdir DIR writes the last timed run's outputs as <stem>.<variant>.<ext>.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const importStart = performance.now();
const sharp = (await import('sharp')).default;
const importMs = performance.now() - importStart;

const USAGE = 'usage: sharp_pipeline.mjs [--reps N] [--warmup N] [--outdir DIR] '
  + '[--mode seq|par] [--concurrency N] IMAGE...';

function die(msg) {
  process.stderr.write(`sharp_pipeline.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { reps: 5, warmup: 1, outdir: null, mode: 'seq', concurrency: 1 };
  const images = [];
  const whole = (name, v) => {
    if (!/^\d+$/.test(v ?? '')) die(`${name} wants a whole number, not ${JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--reps': opts.reps = whole(arg, argv[++i]); break;
      case '--warmup': opts.warmup = whole(arg, argv[++i]); break;
      case '--concurrency': opts.concurrency = whole(arg, argv[++i]); break;
      case '--outdir':
        opts.outdir = argv[++i];
        if (opts.outdir === undefined) die('--outdir needs a value');
        break;
      case '--mode':
        opts.mode = argv[++i];
        if (opts.mode !== 'seq' && opts.mode !== 'par') die('--mode is seq or par');
        break;
      case '-h': case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        if (arg.startsWith('--')) die(`unknown option ${arg}`);
        images.push(arg);
    }
  }
  if (opts.reps < 1) die('--reps must be >= 1');
  if (images.length === 0) die(USAGE);
  return { opts, images };
}

// variant -> [file extension, function making the encoded output from the input Buffer]
const VARIANTS = {
  compressed: ['jpg', (input) => sharp(input).removeAlpha().jpeg({ quality: 85 }).toBuffer()],
  low: ['jpg', (input) => sharp(input).removeAlpha().jpeg({ quality: 60 }).toBuffer()],
  webp: ['webp', (input) => sharp(input).removeAlpha().webp({ quality: 85 }).toBuffer()],
  png: ['png', (input) => sharp(input).removeAlpha().png().toBuffer()],
  thumbnail: ['jpg', (input) => sharp(input).removeAlpha()
    .resize(200, 200, { fit: 'inside' })
    .jpeg({ quality: 85 })
    .toBuffer({ resolveWithObject: true })],
};
const NAMES = Object.keys(VARIANTS);

// One pass over `input`: { outputs: {variant: Buffer}, thumbSize: [w, h] }.
// In seq mode, when `stepMs` is given, each step's ms is appended to stepMs[variant].
async function runOnce(input, mode, stepMs) {
  const results = {};
  if (mode === 'par') {
    const all = await Promise.all(NAMES.map((name) => VARIANTS[name][1](input)));
    NAMES.forEach((name, i) => { results[name] = all[i]; });
  } else {
    for (const name of NAMES) {
      const start = performance.now();
      results[name] = await VARIANTS[name][1](input);
      if (stepMs) (stepMs[name] ||= []).push(performance.now() - start);
    }
  }
  const { data, info } = results.thumbnail;
  results.thumbnail = data;
  return { outputs: results, thumbSize: [info.width, info.height] };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
const round2 = (x) => Math.round(x * 100) / 100;

async function benchImage(file, opts) {
  const input = fs.readFileSync(file);
  for (let i = 0; i < opts.warmup; i++) await runOnce(input, opts.mode);
  const totals = [];
  const stepMs = {};
  let last;
  for (let i = 0; i < opts.reps; i++) {
    const start = performance.now();
    last = await runOnce(input, opts.mode, stepMs);
    totals.push(performance.now() - start);
  }

  const name = path.basename(file);
  if (opts.outdir) {
    fs.mkdirSync(opts.outdir, { recursive: true });
    const stem = path.parse(name).name;
    for (const [variant, buf] of Object.entries(last.outputs)) {
      fs.writeFileSync(path.join(opts.outdir, `${stem}.${variant}.${VARIANTS[variant][0]}`), buf);
    }
  }

  const stepMedians = {};
  for (const [step, ms] of Object.entries(stepMs)) stepMedians[step] = round2(median(ms));
  const bytes = {};
  for (const [variant, buf] of Object.entries(last.outputs)) bytes[variant] = buf.length;
  return {
    tool: 'sharp',
    file: name,
    reps: opts.reps,
    median_ms: round2(median(totals)),
    min_ms: round2(Math.min(...totals)),
    step_median_ms: stepMedians,
    bytes,
    thumbnail_size: last.thumbSize,
    maxrss_kb: process.resourceUsage().maxRSS,
    import_ms: round2(importMs),
  };
}

const { opts, images } = parseArgs(process.argv.slice(2));
sharp.concurrency(opts.concurrency);
sharp.cache(false); // no libvips operation cache carried across runs
let failed = 0;
for (const file of images) {
  try {
    console.log(JSON.stringify(await benchImage(file, opts)));
  } catch (err) {
    process.stderr.write(`sharp_pipeline.mjs: ${file}: ${err && err.message ? err.message : err}\n`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;

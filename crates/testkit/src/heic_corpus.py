"""HEIC test files made from a real photo with pillow-heif (libheif + x265),
each with libheif's own decode (libde265) as the reference.

usage: python3 heic_corpus.py PHOTO OUTDIR [CASE...]   (default: every case)

For each case OUTDIR gets <name>.heic, <name>.ref (the reference decode,
transforms applied: raw samples, row after row, 8-bit, or 16-bit little
endian for 10-bit files), and for the orientations <name>.src (the photo
turned by the EXIF orientation, what a viewer shows: raw 8-bit RGB). A line
of cases.json describes each. Also avif.avif (Pillow's own AVIF encoder).
"""
import json
import os
import sys

import pillow_heif
from PIL import Image, ImageDraw

pillow_heif.options.DECODE_THREADS = 1
photo_path, out, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
os.makedirs(out, exist_ok=True)
photo = Image.open(photo_path)
icc = photo.info.get("icc_profile")
rgb = photo.convert("RGB")
rgb.info.clear()  # no ICC profile unless a case asks for one
cases = []


def want(name):
    """Every case by default; the memory cases (mem_*) only when named."""
    return name in wanted or (not wanted and not name.startswith("mem_"))


def raw(image):
    """The reference decode's samples without row padding."""
    row = image.size[0] * {"RGB": 3, "RGBA": 4, "RGB;16": 6, "RGBA;16": 8}[image.mode]
    data = bytes(image.data)
    if image.stride == row:
        return data
    return b"".join(data[y * image.stride : y * image.stride + row] for y in range(image.size[1]))


def save(name, heif, source=None, **kwargs):
    if not want(name):
        return
    path = os.path.join(out, name + ".heic")
    heif.save(path, quality=kwargs.pop("quality", 90), **kwargs)
    ref = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
    primary = ref[ref.primary_index]
    with open(os.path.join(out, name + ".ref"), "wb") as f:
        f.write(raw(primary))
    case = {
        "name": name,
        "width": primary.size[0],
        "height": primary.size[1],
        "mode": primary.mode,
        "bit_depth": ref.info.get("bit_depth", 8),
        "icc": bool(primary.info.get("icc_profile")),
        "bytes": os.path.getsize(path),
    }
    if source is not None:
        with open(os.path.join(out, name + ".src"), "wb") as f:
            f.write(source.convert("RGB").tobytes())
        case["source"] = True
    cases.append(case)


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


# Plain: YCbCr with nclx, no ICC profile.
small = rgb.resize((320, 320), Image.LANCZOS)
save("plain", pillow_heif.from_pillow(small))
# The photo's own ICC profile (colr prof).
with_icc = rgb.copy()
with_icc.info["icc_profile"] = icc
save("icc", pillow_heif.from_pillow(with_icc), icc_profile=icc)
# A profile past the 1 MiB the variants may carry (refused).
oversized = bytearray(icc) + bytes((1 << 20) + 1 - len(icc))
oversized[0:4] = len(oversized).to_bytes(4, "big")
save("icc_oversized", pillow_heif.from_pillow(small), icc_profile=bytes(oversized))
# Orientations 1-8 on a non-square crop: pillow-heif writes irot/imir for
# the EXIF orientation and keeps the EXIF tag, as phones do.
wide = rgb.crop((0, 64, 480, 384)).resize((240, 160), Image.LANCZOS)
# What a viewer shows for each (the table of PIL.ImageOps.exif_transpose).
T = Image.Transpose
SHOWN = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
         6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}
for o in range(1, 9):
    view = wide.transpose(SHOWN[o]) if o in SHOWN else wide
    save(f"orient{o}", pillow_heif.from_pillow(wide), source=view, exif=exif(o))
# Alpha: an auxiliary alpha image (an ellipse, soft edged by a ramp).
alpha = Image.new("L", small.size, 0)
ImageDraw.Draw(alpha).ellipse((20, 40, 300, 280), fill=255)
ramp = Image.linear_gradient("L").resize(small.size)
rgba = small.copy()
rgba.putalpha(Image.composite(alpha, ramp, alpha))
save("alpha", pillow_heif.from_pillow(rgba))
# 10-bit, from the 8-bit photo widened to 16 bits (v * 257).
wide16 = bytes(b for v in small.tobytes() for b in (v, v))
save("10bit", pillow_heif.from_bytes("RGB;16", small.size, wide16))
# Odd size: libheif codes whole blocks and crops with clap.
save("clap", pillow_heif.from_pillow(rgb.crop((0, 0, 301, 201))))
# Grid of 512-pixel tiles (as phones write), 3x2 tiles cropped to the image.
save("grid", pillow_heif.from_pillow(rgb.resize((1280, 960), Image.LANCZOS)), tile_size=512)
# Large: a 12 MP phone-sized grid, turned as a portrait photo is.
if want("large"):
    large = rgb.resize((4032, 3024), Image.BILINEAR)
    save("large", pillow_heif.from_pillow(large), tile_size=512, exif=exif(6),
         quality=50, enc_params={"preset": "ultrafast"})
# For the memory estimate (crates/cli/tests/memory.rs): 3.8 MP each, one
# image, a turned 512-tile grid, alpha, 10-bit.
if any(want(n) for n in ("mem_single", "mem_grid", "mem_alpha", "mem_10bit")):
    mem = rgb.resize((2400, 1600), Image.BILINEAR)
    fast = {"quality": 80, "enc_params": {"preset": "ultrafast"}}
    save("mem_single", pillow_heif.from_pillow(mem), **fast)
    save("mem_grid", pillow_heif.from_pillow(mem), tile_size=512, exif=exif(6), **fast)
    mem_rgba = mem.copy()
    mem_rgba.putalpha(ramp.resize(mem.size))
    save("mem_alpha", pillow_heif.from_pillow(mem_rgba), **fast)
    mem16 = bytes(b for v in mem.tobytes() for b in (v, v))
    save("mem_10bit", pillow_heif.from_bytes("RGB;16", mem.size, mem16), **fast)
# AVIF, by Pillow's own encoder.
if want("avif"):
    small.save(os.path.join(out, "avif.avif"), quality=70)

with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)

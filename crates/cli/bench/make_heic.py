#!/usr/bin/env python3
"""HEIC versions of three corpus photos, saved as a phone saves them, with
pillow-heif (libheif + x265): the HEIC part of `imgflow bench`.

usage: make_heic.py CORPUS_DIR OUT_DIR

  h1_path.heic        m3_path.jpg, 2560x1600, one image, quality 85
  h2_mars_alpha.heic  m2_mars_rgba.png, 2048x1024, with its alpha plane
  h3_elephants.heic   l4_elephants.jpg cropped to 4:3 and scaled to
                      4032x3024 (12 MP), 512-pixel tiles and turned by irot
                      for EXIF orientation 6: an iPhone photo's layout
Files already there are left alone.
"""
import os
import sys

import pillow_heif
from PIL import Image

corpus, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def make(name, build, **kwargs):
    path = os.path.join(out, name)
    if os.path.exists(path):
        return
    pillow_heif.from_pillow(build()).save(path + ".part", format="HEIF", quality=85, **kwargs)
    os.replace(path + ".part", path)
    print(f"make_heic: {name}", file=sys.stderr)


def elephants():
    img = Image.open(os.path.join(corpus, "l4_elephants.jpg")).convert("RGB")
    w, h = img.size
    cw = h * 4 // 3
    return img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h)).resize((4032, 3024), Image.LANCZOS)


exif6 = Image.Exif()
exif6[0x0112] = 6
make("h1_path.heic", lambda: Image.open(os.path.join(corpus, "m3_path.jpg")).convert("RGB"))
make("h2_mars_alpha.heic", lambda: Image.open(os.path.join(corpus, "m2_mars_rgba.png")).convert("RGBA"))
make("h3_elephants.heic", elephants, tile_size=512, exif=exif6.tobytes())

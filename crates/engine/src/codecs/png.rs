//! Lossless PNG: per-row adaptive filtering (minimum sum of absolute
//! differences, as libpng and Pillow choose) and libdeflate, which matches
//! zlib level 9's size several times faster. Bit depth, gray/colour and alpha
//! are written exactly as decoded, so the file decodes to the source pixels.

use image::DynamicImage;
use libdeflater::{CompressionLvl, Compressor};

/// libdeflate level, chosen on the benchmark corpus (single thread, with the
/// filtering below): level 4 is 2.6% larger than Pillow's zlib-9
/// `optimize=True` in 3.4 s (`imgflow bench`); level 6 is 0.4% larger in
/// 5.5 s; level 9 is 1% smaller in 13 s; level 1 is 4.5% larger in 2.6 s.
const DEFLATE_LEVEL: i32 = 4;
/// PNG chunk lengths are 31-bit.
const MAX_CHUNK: usize = i32::MAX as usize;

/// The PNG colour type and bit depth that store `image` without loss.
fn layout(image: &DynamicImage) -> (u8, u8, usize) {
    // (colour type, bit depth, channels)
    match image {
        DynamicImage::ImageLuma8(_) => (0, 8, 1),
        DynamicImage::ImageLumaA8(_) => (4, 8, 2),
        DynamicImage::ImageRgb8(_) => (2, 8, 3),
        DynamicImage::ImageRgba8(_) => (6, 8, 4),
        DynamicImage::ImageLuma16(_) => (0, 16, 1),
        DynamicImage::ImageLumaA16(_) => (4, 16, 2),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => (2, 16, 3),
        _ => (6, 16, 4),
    }
}

/// Sample bytes in PNG order (big-endian for 16 bits). Borrowed when the
/// decoded buffer already is that (all 8-bit images).
fn samples(image: &DynamicImage) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let be = |words: &[u16]| -> Vec<u8> { words.iter().flat_map(|w| w.to_be_bytes()).collect() };
    match image {
        DynamicImage::ImageLuma8(i) => Cow::Borrowed(i.as_raw()),
        DynamicImage::ImageLumaA8(i) => Cow::Borrowed(i.as_raw()),
        DynamicImage::ImageRgb8(i) => Cow::Borrowed(i.as_raw()),
        DynamicImage::ImageRgba8(i) => Cow::Borrowed(i.as_raw()),
        DynamicImage::ImageLuma16(i) => Cow::Owned(be(i.as_raw())),
        DynamicImage::ImageLumaA16(i) => Cow::Owned(be(i.as_raw())),
        DynamicImage::ImageRgb16(i) => Cow::Owned(be(i.as_raw())),
        DynamicImage::ImageRgba16(i) => Cow::Owned(be(i.as_raw())),
        // Float sources (some TIFFs) have no PNG form; 16 bits is the closest.
        DynamicImage::ImageRgb32F(_) => Cow::Owned(be(image.to_rgb16().as_raw())),
        other => Cow::Owned(be(other.to_rgba16().as_raw())),
    }
}

/// Encodes `image`, leaving it as it was: the filtered rows are a copy.
pub fn encode(image: &DynamicImage, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let (color_type, depth, channels) = layout(image);
    let bpp = channels * usize::from(depth / 8);
    let row_len = image.width() as usize * bpp;
    let filtered = filter_image(&samples(image), row_len, bpp);
    assemble(
        image.width(),
        image.height(),
        color_type,
        depth,
        &filtered,
        icc,
    )
}

/// Encodes `image`, filtering its rows where they lie instead of into a
/// copy (for the last user of the decoded pixels): beside the pixels, this
/// needs one byte per row and the compressed output. The same bytes as
/// [`encode`].
pub fn encode_in_place(image: DynamicImage, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let (color_type, depth, channels) = layout(&image);
    let (width, height) = (image.width(), image.height());
    let bpp = channels * usize::from(depth / 8);
    let row_len = width as usize * bpp;
    let rows = height as usize;
    let filtered_len = rows * (row_len + 1);
    // Room for the filter byte of every row after the samples; growing a
    // large buffer remaps it rather than copying it.
    let (mut bytes, mut words) = (Vec::new(), Vec::new());
    match image {
        DynamicImage::ImageLuma8(i) => bytes = i.into_raw(),
        DynamicImage::ImageLumaA8(i) => bytes = i.into_raw(),
        DynamicImage::ImageRgb8(i) => bytes = i.into_raw(),
        DynamicImage::ImageRgba8(i) => bytes = i.into_raw(),
        DynamicImage::ImageLuma16(i) => words = i.into_raw(),
        DynamicImage::ImageLumaA16(i) => words = i.into_raw(),
        DynamicImage::ImageRgb16(i) => words = i.into_raw(),
        DynamicImage::ImageRgba16(i) => words = i.into_raw(),
        // Float sources are converted anyway: the copy path costs nothing more.
        other => return encode(&other, icc),
    }
    let buffer: &mut [u8] = if words.is_empty() {
        bytes.resize(filtered_len, 0);
        &mut bytes
    } else {
        for w in &mut words {
            *w = w.to_be();
        }
        words.resize(filtered_len.div_ceil(2), 0);
        bytemuck::cast_slice_mut(&mut words)
    };
    filter_in_place(&mut buffer[..filtered_len], row_len, bpp);
    assemble(
        width,
        height,
        color_type,
        depth,
        &buffer[..filtered_len],
        icc,
    )
}

/// Signature, IHDR, iCCP, one IDAT holding `filtered` compressed, IEND.
fn assemble(
    width: u32,
    height: u32,
    color_type: u8,
    depth: u8,
    filtered: &[u8],
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let mut compressor = Compressor::new(
        CompressionLvl::new(DEFLATE_LEVEL).map_err(|e| format!("deflate level: {e:?}"))?,
    );
    let mut head = Vec::new();
    head.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color_type, 0, 0, 0]);
    write_chunk(&mut head, b"IHDR", &ihdr);
    if let Some(profile) = super::profile_for(icc, color_type == 0 || color_type == 4) {
        let mut iccp = b"ICC profile\0\0".to_vec();
        iccp.extend_from_slice(&zlib(&mut compressor, profile)?);
        write_chunk(&mut head, b"iCCP", &iccp);
    }
    // One IDAT, compressed straight into the output (any chunk up to 2 GiB
    // is valid PNG). The output is allocated zeroed, which the allocator
    // gets from fresh pages: only what the compressor writes becomes
    // resident, not the worst-case bound.
    let bound = compressor.zlib_compress_bound(filtered.len());
    if bound > MAX_CHUNK {
        return Err("image data too large for one PNG chunk".to_owned());
    }
    let start = head.len();
    let mut out = vec![0u8; start + 8 + bound + 12 + 12];
    out[..start].copy_from_slice(&head);
    out[start + 4..start + 8].copy_from_slice(b"IDAT");
    let n = compressor
        .zlib_compress(filtered, &mut out[start + 8..start + 8 + bound])
        .map_err(|e| format!("deflate failed: {e:?}"))?;
    out.truncate(start + 8 + n);
    out[start..start + 4].copy_from_slice(&(n as u32).to_be_bytes());
    let crc = crc32fast::hash(&out[start + 4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    write_chunk(&mut out, b"IEND", &[]);
    out.shrink_to_fit();
    Ok(out)
}

fn zlib(compressor: &mut Compressor, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut z = vec![0; compressor.zlib_compress_bound(data.len())];
    let n = compressor
        .zlib_compress(data, &mut z)
        .map_err(|e| format!("deflate failed: {e:?}"))?;
    z.truncate(n);
    Ok(z)
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The four filtered forms of a row, and the choice among them.
struct Candidates {
    rows: [Vec<u8>; 4],
}

impl Candidates {
    fn new(row_len: usize) -> Self {
        Self {
            rows: std::array::from_fn(|_| vec![0u8; row_len]),
        }
    }

    /// Filters `cur` every way and returns the filter type whose output has
    /// the smallest sum of absolute values (as signed bytes), 0 for none.
    fn choose(&mut self, cur: &[u8], prev: &[u8], bpp: usize) -> u8 {
        let [sub, up, avg, paeth] = &mut self.rows;
        filter_sub(cur, bpp, sub);
        filter_up(cur, prev, up);
        filter_avg(cur, prev, bpp, avg);
        filter_paeth(cur, prev, bpp, paeth);
        let mut best = (score(cur), 0u8);
        for (i, c) in self.rows.iter().enumerate() {
            let s = score(c);
            if s < best.0 {
                best = (s, i as u8 + 1);
            }
        }
        best.1
    }

    /// The output of filter `kind` (not 0) from the last [`Self::choose`].
    fn filtered(&self, kind: u8) -> &[u8] {
        &self.rows[usize::from(kind) - 1]
    }
}

/// Filters every row with the filter [`Candidates::choose`] picks; returns
/// filter-byte-prefixed rows.
fn filter_image(raw: &[u8], row_len: usize, bpp: usize) -> Vec<u8> {
    let rows = raw.len().checked_div(row_len).unwrap_or(0);
    let mut out = Vec::with_capacity(rows * (row_len + 1));
    let zeros = vec![0u8; row_len];
    let mut candidates = Candidates::new(row_len);
    for y in 0..rows {
        let cur = &raw[y * row_len..(y + 1) * row_len];
        let prev = if y == 0 {
            &zeros[..]
        } else {
            &raw[(y - 1) * row_len..y * row_len]
        };
        let kind = candidates.choose(cur, prev, bpp);
        out.push(kind);
        out.extend_from_slice(match kind {
            0 => cur,
            n => candidates.filtered(n),
        });
    }
    out
}

/// [`filter_image`] within one buffer: `buffer` holds the rows' samples
/// followed by one spare byte per row, and ends up holding the filtered
/// rows. Bottom row first: row y's output starts y bytes further on than
/// its samples did, so it only ever covers rows already filtered, and row
/// y - 1, which filtering row y reads, is still intact.
fn filter_in_place(buffer: &mut [u8], row_len: usize, bpp: usize) {
    let rows = buffer.len().checked_div(row_len + 1).unwrap_or(0);
    let zeros = vec![0u8; row_len];
    let mut candidates = Candidates::new(row_len);
    for y in (0..rows).rev() {
        let (before, from_cur) = buffer.split_at(y * row_len);
        let cur = &from_cur[..row_len];
        let prev = if y == 0 {
            &zeros[..]
        } else {
            &before[(y - 1) * row_len..]
        };
        let kind = candidates.choose(cur, prev, bpp);
        let out = y * (row_len + 1);
        if kind == 0 {
            buffer.copy_within(y * row_len..(y + 1) * row_len, out + 1);
        } else {
            buffer[out + 1..out + 1 + row_len].copy_from_slice(candidates.filtered(kind));
        }
        buffer[out] = kind;
    }
}

#[inline]
fn score(row: &[u8]) -> u64 {
    row.iter()
        .map(|&b| u64::from((b as i8).unsigned_abs()))
        .sum()
}

fn filter_sub(cur: &[u8], bpp: usize, out: &mut [u8]) {
    let n = bpp.min(cur.len());
    out[..n].copy_from_slice(&cur[..n]);
    for i in n..cur.len() {
        out[i] = cur[i].wrapping_sub(cur[i - bpp]);
    }
}

fn filter_up(cur: &[u8], prev: &[u8], out: &mut [u8]) {
    for ((o, &c), &p) in out.iter_mut().zip(cur).zip(prev) {
        *o = c.wrapping_sub(p);
    }
}

fn filter_avg(cur: &[u8], prev: &[u8], bpp: usize, out: &mut [u8]) {
    let n = bpp.min(cur.len());
    for i in 0..n {
        out[i] = cur[i].wrapping_sub(prev[i] >> 1);
    }
    for i in n..cur.len() {
        let avg = ((u16::from(cur[i - bpp]) + u16::from(prev[i])) >> 1) as u8;
        out[i] = cur[i].wrapping_sub(avg);
    }
}

fn filter_paeth(cur: &[u8], prev: &[u8], bpp: usize, out: &mut [u8]) {
    let n = bpp.min(cur.len());
    for i in 0..n {
        out[i] = cur[i].wrapping_sub(prev[i]);
    }
    for i in n..cur.len() {
        out[i] = cur[i].wrapping_sub(paeth(cur[i - bpp], prev[i], prev[i - bpp]));
    }
}

#[inline]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (a16, b16, c16) = (i16::from(a), i16::from(b), i16::from(c));
    let pa = (b16 - c16).abs();
    let pb = (a16 - c16).abs();
    let pc = (a16 + b16 - 2 * c16).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paeth_predictor_matches_the_spec() {
        assert_eq!(paeth(10, 20, 10), 20);
        assert_eq!(paeth(20, 10, 10), 20);
        assert_eq!(paeth(10, 10, 10), 10);
        assert_eq!(paeth(0, 255, 255), 0);
    }

    #[test]
    fn a_gradient_prefers_a_predicting_filter() {
        let row_len = 12;
        let raw: Vec<u8> = (0..row_len * 3).map(|i| (i % row_len) as u8 * 10).collect();
        let out = filter_image(&raw, row_len, 3);
        assert_eq!(out.len(), 3 * (row_len + 1));
        // Second and third rows equal the first: "Up" makes them all zeros.
        assert_eq!(out[row_len + 1], 2);
        assert!(out[row_len + 2..2 * (row_len + 1)].iter().all(|&b| b == 0));
    }

    #[test]
    fn filtering_in_place_gives_the_same_rows() {
        for (row_len, bpp, rows) in [(12, 3, 5), (40, 4, 7), (3, 1, 1), (16, 8, 4)] {
            let raw: Vec<u8> = (0..row_len * rows)
                .map(|i| ((i * 37 + i / row_len * 11) % 251) as u8)
                .collect();
            let expected = filter_image(&raw, row_len, bpp);
            let mut buffer = raw.clone();
            buffer.resize(rows * (row_len + 1), 0);
            filter_in_place(&mut buffer, row_len, bpp);
            assert_eq!(buffer, expected, "row_len {row_len}, bpp {bpp}");
        }
    }
}

//! Structural checks that need no decoder: completeness, for formats whose
//! decoders are lenient about missing data (they fill the rest with gray
//! rather than fail), and the claims a decoder would allocate for before
//! it finds out they are false.

use crate::codecs::MAX_ICC_BYTES;
use crate::sniff::Format;

/// What is wrong with a file's structure, found without a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flaw {
    /// The data visibly ends before the image does.
    Truncated,
    /// The data contradicts its own header, or would make the decoder
    /// allocate or work far beyond its size: why.
    Contradiction(String),
    /// A coding of the format the decoders do not read, named.
    Unsupported(&'static str),
}

/// The first flaw of `bytes` as `format`, if any: completeness, for formats
/// whose decoders are lenient about missing data, then the claims a
/// decoder would act on before finding out they are false. One walk of the
/// structure per file.
pub fn flaw(format: Format, bytes: &[u8]) -> Option<Flaw> {
    match format {
        Format::Jpeg => {
            let walk = walk_jpeg(bytes);
            if let Some(coding) = walk.frame.and_then(unsupported_coding) {
                Some(Flaw::Unsupported(coding))
            } else if !walk.eoi {
                Some(Flaw::Truncated)
            } else {
                // Valid, perhaps, but more passes over the image than we
                // give one upload.
                (walk.scans > MAX_JPEG_SCANS)
                    .then_some(Flaw::Unsupported("JPEG with more than 256 scans"))
            }
        }
        Format::WebP if riff_is_short(bytes) => Some(Flaw::Truncated),
        Format::WebP => webp_frame_differs_from_canvas(bytes).map(Flaw::Contradiction),
        Format::Tiff => tiff_values_are_missing(bytes).then_some(Flaw::Truncated),
        Format::Png => png_metadata_outgrows_the_file(bytes).map(Flaw::Contradiction),
        // Whole, yet with nothing to decode: not cut short.
        Format::Gif => matches!(gif_start(bytes), Some(GifStart::Trailer))
            .then(|| Flaw::Contradiction("it ends (its trailer) before any frame".to_owned())),
        _ => None,
    }
}

/// The most scans a JPEG may have. Progressive encoders write about ten
/// (mozjpeg 9–12, libjpeg's default script 10); a script of one scan per
/// coefficient and component takes 190 (1 + 63 × 3). Each costs the
/// decoder a pass over the whole image: a 655 KB file repeating one scan
/// 1500 times kept it busy past a minute at 81 MP.
pub const MAX_JPEG_SCANS: usize = 256;

/// The most text chunks a PNG may carry. The decoder skips them
/// (`codecs::png_source`), keeping a slice for each run of chunks between
/// them: this keeps that list small. Real files carry a handful.
pub const MAX_PNG_TEXT_CHUNKS: usize = 10_000;

/// Metadata the PNG decoder would inflate or keep far beyond the file's
/// size: an ICC profile past [`MAX_ICC_BYTES`] once inflated (checked
/// here: the decoder inflates it before any pixel, up to its own
/// allocation limit), or more than [`MAX_PNG_TEXT_CHUNKS`] text chunks.
fn png_metadata_outgrows_the_file(b: &[u8]) -> Option<String> {
    let mut texts = 0;
    for (kind, data, _) in png_chunks(b) {
        match kind {
            b"iCCP" => {
                // A Latin-1 name, its NUL, the method byte, then zlib.
                // (A malformed one is the decoder's to judge.)
                let stream = data
                    .iter()
                    .position(|&c| c == 0)
                    .and_then(|nul| data.get(nul + 2..))
                    .unwrap_or_default();
                let mut profile = vec![0; MAX_ICC_BYTES];
                let inflated =
                    libdeflater::Decompressor::new().zlib_decompress(stream, &mut profile);
                if let Err(libdeflater::DecompressionError::InsufficientSpace) = inflated {
                    return Some(format!(
                        "its ICC profile (iCCP) inflates past {} MiB",
                        MAX_ICC_BYTES >> 20
                    ));
                }
            }
            b"tEXt" | b"zTXt" | b"iTXt" => {
                texts += 1;
                if texts > MAX_PNG_TEXT_CHUNKS {
                    return Some(format!(
                        "it has more than {MAX_PNG_TEXT_CHUNKS} text chunks"
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// A PNG's chunks after the signature, each as (type, data, where it
/// ends: after its CRC, which may be cut off), up to IEND or the first
/// whose data runs past the end of `b`.
pub(crate) fn png_chunks(b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8], usize)> {
    let mut i = 8;
    std::iter::from_fn(move || {
        let header = b.get(i..i + 8)?;
        let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let data = b.get(i + 8..(i + 8).checked_add(size)?)?;
        let kind = &header[4..8];
        if kind == b"IEND" {
            return None;
        }
        i += 12 + size;
        Some((kind, data, i))
    })
}

/// An extended WebP declares its canvas in VP8X (and an animation each
/// frame's size in its ANMF chunk), and each frame's bitstream declares
/// its size again; the decoder allocates for that bitstream's frame (up to
/// 16383x16383) and, in an animation, decodes it whole, before comparing
/// the two sizes, which are the ones the limits checked. The first frame
/// is checked: it is the one decoded.
fn webp_frame_differs_from_canvas(b: &[u8]) -> Option<String> {
    const ANIMATED: u8 = 0x02;
    let mut chunks = riff_chunks(b);
    let (b"VP8X", Some(_)) = chunks.next()? else {
        return None;
    };
    let vp8x = vp8x_fields(b)?;
    let u24 = |x: &[u8]| u32::from_le_bytes([x[0], x[1], x[2], 0]) + 1;
    if vp8x[0] & ANIMATED != 0 {
        // ANMF: X, Y, width-1, height-1 (3 bytes each), duration (3),
        // flags (1), then the frame's chunks (ALPH, VP8 or VP8L).
        let anmf = chunks.find_map(|(fourcc, data)| (fourcc == b"ANMF").then_some(data?))?;
        let declared = (u24(anmf.get(6..9)?), u24(anmf.get(9..12)?));
        return sub_chunks(anmf.get(16..)?)
            .find_map(|(fourcc, data)| bitstream_size(fourcc, data))
            .and_then(|(kind, frame)| differs(kind, frame, "animation frame", declared));
    }
    let canvas = (u24(&vp8x[4..7]), u24(&vp8x[7..10]));
    chunks.find_map(|(fourcc, data)| {
        let (kind, frame) = bitstream_size(fourcc, data?)?;
        differs(kind, frame, "canvas", canvas)
    })
}

fn differs(kind: &str, frame: (u32, u32), what: &str, declared: (u32, u32)) -> Option<String> {
    (frame != declared).then(|| {
        format!(
            "its {kind} frame is {}x{}, its {what} {}x{}",
            frame.0, frame.1, declared.0, declared.1
        )
    })
}

/// The size a VP8 or VP8L bitstream declares.
fn bitstream_size(fourcc: &[u8; 4], data: &[u8]) -> Option<(&'static str, (u32, u32))> {
    match fourcc {
        // Key frame: 3 bytes of tag, the start code, 14-bit sizes.
        b"VP8 " if data.len() >= 10 && data[3..6] == [0x9D, 0x01, 0x2A] => {
            let side = |x: &[u8]| u32::from(u16::from_le_bytes([x[0], x[1]]) & 0x3FFF);
            Some(("VP8", (side(&data[6..8]), side(&data[8..10]))))
        }
        // Lossless: a signature byte, then width-1 and height-1 in 14 bits each.
        b"VP8L" if data.len() >= 5 && data[0] == 0x2F => {
            let bits = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
            Some(("VP8L", ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)))
        }
        _ => None,
    }
}

/// The chunks inside a chunk's data (an ANMF frame's), as long as they fit.
fn sub_chunks(b: &[u8]) -> impl Iterator<Item = (&[u8; 4], &[u8])> {
    chunks_between(b, 0, b.len()).map_while(|(fourcc, data)| Some((fourcc, data?)))
}

/// A still WebP whose extended header (VP8X) is wrong about alpha:
/// - it says none while its image has some: an ALPH chunk, or a lossless
///   bitstream that uses alpha. exiftool writes such files when it adds
///   EXIF to a simple lossless WebP; libwebp and browsers show the alpha,
///   the decoder follows the header and drops it (transparent areas came
///   out black);
/// - it says alpha for a lossy image without an ALPH chunk: libwebp and
///   browsers show it opaque, the decoder refused it (a chunk missing).
///
/// The bytes with the flag made right, for the decoder; `None` when the
/// header is right.
pub fn webp_with_alpha_flag_restored(b: &[u8]) -> Option<Vec<u8>> {
    const ALPHA: u8 = 0x10;
    const ANIMATED: u8 = 0x02;
    // The VP8X chunk is first: its flags are the file's 21st byte.
    const FLAGS_AT: usize = 20;
    let mut chunks = riff_chunks(b);
    let (b"VP8X", Some(_)) = chunks.next()? else {
        return None;
    };
    let flags = vp8x_fields(b)?[0];
    if flags & ANIMATED != 0 {
        return None;
    }
    let (mut alph, mut lossy, mut lossless_alpha) = (false, false, false);
    for (fourcc, data) in chunks {
        match (fourcc, data) {
            (b"ALPH", Some(_)) => alph = true,
            (b"VP8 ", Some(_)) => lossy = true,
            // Lossless: after the signature byte, 14 + 14 bits of size,
            // then the alpha_is_used bit.
            (b"VP8L", Some(data)) if data.len() >= 5 && data[0] == 0x2F => {
                let bits = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
                lossless_alpha = bits & (1 << 28) != 0;
            }
            _ => {}
        }
    }
    let wrong = if flags & ALPHA == 0 {
        alph || lossless_alpha
    } else {
        lossy && !alph
    };
    wrong.then(|| {
        let mut fixed = b.to_vec();
        fixed[FLAGS_AT] ^= ALPHA;
        fixed
    })
}

/// How a WebP's first image is coded, which decides what its decoder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebpCoding {
    /// VP8L (else VP8, lossy).
    pub lossless: bool,
    /// A lossy image with an ALPH chunk.
    pub alpha_chunk: bool,
    /// An animation (VP8X's flag): the first frame is drawn on a canvas.
    pub animated: bool,
}

/// The coding of a WebP's first image, from its chunks (an animation's
/// first ANMF frame); `None` when no bitstream chunk is found.
pub fn webp_coding(b: &[u8]) -> Option<WebpCoding> {
    const ANIMATED: u8 = 0x02;
    let animated =
        b.get(12..16) == Some(b"VP8X") && vp8x_fields(b).is_some_and(|f| f[0] & ANIMATED != 0);
    let coding = |chunks: &mut dyn Iterator<Item = (&[u8; 4], &[u8])>| {
        let mut alpha_chunk = false;
        for (fourcc, _) in chunks {
            match fourcc {
                b"ALPH" => alpha_chunk = true,
                b"VP8 " => return Some((false, alpha_chunk)),
                b"VP8L" => return Some((true, false)),
                _ => {}
            }
        }
        None
    };
    let (lossless, alpha_chunk) = if animated {
        // ANMF: 16 bytes of frame header, then the frame's chunks.
        let anmf =
            riff_chunks(b).find_map(|(fourcc, data)| (fourcc == b"ANMF").then_some(data?))?;
        coding(&mut sub_chunks(anmf.get(16..)?))?
    } else {
        coding(&mut riff_chunks(b).map_while(|(fourcc, data)| Some((fourcc, data?))))?
    };
    Some(WebpCoding {
        lossless,
        alpha_chunk,
        animated,
    })
}

/// The flags and canvas of an extended WebP, where the decoder (and
/// imagesize) read them: the ten bytes after the VP8X chunk's header,
/// whatever size the chunk declares (a VP8X of size 0 still has a canvas;
/// its chunks then start inside it).
fn vp8x_fields(b: &[u8]) -> Option<&[u8]> {
    b.get(20..30)
}

/// The chunks of a RIFF file after the form type, each as (FourCC, data),
/// as far as the WebP decoder looks for them: the RIFF's declared length
/// counted from the end of the first chunk when that is VP8X (so a few bytes
/// past the RIFF's end; image-webp 0.2), else from the file's start. A chunk
/// that runs past the end of the bytes comes with `None` and is the last.
fn riff_chunks(b: &[u8]) -> impl Iterator<Item = (&[u8; 4], Option<&[u8]>)> {
    let u32_at = |i: usize| {
        b.get(i..i + 4)
            .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let mut end = u32_at(4).saturating_add(8);
    if b.get(12..16) == Some(b"VP8X") {
        let first = u32_at(16);
        end = end.saturating_add(first + (first & 1));
    }
    chunks_between(b, 12, end.min(b.len()))
}

/// The chunks of `b` from `start` to `end`, each as (FourCC, data); a
/// chunk that runs past the end of `b` comes with `None` and is the last.
fn chunks_between(
    b: &[u8],
    start: usize,
    end: usize,
) -> impl Iterator<Item = (&[u8; 4], Option<&[u8]>)> {
    let mut i = start;
    std::iter::from_fn(move || {
        if i >= end {
            return None;
        }
        let header = b.get(i..i + 8)?;
        let fourcc: &[u8; 4] = header[..4].try_into().ok()?;
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let start = i + 8;
        match start.checked_add(size).filter(|&stop| stop <= b.len()) {
            Some(stop) => {
                // Chunks are padded to an even length.
                i = stop + (size & 1);
                Some((fourcc, Some(&b[start..stop])))
            }
            None => {
                i = end;
                Some((fourcc, None))
            }
        }
    })
}

/// Whether an entry of a TIFF's first IFD (the one the decoder reads
/// first) has its values past the end of the data: a cut file, or a count
/// that the decoder would reserve memory for (up to 256 MiB) before
/// reading a byte of it.
fn tiff_values_are_missing(b: &[u8]) -> bool {
    let tiff = Tiff::new(b);
    let Some(entries) = tiff.first_ifd() else {
        return true;
    };
    entries.into_iter().any(|entry| {
        let Some(entry) = entry else {
            return true;
        };
        let size = match entry.kind {
            1 | 2 | 6 | 7 => 1,              // BYTE, ASCII, SBYTE, UNDEFINED
            3 | 8 => 2,                      // SHORT, SSHORT
            4 | 9 | 11 | 13 => 4,            // LONG, SLONG, FLOAT, IFD
            5 | 10 | 12 | 16 | 17 | 18 => 8, // RATIONAL, SRATIONAL, DOUBLE, 64-bit
            _ => return false,               // unknown: the decoder skips it
        };
        let bytes = u64::from(entry.count) * size;
        // Up to four bytes are held in the entry itself.
        bytes > 4 && u64::from(entry.offset) + bytes > b.len() as u64
    })
}

/// Whether a TIFF's first extra sample is associated alpha (ExtraSamples
/// = 1): its colour is premultiplied by alpha, which the decoder leaves
/// as it is.
pub fn tiff_alpha_is_associated(b: &[u8]) -> bool {
    const EXTRA_SAMPLES: u16 = 338;
    Tiff::new(b).first_short(EXTRA_SAMPLES) == Some(1)
}

/// A TIFF's ICC profile (tag 34675, InterColorProfile, in the first IFD),
/// read here: the image crate's decoder, once given limits, returns none
/// for a profile of a kilobyte or more on a small image (seen with image
/// 0.25.10: a 3 KB sRGB profile on a 100x100 TIFF was dropped).
pub fn tiff_icc_profile(b: &[u8]) -> Option<&[u8]> {
    const INTER_COLOR_PROFILE: u16 = 34675;
    let tiff = Tiff::new(b);
    let entry = tiff
        .first_ifd()?
        .flatten()
        .find(|e| e.tag == INTER_COLOR_PROFILE && matches!(e.kind, 1 | 7))?; // BYTE, UNDEFINED
    let len = entry.count as usize;
    if len <= 4 {
        // Held in the entry: too short to be a profile.
        return None;
    }
    let start = entry.offset as usize;
    b.get(start..start.checked_add(len)?)
}

/// What a TIFF's pixels are, in words (e.g. "32-bit floating-point gray",
/// "8-bit white-is-zero gray with one extra sample"), from its first IFD's
/// Photometric, BitsPerSample, SamplesPerPixel, PlanarConfiguration and
/// SampleFormat tags:
/// for the refusal of a kind the decoder does not read. `None` when the
/// tags cannot be read.
pub fn tiff_pixel_kind(b: &[u8]) -> Option<String> {
    const BITS_PER_SAMPLE: u16 = 258;
    const PHOTOMETRIC: u16 = 262;
    const SAMPLES_PER_PIXEL: u16 = 277;
    const PLANAR_CONFIGURATION: u16 = 284;
    const SAMPLE_FORMAT: u16 = 339;
    let first_short = |tag| Tiff::new(b).first_short(tag);
    let samples = first_short(SAMPLES_PER_PIXEL).unwrap_or(1);
    // The colour, and how many samples it takes.
    let (colour, colour_samples) = match first_short(PHOTOMETRIC)? {
        0 => ("white-is-zero gray".to_owned(), 1),
        1 => ("gray".to_owned(), 1),
        2 => ("RGB".to_owned(), 3),
        3 => ("palette".to_owned(), 1),
        4 => ("transparency mask".to_owned(), 1),
        5 => ("CMYK".to_owned(), 4),
        6 => ("YCbCr".to_owned(), 3),
        8 => ("CIE L*a*b*".to_owned(), 3),
        9 => ("ICC L*a*b*".to_owned(), 3),
        10 => ("ITU L*a*b*".to_owned(), 3),
        32803 => ("colour filter array (raw sensor data)".to_owned(), 1),
        32844 => ("LogL".to_owned(), 1),
        32845 => ("LogLuv".to_owned(), 3),
        34892 => ("linear raw".to_owned(), 3),
        other => (format!("photometric {other}"), 1),
    };
    let sample = match first_short(SAMPLE_FORMAT).unwrap_or(1) {
        2 => "signed ",
        3 => "floating-point ",
        _ => "",
    };
    let bits = first_short(BITS_PER_SAMPLE).unwrap_or(1);
    let extra = match samples.saturating_sub(colour_samples) {
        0 => String::new(),
        1 => " with one extra sample".to_owned(),
        n => format!(" with {n} extra samples"),
    };
    let planes = if first_short(PLANAR_CONFIGURATION) == Some(2) {
        ", in separate planes"
    } else {
        ""
    };
    Some(format!("{bits}-bit {sample}{colour}{extra}{planes}"))
}

/// A TIFF's bytes, read in its byte order.
#[derive(Clone, Copy)]
struct Tiff<'a> {
    b: &'a [u8],
    big_endian: bool,
}

/// One entry of an IFD, at byte `at`.
struct TiffEntry {
    at: usize,
    tag: u16,
    kind: u16,
    count: u32,
    /// The value's offset, or the value itself when it fits in 4 bytes.
    offset: u32,
}

impl<'a> Tiff<'a> {
    fn new(b: &'a [u8]) -> Self {
        Tiff {
            b,
            big_endian: b.starts_with(b"MM"),
        }
    }

    fn u16_at(self, i: usize) -> Option<u16> {
        let x: [u8; 2] = self.b.get(i..i + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(x)
        } else {
            u16::from_le_bytes(x)
        })
    }

    fn u32_at(self, i: usize) -> Option<u32> {
        let x: [u8; 4] = self.b.get(i..i + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(x)
        } else {
            u32::from_le_bytes(x)
        })
    }

    /// The first value of a SHORT tag of the first IFD: in the entry (one
    /// or two values), or at its offset.
    fn first_short(self, tag: u16) -> Option<u16> {
        const SHORT: u16 = 3;
        self.first_ifd()?.flatten().find_map(|e| {
            (e.tag == tag && e.kind == SHORT && e.count >= 1).then(|| {
                if e.count <= 2 {
                    self.u16_at(e.at + 8)
                } else {
                    self.u16_at(e.offset as usize)
                }
            })?
        })
    }

    /// The first IFD's entries (`None` for one cut short), or `None` when
    /// the IFD itself is not in the data.
    fn first_ifd(self) -> Option<impl Iterator<Item = Option<TiffEntry>> + 'a> {
        let ifd = self.u32_at(4)? as usize;
        let entries = self.u16_at(ifd)?;
        Some((0..usize::from(entries)).map(move |n| {
            let at = ifd + 2 + 12 * n;
            Some(TiffEntry {
                at,
                tag: self.u16_at(at)?,
                kind: self.u16_at(at + 2)?,
                count: self.u32_at(at + 4)?,
                offset: self.u32_at(at + 8)?,
            })
        }))
    }
}

/// For a JPEG whose decoder holds every coefficient until the last scan,
/// the bytes of that buffer: every 8×8 block of every component, padded to
/// whole MCUs as libjpeg pads them, at 128 bytes a block. That is a
/// progressive frame (SOF2, SOF6, SOF10, SOF14), or a sequential one whose
/// first scan holds fewer components than the frame. `None` otherwise. A
/// frame header too short to read is charged as if every component were at
/// full resolution.
pub fn jpeg_progressive_coefficients(b: &[u8]) -> Option<u64> {
    let mut frame: Option<(bool, &[u8])> = None;
    for (marker, segment) in jpeg_segments(b) {
        if is_frame_header(marker) {
            let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
            frame = Some((progressive, segment));
        } else if marker == 0xDA {
            let (progressive, sof) = frame?;
            let in_frame = sof.get(5).copied().unwrap_or(0);
            let in_scan = segment.first().copied().unwrap_or(0);
            return (progressive || in_scan < in_frame).then(|| coefficient_bytes(sof));
        }
    }
    // No scan header read: the frame type decides.
    frame.and_then(|(progressive, sof)| progressive.then(|| coefficient_bytes(sof)))
}

/// A JPEG's header as the image crate's reader takes it, for the header
/// alone: SOI, the segments before the first scan but the comments and the
/// application segments that reader skips (APP3–APP13, APP15), the first
/// scan's header, EOI. That reader copies its whole input first: given
/// this, it copies kilobytes, not the entropy-coded data (or a file padded
/// with comments). `None` when the segments cannot be followed to a scan
/// (junk between them): then the reader takes the file.
pub fn jpeg_header_only(b: &[u8]) -> Option<Vec<u8>> {
    let segments = jpeg_header_segments(b)?;
    let mut out = vec![0xFF, 0xD8];
    for (marker, payload) in segments {
        push_jpeg_segment(&mut out, marker, payload);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Some(out)
}

/// The length of [`jpeg_header_only`]'s bytes, without making them.
pub fn jpeg_header_only_len(b: &[u8]) -> Option<usize> {
    let segments = jpeg_header_segments(b)?;
    Some(
        segments
            .iter()
            .map(|(_, payload)| 4 + payload.len())
            .sum::<usize>()
            + 4,
    )
}

/// The segments [`jpeg_header_only`] keeps, up to the first scan's header.
fn jpeg_header_segments(b: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut kept = Vec::new();
    for (marker, payload) in jpeg_segments(b) {
        match marker {
            0xFE | 0xE3..=0xED | 0xEF => {}
            // Its length, the components and their tables, the spectral
            // selection and approximation: 4 + 2 per component.
            0xDA => {
                let components = usize::from(payload.first().copied().unwrap_or(0));
                kept.push((marker, &payload[..payload.len().min(4 + 2 * components)]));
                return Some(kept);
            }
            _ => kept.push((marker, payload)),
        }
    }
    None
}

/// Appends a JPEG marker segment: the marker, its length, its payload (at
/// most 65533 bytes, as [`jpeg_segments`] reads them).
fn push_jpeg_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(payload);
}

/// The number of components of a JPEG's first frame (3 for colour, 4 for
/// CMYK and YCCK), from its header.
pub fn jpeg_components(b: &[u8]) -> Option<u8> {
    jpeg_segments(b)
        .find(|(marker, _)| is_frame_header(*marker))
        .and_then(|(_, sof)| sof.get(5).copied())
}

/// The JPEG coding processes the decoders do not read, named for the
/// refusal, from the first frame header's (marker, sample precision); they
/// read 8-bit Huffman-coded frames (baseline, extended, progressive).
fn unsupported_coding((marker, precision): (u8, u8)) -> Option<&'static str> {
    match marker {
        0xC3 | 0xC7 | 0xCB | 0xCF => Some("lossless JPEG"),
        0xC5 | 0xC6 | 0xCD | 0xCE => Some("hierarchical JPEG"),
        0xC9 | 0xCA => Some("arithmetic-coded JPEG"),
        0xF7 => Some("JPEG-LS"),
        // (Other precisions are damage, for the decoder to find.)
        _ if precision == 12 => Some("12-bit JPEG"),
        _ => None,
    }
}

/// SOF0–SOF15 but DHT, JPG and DAC, which share the range.
fn is_frame_header(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// The bytes of a JPEG's ICC profile segments (APP2 `ICC_PROFILE`): the
/// header reader keeps them all, whether or not they make a profile.
pub fn jpeg_icc_segment_bytes(b: &[u8]) -> u64 {
    jpeg_segments(b)
        .filter(|(marker, segment)| *marker == 0xE2 && segment.starts_with(b"ICC_PROFILE\0"))
        .map(|(_, segment)| segment.len() as u64)
        .sum()
}

/// A JPEG's first EXIF block (APP1 `Exif\0\0`, after that prefix): the
/// one Pillow and browsers read when a file has several.
pub fn jpeg_first_exif(b: &[u8]) -> Option<&[u8]> {
    jpeg_segments(b)
        .find(|(marker, segment)| *marker == 0xE1 && segment.starts_with(b"Exif\0\0"))
        .map(|(_, segment)| &segment[6..])
}

/// A JPEG's marker segments up to the first scan's (SOS the last), as
/// (marker, the bytes after its length field: up to the segment's end, or
/// the rest of the file for SOS).
fn jpeg_segments(b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 2; // after SOI
    std::iter::from_fn(move || loop {
        if i + 4 > b.len() || b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        match marker {
            0xFF => i += 1,
            0x01 | 0xD0..=0xD8 => i += 2,
            0xD9 => return None,
            _ => {
                let start = i + 4;
                i = if marker == 0xDA {
                    b.len()
                } else {
                    i + 2 + usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]))
                };
                let segment = b.get(start..i.min(b.len())).unwrap_or_default();
                return Some((marker, segment));
            }
        }
    })
}

/// The coefficient bytes of the frame whose header (after its length) is
/// `sof`: precision, height, width, then (id, sampling, table) per component.
fn coefficient_bytes(sof: &[u8]) -> u64 {
    let dim = |at: usize| {
        sof.get(at..at + 2)
            .map(|d| u64::from(u16::from_be_bytes([d[0], d[1]])))
    };
    let (height, width) = (dim(1).unwrap_or(0), dim(3).unwrap_or(0));
    let count = sof.get(5).map_or(0, |&n| usize::from(n));
    let sampling: Vec<(u64, u64)> = (0..count)
        .map_while(|c| sof.get(6 + 3 * c + 1))
        .map(|&f| (u64::from(f >> 4).max(1), u64::from(f & 15).max(1)))
        .collect();
    let blocks = |size: u64, factor: u64, max: u64| {
        // libjpeg: ceil(size × factor / (max × 8)), rounded up to the factor.
        (size * factor).div_ceil(max * 8).next_multiple_of(factor)
    };
    if sampling.len() != count || count == 0 {
        // Unreadable: three components at full resolution.
        return width.div_ceil(8) * height.div_ceil(8) * 3 * 128;
    }
    let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1);
    let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1);
    sampling
        .iter()
        .map(|&(h, v)| blocks(width, h, h_max) * blocks(height, v, v_max) * 128)
        .sum()
}

/// A RIFF container declares its length, and each chunk its own; fewer
/// bytes means a cut file. (The WebP decoder reserves a metadata chunk's
/// declared size before reading it: up to 4 GiB. Chunks it does not know
/// it skips, wherever they claim to end.)
fn riff_is_short(b: &[u8]) -> bool {
    const WEBP_CHUNKS: [&[u8; 4]; 9] = [
        b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP", b"EXIF", b"XMP ",
    ];
    riff_is_shorter_than_declared(b)
        || riff_chunks(b).any(|(fourcc, data)| data.is_none() && WEBP_CHUNKS.contains(&fourcc))
}

fn riff_is_shorter_than_declared(b: &[u8]) -> bool {
    match b.get(4..8) {
        Some(size) => {
            let declared = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
            b.len() < declared.saturating_add(8)
        }
        None => true,
    }
}

/// What a walk of a JPEG's markers found: whether it reached EOI, the
/// scans (SOS segments) on the way, and the first frame header's marker
/// and sample precision.
struct JpegWalk {
    eoi: bool,
    scans: usize,
    frame: Option<(u8, u8)>,
}

/// Walks the JPEG marker structure to EOI. Length-prefixed segments are
/// skipped whole, so an EXIF thumbnail's own EOI inside APP1 does not count;
/// entropy-coded data after SOS is scanned for the next real marker.
fn walk_jpeg(b: &[u8]) -> JpegWalk {
    let mut i = 2; // after SOI
    let mut scans = 0;
    let mut frame = None;
    let end = |eoi, scans, frame| JpegWalk { eoi, scans, frame };
    loop {
        // Tolerate junk between segments; skip fill bytes.
        match b[i.min(b.len())..].iter().position(|&x| x == 0xFF) {
            Some(p) => i += p,
            None => return end(false, scans, frame),
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return end(false, scans, frame);
        };
        i += 1;
        match marker {
            0xD9 => return end(true, scans, frame),
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {
                let Some(len) = b
                    .get(i..i + 2)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                else {
                    return end(false, scans, frame);
                };
                if len < 2 {
                    return end(false, scans, frame);
                }
                if frame.is_none() && (is_frame_header(marker) || marker == 0xF7) {
                    frame = b.get(i + 2).map(|&precision| (marker, precision));
                }
                i += len;
                if i > b.len() {
                    return end(false, scans, frame);
                }
                if marker == 0xDA {
                    scans += 1;
                    // Entropy-coded data: FF00 is a stuffed byte, FFD0-D7 a restart.
                    loop {
                        match b[i..].iter().position(|&x| x == 0xFF) {
                            Some(p) => i += p,
                            None => return end(false, scans, frame),
                        }
                        match b.get(i + 1) {
                            None => return end(false, scans, frame),
                            Some(0x00 | 0xD0..=0xD7) => i += 2,
                            Some(0xFF) => i += 1,
                            Some(_) => break,
                        }
                    }
                }
            }
        }
    }
}

/// A GIF's first frame as its image descriptor places it.
struct GifFirstFrame {
    screen: (u32, u32),
    left: u32,
    top: u32,
    width: u32,
    height: u32,
    /// Its graphic control extension names a transparent colour.
    transparent: bool,
}

impl GifFirstFrame {
    /// The logical screen, grown to hold the frame where it reaches past it.
    fn canvas(&self) -> (u32, u32) {
        (
            self.screen.0.max(self.left + self.width),
            self.screen.1.max(self.top + self.height),
        )
    }
}

/// What a GIF's blocks lead to, past its extensions.
enum GifStart {
    Frame(GifFirstFrame),
    /// The trailer, before any image: a GIF with no frame.
    Trailer,
}

/// The first image descriptor of a GIF, after its extensions; `None` when
/// it cannot be read (cut short, no frame, or not a GIF).
fn gif_first_frame(b: &[u8]) -> Option<GifFirstFrame> {
    match gif_start(b)? {
        GifStart::Frame(frame) => Some(frame),
        GifStart::Trailer => None,
    }
}

fn gif_start(b: &[u8]) -> Option<GifStart> {
    const TRANSPARENT_COLOUR: u8 = 0x01;
    if !b.starts_with(b"GIF8") {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_le_bytes([
            *b.get(at)?,
            *b.get(at + 1)?,
        ])))
    };
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 0x07) + 1)
        } else {
            0
        }
    };
    // Sub-blocks of an extension: sizes, each followed by its bytes, to 0.
    let skip_sub_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let size = usize::from(*b.get(at)?);
            at += 1 + size;
            if size == 0 {
                return Some(at);
            }
        }
    };
    let screen = (u32_at(6)?, u32_at(8)?);
    let mut at = 13 + table(*b.get(10)?);
    let mut transparent = false;
    loop {
        match *b.get(at)? {
            // Graphic control extension: the next frame's transparency.
            0x21 if *b.get(at + 1)? == 0xF9 => {
                transparent = *b.get(at + 3)? & TRANSPARENT_COLOUR != 0;
                at = skip_sub_blocks(at + 2)?;
            }
            0x21 => at = skip_sub_blocks(at + 2)?,
            0x2C => {
                return Some(GifStart::Frame(GifFirstFrame {
                    screen,
                    left: u32_at(at + 1)?,
                    top: u32_at(at + 3)?,
                    width: u32_at(at + 5)?,
                    height: u32_at(at + 7)?,
                    transparent,
                }))
            }
            0x3B => return Some(GifStart::Trailer),
            _ => return None,
        }
    }
}

/// The canvas a GIF's first frame is drawn on: its logical screen, grown
/// to hold the frame when the frame reaches past it, the size browsers and
/// Pillow give such files (some writers leave the screen 0x0 or smaller
/// than the image). The image crate would crop the frame to the screen,
/// after decoding all of it: a 1x1 screen over a 64 MP frame made 1x1
/// variants, and held memory the screen's size did not account for.
pub fn gif_canvas(b: &[u8]) -> Option<(u32, u32)> {
    gif_first_frame(b).map(|f| f.canvas())
}

/// Whether a GIF's first frame, as decoded, is opaque everywhere: it has
/// no transparent colour and covers the whole canvas (the rest is left
/// transparent). It comes out as RGBA all the same, but no alpha is coded
/// for it, which the memory estimate counts. `false` when unsure.
pub fn gif_first_frame_is_opaque(b: &[u8]) -> bool {
    gif_first_frame(b).is_some_and(|f| {
        f.left == 0 && f.top == 0 && (f.width, f.height) == f.canvas() && !f.transparent
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_truncated(format: Format, bytes: &[u8]) -> bool {
        flaw(format, bytes) == Some(Flaw::Truncated)
    }

    fn contradiction(format: Format, bytes: &[u8]) -> Option<String> {
        match flaw(format, bytes) {
            Some(Flaw::Contradiction(why)) => Some(why),
            _ => None,
        }
    }

    /// A 1×1 gray PNG with `extra` chunks (type, data) before its IDAT.
    fn png_with(extra: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let chunk = |kind: &[u8; 4], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            let crc = crc32fast::hash(&c[4..]);
            c.extend_from_slice(&crc.to_be_bytes());
            c
        };
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        p.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        for (kind, data) in extra {
            p.extend(chunk(kind, data));
        }
        p.extend(chunk(
            b"IDAT",
            &[0x78, 0x01, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
        ));
        p.extend(chunk(b"IEND", &[]));
        p
    }

    /// An iCCP chunk whose profile is `size` zero bytes.
    fn iccp(size: usize) -> Vec<u8> {
        let mut data = b"icc\0\0".to_vec();
        let profile = vec![0; size];
        let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::best());
        let mut zlib = vec![0; compressor.zlib_compress_bound(size)];
        let n = compressor.zlib_compress(&profile, &mut zlib).unwrap();
        data.extend_from_slice(&zlib[..n]);
        data
    }

    #[test]
    fn a_jpeg_with_too_many_scans_is_unsupported() {
        let one = minimal_jpeg(true);
        assert_eq!(flaw(Format::Jpeg, &one), None);
        // Its SOS segment and entropy data, repeated.
        let (head, sos) = (&one[..10], &one[10..one.len() - 2]);
        let with_scans = |n| {
            let mut j = head.to_vec();
            (0..n).for_each(|_| j.extend_from_slice(sos));
            j.extend_from_slice(&[0xFF, 0xD9]);
            j
        };
        assert_eq!(flaw(Format::Jpeg, &with_scans(MAX_JPEG_SCANS)), None);
        assert_eq!(
            flaw(Format::Jpeg, &with_scans(MAX_JPEG_SCANS + 1)),
            Some(Flaw::Unsupported("JPEG with more than 256 scans"))
        );
        assert_eq!(MAX_JPEG_SCANS, 256, "the message says 256");
    }

    /// One JPEG marker segment's bytes.
    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        push_jpeg_segment(&mut s, marker, payload);
        s
    }

    #[test]
    fn a_jpeg_header_leaves_out_comments_unread_segments_and_the_data() {
        let headers = jpeg_headers(0xC0, (16, 16), &[0x11], 1);
        let (soi, frame_and_scan) = headers.split_at(2);
        let mut jpeg = soi.to_vec();
        jpeg.extend(segment(0xFE, &[b'c'; 60_000]));
        jpeg.extend(segment(0xE1, b"Exif\0\0MM"));
        jpeg.extend(segment(0xE5, &[5; 1000]));
        jpeg.extend(segment(0xEE, b"Adobe"));
        jpeg.extend_from_slice(frame_and_scan);
        jpeg.extend_from_slice(&[1, 0, 0, 0, 0, 0x12, 0x34, 0xFF, 0xD9]);
        let mut expected = soi.to_vec();
        expected.extend(segment(0xE1, b"Exif\0\0MM"));
        expected.extend(segment(0xEE, b"Adobe"));
        expected.extend_from_slice(frame_and_scan);
        expected.extend_from_slice(&[1, 0, 0, 0, 0, 0xFF, 0xD9]);
        assert_eq!(jpeg_header_only_len(&jpeg), Some(expected.len()));
        assert_eq!(jpeg_header_only(&jpeg), Some(expected));
        assert_eq!(jpeg_components(&jpeg), Some(1));
        // Junk where a segment should start: the file as it is.
        let mut junk = soi.to_vec();
        junk.extend_from_slice(b"junk");
        junk.extend_from_slice(&jpeg[2..]);
        assert_eq!(jpeg_header_only(&junk), None);
        assert_eq!(jpeg_header_only_len(&junk), None);
    }

    #[test]
    fn jpeg_ls_is_refused_by_name() {
        // A JPEG-LS frame header, its scan, the end.
        let mut ls = jpeg_headers(0xF7, (16, 16), &[0x11], 1);
        ls.extend_from_slice(&[1, 0, 0, 0, 0, 0x12, 0xFF, 0xD9]);
        assert_eq!(flaw(Format::Jpeg, &ls), Some(Flaw::Unsupported("JPEG-LS")));
    }

    #[test]
    fn a_webps_coding_is_read_from_its_chunks() {
        let riff = |chunks: &[(&[u8; 4], &[u8])]| {
            let mut body = b"WEBP".to_vec();
            for (fourcc, data) in chunks {
                body.extend(*fourcc);
                body.extend((data.len() as u32).to_le_bytes());
                body.extend(*data);
            }
            [
                b"RIFF".as_slice(),
                &(body.len() as u32).to_le_bytes(),
                &body,
            ]
            .concat()
        };
        let vp8x = |flags: u8| [flags, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let coding = |lossless, alpha_chunk, animated| WebpCoding {
            lossless,
            alpha_chunk,
            animated,
        };
        let lossy = riff(&[(b"VP8 ", &[0; 10])]);
        assert_eq!(webp_coding(&lossy), Some(coding(false, false, false)));
        let lossless = riff(&[(b"VP8L", &[0; 10])]);
        assert_eq!(webp_coding(&lossless), Some(coding(true, false, false)));
        let alpha = riff(&[
            (b"VP8X", &vp8x(0x10)),
            (b"ALPH", &[0; 4]),
            (b"VP8 ", &[0; 10]),
        ]);
        assert_eq!(webp_coding(&alpha), Some(coding(false, true, false)));
        let mut anmf = vec![0; 16];
        anmf.extend(b"VP8L");
        anmf.extend(4u32.to_le_bytes());
        anmf.extend([0; 4]);
        let animated = riff(&[(b"VP8X", &vp8x(0x02)), (b"ANIM", &[0; 6]), (b"ANMF", &anmf)]);
        assert_eq!(webp_coding(&animated), Some(coding(true, false, true)));
        assert_eq!(webp_coding(&riff(&[(b"EXIF", &[0; 4])])), None);
    }

    #[test]
    fn png_metadata_that_would_outgrow_the_file_is_a_contradiction() {
        assert_eq!(contradiction(Format::Png, &png_with(&[])), None);
        let fits = png_with(&[(b"iCCP", iccp(MAX_ICC_BYTES))]);
        assert_eq!(contradiction(Format::Png, &fits), None);
        let bomb = png_with(&[(b"iCCP", iccp(MAX_ICC_BYTES + 1))]);
        assert!(bomb.len() < 10_000);
        assert_eq!(
            contradiction(Format::Png, &bomb).as_deref(),
            Some("its ICC profile (iCCP) inflates past 1 MiB")
        );
        let text = (b"tEXt", b"k\0v".to_vec());
        let many = vec![text.clone(); MAX_PNG_TEXT_CHUNKS];
        assert_eq!(contradiction(Format::Png, &png_with(&many)), None);
        let too_many = vec![text; MAX_PNG_TEXT_CHUNKS + 1];
        assert_eq!(
            contradiction(Format::Png, &png_with(&too_many)).as_deref(),
            Some("it has more than 10000 text chunks")
        );
        // A malformed profile is the decoder's to judge; the text chunks
        // after it are still counted.
        let mut odd = vec![(b"iCCP", b"no nul".to_vec())];
        odd.extend(vec![(b"zTXt", b"k\0\0x".to_vec()); MAX_PNG_TEXT_CHUNKS + 1]);
        assert!(contradiction(Format::Png, &png_with(&odd)).is_some());
    }

    fn minimal_jpeg(with_eoi: bool) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        // APP1 holding a fake thumbnail with its own EOI.
        j.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00]);
        // SOS with a 2-byte header body, then entropy data with stuffing and a restart.
        j.extend_from_slice(&[
            0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56,
        ]);
        if with_eoi {
            j.extend_from_slice(&[0xFF, 0xD9]);
        }
        j
    }

    /// SOI, a frame header (`sof` marker, each component's sampling),
    /// then a scan header over `in_scan` components.
    fn jpeg_headers(sof: u8, (w, h): (u16, u16), sampling: &[u8], in_scan: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, sof];
        let n = sampling.len() as u8;
        b.extend_from_slice(&(8 + 3 * u16::from(n)).to_be_bytes());
        b.push(8);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.push(n);
        for (id, f) in sampling.iter().enumerate() {
            b.extend_from_slice(&[id as u8 + 1, *f, 0]);
        }
        b.extend_from_slice(&[0xFF, 0xDA]);
        b.extend_from_slice(&(6 + 2 * u16::from(in_scan)).to_be_bytes());
        b.push(in_scan);
        b
    }

    #[test]
    fn jpeg_icc_segments_are_counted_whether_or_not_they_make_a_profile() {
        let icc = [b"ICC_PROFILE\0\x01\x01".as_slice(), &[7; 100]].concat();
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(segment(0xE2, &icc));
        jpeg.extend(segment(0xE2, &icc)); // a second "first of one"
        jpeg.extend(segment(0xE2, b"MPF\0other")); // APP2, not ICC
        jpeg.extend(segment(0xE1, &icc)); // ICC text, not in APP2
        jpeg.extend(jpeg_headers(0xC0, (16, 16), &[0x11], 1));
        assert_eq!(jpeg_icc_segment_bytes(&jpeg), 2 * icc.len() as u64);
        // A segment cut by the end of the file counts what is there.
        let cut = &jpeg[..2 + 4 + 50];
        assert_eq!(jpeg_icc_segment_bytes(cut), 50);
    }

    #[test]
    fn jpeg_codings_the_decoders_do_not_read_are_named() {
        let coding = |sof: u8, precision: u8| {
            let mut jpeg = jpeg_headers(sof, (16, 16), &[0x11], 1);
            jpeg[6] = precision;
            match flaw(Format::Jpeg, &jpeg) {
                Some(Flaw::Unsupported(name)) => Some(name),
                // (Cut after its scan header: the codings it reads.)
                Some(Flaw::Truncated) => None,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(coding(0xC0, 8), None);
        assert_eq!(coding(0xC1, 8), None);
        assert_eq!(coding(0xC2, 8), None);
        assert_eq!(coding(0xC1, 12), Some("12-bit JPEG"));
        assert_eq!(coding(0xC3, 16), Some("lossless JPEG"));
        assert_eq!(coding(0xC5, 8), Some("hierarchical JPEG"));
        assert_eq!(coding(0xC9, 8), Some("arithmetic-coded JPEG"));
        assert_eq!(coding(0xCA, 8), Some("arithmetic-coded JPEG"));
    }

    #[test]
    fn the_coefficient_buffer_follows_the_frame_header() {
        // 4:2:0, 10000×9999: 1250×1250 luma blocks, 625×625 per chroma.
        let yuv420 = [0x22, 0x11, 0x11];
        let progressive = jpeg_headers(0xC2, (10_000, 9_999), &yuv420, 1);
        assert_eq!(
            jpeg_progressive_coefficients(&progressive),
            Some(300_000_000)
        );
        // 4:4:4 takes twice that.
        let full = jpeg_headers(0xC2, (10_000, 9_999), &[0x11; 3], 3);
        assert_eq!(
            jpeg_progressive_coefficients(&full),
            Some(2 * 1250 * 1250 * 3 * 128 / 2)
        );
        // Gray, padded to whole blocks: 3×2 blocks.
        let gray = jpeg_headers(0xC2, (17, 9), &[0x11], 1);
        assert_eq!(jpeg_progressive_coefficients(&gray), Some(6 * 128));
        // Sequential: one interleaved scan needs no buffer; a scan of one
        // component out of three means the decoder keeps them all.
        let interleaved = jpeg_headers(0xC0, (10_000, 9_999), &yuv420, 3);
        assert_eq!(jpeg_progressive_coefficients(&interleaved), None);
        let separate = jpeg_headers(0xC0, (10_000, 9_999), &yuv420, 1);
        assert_eq!(jpeg_progressive_coefficients(&separate), Some(300_000_000));
        // A frame header cut short: three components at full resolution.
        let mut cut = jpeg_headers(0xC2, (16, 16), &yuv420, 1);
        cut.truncate(13);
        assert_eq!(jpeg_progressive_coefficients(&cut), Some(4 * 3 * 128));
        assert_eq!(jpeg_progressive_coefficients(b"\xFF\xD8"), None);
    }

    #[test]
    fn jpeg_needs_its_own_eoi() {
        assert!(!is_truncated(Format::Jpeg, &minimal_jpeg(true)));
        assert!(
            is_truncated(Format::Jpeg, &minimal_jpeg(false)),
            "the thumbnail's EOI is not the image's"
        );
        assert!(is_truncated(Format::Jpeg, &[0xFF, 0xD8, 0xFF]));
    }

    #[test]
    fn riff_length_is_checked() {
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&8u32.to_le_bytes());
        w.extend_from_slice(b"WEBPVP8 ");
        assert!(!is_truncated(Format::WebP, &w));
        assert!(is_truncated(Format::WebP, &w[..14]));
        assert!(!is_truncated(Format::Png, b"anything"));
    }

    #[test]
    fn riff_chunks_must_fit_in_the_data() {
        let iccp = |size: u32| {
            let mut w = webp(&[(b"VP8X", vp8x(0x20, (2, 2))), (b"ICCP", vec![7; 6])]);
            let at = w.len() - 6 - 4;
            w[at..at + 4].copy_from_slice(&size.to_le_bytes());
            w
        };
        assert!(!is_truncated(Format::WebP, &iccp(6)));
        assert!(is_truncated(Format::WebP, &iccp(7)));
        assert!(is_truncated(Format::WebP, &iccp(0xFFFF_FFF0)));
        // Bytes after the RIFF's declared end are not its chunks, except
        // within the VP8X chunk's length of it, where the decoder looks too.
        let mut trailing = iccp(6);
        trailing.extend_from_slice(b"ICCP\xff\xff\xff\x7f");
        assert!(is_truncated(Format::WebP, &trailing));
        let mut trailing = iccp(6);
        trailing.extend_from_slice(&[0; 16]);
        trailing.extend_from_slice(b"ICCP\xff\xff\xff\x7f");
        assert!(!is_truncated(Format::WebP, &trailing));
        // Nor are chunks the decoder skips, wherever they claim to end.
        let mut unknown = iccp(6);
        unknown.extend_from_slice(b"junk\xff\xff\xff\x7f");
        assert!(!is_truncated(Format::WebP, &unknown));
    }

    /// RIFF/WEBP around `chunks` ((FourCC, data), padded as RIFF says).
    fn webp(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let chunks: Vec<(&[u8; 4], &[u8])> = chunks.iter().map(|(f, d)| (*f, &d[..])).collect();
        crate::codecs::webp::riff(&chunks).unwrap()
    }

    fn vp8x(flags: u8, (w, h): (u32, u32)) -> Vec<u8> {
        crate::codecs::webp::vp8x(flags, w, h).to_vec()
    }

    fn vp8l((w, h): (u32, u32)) -> Vec<u8> {
        let bits = (w - 1) | ((h - 1) << 14);
        [[0x2F].as_slice(), &bits.to_le_bytes(), &[0; 3]].concat()
    }

    fn vp8((w, h): (u16, u16)) -> Vec<u8> {
        let mut d = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
        d.extend_from_slice(&w.to_le_bytes());
        d.extend_from_slice(&h.to_le_bytes());
        d.extend_from_slice(&[0; 5]);
        d
    }

    #[test]
    fn webp_frames_must_match_the_canvas() {
        let c = |chunks: &[(&[u8; 4], Vec<u8>)]| contradiction(Format::WebP, &webp(chunks));
        assert_eq!(
            c(&[(b"VP8X", vp8x(0x20, (24, 24))), (b"VP8 ", vp8((24, 24)))]),
            None
        );
        assert_eq!(
            c(&[
                (b"VP8X", vp8x(0x20, (24, 24))),
                (b"ICCP", vec![1; 5]),
                (b"VP8 ", vp8((24, 9000)))
            ]),
            Some("its VP8 frame is 24x9000, its canvas 24x24".into()),
            "found past other chunks"
        );
        assert_eq!(
            c(&[(b"VP8X", vp8x(0x10, (3, 2))), (b"VP8L", vp8l((300, 2)))]),
            Some("its VP8L frame is 300x2, its canvas 3x2".into())
        );
        assert_eq!(
            c(&[(b"VP8X", vp8x(0x10, (3, 2))), (b"VP8L", vp8l((3, 2)))]),
            None
        );
        // Animations have frames of their own sizes; simple files no canvas.
        assert_eq!(
            c(&[(b"VP8X", vp8x(0x02, (3, 2))), (b"VP8L", vp8l((300, 2)))]),
            None
        );
        assert_eq!(c(&[(b"VP8L", vp8l((300, 2)))]), None);
    }

    /// An ANMF chunk for a frame of `size` at (0, 0) holding `chunks`.
    fn anmf((w, h): (u32, u32), chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut d = vec![0; 6];
        d.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        d.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        d.extend_from_slice(&[100, 0, 0, 0]);
        for (fourcc, data) in chunks {
            crate::codecs::webp::push_chunk(&mut d, fourcc, data);
        }
        d
    }

    #[test]
    fn an_animations_first_frame_must_match_its_frame_header() {
        let c = |frame: Vec<u8>| {
            let file = webp(&[
                (b"VP8X", vp8x(0x02, (24, 24))),
                (b"ANIM", vec![0; 6]),
                (b"ANMF", frame),
            ]);
            contradiction(Format::WebP, &file)
        };
        assert_eq!(c(anmf((24, 24), &[(b"VP8 ", vp8((24, 24)))])), None);
        assert_eq!(c(anmf((3, 2), &[(b"VP8L", vp8l((3, 2)))])), None);
        assert_eq!(
            c(anmf((24, 24), &[(b"VP8 ", vp8((16383, 16383)))])),
            Some("its VP8 frame is 16383x16383, its animation frame 24x24".into())
        );
        assert_eq!(
            c(anmf(
                (24, 24),
                &[(b"ALPH", vec![0; 3]), (b"VP8 ", vp8((24, 9000)))]
            )),
            Some("its VP8 frame is 24x9000, its animation frame 24x24".into()),
            "found past the alpha"
        );
        assert_eq!(
            c(anmf((3, 2), &[(b"VP8L", vp8l((300, 2)))])),
            Some("its VP8L frame is 300x2, its animation frame 3x2".into())
        );
    }

    /// A little-endian TIFF whose one IFD entry has `count` values of `kind`
    /// at `offset`, in `len` bytes.
    fn tiff(kind: u16, count: u32, offset: u32, len: usize) -> Vec<u8> {
        let mut t = b"II*\0".to_vec();
        t.extend_from_slice(&8u32.to_le_bytes());
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&0x0111u16.to_le_bytes()); // StripOffsets
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&offset.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.resize(len, 0);
        t
    }

    #[test]
    fn a_tiff_profile_is_read_from_its_tag() {
        // One entry: InterColorProfile, `count` UNDEFINED bytes at 32.
        let with_profile = |kind: u16, count: u32, len: usize| {
            let mut t = tiff(kind, count, 32, len);
            t[10..12].copy_from_slice(&34675u16.to_le_bytes());
            for (i, byte) in t.iter_mut().enumerate().skip(32) {
                *byte = i as u8;
            }
            t
        };
        let t = with_profile(7, 3000, 32 + 3000);
        assert_eq!(tiff_icc_profile(&t), Some(&t[32..]));
        assert_eq!(
            tiff_icc_profile(&with_profile(1, 3000, 4000)).map(<[u8]>::len),
            Some(3000)
        );
        assert_eq!(tiff_icc_profile(&with_profile(7, 3000, 3000)), None, "cut");
        assert_eq!(
            tiff_icc_profile(&with_profile(4, 3000, 4000)),
            None,
            "not bytes"
        );
        assert_eq!(
            tiff_icc_profile(&with_profile(7, 4, 64)),
            None,
            "in the entry"
        );
        assert_eq!(
            tiff_icc_profile(&tiff(7, 3000, 32, 4000)),
            None,
            "another tag"
        );
    }

    #[test]
    fn tiff_values_must_be_in_the_data() {
        let cut = |t: Vec<u8>| is_truncated(Format::Tiff, &t);
        assert!(!cut(tiff(4, 1, 0xFFFF_FFFF, 64)), "one LONG: in the entry");
        assert!(
            !cut(tiff(3, 2, 0xFFFF_FFFF, 64)),
            "two SHORTs: in the entry"
        );
        assert!(!cut(tiff(4, 8, 32, 64)), "eight LONGs at 32..64");
        assert!(cut(tiff(4, 9, 32, 64)), "nine LONGs at 32..68");
        assert!(cut(tiff(4, 5_570_613, 32, 64)));
        assert!(
            !cut(tiff(99, 5_570_613, 32, 64)),
            "unknown types are skipped"
        );
        assert!(cut(tiff(4, 1, 0, 20)), "the IFD itself is cut");
    }

    /// A GIF: a `w`x`h` screen, one frame at (x, y) of `fw`x`fh`, with a
    /// graphic control extension when `gce` gives its flags, after a
    /// comment.
    fn gif(screen: (u16, u16), frame: (u16, u16, u16, u16), gce: Option<u8>) -> Vec<u8> {
        let mut b = b"GIF89a".to_vec();
        b.extend(screen.0.to_le_bytes());
        b.extend(screen.1.to_le_bytes());
        b.extend([0x80, 0, 0]); // a global table of 2 colours
        b.extend([0, 0, 0, 255, 255, 255]);
        b.extend([0x21, 0xFE, 3, b'h', b'i', b'!', 0]);
        if let Some(flags) = gce {
            b.extend([0x21, 0xF9, 4, flags, 0, 0, 0, 0]);
        }
        b.push(0x2C);
        for v in [frame.0, frame.1, frame.2, frame.3] {
            b.extend(v.to_le_bytes());
        }
        b.extend([0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
        b
    }

    #[test]
    fn a_gif_without_a_frame_is_a_contradiction_not_a_cut() {
        let whole = gif((4, 3), (0, 0, 4, 3), None);
        assert!(flaw(Format::Gif, &whole).is_none());
        // The header, its colour table, the trailer: no frame.
        let screen = 13 + 3 * 2;
        let mut none = whole[..screen].to_vec();
        none.push(0x3B);
        assert!(matches!(
            flaw(Format::Gif, &none),
            Some(Flaw::Contradiction(_))
        ));
        // Cut before the trailer: the decoder's to call truncated.
        assert!(flaw(Format::Gif, &whole[..screen]).is_none());
    }

    #[test]
    fn a_gif_is_opaque_when_its_first_frame_covers_the_screen_without_a_transparent_colour() {
        assert!(gif_first_frame_is_opaque(&gif((4, 3), (0, 0, 4, 3), None)));
        assert!(gif_first_frame_is_opaque(&gif(
            (4, 3),
            (0, 0, 4, 3),
            Some(0x04)
        )));
        assert!(!gif_first_frame_is_opaque(&gif(
            (4, 3),
            (0, 0, 4, 3),
            Some(0x05)
        )));
        assert!(!gif_first_frame_is_opaque(&gif((4, 3), (1, 0, 3, 3), None)));
        assert!(!gif_first_frame_is_opaque(&gif((4, 3), (0, 0, 4, 2), None)));
        // Unsure: cut short, or not a GIF.
        let whole = gif((4, 3), (0, 0, 4, 3), None);
        for cut in [5, 12, 20, 30] {
            assert!(!gif_first_frame_is_opaque(&whole[..cut]), "{cut}");
        }
        assert!(!gif_first_frame_is_opaque(b"\x89PNG\r\n\x1a\n"));
        // A frame past a smaller screen covers the canvas it grows.
        assert!(gif_first_frame_is_opaque(&gif((1, 1), (0, 0, 4, 3), None)));
        assert!(gif_first_frame_is_opaque(&gif((0, 0), (0, 0, 4, 3), None)));
        assert!(!gif_first_frame_is_opaque(&gif((1, 1), (1, 0, 4, 3), None)));
    }

    #[test]
    fn a_gif_canvas_holds_its_screen_and_its_first_frame() {
        assert_eq!(gif_canvas(&gif((4, 3), (0, 0, 4, 3), None)), Some((4, 3)));
        assert_eq!(gif_canvas(&gif((4, 3), (1, 1, 2, 1), None)), Some((4, 3)));
        assert_eq!(
            gif_canvas(&gif((1, 1), (0, 0, 800, 600), None)),
            Some((800, 600))
        );
        assert_eq!(
            gif_canvas(&gif((0, 0), (2, 3, 4, 5), Some(1))),
            Some((6, 8))
        );
        assert_eq!(
            gif_canvas(&gif((10, 1), (65535, 65535, 65535, 65535), None)),
            Some((131_070, 131_070))
        );
        let whole = gif((4, 3), (0, 0, 4, 3), None);
        assert_eq!(gif_canvas(&whole[..30]), None);
        assert_eq!(gif_canvas(b"\x89PNG\r\n\x1a\n"), None);
    }
}

//! What the PNG decoder reads: the upload in place, without its text
//! chunks. The image crate's PNG decoder keeps every tEXt, zTXt and iTXt
//! chunk it meets (tEXt's Latin-1 as UTF-8, in strings that grow by
//! doubling), so a file of many large text chunks held several times its
//! size before a pixel was decoded, and the variants never carry text.
//! Skipping them here costs a list of the slices between them, no copy.

use crate::structure;
use std::io::{self, BufRead, Read, Seek, SeekFrom};

/// A PNG's bytes with its text chunks left out, as a reader.
#[derive(Debug)]
pub struct WithoutText<'a> {
    /// The runs of bytes between text chunks, in order; never empty slices.
    parts: Vec<&'a [u8]>,
    /// Where the reader is: the part, and the offset in it.
    part: usize,
    offset: usize,
}

impl<'a> WithoutText<'a> {
    /// `bytes`, a PNG, without its text chunks (`structure::png_chunks`:
    /// whatever follows IEND, or a chunk cut short, is kept as it is, for
    /// the decoder to judge).
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut parts = Vec::new();
        let (mut start, mut at) = (0, 8);
        for (kind, _, end) in structure::png_chunks(bytes) {
            if matches!(kind, b"tEXt" | b"zTXt" | b"iTXt") {
                if at > start {
                    parts.push(&bytes[start..at]);
                }
                start = end.min(bytes.len());
            }
            at = end;
        }
        if start < bytes.len() {
            parts.push(&bytes[start..]);
        }
        WithoutText {
            parts,
            part: 0,
            offset: 0,
        }
    }

    fn position(&self) -> u64 {
        let before: usize = self.parts[..self.part].iter().map(|p| p.len()).sum();
        (before + self.offset) as u64
    }

    fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.len() as u64).sum()
    }
}

impl Read for WithoutText<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for WithoutText<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Parts are never empty: past the current one's end is the next.
        if self
            .parts
            .get(self.part)
            .is_some_and(|p| self.offset == p.len())
        {
            self.part += 1;
            self.offset = 0;
        }
        Ok(self
            .parts
            .get(self.part)
            .map_or(&[][..], |p| &p[self.offset..]))
    }

    fn consume(&mut self, amount: usize) {
        self.offset += amount;
    }
}

impl Seek for WithoutText<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.position().checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        // Past the end is allowed, as for a file: reads there find nothing.
        let mut left = target;
        self.part = 0;
        while let Some(p) = self.parts.get(self.part) {
            if left < p.len() as u64 {
                break;
            }
            left -= p.len() as u64;
            self.part += 1;
        }
        self.offset = usize::try_from(left).unwrap_or(usize::MAX);
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0xAA; 4]); // the CRC: not ours to check
        c
    }

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        for c in chunks {
            b.extend_from_slice(c);
        }
        b
    }

    fn read_all(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        WithoutText::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn text_chunks_are_left_out_and_everything_else_kept_in_order() {
        let ihdr = chunk(b"IHDR", &[1; 13]);
        let idat = chunk(b"IDAT", &[2; 40]);
        let iend = chunk(b"IEND", &[]);
        let texts = [
            chunk(b"tEXt", b"k\0v"),
            chunk(b"zTXt", &[3; 9]),
            chunk(b"iTXt", &[4; 7]),
        ];
        let with = png(&[
            ihdr.clone(),
            texts[0].clone(),
            texts[1].clone(),
            idat.clone(),
            texts[2].clone(),
            iend.clone(),
        ]);
        let without = png(&[ihdr, idat, iend]);
        assert_eq!(read_all(&with), without);
        // No text: the bytes as they are, in one part.
        assert_eq!(read_all(&without), without);
        assert_eq!(WithoutText::new(&without).parts.len(), 1);
    }

    #[test]
    fn a_cut_chunk_and_what_follows_iend_stay_for_the_decoder() {
        let mut cut = png(&[chunk(b"IHDR", &[1; 13]), chunk(b"tEXt", &[5; 100])]);
        cut.truncate(cut.len() - 50);
        assert_eq!(read_all(&cut), cut);
        let mut trailing = png(&[chunk(b"IEND", &[])]);
        trailing.extend(chunk(b"tEXt", b"k\0v"));
        assert_eq!(read_all(&trailing), trailing);
        // A size that would overflow the arithmetic ends the walk too.
        let mut huge = png(&[]);
        huge.extend([0xFF, 0xFF, 0xFF, 0xFF]);
        huge.extend(b"tEXt");
        assert_eq!(read_all(&huge), huge);
        assert_eq!(read_all(&[]), b"");
    }

    #[test]
    fn seeks_land_where_the_bytes_without_text_would() {
        let with = png(&[
            chunk(b"IHDR", &[1; 13]),
            chunk(b"tEXt", b"k\0v"),
            chunk(b"IDAT", &[2; 40]),
            chunk(b"IEND", &[]),
        ]);
        let without = read_all(&with);
        let mut r = WithoutText::new(&with);
        for target in [0, 5, 33, 34, 60, without.len() as u64] {
            assert_eq!(r.seek(SeekFrom::Start(target)).unwrap(), target);
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, without[target as usize..], "from {target}");
            assert_eq!(r.position(), without.len() as u64);
        }
        assert_eq!(r.seek(SeekFrom::End(-4)).unwrap(), without.len() as u64 - 4);
        assert_eq!(
            r.seek(SeekFrom::Current(-30)).unwrap(),
            without.len() as u64 - 34
        );
        let mut one = [0];
        r.read_exact(&mut one).unwrap();
        assert_eq!(one[0], without[without.len() - 34]);
        assert!(r.seek(SeekFrom::Current(-1000)).is_err());
        // Past the end: nothing to read.
        r.seek(SeekFrom::Start(10_000)).unwrap();
        assert_eq!(r.read(&mut one).unwrap(), 0);
    }
}

//! Source key → output keys: `<folders>/<stem>_<variant>_<id>.<ext>`.
//!
//! The id is derived from the source bytes, so a retried or duplicated upload
//! maps to the same keys and overwrites instead of piling up copies.

use sha2::{Digest, Sha256};

/// First 8 hex characters of the SHA-256 of the source bytes.
pub fn content_id(source: &[u8]) -> String {
    let digest = Sha256::digest(source);
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of the source bytes in hex; [`content_id`] is its first 8
/// characters.
pub fn sha256_hex(source: &[u8]) -> String {
    Sha256::digest(source)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `key` has the shape of a variant of `source_key`
/// (`<folders>/<stem>_<variant>_<id>.<ext>`, a variant of the table with its
/// extension): `(variant name, id)`. The shape alone does not prove it
/// (`cat.jpg` and `cat.png` share a stem); the variant's metadata does.
pub fn variant_of<'k>(source_key: &str, key: &'k str) -> Option<(&'static str, &'k str)> {
    let (folders, stem) = split_key(source_key);
    let rest = key
        .strip_prefix(folders)?
        .strip_prefix(stem)?
        .strip_prefix('_')?;
    let (name_and_id, extension) = rest.rsplit_once('.')?;
    let (name, id) = name_and_id.rsplit_once('_')?;
    let is_id = id.len() == 8 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let spec = crate::VARIANT_TABLE
        .iter()
        .find(|v| v.name == name && v.extension == extension)?;
    is_id.then_some((spec.name, id))
}

/// Splits a key or path into its folder prefix (with trailing `/`, possibly
/// empty) and the file name's stem (the name without its last extension).
///
/// A leading dot does not start an extension (`.profile` keeps its name), and
/// a name that is only an extension keeps it rather than becoming empty.
pub fn split_key(key: &str) -> (&str, &str) {
    let (folders, name) = match key.rfind('/') {
        Some(i) => key.split_at(i + 1),
        None => ("", key),
    };
    let stem = match name.rfind('.') {
        Some(0) | None => name,
        Some(i) => &name[..i],
    };
    (folders, stem)
}

/// The output key of one variant of `source_key`.
pub fn output_key(source_key: &str, variant: &str, id: &str, extension: &str) -> String {
    let (folders, stem) = split_key(source_key);
    format!("{folders}{stem}_{variant}_{id}.{extension}")
}

/// The longest file name most file systems take (ext4, APFS, NTFS: 255
/// bytes or UTF-16 units).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// The output file name (no folders) of one variant of a local file name.
/// A stem too long for [`MAX_FILE_NAME_BYTES`] with the suffix is cut at a
/// character boundary: the content id keeps the name unique to the source.
pub fn output_file_name(source_name: &str, variant: &str, id: &str, extension: &str) -> String {
    let (_, stem) = split_key(source_name);
    let suffix = format!("_{variant}_{id}.{extension}");
    let mut room = MAX_FILE_NAME_BYTES
        .saturating_sub(suffix.len())
        .min(stem.len());
    while !stem.is_char_boundary(room) {
        room -= 1;
    }
    format!("{}{suffix}", &stem[..room])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_file_names_are_cut_to_what_file_systems_take() {
        let id = "0a1b2c3d";
        assert_eq!(
            output_file_name("cat.png", "thumbnail", id, "jpg"),
            "cat_thumbnail_0a1b2c3d.jpg"
        );
        // 250 bytes of stem; then two-byte characters straddling the cut.
        for stem in [
            "a".repeat(250),
            "é".repeat(125),
            format!("a{}", "é".repeat(124)),
        ] {
            let name = output_file_name(&format!("{stem}.png"), "thumbnail", id, "jpg");
            assert!(name.len() <= MAX_FILE_NAME_BYTES, "{}", name.len());
            assert!(
                name.len() >= MAX_FILE_NAME_BYTES - 1,
                "cut no more than needed"
            );
            assert!(name.ends_with("_thumbnail_0a1b2c3d.jpg"), "{name}");
            assert!(stem.starts_with(name.split("_thumbnail_").next().unwrap()));
        }
    }

    #[test]
    fn variant_keys_are_recognised_by_their_shape() {
        let id = "0a1b2c3d";
        for spec in crate::VARIANT_TABLE {
            for source in ["photos/cat.jpg", "cat", "a b/été.png", ".hidden"] {
                let key = output_key(source, spec.name, id, spec.extension);
                assert_eq!(variant_of(source, &key), Some((spec.name, id)), "{key}");
            }
        }
        let thumb = &crate::VARIANT_TABLE[0];
        let key = |source: &str, id: &str, ext: &str| format!("{source}_{}_{id}.{ext}", thumb.name);
        let cases = [
            // another stem, another folder, a bad id, a wrong extension
            ("photos/cat.jpg", key("photos/cat_x", id, thumb.extension)),
            ("photos/cat.jpg", key("other/cat", id, thumb.extension)),
            (
                "photos/cat.jpg",
                key("photos/cat", "0A1B2C3D", thumb.extension),
            ),
            (
                "photos/cat.jpg",
                key("photos/cat", "0a1b2c3", thumb.extension),
            ),
            ("photos/cat.jpg", key("photos/cat", id, "gif")),
            ("photos/cat.jpg", "photos/cat.jpg.json".to_owned()),
            ("photos/cat.jpg", format!("photos/cat_nope_{id}.jpg")),
        ];
        for (source, key) in cases {
            assert_eq!(variant_of(source, &key), None, "{source} {key}");
        }
    }

    #[test]
    fn the_full_digest_starts_with_the_id() {
        let digest = sha256_hex(b"abc");
        assert_eq!(digest.len(), 64);
        assert!(digest.starts_with(&content_id(b"abc")));
    }

    #[test]
    fn id_is_sha256_prefix() {
        // sha256("") = e3b0c442...
        assert_eq!(content_id(b""), "e3b0c442");
        // sha256("abc") = ba7816bf...
        assert_eq!(content_id(b"abc"), "ba7816bf");
    }

    #[test]
    fn keys_keep_folders_and_drop_the_last_extension() {
        let cases = [
            ("photo.jpg", "photo_compressed_ab12cd34.jpg"),
            (
                "uploads/a b/photo.jpg",
                "uploads/a b/photo_compressed_ab12cd34.jpg",
            ),
            ("archive.tar.gz", "archive.tar_compressed_ab12cd34.jpg"),
            ("IMG_0001.JPEG", "IMG_0001_compressed_ab12cd34.jpg"),
            ("no_extension", "no_extension_compressed_ab12cd34.jpg"),
            (".hidden", ".hidden_compressed_ab12cd34.jpg"),
            ("dir.v2/name", "dir.v2/name_compressed_ab12cd34.jpg"),
            ("été/façade 1.png", "été/façade 1_compressed_ab12cd34.jpg"),
            ("trailingdot.", "trailingdot_compressed_ab12cd34.jpg"),
        ];
        for (source, expected) in cases {
            assert_eq!(
                output_key(source, "compressed", "ab12cd34", "jpg"),
                expected,
                "{source}"
            );
        }
    }

    #[test]
    fn file_names_drop_folders() {
        assert_eq!(
            output_file_name("a/b/Cat Photo.PNG", "thumbnail", "00ff00ff", "jpg"),
            "Cat Photo_thumbnail_00ff00ff.jpg"
        );
    }
}

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

/// The output file name (no folders) of one variant of a local file name.
pub fn output_file_name(source_name: &str, variant: &str, id: &str, extension: &str) -> String {
    let (_, stem) = split_key(source_name);
    format!("{stem}_{variant}_{id}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

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

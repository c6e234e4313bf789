//! The file types a document may have, recognized from its first bytes (never from the
//! name or the type the browser claims).

use serde::{Deserialize, Serialize};

/// A document's file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// PDF.
    Pdf,
    /// JPEG photo or scan.
    Jpeg,
    /// PNG image.
    Png,
    /// WebP image.
    Webp,
    /// HEIC photo (phones).
    Heic,
}

/// How many leading bytes [`FileType::sniff`] looks at.
pub const SNIFF_BYTES: usize = 12;

impl FileType {
    /// Every type.
    pub const ALL: [Self; 5] = [Self::Pdf, Self::Jpeg, Self::Png, Self::Webp, Self::Heic];

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
        }
    }

    /// The type of a MIME name, if it is one of [`FileType::ALL`].
    pub fn from_mime(mime: &str) -> Option<Self> {
        let mime = mime.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(mime))
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Heic => "heic",
        }
    }

    /// The type of a file from its first bytes (up to [`SNIFF_BYTES`]), if known.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if head.len() >= 12
            && &head[4..8] == b"ftyp"
            && matches!(
                &head[8..12],
                b"heic" | b"heix" | b"mif1" | b"msf1" | b"hevc"
            )
        {
            Some(Self::Heic)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_types_by_content() {
        assert_eq!(FileType::sniff(b"%PDF-1.7\n..."), Some(FileType::Pdf));
        assert_eq!(
            FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(FileType::Jpeg)
        );
        assert_eq!(
            FileType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(FileType::Png)
        );
        assert_eq!(
            FileType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(FileType::Webp)
        );
        assert_eq!(
            FileType::sniff(b"\0\0\0\x18ftypheic\0\0"),
            Some(FileType::Heic)
        );
        assert_eq!(FileType::sniff(b"<html><script>"), None);
        assert_eq!(FileType::sniff(b"MZ\x90\0"), None);
        assert_eq!(FileType::sniff(b""), None);
        assert_eq!(FileType::from_mime("IMAGE/PNG"), Some(FileType::Png));
        assert_eq!(FileType::from_mime("text/html"), None);
    }
}

//! Images sent with messages, when the organization allows them (`[messages]
//! attachments`): JPEG, PNG or WebP recognized from their content (never from a name or a
//! claimed type), at most `max_image_bytes`, kept in the document vault (encrypted like
//! documents) and shown only to the two members, and to the validators when reported.

use super::{Image, MessagingError, Service};
use crate::documents::{FileType, SNIFF_BYTES};
use crate::ids::new_id;
use crate::message::Message;

/// The image types a message may carry (the ones every browser shows).
const IMAGE_TYPES: [FileType; 3] = [FileType::Jpeg, FileType::Png, FileType::Webp];

impl Service {
    /// Whether members may add images to messages.
    pub fn images_allowed(&self) -> bool {
        self.parts().settings.attachments
    }

    /// The largest image accepted, in bytes.
    pub fn max_image_bytes(&self) -> u64 {
        self.parts().settings.max_image_bytes
    }

    /// Checks an image and keeps it, encrypted, for a message about to be sent.
    pub fn keep_image(&self, bytes: &[u8]) -> Result<Image, MessagingError> {
        if !self.images_allowed() {
            return Err(MessagingError::refused("messages.err.no_images"));
        }
        if bytes.is_empty() {
            return Err(MessagingError::refused("messages.err.empty_image"));
        }
        let max = self.max_image_bytes();
        if bytes.len() as u64 > max {
            return Err(MessagingError::Refused(
                Message::new("messages.err.image_too_big").with("max", max.div_ceil(1024)),
            ));
        }
        let kind = FileType::sniff(&bytes[..bytes.len().min(SNIFF_BYTES)])
            .filter(|t| IMAGE_TYPES.contains(t))
            .ok_or_else(|| MessagingError::refused("messages.err.not_an_image"))?;
        let id = new_id()?;
        let mut sealer = self.parts().documents.vault().sealer(&id)?;
        sealer.write(bytes)?;
        let size = sealer.finish()?;
        Ok(Image {
            id,
            mime: kind.mime().to_owned(),
            size,
        })
    }

    /// Removes a kept image that no message carries (its message was refused).
    pub(super) fn drop_image(&self, image: &Image) {
        if let Err(e) = self.parts().documents.vault().erase(&image.id) {
            tracing::warn!(error = %e, "removing an image no message carries failed");
        }
    }

    /// The image of message `seq` of one of the member's conversations: its type and
    /// bytes.
    pub fn image(
        &self,
        account: &str,
        id: &str,
        seq: u64,
    ) -> Result<(String, Vec<u8>), MessagingError> {
        let c = self.conversation(id)?.ok_or(MessagingError::NotFound)?;
        c.side_of(account).ok_or(MessagingError::NotFound)?;
        let image = self
            .messages(id, seq.saturating_sub(1))?
            .into_iter()
            .find(|m| m.seq == seq)
            .and_then(|m| m.image)
            .ok_or(MessagingError::NotFound)?;
        self.open_image(&image)
    }

    /// The image of a reported message, for the validators.
    pub fn reported_image(&self, report: &str) -> Result<(String, Vec<u8>), MessagingError> {
        let image = self
            .stored_report(report)?
            .and_then(|r| r.image)
            .ok_or(MessagingError::NotFound)?;
        self.open_image(&image)
    }

    fn open_image(&self, image: &Image) -> Result<(String, Vec<u8>), MessagingError> {
        let vault = self.parts().documents.vault();
        if !vault.exists(&image.id) {
            return Err(MessagingError::NotFound);
        }
        Ok((image.mime.clone(), vault.open_document(&image.id)?))
    }
}

//! The kinds of rooms raremesh makes. A room's kind is the `type` of its `m.room.create`
//! event, set when the room is made and never changeable afterwards (unlike its name, which
//! any room admin can edit), so receiving nodes recognize rooms by it, and by their creator.

use ruma::room::RoomType;

/// What a room raremesh made is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomKind {
    /// A node's publishing room: protocol events to its trusted peers.
    Federation,
    /// A node's community questions room: one thread per question.
    Qa,
    /// A private room of two members who agreed to talk.
    Contact,
    /// The room in which a member confirms their Matrix account with a code.
    Link,
}

impl RoomKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Federation, Self::Qa, Self::Contact, Self::Link];

    /// The `m.room.create` type of rooms of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Federation => "org.raremesh.room.federation.v1",
            Self::Qa => "org.raremesh.room.qa.v1",
            Self::Contact => "org.raremesh.room.contact.v1",
            Self::Link => "org.raremesh.room.link.v1",
        }
    }

    /// The room type, for creating a room.
    pub fn room_type(self) -> RoomType {
        RoomType::from(self.as_str())
    }

    /// The kind whose room type is `s`, if it is one of raremesh's.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for RoomKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Federation => "federation",
            Self::Qa => "Q&A",
            Self::Contact => "contact",
            Self::Link => "account link",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_fit_matrix_limits() {
        for k in RoomKind::ALL {
            assert_eq!(RoomKind::parse(k.as_str()), Some(k));
            assert!(k.as_str().len() <= 255);
            assert_eq!(k.room_type().to_string(), k.as_str());
        }
        assert_eq!(RoomKind::parse("m.space"), None);
        assert_eq!(RoomKind::parse("raremesh federation"), None);
    }
}

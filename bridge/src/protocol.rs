//! The protocol's messages: what a node sends its trusted peers in a federation room.
//!
//! Every protocol event has the type [`EVENT_TYPE`] and an [`Envelope`] as its content:
//! a version, a random batch id, and the [`Payload`] encrypted with age to every trusted
//! peer (base64). The homeserver sees only that. See `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The event type of every protocol event.
pub const EVENT_TYPE: &str = "org.raremesh.batch";
/// The protocol version this crate speaks.
pub const VERSION: u64 = 1;
/// Most HPO terms (observed and excluded together) in one vector.
pub const MAX_TERMS: usize = 500;
/// Most operations in one payload.
pub const MAX_OPS: usize = 5_000;
/// The largest decrypted payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The content of a protocol event, as the homeserver stores it: a ruma event content
/// of type [`EVENT_TYPE`], so it is sent and read with ruma's typed events.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ruma::events::macros::EventContent,
)]
#[ruma_event(type = "org.raremesh.batch", kind = MessageLike)]
#[serde(deny_unknown_fields)]
pub struct BatchEventContent {
    /// Protocol version ([`VERSION`]).
    pub v: ruma::UInt,
    /// A random id (32 hex digits) naming this batch, for logs and deduplication.
    pub batch: String,
    /// The [`Payload`] as JSON, encrypted with age to the sender's trusted peers, base64.
    pub ciphertext: String,
    /// The one peer node (its Matrix user id) the payload is sealed for, when it is
    /// sealed for one only: the other peers skip the batch without trying to open it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The content of a protocol event (the name the rest of the node uses).
pub type Envelope = BatchEventContent;

/// What a batch carries, once decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payload {
    /// Changes to the sender's published vectors.
    Update {
        /// Upserts and retractions, applied in order.
        ops: Vec<Op>,
    },
    /// "Send me what you publish": everything (a node that joined late or lost its copy),
    /// or what changed since a point (each periodic resync).
    SnapshotRequest {
        /// A random id the answer repeats.
        request: String,
        /// Per peer node (its Matrix user id), the `as_of` of the last answer from it that
        /// the requester holds whole: that peer answers with what changed since then. A
        /// peer not listed answers with everything.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        since: std::collections::BTreeMap<String, u64>,
    },
    /// A member of the sender asks to get in touch with the member behind `to` (sealed for
    /// the owning peer only).
    ContactRequest {
        /// A random id (32 hex digits) naming the request.
        request: String,
        /// The requesting patient's pseudonym (published by the sender).
        from: String,
        /// The pseudonym of the patient whose member is asked (published by the receiver).
        to: String,
    },
    /// The answer to a contact request (sealed for the requesting peer only). When
    /// accepted, the sender has created a direct room and invited the receiver's node user;
    /// that node joins it and invites its member; both nodes leave once both members
    /// joined.
    ContactAnswer {
        /// The request answered.
        request: String,
        /// Whether the member accepted.
        accepted: bool,
        /// The room, when accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// A researcher of the sender asks every peer for a count of its own patients.
    ResearchQuery {
        /// A random id (32 hex digits) naming the query.
        query: String,
        /// A keyed hash (32 hex digits) standing for the researcher: each peer keeps a
        /// budget per (node, researcher).
        researcher: String,
        /// The criteria, all of which must hold.
        criteria: ResearchCriteria,
    },
    /// A node's answer to a research query (sealed for the asking peer only).
    ResearchAnswer {
        /// The query answered.
        query: String,
        /// The noisy count, or none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        /// How it went.
        status: CountStatus,
        /// The answering node's threshold.
        k: u64,
    },
    /// A node asks its peers how their patients answered a question of a questionnaire
    /// they share (for members' "where I stand").
    DistributionQuery {
        /// A random id (32 hex digits).
        query: String,
        /// The questionnaire's id.
        questionnaire: String,
        /// The question's id.
        question: String,
        /// Only patients with this ORPHA disease, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        orpha: Option<u64>,
    },
    /// A node's distribution (sealed for the asking peer only): given only when at least
    /// the node's `k` patients answered.
    DistributionAnswer {
        /// The query answered.
        query: String,
        /// How it went.
        status: DistributionStatus,
        /// How many patients answered (0 unless `ok`).
        answered: u64,
        /// Answer → patients (empty unless `ok`).
        #[serde(default)]
        bins: Vec<Bin>,
    },
    /// The sender's device cannot read what the receiver wrote in an end-to-end encrypted
    /// Q&A room: its room keys never reached the device (a homeserver was down when they
    /// were sent, say). "Send it again" (sealed for the writing peer only).
    QaResend {
        /// The Q&A room.
        room: String,
    },
    /// One part of the answer to a snapshot request: every vector the sender publishes.
    Snapshot {
        /// The request answered.
        request: String,
        /// The part number, from 0.
        part: u64,
        /// True on the last part: vectors of the sender not in any part, and older than
        /// `as_of`, are gone.
        last: bool,
        /// When the snapshot was taken (milliseconds since 1970; revisions are times too).
        as_of: u64,
        /// The vectors of this part: upserts only in a whole snapshot; upserts and
        /// retractions in changes since a point.
        ops: Vec<Op>,
        /// Set when the answer holds the changes since this point (revisions from it on)
        /// rather than everything: nothing is purged after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
}

/// One change to a published vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// A new or changed vector.
    Upsert(Vector),
    /// The vector is withdrawn (consent withdrawn, account deleted, pseudonym rotated).
    Retract {
        /// Its pseudonym.
        pseudonym: String,
        /// The revision of the retraction (greater than the vector's last).
        rev: u64,
    },
}

/// One bar of a distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bin {
    /// The answer (an option's text, a scale value, a range, a year).
    pub label: String,
    /// How many patients.
    pub count: u64,
}

/// The criteria of a research count (only shared vocabularies: HPO, ORPHA, age bands).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResearchCriteria {
    /// An HPO id (the term or any descendant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symptom: Option<String>,
    /// An ORPHA code, as a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orpha: Option<u64>,
    /// An age band label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
}

/// A coarse age band (sent only when the member consents to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeBand {
    /// Under 6.
    #[serde(rename = "0-5")]
    Under6,
    /// 6 to 11.
    #[serde(rename = "6-11")]
    Child,
    /// 12 to 17.
    #[serde(rename = "12-17")]
    Teen,
    /// 18 to 39.
    #[serde(rename = "18-39")]
    YoungAdult,
    /// 40 to 64.
    #[serde(rename = "40-64")]
    Adult,
    /// 65 and over.
    #[serde(rename = "65+")]
    Senior,
}

impl AgeBand {
    /// The band of an age in years.
    pub fn of_age(years: u32) -> Self {
        match years {
            0..=5 => Self::Under6,
            6..=11 => Self::Child,
            12..=17 => Self::Teen,
            18..=39 => Self::YoungAdult,
            40..=64 => Self::Adult,
            _ => Self::Senior,
        }
    }

    /// The label ("6-11").
    pub fn label(self) -> &'static str {
        match self {
            Self::Under6 => "0-5",
            Self::Child => "6-11",
            Self::Teen => "12-17",
            Self::YoungAdult => "18-39",
            Self::Adult => "40-64",
            Self::Senior => "65+",
        }
    }
}

/// A pseudonymous profile: HPO terms and, by the member's choice, a diagnosis and an age
/// band. Never a name, an email, a birth date, free text or a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// A keyed hash (32 hex digits) the member can rotate.
    pub pseudonym: String,
    /// Grows with every change of this pseudonym's vector; older revisions are ignored.
    pub rev: u64,
    /// Observed HPO terms (`HP:` and 7 digits).
    pub terms: Vec<String>,
    /// Explicitly excluded HPO terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
    /// The ORPHA code of the diagnosis, if shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orpha: Option<u64>,
    /// The age band, if shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    /// The member accepts contact requests (they accept or decline each one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub contactable: bool,
}

fn hex_id(what: &str, s: &str) -> Result<()> {
    if s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} {s:?} is not 32 lowercase hex digits"
        )))
    }
}

/// Whether `s` has the form of an HPO id (`HP:` and seven digits).
pub fn is_hpo_id(s: &str) -> bool {
    s.len() == 10 && s.starts_with("HP:") && s[3..].bytes().all(|b| b.is_ascii_digit())
}

impl Vector {
    /// Checks the form of every field (the receiving node also checks the ids against its
    /// ontology).
    pub fn check(&self) -> Result<()> {
        hex_id("pseudonym", &self.pseudonym)?;
        if self.terms.is_empty() {
            return Err(Error::Invalid(format!(
                "vector {} has no observed term",
                self.pseudonym
            )));
        }
        if self.terms.len() + self.excluded.len() > MAX_TERMS {
            return Err(Error::Invalid(format!(
                "vector {} has more than {MAX_TERMS} terms",
                self.pseudonym
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for t in self.terms.iter().chain(&self.excluded) {
            if !is_hpo_id(t) {
                return Err(Error::Invalid(format!("{t:?} is not an HPO id")));
            }
            if !seen.insert(t.as_str()) {
                return Err(Error::Invalid(format!("{t} is listed twice")));
            }
        }
        if self.rev > crate::limits::MAX_SAFE_INTEGER as u64 {
            return Err(Error::Invalid("revision out of range".into()));
        }
        Ok(())
    }
}

impl Op {
    /// The pseudonym the operation is about.
    pub fn pseudonym(&self) -> &str {
        match self {
            Self::Upsert(v) => &v.pseudonym,
            Self::Retract { pseudonym, .. } => pseudonym,
        }
    }

    /// The revision it carries.
    pub fn rev(&self) -> u64 {
        match self {
            Self::Upsert(v) => v.rev,
            Self::Retract { rev, .. } => *rev,
        }
    }

    fn check(&self) -> Result<()> {
        match self {
            Self::Upsert(v) => v.check(),
            Self::Retract { pseudonym, .. } => hex_id("pseudonym", pseudonym),
        }
    }
}

impl Payload {
    /// Checks every operation and the ids of requests.
    pub fn check(&self) -> Result<()> {
        match self {
            Self::Update { ops } => {
                if ops.len() > MAX_OPS {
                    return Err(Error::Invalid(format!("{} operations", ops.len())));
                }
                ops.iter().try_for_each(Op::check)
            }
            Self::SnapshotRequest { request, since } => {
                hex_id("request", request)?;
                if since.len() > MAX_PEERS_ASKED {
                    return Err(Error::Invalid(format!("{} peers asked", since.len())));
                }
                if since.keys().any(|k| k.len() > 255) {
                    return Err(Error::Invalid("a peer id is too long".into()));
                }
                Ok(())
            }
            Self::ResearchQuery {
                query,
                researcher,
                criteria,
            } => {
                hex_id("query", query)?;
                hex_id("researcher", researcher)?;
                if criteria.symptom.as_deref().is_some_and(|s| !is_hpo_id(s)) {
                    return Err(Error::Invalid("the symptom is not an HPO id".into()));
                }
                if *criteria == ResearchCriteria::default() {
                    return Err(Error::Invalid("a research query needs a criterion".into()));
                }
                Ok(())
            }
            Self::DistributionQuery {
                query,
                questionnaire,
                question,
                ..
            } => {
                hex_id("query", query)?;
                if questionnaire.is_empty()
                    || question.is_empty()
                    || questionnaire.len() > 40
                    || question.len() > 40
                {
                    return Err(Error::Invalid("questionnaire and question ids".into()));
                }
                Ok(())
            }
            Self::DistributionAnswer {
                query,
                status,
                bins,
                ..
            } => {
                hex_id("query", query)?;
                if !["ok", "fewer_than_k", "unknown_question"].contains(&status.as_str()) {
                    return Err(Error::Invalid(format!(
                        "{status:?} is not an answer status"
                    )));
                }
                if bins.len() > 50 || bins.iter().any(|b| b.label.len() > 200) {
                    return Err(Error::Invalid("too many or too long bins".into()));
                }
                Ok(())
            }
            Self::ResearchAnswer { query, status, .. } => {
                hex_id("query", query)?;
                if ["ok", "fewer_than_k", "budget_spent", "unsupported"].contains(&status.as_str())
                {
                    Ok(())
                } else {
                    Err(Error::Invalid(format!(
                        "{status:?} is not an answer status"
                    )))
                }
            }
            Self::ContactRequest { request, from, to } => {
                hex_id("request", request)?;
                hex_id("pseudonym", from)?;
                hex_id("pseudonym", to)
            }
            Self::ContactAnswer {
                request,
                accepted,
                room,
            } => {
                hex_id("request", request)?;
                match (accepted, room) {
                    (true, Some(r)) if r.starts_with('!') && r.len() <= 255 => Ok(()),
                    (false, None) => Ok(()),
                    _ => Err(Error::Invalid(
                        "an accepted answer names its room (and only then)".into(),
                    )),
                }
            }
            Self::QaResend { room } => {
                let parsed = crate::client::parse_id::<ruma::OwnedRoomId>("room", room);
                if parsed.is_err() || room.len() < 2 || room.len() > 255 {
                    return Err(Error::Invalid(format!("{room:?} is not a room id")));
                }
                Ok(())
            }
            Self::Snapshot {
                request,
                ops,
                since,
                ..
            } => {
                hex_id("request", request)?;
                if ops.len() > MAX_OPS {
                    return Err(Error::Invalid(format!("{} operations", ops.len())));
                }
                if since.is_none() && ops.iter().any(|o| matches!(o, Op::Retract { .. })) {
                    return Err(Error::Invalid("a snapshot holds upserts only".into()));
                }
                ops.iter().try_for_each(Op::check)
            }
        }
    }
}

/// The most peers one snapshot request may name.
pub const MAX_PEERS_ASKED: usize = 1_000;

/// A random 32-hex-digit id.
pub fn random_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Serialize(format!("no randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// How a node answered a research count (`ok`, `fewer_than_k`, `budget_spent`,
/// `unsupported`; anything else a newer node sends reads as `unsupported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountStatus {
    /// Counted: the noisy count is given.
    Ok,
    /// Fewer patients than the node's threshold.
    FewerThanK,
    /// The asking researcher's budget at that node is spent.
    BudgetSpent,
    /// The node cannot answer this query.
    #[serde(other)]
    Unsupported,
}

impl CountStatus {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::FewerThanK => "fewer_than_k",
            Self::BudgetSpent => "budget_spent",
            Self::Unsupported => "unsupported",
        }
    }
}

/// How a node answered a distribution query (`ok`, `fewer_than_k`, `unknown_question`;
/// anything else reads as `unknown_question`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistributionStatus {
    /// The bins are given.
    Ok,
    /// Fewer patients than the node's threshold answered.
    FewerThanK,
    /// The node has no such question.
    #[serde(other)]
    UnknownQuestion,
}

impl DistributionStatus {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::FewerThanK => "fewer_than_k",
            Self::UnknownQuestion => "unknown_question",
        }
    }
}

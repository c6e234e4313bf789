//! The node's calls to its own homeserver, as the application service's user
//! (authenticated with the `as_token`, so the homeserver applies no rate limits): ruma's
//! request and response types, sent over HTTP.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use ruma::api::auth_scheme::{AuthScheme, SendAccessToken};
use ruma::api::client::membership::{
    invite_user, join_room_by_id, joined_members, kick_user, leave_room,
};
use ruma::api::client::message::send_message_event;
use ruma::api::client::redact::redact_event;
use ruma::api::client::room::create_room;
use ruma::api::client::state::get_state_event_for_key;
use ruma::api::path_builder::VersionHistory;
use ruma::api::{IncomingResponse, OutgoingRequest, SupportedVersions};
use ruma::events::{AnyMessageLikeEventContent, StateEventType};
use ruma::serde::Raw;
use ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId};
use serde_json::Value;

use crate::rooms::RoomKind;
use crate::{Error, Result};

/// What a room is created with, beyond its kind and name.
#[derive(Debug, Clone, Default)]
pub struct NewRoom {
    /// Users invited at creation.
    pub invite: Vec<OwnedUserId>,
    /// A topic shown by Matrix apps.
    pub topic: Option<String>,
    /// A direct (one-to-one) room, with the trusted-private-chat preset.
    pub direct: bool,
    /// End-to-end encryption on from the first event.
    pub encrypted: bool,
}

/// A client of the node's homeserver.
#[derive(Debug, Clone)]
pub struct Homeserver {
    http: reqwest::Client,
    base: String,
    token: String,
    versions: SupportedVersions,
}

/// The Matrix versions this client speaks (every homeserver in use speaks v1.1 or newer).
fn versions() -> SupportedVersions {
    let v: Vec<String> = (1..=11).map(|m| format!("v1.{m}")).collect();
    SupportedVersions::from_parts(&v, &BTreeMap::new())
}

/// The Matrix error code (`M_FORBIDDEN`...) of a refusal, whatever the endpoint's error
/// type.
pub(crate) trait Errcode {
    /// The code, or an empty string.
    fn errcode(&self) -> String;
}

impl Errcode for ruma::api::error::Error {
    fn errcode(&self) -> String {
        self.error_kind()
            .map(|k| k.errcode().to_string())
            .unwrap_or_default()
    }
}

impl Errcode for ruma::api::client::uiaa::UiaaResponse {
    fn errcode(&self) -> String {
        match self {
            Self::MatrixError(e) => e.errcode(),
            Self::AuthResponse(_) => "M_FORBIDDEN".to_owned(),
        }
    }
}

/// Parses a Matrix identifier that came from the node's own records or config.
pub fn parse_id<T>(what: &str, s: &str) -> Result<T>
where
    T: TryFrom<String>,
{
    T::try_from(s.to_owned()).map_err(|_| Error::Id(format!("{what} {s:?} is not valid")))
}

impl Homeserver {
    /// A client of `homeserver_url` with the application service token.
    pub fn new(homeserver_url: &str, as_token: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            base: homeserver_url.trim_end_matches('/').to_owned(),
            token: as_token.to_owned(),
            versions: versions(),
        })
    }

    /// The homeserver's client-server API address.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Sends one request of the client-server API with the application service token.
    pub(crate) async fn call<R>(
        &self,
        what: &'static str,
        request: R,
    ) -> Result<R::IncomingResponse>
    where
        R: OutgoingRequest<PathBuilder = VersionHistory>,
        R::EndpointError: Errcode,
        R::Authentication: for<'a> AuthScheme<Input<'a> = SendAccessToken<'a>>,
    {
        let req: http::Request<Vec<u8>> = request
            .try_into_http_request(
                &self.base,
                SendAccessToken::Appservice(&self.token),
                Cow::Borrowed(&self.versions),
            )
            .map_err(|e| Error::Malformed(format!("{what}: {e}")))?;
        let (parts, body) = req.into_parts();
        let res = self
            .http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        let mut response = http::Response::builder().status(status.as_u16());
        if let Some(h) = response.headers_mut() {
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        let response = response
            .body(bytes.to_vec())
            .map_err(|e| Error::Malformed(format!("{what}: {e}")))?;
        R::IncomingResponse::try_from_http_response(response).map_err(|e| {
            let errcode = match &e {
                ruma::api::error::FromHttpResponseError::Server(err) => err.errcode(),
                _ => String::new(),
            };
            if status.is_success() {
                Error::Malformed(format!("{what}: {e}"))
            } else {
                Error::Refused {
                    what,
                    status: status.as_u16(),
                    errcode,
                }
            }
        })
    }

    /// Creates a private room of a raremesh kind (the kind is the room's `m.room.create`
    /// type, which nobody can change afterwards); its id.
    pub async fn create_room(
        &self,
        kind: RoomKind,
        name: &str,
        new: NewRoom,
    ) -> Result<OwnedRoomId> {
        let mut creation = create_room::v3::CreationContent::new();
        creation.room_type = Some(kind.room_type());
        let mut req = create_room::v3::Request::new();
        req.creation_content =
            Some(Raw::new(&creation).map_err(|e| Error::Serialize(format!("createRoom: {e}")))?);
        req.name = Some(name.to_owned());
        req.topic = new.topic;
        req.invite = new.invite;
        req.is_direct = new.direct;
        req.preset = Some(if new.direct {
            create_room::v3::RoomPreset::TrustedPrivateChat
        } else {
            create_room::v3::RoomPreset::PrivateChat
        });
        if new.encrypted {
            let state = serde_json::json!({
                "type": "m.room.encryption",
                "state_key": "",
                "content": { "algorithm": "m.megolm.v1.aes-sha2" },
            });
            req.initial_state = vec![Raw::from_json(
                serde_json::value::to_raw_value(&state)
                    .map_err(|e| Error::Serialize(e.to_string()))?,
            )];
        }
        Ok(self.call("createRoom", req).await?.room_id)
    }

    /// Sends an event whose content is `content` (the transaction id makes a retry of the
    /// same send idempotent); the event's id.
    pub async fn send(
        &self,
        room: &str,
        event_type: &str,
        txn: &str,
        content: &Value,
    ) -> Result<OwnedEventId> {
        crate::limits::check_identifiers(event_type, None)?;
        crate::limits::check_content(content)?;
        let room: OwnedRoomId = parse_id("room id", room)?;
        let body: Raw<AnyMessageLikeEventContent> = Raw::from_json(
            serde_json::value::to_raw_value(content)
                .map_err(|e| Error::Serialize(e.to_string()))?,
        );
        let txn: OwnedTransactionId = txn.into();
        let req = send_message_event::v3::Request::new_raw(room, txn, event_type.into(), body);
        Ok(self.call("send", req).await?.event_id)
    }

    /// Sends a protocol event (ruma's typed event of [`crate::protocol::EVENT_TYPE`]); its
    /// batch id is the transaction id, so a retry of the same batch is sent once. The
    /// event's id.
    pub async fn send_batch(
        &self,
        room: &str,
        envelope: &crate::protocol::Envelope,
    ) -> Result<OwnedEventId> {
        let room: OwnedRoomId = parse_id("room id", room)?;
        let txn: OwnedTransactionId = envelope.batch.as_str().into();
        let req = send_message_event::v3::Request::new(room, txn, envelope)
            .map_err(|e| Error::Serialize(e.to_string()))?;
        Ok(self.call("send", req).await?.event_id)
    }

    /// Redacts (withdraws) an event.
    pub async fn redact(&self, room: &str, event: &str, txn: &str, reason: &str) -> Result<()> {
        let mut req = redact_event::v3::Request::new(
            parse_id("room id", room)?,
            parse_id("event id", event)?,
            txn.into(),
        );
        req.reason = Some(reason.to_owned());
        self.call("redact", req).await.map(|_| ())
    }

    /// Invites a user.
    pub async fn invite(&self, room: &str, user: &str) -> Result<()> {
        let req = invite_user::v3::Request::new(
            parse_id("room id", room)?,
            invite_user::v3::InvitationRecipient::UserId(invite_user::v3::InviteUserId::new(
                parse_id("user id", user)?,
            )),
        );
        self.call("invite", req).await.map(|_| ())
    }

    /// Joins a room the node was invited to.
    pub async fn join(&self, room: &str) -> Result<()> {
        let req = join_room_by_id::v3::Request::new(parse_id("room id", room)?);
        self.call("join", req).await.map(|_| ())
    }

    /// Removes a user from a room.
    pub async fn kick(&self, room: &str, user: &str, reason: &str) -> Result<()> {
        let mut req =
            kick_user::v3::Request::new(parse_id("room id", room)?, parse_id("user id", user)?);
        req.reason = Some(reason.to_owned());
        self.call("kick", req).await.map(|_| ())
    }

    /// Leaves a room.
    pub async fn leave(&self, room: &str) -> Result<()> {
        let req = leave_room::v3::Request::new(parse_id("room id", room)?);
        self.call("leave", req).await.map(|_| ())
    }

    /// Whether a room has end-to-end encryption turned on.
    pub async fn is_encrypted(&self, room: &str) -> Result<bool> {
        let req = get_state_event_for_key::v3::Request::new(
            parse_id("room id", room)?,
            StateEventType::RoomEncryption,
            String::new(),
        );
        match self.call("state", req).await {
            Ok(_) => Ok(true),
            Err(Error::Refused { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The users joined to a room.
    pub async fn joined_members(&self, room: &str) -> Result<Vec<String>> {
        let req = joined_members::v3::Request::new(parse_id("room id", room)?);
        Ok(self
            .call("joined_members", req)
            .await?
            .joined
            .into_keys()
            .map(|u| u.to_string())
            .collect())
    }

    /// Sends a public read receipt for `event` in `room`. Besides saying the node read it,
    /// it makes the homeserver contact the homeservers of the room at once: a homeserver
    /// that was backing off from this one (after an outage) resumes sending what it holds
    /// for it then, instead of at its next periodic retry.
    pub async fn read_receipt(&self, room: &str, event: &str) -> Result<()> {
        use ruma::api::client::receipt::create_receipt;
        let req = create_receipt::v3::Request::new(
            parse_id("room id", room)?,
            create_receipt::v3::ReceiptType::Read,
            parse_id("event id", event)?,
        );
        self.call("receipt", req).await.map(|_| ())
    }

    /// Whether the homeserver answers (its `/versions`), for status pages.
    pub async fn answers(&self) -> bool {
        self.http
            .get(format!("{}/_matrix/client/versions", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

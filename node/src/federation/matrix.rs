//! The few client-server API calls the node makes to its homeserver, as the application
//! service's user (authenticated with the `as_token`).

use serde_json::{Value, json};

use super::FederationError;

/// A client of the homeserver.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Percent-encodes a path segment (room ids hold `!` and `:`, user ids `@`).
pub fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Client {
    /// A client of `homeserver_url` with the application service token.
    pub fn new(homeserver_url: &str, as_token: &str) -> Result<Self, FederationError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| FederationError::Matrix(e.to_string()))?;
        Ok(Self {
            http,
            base: homeserver_url.trim_end_matches('/').to_owned(),
            token: as_token.to_owned(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, FederationError> {
        let url = format!("{}/_matrix/client/v3/{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| FederationError::Matrix(format!("{path}: {e}")))?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(FederationError::Refused {
                path: path.to_owned(),
                status,
                errcode: body
                    .get("errcode")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
        }
    }

    /// Creates a private room, inviting `invite`; its id.
    pub async fn create_room(
        &self,
        name: &str,
        invite: &[String],
        extra: Value,
    ) -> Result<String, FederationError> {
        let mut body = json!({
            "preset": "private_chat",
            "name": name,
            "invite": invite,
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let v = self
            .call(reqwest::Method::POST, "createRoom", Some(&body))
            .await?;
        v.get("room_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| FederationError::Matrix("createRoom: no room_id".into()))
    }

    /// Sends an event (the transaction id makes retries idempotent).
    pub async fn send(
        &self,
        room: &str,
        event_type: &str,
        txn: &str,
        content: &Value,
    ) -> Result<String, FederationError> {
        let v = self
            .call(
                reqwest::Method::PUT,
                &format!("rooms/{}/send/{}/{}", seg(room), seg(event_type), seg(txn)),
                Some(content),
            )
            .await?;
        Ok(v.get("event_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Redacts (withdraws) an event.
    pub async fn redact(
        &self,
        room: &str,
        event: &str,
        txn: &str,
        reason: &str,
    ) -> Result<(), FederationError> {
        self.call(
            reqwest::Method::PUT,
            &format!("rooms/{}/redact/{}/{}", seg(room), seg(event), seg(txn)),
            Some(&json!({ "reason": reason })),
        )
        .await
        .map(|_| ())
    }

    /// Invites a user.
    pub async fn invite(&self, room: &str, user: &str) -> Result<(), FederationError> {
        self.call(
            reqwest::Method::POST,
            &format!("rooms/{}/invite", seg(room)),
            Some(&json!({ "user_id": user })),
        )
        .await
        .map(|_| ())
    }

    /// Joins a room the node was invited to.
    pub async fn join(&self, room: &str) -> Result<(), FederationError> {
        self.call(
            reqwest::Method::POST,
            &format!("join/{}", seg(room)),
            Some(&json!({})),
        )
        .await
        .map(|_| ())
    }

    /// Removes a user from a room.
    pub async fn kick(&self, room: &str, user: &str, reason: &str) -> Result<(), FederationError> {
        self.call(
            reqwest::Method::POST,
            &format!("rooms/{}/kick", seg(room)),
            Some(&json!({ "user_id": user, "reason": reason })),
        )
        .await
        .map(|_| ())
    }

    /// Leaves a room.
    pub async fn leave(&self, room: &str) -> Result<(), FederationError> {
        self.call(
            reqwest::Method::POST,
            &format!("rooms/{}/leave", seg(room)),
            Some(&json!({})),
        )
        .await
        .map(|_| ())
    }

    /// Whether a room has end-to-end encryption turned on.
    pub async fn is_encrypted(&self, room: &str) -> Result<bool, FederationError> {
        match self
            .call(
                reqwest::Method::GET,
                &format!("rooms/{}/state/m.room.encryption/", seg(room)),
                None,
            )
            .await
        {
            Ok(v) => Ok(v.get("algorithm").is_some()),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The users joined to a room.
    pub async fn joined_members(&self, room: &str) -> Result<Vec<String>, FederationError> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("rooms/{}/joined_members", seg(room)),
                None,
            )
            .await?;
        Ok(v.get("joined")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default())
    }
}

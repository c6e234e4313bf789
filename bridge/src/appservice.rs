//! The application service API the homeserver calls:
//! `PUT /_matrix/app/v1/transactions/{txnId}`, parsed with ruma's `push_events` request
//! type. The node answers only after the events are applied and stored, so the homeserver
//! retries whatever the node did not acknowledge. Events are applied once by event id, not
//! by transaction id: a homeserver may number its transactions from 1 again after a restart.

use ruma::api::IncomingRequest;
use ruma::api::appservice::event::push_events;
use serde_json::Value;

use crate::event::Incoming;

/// The paths the homeserver sends transactions to (the second is the pre-v1 form some
/// homeservers still use), each with the transaction id as `{txn}`.
pub const TRANSACTION_PATHS: [&str; 2] =
    ["/_matrix/app/v1/transactions/{txn}", "/transactions/{txn}"];

/// Why a transaction is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token (401 `M_UNAUTHORIZED`).
    NoToken,
    /// The wrong token (403 `M_FORBIDDEN`).
    WrongToken,
    /// Not a transaction (400 `M_BAD_JSON`).
    BadRequest(String),
}

impl Refusal {
    /// The HTTP status and Matrix error code to answer with.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            Self::NoToken => (401, "M_UNAUTHORIZED"),
            Self::WrongToken => (403, "M_FORBIDDEN"),
            Self::BadRequest(_) => (400, "M_BAD_JSON"),
        }
    }
}

/// A transaction the homeserver pushed.
#[derive(Debug)]
pub struct Transaction {
    /// The homeserver's id for it (only an idempotency key for retries of the same one).
    pub txn_id: String,
    /// The events that have a valid envelope, in order.
    pub events: Vec<Incoming>,
    /// The events that do not, with the reason (room id if known).
    pub refused: Vec<(String, String)>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks the homeserver's token (the `Authorization` header, or the older
/// `access_token` query parameter) and parses the transaction.
pub fn transaction(
    request: http::Request<Vec<u8>>,
    txn_id: &str,
    hs_token: &str,
) -> Result<Transaction, Refusal> {
    let header = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let query = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_owned)
    });
    match header.or(query) {
        None => return Err(Refusal::NoToken),
        Some(t) if !same(&t, hs_token) => return Err(Refusal::WrongToken),
        Some(_) => {}
    }
    let parsed = push_events::v1::Request::try_from_http_request(request, &[txn_id])
        .map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let mut events = Vec::new();
    let mut refused = Vec::new();
    for raw in &parsed.events {
        let json: Value = match raw.deserialize_as::<Value>() {
            Ok(v) => v,
            Err(e) => {
                refused.push((String::new(), e.to_string()));
                continue;
            }
        };
        match Incoming::parse(&json, None) {
            Ok(e) => events.push(e),
            Err(why) => refused.push((
                json.get("room_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned(),
                why,
            )),
        }
    }
    Ok(Transaction {
        txn_id: parsed.txn_id.to_string(),
        events,
        refused,
    })
}

/// The request a homeserver makes to push `events` (whole event JSON) to an application
/// service at `base` as transaction `txn_id`, authenticated with `hs_token`: built with
/// ruma's `push_events` request type, for tests and benchmarks that play the homeserver.
pub fn push_request(
    base: &str,
    hs_token: &str,
    txn_id: &str,
    events: &[Value],
) -> crate::Result<http::Request<Vec<u8>>> {
    use ruma::api::OutgoingRequest;
    use ruma::api::auth_scheme::SendAccessToken;
    let events = events
        .iter()
        .map(|e| {
            serde_json::value::to_raw_value(e)
                .map(ruma::serde::Raw::from_json)
                .map_err(|e| crate::Error::Serialize(e.to_string()))
        })
        .collect::<crate::Result<Vec<_>>>()?;
    push_events::v1::Request::new(txn_id.into(), events)
        .try_into_http_request(base, SendAccessToken::IfRequired(hs_token), ())
        .map_err(|e| crate::Error::Malformed(format!("transaction: {e}")))
}

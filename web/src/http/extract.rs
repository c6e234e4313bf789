//! Who is asking: extractors that resolve the signed-in account once, for the JSON API
//! (bearer token, or the session cookie with the CSRF header on writes) and for pages
//! (the session cookie), with the role a handler needs. A handler names what it needs
//! in its arguments; a request without it is answered before the handler runs.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::page_error::PageError;
use raremesh_domain::accounts::Account;
use raremesh_domain::registration::Member;
use raremesh_domain::state::AppState;

/// The account making an API request.
#[derive(Debug, Clone)]
pub struct Caller(pub Account);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        super::member_api::caller(state, &parts.headers, &parts.method).map(Self)
    }
}

/// The member making an API request (an account with a member record).
#[derive(Debug, Clone)]
pub struct ApiMember(pub Account, pub Member);

impl FromRequestParts<AppState> for ApiMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(account) = Caller::from_request_parts(parts, state).await?;
        let member = super::member_api::member_of(state, &account)?;
        Ok(Self(account, member))
    }
}

/// The signed-in browser's account; without one, the browser is sent to sign in.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Account);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        super::page::signed_in(state, &parts.headers).map(Self)
    }
}

/// The signed-in member; an account without a member record is sent to its account page.
#[derive(Debug, Clone)]
pub struct PageMember(pub Account, pub Member);

impl FromRequestParts<AppState> for PageMember {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        super::patients::member(state, &parts.headers).map(|(a, m)| Self(a, m))
    }
}

/// A signed-in validator or admin; anyone else gets the 403 page in their language.
#[derive(Debug, Clone)]
pub struct Staff(pub Account);

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        super::page::staff(state, &parts.headers).map(Self)
    }
}

fn api_role(
    account: Account,
    allowed: &[raremesh_domain::accounts::Role],
    message: &str,
) -> Result<Account, ApiError> {
    if allowed.contains(&account.role) {
        Ok(account)
    } else {
        Err(ApiError::Refused {
            status: axum::http::StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
        })
    }
}

/// A validator or admin making an API request; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct ApiStaff(pub Account);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(account) = Caller::from_request_parts(parts, state).await?;
        api_role(
            account,
            &[
                raremesh_domain::accounts::Role::Validator,
                raremesh_domain::accounts::Role::Admin,
            ],
            "for validators and admins only",
        )
        .map(Self)
    }
}

/// A researcher making an API request; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct ApiResearcher(pub Account);

impl FromRequestParts<AppState> for ApiResearcher {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(account) = Caller::from_request_parts(parts, state).await?;
        api_role(
            account,
            &[raremesh_domain::accounts::Role::Researcher],
            "for researchers only",
        )
        .map(Self)
    }
}

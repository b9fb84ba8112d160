//! Who is asking: bearer tokens (`placeledger token create`), stored hashed, and the role and
//! authority each acts for.

use std::sync::Arc;

use placeledger_domain::AuthorityCode;
use placeledger_store::{ApiToken, EventStore, StoreError};
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Role {
    /// Everything, every authority.
    Admin,
    /// Reads and writes its own authority; runs scenarios.
    Planner,
    /// Reads its own authority.
    Analyst,
    /// Only the shared aggregates of authorities whose data-sharing agreement names it.
    Partner,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner => "planner",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "planner" => Role::Planner,
            "analyst" => Role::Analyst,
            "partner" => Role::Partner,
            _ => return None,
        })
    }
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub token_id: String,
    pub role: Role,
    /// The authority the role acts for (`None` for admin).
    pub authority: Option<AuthorityCode>,
}

impl Viewer {
    /// May read `authority`'s own data (child-level and aggregates).
    pub fn reads(&self, authority: &AuthorityCode) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Planner | Role::Analyst => self.authority.as_ref() == Some(authority),
            Role::Partner => false,
        }
    }

    /// May record events for `authority`.
    pub fn writes(&self, authority: &AuthorityCode) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Planner => self.authority.as_ref() == Some(authority),
            Role::Analyst | Role::Partner => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0} tokens act for an authority: give --authority")]
    AuthorityNeeded(&'static str),
    #[error("admin tokens act for every authority: leave --authority out")]
    AdminWithAuthority,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The SHA-256 of a token's secret, as stored.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new token's secret (`plg_` and 64 hex digits, 244 random bits) and public id.
fn fresh() -> (String, String) {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let secret = format!("plg_{}{}", a.simple(), b.simple());
    let id = format!("tok_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    (id, secret)
}

/// Creates a token; returns what is stored and the secret, which is shown once and never
/// stored.
pub async fn create(
    store: &Arc<dyn EventStore>,
    role: Role,
    authority: Option<AuthorityCode>,
    label: &str,
) -> Result<(ApiToken, String), TokenError> {
    match (role, &authority) {
        (Role::Admin, Some(_)) => return Err(TokenError::AdminWithAuthority),
        (Role::Planner | Role::Analyst | Role::Partner, None) => {
            return Err(TokenError::AuthorityNeeded(role.code()));
        }
        _ => {}
    }
    let (id, secret) = fresh();
    let token = ApiToken {
        id,
        hash: hash(&secret),
        role: role.code().to_owned(),
        authority: authority.map(|a| a.as_str().to_owned()),
        label: label.to_owned(),
        revoked: false,
    };
    store.insert_token(&token).await?;
    Ok((token, secret))
}

/// Why a token was not accepted. The message never says which part was wrong.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("the token is not known, or has been revoked")]
    Unknown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The viewer a bearer token stands for.
pub async fn authenticate(store: &Arc<dyn EventStore>, secret: &str) -> Result<Viewer, AuthError> {
    if !secret.starts_with("plg_") || secret.len() != 68 {
        return Err(AuthError::Unknown);
    }
    let Some(token) = store.token_by_hash(&hash(secret)).await? else {
        return Err(AuthError::Unknown);
    };
    if token.revoked {
        return Err(AuthError::Unknown);
    }
    let role = Role::parse(&token.role).ok_or(AuthError::Unknown)?;
    let authority = match token.authority {
        Some(a) => Some(AuthorityCode::parse(&a).map_err(|_| AuthError::Unknown)?),
        None => None,
    };
    Ok(Viewer {
        token_id: token.id,
        role,
        authority,
    })
}

/// The token of an `Authorization: Bearer ...` header value.
pub fn bearer(header: &str) -> Result<&str, AuthError> {
    let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

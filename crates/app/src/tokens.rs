//! Bearer tokens (`placeledger token create`): made with a secret shown once, stored as the
//! secret's SHA-256, turned back into the [`Viewer`] they stand for.

use placeledger_domain::AuthorityCode;
use sha2::{Digest, Sha256};

use crate::access::{Role, Viewer};
use crate::storage::{AccessStore, AccessStoreError, StoredToken};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0} tokens act for an authority: give --authority")]
    AuthorityNeeded(&'static str),
    #[error("admin tokens act for every authority: leave --authority out")]
    AdminWithAuthority,
    #[error(transparent)]
    Store(#[from] AccessStoreError),
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
    store: &dyn AccessStore,
    role: Role,
    authority: Option<AuthorityCode>,
    label: &str,
) -> Result<(StoredToken, String), TokenError> {
    match (role, &authority) {
        (Role::Admin, Some(_)) => return Err(TokenError::AdminWithAuthority),
        (Role::Planner | Role::Analyst | Role::Partner, None) => {
            return Err(TokenError::AuthorityNeeded(role.code()));
        }
        _ => {}
    }
    let (id, secret) = fresh();
    let token = StoredToken {
        id,
        hash: hash(&secret),
        role,
        authority,
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
    /// A revoked token: whom it stood for, for the audit log. Told to the caller in the same
    /// words as an unknown one.
    #[error("the token is not known, or has been revoked")]
    Revoked(Viewer),
    #[error(transparent)]
    Store(#[from] AccessStoreError),
}

/// The viewer a bearer token stands for.
pub async fn authenticate(store: &dyn AccessStore, secret: &str) -> Result<Viewer, AuthError> {
    if !secret.starts_with("plg_") || secret.len() != 68 {
        return Err(AuthError::Unknown);
    }
    let Some(token) = store.token_by_hash(&hash(secret)).await? else {
        return Err(AuthError::Unknown);
    };
    let viewer = Viewer {
        token_id: token.id,
        role: token.role,
        authority: token.authority,
    };
    if token.revoked {
        return Err(AuthError::Revoked(viewer));
    }
    Ok(viewer)
}

/// The token of an `Authorization: Bearer ...` header value.
pub fn bearer(header: &str) -> Result<&str, AuthError> {
    let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

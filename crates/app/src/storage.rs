//! Tokens and the audit log, stored beside the events in their own tables (`api_tokens`,
//! `api_audit`; migration `0003_api_access.sql`) through a small trait of their own: the
//! event store keeps events and knows no tokens, roles or audit.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use placeledger_domain::AuthorityCode;
use placeledger_store::{EventStore, Opened, PgStore, SqliteStore, StoreError};
use sqlx::Row;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::access::Role;

/// A bearer token as stored: its public id and the SHA-256 of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// Public, shown in logs and the audit trail (e.g. `tok_3f9a1c2b`).
    pub id: String,
    /// Lower-case hex SHA-256 of the secret.
    pub hash: String,
    pub role: Role,
    /// The authority the role acts for; `None` for admin.
    pub authority: Option<AuthorityCode>,
    pub label: String,
    pub revoked: bool,
}

impl StoredToken {
    fn validate(&self) -> Result<(), AccessStoreError> {
        let invalid = |field, reason: &str| {
            Err(AccessStoreError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.id.is_empty() || self.id.len() > 64 {
            return invalid("id", "must be 1-64 characters");
        }
        if self.hash.len() != 64 || !self.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return invalid("hash", "must be 64 hex digits (SHA-256)");
        }
        if self.label.len() > 200 {
            return invalid("label", "at most 200 characters");
        }
        Ok(())
    }
}

/// One read a partner made of shared data, or was refused: who, which root field with which
/// arguments, whose data, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub token_id: String,
    pub role: String,
    pub authority: Option<String>,
    /// The root field read, e.g. `sharedPlaceData`.
    pub field: String,
    /// The authorities whose data the answer held (or was asked for), comma-separated.
    pub subjects: String,
    /// What was asked beyond the authority, e.g. `groupBy=district+need`.
    pub arguments: String,
    /// `read`, or `refused: CODE` (the error code the caller was given).
    pub outcome: String,
}

/// A publication of an authority's protected tables, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPublication {
    pub authority: AuthorityCode,
    /// The publication period it belongs to (e.g. days since 1970-01-01).
    pub period: i64,
    /// The event position its figures reflect.
    pub position: u64,
    /// The tables (JSON).
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessStoreError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("a stored token is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl AccessStoreError {
    /// The database could not be reached or went away: a condition that passes.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AccessStoreError::Database(e) if placeledger_store::is_unavailable(e))
    }
}

/// Where tokens and the audit log are kept.
#[async_trait]
pub trait AccessStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new token (its hash). A token id or hash already stored is refused.
    async fn insert_token(&self, token: &StoredToken) -> Result<(), AccessStoreError>;
    /// The token whose secret hashes to `hash`, revoked or not.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<StoredToken>, AccessStoreError>;
    /// Revokes a token by id; `false` if there is no such token.
    async fn revoke_token(&self, id: &str) -> Result<bool, AccessStoreError>;
    /// The ids of every revoked token (each node polls it to close what a revoked token
    /// holds open).
    async fn revoked_ids(&self) -> Result<Vec<String>, AccessStoreError>;
    /// Appends one entry to the partner audit log.
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), AccessStoreError>;
    /// The audit log, oldest first.
    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, AccessStoreError>;
    /// Stores a publication unless its (authority, period) already has one; either way the
    /// one stored is what every node serves.
    async fn insert_publication(&self, p: &StoredPublication) -> Result<(), AccessStoreError>;
    /// `a`'s publication of `period` (`None`: the latest of any period).
    async fn publication(
        &self,
        a: &AuthorityCode,
        period: Option<i64>,
    ) -> Result<Option<StoredPublication>, AccessStoreError>;
}

/// The access tables in the event store's own database.
#[derive(Debug, Clone)]
pub enum SqlAccessStore {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

impl SqlAccessStore {
    pub fn sqlite(store: &SqliteStore) -> Self {
        SqlAccessStore::Sqlite {
            writer: store.writer().clone(),
            reader: store.reader().clone(),
        }
    }

    pub fn postgres(store: &PgStore) -> Self {
        SqlAccessStore::Postgres(store.pool().clone())
    }
}

/// Runs one query body on whichever pool the store has: the SQL is the same on both
/// backends (`$n` parameters, times bound from here).
macro_rules! on_pool {
    ($self:expr, $write:expr, |$pool:ident| $body:expr) => {
        match $self {
            SqlAccessStore::Sqlite { writer, reader } => {
                let $pool = if $write { writer } else { reader };
                $body
            }
            SqlAccessStore::Postgres(p) => {
                let $pool = p;
                $body
            }
        }
    };
}

fn token_of(
    id: String,
    hash: String,
    role: String,
    authority: Option<String>,
    label: String,
    revoked: bool,
) -> Result<StoredToken, AccessStoreError> {
    let role =
        Role::parse(&role).ok_or_else(|| AccessStoreError::Damaged(format!("role {role:?}")))?;
    let authority = authority
        .map(|a| {
            AuthorityCode::parse(&a)
                .map_err(|_| AccessStoreError::Damaged(format!("authority {a:?}")))
        })
        .transpose()?;
    Ok(StoredToken {
        id,
        hash,
        role,
        authority,
        label,
        revoked,
    })
}

const TOKEN_BY_HASH: &str = "SELECT id, hash, role, authority, label, revoked_at IS NOT NULL AS revoked \
     FROM api_tokens WHERE hash = $1";
const AUDIT_ENTRIES: &str = "SELECT token_id, role, authority, field, subjects, arguments, outcome \
     FROM api_audit ORDER BY id";
const PUBLICATION: &str = "SELECT authority, period, position, body FROM shared_publications \
     WHERE authority = $1 AND ($2 OR period = $3) ORDER BY period DESC LIMIT 1";

#[async_trait]
impl AccessStore for SqlAccessStore {
    async fn insert_token(&self, token: &StoredToken) -> Result<(), AccessStoreError> {
        token.validate()?;
        on_pool!(self, true, |pool| sqlx::query(
            "INSERT INTO api_tokens (id, hash, role, authority, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(&token.hash)
        .bind(token.role.code())
        .bind(token.authority.as_ref().map(AuthorityCode::as_str))
        .bind(&token.label)
        .bind(Utc::now())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<StoredToken>, AccessStoreError> {
        let row = on_pool!(self, false, |pool| {
            let row = sqlx::query(TOKEN_BY_HASH)
                .bind(hash)
                .fetch_optional(pool)
                .await?;
            row.map(|r| {
                Ok::<_, sqlx::Error>((
                    r.try_get("id")?,
                    r.try_get("hash")?,
                    r.try_get("role")?,
                    r.try_get("authority")?,
                    r.try_get("label")?,
                    r.try_get("revoked")?,
                ))
            })
            .transpose()?
        });
        row.map(|(id, hash, role, authority, label, revoked)| {
            token_of(id, hash, role, authority, label, revoked)
        })
        .transpose()
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, AccessStoreError> {
        let found = on_pool!(self, true, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(Utc::now())
            .bind(id)
            .execute(pool)
            .await?;
            sqlx::query("SELECT 1 AS one FROM api_tokens WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .is_some()
        });
        Ok(found)
    }

    async fn revoked_ids(&self) -> Result<Vec<String>, AccessStoreError> {
        Ok(on_pool!(self, false, |pool| {
            let rows = sqlx::query("SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<Vec<_>, _>>()?
        }))
    }

    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), AccessStoreError> {
        on_pool!(self, true, |pool| sqlx::query(
            "INSERT INTO api_audit (at, token_id, role, authority, field, subjects, arguments, \
             outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Utc::now())
        .bind(&entry.token_id)
        .bind(&entry.role)
        .bind(&entry.authority)
        .bind(&entry.field)
        .bind(&entry.subjects)
        .bind(&entry.arguments)
        .bind(&entry.outcome)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, AccessStoreError> {
        Ok(on_pool!(self, false, |pool| {
            let rows = sqlx::query(AUDIT_ENTRIES).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok::<_, sqlx::Error>(AuditEntry {
                        token_id: r.try_get("token_id")?,
                        role: r.try_get("role")?,
                        authority: r.try_get("authority")?,
                        field: r.try_get("field")?,
                        subjects: r.try_get("subjects")?,
                        arguments: r.try_get("arguments")?,
                        outcome: r.try_get("outcome")?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        }))
    }

    async fn insert_publication(&self, p: &StoredPublication) -> Result<(), AccessStoreError> {
        let position = i64::try_from(p.position)
            .map_err(|_| AccessStoreError::Damaged(format!("position {}", p.position)))?;
        on_pool!(self, true, |pool| sqlx::query(
            "INSERT INTO shared_publications (authority, period, position, published_at, body) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (authority, period) DO NOTHING",
        )
        .bind(p.authority.as_str())
        .bind(p.period)
        .bind(position)
        .bind(Utc::now())
        .bind(&p.body)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn publication(
        &self,
        a: &AuthorityCode,
        period: Option<i64>,
    ) -> Result<Option<StoredPublication>, AccessStoreError> {
        let row = on_pool!(self, false, |pool| {
            let row = sqlx::query(PUBLICATION)
                .bind(a.as_str())
                .bind(period.is_none())
                .bind(period.unwrap_or(0))
                .fetch_optional(pool)
                .await?;
            row.map(|r| {
                Ok::<_, sqlx::Error>((
                    r.try_get::<i64, _>("period")?,
                    r.try_get::<i64, _>("position")?,
                    r.try_get::<String, _>("body")?,
                ))
            })
            .transpose()?
        });
        row.map(|(period, position, body)| {
            Ok(StoredPublication {
                authority: a.clone(),
                period,
                position: u64::try_from(position)
                    .map_err(|_| AccessStoreError::Damaged(format!("position {position}")))?,
                body,
            })
        })
        .transpose()
    }
}

/// The event store and the access tables of one database.
#[derive(Debug, Clone)]
pub struct Backend {
    pub events: Arc<dyn EventStore>,
    pub access: Arc<dyn AccessStore>,
}

impl Backend {
    /// Opens the database a URL names (`sqlite:PATH`, created if missing, or
    /// `postgres://...`), applying the migrations from `schema/`.
    pub async fn connect(url: &str) -> Result<Backend, StoreError> {
        Ok(match placeledger_store::open(url).await? {
            Opened::Sqlite(s) => Backend::sqlite(s),
            Opened::Postgres(s) => Backend::postgres(s),
        })
    }

    pub fn sqlite(store: SqliteStore) -> Backend {
        Backend {
            access: Arc::new(SqlAccessStore::sqlite(&store)),
            events: Arc::new(store),
        }
    }

    pub fn postgres(store: PgStore) -> Backend {
        Backend {
            access: Arc::new(SqlAccessStore::postgres(&store)),
            events: Arc::new(store),
        }
    }
}

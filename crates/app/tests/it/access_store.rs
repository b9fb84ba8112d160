//! Tokens and the audit log, kept by the access store of either backend.

use placeledger_app::access::Role;
use placeledger_app::storage::{AccessStoreError, AuditEntry, StoredPublication, StoredToken};
use placeledger_app::{Backend, tokens};
use placeledger_domain::AuthorityCode;

fn assert_invalid(result: Result<(), AccessStoreError>, field: &str) {
    match result {
        Err(AccessStoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected {field} to be refused, got {other:?}"),
    }
}

pub async fn tokens_are_found_by_hash_and_revoked(backend: Backend) {
    let store = &*backend.access;
    let token = StoredToken {
        id: "tok_0001".into(),
        hash: "a".repeat(64),
        role: Role::Planner,
        authority: Some(AuthorityCode::parse("888").unwrap()),
        label: "SEND team".into(),
        revoked: false,
    };
    store.insert_token(&token).await.unwrap();
    assert_eq!(
        store.token_by_hash(&token.hash).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.token_by_hash(&"b".repeat(64)).await.unwrap(), None);
    // The same id or hash again is refused, and the first stays as it was.
    assert!(store.insert_token(&token).await.is_err());
    let bad_id = StoredToken {
        id: String::new(),
        hash: "c".repeat(64),
        ..token.clone()
    };
    assert_invalid(store.insert_token(&bad_id).await, "id");
    let bad_hash = StoredToken {
        id: "tok_0003".into(),
        hash: "secret".into(),
        ..token.clone()
    };
    assert_invalid(store.insert_token(&bad_hash).await, "hash");
    assert_eq!(store.token_by_hash(&"c".repeat(64)).await.unwrap(), None);

    assert_eq!(store.revoked_ids().await.unwrap(), Vec::<String>::new());
    assert!(store.revoke_token("tok_0001").await.unwrap());
    assert!(!store.revoke_token("tok_9999").await.unwrap());
    assert_eq!(
        store.revoked_ids().await.unwrap(),
        vec!["tok_0001".to_owned()]
    );
    let revoked = store.token_by_hash(&token.hash).await.unwrap().unwrap();
    assert!(revoked.revoked);
}

pub async fn the_audit_log_keeps_every_entry_in_order(backend: Backend) {
    let store = &*backend.access;
    assert_eq!(store.audit_entries().await.unwrap(), Vec::new());
    let entries: Vec<AuditEntry> = (0..3)
        .map(|i| AuditEntry {
            token_id: format!("tok_{i}"),
            role: "partner".into(),
            authority: Some("889".into()),
            field: "sharedPlaceData".into(),
            subjects: "888,890".into(),
            arguments: format!("groupBy=district+need ({i})"),
            outcome: if i == 2 { "refused: FORBIDDEN" } else { "read" }.into(),
        })
        .collect();
    for e in &entries {
        store.record_audit(e).await.unwrap();
    }
    assert_eq!(store.audit_entries().await.unwrap(), entries);
}

pub async fn a_token_made_is_the_viewer_it_stands_for(backend: Backend) {
    let store = &*backend.access;
    let la = AuthorityCode::parse("890").unwrap();
    let (token, secret) = tokens::create(store, Role::Partner, Some(la.clone()), "Blackpool")
        .await
        .unwrap();
    assert!(secret.starts_with("plg_") && secret.len() == 68);
    // Only the hash is stored.
    assert_eq!(token.hash, tokens::hash(&secret));
    let viewer = tokens::authenticate(store, &secret).await.unwrap();
    assert_eq!(viewer.role, Role::Partner);
    assert_eq!(viewer.authority, Some(la.clone()));
    assert_eq!(viewer.token_id, token.id);
    // Roles that act for an authority need one; admins act for every authority.
    assert!(matches!(
        tokens::create(store, Role::Planner, None, "x").await,
        Err(tokens::TokenError::AuthorityNeeded("planner"))
    ));
    assert!(matches!(
        tokens::create(store, Role::Admin, Some(la), "x").await,
        Err(tokens::TokenError::AdminWithAuthority)
    ));
    // A revoked token, or a made-up one, stands for nobody.
    assert!(store.revoke_token(&token.id).await.unwrap());
    assert!(matches!(
        tokens::authenticate(store, &secret).await,
        Err(tokens::AuthError::Revoked(v)) if v.token_id == token.id
    ));
    let made_up = format!("plg_{}", "0".repeat(64));
    assert!(matches!(
        tokens::authenticate(store, &made_up).await,
        Err(tokens::AuthError::Unknown)
    ));
}

/// A period's publication is written once: the first stored is what every node serves; the
/// latest of any period is found for the next period's comparison.
pub async fn a_publication_is_stored_once_per_period(backend: Backend) {
    let store = &*backend.access;
    let la = AuthorityCode::parse("888").unwrap();
    assert_eq!(store.publication(&la, None).await.unwrap(), None);
    let first = StoredPublication {
        authority: la.clone(),
        period: 20_426,
        position: 41,
        body: "{\"made\":\"first\"}".into(),
    };
    store.insert_publication(&first).await.unwrap();
    // Another node made the same period a moment later: the first stays.
    let second = StoredPublication {
        position: 42,
        body: "{\"made\":\"second\"}".into(),
        ..first.clone()
    };
    store.insert_publication(&second).await.unwrap();
    assert_eq!(
        store.publication(&la, Some(20_426)).await.unwrap(),
        Some(first.clone())
    );
    let next = StoredPublication {
        period: 20_427,
        position: 50,
        ..first.clone()
    };
    store.insert_publication(&next).await.unwrap();
    assert_eq!(store.publication(&la, None).await.unwrap(), Some(next));
    assert_eq!(store.publication(&la, Some(20_425)).await.unwrap(), None);
    let other = AuthorityCode::parse("890").unwrap();
    assert_eq!(store.publication(&other, None).await.unwrap(), None);
}

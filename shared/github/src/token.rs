//! Installation access tokens, cached per installation for the life of the process.
//!
//! A Lambda worker keeps one client across warm invocations, so a token (valid one hour) is
//! fetched once and reused until shortly before it expires. Each installation has its own async
//! lock held while refreshing: concurrent requests wait for the one refresh instead of each
//! minting a token.

use crate::error::GithubError;
use chrono::{DateTime, Utc};
use schemabot_domain::InstallationId;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// Tokens are refreshed this long before GitHub's `expires_at`, so none expires mid-request.
pub const TOKEN_REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// An installation access token and its expiry. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct InstallationToken {
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

impl InstallationToken {
    fn usable_at(&self, now: DateTime<Utc>) -> bool {
        now + TOKEN_REFRESH_MARGIN < self.expires_at
    }
}

impl fmt::Debug for InstallationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<InstallationToken>>>;

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<InstallationId, Slot>>,
}

impl TokenCache {
    fn slot(&self, installation: InstallationId) -> Slot {
        // The map lock is held only to find the slot, never across an await.
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(installation).or_default().clone()
    }

    /// The cached token if it is still usable, else the result of `refresh` (which is then
    /// cached). At most one refresh per installation runs at a time.
    pub async fn get_or_refresh<F, Fut>(
        &self,
        installation: InstallationId,
        refresh: F,
    ) -> Result<InstallationToken, GithubError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<InstallationToken, GithubError>>,
    {
        let slot = self.slot(installation);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.usable_at(Utc::now())) {
            return Ok(token.clone());
        }
        let fresh = refresh().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops the cached token after GitHub refused it (401) — unless another request already
    /// replaced it with a newer one.
    pub async fn invalidate(&self, installation: InstallationId, rejected_secret: &str) {
        let slot = self.slot(installation);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.secret == rejected_secret) {
            *cached = None;
        }
    }

    /// When the cached token expires, if there is one (for tests and diagnostics).
    pub async fn expiry(&self, installation: InstallationId) -> Option<DateTime<Utc>> {
        let slot = self.slot(installation);
        let cached = slot.lock().await;
        cached.as_ref().map(|t| t.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn token(secret: &str, valid_for: chrono::Duration) -> InstallationToken {
        InstallationToken {
            secret: secret.into(),
            expires_at: Utc::now() + valid_for,
        }
    }

    #[tokio::test]
    async fn reuses_a_token_until_the_margin_and_refreshes_after() {
        let cache = TokenCache::default();
        let id = InstallationId(1);
        let refreshes = AtomicU32::new(0);
        let refresh = || async {
            refreshes.fetch_add(1, Ordering::SeqCst);
            Ok(token("a", chrono::Duration::hours(1)))
        };
        cache.get_or_refresh(id, refresh).await.unwrap();
        cache.get_or_refresh(id, refresh).await.unwrap();
        assert_eq!(refreshes.load(Ordering::SeqCst), 1);

        // A token inside the refresh margin is not used.
        let short = TokenCache::default();
        for _ in 0..2 {
            short
                .get_or_refresh(id, || async {
                    Ok(token("b", chrono::Duration::minutes(4)))
                })
                .await
                .unwrap();
        }
        let counted = AtomicU32::new(0);
        short
            .get_or_refresh(id, || async {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(token("c", chrono::Duration::hours(1)))
            })
            .await
            .unwrap();
        assert_eq!(counted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let cache = Arc::new(TokenCache::default());
        let refreshes = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = cache.clone();
            let refreshes = refreshes.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_refresh(InstallationId(9), || async {
                        refreshes.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(token("shared", chrono::Duration::hours(1)))
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().secret, "shared");
        }
        assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn installations_are_cached_separately_and_invalidation_is_targeted() {
        let cache = TokenCache::default();
        let mk = |s: &'static str| move || async move { Ok(token(s, chrono::Duration::hours(1))) };
        cache
            .get_or_refresh(InstallationId(1), mk("one"))
            .await
            .unwrap();
        cache
            .get_or_refresh(InstallationId(2), mk("two"))
            .await
            .unwrap();

        // A stale rejection does not drop a newer token.
        cache.invalidate(InstallationId(1), "older").await;
        assert!(cache.expiry(InstallationId(1)).await.is_some());
        cache.invalidate(InstallationId(1), "one").await;
        assert!(cache.expiry(InstallationId(1)).await.is_none());
        assert!(cache.expiry(InstallationId(2)).await.is_some());
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", token("ghs_secret", chrono::Duration::hours(1)));
        assert!(!shown.contains("ghs_secret"), "{shown}");
    }
}

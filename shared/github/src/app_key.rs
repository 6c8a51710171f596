//! The App key in use: a fixed one, or one re-read from a [`KeySource`] so that a rotated key is
//! picked up by a warm process.
//!
//! The parsed key is kept and the source is asked again when the re-read interval has passed or
//! when GitHub refused a JWT it signed. A key that cannot be read or parsed never replaces one
//! that works: the old key stays in use (and is logged about, without key material) until GitHub
//! refuses it too. Each replacement bumps a generation number, so that of many requests refused
//! together only the first re-reads the source and the others retry with its result.

use crate::app_jwt::AppJwtSigner;
use crate::error::GithubError;
use crate::key_source::KeySource;
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A signed App JWT and the generation of the key that signed it.
pub(crate) struct SignedJwt {
    pub jwt: String,
    pub generation: u64,
}

pub(crate) struct AppKey {
    app_id: u64,
    source: Option<Arc<dyn KeySource>>,
    reread_every: Duration,
    // An async lock: a re-read awaits the source, and concurrent signers should wait for that
    // one read rather than start their own.
    current: Mutex<Current>,
}

struct Current {
    signer: Arc<AppJwtSigner>,
    generation: u64,
    /// When the source was last asked (whatever it answered).
    read_at: Instant,
}

/// What asking the source again led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reread {
    /// A different, valid key is now in use.
    Replaced,
    /// The source holds the key already in use.
    Unchanged,
    /// The source failed or held an unusable key; the key in use stays.
    Kept,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKey")
            .field("app_id", &self.app_id)
            .field("reread", &self.source.as_ref().map(|_| self.reread_every))
            .field("key", &"<redacted>")
            .finish()
    }
}

impl AppKey {
    /// A key that never changes (tests, local runs with the key in the environment).
    pub fn fixed(app_id: u64, signer: AppJwtSigner) -> Self {
        Self::from_source(app_id, signer, None, Duration::MAX)
    }

    /// `signer` holds the key just read from `source` (if any); the source is asked again after
    /// `reread_every` and after a refusal.
    pub fn from_source(
        app_id: u64,
        signer: AppJwtSigner,
        source: Option<Arc<dyn KeySource>>,
        reread_every: Duration,
    ) -> Self {
        AppKey {
            app_id,
            source,
            reread_every,
            current: Mutex::new(Current {
                signer: Arc::new(signer),
                generation: 0,
                read_at: Instant::now(),
            }),
        }
    }

    /// A JWT for `now`, signed with the current key (re-read first if the interval has passed).
    pub async fn jwt(&self, now: DateTime<Utc>) -> Result<SignedJwt, GithubError> {
        let (signer, generation) = {
            let mut current = self.current.lock().await;
            if let Some(source) = &self.source {
                if current.read_at.elapsed() >= self.reread_every {
                    self.reread(&mut current, source.as_ref()).await;
                }
            }
            (current.signer.clone(), current.generation)
        };
        Ok(SignedJwt {
            jwt: signer.token(now)?,
            generation,
        })
    }

    /// GitHub refused a JWT signed by key `refused`. Whether another key is in use now, so that
    /// the request is worth one more attempt.
    pub async fn reload_after_refusal(&self, refused: u64) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        let mut current = self.current.lock().await;
        if current.generation != refused {
            // Another refused request already replaced the key.
            return true;
        }
        match self.reread(&mut current, source.as_ref()).await {
            Reread::Replaced => true,
            Reread::Unchanged => {
                tracing::warn!(
                    app_id = self.app_id,
                    "GitHub refused the App JWT and the key source still holds the same key"
                );
                false
            }
            Reread::Kept => false,
        }
    }

    async fn reread(&self, current: &mut Current, source: &dyn KeySource) -> Reread {
        current.read_at = Instant::now();
        let pem = match source.read_key().await {
            Ok(pem) => pem,
            Err(error) => {
                tracing::warn!(
                    app_id = self.app_id,
                    %error,
                    "cannot re-read the GitHub App private key; keeping the one in use"
                );
                return Reread::Kept;
            }
        };
        let Ok(signer) = AppJwtSigner::from_pem(self.app_id, pem.expose()) else {
            // The parse error says no more than this, and never quotes the key.
            tracing::warn!(
                app_id = self.app_id,
                "the GitHub App private key read again is not a valid RSA PEM key; keeping the \
                 one in use"
            );
            return Reread::Kept;
        };
        if signer.public_key() == current.signer.public_key() {
            return Reread::Unchanged;
        }
        current.signer = Arc::new(signer);
        current.generation += 1;
        tracing::info!(
            app_id = self.app_id,
            generation = current.generation,
            "the GitHub App private key changed; signing with the new one"
        );
        Reread::Replaced
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PrivateKeyPem;
    use crate::key_source::{KeyRead, KeySourceError};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex as StdMutex;

    const FIRST: &str = include_str!("../../../tests/fixtures/github-app-test-key.pem");
    const ROTATED: &str = include_str!("../../../tests/fixtures/github-app-test-key-rotated.pem");
    const MALFORMED: &str = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----";

    /// Serves whatever the test put in it and counts reads.
    struct FakeSource {
        pem: StdMutex<Result<String, String>>,
        reads: AtomicU32,
    }

    impl FakeSource {
        fn holding(pem: &str) -> Arc<Self> {
            Arc::new(FakeSource {
                pem: StdMutex::new(Ok(pem.to_string())),
                reads: AtomicU32::new(0),
            })
        }

        fn put(&self, value: Result<&str, &str>) {
            *self.pem.lock().unwrap() = value.map(str::to_string).map_err(str::to_string);
        }

        fn reads(&self) -> u32 {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl KeySource for FakeSource {
        fn read_key(&self) -> KeyRead<'_> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let value = self.pem.lock().unwrap().clone();
            Box::pin(async move { value.map(PrivateKeyPem::new).map_err(KeySourceError) })
        }
    }

    fn signer(pem: &str) -> AppJwtSigner {
        AppJwtSigner::from_pem(7, pem).unwrap()
    }

    fn key(source: &Arc<FakeSource>, reread_every: Duration) -> AppKey {
        AppKey::from_source(7, signer(FIRST), Some(source.clone()), reread_every)
    }

    /// Whether `jwt` carries a valid signature by the key in `pem`.
    fn signed_by(jwt: &str, pem: &str) -> bool {
        let public = signer(pem).public_key().to_vec();
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(signed.as_bytes(), &signature)
            .is_ok()
    }

    async fn jwt(key: &AppKey) -> SignedJwt {
        key.jwt(Utc::now()).await.unwrap()
    }

    #[tokio::test]
    async fn the_source_is_read_again_only_after_the_interval() {
        let source = FakeSource::holding(FIRST);
        let key = key(&source, Duration::from_millis(200));
        for _ in 0..5 {
            assert!(signed_by(&jwt(&key).await.jwt, FIRST));
        }
        assert_eq!(source.reads(), 0, "the key read at start-up is reused");

        source.put(Ok(ROTATED));
        assert!(
            signed_by(&jwt(&key).await.jwt, FIRST),
            "not before the interval"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let after = jwt(&key).await;
        assert_eq!(source.reads(), 1);
        assert!(signed_by(&after.jwt, ROTATED));
        assert_eq!(after.generation, 1);
        jwt(&key).await;
        assert_eq!(
            source.reads(),
            1,
            "the interval starts again at the re-read"
        );
    }

    #[tokio::test]
    async fn a_malformed_or_unreadable_key_keeps_the_working_one() {
        let source = FakeSource::holding(FIRST);
        let key = key(&source, Duration::ZERO);
        source.put(Ok(MALFORMED));
        let signed = jwt(&key).await;
        assert!(signed_by(&signed.jwt, FIRST));
        assert_eq!(signed.generation, 0);
        assert!(
            !key.reload_after_refusal(0).await,
            "nothing better to retry with"
        );

        source.put(Err("the secret store is unreachable"));
        assert!(signed_by(&jwt(&key).await.jwt, FIRST));
        assert!(!key.reload_after_refusal(0).await);

        // Once the source holds a usable key again, it replaces the old one.
        source.put(Ok(ROTATED));
        assert!(signed_by(&jwt(&key).await.jwt, ROTATED));
        assert!(source.reads() >= 5);
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("MII") && shown.contains("redacted"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_refusal_re_reads_at_once_and_only_a_new_key_is_worth_a_retry() {
        let source = FakeSource::holding(FIRST);
        let key = key(&source, Duration::from_secs(3600));
        let refused = jwt(&key).await.generation;

        // The source still holds the refused key: no retry.
        assert!(!key.reload_after_refusal(refused).await);
        assert_eq!(source.reads(), 1);

        source.put(Ok(ROTATED));
        assert!(key.reload_after_refusal(refused).await);
        assert_eq!(source.reads(), 2);
        // A request refused with the same old key retries without another read.
        assert!(key.reload_after_refusal(refused).await);
        assert_eq!(source.reads(), 2);
        let signed = jwt(&key).await;
        assert!(signed_by(&signed.jwt, ROTATED));
        assert_eq!(signed.generation, 1);
    }

    #[tokio::test]
    async fn a_fixed_key_is_never_reloaded() {
        let key = AppKey::fixed(7, signer(FIRST));
        assert!(!key.reload_after_refusal(0).await);
        assert!(signed_by(&jwt(&key).await.jwt, FIRST));
    }
}

//! GitHub REST stand-in: an in-process axum server speaking the subset SchemaBot uses, keeping
//! comments and reactions in memory, recording every call, and failing on demand.
//!
//! Routes (GitHub's shapes, trimmed to what clients read plus what octocrab's models require):
//!
//! | route | behaviour |
//! |---|---|
//! | `POST /app/installations/{id}/access_tokens` | needs a Bearer App JWT: RS256 signed with the test App key (verified against its public half; [`GithubStandin::rotate_app_key`] swaps the accepted key), unexpired, `iss` = the app id; returns `{"token":"ghs_…","expires_at":…}` valid one hour by default |
//! | `POST /repos/{o}/{r}/issues/{n}/comments` | creates a comment authored by the App's bot user |
//! | `PATCH /repos/{o}/{r}/issues/comments/{id}` | replaces the body |
//! | `GET /repos/{o}/{r}/issues/{n}/comments` | `per_page` (≤ 100, default 30) / `page`, with a `Link` header |
//! | `POST /repos/{o}/{r}/issues/comments/{id}/reactions` | 201 when new, 200 when already there |
//! | `GET /repos/{o}/{r}/collaborators/{u}/permission` | per-user configured level; unknown users 404 |
//! | `GET /repos/{o}/{r}/pulls/{n}` | seeded head sha ([`GithubStandin::seed_pull_request`]), author, base branch and state; unknown PRs 404 |
//! | `GET /repos/{o}/{r}/pulls/{n}/reviews` | the reviews set with [`GithubStandin::set_reviews`], oldest first, paginated like comments |
//! | `GET /repos/{o}/{r}/pulls/{n}/files` | the seeded changed files, paginated like comments |
//! | `GET /repos/{o}/{r}/contents/{path}?ref={sha}` | seeded file contents per ref, base64; a directory of seeded files lists them; else 404 |
//!
//! Everything except the token route needs an installation token this stand-in issued and that
//! has not expired or been revoked (else 401 "Bad credentials").
//!
//! Layout: `state` (shared state, the handle, call recording) and `wire` (response shaping) at
//! the bottom; `app`, `faults` and one module per resource over them; `router` on top.

mod app;
mod collaborators;
mod comments;
mod contents;
mod faults;
mod pulls;
mod reactions;
mod reviews;
mod router;
mod state;
mod wire;

pub use app::{BOT_LOGIN, ROTATED_APP_PRIVATE_KEY_PEM, TEST_APP_ID, TEST_APP_PRIVATE_KEY_PEM};
pub use pulls::DEFAULT_PR_AUTHOR;
pub use state::{CallKind, Credential, GithubStandin, RecordedCall, StoredComment, StoredReaction};

use schemabot_github::{GithubAppConfig, PrivateKeyPem};
use state::{lock, Shared, StandinState};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

impl GithubStandin {
    /// Binds `127.0.0.1:0` and serves on the current Tokio runtime.
    pub async fn start() -> std::io::Result<GithubStandin> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(StandinState::new(format!("http://{addr}"))));
        let app = router::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "GitHub stand-in stopped with an error");
            }
        });
        Ok(GithubStandin {
            state,
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT`, to use as the API base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration for this stand-in with the test App id and key.
    pub fn app_config(&self) -> GithubAppConfig {
        GithubAppConfig::new(
            TEST_APP_ID,
            PrivateKeyPem::new(app::test_key_pem()),
            &self.base_url(),
        )
        .expect("the stand-in's URL and test key form a valid config")
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Delay before every response (to simulate GitHub's latency).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }
}

impl Drop for GithubStandin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

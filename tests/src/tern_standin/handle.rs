//! Starting the stand-in, and the handle's endpoint and shutdown.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use schemabot_tern::proto::tern_server::TernServer;
use schemabot_tern::{EndpointError, TernEndpoints};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use super::config::{StandinError, TernStandinConfig};
use super::mariadb::{bounded, describe_db_error};
use super::service::StandinService;
use super::state::{Shared, Sim, TernCallCounts};

/// Entry point: `TernStandin::start(config)`.
pub struct TernStandin;

impl TernStandin {
    /// Binds `127.0.0.1:0`, checks MariaDB is reachable and serves until the handle is shut
    /// down or dropped.
    pub async fn start(config: TernStandinConfig) -> Result<TernStandinHandle, StandinError> {
        let opts = Opts::from_url(&config.root_dsn).map_err(|_| StandinError::InvalidDsn)?;
        let constraints = PoolConstraints::new(0, 4).ok_or(StandinError::InvalidDsn)?;
        let pool = Pool::new(
            OptsBuilder::from_opts(opts)
                .prefer_socket(false)
                .pool_opts(PoolOpts::default().with_constraints(constraints)),
        );
        // Fail at start, not on the first RPC, when MariaDB is not there.
        bounded(async {
            let mut conn = pool.get_conn().await?;
            conn.ping().await
        })
        .await
        .map_err(StandinError::Database)?;

        let pace = config.pace;
        let mut server = Server::builder();
        if let Some(tls) = config.tls.clone() {
            server = server
                .tls_config(tls)
                .map_err(|e| StandinError::Tls(e.to_string()))?;
        }
        let tls = config.tls.is_some();
        let shared = Arc::new(Shared {
            config,
            pool,
            sim: Mutex::new(Sim {
                applies: Vec::new(),
                pace,
                delay: Duration::ZERO,
                fail_next: 0,
                lose_next: 0,
                refuse_next_cutover: None,
                fail_plan_diff: 0,
                fail_progress: 0,
                counts: TernCallCounts::default(),
                forced: HashMap::new(),
                by_idempotency_key: HashMap::new(),
            }),
            serial: tokio::sync::Mutex::new(()),
        });

        // No Nagle: with delayed ACKs on the client, every answer would otherwise wait ~40 ms.
        let incoming =
            TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?.with_nodelay(Some(true));
        let addr = incoming.local_addr()?;
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let service = TernServer::new(StandinService(Arc::clone(&shared)));
        let endpoint = if tls {
            // The test certificate names localhost (and 127.0.0.1).
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
        let server = tokio::spawn(
            server.serve_with_incoming_shutdown(service, incoming, async {
                // A dropped sender (handle dropped) also stops the server.
                let _ = shutdown_rx.await;
            }),
        );
        tracing::debug!(%addr, "tern stand-in listening");
        Ok(TernStandinHandle {
            shared,
            addr,
            endpoint,
            shutdown_tx: Some(shutdown_tx),
            server: Some(server),
        })
    }
}

/// The running stand-in and its controls. All controls take `&self` and are thread-safe.
pub struct TernStandinHandle {
    pub(super) shared: Arc<Shared>,
    pub(super) addr: SocketAddr,
    pub(super) endpoint: String,
    pub(super) shutdown_tx: Option<oneshot::Sender<()>>,
    pub(super) server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl fmt::Debug for TernStandinHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TernStandinHandle")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl TernStandinHandle {
    /// `http://127.0.0.1:<port>`, or `https://localhost:<port>` with TLS.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Endpoint configuration routing `(deployment, environment)` here.
    pub fn endpoints(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<TernEndpoints, EndpointError> {
        TernEndpoints::new().with_endpoint(deployment, environment, &self.endpoint)
    }

    /// `{"<deployment>":{"<environment>":"<endpoint>"}}`, the `SCHEMABOT_TERN_ENDPOINTS` format.
    pub fn endpoints_json(&self, deployment: &str, environment: &str) -> String {
        serde_json::json!({ deployment: { environment: self.endpoint } }).to_string()
    }

    /// Stops serving and waits for the server task; closes the MariaDB pool.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "tern stand-in server ended with an error")
                }
                Err(error) => tracing::warn!(%error, "tern stand-in server task failed"),
            }
        }
        if let Err(error) = self.shared.pool.clone().disconnect().await {
            tracing::debug!(error = %describe_db_error(&error), "closing the stand-in pool");
        }
    }
}

impl Drop for TernStandinHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

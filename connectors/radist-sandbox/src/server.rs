//! Running the sandbox on a socket: [`Sandbox::start`] binds, spawns the server and returns a
//! [`SandboxHandle`] (address, base URL, key, company; graceful shutdown, also on drop).

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::config::SandboxConfig;
use crate::conn::{ConnSwitch, FaultyListener};
use crate::error::SandboxError;

/// Entry point for running a sandbox.
#[derive(Debug)]
pub struct Sandbox;

/// A running sandbox. Dropping it stops the server (best effort); prefer [`SandboxHandle::shutdown`].
#[derive(Debug)]
pub struct SandboxHandle {
    addr: SocketAddr,
    api_key: String,
    company_id: i64,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Sandbox {
    /// Binds `config.listen`, starts serving on the current runtime and returns at once.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        config.seed.check()?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: config.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr()?;
        let api_key = config.seed.api_key.clone();
        let company_id = config.seed.companies.first().map_or(0, |c| c.id);
        let state = AppState::new(config);
        let app = crate::router(state.clone()).into_make_service_with_connect_info::<ConnSwitch>();
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(FaultyListener(listener), app).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { serve.await });
        tracing::info!(%addr, "radist sandbox listening");
        Ok(SandboxHandle {
            addr,
            api_key,
            company_id,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

impl SandboxHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// `http://127.0.0.1:PORT/_sandbox`.
    pub fn control_url(&self) -> String {
        format!("http://{}/_sandbox", self.addr)
    }

    /// The accepted `X-Api-Key`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The first seeded company.
    pub fn company_id(&self) -> i64 {
        self.company_id
    }

    /// A client for the control endpoints (`/_sandbox/...`).
    pub fn control(&self) -> crate::control::SandboxControl {
        crate::control::SandboxControl::new(self.control_url())
    }

    /// The shared state (for in-process inspection).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, finishes in-flight requests, stops webhook delivery.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        self.signal();
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(SandboxError::Io),
                Err(join) => Err(SandboxError::Io(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }

    fn signal(&mut self) {
        self.state.webhooks().close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.signal();
    }
}

//! Radist for the benchmark: the sandbox in this process on its own one-thread runtime (so its
//! work does not queue behind the generator), chats created through its control API, and the
//! replies it received (`/_sandbox/sent`) for end-to-end latency.

use std::time::Duration;

use anyhow::Context;
use radist_sandbox::control::Inbound;
use radist_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

use crate::service::RadistRemote;
use crate::traffic::Chat;

/// Sends the sandbox keeps (its sent log is how replies are matched).
const MAX_SENT: usize = 2_000_000;
/// Connections chats are spread over (the sandbox's seeded WABA, WhatsApp, Telegram, bot).
const CONNECTIONS: [i64; 4] = [70001, 70002, 70003, 70004];

/// The in-process sandbox.
pub struct Radist {
    rt: tokio::runtime::Runtime,
    handle: Option<SandboxHandle>,
}

/// One reply the sandbox received.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub chat_id: i64,
    /// Wall clock, µs since the epoch.
    pub at_us: i64,
}

impl Radist {
    pub fn start() -> anyhow::Result<Radist> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("radist-sandbox")
            .enable_all()
            .build()?;
        let mut config = SandboxConfig::default();
        config.limits.max_sent = MAX_SENT;
        config.webhook_retry.timeout = Duration::from_secs(10);
        let handle = rt
            .block_on(Sandbox::start(config))
            .context("cannot start the radist sandbox")?;
        Ok(Radist {
            rt,
            handle: Some(handle),
        })
    }

    fn handle(&self) -> anyhow::Result<&SandboxHandle> {
        self.handle.as_ref().context("the sandbox has stopped")
    }

    pub fn remote(&self) -> anyhow::Result<RadistRemote> {
        let h = self.handle()?;
        Ok(RadistRemote {
            base_url: h.base_url(),
            api_key: h.api_key().to_owned(),
            company_id: h.company_id(),
        })
    }

    /// `count` chats, each opened by an inbound message (so WABA windows are open).
    pub async fn create_chats(&self, count: usize) -> anyhow::Result<Vec<Chat>> {
        let control = self.handle()?.control();
        let mut chats = Vec::with_capacity(count);
        for i in 0..count {
            let connection_id = CONNECTIONS[i % CONNECTIONS.len()];
            let bot = connection_id == 70004;
            let phone = (!bot).then(|| format!("7955{:07}", i));
            let username = bot.then(|| format!("bench_user_{i}"));
            let inbound = Inbound {
                connection_id,
                phone: phone.clone(),
                username: username.clone(),
                text: Some("здравствуйте".to_owned()),
                ..Inbound::default()
            };
            let receipt = control
                .inbound(&inbound)
                .await
                .with_context(|| format!("cannot create chat {i} in the sandbox"))?;
            chats.push(Chat {
                connection_id,
                chat_id: receipt.chat_id,
                contact_id: receipt.contact_id,
                phone,
                username,
            });
        }
        Ok(chats)
    }

    /// Every send the sandbox accepted so far, oldest first.
    pub async fn replies(&self) -> anyhow::Result<Vec<Reply>> {
        let sent = self.handle()?.control().sent(None).await?;
        Ok(sent
            .iter()
            .filter_map(|s| {
                let at = chrono::DateTime::parse_from_rfc3339(&s.received_at).ok()?;
                Some(Reply {
                    chat_id: s.chat_id,
                    at_us: at.timestamp_micros(),
                })
            })
            .collect())
    }
}

impl Drop for Radist {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.rt.block_on(handle.shutdown());
        }
    }
}

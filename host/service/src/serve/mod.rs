//! `switchboard serve`: the long-lived service. Start-up wires the store, Radist (the embedded
//! sandbox by default), the runtime and the plugins; then webhook intake, the admin API and the
//! dispatcher run until SIGTERM or SIGINT.
//!
//! Shutdown: the first signal stops intake (webhooks get 503 and Radist redelivers), stops
//! claiming runs and gives runs in flight up to `--drain-ms` to finish; then the HTTP server
//! stops, the store is checkpointed and the process exits 0. A second signal exits at once
//! (runs left `running` are recovered at the next start).

pub mod admin;
pub mod dispatcher;
pub mod intake;
pub mod nodes;
pub mod plugins;
pub mod reload;
pub mod retention;
pub mod scheduler;
pub mod token;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use switchboard_manifest::Manifest;
use switchboard_store::Store;
use tokio::sync::watch;

use crate::cli::ServeArgs;
use crate::connections::ConnectionDirectory;
use crate::sandbox::RadistTarget;
use crate::wiring::{self, Wiring};
use crate::{output, radist_sync};
use admin::Admin;
use dispatcher::Dispatcher;
use intake::Intake;
use plugins::{PluginSet, SharedPlugins};
use token::Token;

/// Runs the service until a signal; exit 0 after a clean shutdown.
pub async fn serve(config_file: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config_file)?;
    let plan = wiring.plan();
    for note in &plan.skipped {
        output::note(note);
    }
    let mut problems = plan.problems.clone();
    problems.extend(wiring.build_missing(&plan));
    refuse_on(&problems)?;
    let store = wiring.open_store().await?;
    let runtime = wiring.runtime(&plan)?;
    wiring::agree_on_key(store.as_ref(), &runtime, args.replace_key).await?;
    let node = wiring.node_id();
    let recovered = store.recover(&node).await?;
    if recovered > 0 {
        output::note(&format!(
            "resumed {recovered} run(s) left unfinished by the previous process"
        ));
    }
    let leases = nodes::Leases::new(
        Arc::clone(&store),
        node.clone(),
        wiring.config.host.server.lease_s,
    );
    leases.begin().await?;
    let (stop_leases, leases_stopped) = watch::channel(false);
    let leasing = tokio::spawn(leases.clone().run(leases_stopped));
    let target = RadistTarget::connect(&wiring.config).await?;
    let radist = Some(target.client.clone());
    let (loaded, problems) = wiring.load_plugins(&runtime, &plan, |p| {
        wiring::services(&store, radist.clone(), p)
    });
    refuse_on(&problems)?;
    let manifests: Vec<Manifest> = loaded.iter().map(|p| p.manifest.clone()).collect();
    let plugins = SharedPlugins::new(PluginSet::new(loaded));
    let directory = Arc::new(ConnectionDirectory::new(radist));
    if let Err(err) = directory.refresh().await {
        tracing::warn!(error = %format!("{err:#}"), "cannot read radist's connections yet; source types are learned later");
    }
    let token = webhook_token(&wiring)?;
    let listen = args.listen.unwrap_or(wiring.config.host.server.listen);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen}; pass --listen ADDR or free the port")
        })?;
    let addr = listener.local_addr()?;
    let accepting = Arc::new(AtomicBool::new(true));
    let ready = Arc::new(AtomicBool::new(false));
    let intake = Arc::new(Intake {
        store: Arc::clone(&store),
        plugins: plugins.clone(),
        directory,
        token: token.clone(),
        max_body_bytes: usize::try_from(wiring.config.host.webhook.max_body_bytes)
            .unwrap_or(usize::MAX),
        accepting: Arc::clone(&accepting),
    });
    let admin_token = admin_token(&wiring)?;
    let reload_problems = Arc::new(std::sync::RwLock::new(Vec::new()));
    let admin = Arc::new(Admin {
        store: Arc::clone(&store),
        plugins: plugins.clone(),
        token: admin_token.clone(),
        ready: Arc::clone(&ready),
        reload_problems: Arc::clone(&reload_problems),
        intake: Arc::clone(&intake),
    });
    let metrics = crate::telemetry::install();
    let app = Router::new()
        .route("/hooks/radist/{token}", post(intake::hook))
        .with_state(intake)
        .merge(crate::ui::routes(Arc::clone(&admin)))
        .merge(admin::routes(admin))
        .route("/metrics", get(move || render(metrics.clone())));
    let (stop_server, server_stopped) = watch::channel(false);
    let server = tokio::spawn(async move {
        let mut stopped = server_stopped;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    if target.is_sandbox() {
        let refs: Vec<&Manifest> = manifests.iter().collect();
        let public = format!("http://{addr}");
        for line in radist_sync::sync(&target.client, &refs, &public, token.expose()).await? {
            tracing::info!("{line}");
        }
    }
    ready.store(true, Ordering::Release);
    announce(
        addr,
        &token,
        admin_token.is_some(),
        &target,
        plugins.current().len(),
    );
    let (stop_dispatch, dispatch_stopped) = watch::channel(false);
    let reloader = reload::Reloader {
        config_file: config_file.to_path_buf(),
        runtime,
        store: Arc::clone(&store),
        radist: Some(target.client.clone()),
        plugins: plugins.clone(),
        problems: reload_problems,
    };
    let manifests_dir = wiring.config.resolve(&wiring.config.host.plugins.manifests);
    let reloading = tokio::spawn(reloader.run(manifests_dir, dispatch_stopped.clone()));
    let plugins_for_schedules = plugins.clone();
    let dispatcher = Dispatcher {
        store: Arc::clone(&store),
        plugins,
        node,
        max_concurrent: wiring.config.host.runtime.max_concurrent_runs as usize,
    };
    let drain = Duration::from_millis(args.drain_ms);
    let dispatching = tokio::spawn(dispatcher.run(dispatch_stopped.clone(), drain));
    let retention_config = wiring.config.host.retention.clone();
    let cleaning = tokio::spawn(retention::run(
        Arc::clone(&store),
        retention_config,
        dispatch_stopped.clone(),
    ));
    let measuring = tokio::spawn(measure(Arc::clone(&store), dispatch_stopped.clone()));
    let scheduler = scheduler::Scheduler::new(Arc::clone(&store), Arc::new(scheduler::SystemClock));
    let scheduling = tokio::spawn(scheduler.run(plugins_for_schedules, dispatch_stopped));
    wait_for_signal().await;
    output::note("shutting down: intake stopped, letting runs in flight finish");
    accepting.store(false, Ordering::Release);
    let _ = stop_dispatch.send(true);
    let _ = dispatching.await;
    let _ = stop_leases.send(true);
    let _ = leasing.await;
    leases.leave().await;
    let _ = cleaning.await;
    let _ = measuring.await;
    let _ = scheduling.await;
    let _ = reloading.await;
    let _ = stop_server.send(true);
    let _ = server.await;
    if let Err(err) = store.checkpoint().await {
        tracing::warn!(error = %err, "cannot checkpoint the store at shutdown");
    }
    target.shutdown().await;
    output::note("stopped");
    Ok(ExitCode::SUCCESS)
}

/// `GET /metrics`: every series in the Prometheus text format.
async fn render(handle: Option<metrics_exporter_prometheus::PrometheusHandle>) -> String {
    handle.map(|h| h.render()).unwrap_or_default()
}

/// Updates the gauges read from the store (queue depth, database size) every few seconds.
async fn measure(store: Arc<dyn Store>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Ok(depth) = store.queue_depth().await {
            crate::telemetry::queue_measured(depth);
        }
        if let Ok(stats) = store.stats().await {
            crate::telemetry::database_measured(&stats);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn refuse_on(problems: &[String]) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "cannot start:\n{}\n{} problem(s); `switchboard check` lists them too",
        problems.join("\n"),
        problems.len()
    )
}

/// The enabled plugins loaded as `serve` loads them, for commands that do not serve
/// (`plugins`, `quarantine retry`); problems and skipped plugins are in the plan.
pub async fn load_offline(
    wiring: &Wiring,
    store: &Arc<dyn Store>,
) -> anyhow::Result<(Vec<wiring::LoadedPlugin>, wiring::PluginPlan)> {
    let mut plan = wiring.plan();
    let built = wiring.build_missing(&plan);
    plan.problems.extend(built);
    let runtime = wiring.runtime(&plan)?;
    let (loaded, problems) =
        wiring.load_plugins(&runtime, &plan, |p| wiring::services(store, None, p));
    plan.problems.extend(problems);
    Ok((loaded, plan))
}

/// An intake over the configured plugins without a server, for `quarantine retry`: it decodes,
/// matches and stores exactly as the webhook endpoint does.
pub async fn offline_intake(wiring: &Wiring, store: Arc<dyn Store>) -> anyhow::Result<Intake> {
    let (loaded, plan) = load_offline(wiring, &store).await?;
    refuse_on(&plan.problems)?;
    let target = RadistTarget::connect(&wiring.config).await?;
    let directory = Arc::new(ConnectionDirectory::new(Some(target.client.clone())));
    if let Err(err) = directory.refresh().await {
        tracing::warn!(error = %format!("{err:#}"), "cannot read radist's connections; source types stay unknown");
    }
    target.shutdown().await;
    Ok(Intake {
        store,
        plugins: SharedPlugins::new(PluginSet::new(loaded)),
        directory,
        token: webhook_token(wiring)?,
        max_body_bytes: usize::try_from(wiring.config.host.webhook.max_body_bytes)
            .unwrap_or(usize::MAX),
        accepting: Arc::new(AtomicBool::new(true)),
    })
}

/// `[webhook] token` from the environment, else the token kept in the data directory.
pub fn webhook_token(wiring: &Wiring) -> anyhow::Result<Token> {
    if let Some(source) = &wiring.config.host.webhook.token {
        return crate::config::host_secret(source, "webhook.token").map(Token::new);
    }
    let dir = wiring.data_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Token::load_or_create(&dir.join("webhook.token"))
}

fn admin_token(wiring: &Wiring) -> anyhow::Result<Option<Token>> {
    let Some(source) = &wiring.config.host.server.admin_token else {
        return Ok(None);
    };
    crate::config::host_secret(source, "server.admin_token").map(|t| Some(Token::new(t)))
}

/// The start-up lines: where webhooks go, the admin API, and in sandbox mode how to try it.
fn announce(addr: SocketAddr, token: &Token, admin_token: bool, target: &RadistTarget, n: usize) {
    let base = format!("http://{addr}");
    output::line(&format!(
        "switchboard listening on {base} ({n} plugin(s) loaded)"
    ));
    output::line(&format!(
        "webhook URL: {base}/hooks/radist/{}",
        token.expose()
    ));
    let auth = if admin_token {
        "bearer token required"
    } else {
        "loopback only, no token"
    };
    let radist = if target.is_sandbox() {
        "embedded sandbox"
    } else {
        "remote"
    };
    output::line(&format!(
        "admin API: {base}/api/ ({auth}; radist: {radist})"
    ));
    output::line(&format!(
        "dashboard: {base}/ui/ (open it in a browser; {auth})"
    ));
    if let Some(sandbox) = target.sandbox_urls() {
        output::line(&format!(
            "radist sandbox: {} (api key {})",
            sandbox.base_url, sandbox.api_key
        ));
        output::line(&format!(
            "try it: curl -s {}/inbound -H 'content-type: application/json' -d '{{\"connection_id\":70001,\"phone\":\"79000000001\",\"text\":\"price?\"}}'",
            sandbox.control_url
        ));
    }
}

/// The first SIGTERM or SIGINT; a second one exits the process at once.
async fn wait_for_signal() {
    signal().await;
    tokio::spawn(async {
        signal().await;
        output::note("second signal: exiting now");
        std::process::exit(130);
    });
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

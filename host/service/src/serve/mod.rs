//! `switchboard serve`: the long-lived service. Start-up wires the store, Radist (the embedded
//! sandbox by default), the runtime and the plugins; then webhook intake, the admin API and the
//! dispatcher run until SIGTERM or SIGINT.
//!
//! Shutdown: the first signal stops intake (webhooks get 503 and Radist redelivers), stops
//! claiming runs and gives runs in flight up to `--drain-ms` to finish; then the HTTP server
//! stops, the store is checkpointed and the process exits 0. A second signal exits at once
//! (runs left `running` are recovered at the next start).

pub mod admin;
pub mod backlog;
pub mod dispatcher;
pub mod front_door;
pub mod guard;
pub mod handoff;
pub mod hook;
pub mod intake;
pub mod nodes;
pub mod plugins;
pub mod reload;
pub mod retention;
pub mod scheduler;
pub mod slot_owner;
pub mod token;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use switchboard_manifest::Manifest;
use switchboard_store::{Store, role};
use tokio::sync::watch;

use crate::assembly::{self, refuse_on};
use crate::cli::ServeArgs;
use crate::radist_target::RadistTarget;
use crate::wiring::{self, Wiring};
use crate::{output, radist_sync};
use admin::Admin;
use dispatcher::Dispatcher;
use plugins::{PluginSet, SharedPlugins};
use token::Token;

/// Runs the service until a signal; exit 0 after a clean shutdown.
pub async fn serve(config_file: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let wiring = Wiring::load(config_file)?;
    let addresses = Addresses::choose(&wiring, &args)?;
    let open_files = front_door::raise_open_file_limit();
    let plan = wiring.prepare();
    for skipped in &plan.skipped {
        output::note(&skipped.note);
    }
    refuse_on(&plan.problems)?;
    let store = wiring.open_store_to_serve().await?;
    let target = RadistTarget::connect(&wiring.config).await?;
    let radist = Some(target.client.clone());
    let system = wiring.assemble(plan, |p| assembly::services(&store, radist.clone(), p))?;
    refuse_on(&system.plan.problems)?;
    if !target.is_sandbox() {
        crate::key_permissions::report(&target.client, &system.plugins).await;
    }
    wiring::agree_on_key(store.as_ref(), &system.runtime, args.replace_key).await?;
    let node = wiring.node_id();
    let leases = nodes::Leases::new(
        store.clone(),
        node.clone(),
        wiring.config.host.server.lease_s,
    );
    let recovered = leases.begin().await?;
    if recovered > 0 {
        output::note(&format!(
            "resumed {recovered} run(s) left unfinished by the previous process"
        ));
    }
    let (stop_leases, leases_stopped) = watch::channel(false);
    let leasing = tokio::spawn(leases.clone().run(leases_stopped));
    let runtime = system.runtime;
    let manifests: Vec<Manifest> = system.plugins.iter().map(|p| p.manifest.clone()).collect();
    let plugins = SharedPlugins::new(PluginSet::new(system.plugins));
    let directory = assembly::directory(&runtime, radist).await;
    let listeners = addresses.bind().await?;
    let accepting = Arc::new(AtomicBool::new(true));
    let ready = Arc::new(AtomicBool::new(false));
    let intake = Arc::new(assembly::intake(
        &wiring,
        Arc::clone(&store),
        plugins.clone(),
        directory,
        Arc::clone(&accepting),
    )?);
    let token = intake.token.clone();
    let backlog = Arc::clone(&intake.backlog);
    let handoff = Arc::clone(&intake.handoff);
    let reload_problems = Arc::new(std::sync::RwLock::new(Vec::new()));
    let admin = Arc::new(Admin {
        store: store.clone(),
        plugins: plugins.clone(),
        ready: Arc::clone(&ready),
        reload_problems: Arc::clone(&reload_problems),
        intake: Arc::clone(&intake),
        metrics: crate::telemetry::install(),
        probe: tokio::sync::Mutex::new(None),
    });
    let hooks = Router::new()
        .route("/hooks/radist/{token}", post(hook::hook))
        .with_state(intake)
        .merge(admin::health_routes(Arc::clone(&admin)));
    let gate = guard::Gate {
        token: addresses.admin_token.clone(),
    };
    let dashboard = crate::ui::routes(
        Arc::clone(&admin),
        addresses.admin_token.clone(),
        wiring.config.host.retention.clone(),
    );
    let admin_surface = guard::protect(admin::routes(admin).merge(dashboard), gate);
    let limits = addresses.limits(&wiring, open_files);
    let (stop_server, server_stopped) = watch::channel(false);
    let (addr, admin_addr, server) =
        listeners.serve(hooks, admin_surface, limits, server_stopped)?;
    if target.is_sandbox() {
        let refs: Vec<&Manifest> = manifests.iter().collect();
        let public = format!("http://{addr}");
        for line in radist_sync::sync(&target.client, &refs, &public, token.expose()).await? {
            tracing::info!("{line}");
        }
    }
    ready.store(true, Ordering::Release);
    let signals = Signals::listen();
    announce(
        &Announcement {
            addr,
            admin_addr,
            admin_token: addresses.admin_token.is_some(),
            plugins: plugins.current().len(),
        },
        &token,
        &target,
    );
    let work = Work::start(Started {
        config_file,
        wiring: &wiring,
        runtime,
        store: Arc::clone(&store),
        radist: target.client.clone(),
        plugins,
        reload_problems,
        backlog,
        handoff,
        node,
        drain: Duration::from_millis(args.drain_ms),
    });
    let lost = tokio::select! {
        () = wait_for_signal(signals) => false,
        () = leases.lost() => true,
    };
    output::note("shutting down: intake stopped, letting runs in flight finish");
    accepting.store(false, Ordering::Release);
    let _ = work.stop.send(true);
    let _ = work.dispatching.await;
    let _ = stop_leases.send(true);
    let _ = leasing.await;
    leases.leave().await;
    for task in work.others {
        let _ = task.await;
    }
    let _ = stop_server.send(true);
    for server in server {
        let _ = server.await;
    }
    if let Err(err) = store.checkpoint().await {
        tracing::warn!(error = %err, "cannot checkpoint the store at shutdown");
    }
    target.shutdown().await;
    output::note("stopped");
    Ok(if lost {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What the background work of a started service needs.
struct Started<'a> {
    config_file: &'a Path,
    wiring: &'a Wiring,
    runtime: switchboard_runtime::Runtime,
    store: Arc<dyn Store>,
    radist: radist_connector::RadistClient,
    plugins: SharedPlugins,
    reload_problems: Arc<std::sync::RwLock<Vec<String>>>,
    backlog: Arc<backlog::Backlog>,
    /// Intake's decoded events, for the dispatcher.
    handoff: Arc<handoff::Handoff>,
    node: String,
    drain: Duration,
}

/// The background work of a running service: the dispatcher (stopped first, it drains the runs
/// in flight), then retention, the queue sampler, the store gauges, the scheduler and live reload.
struct Work {
    stop: watch::Sender<bool>,
    dispatching: tokio::task::JoinHandle<()>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

impl Work {
    fn start(s: Started<'_>) -> Work {
        let (stop, stopped) = watch::channel(false);
        let config = &s.wiring.config;
        let reloader = reload::Reloader {
            config_file: s.config_file.to_path_buf(),
            runtime: s.runtime,
            store: s.store.clone(),
            radist: Some(s.radist),
            plugins: s.plugins.clone(),
            problems: s.reload_problems,
        };
        let manifests_dir = config.resolve(&config.host.plugins.manifests);
        let scheduler =
            scheduler::Scheduler::new(s.store.clone(), Arc::new(scheduler::SystemClock))
                .on_node(s.node.clone(), s.store.clone());
        let dispatcher = Dispatcher {
            store: s.store.clone(),
            plugins: s.plugins.clone(),
            handoff: s.handoff,
            node: s.node,
            max_concurrent: config.host.runtime.max_concurrent_runs as usize,
        };
        let retention = config.host.retention.clone();
        Work {
            dispatching: tokio::spawn(dispatcher.run(stopped.clone(), s.drain)),
            others: vec![
                tokio::spawn(retention::run(s.store.clone(), retention, stopped.clone())),
                tokio::spawn(Arc::clone(&s.backlog).run(s.store.clone(), stopped.clone())),
                tokio::spawn(measure(s.store, stopped.clone())),
                tokio::spawn(scheduler.run(s.plugins, stopped.clone())),
                tokio::spawn(reloader.run(manifests_dir, stopped)),
            ],
            stop,
        }
    }
}

/// Where the service listens, chosen from the flags and the host config, and checked: the admin
/// surface without a token only on loopback, whichever flag or key chose the address.
struct Addresses {
    listen: SocketAddr,
    admin_listen: Option<SocketAddr>,
    admin_token: Option<Token>,
}

/// The bound listeners: webhooks (and the admin surface unless it has its own).
struct Listeners {
    main: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
}

impl Addresses {
    fn choose(wiring: &Wiring, args: &ServeArgs) -> anyhow::Result<Addresses> {
        let server = &wiring.config.host.server;
        let listen = args.listen.unwrap_or(server.listen);
        let admin_listen = args.admin_listen.or(server.admin_listen);
        let admin_token = wiring.admin_token()?;
        if let Some(problem) =
            switchboard_manifest::admin_exposure(listen, admin_listen, admin_token.is_some())
        {
            anyhow::bail!("server.admin_token: {problem}");
        }
        Ok(Addresses {
            listen,
            admin_listen,
            admin_token,
        })
    }

    async fn bind(&self) -> anyhow::Result<Listeners> {
        let main = front_door::bind(self.listen, "--listen or `server.listen`").await?;
        let admin = match self.admin_listen {
            Some(addr) => {
                Some(front_door::bind(addr, "--admin-listen or `server.admin_listen`").await?)
            }
            None => None,
        };
        Ok(Listeners { main, admin })
    }

    fn limits(&self, wiring: &Wiring, open_files: u64) -> front_door::Limits {
        let server = &wiring.config.host.server;
        let listeners = 1 + u64::from(self.admin_listen.is_some());
        front_door::Limits {
            max_connections: front_door::connection_cap(
                server.max_connections,
                open_files,
                listeners,
            ),
            header_timeout: Duration::from_millis(u64::from(server.header_timeout_ms)),
            request_timeout: Duration::from_millis(u64::from(server.request_timeout_ms)),
        }
    }
}

type Servers = Vec<tokio::task::JoinHandle<()>>;

impl Listeners {
    /// Starts serving: the admin surface on its own listener when there is one, else beside the
    /// webhooks. Returns the webhook address, the admin address and the server tasks.
    fn serve(
        self,
        hooks: Router,
        admin_surface: Router,
        limits: front_door::Limits,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(SocketAddr, SocketAddr, Servers)> {
        let addr = self.main.local_addr()?;
        let mut servers = Vec::new();
        let (main_app, admin_addr) = match self.admin {
            Some(admin) => {
                let admin_addr = admin.local_addr()?;
                servers.push(tokio::spawn(front_door::serve(
                    admin,
                    admin_surface,
                    limits,
                    stop.clone(),
                )));
                (hooks, admin_addr)
            }
            None => (hooks.merge(admin_surface), addr),
        };
        servers.push(tokio::spawn(front_door::serve(
            self.main, main_app, limits, stop,
        )));
        Ok((addr, admin_addr, servers))
    }
}

/// Updates the database size gauges every few seconds (the queue's are the backlog sampler's).
async fn measure(store: Arc<dyn role::Operations>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Ok(stats) = store.stats().await {
            crate::telemetry::database_measured(&stats);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// What the start-up lines report.
struct Announcement {
    addr: SocketAddr,
    admin_addr: SocketAddr,
    admin_token: bool,
    plugins: usize,
}

/// The start-up lines: where webhooks go, the admin API, and in sandbox mode how to try it.
fn announce(what: &Announcement, token: &Token, target: &RadistTarget) {
    let base = format!("http://{}", what.addr);
    let admin = format!("http://{}", what.admin_addr);
    output::line(&format!(
        "switchboard listening on {base} ({} plugin(s) loaded)",
        what.plugins
    ));
    output::line(&format!(
        "webhook URL: {base}/hooks/radist/{}",
        token.expose()
    ));
    let auth = if what.admin_token {
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
        "admin API: {admin}/api/ ({auth}; radist: {radist})"
    ));
    output::line(&format!(
        "dashboard: {admin}/ui/ (open it in a browser; {auth})"
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

/// SIGTERM and SIGINT, registered before the service announces itself: a signal sent the moment
/// it says it is ready shuts it down cleanly instead of killing it.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let term = signal(SignalKind::terminate()).ok();
            Signals {
                streams: term.zip(signal(SignalKind::interrupt()).ok()),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next SIGTERM or SIGINT (Ctrl-C where they cannot be listened to).
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            if let Some((term, int)) = &mut self.streams {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The first SIGTERM or SIGINT; a second one exits the process at once.
async fn wait_for_signal(mut signals: Signals) {
    signals.next().await;
    tokio::spawn(async move {
        signals.next().await;
        output::note("second signal: exiting now");
        std::process::exit(130);
    });
}

//! Live reload: on SIGHUP or a change under the manifests directory (a file watcher, debounced),
//! the host config and manifests are read again, changed plugins are recompiled (unchanged ones
//! load from the compiled cache) and the plugin set is swapped atomically. Runs in flight finish
//! on the version they started with (each holds its plugin), and every run records the digest of
//! the component it ran. A manifest or component that fails keeps its previous version serving;
//! its problems are logged and shown in `/api/plugins`. A plugin whose manifest file is gone is
//! unloaded.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use radist_connector::RadistClient;
use switchboard_runtime::Runtime;
use switchboard_store::Store;
use tokio::sync::{mpsc, watch};

use crate::assembly;
use crate::load_problem::{LoadProblem, texts};
use crate::serve::plugins::{PluginSet, SharedPlugins};
use crate::wiring::{LoadedPlugin, Wiring};

/// Changes closer together than this are one reload.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Everything a reload needs, and what the last one found wrong.
pub struct Reloader {
    pub config_file: PathBuf,
    pub runtime: Runtime,
    pub store: Arc<dyn Store>,
    pub radist: Option<RadistClient>,
    pub plugins: SharedPlugins,
    /// Problems of the last reload (empty when it was clean).
    pub problems: Arc<RwLock<Vec<String>>>,
}

impl Reloader {
    /// Reads everything again and swaps in what loads; keeps the problems found.
    pub fn reload(&self) {
        let wiring = match Wiring::load(&self.config_file) {
            Ok(wiring) => wiring,
            Err(err) => return self.keep_all(&[LoadProblem::general(format!("{err:#}"))]),
        };
        let plan = wiring.plan();
        let mut problems = plan.problems.clone();
        let (loaded, mut failed) = wiring.load_plugins(&self.runtime, &plan, |p| {
            assembly::services(&self.store, self.radist.clone(), p)
        });
        problems.append(&mut failed);
        let set = self.merge(loaded, &problems);
        let names: Vec<String> = set.iter().map(|p| describe(p)).collect();
        self.plugins.swap(set);
        tracing::info!(plugins = %names.join(", "), problems = problems.len(), "plugins reloaded");
        for problem in &problems {
            tracing::warn!(problem = %problem, "reload problem; the previous version keeps serving");
        }
        self.keep_all(&problems);
    }

    fn keep_all(&self, problems: &[LoadProblem]) {
        *self.problems.write().unwrap_or_else(|p| p.into_inner()) = texts(problems);
    }

    /// The new set: every plugin that loaded, plus the previous version of each plugin whose
    /// manifest still exists but failed now.
    fn merge(&self, loaded: Vec<LoadedPlugin>, problems: &[LoadProblem]) -> PluginSet {
        let fresh: BTreeSet<String> = loaded
            .iter()
            .map(|p| p.manifest.plugin.name.as_str().to_owned())
            .collect();
        let mut all: Vec<Arc<LoadedPlugin>> = loaded.into_iter().map(Arc::new).collect();
        let current = self.plugins.current();
        for old in current.iter() {
            let name = old.manifest.plugin.name.as_str();
            if keeps_previous(name, &old.file, &fresh, problems) {
                all.push(Arc::clone(old));
            }
        }
        PluginSet::from_shared(all)
    }

    /// Reloads on SIGHUP and on changes under `manifests`, until shutdown.
    pub async fn run(self, manifests: PathBuf, mut shutdown: watch::Receiver<bool>) {
        let (tx, mut rx) = mpsc::channel::<()>(16);
        let _watcher = watch_dir(&manifests, tx.clone());
        spawn_hangup(tx);
        loop {
            tokio::select! {
                got = rx.recv() => {
                    if got.is_none() { return; }
                    tokio::time::sleep(DEBOUNCE).await;
                    while rx.try_recv().is_ok() {}
                    tokio::task::block_in_place(|| self.reload());
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Whether the previous version of plugin `name` (manifest `file`) keeps serving: it did not
/// load now, a problem is about its manifest, and the manifest still exists. Decided on the
/// problems' fields, never their text.
fn keeps_previous(
    name: &str,
    file: &str,
    fresh: &BTreeSet<String>,
    problems: &[LoadProblem],
) -> bool {
    let failed = problems.iter().any(|p| p.is_about(file));
    !fresh.contains(name) && failed && Path::new(file).exists()
}

fn describe(p: &LoadedPlugin) -> String {
    format!(
        "{}@{}",
        p.manifest.plugin.name.as_str(),
        &p.digest[..p.digest.len().min(12)]
    )
}

/// A file watcher on `dir` that sends a tick per change (kept alive by the returned value).
fn watch_dir(dir: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let handler = move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.try_send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch the manifests directory; reload with SIGHUP");
            return None;
        }
    };
    if let Err(err) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
        tracing::warn!(error = %err, dir = %dir.display(), "cannot watch the manifests directory; reload with SIGHUP");
        return None;
    }
    Some(watcher)
}

fn spawn_hangup(tx: mpsc::Sender<()>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
    #[cfg(not(unix))]
    drop(tx);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problems about `file` and about others, each worded as `words`.
    fn problems(file: &str, words: &str) -> Vec<LoadProblem> {
        vec![
            LoadProblem::general(words),
            LoadProblem::in_file("manifests/other.toml", format!("{file}: {words}")),
            LoadProblem {
                file: Some(file.to_owned()),
                plugin: Some("echo".to_owned()),
                text: words.to_owned(),
            },
        ]
    }

    #[test]
    fn rewording_a_problem_changes_no_reload_decision() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("echo.toml");
        std::fs::write(&file, "").expect("write manifest");
        let file = file.display().to_string();
        let none = BTreeSet::new();
        let fresh: BTreeSet<String> = ["echo".to_owned()].into();
        for words in ["", "manifests/other.toml: bad", "skipped echo (x)", &file] {
            let all = problems(&file, words);
            assert!(keeps_previous("echo", &file, &none, &all), "{words:?}");
            assert!(!keeps_previous("echo", &file, &fresh, &all), "{words:?}");
            let others: Vec<LoadProblem> = all[..2].to_vec();
            assert!(!keeps_previous("echo", &file, &none, &others), "{words:?}");
        }
    }
}

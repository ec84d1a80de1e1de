//! [`SharedPlugins`]: the set of loaded plugins that intake matches against and the dispatcher
//! runs, swapped whole (live reload swaps in a new set; runs in flight keep the version they
//! started with, since each holds its own `Arc`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::wiring::LoadedPlugin;

/// The current plugin set, cheap to read from any task.
#[derive(Clone, Default)]
pub struct SharedPlugins {
    current: Arc<RwLock<Arc<PluginSet>>>,
}

/// Loaded plugins by name.
#[derive(Default)]
pub struct PluginSet {
    by_name: BTreeMap<String, Arc<LoadedPlugin>>,
}

impl SharedPlugins {
    pub fn new(set: PluginSet) -> Self {
        SharedPlugins {
            current: Arc::new(RwLock::new(Arc::new(set))),
        }
    }

    /// Replaces the whole set; runs in flight keep the plugins they hold.
    pub fn swap(&self, set: PluginSet) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
    }

    /// The set as it is now (never holds the lock beyond this call).
    pub fn current(&self) -> Arc<PluginSet> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl PluginSet {
    pub fn new(plugins: Vec<LoadedPlugin>) -> Self {
        let by_name = plugins
            .into_iter()
            .map(|p| (p.manifest.plugin.name.as_str().to_owned(), Arc::new(p)))
            .collect();
        PluginSet { by_name }
    }

    /// A set of plugins some of which are already shared (kept across a reload).
    pub fn from_shared(plugins: Vec<Arc<LoadedPlugin>>) -> Self {
        let by_name = plugins
            .into_iter()
            .map(|p| (p.manifest.plugin.name.as_str().to_owned(), p))
            .collect();
        PluginSet { by_name }
    }

    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.by_name.get(name).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.by_name.values()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }
}

//! Linking a component against the host API: at load when the compiled-component cache does not
//! vouch for it yet (compile or deserialize, list its imports, link), and at the first run of a
//! plugin loaded lazily (deserialize from the cache, or recompile from the wasm the cache kept
//! when the compiled file is gone or unusable by then).

use wasmtime::component::Component;

use crate::bindings::PluginPre;
use crate::code::Code;
use crate::runtime_inner::RuntimeInner;
use crate::state::HostState;
use crate::{RuntimeError, imports};

/// A component compiled (or loaded from the disk cache) and linked, with its imports.
pub(crate) struct Linked {
    pub(crate) pre: PluginPre<HostState>,
    pub(crate) imports: Vec<String>,
}

/// Compiles (or loads from the disk cache) and links one component now.
pub(crate) fn link_now(
    inner: &RuntimeInner,
    plugin: &str,
    digest: &str,
    wasm: &[u8],
) -> Result<Linked, RuntimeError> {
    let component = inner.cache.load(&inner.engine, plugin, digest, wasm)?;
    let imports = imports::import_names(&inner.engine, &component);
    let pre = instantiate_pre(inner, plugin, &component)?;
    Ok(Linked { pre, imports })
}

/// Links lazily loaded `code` at its first run. The error, for the run's status, says what
/// was lost and what to do.
pub(crate) fn link_first_run(
    inner: &RuntimeInner,
    plugin: &str,
    code: &Code,
) -> Result<PluginPre<HostState>, String> {
    let component = match inner.cache.cached(&inner.engine, &code.digest) {
        Some(component) => component,
        None => recompile(inner, plugin, &code.digest)?,
    };
    if imports::import_names(&inner.engine, &component) != code.imports {
        inner.cache.forget_imports(&code.digest);
        return Err(format!(
            "plugin `{plugin}`: its cached code imports other interfaces than were checked at load; reload the plugin"
        ));
    }
    instantiate_pre(inner, plugin, &component).map_err(|err| {
        // It linked when its list was kept, not now (the host changed): the next load goes
        // the eager way and refuses it there, with this error.
        inner.cache.forget_imports(&code.digest);
        err.to_string()
    })
}

/// The component compiled afresh from the wasm the cache kept beside it.
fn recompile(inner: &RuntimeInner, plugin: &str, digest: &str) -> Result<Component, String> {
    let Some(wasm) = inner.cache.kept_wasm(digest) else {
        return Err(format!(
            "plugin `{plugin}`: its compiled code and its wasm left the compiled-component cache after it was loaded; reload the plugin (restart `serve`) to compile it again"
        ));
    };
    tracing::warn!(
        plugin,
        "the cached compiled component is gone or unusable; recompiling it for its first run"
    );
    inner
        .cache
        .load(&inner.engine, plugin, digest, &wasm)
        .map_err(|e| e.to_string())
}

fn instantiate_pre(
    inner: &RuntimeInner,
    plugin: &str,
    component: &Component,
) -> Result<PluginPre<HostState>, RuntimeError> {
    let link = |e: wasmtime::Error| RuntimeError::Link {
        plugin: plugin.to_owned(),
        message: format!("{e:#}"),
    };
    let pre = inner.linker.instantiate_pre(component).map_err(link)?;
    PluginPre::new(pre).map_err(link)
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;

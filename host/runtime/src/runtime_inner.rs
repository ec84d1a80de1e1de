//! [`RuntimeInner`]: what a [`Runtime`](crate::Runtime) and every plugin it loaded share (the
//! engine, linker, caches, admission, guest threads and the epoch ticker). Each plugin holds it,
//! so the ticker keeps running while any plugin can still run, even after the `Runtime` handle
//! is dropped. Its own file so that `runtime.rs` (which makes plugins) and `plugin.rs` (which
//! runs them) both use it without importing each other.

use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::RuntimeConfig;
use crate::admission::Admission;
use crate::cache::ComponentCache;
use crate::code::CodeShelf;
use crate::digest::DigestKey;
use crate::engine::EpochTicker;
use crate::executor::GuestExecutor;
use crate::state::{HostState, SharedCaches};

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) config: RuntimeConfig,
    /// Radist answers shared by every run of every plugin.
    pub(crate) caches: SharedCaches,
    /// At most `max_concurrent_runs` runs execute at once (the pool holds exactly that many),
    /// no plugin more than half of them while another plugin's run waits.
    pub(crate) admission: Admission,
    /// The threads runs execute on, apart from the caller's.
    pub(crate) guests: GuestExecutor,
    pub(crate) pooled: bool,
    pub(crate) linker: Linker<HostState>,
    pub(crate) cache: ComponentCache,
    /// Compiled code shared by the plugins built from the same component.
    pub(crate) code: CodeShelf,
    /// Keys the fingerprints and digests recorded in history (from the installation key).
    pub(crate) digest: DigestKey,
    pub(crate) _ticker: EpochTicker,
}

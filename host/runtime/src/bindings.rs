//! Host bindings generated from `host/wit/plugin.wit` (package `switchboard:plugin@0.2.1`; guests built
//! against 0.2.0 link to the same functions, wasmtime matching semver-compatible imports).
//!
//! Every import is an async, trappable host function: async so a host call can await HTTP and a
//! wall-clock timeout can drop a guest blocked in one; trappable so host bugs and exhausted limits
//! become traps instead of guest-visible strings.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

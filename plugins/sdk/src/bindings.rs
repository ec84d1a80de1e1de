//! The raw bindings that `wit-bindgen` generates from `host/wit/plugin.wit`.
//!
//! Plugin authors rarely need this module: the crate root re-exports every type and the
//! capability modules wrap the imports. Only the interfaces a plugin calls end up as imports of
//! its component, so the host's load-time grant check sees exactly what the plugin uses.

wit_bindgen::generate!({
    path: "../../host/wit",
    world: "plugin",
    pub_export_macro: true,
    export_macro_name: "__export_plugin",
    default_bindings_module: "switchboard_plugin::bindings",
    runtime_path: "switchboard_plugin::bindings::__rt",
});

#[doc(hidden)]
pub use wit_bindgen::rt as __rt;

//! What `switchboard new plugin` writes for each language: the embedded templates, the
//! vendored WIT and SDKs (all at the exact version this binary was built with).

use switchboard_plugin_build::{COMPONENTIZE_JS_VERSION, Language};

/// One file to write: path inside the plugin directory, contents (placeholders `{name}` ...).
pub type Template = (&'static str, &'static str);

const WIT: &str = include_str!("../../../wit/plugin.wit");

/// The vendored Rust SDK (`plugins/sdk`), its bindings pointed at the vendored WIT.
const RUST_SDK: [Template; 11] = [
    (
        "sdk/src/bindings.rs",
        include_str!("../../../../plugins/sdk/src/bindings.rs"),
    ),
    (
        "sdk/src/capabilities.rs",
        include_str!("../../../../plugins/sdk/src/capabilities.rs"),
    ),
    (
        "sdk/src/crm.rs",
        include_str!("../../../../plugins/sdk/src/crm.rs"),
    ),
    (
        "sdk/src/config.rs",
        include_str!("../../../../plugins/sdk/src/config.rs"),
    ),
    (
        "sdk/src/error.rs",
        include_str!("../../../../plugins/sdk/src/error.rs"),
    ),
    (
        "sdk/src/event.rs",
        include_str!("../../../../plugins/sdk/src/event.rs"),
    ),
    (
        "sdk/src/http.rs",
        include_str!("../../../../plugins/sdk/src/http.rs"),
    ),
    (
        "sdk/src/kv.rs",
        include_str!("../../../../plugins/sdk/src/kv.rs"),
    ),
    (
        "sdk/src/lib.rs",
        include_str!("../../../../plugins/sdk/src/lib.rs"),
    ),
    (
        "sdk/src/log.rs",
        include_str!("../../../../plugins/sdk/src/log.rs"),
    ),
    (
        "sdk/src/messages.rs",
        include_str!("../../../../plugins/sdk/src/messages.rs"),
    ),
];

const COMMON: [Template; 6] = [
    ("test.sh", include_str!("templates/test.sh")),
    ("manifest.toml", include_str!("templates/manifest.toml")),
    ("README.md", include_str!("templates/README.md")),
    (".gitignore", include_str!("templates/gitignore")),
    (
        "events/message.json",
        include_str!("templates/message.json"),
    ),
    ("wit/deps/switchboard-plugin/plugin.wit", WIT),
];

/// Every file of a new plugin in `lang`, before rendering (except the narrow world).
pub fn templates(lang: Language) -> Vec<Template> {
    let mut files = COMMON.to_vec();
    match lang {
        Language::Rust => {
            files.extend([
                ("Cargo.toml", include_str!("templates/rust/Cargo.toml")),
                ("Cargo.lock", include_str!("../../../../plugins/Cargo.lock")),
                ("src/lib.rs", include_str!("templates/rust/lib.rs")),
                (
                    "sdk/Cargo.toml",
                    include_str!("templates/rust/sdk-Cargo.toml"),
                ),
            ]);
            files.extend(RUST_SDK);
        }
        Language::JavaScript => files.extend([
            ("package.json", include_str!("templates/js/package.json")),
            ("src/plugin.js", include_str!("templates/js/plugin.js")),
            (
                "src/switchboard-plugin.js",
                include_str!("../../../../plugins/sdk-js/switchboard-plugin.js"),
            ),
        ]),
        Language::Python => files.extend([
            ("app.py", include_str!("templates/python/app.py")),
            (
                "switchboard_plugin.py",
                include_str!("../../../../plugins/sdk-py/switchboard_plugin.py"),
            ),
        ]),
        _ => {}
    }
    files
}

/// Whether `path` is copied as is (vendored sources hold braces of their own).
pub fn verbatim(path: &str) -> bool {
    path.starts_with("sdk/")
        || path.starts_with("wit/deps/")
        || path == "Cargo.lock"
        || path.ends_with("switchboard-plugin.js")
        || path.ends_with("switchboard_plugin.py")
}

/// The vendored Rust SDK's bindings read the vendored WIT.
pub fn adapt(path: &str, text: &str) -> String {
    if path == "sdk/src/bindings.rs" {
        return text.replace("\"../../host/wit\"", "\"../wit/deps/switchboard-plugin\"");
    }
    text.to_owned()
}

/// Per-language values for the templates' placeholders.
pub struct LangValues {
    pub title: &'static str,
    pub memory_mib: &'static str,
    pub memory_note: &'static str,
    pub timeout_ms: &'static str,
    pub notes: &'static str,
}

pub fn values(lang: Language) -> LangValues {
    match lang {
        Language::JavaScript => LangValues {
            title: "JavaScript",
            memory_mib: "32",
            memory_note: "A JavaScript component starts with about 9 MiB of memory; 32 leaves headroom.",
            timeout_ms: "2000",
            notes: "- `src/plugin.js`: the plugin; `src/switchboard-plugin.js`: the SDK helpers (events,\n  sends, interactive messages, `SwitchboardError` with the WIT error attached, `toJson` for\n  BigInt ids). Ids are BigInt. Top-level code runs at build time, not per event.\n",
        },
        Language::Python => LangValues {
            title: "Python",
            memory_mib: "48",
            memory_note: "A Python component starts with about 12 MiB of memory; 48 leaves headroom.",
            timeout_ms: "2000",
            notes: "- `app.py`: the plugin; `switchboard_plugin.py`: the SDK helpers (events, sends,\n  interactive messages, `SwitchboardError` with the WIT error attached). Only pure-Python\n  packages work: list them in `requirements.txt`. Top-level code runs at build time.\n",
        },
        _ => LangValues {
            title: "Rust",
            memory_mib: "16",
            memory_note: "A Rust component needs little memory; 16 MiB leaves headroom.",
            timeout_ms: "1000",
            notes: "- `src/lib.rs`: the plugin; `sdk/`: the vendored `switchboard-plugin` SDK.\n",
        },
    }
}

/// The pinned componentize-js, for `package.json`.
pub fn componentize_js() -> &'static str {
    COMPONENTIZE_JS_VERSION
}

/// Replaces each `{key}` of `text` with its value (one pass; other braces stay as they are).
pub(crate) fn render(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

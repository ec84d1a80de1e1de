//! `switchboard new plugin NAME --lang rust|js|python [--dir DIR]`: a ready plugin directory
//! (manifest with minimal grants, source using the SDK, the narrow world generated from the
//! manifest's `[capabilities]`, the WIT and SDK vendored at this binary's version, a sample
//! event, a test and a README). `--world-only` regenerates `wit/world.wit` after the grants
//! changed.

mod files;
mod world;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_plugin_build::Language;

use crate::output;
use files::render;

pub use world::narrow_world;

/// What `new plugin` was asked for.
pub struct NewPlugin<'a> {
    pub name: &'a str,
    pub lang: Language,
    /// The directory the plugin's directory is created in.
    pub dir: &'a Path,
    pub world_only: bool,
}

/// Writes the plugin directory `<dir>/<name>`; refuses to overwrite an existing one.
pub fn new_plugin(args: &NewPlugin<'_>) -> anyhow::Result<ExitCode> {
    check_name(args.name)?;
    let root = args.dir.join(args.name);
    if args.world_only {
        return write_world_only(&root);
    }
    anyhow::ensure!(
        !root.exists(),
        "{} already exists; choose another NAME or --dir, or pass --world-only to regenerate its wit/world.wit",
        root.display()
    );
    let values = files::values(args.lang);
    let crate_name = args.name.replace('-', "_");
    let wasm = match args.lang {
        Language::Rust => format!("target/wasm32-wasip2/release/{crate_name}.wasm"),
        _ => format!("build/{}.wasm", args.name),
    };
    let pairs: [(&str, &str); 9] = [
        ("name", args.name),
        ("lang", args.lang.as_str()),
        ("lang_title", values.title),
        ("wasm", &wasm),
        ("memory_mib", values.memory_mib),
        ("memory_note", values.memory_note),
        ("timeout_ms", values.timeout_ms),
        ("lang_notes", values.notes),
        ("componentize_js", files::componentize_js()),
    ];
    for (path, text) in files::templates(args.lang) {
        let text = if files::verbatim(path) {
            files::adapt(path, text)
        } else {
            render(text, &pairs)
        };
        write(&root.join(path), &text)?;
    }
    write_world_only(&root)?;
    output::line(&format!(
        "created {} ({}); next:\n  switchboard plugins build {}\n  switchboard run --manifest {} --event {}",
        root.display(),
        values.title,
        root.display(),
        root.join("manifest.toml").display(),
        root.join("events/message.json").display(),
    ));
    Ok(ExitCode::SUCCESS)
}

/// (Re)writes `wit/world.wit` from the directory's `manifest.toml`.
fn write_world_only(root: &Path) -> anyhow::Result<ExitCode> {
    let file = root.join("manifest.toml");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let manifest = switchboard_manifest::parse_manifest(&file.display().to_string(), &text)
        .map_err(|problems| anyhow::anyhow!("invalid manifest:\n{problems}"))?;
    let world = root.join("wit/world.wit");
    write(&world, &narrow_world(&manifest))?;
    output::note(&format!(
        "wrote {} from the manifest's grants",
        world.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Lowercase words joined by `-`, each starting with a letter: a valid plugin name, crate name
/// and WIT package name at once.
fn check_name(name: &str) -> anyhow::Result<()> {
    let word_ok = |w: &str| {
        w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    anyhow::ensure!(
        name.len() <= 64 && name.split('-').all(word_ok),
        "plugin name `{name}` is not usable: use lowercase words of letters and digits joined by `-`, each starting with a letter (e.g. `order-bot`)"
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_replaces_known_keys_and_keeps_other_braces() {
        let text = render("a {name} {x} {{ {name}", &[("name", "g")]);
        assert_eq!(text, "a g {x} {{ g");
    }

    #[test]
    fn names_must_be_kebab_case_words() {
        assert!(check_name("greeter").is_ok());
        assert!(check_name("order-bot2").is_ok());
        for bad in ["Greeter", "1bot", "a--b", "", "a_b", "-a"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}

//! Loading the host config and the plugin manifests from disk, and resolving secrets from the
//! environment. The manifest crate parses; this module does the I/O around it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use switchboard_manifest::{HostConfig, Manifest, SecretSource, parse_host_config, parse_manifest};

use crate::load_problem::LoadProblem;

/// The host config with the directory its relative paths start from.
#[derive(Debug)]
pub struct LoadedConfig {
    pub host: HostConfig,
    /// The config file as given, for messages.
    pub file: PathBuf,
    /// The directory holding the config file.
    pub dir: PathBuf,
}

/// One manifest that parsed, with its component resolved against the manifest's directory.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    pub manifest: Manifest,
    /// The manifest file, for messages (`manifests/auto-reply.toml`).
    pub file: String,
    pub wasm: PathBuf,
}

/// What reading the manifests directory gave: the good ones and every problem of the others.
#[derive(Debug, Default)]
pub struct Manifests {
    pub loaded: Vec<LoadedManifest>,
    /// Rendered problems (`file:line:col: path: message`), one per line, with their file.
    pub problems: Vec<LoadProblem>,
}

impl LoadedConfig {
    /// Reads and validates the host config; its problems are the error.
    pub fn read(file: &Path) -> anyhow::Result<LoadedConfig> {
        let text = std::fs::read_to_string(file).with_context(|| {
            format!(
                "cannot read the host config {}; pass --config FILE or create it (see switchboard.toml at the repository root)",
                file.display()
            )
        })?;
        let host = parse_host_config(&file.display().to_string(), &text)
            .map_err(|problems| anyhow::anyhow!("invalid host config:\n{problems}"))?;
        let dir = absolute_dir(file.parent().unwrap_or(Path::new(".")))?;
        Ok(LoadedConfig {
            host,
            file: file.to_path_buf(),
            dir,
        })
    }

    /// A path from the config, relative to the config file's directory, made absolute: child
    /// processes (the plugin build) and later `chdir`s never see a relative path.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        normalize(&self.dir.join(path))
    }

    /// Every `*.toml` in the manifests directory except the host config itself, sorted by name.
    pub fn read_manifests(&self) -> anyhow::Result<Manifests> {
        let dir = self.resolve(&self.host.plugins.manifests);
        let mut files = toml_files(&dir)?;
        files.retain(|f| !same_file(f, &self.file));
        let mut manifests = Manifests::default();
        for file in files {
            read_manifest(&file, &mut manifests);
        }
        Ok(manifests)
    }
}

impl Manifests {
    /// The manifest of the plugin with this name.
    pub fn find(&self, name: &str) -> Option<&LoadedManifest> {
        self.loaded
            .iter()
            .find(|m| m.manifest.plugin.name.as_str() == name)
    }
}

fn toml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read the manifests directory {} (`[plugins] manifests` in the host config)",
            dir.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn read_manifest(path: &Path, into: &mut Manifests) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) => {
            let file = shown(path);
            let text = format!("{file}: cannot read: {err}");
            into.problems.push(LoadProblem::in_file(&file, text));
            return;
        }
    };
    match parse_manifest_file(path, &text) {
        Ok(loaded) => into.loaded.push(loaded),
        Err(problems) => {
            let file = shown(path);
            let typed = problems.into_iter().map(|p| LoadProblem::in_file(&file, p));
            into.problems.extend(typed);
        }
    }
}

/// Parses and validates the manifest `text` read from `path`; its component path is resolved
/// against the manifest's directory. Problems are rendered `file:line:col: path: message`.
pub fn parse_manifest_file(path: &Path, text: &str) -> Result<LoadedManifest, Vec<String>> {
    let file = shown(path);
    match parse_manifest(&file, text) {
        Ok(manifest) => {
            let base = path.parent().unwrap_or(Path::new("."));
            let wasm = match absolute_dir(base) {
                Ok(base) => normalize(&base.join(&manifest.plugin.wasm)),
                Err(err) => return Err(vec![format!("{file}: {err:#}")]),
            };
            Ok(LoadedManifest {
                manifest,
                file,
                wasm,
            })
        }
        Err(problems) => Err(problems.to_string().lines().map(str::to_owned).collect()),
    }
}

/// How a file is named in messages: relative to the current directory when it is below it
/// (`manifests/auto-reply.toml`), else as given.
fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// `dir` as an absolute path without symlinks (`""` is the current directory).
fn absolute_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    dir.canonicalize()
        .with_context(|| format!("cannot resolve the directory {}", dir.display()))
}

/// `path` (absolute) with `.` and `..` taken out: the longest prefix that exists is
/// canonicalized (so `..` after a symlink means what the file system means), and the rest is
/// appended as written, `.` dropped and `..` popping the component before it.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let parts: Vec<Component<'_>> = path.components().collect();
    let (mut out, rest) = (0..=parts.len())
        .rev()
        .find_map(|split| {
            let prefix: PathBuf = parts[..split].iter().collect();
            let real = if split == 0 {
                Some(prefix)
            } else {
                prefix.canonicalize().ok()
            };
            real.map(|real| (real, &parts[split..]))
        })
        .unwrap_or_else(|| (PathBuf::new(), &parts[..]));
    for part in rest {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Reads every secret the manifest declares from the environment. Values never reach logs;
/// problems name the variable, never a value.
pub fn resolve_secrets(loaded: &LoadedManifest) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, source) in &loaded.manifest.secrets {
        let var = source_var(source);
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => {
                values.insert(name.clone(), value);
            }
            _ => problems.push(format!(
                "{}: secrets.{name}: the environment variable `{var}` is not set; export it before starting switchboard",
                loaded.file
            )),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// Reads a secret the host config names (admin token, API key).
pub fn host_secret(source: &SecretSource, what: &str) -> anyhow::Result<String> {
    let var = source_var(source);
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .with_context(|| format!("{what}: the environment variable `{var}` is not set; export it"))
}

fn source_var(source: &SecretSource) -> &str {
    source.env_var()
}

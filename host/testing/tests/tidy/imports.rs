//! File-level import circles inside one crate: a small graph of the `crate::`, `super::` and
//! child-module paths each production file names (in `use` lines and in code, comments left
//! out), resolved to the file that defines the item, and its strongly connected components.
//! A circle means two files cannot be read, moved or tested one without the other.
//!
//! Re-exports (`pub use`, `pub(crate) use`) are the module tree's bookkeeping, like `mod`
//! lines: they are not edges of the file that writes them, and a path through one is followed
//! to the file it names. So a `mod.rs` that re-exports its children is no circle with a child
//! that takes a sibling's type through it, while a circle through such a facade is still seen.

use std::collections::{BTreeMap, BTreeSet};

/// A crate's module graph: module path (`serve::intake`) → the modules it names.
pub struct Graph {
    files: BTreeMap<String, String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

/// What one module re-exports: names taken from elsewhere, and globs.
#[derive(Default)]
struct Exports {
    /// Exported name → the absolute path it stands for.
    named: BTreeMap<String, Vec<String>>,
    /// `pub use x::*`: the absolute paths of the modules whose items it exports.
    globs: Vec<Vec<String>>,
}

/// The crate's modules, their texts and their re-exports, for resolving a path to a file.
struct Crate {
    modules: BTreeMap<String, String>,
    texts: BTreeMap<String, String>,
    exports: BTreeMap<String, Exports>,
}

impl Graph {
    /// The graph of the crate whose `src` directory is `src` (relative to the repository root),
    /// over `files`, the repository's Rust files.
    pub fn of_crate(src: &str, files: &[String], read: impl Fn(&str) -> String) -> Graph {
        let prefix = format!("{src}/");
        let mut modules = BTreeMap::new();
        for file in files.iter().filter(|f| f.starts_with(&prefix)) {
            let relative = &file[prefix.len()..];
            if relative.ends_with("tests.rs") || relative.starts_with("bin/") {
                continue;
            }
            modules.insert(module_of(relative), file.clone());
        }
        let mut texts = BTreeMap::new();
        let mut exports = BTreeMap::new();
        let mut named = BTreeMap::new();
        for (module, file) in &modules {
            let (code, reexports) = split_reexports(&production(&read(file)));
            exports.insert(module.clone(), exports_of(&reexports, module, &modules));
            named.insert(module.clone(), named_paths(&code, module, &modules));
            texts.insert(module.clone(), code);
        }
        let krate = Crate {
            modules,
            texts,
            exports,
        };
        let mut edges = BTreeMap::new();
        for (module, paths) in &named {
            let targets = paths
                .iter()
                .filter_map(|path| krate.resolve(path, 0))
                .filter(|target| target != module && !target.is_empty())
                .collect();
            edges.insert(module.clone(), targets);
        }
        Graph {
            files: krate.modules,
            edges,
        }
    }

    /// How many files the graph holds.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Every circle (a strongly connected component of two or more files), as file paths.
    pub fn circles(&self) -> Vec<Vec<String>> {
        let mut circles = Vec::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        for start in self.edges.keys() {
            if done.contains(start.as_str()) {
                continue;
            }
            let ahead = self.reachable(start, |m| self.edges.get(m).into_iter().flatten());
            let behind = self.reachable(start, |m| {
                self.edges
                    .iter()
                    .filter(move |(_, to)| to.contains(m))
                    .map(|(from, _)| from)
            });
            let component: Vec<&String> = ahead.intersection(&behind).copied().collect();
            done.extend(component.iter().map(|m| m.as_str()));
            if component.len() > 1 {
                circles.push(component.iter().map(|m| self.files[*m].clone()).collect());
            }
        }
        circles
    }

    fn reachable<'a, I>(
        &'a self,
        start: &'a String,
        next: impl Fn(&'a str) -> I,
    ) -> BTreeSet<&'a String>
    where
        I: Iterator<Item = &'a String>,
    {
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(module) = stack.pop() {
            for to in next(module) {
                if seen.insert(to) {
                    stack.push(to);
                }
            }
        }
        seen
    }
}

/// `lib.rs` → ``, `serve/mod.rs` → `serve`, `serve/intake.rs` → `serve::intake`.
fn module_of(relative: &str) -> String {
    let stem = relative.trim_end_matches(".rs");
    let stem = stem
        .strip_suffix("/mod")
        .unwrap_or(stem)
        .trim_end_matches("lib");
    stem.trim_end_matches('/').replace('/', "::")
}

/// The production part of a file's text: up to its tests, comments left out.
fn production(text: &str) -> String {
    text.lines()
        .take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"))
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `code` without its re-export statements, and those statements from their `use` on.
fn split_reexports(code: &str) -> (String, Vec<String>) {
    let mut rest = Vec::new();
    let mut reexports: Vec<String> = Vec::new();
    let mut open = false;
    for line in code.lines() {
        let trimmed = line.trim_start();
        let starts = trimmed
            .strip_prefix("pub")
            .map(|after| after.split_once("use ").map(|(vis, _)| vis))
            .is_some_and(|vis| vis.is_some_and(|v| v.trim().is_empty() || v.starts_with('(')));
        if !open && starts {
            let from = trimmed.find("use ").map_or(0, |at| at + "use ".len());
            reexports.push(trimmed[from..].to_owned());
            open = !line.contains(';');
        } else if open {
            if let Some(last) = reexports.last_mut() {
                last.push('\n');
                last.push_str(line);
            }
            open = !line.contains(';');
        } else {
            rest.push(line);
        }
    }
    (rest.join("\n"), reexports)
}

/// What the re-export statements of `module` export, as absolute paths.
fn exports_of(reexports: &[String], module: &str, modules: &BTreeMap<String, String>) -> Exports {
    let mut exports = Exports::default();
    for statement in reexports {
        let bytes = statement.as_bytes();
        let (paths, end) = tree(bytes, 0);
        let alias = statement[end..].trim_start().strip_prefix("as ").map(|a| {
            a.trim_start()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        for path in paths {
            let Some(absolute) = anchored(&path, module, modules) else {
                continue;
            };
            match absolute.split_last() {
                Some((last, glob)) if last == "*" => exports.globs.push(glob.to_vec()),
                Some((last, _)) => {
                    let name = alias.clone().unwrap_or_else(|| last.clone());
                    exports.named.insert(name, absolute);
                }
                None => {}
            }
        }
    }
    exports
}

/// A `use` path of `module` made absolute; `None` for another crate's.
fn anchored(
    path: &[String],
    module: &str,
    modules: &BTreeMap<String, String>,
) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "super" => Some(absolute(&parent(module), &path[1..])),
        "self" => Some(absolute(module, &path[1..])),
        _ if modules.contains_key(&join(module, first)) => Some(absolute(module, path)),
        _ => None,
    }
}

impl Crate {
    /// The module whose file defines what `path` names: its longest prefix that is a module,
    /// followed through that module's re-exports to the file behind them.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        let path: Vec<String> = path.iter().filter(|s| *s != "self").cloned().collect();
        let n = (1..=path.len())
            .rev()
            .find(|n| self.modules.contains_key(&path[..*n].join("::")))?;
        let module = path[..n].join("::");
        let (Some(item), true) = (path.get(n), depth < 8) else {
            return Some(module);
        };
        let exports = self.exports.get(&module);
        if let Some(target) = exports.and_then(|e| e.named.get(item)) {
            let through = [target.as_slice(), &path[n + 1..]].concat();
            return self.resolve(&through, depth + 1).or(Some(module));
        }
        for glob in exports.map(|e| e.globs.as_slice()).unwrap_or_default() {
            let through = [glob.as_slice(), &path[n..]].concat();
            let Some(found) = self.resolve(&through, depth + 1) else {
                continue;
            };
            if self.defines(&found, item) || found != glob.join("::") {
                return Some(found);
            }
        }
        Some(module)
    }

    /// Whether `module`'s file defines an item called `name`.
    fn defines(&self, module: &str, name: &str) -> bool {
        let text = self.texts.get(module).map_or("", String::as_str);
        let kinds = [
            "struct", "enum", "trait", "type", "fn", "const", "static", "mod", "union",
        ];
        kinds.iter().any(|kind| {
            let pattern = format!("{kind} {name}");
            text.match_indices(&pattern).any(|(at, _)| {
                let after = text.as_bytes().get(at + pattern.len());
                let before = at.checked_sub(1).and_then(|b| text.as_bytes().get(b));
                !after.is_some_and(|b| is_ident(*b)) && !before.is_some_and(|b| is_ident(*b))
            })
        })
    }
}

/// Every module path the production `code` of a file names, absolute (`crate` left out).
fn named_paths(code: &str, module: &str, modules: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        paths.extend(tree(bytes, at + "crate::".len()).0);
    }
    for (at, _) in code.match_indices("super::") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let base = parent(module);
        for path in tree(bytes, at).0 {
            paths.push(absolute(&base, &path[1..]));
        }
    }
    for (at, _) in code.match_indices("use ") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        for path in tree(bytes, at + "use ".len()).0 {
            let Some(first) = path.first() else { continue };
            if first != "crate" && first != "super" && modules.contains_key(&join(module, first)) {
                paths.push(absolute(module, &path));
            }
        }
    }
    paths
}

fn join(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_owned()
    } else {
        format!("{module}::{name}")
    }
}

/// `base` followed by `rest`, with leading `super`s applied.
fn absolute(base: &str, rest: &[String]) -> Vec<String> {
    let mut path: Vec<String> = base
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for segment in rest {
        if segment == "super" {
            path.pop();
        } else {
            path.push(segment.clone());
        }
    }
    path
}

fn parent(module: &str) -> String {
    module.rsplit_once("::").map_or("", |(p, _)| p).to_owned()
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The paths of a use tree starting at `at` (`a::b::{c, d::{e, f}}` → `a::b::c`, `a::b::d::e`,
/// `a::b::d::f`), and where it ends.
fn tree(bytes: &[u8], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix: Vec<String> = Vec::new();
    loop {
        at = skip_space(bytes, at);
        if bytes.get(at) == Some(&b'{') {
            let mut paths = Vec::new();
            at += 1;
            loop {
                at = skip_space(bytes, at);
                match bytes.get(at) {
                    None => return (paths, at),
                    Some(b'}') => return (paths, at + 1),
                    Some(b',') => at += 1,
                    Some(_) => {
                        let (inner, end) = tree(bytes, at);
                        paths.extend(inner.into_iter().map(|p| [prefix.clone(), p].concat()));
                        at = skip_to_separator(bytes, end.max(at + 1));
                    }
                }
            }
        }
        if bytes.get(at) == Some(&b'*') {
            prefix.push("*".to_owned());
            return (vec![prefix], at + 1);
        }
        let start = at;
        while bytes.get(at).is_some_and(|b| is_ident(*b)) {
            at += 1;
        }
        if start == at {
            return (vec![prefix], at);
        }
        prefix.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        if bytes.get(at..at + 2) == Some(b"::") {
            at += 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Past `as name` to the next `,` or `}` of a use group.
fn skip_to_separator(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| *b != b',' && *b != b'}') {
        at += 1;
    }
    at
}

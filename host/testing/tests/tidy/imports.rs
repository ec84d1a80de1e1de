//! File-level import circles inside one crate: a small graph of the `crate::`, `super::` and
//! child-module paths each production file names (in `use` lines and in code, comments left
//! out), resolved to the file that defines the module, and its strongly connected components.
//! A circle means two files cannot be read, moved or tested one without the other.

use std::collections::{BTreeMap, BTreeSet};

/// A crate's module graph: module path (`serve::intake`) → the modules it names.
pub struct Graph {
    files: BTreeMap<String, String>,
    edges: BTreeMap<String, BTreeSet<String>>,
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
        let mut edges = BTreeMap::new();
        for (module, file) in &modules {
            let named = named_paths(&read(file), module, &modules);
            let targets = named
                .iter()
                .filter_map(|path| resolve(path, &modules))
                .filter(|target| target != module && !target.is_empty())
                .collect();
            edges.insert(module.clone(), targets);
        }
        Graph {
            files: modules,
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

/// Every module path the production part of `text` names, absolute (`crate` left out).
fn named_paths(text: &str, module: &str, modules: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"))
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
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

/// The longest prefix of `path` that is a module of the crate.
fn resolve(path: &[String], modules: &BTreeMap<String, String>) -> Option<String> {
    let path: Vec<&str> = path
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "self")
        .collect();
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
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

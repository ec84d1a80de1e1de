//! What planning, building and loading the plugins found wrong, as data. The text is what
//! `check`, `serve`, `run` and the admin API print, unchanged; the decisions (which plugin
//! failed and keeps its previous version on reload, which plugin `run` reports as skipped) read
//! the typed fields, so rewording a message changes no decision.

use std::fmt;

/// One problem with the configured plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The manifest file it is about (as shown in messages), when it is about one.
    pub file: Option<String>,
    /// The plugin's name, when its manifest parsed.
    pub plugin: Option<String>,
    /// The message as printed.
    pub text: String,
}

/// An optional plugin (`plugins.optional`) that is not loaded because its secrets are not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPlugin {
    pub plugin: String,
    pub file: String,
    /// The note as printed, with how to enable it.
    pub note: String,
}

impl LoadProblem {
    /// A problem about no one manifest (the host config, a plugin workspace's build).
    pub fn general(text: impl Into<String>) -> LoadProblem {
        LoadProblem {
            file: None,
            plugin: None,
            text: text.into(),
        }
    }

    /// A problem in a manifest file that did not parse.
    pub fn in_file(file: &str, text: impl Into<String>) -> LoadProblem {
        LoadProblem {
            file: Some(file.to_owned()),
            plugin: None,
            text: text.into(),
        }
    }

    /// A problem of the plugin `plugin`, whose manifest `file` parsed.
    pub fn of_plugin(file: &str, plugin: &str, text: impl Into<String>) -> LoadProblem {
        LoadProblem {
            file: Some(file.to_owned()),
            plugin: Some(plugin.to_owned()),
            text: text.into(),
        }
    }

    /// Whether the problem is about the manifest `file`.
    pub fn is_about(&self, file: &str) -> bool {
        self.file.as_deref() == Some(file)
    }
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for SkippedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.note)
    }
}

/// The printed lines of `problems`, in order.
pub fn texts(problems: &[LoadProblem]) -> Vec<String> {
    problems.iter().map(|p| p.text.clone()).collect()
}

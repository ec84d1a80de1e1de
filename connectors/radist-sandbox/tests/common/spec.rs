//! The vendor's OpenAPI documents (`../shared/radist/*.json`) as JSON Schema 2020-12 validators
//! with formats asserted. A missing document skips a test with a printed note, except in CI
//! (`CI` set), where it fails: the contract must not pass silently there. `RADIST_SPEC_DIR`
//! points at the documents when the repository is not checked out next to `shared/`.

use serde_json::{Value, json};

/// A loaded spec document.
pub struct Spec(Value);

impl Spec {
    /// `../shared/radist/<file>` (or `$RADIST_SPEC_DIR/<file>`, for a checkout elsewhere, such
    /// as a git worktree), or `None` (skip) when absent outside CI; panics in CI.
    pub fn load(file: &str) -> Option<Self> {
        let dir = std::env::var("RADIST_SPEC_DIR")
            .unwrap_or_else(|_| format!("{}/../../../shared/radist", env!("CARGO_MANIFEST_DIR")));
        let path = format!("{dir}/{file}");
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(Self(serde_json::from_str(&text).expect("spec is JSON"))),
            Err(err) if std::env::var_os("CI").is_some() => panic!(
                "the vendor spec {path} is missing in CI ({err}); check out the shared \
                 directory next to the repository so the contract test can run"
            ),
            Err(err) => {
                eprintln!("skipped: {path} not readable ({err}); set up ../shared to run");
                None
            }
        }
    }

    /// A validator for `schema` whose `#/components/...` refs resolve inside the spec.
    pub fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let mut schema = schema.clone();
        schema["components"] = self.0["components"].clone();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .expect("schema compiles")
    }

    /// The JSON schema of one documented response.
    pub fn response_schema(&self, path: &str, method: &str, status: &str) -> Value {
        let op = &self.0["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the spec");
        let response = &op["responses"][status];
        assert!(
            response.is_object(),
            "{method} {path} documents no {status}"
        );
        response["content"]["application/json"]["schema"].clone()
    }

    /// `{"$ref": "#/components/schemas/<name>"}`.
    pub fn component(&self, name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    /// Errors of `instance` against `schema`.
    pub fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = self.validator(schema);
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Asserts `body` is what the spec documents for `method path` answering `status`.
    pub fn check(&self, path: &str, method: &str, status: u16, body: &Value) {
        let schema = self.response_schema(path, method, &status.to_string());
        let errors = self.errors(&schema, body);
        assert!(errors.is_empty(), "{method} {path}: {errors:#?}\n{body:#}");
    }

    /// Asserts the operation documents `status` with no body (e.g. a 204 delete).
    pub fn check_empty(&self, path: &str, method: &str, status: u16) {
        let op = &self.0["paths"][path][method];
        let response = &op["responses"][status.to_string().as_str()];
        assert!(
            response.is_object(),
            "{method} {path} documents no {status}"
        );
        assert!(
            response.get("content").is_none(),
            "{method} {path}: {status} has a body"
        );
    }
}

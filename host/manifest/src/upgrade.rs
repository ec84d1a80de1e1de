//! Upgrading manifests written for older schema versions to the latest one, so that validation
//! only knows the latest. Version 1 is the latest today, so there is nothing to convert yet.

use crate::schema::{Versioned, v1};

/// The schema validation reads.
pub(crate) type Latest = v1::ManifestV1;

/// Converts a manifest of any supported version to the latest schema, keeping spans.
pub(crate) fn to_latest(manifest: Versioned) -> Latest {
    match manifest {
        Versioned::V1(manifest) => manifest,
    }
}

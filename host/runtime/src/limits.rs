//! The per-store [`wasmtime::ResourceLimiter`]: the manifest's memory cap, plus table and
//! instance caps, so a memory bomb traps its own run and nothing else.

use wasmtime::ResourceLimiter;

use crate::engine::MAX_TABLE_ELEMENTS;

/// Core instances, tables and memories one run may create.
const MAX_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 8;

/// Limits one store to a plugin's `limits.memory_mib`.
pub(crate) struct StoreLimiter {
    memory_mib: u32,
    memory_bytes: usize,
}

impl StoreLimiter {
    pub(crate) fn new(memory_mib: u32) -> Self {
        StoreLimiter {
            memory_mib,
            memory_bytes: memory_mib as usize * 1024 * 1024,
        }
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            wasmtime::bail!(
                "memory limit of {} MiB exceeded (the plugin asked for {} bytes)",
                self.memory_mib,
                desired
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!("table limit of {MAX_TABLE_ELEMENTS} elements exceeded");
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_beyond_the_cap_is_an_error_naming_memory() {
        let mut limiter = StoreLimiter::new(1);
        assert!(limiter.memory_growing(0, 1024 * 1024, None).expect("ok"));
        let err = limiter
            .memory_growing(0, 1024 * 1024 + 1, None)
            .expect_err("over the cap");
        assert!(err.to_string().contains("memory limit of 1 MiB exceeded"));
    }

    #[test]
    fn tables_are_capped() {
        let mut limiter = StoreLimiter::new(1);
        assert!(limiter.table_growing(0, 10, None).expect("ok"));
        assert!(
            limiter
                .table_growing(0, MAX_TABLE_ELEMENTS + 1, None)
                .is_err()
        );
    }
}

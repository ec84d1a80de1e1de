//! What the service process costs and what machine it runs on, read from `/proc`: CPU time
//! (`/proc/<pid>/stat` utime + stime), peak resident memory (`VmHWM` in `/proc/<pid>/status`),
//! the CPU model and the memory size.

use std::time::Duration;

use serde::Serialize;

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_mib: u64,
}

impl Machine {
    pub fn read() -> Machine {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = field(&info, "model name").unwrap_or_else(|| "unknown".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib = field(&meminfo, "MemTotal").and_then(|v| kib(&v));
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            memory_mib: memory_kib.unwrap_or(0) / 1024,
        }
    }
}

/// `name: value` from a `/proc` text file.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// `"123 kB"` → 123.
fn kib(value: &str) -> Option<u64> {
    value.split_whitespace().next()?.parse().ok()
}

/// CPU time (user + system) the process has used so far.
pub fn cpu_time(pid: u32, ticks_per_s: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = stat_ticks(&stat)?;
    Some(Duration::from_secs_f64(
        ticks as f64 / ticks_per_s.max(1) as f64,
    ))
}

/// CPU time of the process and of the children it has waited for.
pub fn cpu_time_with_reaped(pid: u32, ticks_per_s: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = stat_ticks(&stat)? + stat_fields(&stat, &[13, 14])?;
    Some(Duration::from_secs_f64(
        ticks as f64 / ticks_per_s.max(1) as f64,
    ))
}

/// The live processes whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            stat_fields(&stat, &[1]) == Some(u64::from(pid))
        })
        .collect()
}

/// utime + stime from a `/proc/<pid>/stat` line (fields 14 and 15).
fn stat_ticks(stat: &str) -> Option<u64> {
    stat_fields(stat, &[11, 12])
}

/// The sum of fields of a `/proc/<pid>/stat` line, counted from 0 after the command name (the
/// name, in parentheses, may hold spaces and parentheses, so counting starts after the last
/// closing one): 1 is the parent's pid, 11 and 12 utime and stime, 13 and 14 those of reaped
/// children.
fn stat_fields(stat: &str, which: &[usize]) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    which
        .iter()
        .map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum()
}

/// Peak resident set size in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    field(&status, "VmHWM").and_then(|v| kib(&v))
}

/// Resident set size now, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    field(&status, "VmRSS").and_then(|v| kib(&v))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 when it cannot be asked).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_count_after_a_command_name_with_spaces_and_parentheses() {
        let line = "4242 (tokio (rt) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 2000 300";
        assert_eq!(stat_ticks(line), Some(300));
        assert_eq!(stat_fields(line, &[1]), Some(1));
        assert_eq!(stat_fields(line, &[13, 14]), Some(0));
    }

    #[test]
    fn a_spawned_child_is_listed_until_reaped() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read x"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        let me = std::process::id();
        assert!(children(me).contains(&child.id()));
        drop(child.stdin.take());
        child.wait().expect("wait");
        assert!(!children(me).contains(&child.id()));
        assert!(cpu_time_with_reaped(me, ticks_per_second()).is_some());
    }

    #[test]
    fn this_process_has_a_peak_rss_and_cpu_time() {
        let pid = std::process::id();
        assert!(peak_rss_kib(pid).is_some_and(|k| k > 0));
        assert!(rss_kib(pid).is_some_and(|k| k > 0 && Some(k) <= peak_rss_kib(pid)));
        assert!(cpu_time(pid, ticks_per_second()).is_some());
        assert!(Machine::read().cpus >= 1);
    }
}

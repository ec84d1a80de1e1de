//! Launching the real `switchboard` binary, for the service's end-to-end tests and the bench:
//! start `serve`, read its start-up [`Announcement`] (where webhooks go, the admin API, the
//! dashboard, the embedded sandbox), keep the tail of its stderr for messages, signal it, and
//! wait for a process that should exit by itself. One launcher, so a change to the start-up
//! lines is made once.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What `serve` announces on stdout when it is ready.
#[derive(Debug, Clone, Default)]
pub struct Announcement {
    /// `http://127.0.0.1:PORT/hooks/radist/TOKEN`.
    pub webhook: String,
    /// `http://127.0.0.1:PORT/api/`.
    pub api: String,
    /// `http://127.0.0.1:PORT/ui/`.
    pub dashboard: String,
    /// The embedded sandbox's API base (`.../v2`).
    pub sandbox: Option<String>,
    /// The embedded sandbox's control base (`.../_sandbox`).
    pub control: Option<String>,
    /// Radist is remote (no sandbox lines follow the admin line).
    pub remote: bool,
    /// The `try it:` line, as printed.
    pub try_it: Option<String>,
    /// Every line up to the end of the announcement.
    pub lines: Vec<String>,
}

impl Announcement {
    /// Reads `lines` until the announcement is complete (the admin line, and in sandbox mode
    /// the `try it:` line), within `bound`; `None` when the lines stop or the bound passes.
    pub fn read(lines: &mpsc::Receiver<String>, bound: Duration) -> Option<Announcement> {
        let deadline = Instant::now() + bound;
        let mut announced = Announcement::default();
        while !announced.is_complete() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(left).ok()?;
            announced.take(line);
        }
        Some(announced)
    }

    fn is_complete(&self) -> bool {
        !self.api.is_empty() && (self.control.is_some() || self.remote)
    }

    /// Notes what one start-up line says.
    fn take(&mut self, line: String) {
        let first_word = |rest: &str| rest.split(' ').next().unwrap_or_default().to_owned();
        if let Some(url) = line.strip_prefix("webhook URL: ") {
            self.webhook = url.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("admin API: ") {
            self.api = first_word(rest);
            self.remote = line.contains("radist: remote");
        } else if let Some(rest) = line.strip_prefix("dashboard: ") {
            self.dashboard = first_word(rest);
        } else if let Some(rest) = line.strip_prefix("radist sandbox: ") {
            self.sandbox = Some(first_word(rest));
        } else if let Some(rest) = line.strip_prefix("try it: curl -s ") {
            let inbound = first_word(rest);
            self.control = Some(inbound.trim_end_matches("/inbound").to_owned());
            self.try_it = Some(line.clone());
        }
        self.lines.push(line);
    }
}

/// The last lines of a child's stderr, read on a thread.
pub struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl StderrTail {
    /// Keeps the last `keep` lines of `pipe`.
    pub fn keep(pipe: Option<impl Read + Send + 'static>, keep: usize) -> StderrTail {
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        let kept = Arc::clone(&lines);
        let reader = pipe.map(|pipe| {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let Ok(mut tail) = kept.lock() else { break };
                    if tail.len() == keep {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            })
        });
        StderrTail { lines, reader }
    }

    /// The lines kept so far.
    pub fn snapshot(&self) -> Vec<String> {
        let tail = self.lines.lock().map(|t| t.clone()).unwrap_or_default();
        Vec::from(tail)
    }

    /// Every line kept, once the pipe closed (call after the child exited).
    pub fn finish(mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.snapshot()
    }
}

/// A started `serve` that announced itself.
pub struct Launched {
    pub child: Child,
    pub stderr: StderrTail,
    pub announcement: Announcement,
}

/// Starts `command` (a `switchboard serve`) with piped output and waits up to `bound` for its
/// announcement, keeping `keep` lines of stderr. The error holds the stderr it printed.
pub fn launch(mut command: Command, bound: Duration, keep: usize) -> Result<Launched, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let lines = lines_of(child.stdout.take());
    let stderr = StderrTail::keep(child.stderr.take(), keep);
    match Announcement::read(&lines, bound) {
        Some(announcement) => Ok(Launched {
            child,
            stderr,
            announcement,
        }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            let printed = stderr.finish().join("\n");
            Err(format!("serve did not announce itself; stderr:\n{printed}"))
        }
    }
}

/// The lines of a child's pipe, read on a thread.
pub fn lines_of(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Waits up to `bound` for `child` to exit by itself; `None` when it is still running.
pub fn wait_exit(child: &mut Child, bound: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` expecting it to exit by itself within `bound` (a `serve` that must refuse to
/// start): its status and stderr, or `None` (the process killed) when it kept running.
pub fn run_to_exit(mut command: Command, bound: Duration) -> Option<(ExitStatus, String)> {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let stderr = StderrTail::keep(child.stderr.take(), usize::MAX);
    let Ok(Some(status)) = wait_exit(&mut child, bound) else {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    Some((status, stderr.finish().join("\n")))
}

/// Sends a signal by name (`TERM`, `INT`, `HUP`) with `kill(1)`.
pub fn signal(child: &Child, name: &str) -> std::io::Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill -{name} {} failed",
            child.id()
        )))
    }
}

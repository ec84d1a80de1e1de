//! {name}: answers a customer who writes "hello" with the configured greeting.

use switchboard_plugin::{Event, Plugin, RunInfo, config, messages};

struct Greeter;

impl Plugin for Greeter {
    fn handle(event: Event, _run: RunInfo) -> Result<(), String> {
        // Only what customers write; never our own echoes.
        let Some(msg) = event.received() else {
            return Ok(());
        };
        let text = msg.text().unwrap_or_default().to_lowercase();
        if text.contains("hello") || text.contains("привет") {
            let greeting = config::get_or("greeting", "Hello!");
            messages::reply_text(msg, greeting)?;
            switchboard_plugin::info!("greeted chat {}", msg.chat_id);
        }
        Ok(())
    }
}

switchboard_plugin::export!(Greeter);

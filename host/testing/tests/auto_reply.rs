//! The auto-reply example plugin end to end against the sandbox, in each of its languages (the
//! Rust plugin with its shipped manifest, and its TypeScript and Python ports): keyword replies,
//! WABA interactive buttons and lists, the template fallback on a closed WABA window, and no
//! answer to its own echoes. Every scenario runs for every language (one module each); the
//! TypeScript and Python builds need Node.js and Python 3 and fail, saying how to install them,
//! when those are missing.

use serde_json::Value;
use switchboard_testing::{
    Inbound, PluginHarness, RunStatus, TestPlugin, build_plugin_dir, events, repo_root,
};

/// The manifest of the auto-reply implementation in `lang` (`rust`, `ts`, `py`).
fn manifest(lang: &str) -> std::path::PathBuf {
    match lang {
        "rust" => repo_root().join("manifests/auto-reply.toml"),
        other => {
            let dir = repo_root().join(format!("plugins/auto-reply-{other}"));
            build_plugin_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
            dir.join("manifest.toml")
        }
    }
}

async fn start(lang: &str) -> (PluginHarness, TestPlugin) {
    let harness = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plugin = harness
        .load(&manifest(lang))
        .unwrap_or_else(|e| panic!("{e}"));
    (harness, plugin)
}

/// One module per language, each running every scenario below.
macro_rules! in_every_language {
    ($($scenario:ident),* $(,)?) => {
        in_every_language!(@lang rust, "rust", $($scenario),*);
        in_every_language!(@lang typescript, "ts", $($scenario),*);
        in_every_language!(@lang python, "py", $($scenario),*);
    };
    (@lang $module:ident, $lang:literal, $($scenario:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($lang).await;
                }
            )*
        }
    };
}

in_every_language!(
    keyword_reply_reaches_the_sandbox,
    buttons_go_out_as_a_waba_interactive_message,
    lists_go_out_as_a_waba_interactive_list,
    closed_waba_window_sends_the_fallback_template,
    own_echoes_and_unmatched_texts_get_no_answer,
);

async fn sent_to(h: &PluginHarness, chat_id: i64) -> Vec<Value> {
    h.sandbox()
        .sent(Some(chat_id))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn keyword_reply_reaches_the_sandbox(lang: &str) {
    let (h, plugin) = start(lang).await;
    let (delivered, event) = h
        .inbound_text(70002, "79990001122", "Какие у вас часы работы?")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = sent_to(&h, delivered.chat_id).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0]["request"]
            .to_string()
            .contains("Мы работаем с 9:00 до 21:00"),
        "{}",
        sent[0]
    );
}

async fn buttons_go_out_as_a_waba_interactive_message(lang: &str) {
    let (h, plugin) = start(lang).await;
    let (delivered, event) = h
        .inbound_text(70001, "79990001123", "Сколько стоит доставка? ЦЕНА?")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = sent_to(&h, delivered.chat_id).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = sent[0]["request"].to_string();
    assert!(request.contains("waba_interactive"), "{request}");
    assert!(
        request.contains("Доставка от 990")
            && request.contains("\"Да\"")
            && request.contains("\"Нет\""),
        "{request}"
    );
}

async fn lists_go_out_as_a_waba_interactive_list(lang: &str) {
    let (h, plugin) = start(lang).await;
    let (delivered, event) = h
        .inbound_text(70001, "79990001124", "какой размер выбрать")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let request = sent_to(&h, delivered.chat_id)
        .await
        .first()
        .map(|s| s["request"].to_string())
        .unwrap_or_default();
    assert!(
        request.contains("Размеры") && request.contains("\"M\""),
        "{request}"
    );
}

async fn closed_waba_window_sends_the_fallback_template(lang: &str) {
    let (h, plugin) = start(lang).await;
    let day_ago = (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339();
    let inbound = Inbound::from_phone(70001, "79990001125", "price?").at(&day_ago);
    let (delivered, event) = h.inbound(inbound, "79990001125", "price?").await.unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = sent_to(&h, delivered.chat_id).await;
    assert_eq!(sent.len(), 1, "only the template goes out: {sent:?}");
    let request = sent[0]["request"].to_string();
    assert!(
        request.contains("waba_template") && request.contains("welcome"),
        "{request}"
    );
}

async fn own_echoes_and_unmatched_texts_get_no_answer(lang: &str) {
    let (h, plugin) = start(lang).await;
    let (delivered, _) = h.inbound_text(70001, "79990001126", "hello").await.unwrap();
    let echo = events::text(70001, delivered.chat_id, "price?")
        .own_echo()
        .sent();
    let outcome = h.run(&plugin, echo).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert!(sends_nothing(&outcome.actions), "{:?}", outcome.actions);
    let operator = events::text(70001, delivered.chat_id, "price?")
        .outbound()
        .received();
    assert!(sends_nothing(&h.run(&plugin, operator).await.actions));
    let (_, unmatched) = h
        .inbound_text(70001, "79990001126", "just saying hi")
        .await
        .unwrap();
    assert_eq!(h.run(&plugin, unmatched).await.status, RunStatus::Succeeded);
    assert!(sent_to(&h, delivered.chat_id).await.is_empty());
}

/// Texts none of the scenarios above use, on each kind of connection (70001 WABA, 70002
/// WhatsApp, 70003 and 70004 the others of the seed): the three implementations must send the
/// same requests, byte for byte apart from the chat.
const HOLDOUT: [(i64, &str); 10] = [
    (70001, "What is the Price of delivery?"),
    (70002, "СКОЛЬКО СТОИТ футболка"),
    (70003, "size chart please"),
    (70004, "Размер M есть?"),
    (70001, "часы работы в субботу?"),
    (70002, "hours"),
    (70003, "nothing to match here"),
    (70001, "РаЗмЕр"),
    (70004, "price|size"),
    (70002, "  "),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_implementations_reply_identically_on_the_holdout_set() {
    let h = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut replies: Vec<Vec<Value>> = Vec::new();
    for (n, lang) in ["rust", "ts", "py"].into_iter().enumerate() {
        let plugin = h.load(&manifest(lang)).unwrap_or_else(|e| panic!("{e}"));
        let mut mine = Vec::new();
        for (i, (connection, text)) in HOLDOUT.iter().enumerate() {
            let phone = format!("7999100{n}{i:03}");
            let (delivered, event) = h.inbound_text(*connection, &phone, text).await.unwrap();
            let outcome = h.run(&plugin, event).await;
            assert_eq!(
                outcome.status,
                RunStatus::Succeeded,
                "{lang} {text:?}: {:?}",
                outcome.logs
            );
            let sent = sent_to(&h, delivered.chat_id).await;
            mine.push(Value::Array(sent.iter().map(without_chat).collect()));
        }
        replies.push(mine);
    }
    assert!(
        replies[0].iter().any(|r| r != &Value::Array(Vec::new())),
        "some reply is sent"
    );
    for (i, (connection, text)) in HOLDOUT.iter().enumerate() {
        assert_eq!(
            replies[0][i], replies[1][i],
            "rust vs ts on {connection} {text:?}"
        );
        assert_eq!(
            replies[0][i], replies[2][i],
            "rust vs python on {connection} {text:?}"
        );
    }
}

/// A sent request with the chat left out (each language answered in its own chat).
fn without_chat(sent: &Value) -> Value {
    let mut request = sent["request"].clone();
    if let Some(fields) = request.as_object_mut() {
        fields.remove("chat_id");
    }
    request
}

/// componentize-py does not follow a symlink out of the plugin's directory, so the Python port
/// holds a copy of the SDK: it must stay the SDK.
#[test]
fn the_python_port_holds_the_sdk_as_it_is() {
    let read = |path: &str| std::fs::read_to_string(repo_root().join(path)).expect(path);
    assert_eq!(
        read("plugins/auto-reply-py/switchboard_plugin.py"),
        read("plugins/sdk-py/switchboard_plugin.py"),
        "copy plugins/sdk-py/switchboard_plugin.py to plugins/auto-reply-py/"
    );
}

/// No action but clock reads (the JavaScript engine reads the clock itself on every call).
fn sends_nothing(actions: &[switchboard_runtime::ActionRecord]) -> bool {
    actions.iter().all(|a| a.kind == "clock.now")
}

/// Rust only (the rule option is the Rust plugin's): a rule with `"tag"` tags the customer's
/// contact in Radist; a rule without one (the shipped rules) tags nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_with_a_tag_tags_the_contact_and_others_tag_nothing() {
    let file = repo_root().join("manifests/auto-reply.toml");
    let shipped = std::fs::read_to_string(&file).unwrap();
    let read_only = "tags = { connections = [70001, 70002, 70003, 70004] }";
    let hours = "\"reply\": \"Мы работаем с 9:00 до 21:00 без выходных.\"}";
    assert!(
        shipped.contains(read_only) && shipped.contains(hours),
        "the shipped manifest changed"
    );
    let text = shipped
        .replace(
            read_only,
            "tags = { write = true, connections = [70002], allow = [\"asked-hours\"], create_missing = true }",
        )
        .replace(hours, &hours.replace('}', ", \"tag\": \"asked-hours\"}"));
    let h = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plugin = h
        .load_with(&file, Some(&text), &switchboard_testing::Secrets::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let (asked, event) = h
        .inbound_text(70002, "79990001190", "часы работы?")
        .await
        .unwrap();
    let outcome = h.run(&plugin, event).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    assert_eq!(sent_to(&h, asked.chat_id).await.len(), 1, "answered");
    let contact = h.sandbox().contact(asked.contact_id).await.unwrap();
    assert_eq!(contact.tags, ["asked-hours"]);
    let (priced, event) = h
        .inbound_text(70002, "79990001191", "price?")
        .await
        .unwrap();
    assert_eq!(h.run(&plugin, event).await.status, RunStatus::Succeeded);
    let contact = h.sandbox().contact(priced.contact_id).await.unwrap();
    assert!(
        contact.tags.is_empty(),
        "a rule without a tag tags nothing: {:?}",
        contact.tags
    );
}

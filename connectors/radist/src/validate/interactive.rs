//! `waba_interactive` checks: the spec's limits on body, footer, header, reply buttons and
//! list sections, plus WhatsApp's rules (LIMITS.md §1.2, §1.3): unique ids and titles, ids
//! without outer spaces, at most 10 rows in total, section titles when there are several,
//! text-only list headers and the configurable list body limit.

use std::collections::HashMap;

use super::check::Checker;
use super::limits::{INTERACTIVE_BUTTONS_MAX, ROWS_MAX, SECTIONS_MAX};
use crate::models::{
    InteractiveButtonIn, InteractiveHeaderIn, InteractiveSectionIn, InteractiveSectionsIn,
    MediaHeaderFormat, WabaInteractiveIn, WabaInteractiveType,
};

/// Spec limits of `WabaInteractiveMessageContentIn` and its parts (Appendix A).
const BODY: (usize, usize) = (1, 1024);
const FOOTER: (usize, usize) = (1, 60);
const HEADER_TEXT: (usize, usize) = (1, 60);
const HEADER_FILENAME: (usize, usize) = (1, 128);
const BUTTONS: (usize, usize) = (1, INTERACTIVE_BUTTONS_MAX);
const BUTTON_TITLE: (usize, usize) = (1, 20);
const ID: (usize, usize) = (1, 200);
const LIST_BUTTON: (usize, usize) = (1, 20);
const SECTIONS: (usize, usize) = (1, SECTIONS_MAX);
const SECTION_TITLE: (usize, usize) = (1, 24);
const ROWS: (usize, usize) = (1, ROWS_MAX);
/// WhatsApp: "up to 10 rows for all sections combined".
const ROWS_TOTAL_MAX: usize = 10;
const ROW_TITLE: (usize, usize) = (1, 24);
const ROW_DESCRIPTION: (usize, usize) = (0, 72);

const BUTTONS_PATH: &str = "waba_interactive.action.buttons";
const SECTIONS_PATH: &str = "waba_interactive.action.sections";

/// Ids seen so far in the message, each with the path where it first appeared.
type SeenIds<'a> = HashMap<&'a str, String>;

/// Checks a `waba_interactive` content object (paths under `waba_interactive.`).
pub(crate) fn check_interactive(c: &mut Checker<'_>, i: &WabaInteractiveIn) {
    let body_max = match i.kind {
        WabaInteractiveType::List => c.opts().list_body_max,
        WabaInteractiveType::Button => BODY.1,
    };
    c.length("waba_interactive.body", &i.body, (BODY.0, body_max));
    if let Some(footer) = &i.footer {
        c.length("waba_interactive.footer", footer, FOOTER);
    }
    if let Some(header) = &i.header {
        check_header(c, header, i.kind);
    }
    let action = &i.action;
    let mut ids = SeenIds::new();
    match i.kind {
        WabaInteractiveType::Button => {
            absent(c, SECTIONS_PATH, action.sections.is_some(), "button");
            match &action.buttons {
                Some(buttons) => check_buttons(c, buttons, &mut ids),
                None => c.push(BUTTONS_PATH, "is required for a `button` message"),
            }
        }
        WabaInteractiveType::List => {
            absent(c, BUTTONS_PATH, action.buttons.is_some(), "list");
            match &action.sections {
                Some(list) => check_list(c, list, &mut ids),
                None => c.push(SECTIONS_PATH, "is required for a `list` message"),
            }
        }
    }
}

fn absent(c: &mut Checker<'_>, path: &str, present: bool, kind: &str) {
    if present {
        c.push(path, format!("must be absent for a `{kind}` message"));
    }
}

fn check_header(c: &mut Checker<'_>, header: &InteractiveHeaderIn, kind: WabaInteractiveType) {
    let format = format_name(header.kind);
    let is_list = kind == WabaInteractiveType::List;
    if is_list && header.kind != MediaHeaderFormat::Text && c.whatsapp_applies() {
        c.push(
            "waba_interactive.header.type",
            format!("must be `text` for a `list` message (got `{format}`)"),
        );
    }
    let path = "waba_interactive.header";
    match (header.kind, &header.text, &header.url) {
        (MediaHeaderFormat::Text, Some(text), _) => {
            c.length(&format!("{path}.text"), text, HEADER_TEXT);
        }
        (MediaHeaderFormat::Text, None, _) => {
            c.push(format!("{path}.text"), "is required for a `text` header");
        }
        (_, _, Some(url)) if !url.trim().is_empty() => {}
        _ => c.push(
            format!("{path}.url"),
            format!("is required for a media header (`{format}`)"),
        ),
    }
    if let Some(filename) = &header.filename {
        c.length(&format!("{path}.filename"), filename, HEADER_FILENAME);
    }
}

fn check_buttons<'a>(
    c: &mut Checker<'_>,
    buttons: &'a [InteractiveButtonIn],
    ids: &mut SeenIds<'a>,
) {
    let walk = c.count(BUTTONS_PATH, buttons.len(), BUTTONS, "button");
    let mut titles: HashMap<&str, String> = HashMap::new();
    for (i, button) in buttons.iter().take(walk).enumerate() {
        let path = format!("{BUTTONS_PATH}[{i}].reply");
        let title = button.reply.title.as_str();
        let title_path = format!("{path}.title");
        c.length(&title_path, title, BUTTON_TITLE);
        if let Some(first) = titles.get(title) {
            let message =
                format!("must be unique among the buttons ({title:?} is also at {first})");
            c.push(&title_path, message);
        } else {
            titles.insert(title, title_path);
        }
        if let Some(id) = &button.reply.id {
            check_id(c, format!("{path}.id"), id, ids);
        }
    }
}

fn check_list<'a>(c: &mut Checker<'_>, list: &'a InteractiveSectionsIn, ids: &mut SeenIds<'a>) {
    c.length(
        &format!("{SECTIONS_PATH}.button"),
        &list.button,
        LIST_BUTTON,
    );
    let path = format!("{SECTIONS_PATH}.sections");
    let sections = &list.sections;
    let walk = c.count(&path, sections.len(), SECTIONS, "section");
    let sections = &sections[..walk];
    let total: usize = sections.iter().map(|s| s.rows.len()).sum();
    if total > ROWS_TOTAL_MAX {
        c.push(
            &path,
            format!("must have at most {ROWS_TOTAL_MAX} rows in total (got {total})"),
        );
    }
    let several = sections.len() > 1;
    for (i, section) in sections.iter().enumerate() {
        check_section(c, &format!("{path}[{i}]"), section, several, ids);
    }
}

fn check_section<'a>(
    c: &mut Checker<'_>,
    path: &str,
    section: &'a InteractiveSectionIn,
    several: bool,
    ids: &mut SeenIds<'a>,
) {
    match &section.title {
        Some(title) => c.length(&format!("{path}.title"), title, SECTION_TITLE),
        None if several && c.whatsapp_applies() => c.push(
            format!("{path}.title"),
            "is required when the list has more than one section",
        ),
        None => {}
    }
    let walk = c.count(&format!("{path}.rows"), section.rows.len(), ROWS, "row");
    for (i, row) in section.rows.iter().take(walk).enumerate() {
        let path = format!("{path}.rows[{i}]");
        c.length(&format!("{path}.title"), &row.title, ROW_TITLE);
        if let Some(description) = &row.description {
            c.length(&format!("{path}.description"), description, ROW_DESCRIPTION);
        }
        if let Some(id) = &row.id {
            check_id(c, format!("{path}.id"), id, ids);
        }
    }
}

/// A button or row id: 1..200 characters, no outer spaces, unique in the message.
fn check_id<'a>(c: &mut Checker<'_>, path: String, id: &'a str, ids: &mut SeenIds<'a>) {
    c.length(&path, id, ID);
    c.no_outer_spaces(&path, id);
    if let Some(first) = ids.get(id) {
        let message = format!("must be unique in the message ({id:?} is also at {first})");
        c.push(path, message);
    } else {
        ids.insert(id, path);
    }
}

fn format_name(format: MediaHeaderFormat) -> &'static str {
    match format {
        MediaHeaderFormat::Text => "text",
        MediaHeaderFormat::Image => "image",
        MediaHeaderFormat::Video => "video",
        MediaHeaderFormat::Document => "document",
    }
}

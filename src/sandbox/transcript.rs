//! The readable record of a sandbox day: who typed or pressed what, what the bot answered
//! (as the user sees it: HTML tags removed, buttons as [labels]), and every check's outcome.

use std::fmt::Write as _;

use crate::fake_telegram::SentMessage;

#[derive(Default)]
pub struct Transcript {
    pub checks: usize,
    pub failures: Vec<String>,
    out: String,
}

fn now() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// Telegram shows HTML as formatting; the transcript shows the plain text.
pub fn plain(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Transcript {
    pub fn section(&mut self, title: &str) {
        self.emit(&format!("\n=== {title} ==="));
    }

    pub fn typed(&mut self, who: &str, text: &str) {
        let shown: String = if text.chars().count() > 80 {
            format!(
                "{}… ({} символов)",
                text.chars().take(60).collect::<String>(),
                text.chars().count()
            )
        } else {
            text.to_string()
        };
        self.emit(&format!("{} {who}: «{shown}»", now()));
    }

    pub fn pressed(&mut self, who: &str, label: &str) {
        self.emit(&format!("{} {who}: нажимает [{label}]", now()));
    }

    pub fn note(&mut self, text: &str) {
        self.emit(&format!("{} {text}", now()));
    }

    pub fn bot(&mut self, to: &str, message: &SentMessage) {
        let mut line = format!("{}   бот → {to}: ", now());
        let text = plain(&message.text);
        let mut lines = text.lines();
        // A document is shown by its name and size, its caption (if any) after it.
        if let Some(document) = &message.document {
            let _ = write!(
                line,
                "📎 {} ({} байт)",
                document.file_name.as_deref().unwrap_or("файл"),
                document.bytes.len()
            );
            if !text.is_empty() {
                line.push(' ');
            }
        }
        line.push_str(lines.next().unwrap_or(""));
        for more in lines {
            let _ = write!(line, "\n{:>12}{more}", "");
        }
        let buttons = message.buttons();
        if !buttons.is_empty() {
            let _ = write!(
                line,
                "\n{:>12}{}",
                "",
                buttons
                    .iter()
                    .map(|b| format!("[{b}]"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        self.emit(&line);
    }

    /// Records a scripted expectation; a failure is shown in place and counted.
    pub fn check(&mut self, ok: bool, what: &str) -> bool {
        self.checks += 1;
        if !ok {
            self.failures.push(what.to_string());
            self.emit(&format!("      ✗ ПРОВЕРКА НЕ ПРОШЛА: {what}"));
        }
        ok
    }

    fn emit(&mut self, line: &str) {
        println!("{line}");
        self.out.push_str(line);
        self.out.push('\n');
    }

    pub fn text(&self) -> &str {
        &self.out
    }

    /// The one-line verdict.
    pub fn verdict(&self) -> String {
        if self.failures.is_empty() {
            format!("ИТОГ: все {} проверок пройдены", self.checks)
        } else {
            format!(
                "ИТОГ: не пройдено {} из {} проверок: {}",
                self.failures.len(),
                self.checks,
                self.failures.join("; ")
            )
        }
    }
}

//! `repair-bot sandbox` plays the whole working day through the fake Bot API with the real bot
//! process and exits 0 only when every scripted expectation held.

use crate::support::sandbox;

#[test]
fn the_sandbox_day_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = sandbox(dir.path(), &[]);
    let verdict = stdout.lines().last().unwrap_or_default();
    assert!(
        verdict.starts_with("ИТОГ: все") && verdict.ends_with("проверок пройдены"),
        "{verdict}"
    );
    // The transcript shows people and the bot, and the day ends with the report.
    assert!(stdout.contains("Ольга (диспетчер): нажимает [📝 Новая заявка]"));
    assert!(stdout.contains("бот → Сергей (мастер)"));
    assert!(stdout.contains("Отчёт за день"));
}

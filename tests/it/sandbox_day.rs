//! `repair-bot sandbox` plays the whole working day through the fake Bot API with the real bot
//! process and exits 0 only when every scripted expectation held (among them: a search finds
//! an order, its address is corrected, and the report's .xlsx file agrees with the database).

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
    // It shows a search, a correction and the report file, each checked in the verdict.
    assert!(stdout.contains("Ольга (диспетчер): нажимает [🔎 Поиск]"));
    assert!(stdout.contains("поле «Адрес» изменено"));
    assert!(
        stdout.contains("бот → Иван (админ): 📎 otchet_"),
        "{stdout}"
    );
    assert!(stdout.contains("в файле на листе «Мастера»: закрыто 10"));
}

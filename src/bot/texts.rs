//! Every text the users see, in Russian, in one place (a second language would be a second
//! module with the same functions). Messages are HTML: every user-supplied value goes through
//! [`esc`].

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;

use crate::domain::history::{Details, MasterRef, Note};
use crate::domain::ids::{OrderId, TelegramId};
use crate::domain::money::{Breakdown, Kopecks};
use crate::domain::status::{ActionKind, Denied, OrderStatus, Role};
use crate::domain::validation::{PhoneError, TextError};
use crate::store::masters::Master;
use crate::store::orders::{HistoryRow, Order};
use crate::store::users::User;

/// Escapes a user-supplied value for Telegram's HTML parse mode.
pub fn esc(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

// Main menu buttons (reply keyboard). Matching a press compares with these exact strings.
pub const MENU_NEW_ORDER: &str = "📝 Новая заявка";
pub const MENU_ORDERS: &str = "📋 Заявки";
pub const MENU_SEARCH: &str = "🔎 Поиск";
pub const MENU_MY_ORDERS: &str = "🔧 Мои заявки";
pub const MENU_MASTERS: &str = "👷 Мастера";
pub const MENU_ADD_MASTER: &str = "➕ Добавить мастера";
pub const MENU_HELP: &str = "❓ Помощь";
pub const MENU_REPORTS: &str = "📊 Отчёты";
pub const MENU_MY_STATS: &str = "📈 Моя статистика";

pub const BUTTON_SKIP: &str = "Пропустить";
pub const BUTTON_CANCEL: &str = "Отмена";
pub const BUTTON_CONFIRM: &str = "✅ Создать заявку";
pub const BUTTON_YES: &str = "Да";
pub const BUTTON_NO: &str = "Нет";
pub const BUTTON_PICK_GROUP: &str = "Выбрать рабочую группу";
pub const BUTTON_REFRESH: &str = "🔄 Обновить";
pub const BUTTON_BACK: &str = "⬅️ Назад";

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "администратор",
        Role::Dispatcher => "диспетчер",
        Role::Master => "мастер",
    }
}

pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "🆕 Новая",
        OrderStatus::Assigned => "👤 Назначена",
        OrderStatus::Accepted => "✅ Принята мастером",
        OrderStatus::Onsite => "🏠 Мастер на месте",
        OrderStatus::Dr => "⏳ Длительный ремонт",
        OrderStatus::Closed => "💰 Закрыта",
        OrderStatus::Refused => "❌ Отказ",
    }
}

pub fn action_button(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Assign => "👤 Назначить мастера",
        ActionKind::Unassign => "↩️ Снять мастера",
        ActionKind::Accept => "✅ Принять",
        ActionKind::Decline => "🚫 Отклонить",
        ActionKind::GoOnsite => "🏠 На месте",
        ActionKind::LongRepair => "⏳ Длительный ремонт",
        ActionKind::ResumeOnsite => "🏠 Снова на месте",
        ActionKind::Close => "💰 Закрыть заявку",
        ActionKind::Refuse => "❌ Отказ",
        ActionKind::Restore => "♻️ Восстановить",
    }
}

/// To someone an admin has just made a master: the new menu comes with it.
pub fn now_a_master(user: &User, roles: &[Role]) -> String {
    format!(
        "Вас добавили мастером. Новые заявки придут сюда или в вашу рабочую группу.\n\n{}",
        welcome(user, roles)
    )
}

pub fn welcome(user: &User, roles: &[Role]) -> String {
    let name = esc(&user.display_name());
    if roles.is_empty() {
        return unknown_user(user.telegram_id);
    }
    let roles: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
    format!(
        "Здравствуйте, {name}!\nВаша роль: <b>{}</b>.\nВыберите действие в меню ниже.",
        roles.join(", ")
    )
}

pub fn unknown_user(telegram_id: TelegramId) -> String {
    format!(
        "Здравствуйте! Этот бот — рабочий инструмент сервиса ремонта техники.\n\
         У вас пока нет доступа. Сообщите администратору ваш Telegram id: <code>{telegram_id}</code>"
    )
}

/// /help: what each of the sender's roles can do, with the menu buttons as they are spelled;
/// an admin's part adds to the dispatcher's, several roles get every part once.
pub fn help(roles: &[Role]) -> String {
    let mut text = String::from(
        "<b>Что умеет бот</b>\n/start — главное меню\n/help — эта справка\n/cancel — отменить текущее действие\n",
    );
    let staff = roles.contains(&Role::Admin) || roles.contains(&Role::Dispatcher);
    if roles.is_empty() {
        text.push_str(
            "\nУ вас пока нет роли. Отправьте /start, узнайте свой Telegram id и сообщите его администратору.\n",
        );
    }
    if staff {
        text.push_str(&format!(
            "\n<b>Диспетчер</b>\n\
             • «{MENU_NEW_ORDER}» — заявка в 7 шагов: техника, неисправность, телефон, клиент, адрес, примечания, время прибытия. Знакомый телефон покажет прошлые заявки клиента и предложит его имя и адрес; время вроде «завтра в 15:00» бот поймёт и напомнит мастеру перед визитом.\n\
             • «{MENU_ORDERS}» — заявки по статусам, постранично; из списка открывается карточка с историей.\n\
             • В карточке: назначить мастера, переназначить или снять его, оформить отказ с причиной, восстановить отказ, «{BUTTON_EDIT}» поле открытой заявки, «{BUTTON_RESCHEDULE}» с причиной (мастер получит сообщение).\n\
             • «{MENU_SEARCH}» — по телефону клиента в любом формате, номеру заявки или части адреса.\n\
             • «{MENU_REPORTS}» — за сегодня, вчера, неделю, месяц или свои даты: по мастерам, технике и статусам, сообщением и файлом .xlsx.\n\
             • Сообщения о действиях мастеров по вашим заявкам, о новых заявках, которые долго никто не назначил, и итоги дня.\n"
        ));
    }
    if roles.contains(&Role::Admin) {
        text.push_str(&format!(
            "\n<b>Администратор</b> — всё, что диспетчер, и ещё:\n\
             • «{MENU_ADD_MASTER}» — по Telegram id пользователя, который уже писал боту, телефону и специализации.\n\
             • «{MENU_MASTERS}» — заявки и выручка мастера, включить или выключить его, привязать рабочую группу.\n\
             • Оповещения SLA: заявка слишком долго в одном статусе.\n"
        ));
    }
    if roles.contains(&Role::Master) {
        text.push_str(&format!(
            "\n<b>Мастер</b>\n\
             • Назначенные заявки приходят в рабочую группу или лично: «Принять» или «Отклонить» с причиной.\n\
             • Дальше: «На месте» (с этого момента виден телефон клиента), «Длительный ремонт» и обратно, «Закрыть заявку» с суммой, материалами и отметкой об отзыве.\n\
             • «{MENU_MY_ORDERS}» — ваши открытые заявки; «{MENU_MY_STATS}» — ваши цифры за сегодня и за месяц.\n\
             • Перед визитом придёт напоминание; «{BUTTON_RESCHEDULE}» в принятой заявке — с причиной, диспетчер получит сообщение.\n"
        ));
    }
    text
}

pub const NOT_UNDERSTOOD: &str =
    "Не понял сообщение. Выберите действие в меню или отправьте /help.";
pub const NO_ACCESS: &str = "Это действие вам недоступно.";
pub const CANCELLED: &str = "Действие отменено.";
pub const NOTHING_TO_CANCEL: &str = "Нечего отменять.";
/// A button of a dialogue step that is over: pressed twice, or after the dialogue ended.
pub const STEP_OVER: &str = "Эта кнопка уже не действует: шаг пройден или отменён.";
pub const ORDER_NOT_FOUND: &str = "Заявка не найдена.";
pub const ORDER_CHANGED: &str = "Заявка уже изменилась — вот актуальная карточка.";
/// A pop-up on a button in a group whose dialogue goes on privately, when the bot may not
/// write to the person (blocked, or never started).
pub const OPEN_PRIVATE_CHAT: &str =
    "Чтобы продолжить, откройте личный чат с ботом и нажмите «Запустить» (/start), затем нажмите кнопку ещё раз.";
pub const TRY_AGAIN_LATER: &str = "Не получилось выполнить действие. Попробуйте ещё раз.";
pub const USE_BUTTONS: &str = "Пожалуйста, выберите вариант кнопкой.";

// Intake dialogue.
pub const ASK_EQUIPMENT: &str = "Новая заявка. Шаг 1 из 7: выберите тип техники.";
pub const ASK_DESCRIPTION: &str = "Шаг 2 из 7: опишите неисправность (от 10 до 500 символов).";
// The phone comes before the name and address: a known client's are offered from it.
pub const ASK_PHONE: &str = "Шаг 3 из 7: телефон клиента, например +7 900 123-45-67.";
pub const ASK_CLIENT_NAME: &str = "Шаг 4 из 7: имя клиента (от 2 до 200 символов).";
pub const ASK_ADDRESS: &str = "Шаг 5 из 7: адрес клиента (от 5 до 500 символов).";
pub const ASK_NOTES: &str = "Шаг 6 из 7: примечания (до 1000 символов) или «Пропустить».";
pub const ASK_ARRIVAL: &str =
    "Шаг 7 из 7: время прибытия («завтра в 15:00», «в пятницу с 14 до 16», «через 2 часа») или указание (до 100 символов), или «Пропустить».";

pub fn text_error(error: &TextError) -> String {
    match error {
        TextError::TooShort { min, .. } => {
            format!("Слишком коротко: нужно не меньше {min} символов. Попробуйте ещё раз.")
        }
        TextError::TooLong { max, .. } => {
            format!("Слишком длинно: не больше {max} символов. Сократите и отправьте ещё раз.")
        }
        TextError::NoLetter => {
            "Имя должно содержать хотя бы одну букву. Попробуйте ещё раз.".into()
        }
    }
}

pub fn phone_error(_error: &PhoneError) -> String {
    "Не похоже на российский номер. Пример правильного: <code>+7 900 123-45-67</code> или <code>8 900 123 45 67</code>.".into()
}

pub fn order_summary(draft: &OrderDraftView<'_>) -> String {
    let mut text = String::from("<b>Проверьте заявку</b>\n");
    text.push_str(&format!("Техника: {}\n", esc(draft.equipment)));
    text.push_str(&format!("Неисправность: {}\n", esc(draft.description)));
    text.push_str(&format!("Клиент: {}\n", esc(draft.client_name)));
    text.push_str(&format!("Адрес: {}\n", esc(draft.address)));
    text.push_str(&format!("Телефон: {}\n", esc(draft.phone)));
    if let Some(notes) = draft.notes {
        text.push_str(&format!("Примечания: {}\n", esc(notes)));
    }
    if let Some(arrival) = draft.arrival {
        text.push_str(&format!("Время прибытия: {}\n", esc(arrival)));
        text.push_str(&visit_line(draft.visit.as_ref()));
        text.push('\n');
    }
    text
}

/// The fields of an intake dialogue, for the summary card.
pub struct OrderDraftView<'a> {
    pub equipment: &'a str,
    pub description: &'a str,
    pub client_name: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub notes: Option<&'a str>,
    pub arrival: Option<&'a str>,
    /// The arrival read as a moment.
    pub visit: Option<VisitView>,
}

pub fn order_created(id: OrderId) -> String {
    format!("Заявка <b>№{id}</b> создана.")
}

/// How a staff copy of a new order begins, and a digest of several.
pub const NEW_ORDER_HEADING: &str = "🆕 Новая заявка";
pub const NEW_ORDERS_HEADING: &str = "🆕 Новые заявки";

pub fn new_order_for_staff(order: &Order, author: &str) -> String {
    format!(
        "{NEW_ORDER_HEADING} {}",
        new_order_digest_line(order, author)
    )
}

/// The digest key of staff copies of new orders: several waiting for one person go as one.
pub const DIGEST_NEW_ORDERS: &str = "new_orders";

/// A new order as one line of a digest.
pub fn new_order_digest_line(order: &Order, author: &str) -> String {
    format!(
        "<b>№{}</b> от {}: {} — {}",
        order.id,
        esc(author),
        esc(&order.equipment_type),
        esc(&order.client_address)
    )
}

/// Several waiting messages of one kind as one.
pub fn digest(key: &str, lines: &[String]) -> String {
    match key {
        DIGEST_NEW_ORDERS => format!(
            "{NEW_ORDERS_HEADING} ({}):\n{}",
            lines.len(),
            lines.join("\n")
        ),
        _ => lines.join("\n\n"),
    }
}

/// Who looks at a card decides what it shows: masters see the phone only from ONSITE on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Master,
}

pub fn order_card(
    order: &Order,
    master: Option<(&Master, &User)>,
    audience: Audience,
    tz: Tz,
) -> String {
    let status = order.status();
    let mut text = format!("<b>Заявка №{}</b> — {}\n", order.id, status_name(status));
    text.push_str(&format!("Техника: {}\n", esc(&order.equipment_type)));
    text.push_str(&format!("Неисправность: {}\n", esc(&order.description)));
    text.push_str(&format!("Клиент: {}\n", esc(&order.client_name)));
    text.push_str(&format!("Адрес: {}\n", esc(&order.client_address)));
    let phone_visible = match audience {
        Audience::Staff => true,
        Audience::Master => crate::domain::status::client_phone_visible_to_master(status),
    };
    if phone_visible {
        text.push_str(&format!("Телефон: {}\n", esc(&order.client_phone)));
    } else {
        text.push_str("Телефон: будет виден, когда вы отметите «На месте»\n");
    }
    if let Some(notes) = &order.notes {
        text.push_str(&format!("Примечания: {}\n", esc(notes)));
    }
    if let Some(arrival) = &order.scheduled_time {
        text.push_str(&format!("Время прибытия: {}\n", esc(arrival)));
    }
    if let Some(at) = order.visit_at {
        let view = VisitView::on_card(at, order.created_at, tz);
        text.push_str(&format!("Визит: {}\n", visit_when(&view)));
    }
    if audience == Audience::Staff && order.reschedule_count > 0 {
        text.push_str(&format!("Переносов визита: {}\n", order.reschedule_count));
    }
    if audience == Audience::Staff {
        if let Some((_, user)) = master {
            text.push_str(&format!("Мастер: {}\n", esc(&user.display_name())));
        }
    }
    if let (Some(total), Some(materials)) = (order.total_kopecks, order.materials_kopecks) {
        text.push_str(&format!("Сумма: {total}, материалы: {materials}\n"));
    }
    text.push_str(&format!("Создана: {}", local_time(order.created_at, tz)));
    text
}

pub fn history(rows: &[HistoryRow], names: &dyn Fn(TelegramId) -> String, tz: Tz) -> String {
    let mut text = String::from("\n\n<b>История</b>");
    for row in rows {
        let from = row
            .old_status
            .as_deref()
            .and_then(|s| s.parse().ok())
            .map(status_name)
            .unwrap_or("—");
        let to = row.new_status.parse().map(status_name).unwrap_or("?");
        let who = row.changed_by.map(names).unwrap_or_else(|| "—".into());
        text.push_str(&format!(
            "\n{} {} → {} ({})",
            local_time(row.changed_at, tz),
            from,
            to,
            esc(&who)
        ));
        if let Some(note) = &row.notes {
            let status = row.new_status.parse().ok();
            text.push_str(&format!(": {}", history_note(&Note::read(note, status))));
        }
    }
    text
}

/// A history note in Russian, HTML-escaped: «мастер Иван», «мастер Иван → Пётр», «снят
/// мастер Пётр», «сумма 10 000 ₽, материалы 500 ₽, мастеру 4 750 ₽, компании 4 750 ₽,
/// отзыв: нет», or the reason as typed. A master known by id only (rows of the old form):
/// «мастер №3».
pub fn history_note(note: &Note) -> String {
    let master = |m: &MasterRef| match &m.name {
        Some(name) => esc(name),
        None => format!("№{}", m.id),
    };
    match note {
        Note::Text(text) => esc(text),
        Note::Details(Details::Assigned { master: m }) => format!("мастер {}", master(m)),
        Note::Details(Details::Reassigned { from, to }) => {
            format!("мастер {} → {}", master(from), master(to))
        }
        Note::Details(Details::Unassigned { master: m }) => format!("снят мастер {}", master(m)),
        Note::Details(Details::Closed {
            total,
            materials,
            master_share,
            company_share,
            review,
        }) => format!(
            "сумма {}, материалы {}, мастеру {}, компании {}, отзыв: {}",
            Kopecks(*total),
            Kopecks(*materials),
            Kopecks(*master_share),
            Kopecks(*company_share),
            if *review { "да" } else { "нет" }
        ),
        Note::Details(Details::Edited { field, old, new }) => {
            let value = |v: &Option<String>| esc(v.as_deref().unwrap_or("—"));
            let name = crate::store::orders::EditableField::ALL
                .into_iter()
                .find(|f| f.column() == field)
                .map_or_else(|| esc(field), |f| field_name(f).to_string());
            format!("{name}: «{}» → «{}»", value(old), value(new))
        }
        Note::Details(Details::Rescheduled {
            old, new, reason, ..
        }) => {
            let value = |v: &Option<String>| esc(v.as_deref().unwrap_or("—"));
            format!(
                "перенос визита: «{}» → «{}», причина: {}",
                value(old),
                value(new),
                esc(reason)
            )
        }
    }
}

pub fn local_time(at: NaiveDateTime, tz: Tz) -> String {
    at.and_utc()
        .with_timezone(&tz)
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

pub fn denied(reason: &Denied) -> &'static str {
    match reason {
        Denied::NotAllowedForRole { .. } => NO_ACCESS,
        Denied::WrongStatus { .. } => ORDER_CHANGED,
        Denied::NotYourOrder => "Эта заявка назначена другому мастеру.",
        Denied::SameMaster => "Заявка уже назначена этому мастеру.",
    }
}

pub const PICK_MASTER: &str = "Выберите мастера:";
pub const NO_MASTERS: &str = "Нет активных мастеров. Добавьте мастера или включите существующего.";
pub const MASTER_UNAVAILABLE: &str =
    "Этот мастер сейчас не может принимать заявки. Выберите другого.";
pub const ASK_DECLINE_REASON: &str = "Укажите причину отказа от заявки (одним сообщением):";
pub const ASK_REFUSE_REASON: &str = "Укажите причину отказа клиенту (одним сообщением):";
pub const REASON_TOO_LONG: &str = "Причина слишком длинная: не больше 500 символов.";
pub const REASON_EMPTY: &str = "Напишите причину текстом.";

pub fn assigned_to_master(order: &Order, mention: &str) -> String {
    format!(
        "{mention}, вам назначена заявка <b>№{}</b>. Примите её или отклоните.",
        order.id
    )
}

pub fn taken_from_master(order_id: OrderId) -> String {
    format!("Заявка <b>№{order_id}</b> снята с вас диспетчером.")
}

/// In place of a card whose viewer no longer has the order (declined, or taken off him).
pub fn order_no_longer_yours(order_id: OrderId) -> String {
    format!("Заявка <b>№{order_id}</b> больше не за вами: её назначит диспетчер.")
}

pub fn reminder(order_id: OrderId) -> String {
    format!("⏰ Напоминание: заявка <b>№{order_id}</b> ждёт, что вы её примете или отклоните.")
}

/// The SLA alert for a limit of whole hours. Kept for callers that only have the hours:
/// prefer [`sla_alert_after`] with the configured limit, which keeps its minutes.
pub fn sla_alert(order: &Order, status: OrderStatus, hours: i64) -> String {
    sla_alert_after(order, status, TimeDelta::hours(hours))
}

/// "⚠️ Заявка №42 дольше 1 ч 30 мин в статусе …": the limit exactly, to the minute.
pub fn sla_alert_after(order: &Order, status: OrderStatus, limit: TimeDelta) -> String {
    format!(
        "⚠️ Заявка <b>№{}</b> дольше {} в статусе «{}». Адрес: {}",
        order.id,
        duration(limit),
        status_name(status),
        esc(&order.client_address)
    )
}

/// A span of time in hours and minutes: "2 ч", "1 ч 30 мин", "45 мин" (seconds dropped;
/// "0 мин" under a minute).
pub fn duration(span: TimeDelta) -> String {
    let minutes = span.num_minutes();
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (hours, minutes) {
        (0, m) => format!("{m} мин"),
        (h, 0) => format!("{h} ч"),
        (h, m) => format!("{h} ч {m} мин"),
    }
}

/// One reminder for many orders at once (after downtime, or on an adopted database), in place
/// of a message per order: how many, the longest-waiting few, what to do.
pub fn reminders_summary(longest_waiting: &[OrderId], total: usize) -> String {
    format!(
        "⏰ Напоминание: заявок ждут, что вы их примете или отклоните: <b>{total}</b>. Дольше всех — {}. Откройте «{MENU_MY_ORDERS}» и примите или отклоните каждую.",
        order_numbers(longest_waiting, total)
    )
}

/// One SLA alert for many orders at once: how many, per status with its limit, the
/// longest-late few, what to do.
pub fn sla_summary(
    per_status: &[(OrderStatus, TimeDelta, usize)],
    longest_late: &[OrderId],
    total: usize,
) -> String {
    let statuses: Vec<String> = per_status
        .iter()
        .map(|(status, limit, count)| {
            format!(
                "{} дольше {}: {count}",
                status_name(*status),
                duration(*limit)
            )
        })
        .collect();
    format!(
        "⚠️ Сроки нарушены у заявок: <b>{total}</b> ({}). Дольше всех — {}. Откройте «{MENU_ORDERS}» и разберите их по статусам: назначьте, переназначьте или закройте.",
        statuses.join("; "),
        order_numbers(longest_late, total)
    )
}

/// "№7, №3 и ещё 9": the named orders and how many more there are.
fn order_numbers(named: &[OrderId], total: usize) -> String {
    let list: Vec<String> = named.iter().map(|id| format!("№{id}")).collect();
    match total.saturating_sub(named.len()) {
        0 => list.join(", "),
        rest => format!("{} и ещё {rest}", list.join(", ")),
    }
}

/// What the creating dispatcher is told after a master's action.
pub fn master_did(
    order_id: OrderId,
    master: &str,
    kind: ActionKind,
    reason: Option<&str>,
) -> String {
    let what = match kind {
        ActionKind::Accept => "принял заявку",
        ActionKind::Decline => "отклонил заявку",
        ActionKind::GoOnsite => "на месте по заявке",
        ActionKind::LongRepair => "перевёл в длительный ремонт заявку",
        ActionKind::ResumeOnsite => "снова на месте по заявке",
        ActionKind::Close => "закрыл заявку",
        _ => "изменил заявку",
    };
    let mut text = format!("Мастер {} {what} <b>№{order_id}</b>.", esc(master));
    if let Some(reason) = reason {
        text.push_str(&format!("\nПричина: {}", esc(reason)));
    }
    text
}

pub const ASK_TOTAL: &str =
    "Закрытие заявки. Введите сумму, которую заплатил клиент (например, 3 500 или 3500,50):";
pub const ASK_MATERIALS: &str = "Введите стоимость материалов (0, если не было):";
pub const ASK_REVIEW: &str = "Клиент оставил отзыв?";
pub const AMOUNT_INVALID: &str =
    "Не понял сумму. Введите число рублей, например <code>3 500</code> или <code>3500,50</code>.";
pub const MATERIALS_ABOVE_TOTAL: &str =
    "Материалы не могут стоить больше суммы заказа. Введите стоимость материалов ещё раз:";

pub fn breakdown(order_id: OrderId, b: &Breakdown) -> String {
    format!(
        "💰 Заявка <b>№{order_id}</b> закрыта.\nСумма: {}\nМатериалы: {}\nЧистая сумма: {}\nМастеру: {} ({}%)\nКомпании: {}\nОтзыв: {}",
        b.total,
        b.materials,
        b.net,
        b.master,
        b.master_percent,
        b.company,
        if b.has_review { "да" } else { "нет" }
    )
}

// Masters management.
pub const ASK_MASTER_ID: &str = "Введите Telegram id пользователя, который уже писал боту:";
pub const ASK_MASTER_PHONE: &str = "Телефон мастера:";
pub const ASK_MASTER_SPECIALIZATION: &str =
    "Специализация мастера (например, «Холодильники, стиральные машины»):";
pub const NOT_AN_ID: &str = "Telegram id — это число, например <code>123456789</code>.";
pub const SPECIALIZATION_INVALID: &str = "Специализация: от 2 до 200 символов.";

pub fn unknown_user_id(id: TelegramId) -> String {
    format!(
        "Пользователь <code>{id}</code> ещё не писал боту. Попросите его отправить боту /start."
    )
}

pub fn already_master(id: TelegramId) -> String {
    format!("Пользователь <code>{id}</code> уже мастер.")
}

pub fn master_added(name: &str) -> String {
    format!("Мастер {} добавлен.", esc(name))
}

pub fn master_card(
    master: &Master,
    user: &User,
    group_title: Option<&str>,
    counts: &[(OrderStatus, i64)],
    money: &crate::store::masters::MoneyTotals,
) -> String {
    let group = match (master.work_chat_id, group_title) {
        (None, _) => "не привязана".to_string(),
        (Some(_), Some(title)) => format!("«{}»", esc(title)),
        (Some(id), None) => format!("{id} (бот не видит эту группу)"),
    };
    let mut text = format!(
        "<b>{}</b> ({})\nТелефон: {}\nСпециализация: {}\nСтатус: {}\nРабочая группа: {}",
        esc(&user.display_name()),
        user.telegram_id,
        esc(&master.phone),
        esc(&master.specialization),
        if master.is_active {
            "активен"
        } else {
            "выключен"
        },
        group,
    );
    if !counts.is_empty() {
        text.push_str("\nЗаявки:");
        for (status, n) in counts {
            text.push_str(&format!("\n  {}: {n}", status_name(*status)));
        }
    }
    text.push_str(&format!(
        "\nЗакрыто: {}, выручка {}, мастеру {}, компании {}",
        money.closed,
        Kopecks(money.total),
        Kopecks(money.master_share),
        Kopecks(money.company_share)
    ));
    text
}

pub fn masters_list_header(count: usize) -> String {
    if count == 0 {
        "Мастеров пока нет.".into()
    } else {
        "Мастера:".into()
    }
}

pub const BUTTON_ACTIVATE: &str = "Включить";
pub const BUTTON_DEACTIVATE: &str = "Выключить";
pub const BUTTON_BIND_GROUP: &str = "Привязать рабочую группу";
pub const ASK_GROUP: &str =
    "Нажмите кнопку ниже и выберите рабочую группу мастера. Бот должен быть участником группы.";

pub fn group_bound(title: &str) -> String {
    format!("Рабочая группа «{}» привязана.", esc(title))
}

pub fn group_bind_failed(detail: &str) -> String {
    format!("Не удалось привязать группу: бот не видит её ({}). Добавьте бота в группу и попробуйте снова.", esc(detail))
}

pub const NO_OPEN_ORDERS: &str = "Открытых заявок нет.";

pub fn backup_failed(detail: &str) -> String {
    format!("⚠️ Плановая резервная копия не создана: {}", esc(detail))
}

pub const BUTTON_EDIT: &str = "✏️ Изменить";
pub const ASK_FIELD: &str = "Что изменить?";
pub const ORDER_NOT_OPEN: &str = "Заявка закрыта или в отказе: изменять её нельзя.";

pub fn field_name(field: crate::store::orders::EditableField) -> &'static str {
    use crate::store::orders::EditableField;
    match field {
        EditableField::Description => "Неисправность",
        EditableField::ClientName => "Имя клиента",
        EditableField::Address => "Адрес",
        EditableField::Phone => "Телефон",
        EditableField::Notes => "Примечания",
        EditableField::Arrival => "Время прибытия",
    }
}

pub fn ask_new_value(field: crate::store::orders::EditableField, current: Option<&str>) -> String {
    format!(
        "{}: сейчас «{}». Отправьте новое значение{}:",
        field_name(field),
        esc(current.unwrap_or("—")),
        match field {
            crate::store::orders::EditableField::Notes
            | crate::store::orders::EditableField::Arrival => " (или «Пропустить», чтобы очистить)",
            _ => "",
        }
    )
}

/// To the master of an order staff have just corrected, above his fresh card.
pub fn changed_for_master(order_id: OrderId, field: crate::store::orders::EditableField) -> String {
    format!(
        "✏️ Диспетчер изменил в заявке <b>№{order_id}</b> поле «{}». Актуальная карточка:",
        field_name(field)
    )
}

pub fn field_changed(order_id: OrderId, field: crate::store::orders::EditableField) -> String {
    format!(
        "Заявка <b>№{order_id}</b>: поле «{}» изменено.",
        field_name(field)
    )
}

pub const FIELD_REQUIRED: &str =
    "Это поле обязательно: отправьте новое значение или нажмите «Отмена».";

// Reports.
pub const ASK_PERIOD: &str = "Отчёт за какой период?";
pub const ASK_CUSTOM_PERIOD: &str =
    "Введите период в виде <code>01.11.2026-15.11.2026</code> (обе даты включительно):";
pub const PERIOD_INVALID: &str =
    "Не понял период. Пример: <code>01.11.2026-15.11.2026</code>, первая дата не позже второй.";

pub fn period_name(period: crate::domain::period::Period) -> String {
    use crate::domain::period::Period;
    match period {
        Period::Today => "Сегодня".into(),
        Period::Yesterday => "Вчера".into(),
        Period::ThisWeek => "Эта неделя".into(),
        Period::LastWeek => "Прошлая неделя".into(),
        Period::ThisMonth => "Этот месяц".into(),
        Period::LastMonth => "Прошлый месяц".into(),
        Period::Custom { from, to } => {
            format!("{} — {}", from.format("%d.%m.%Y"), to.format("%d.%m.%Y"))
        }
    }
}

pub const BUTTON_CUSTOM_PERIOD: &str = "Другой период…";

/// How a period report counts (see `store::reports`).
pub const REPORT_COUNTING: &str =
    "Заявок — созданных за период; закрытые, отказы и деньги — по дате закрытия или отказа.";

fn figures_line(f: &crate::store::reports::Figures) -> String {
    format!(
        "заявок {}, закрыто {}, отказов {}; сумма {}, материалы {}, чистыми {}, мастеру {}, компании {}, средний чек {}, отзывов {}",
        f.orders,
        f.closed,
        f.refused,
        Kopecks(f.total),
        Kopecks(f.materials),
        Kopecks(f.net()),
        Kopecks(f.master_share),
        Kopecks(f.company_share),
        Kopecks(f.average_check()),
        f.reviews
    )
}

pub fn report(period: &str, report: &crate::store::reports::Report) -> String {
    let mut text = format!(
        "<b>Отчёт: {}</b>\n<i>{REPORT_COUNTING}</i>\n\n<b>Итого:</b> {}\n",
        esc(period),
        figures_line(&report.totals)
    );
    if !report.masters.is_empty() {
        text.push_str("\n<b>По мастерам</b>");
        for line in &report.masters {
            text.push_str(&format!(
                "\n• {}: {}",
                esc(&line.name()),
                figures_line(&line.figures)
            ));
        }
    }
    if report.unassigned.orders > 0 {
        text.push_str(&format!(
            "\n• Без мастера: {}",
            figures_line(&report.unassigned)
        ));
    }
    if !report.equipment.is_empty() {
        text.push_str("\n\n<b>По технике</b>");
        for line in &report.equipment {
            text.push_str(&format!(
                "\n• {}: {}",
                esc(&line.equipment_type),
                figures_line(&line.figures)
            ));
        }
    }
    let statuses: Vec<String> = report
        .statuses
        .iter()
        .filter(|s| s.orders > 0)
        .map(|s| format!("{} {}", status_name(s.status), s.orders))
        .collect();
    if !statuses.is_empty() {
        text.push_str(&format!("\n\n<b>По статусам:</b> {}", statuses.join(", ")));
    }
    text
}

pub fn my_stats(period: &str, figures: &crate::store::reports::Figures) -> String {
    format!(
        "<b>Ваша статистика: {}</b>\n<i>{REPORT_COUNTING}</i>\n{}",
        esc(period),
        figures_line(figures)
    )
}

pub fn daily_summary(summary: &crate::store::reports::DailySummary) -> String {
    let open: Vec<String> = summary
        .open_now
        .iter()
        .map(|s| format!("{} {}", status_name(s.status), s.orders))
        .collect();
    let f = &summary.finished;
    format!(
        "<b>Итоги дня</b>\nНовых заявок: {}\nОткрыто сейчас: {}\nЗакрыто: {} на {} (мастерам {}, компании {}), отказов: {}",
        summary.created,
        open.join(", "),
        f.closed,
        Kopecks(f.total),
        Kopecks(f.master_share),
        Kopecks(f.company_share),
        f.refused
    )
}

pub fn report_file_name(period: &str) -> String {
    let safe: String = period
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    format!("otchet_{safe}.xlsx")
}

// Lists and search.
pub const PICK_STATUS: &str = "Заявки по статусам:";
pub const ASK_SEARCH: &str = "Введите телефон клиента, номер заявки или часть адреса:";
pub const NOTHING_FOUND: &str = "Ничего не найдено.";
pub const SEARCH_FORGOTTEN: &str = "Этот поиск уже забыт: найдите заново через «🔎 Поиск».";
pub const BUTTON_NEWER: &str = "◀️ Новее";
pub const BUTTON_OLDER: &str = "Старше ▶️";
pub const BUTTON_FIRST_PAGE: &str = "⏮ В начало";

pub fn status_button(status: OrderStatus, count: i64) -> String {
    format!("{} ({count})", status_name(status))
}

pub fn list_header(status: OrderStatus) -> String {
    format!("<b>{}</b>", status_name(status))
}

pub fn search_header(text: &str) -> String {
    format!("Поиск: <b>{}</b>", esc(text))
}

/// One order in a list: number, address, client (button label, plain text).
pub fn order_line(order: &Order) -> String {
    let address: String = order.client_address.chars().take(30).collect();
    format!(
        "№{} · {} · {}",
        order.id,
        address,
        order.client_name.chars().take(20).collect::<String>()
    )
}

pub fn search_refused(refused: crate::store::search::Refused) -> String {
    use crate::store::search::Refused;
    match refused {
        Refused::Empty => ASK_SEARCH.into(),
        Refused::TooShort { min } => format!("Для поиска по адресу нужно хотя бы {min} символа."),
        Refused::BadPhone(error) => phone_error(&error),
    }
}

// Visits: the arrival read as a moment, reschedules, reminders before the visit.

pub const BUTTON_RESCHEDULE: &str = "🕒 Перенести визит";

/// A visit in the company's local time, with the local "now" it is shown at (to name the
/// year when it is not this one, and to say when it has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitView {
    pub at: NaiveDateTime,
    pub until: Option<NaiveDateTime>,
    pub now: NaiveDateTime,
}

impl VisitView {
    /// A stored visit (UTC) on a card: the year is named when it is not the order's own.
    pub fn on_card(at_utc: NaiveDateTime, created_utc: NaiveDateTime, tz: Tz) -> VisitView {
        use crate::domain::visit_time::to_local;
        VisitView {
            at: to_local(at_utc, tz),
            until: None,
            now: to_local(created_utc, tz),
        }
    }
}

fn weekday_short(day: chrono::Weekday) -> &'static str {
    use chrono::Weekday;
    match day {
        Weekday::Mon => "пн",
        Weekday::Tue => "вт",
        Weekday::Wed => "ср",
        Weekday::Thu => "чт",
        Weekday::Fri => "пт",
        Weekday::Sat => "сб",
        Weekday::Sun => "вс",
    }
}

/// "пт 05.12 в 15:00", "пт 05.12 с 14:00 до 16:00", "пт 05.12.2027 в 15:00" (another year).
pub fn visit_when(visit: &VisitView) -> String {
    use chrono::Datelike;
    let date_format = if visit.at.year() == visit.now.year() {
        "%d.%m"
    } else {
        "%d.%m.%Y"
    };
    let day = format!(
        "{} {}",
        weekday_short(visit.at.weekday()),
        visit.at.format(date_format)
    );
    match visit.until {
        Some(until) => format!(
            "{day} с {} до {}",
            visit.at.format("%H:%M"),
            until.format("%H:%M")
        ),
        None => format!("{day} в {}", visit.at.format("%H:%M")),
    }
}

/// The echo of a typed arrival: the moment understood, or that it stays an instruction.
pub fn visit_line(visit: Option<&VisitView>) -> String {
    match visit {
        Some(visit) if visit.at < visit.now => {
            format!("Визит: {} — ⚠️ это время уже прошло", visit_when(visit))
        }
        Some(visit) => format!("Визит: {}", visit_when(visit)),
        None => "Визит: время не распознано — остаётся указанием, без напоминания".into(),
    }
}

/// After staff corrected the arrival time: what it is understood as now.
pub fn arrival_changed(order_id: OrderId, visit: Option<&VisitView>) -> String {
    format!(
        "{}\n{}",
        field_changed(order_id, crate::store::orders::EditableField::Arrival),
        visit_line(visit)
    )
}

pub fn ask_new_visit(order_id: OrderId, current: Option<&str>) -> String {
    format!(
        "Перенос визита по заявке <b>№{order_id}</b>. Сейчас: «{}».\nНовое время (например, «завтра в 15:00», «в пятницу с 14 до 16») или указание:",
        esc(current.unwrap_or("—"))
    )
}

pub fn ask_reschedule_reason(visit: Option<&VisitView>) -> String {
    format!(
        "{}\nУкажите причину переноса (одним сообщением):",
        visit_line(visit)
    )
}

pub const RESCHEDULE_NOT_ALLOWED: &str =
    "Перенести визит этой заявки сейчас нельзя: мастер переносит принятую заявку, диспетчер — любую открытую.";

/// To whoever moved the visit.
pub fn rescheduled(order_id: OrderId, arrival: &str, visit: Option<&VisitView>) -> String {
    format!(
        "🕒 Визит по заявке <b>№{order_id}</b> перенесён: «{}».\n{}",
        esc(arrival),
        visit_line(visit)
    )
}

/// To the master when staff moved his visit, or to the dispatcher when the master did.
pub fn rescheduled_for(
    order_id: OrderId,
    by: &str,
    old: Option<&str>,
    new: &str,
    visit: Option<&VisitView>,
    reason: &str,
) -> String {
    format!(
        "🕒 Визит по заявке <b>№{order_id}</b> перенесён: «{}» → «{}».\n{}\nПричина: {}\nПеренёс: {}",
        esc(old.unwrap_or("—")),
        esc(new),
        visit_line(visit),
        esc(reason),
        esc(by)
    )
}

/// The reschedules of an order under its history (staff cards).
pub fn reschedule_history(
    rows: &[crate::store::visits::RescheduleRow],
    names: &dyn Fn(TelegramId) -> String,
    tz: Tz,
) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut text = String::from("\n\n<b>Переносы визита</b>");
    for row in rows {
        let who = row.by.map(names).unwrap_or_else(|| "—".into());
        let what = row
            .details
            .as_deref()
            .map(|details| history_note(&Note::read(details, None)))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n{} ({}): {what}",
            local_time(row.at, tz),
            esc(&who)
        ));
    }
    text
}

/// To the master, `left` before the visit.
pub fn visit_reminder(order: &Order, visit: &VisitView, left: TimeDelta) -> String {
    format!(
        "⏰ Визит через {}: заявка <b>№{}</b>, {}.\nАдрес: {}",
        duration(left),
        order.id,
        visit_when(visit),
        esc(&order.client_address)
    )
}

/// To staff, `left` before the visit of an order nobody was assigned to.
pub fn visit_unassigned(order: &Order, visit: &VisitView, left: TimeDelta) -> String {
    format!(
        "⚠️ Визит по заявке <b>№{}</b> через {} ({}), а мастер не назначен. Адрес: {}",
        order.id,
        duration(left),
        visit_when(visit),
        esc(&order.client_address)
    )
}

// Known clients at intake.

/// What is known of the phone just typed, and the name step's question.
pub fn known_client(
    client: &crate::store::clients::KnownClient,
    warranty: TimeDelta,
    tz: Tz,
) -> String {
    let mut text = format!(
        "📇 Этот телефон уже обращался: заявок — <b>{}</b>.",
        client.total
    );
    let listed = client.listed();
    for order in &listed {
        text.push_str(&format!(
            "\n№{} от {} · {} · {}",
            order.id,
            local_date(order.created_at, tz),
            esc(&order.equipment_type),
            status_name(order.status)
        ));
        if client.is_under_warranty(order.id) {
            text.push_str(&format!(
                " · 🛡 гарантия до {}",
                local_date(order.status_changed_at + warranty, tz)
            ));
        }
    }
    let shown = listed.len() as i64;
    if client.total > shown {
        text.push_str(&format!("\n…и ещё {}", client.total - shown));
    }
    if let Some(latest) = client.under_warranty.first() {
        text.push_str(&format!(
            "\n⚠️ Возможен гарантийный случай: заявка №{} закрыта {}.",
            latest.id,
            local_date(latest.status_changed_at, tz)
        ));
    }
    text.push_str(&format!(
        "\n\n{ASK_CLIENT_NAME}\nИли нажмите кнопку, чтобы взять имя и адрес из прошлой заявки."
    ));
    text
}

/// The button that takes the name and address of the client's last order.
pub fn use_known_client(name: &str, address: &str) -> String {
    let label = format!("✅ {name}, {address}");
    let mut short: String = label.chars().take(60).collect();
    if short.len() < label.len() {
        short.push('…');
    }
    short
}

/// After the known client's button: what was taken, and the notes question.
pub fn known_client_taken(name: &str, address: &str) -> String {
    format!(
        "Клиент: {}\nАдрес: {}\n\n{ASK_NOTES}",
        esc(name),
        esc(address)
    )
}

pub fn local_date(at: NaiveDateTime, tz: Tz) -> String {
    at.and_utc()
        .with_timezone(&tz)
        .format("%d.%m.%Y")
        .to_string()
}

//! Every text the users see, in Russian, in one place (a second language would be a second
//! module with the same functions). Messages are HTML: every user-supplied value goes through
//! [`esc`].

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;

use crate::domain::history::{ClosedMoney, Details, MasterRef, Note};
use crate::domain::ids::{OrderId, TelegramId};
use crate::domain::money::{Breakdown, Kopecks, MoneyError, Payment};
use crate::domain::status::{ActionKind, Denied, OrderStatus, Role};
use crate::domain::validation::{PhoneError, TextError};
use crate::store::audit::{AuditAction, AuditRow};
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
        "<b>Что умеет бот</b>\n/start — главное меню\n/help — эта справка\n/cancel — отменить текущее действие\n/order 42 — карточка заявки №42 (и в рабочей группе мастера)\n",
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
             • Сообщения о действиях мастеров по вашим заявкам, о новых заявках, которые долго никто не назначил, и итоги дня.\n\
             • «{BUTTON_CLIENT_WAITING}» в карточке назначенной или принятой заявки — отправить мастеру телефон клиента ещё до того, как он приедет.\n\
             • «{MENU_MASTERS}» — мастера, их заявки и выручка (только просмотр).\n"
        ));
    }
    if roles.contains(&Role::Admin) {
        text.push_str(&format!(
            "\n<b>Администратор</b> — всё, что диспетчер, и ещё:\n\
             • «{MENU_ADD_MASTER}» — по Telegram id пользователя, который уже писал боту, телефону и специализации.\n\
             • «{MENU_MASTERS}» — заявки и выручка мастера, включить или выключить его, привязать рабочую группу, «{BUTTON_FIRE}» (его открытые заявки вернутся в новые).\n\
             • «{BUTTON_DELETE}» в карточке заявки — она пропадёт из списков, поиска и отчётов; вернуть — из «🗑 Удалённые» в «{MENU_ORDERS}».\n\
             • «{MENU_JOURNAL}» — кто что сделал; «{MENU_USERS}» — все пользователи и их роли; «{MENU_SETTINGS}» — действующие настройки (меняются в .env).\n\
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
/// To someone over the rate limit: their extra messages and presses are not handled.
pub const SLOW_DOWN: &str =
    "Слишком много сообщений подряд — подождите несколько секунд. Последние сообщения и нажатия бот пропустил: повторите их чуть позже.";

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
        if let Some((master, user)) = master {
            let fired = if master.is_fired() {
                " (уволен)"
            } else {
                ""
            };
            text.push_str(&format!("Мастер: {}{fired}\n", esc(&user.display_name())));
        }
    }
    if order.out_of_city {
        text.push_str("🚗 За городом\n");
    }
    if status == OrderStatus::Dr {
        if let Some(parts) = &order.parts_note {
            text.push_str(&format!("Ждём: {}\n", esc(parts)));
        }
        if let Some(ready_on) = order.expected_ready_on {
            text.push_str(&format!(
                "Ожидаем закончить: {}\n",
                ready_on.format("%d.%m.%Y")
            ));
        }
    }
    if let Some(prepayment) = order.prepayment_kopecks.filter(|p| *p > Kopecks::ZERO) {
        text.push_str(&format!("Предоплата: {prepayment}\n"));
    }
    if let (Some(total), Some(materials)) = (order.total_kopecks, order.materials_kopecks) {
        text.push_str(&format!("Сумма: {total}, материалы: {materials}\n"));
        if audience == Audience::Staff {
            if let Some(share) = order.master_share_kopecks {
                text.push_str(&format!("Мастеру: {share}"));
            }
            if let Some(share) = order.company_share_kopecks {
                text.push_str(&format!(", компании: {share}"));
            }
            text.push_str(&format!(
                ", оплата: {}{}\n",
                payment_name(order.payment.unwrap_or_default()),
                cash_due_line(
                    order
                        .cash_due_kopecks
                        .or(order.company_share_kopecks)
                        .unwrap_or_default()
                )
                .replace('\n', ". ")
            ));
        }
    }
    text.push_str(&format!("Создана: {}", local_time(order.created_at, tz)));
    text
}

pub fn history(rows: &[HistoryRow], names: &dyn Fn(TelegramId) -> String, tz: Tz) -> String {
    order_history(rows, &[], names, tz)
}

/// The history on an order's card: its status changes and, in time order between them, what
/// the audit log adds about the order (field corrections with the old and the new value, its
/// deletion and return, the client's phone sent ahead to the master).
pub fn order_history(
    rows: &[HistoryRow],
    audit: &[AuditRow],
    names: &dyn Fn(TelegramId) -> String,
    tz: Tz,
) -> String {
    let mut lines: Vec<(NaiveDateTime, u8, i64, String)> = rows
        .iter()
        .map(|row| {
            (
                row.changed_at,
                0,
                row.id,
                status_history_line(row, names, tz),
            )
        })
        .chain(audit.iter().map(|row| {
            (
                row.created_at,
                1,
                row.id,
                audit_history_line(row, names, tz),
            )
        }))
        .collect();
    lines.sort_by_key(|(at, kind, id, _)| (*at, *kind, *id));
    let mut text = String::from("\n\n<b>История</b>");
    for (_, _, _, line) in lines {
        text.push('\n');
        text.push_str(&line);
    }
    text
}

fn audit_history_line(row: &AuditRow, names: &dyn Fn(TelegramId) -> String, tz: Tz) -> String {
    let what = match row.known_action() {
        Some(AuditAction::OrderEdited) => match row.details.as_deref() {
            Some(details) => format!("✏️ {}", history_note(&Note::read(details, None))),
            None => "✏️ изменена".into(),
        },
        _ => audit_what(row),
    };
    let who = row.user_id.map(names).unwrap_or_else(|| "—".into());
    format!("{} {what} ({})", local_time(row.created_at, tz), esc(&who))
}

fn status_history_line(row: &HistoryRow, names: &dyn Fn(TelegramId) -> String, tz: Tz) -> String {
    let from = row
        .old_status
        .as_deref()
        .and_then(|s| s.parse().ok())
        .map(status_name)
        .unwrap_or("—");
    let to = row.new_status.parse().map(status_name).unwrap_or("?");
    let who = row.changed_by.map(names).unwrap_or_else(|| "—".into());
    let mut text = format!(
        "{} {} → {} ({})",
        local_time(row.changed_at, tz),
        from,
        to,
        esc(&who)
    );
    if let Some(note) = &row.notes {
        let status = row.new_status.parse().ok();
        text.push_str(&format!(": {}", history_note(&Note::read(note, status))));
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
        Note::Details(Details::MoneyCorrected { old, new }) => {
            let money = |m: &ClosedMoney| {
                format!(
                    "сумма {}, материалы {}, мастеру {}, компании {}, отзыв: {}",
                    Kopecks(m.total),
                    Kopecks(m.materials),
                    Kopecks(m.master_share),
                    Kopecks(m.company_share),
                    if m.review { "да" } else { "нет" }
                )
            };
            format!(
                "деньги исправлены: было {}; стало {}",
                money(old),
                money(new)
            )
        }
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

/// What the creating dispatcher is told after a master's action (`for_master`: staff did it
/// in the master's name).
pub fn master_did(
    order_id: OrderId,
    who: &str,
    for_master: bool,
    kind: ActionKind,
    reason: Option<&str>,
) -> String {
    let mut text = if for_master {
        format!(
            "{} за мастера: {} <b>№{order_id}</b>.",
            esc(who),
            action_done(kind)
        )
    } else {
        format!(
            "Мастер {} {} <b>№{order_id}</b>.",
            esc(who),
            action_done(kind)
        )
    };
    if let Some(reason) = reason {
        text.push_str(&format!("\nПричина: {}", esc(reason)));
    }
    text
}

/// A master's action on a staff card: done in his name.
pub fn for_master_button(kind: ActionKind) -> String {
    format!("{} (за мастера)", action_button(kind))
}

/// To the master after staff did his part of an order for him.
pub fn done_for_master(order_id: OrderId, who: &str, kind: ActionKind) -> String {
    format!(
        "ℹ️ {} за вас: {} <b>№{order_id}</b>.",
        esc(who),
        action_done(kind)
    )
}

fn action_done(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Accept => "принял заявку",
        ActionKind::Decline => "отклонил заявку",
        ActionKind::GoOnsite => "на месте по заявке",
        ActionKind::LongRepair => "перевёл в длительный ремонт заявку",
        ActionKind::ResumeOnsite => "снова на месте по заявке",
        ActionKind::Close => "закрыл заявку",
        _ => "изменил заявку",
    }
}

pub const ASK_TOTAL: &str =
    "Закрытие заявки. Введите сумму, которую заплатил клиент (например, 3 500 или 3500,50):";
pub const ASK_MATERIALS: &str = "Введите стоимость материалов (0, если не было):";
pub const ASK_REVIEW: &str = "Клиент оставил отзыв?";
pub const AMOUNT_INVALID: &str =
    "Не понял сумму. Введите число рублей, например <code>3 500</code> или <code>3500,50</code>.";
pub const MATERIALS_ABOVE_TOTAL: &str =
    "Материалы не могут стоить больше суммы заказа. Введите стоимость материалов ещё раз:";

/// The split of a closed order with how the master's percent came about, who holds the money
/// and what the master owes the company (or the company him).
pub fn breakdown(order_id: OrderId, b: &Breakdown) -> String {
    format!("💰 Заявка <b>№{order_id}</b> закрыта.\n{}", money_lines(b))
}

fn money_lines(b: &Breakdown) -> String {
    let p = &b.percent;
    let mut why = vec![if p.base_from_equipment {
        format!("{}% по типу техники", p.base)
    } else {
        format!("{}% по сумме", p.base)
    }];
    if p.review_bonus > 0 {
        why.push(format!("+{}% за отзыв", p.review_bonus));
    }
    if p.out_of_city_bonus > 0 {
        why.push(format!("+{}% за выезд за город", p.out_of_city_bonus));
    }
    if let Some(floor) = p.senior_floor {
        why.push(format!("старший мастер: не меньше {floor}%"));
    }
    let mut text = format!(
        "Сумма: {}\nМатериалы: {}\nЧистая сумма: {}\nМастеру: {} ({}%: {})\nКомпании: {}\nОтзыв: {}",
        b.total,
        b.materials,
        b.net,
        b.master,
        b.master_percent,
        why.join(", "),
        b.company,
        if b.has_review { "да" } else { "нет" }
    );
    if b.prepayment > Kopecks::ZERO {
        text.push_str(&format!(
            "\nПредоплата: {}, при закрытии: {}",
            b.prepayment,
            b.due_at_closing()
        ));
    }
    text.push_str(&format!("\nОплата: {}", payment_name(b.payment)));
    text.push_str(&cash_due_line(b.cash_due));
    text
}

/// "Мастер сдаёт в кассу 4 000 ₽" or "Компания должна мастеру 6 000 ₽".
fn cash_due_line(cash_due: Kopecks) -> String {
    if cash_due >= Kopecks::ZERO {
        format!("\nМастер сдаёт в кассу: {cash_due}")
    } else {
        format!("\nКомпания должна мастеру: {}", Kopecks::ZERO - cash_due)
    }
}

pub fn payment_name(payment: Payment) -> &'static str {
    match payment {
        Payment::Cash => "наличными мастеру",
        Payment::Cashless => "переводом компании",
    }
}

pub const ASK_PAYMENT: &str = "Как заплатил клиент?";
pub const BUTTON_PAID_CASH: &str = "💵 Наличными мастеру";
pub const BUTTON_PAID_CASHLESS: &str = "💳 Переводом компании";

/// The first closing question, reminding a prepayment taken on a long repair.
pub fn ask_total(prepayment: Option<Kopecks>) -> String {
    match prepayment.filter(|p| *p > Kopecks::ZERO) {
        Some(prepayment) => format!(
            "{ASK_TOTAL}\nПредоплата {prepayment} уже получена: введите всю сумму вместе с ней."
        ),
        None => ASK_TOTAL.to_string(),
    }
}

pub fn ask_corrected_total(order_id: OrderId) -> String {
    format!(
        "Исправление денег заявки <b>№{order_id}</b>. Введите всю сумму, которую заплатил клиент:"
    )
}

pub fn money_refused(error: &MoneyError) -> String {
    match error {
        MoneyError::TotalBelowPrepayment { prepayment, .. } => format!(
            "Сумма меньше полученной предоплаты ({prepayment}). Начните закрытие заново и введите всю сумму."
        ),
        MoneyError::MaterialsExceedTotal { .. } => MATERIALS_ABOVE_TOTAL.to_string(),
        MoneyError::Negative | MoneyError::PercentOver100 { .. } => TRY_AGAIN_LATER.to_string(),
    }
}

/// To the master and the dispatcher after an admin corrected a closed order's money.
pub fn money_corrected(order_id: OrderId, old: &Order, new: &Breakdown) -> String {
    let k = |v: Option<Kopecks>| v.unwrap_or_default();
    format!(
        "✏️ Деньги заявки <b>№{order_id}</b> исправлены.\nБыло: сумма {}, материалы {}, мастеру {}, компании {}.\nСтало:\n{}",
        k(old.total_kopecks),
        k(old.materials_kopecks),
        k(old.master_share_kopecks),
        k(old.company_share_kopecks),
        money_lines(new)
    )
}

pub const BUTTON_CORRECT_MONEY: &str = "✏️ Исправить деньги";
pub const BUTTON_OUT_OF_CITY_ON: &str = "🚗 Отметить: за городом";
pub const BUTTON_OUT_OF_CITY_OFF: &str = "🏙 Снять отметку «за городом»";
pub const BUTTON_MAKE_SENIOR: &str = "⭐ Сделать старшим";
pub const BUTTON_UNMAKE_SENIOR: &str = "Снять «старший»";

// Long repair.
pub const ASK_PARTS: &str =
    "Длительный ремонт. Что нужно для ремонта (запчасти, что заказано)? Напишите коротко:";
pub const ASK_READY_DATE: &str =
    "Когда ожидаете закончить? Дата, например <code>20.12</code> или <code>20.12.2026</code> (или «Пропустить»):";
pub const DATE_INVALID: &str =
    "Не понял дату. Напишите, например, <code>20.12</code> или <code>20.12.2026</code>, не раньше сегодняшнего дня.";
pub const ASK_PREPAYMENT: &str =
    "Предоплата от клиента, если взяли (например, 2 000), или «Пропустить»:";

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
        if master.is_fired() {
            "уволен"
        } else if master.is_active {
            "активен"
        } else {
            "выключен"
        },
        group,
    );
    if master.is_senior {
        text.push_str("\n⭐ Старший мастер");
    }
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

/// `status` and `output` are the copy command's own words (an exit code, its stderr).
pub fn backup_copy_failed(file: &str, status: &str, output: &str) -> String {
    let mut text = format!(
        "⚠️ Резервная копия {} не скопирована за пределы сервера (BACKUP_COPY_COMMAND: {}).",
        esc(file),
        esc(status)
    );
    if !output.is_empty() {
        text.push_str(&format!("\n<code>{}</code>", esc(output)));
    }
    text.push_str("\nКопия на этом сервере есть; проверьте команду копирования.");
    text
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
        "заявок {}, закрыто {}, отказов {}; сумма {}, материалы {}, чистыми {}, мастеру {}, компании {}, средний чек {}, отзывов {}; {}",
        f.orders,
        f.closed,
        f.refused,
        Kopecks(f.total),
        Kopecks(f.materials),
        Kopecks(f.net()),
        Kopecks(f.master_share),
        Kopecks(f.company_share),
        Kopecks(f.average_check()),
        f.reviews,
        cash_due_short(Kopecks(f.cash_due))
    )
}

/// What the masters of a line owe the company in cash, or the company them.
fn cash_due_short(cash_due: Kopecks) -> String {
    if cash_due >= Kopecks::ZERO {
        format!("сдать в кассу {cash_due}")
    } else {
        format!("компания должна мастерам {}", Kopecks::ZERO - cash_due)
    }
}

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];

fn dates(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    if from == to {
        from.format("%d.%m.%Y").to_string()
    } else {
        format!("{} — {}", from.format("%d.%m.%Y"), to.format("%d.%m.%Y"))
    }
}

/// "ноябрь 2026" when the dates are one whole month, else the dates.
fn month_or_dates(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let whole_month = from.day() == 1
        && to.succ_opt().is_some_and(|next| next.day() == 1)
        && (from.year(), from.month()) == (to.year(), to.month());
    if whole_month {
        format!("{} {}", MONTHS[from.month0() as usize], from.year())
    } else {
        dates(from, to)
    }
}

/// The heading of a scheduled report (its message, file and sheets).
pub fn scheduled_report_heading(
    cadence: crate::domain::period::Cadence,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> String {
    use crate::domain::period::Cadence;
    match cadence {
        Cadence::Daily => format!("Отчёт за день {}", dates(from, to)),
        Cadence::Weekly => format!("Отчёт за неделю {}", dates(from, to)),
        Cadence::Monthly => format!("Отчёт за {}", month_or_dates(from, to)),
    }
}

/// The first two rows of every sheet of a report over local days `from..=to`: its heading,
/// then the dates, how the report counts and the time zone.
pub fn report_title(
    heading: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    tz: Tz,
) -> crate::reports::xlsx::Title {
    crate::reports::xlsx::Title {
        heading: heading.to_string(),
        subtitle: format!(
            "{}. {REPORT_COUNTING} Время — {}. Активные заявки — на момент выгрузки.",
            dates(from, to),
            tz.name()
        ),
    }
}

/// A report's file was bigger than Telegram takes from a bot: its caption, and why it is not
/// attached.
pub fn file_too_big(caption: &str, size: usize, limit: usize) -> String {
    let mb = |bytes: usize| (bytes as f64 / 1_048_576.0).ceil() as u64;
    format!(
        "{caption}\n\n⚠️ Таблица получилась {} МБ, а Telegram принимает от бота файлы до {} МБ, \
         поэтому она не приложена. Закажите отчёт за более короткий период в «📊 Отчёты».",
        mb(size),
        mb(limit)
    )
}

/// The caption of a report's file.
pub fn report_file_caption(heading: &str) -> String {
    format!("📎 {}: таблица для сверки", esc(heading))
}

pub fn statement_heading(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!("Ваша выписка за {}", month_or_dates(from, to))
}

/// A master's monthly statement as a message: his figures and the cash he owes.
pub fn statement(heading: &str, f: &crate::store::reports::Figures) -> String {
    format!(
        "<b>{}</b>\n<i>{REPORT_COUNTING}</i>\nЗакрыто заявок: {}, сумма {}, материалы {}, вам {}, компании {}, отзывов {}\n{}",
        esc(heading),
        f.closed,
        Kopecks(f.total),
        Kopecks(f.materials),
        Kopecks(f.master_share),
        Kopecks(f.company_share),
        f.reviews,
        cash_due_line(Kopecks(f.cash_due)).trim_start()
    )
}

/// The heading of a report asked for on the reports screen.
pub fn report_heading(period: &str) -> String {
    format!("Отчёт: {period}")
}

/// A period report as a message, under `heading` ([`report_heading`], or a scheduled one's).
pub fn report(heading: &str, report: &crate::store::reports::Report) -> String {
    let mut text = format!(
        "<b>{}</b>\n<i>{REPORT_COUNTING}</i>\n\n<b>Итого:</b> {}\n",
        esc(heading),
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

pub fn report_file_name(heading: &str) -> String {
    let safe: String = heading
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

// ----- Staff tools and administration -----

pub const MENU_JOURNAL: &str = "📜 Журнал";
pub const MENU_USERS: &str = "👥 Пользователи";
pub const MENU_SETTINGS: &str = "⚙️ Настройки";

pub const BUTTON_CLIENT_WAITING: &str = "📞 Клиент ждёт";
pub const BUTTON_DELETE: &str = "🗑 Удалить";
pub const BUTTON_DELETE_CONFIRM: &str = "🗑 Да, удалить";
pub const BUTTON_UNDELETE: &str = "♻️ Вернуть из удалённых";
pub const BUTTON_FIRE: &str = "🚫 Уволить";
pub const BUTTON_FIRE_CONFIRM: &str = "🚫 Да, уволить";

/// A value cut to `max` characters (an ellipsis marks the cut), before escaping.
fn clip(value: &str, max: usize) -> String {
    if value.chars().count() <= max {
        return value.to_string();
    }
    let mut cut: String = value.chars().take(max).collect();
    cut.push('…');
    cut
}

// /order N, in a work group or privately.
pub const ORDER_COMMAND_USAGE: &str =
    "Напишите номер заявки после команды, например: <code>/order 42</code>";
/// To someone in a group who is neither staff nor the group's master.
pub const ORDER_COMMAND_NOT_HERE: &str =
    "Карточку заявки здесь может запросить только мастер этой группы или диспетчер.";

pub fn not_this_groups_order(order_id: i64) -> String {
    format!("Заявки <b>№{order_id}</b> нет среди заявок мастера этой группы.")
}

// «Клиент ждёт»: the client's phone to the master before he is on site.
pub fn client_waiting_for_master(order: &Order) -> String {
    format!(
        "📞 Клиент ждёт вашего звонка по заявке <b>№{}</b>.\nКлиент: {}\nТелефон: {}\nАдрес: {}",
        order.id,
        esc(&order.client_name),
        esc(&order.client_phone),
        esc(&order.client_address)
    )
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

pub fn client_phone_sent(order_id: OrderId, master: &str) -> String {
    format!(
        "📞 Телефон клиента по заявке <b>№{order_id}</b> отправлен мастеру {}.",
        esc(master)
    )
}

// Soft delete.
pub fn ask_delete(order_id: OrderId) -> String {
    format!(
        "Удалить заявку <b>№{order_id}</b>? Она пропадёт из списков, поиска, отчётов и напоминаний; история и деньги сохранятся. Вернуть её можно из списка «🗑 Удалённые» в «{MENU_ORDERS}»."
    )
}

pub fn order_deleted(order_id: OrderId) -> String {
    format!("🗑 Заявка <b>№{order_id}</b> удалена.")
}

pub fn order_undeleted(order_id: OrderId) -> String {
    format!("♻️ Заявка <b>№{order_id}</b> возвращена из удалённых.")
}

/// At the top of a deleted order's card.
pub fn deleted_banner(at: NaiveDateTime, by: &str, tz: Tz) -> String {
    format!(
        "🗑 <b>Заявка удалена</b> {}, {}. Её нет в списках, поиске, отчётах и напоминаниях.\n\n",
        local_time(at, tz),
        esc(by)
    )
}

/// To the master of an open order that was deleted.
pub fn deleted_for_master(order_id: OrderId) -> String {
    format!("🗑 Заявка <b>№{order_id}</b> удалена диспетчером: по ней ничего делать не нужно.")
}

/// To the master of an open order that came back from the deleted ones, above his card.
pub fn undeleted_for_master(order_id: OrderId) -> String {
    format!("♻️ Заявка <b>№{order_id}</b> снова в работе. Актуальная карточка:")
}

pub const ORDER_NOT_DELETED: &str = "Этой заявки нет среди удалённых: её уже вернули.";
pub const DELETED_LIST_HEADER: &str =
    "<b>🗑 Удалённые заявки</b>\nОткройте заявку, чтобы посмотреть её или вернуть.";

pub fn deleted_button(count: i64) -> String {
    format!("🗑 Удалённые ({count})")
}

// Firing a master.
pub fn ask_fire(name: &str, open_orders: i64) -> String {
    format!(
        "Уволить мастера {}? Он больше не сможет работать с заявками и не будет предлагаться при назначении. Его открытые заявки ({open_orders}) вернутся в новые без мастера, диспетчеры получат сообщение. Закрытые заявки, история и отчёты сохранятся. Отменить увольнение нельзя.",
        esc(name)
    )
}

fn order_list(ids: &[OrderId]) -> String {
    ids.iter()
        .map(|id| format!("№{id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// To the admin who fired him.
pub fn master_fired(name: &str, returned: &[OrderId]) -> String {
    let orders = if returned.is_empty() {
        "Открытых заявок у него не было.".to_string()
    } else {
        format!("В новые без мастера возвращены: {}.", order_list(returned))
    };
    format!("🚫 Мастер {} уволен. {orders}", esc(name))
}

/// To the other staff: the orders that need a master again.
pub fn master_fired_for_staff(name: &str, by: &str, returned: &[OrderId]) -> String {
    let orders = if returned.is_empty() {
        "Открытых заявок у него не было.".to_string()
    } else {
        format!(
            "Его открытые заявки вернулись в новые и ждут назначения: {}.",
            order_list(returned)
        )
    };
    format!(
        "🚫 Мастер {} уволен (уволил {}). {orders}",
        esc(name),
        esc(by)
    )
}

pub const MASTER_NOT_FOUND: &str = "Мастер не найден.";

pub fn master_already_fired(name: &str) -> String {
    format!("Мастер {} уже уволен.", esc(name))
}

/// A line under a fired master's card.
pub fn fired_on(at: NaiveDateTime, tz: Tz) -> String {
    format!("\nУволен: {}", local_time(at, tz))
}

// The journal (audit log) for admins.
pub const JOURNAL_HEADER: &str = "<b>📜 Журнал</b> — кто что сделал, новые записи сверху:";
pub const JOURNAL_EMPTY: &str = "В журнале пока нет записей.";

/// What an audit row records, in Russian, HTML-escaped (the journal adds who and about what;
/// an order's card adds who).
fn audit_what(row: &AuditRow) -> String {
    let details = row.details.as_deref();
    let note = |status: Option<OrderStatus>| match details {
        Some(details) => history_note(&clipped(Note::read(details, status))),
        None => String::new(),
    };
    let with_reason = |what: &str| match details {
        Some(reason) => format!("{what}: {}", esc(&clip(reason, 100))),
        None => what.to_string(),
    };
    let Some(action) = row.known_action() else {
        let extra = details.map(|d| format!(" {}", esc(&clip(d, 100))));
        return format!("{}{}", esc(&row.action), extra.unwrap_or_default());
    };
    match action {
        AuditAction::UserRegistered => "впервые написал боту".into(),
        AuditAction::RoleGranted => format!("выдана роль «{}»", role_of(details)),
        AuditAction::RoleRevoked => format!("снята роль «{}»", role_of(details)),
        AuditAction::OrderCreated => "создана".into(),
        AuditAction::OrderAssigned => format!("назначена: {}", note(Some(OrderStatus::Assigned))),
        AuditAction::OrderReassigned => {
            format!("переназначена: {}", note(Some(OrderStatus::Assigned)))
        }
        AuditAction::OrderUnassigned => match details {
            Some(_) => note(Some(OrderStatus::New)),
            None => "мастер снят".into(),
        },
        AuditAction::OrderAccepted => "принята мастером".into(),
        AuditAction::OrderDeclined => with_reason("мастер отказался"),
        AuditAction::OrderOnsite => "мастер на месте".into(),
        AuditAction::OrderLongRepair => with_reason("длительный ремонт"),
        AuditAction::OrderResumed => "мастер снова на месте".into(),
        AuditAction::OrderClosed => match details {
            Some(_) => format!("закрыта: {}", note(Some(OrderStatus::Closed))),
            None => "закрыта".into(),
        },
        AuditAction::OrderRefused => with_reason("отказ клиенту"),
        AuditAction::OrderRestored => "восстановлена после отказа".into(),
        AuditAction::OrderEdited => match details.map(|d| Note::read(d, None)) {
            Some(Note::Details(Details::Edited { field, old, new })) => {
                let name = crate::store::orders::EditableField::ALL
                    .into_iter()
                    .find(|f| f.column() == field)
                    .map_or_else(|| esc(&field), |f| field_name(f).to_string());
                let value = |v: &Option<String>| esc(&clip(v.as_deref().unwrap_or("—"), 60));
                format!(
                    "изменено поле «{name}»: «{}» → «{}»",
                    value(&old),
                    value(&new)
                )
            }
            _ => with_reason("изменена"),
        },
        AuditAction::OrderDeleted => "🗑 удалена".into(),
        AuditAction::OrderUndeleted => "♻️ возвращена из удалённых".into(),
        AuditAction::ClientPhoneRevealed => {
            let master = details
                .and_then(|d| serde_json::from_str::<MasterRef>(d).ok())
                .map(|m| m.name.unwrap_or_else(|| format!("№{}", m.id)));
            match master {
                Some(name) => format!("📞 телефон клиента отправлен мастеру {}", esc(&name)),
                None => "📞 телефон клиента отправлен мастеру".into(),
            }
        }
        AuditAction::MasterAdded => with_reason("добавлен"),
        AuditAction::MasterActivated => "включён".into(),
        AuditAction::MasterDeactivated => "выключен".into(),
        AuditAction::MasterWorkChatBound => with_reason("привязана рабочая группа"),
        AuditAction::MasterFired => {
            let returned: Vec<OrderId> = details
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect();
            if returned.is_empty() {
                "уволен".into()
            } else {
                format!("уволен; в новые возвращены {}", order_list(&returned))
            }
        }
        AuditAction::BackupCreated => with_reason("резервная копия создана"),
        AuditAction::BackupFailed => with_reason("резервная копия не создана"),
        AuditAction::VisitRescheduled => match details {
            Some(_) => format!("визит перенесён: {}", note(None)),
            None => "визит перенесён".into(),
        },
        AuditAction::BackupCopied => with_reason("резервная копия скопирована на другое место"),
        AuditAction::BackupCopyFailed => with_reason("резервная копия не скопирована"),
        AuditAction::OrderMoneyCorrected => {
            format!("деньги исправлены: {}", note(Some(OrderStatus::Closed)))
        }
        AuditAction::OrderOutOfCity => match details.map(|d| Note::read(d, None)) {
            Some(Note::Details(Details::Edited { new, .. })) if new.as_deref() == Some("true") => {
                "отмечена «за городом»".into()
            }
            _ => "снята отметка «за городом»".into(),
        },
        AuditAction::MasterSeniority => match details.map(|d| Note::read(d, None)) {
            Some(Note::Details(Details::Edited { new, .. })) if new.as_deref() == Some("true") => {
                "стал старшим мастером".into()
            }
            _ => "больше не старший мастер".into(),
        },
    }
}

fn role_of(details: Option<&str>) -> String {
    match details.and_then(|d| d.parse::<Role>().ok()) {
        Some(role) => role_name(role).to_string(),
        None => esc(details.unwrap_or("?")),
    }
}

/// A note with its free text and edited values cut for one journal line.
fn clipped(note: Note) -> Note {
    match note {
        Note::Text(text) => Note::Text(clip(&text, 100)),
        Note::Details(Details::Edited { field, old, new }) => Note::Details(Details::Edited {
            field,
            old: old.map(|v| clip(&v, 60)),
            new: new.map(|v| clip(&v, 60)),
        }),
        other => other,
    }
}

/// One line of the journal: when, who, about what, what.
pub fn journal_line(row: &AuditRow, who: Option<&str>, subject: Option<&str>, tz: Tz) -> String {
    let who = who.map_or_else(|| "система".to_string(), esc);
    let about = subject
        .map(|s| format!(" {} —", esc(s)))
        .unwrap_or_default();
    format!(
        "<i>{}</i> {who}:{about} {}",
        local_time(row.created_at, tz),
        audit_what(row)
    )
}

/// What an audit row is about, named for the journal: «заявка №5», «мастер Сергей»,
/// «пользователь Пётр», or nothing (the system).
pub fn journal_subject(row: &AuditRow, name: Option<&str>) -> Option<String> {
    let id = row.entity_id?;
    let named = |what: &str| match name {
        Some(name) => format!("{what} {name}"),
        None => format!("{what} {id}"),
    };
    match row.entity_type.as_deref()? {
        "order" => Some(format!("заявка №{id}")),
        "master" => Some(named("мастер")),
        "user" => Some(named("пользователь")),
        _ => None,
    }
}

// Users and roles for admins.
pub const USERS_HEADER: &str = "<b>👥 Пользователи</b> — все, кто писал боту, новые сверху:";
pub const USERS_EMPTY: &str = "Пока никто не писал боту.";

/// "• Иван (@admin_ivan) · 1001 · администратор, диспетчер"; a fired master: "уволенный
/// мастер".
pub fn user_line(user: &User, roles: &std::collections::BTreeSet<Role>, fired: bool) -> String {
    let username = user
        .username
        .as_deref()
        .map(|u| format!(" (@{})", esc(u)))
        .unwrap_or_default();
    let mut names: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
    if fired {
        names.push("уволенный мастер");
    }
    let roles = if names.is_empty() {
        "без роли".to_string()
    } else {
        names.join(", ")
    };
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name = if name.is_empty() {
        "—".into()
    } else {
        esc(&name)
    };
    format!(
        "• {name}{username} · <code>{}</code> · {roles}",
        user.telegram_id
    )
}

/// The effective configuration, read-only, for admins.
pub fn settings(
    config: &crate::bot::BotConfig,
    backup: &crate::db::backup::BackupPolicy,
) -> String {
    let pay = &config.pay;
    let shares = &pay.shares;
    let on_off = |on: bool| if on { "да" } else { "нет" };
    let at = |time: Option<chrono::NaiveTime>| match time {
        Some(time) => format!("в {}", time.format("%H:%M")),
        None => "выключено".into(),
    };
    let quiet = match config.quiet_hours {
        Some(q) => format!("{}–{}", q.start.format("%H:%M"), q.end.format("%H:%M")),
        None => "выключены".into(),
    };
    let bonus = if shares.review_bonus_enabled {
        format!(
            "+{}% чистой суммы переходит от компании мастеру",
            shares.review_bonus_percent
        )
    } else {
        "выключен".into()
    };
    let sla = &config.sla;
    let flood = match config.rate_limit {
        Some(limit) => format!(
            "не больше {} сообщений и нажатий одного человека за {}",
            limit.updates,
            seconds(limit.window)
        ),
        None => "выключено".into(),
    };
    format!(
        "<b>⚙️ Настройки</b> (только просмотр)\n\
         Часовой пояс: {tz} <code>TIMEZONE</code>\n\
         \n<b>Деньги</b>\n\
         Порог чистой суммы: {threshold} <code>SHARE_THRESHOLD_RUB</code>\n\
         Доля мастера: от порога {high}%, ниже порога {low}% <code>SHARE_HIGH_PERCENT</code>, <code>SHARE_LOW_PERCENT</code>\n\
         Бонус за отзыв: {bonus} <code>REVIEW_BONUS_*</code>\n\
         Доля по типу техники: {equipment} <code>EQUIPMENT_MASTER_PERCENT</code>\n\
         За выезд за город: +{out_of_city}% <code>OUT_OF_CITY_BONUS_PERCENT</code>\n\
         Старший мастер получает не меньше {senior}% <code>SENIOR_MASTER_MIN_PERCENT</code>\n\
         Спрашивать при закрытии, как заплатил клиент: {ask_payment} <code>ASK_PAYMENT_METHOD</code>\n\
         Спрашивать предоплату при длительном ремонте: {ask_prepayment} <code>ASK_PREPAYMENT</code>\n\
         \n<b>Уведомления</b>\n\
         Новые заявки другим диспетчерам и администраторам: {notify} <code>NOTIFY_STAFF_ON_NEW_ORDER</code>\n\
         Напоминания мастеру о непринятой заявке: первое через {first}, затем пауза удваивается, всего не больше {max} <code>REMINDER_*</code>\n\
         Сроки (SLA) до оповещения администраторов: новая {new}, назначена {assigned}, принята {accepted}, на месте {onsite} <code>SLA_*_MINUTES</code>\n\
         Тихие часы (без напоминаний и оповещений): {quiet} <code>QUIET_HOURS</code>\n\
         Итоги дня: {summary} <code>DAILY_SUMMARY_TIME</code>\n\
         \n<b>Отчёты с таблицей</b>\n\
         За вчера администраторам: {daily} <code>REPORT_DAILY_TIME</code>\n\
         За прошлую неделю, по понедельникам: {weekly} <code>REPORT_WEEKLY_TIME</code>\n\
         За прошлый месяц, 1-го числа: {monthly} <code>REPORT_MONTHLY_TIME</code>\n\
         Выписка каждому мастеру за прошлый месяц, 1-го числа: {statements} <code>MASTER_STATEMENT_TIME</code>\n\
         \n<b>Резервные копии</b>\n\
         Ежедневная копия: {backup_at} <code>BACKUP_TIME</code>\n\
         Папка: {dir}, хранится копий: {keep} <code>BACKUP_DIR</code>, <code>BACKUP_KEEP</code>\n\
         \n<b>Защита от потока сообщений</b>: {flood} <code>RATE_LIMIT_*</code>\n\
         \n<i>Настройки задаются в файле .env на сервере (список с пояснениями — .env.example) и вступают в силу после перезапуска бота. Здесь их изменить нельзя.</i>",
        tz = esc(config.timezone.name()),
        threshold = shares.threshold,
        high = shares.high_percent,
        low = shares.low_percent,
        equipment = if pay.equipment_percent.is_empty() {
            "нет".to_string()
        } else {
            pay.equipment_percent
                .iter()
                .map(|(kind, percent)| format!("{} {percent}%", esc(kind)))
                .collect::<Vec<_>>()
                .join(", ")
        },
        out_of_city = pay.out_of_city_bonus_percent,
        senior = pay.senior_floor_percent,
        ask_payment = on_off(pay.ask_payment),
        ask_prepayment = on_off(pay.ask_prepayment),
        notify = on_off(config.notify_staff_on_new_order),
        first = duration(config.reminders.first),
        max = config.reminders.max,
        new = duration(sla.new),
        assigned = duration(sla.assigned),
        accepted = duration(sla.accepted),
        onsite = duration(sla.onsite),
        summary = at(config.summary_at),
        daily = at(config.reports.daily),
        weekly = at(config.reports.weekly),
        monthly = at(config.reports.monthly),
        statements = at(config.reports.statements),
        backup_at = at(config.backup_at),
        dir = esc(&backup.dir.display().to_string()),
        keep = backup.keep,
    )
}

/// "10 с", "1 мин", "1 мин 30 с".
fn seconds(span: TimeDelta) -> String {
    let total = span.num_seconds();
    match (total / 60, total % 60) {
        (0, s) => format!("{s} с"),
        (m, 0) => format!("{m} мин"),
        (m, s) => format!("{m} мин {s} с"),
    }
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

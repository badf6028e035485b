//! Keyboards: the reply-keyboard main menu per role, and inline keyboards of cards and steps.

use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton,
    KeyboardButtonRequestChat, KeyboardMarkup, RequestId,
};

use super::callbacks::Callback;
use super::texts;
use crate::domain::ids::{MasterId, OrderId};
use crate::domain::status::{ActionKind, OrderStatus, Role};
use crate::domain::validation::EQUIPMENT_TYPES;
use crate::store::masters::Master;
use crate::store::users::User;

fn button(label: &str, callback: Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, callback.encode())
}

/// The main menu: the union of the menus of every role the user holds.
pub fn main_menu(roles: &[Role]) -> KeyboardMarkup {
    let mut rows: Vec<Vec<KeyboardButton>> = Vec::new();
    let staff = roles.contains(&Role::Admin) || roles.contains(&Role::Dispatcher);
    if staff {
        rows.push(vec![
            KeyboardButton::new(texts::MENU_NEW_ORDER),
            KeyboardButton::new(texts::MENU_ORDERS),
            KeyboardButton::new(texts::MENU_SEARCH),
        ]);
    }
    if staff {
        rows.push(vec![KeyboardButton::new(texts::MENU_REPORTS)]);
    }
    if roles.contains(&Role::Master) {
        rows.push(vec![
            KeyboardButton::new(texts::MENU_MY_ORDERS),
            KeyboardButton::new(texts::MENU_MY_STATS),
        ]);
    }
    if roles.contains(&Role::Admin) {
        rows.push(vec![
            KeyboardButton::new(texts::MENU_MASTERS),
            KeyboardButton::new(texts::MENU_ADD_MASTER),
        ]);
    }
    rows.push(vec![KeyboardButton::new(texts::MENU_HELP)]);
    KeyboardMarkup::new(rows).resize_keyboard()
}

pub fn equipment() -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = EQUIPMENT_TYPES
        .chunks(2)
        .enumerate()
        .map(|(row, pair)| {
            pair.iter()
                .enumerate()
                .map(|(col, name)| button(name, Callback::Equipment(row * 2 + col)))
                .collect()
        })
        .collect();
    rows.push(vec![button(texts::BUTTON_CANCEL, Callback::Cancel)]);
    InlineKeyboardMarkup::new(rows)
}

pub fn cancel_only() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![button(texts::BUTTON_CANCEL, Callback::Cancel)]])
}

pub fn skip_or_cancel() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        button(texts::BUTTON_SKIP, Callback::Skip),
        button(texts::BUTTON_CANCEL, Callback::Cancel),
    ]])
}

pub fn confirm_or_cancel() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        button(texts::BUTTON_CONFIRM, Callback::Confirm),
        button(texts::BUTTON_CANCEL, Callback::Cancel),
    ]])
}

pub fn review() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![
        vec![
            button(texts::BUTTON_YES, Callback::Review(true)),
            button(texts::BUTTON_NO, Callback::Review(false)),
        ],
        vec![button(texts::BUTTON_CANCEL, Callback::Cancel)],
    ])
}

/// The action buttons of an order card, one per allowed action, plus a refresh button.
pub fn order_actions(
    order_id: OrderId,
    status: OrderStatus,
    actions: &[ActionKind],
    editable: bool,
) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = actions
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .map(|kind| {
                    button(
                        texts::action_button(*kind),
                        Callback::Order {
                            order_id,
                            action: *kind,
                            seen: status,
                        },
                    )
                })
                .collect()
        })
        .collect();
    if editable {
        rows.push(vec![button(
            texts::BUTTON_EDIT,
            Callback::Edit { order_id },
        )]);
    }
    rows.push(vec![button(
        texts::BUTTON_REFRESH,
        Callback::Card { order_id },
    )]);
    InlineKeyboardMarkup::new(rows)
}

pub fn pick_master(
    order_id: OrderId,
    status: OrderStatus,
    masters: &[(Master, User)],
) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = masters
        .iter()
        .map(|(master, user)| {
            let label = format!("{} — {}", user.display_name(), master.specialization);
            vec![button(
                &label,
                Callback::PickMaster {
                    order_id,
                    master_id: master.id,
                    seen: status,
                },
            )]
        })
        .collect();
    rows.push(vec![button(
        texts::BUTTON_BACK,
        Callback::Card { order_id },
    )]);
    InlineKeyboardMarkup::new(rows)
}

pub fn master_admin(master: &Master) -> InlineKeyboardMarkup {
    let toggle = if master.is_active {
        button(
            texts::BUTTON_DEACTIVATE,
            Callback::MasterActive {
                master_id: master.id,
                active: false,
            },
        )
    } else {
        button(
            texts::BUTTON_ACTIVATE,
            Callback::MasterActive {
                master_id: master.id,
                active: true,
            },
        )
    };
    InlineKeyboardMarkup::new(vec![
        vec![toggle],
        vec![button(
            texts::BUTTON_BIND_GROUP,
            Callback::BindGroup {
                master_id: master.id,
            },
        )],
    ])
}

/// Telegram's chat picker: the admin chooses a group the bot is a member of.
pub fn pick_group(master_id: MasterId) -> KeyboardMarkup {
    let request =
        KeyboardButtonRequestChat::new(RequestId(master_id.0 as i32), false).bot_is_member(true);
    KeyboardMarkup::new(vec![
        vec![KeyboardButton::new(texts::BUTTON_PICK_GROUP)
            .request(ButtonRequest::RequestChat(request))],
        vec![KeyboardButton::new(texts::BUTTON_CANCEL)],
    ])
    .resize_keyboard()
    .one_time_keyboard()
}

pub fn edit_fields(order_id: OrderId) -> InlineKeyboardMarkup {
    use crate::store::orders::EditableField;
    let mut rows: Vec<Vec<InlineKeyboardButton>> = EditableField::ALL
        .chunks(2)
        .enumerate()
        .map(|(row, pair)| {
            pair.iter()
                .enumerate()
                .map(|(col, field)| {
                    button(
                        texts::field_name(*field),
                        Callback::EditField {
                            order_id,
                            field: row * 2 + col,
                        },
                    )
                })
                .collect()
        })
        .collect();
    rows.push(vec![button(
        texts::BUTTON_BACK,
        Callback::Card { order_id },
    )]);
    InlineKeyboardMarkup::new(rows)
}

/// The fixed periods offered for reports, in button order.
pub const REPORT_PERIODS: [crate::domain::period::Period; 6] = [
    crate::domain::period::Period::Today,
    crate::domain::period::Period::Yesterday,
    crate::domain::period::Period::ThisWeek,
    crate::domain::period::Period::LastWeek,
    crate::domain::period::Period::ThisMonth,
    crate::domain::period::Period::LastMonth,
];

pub fn periods() -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = REPORT_PERIODS
        .chunks(2)
        .enumerate()
        .map(|(row, pair)| {
            pair.iter()
                .enumerate()
                .map(|(col, period)| {
                    button(
                        &texts::period_name(*period),
                        Callback::Report(row * 2 + col),
                    )
                })
                .collect()
        })
        .collect();
    rows.push(vec![button(
        texts::BUTTON_CUSTOM_PERIOD,
        Callback::Report(REPORT_PERIODS.len()),
    )]);
    InlineKeyboardMarkup::new(rows)
}

/// At intake: take a known client's name and address (from order `order_id`), or Cancel.
pub fn known_client(order_id: OrderId, label: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![
        vec![button(label, Callback::KnownClient { order_id })],
        vec![button(texts::BUTTON_CANCEL, Callback::Cancel)],
    ])
}

/// The row a card gets when its viewer may move the visit.
pub fn reschedule_row(order_id: OrderId) -> Vec<InlineKeyboardButton> {
    vec![button(
        texts::BUTTON_RESCHEDULE,
        Callback::Reschedule { order_id },
    )]
}

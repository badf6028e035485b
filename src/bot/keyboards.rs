//! Keyboards: the reply-keyboard main menu per role, and inline keyboards of cards and steps.

use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton,
    KeyboardButtonRequestChat, KeyboardMarkup, RequestId,
};

use super::callbacks::Callback;
use super::texts;
use crate::domain::ids::{MasterId, OrderId};
use crate::domain::money::Payment;
use crate::domain::status::{ActionKind, Actor, OrderStatus, Role};
use crate::domain::validation::EQUIPMENT_TYPES;
use crate::store::masters::Master;
use crate::store::orders::{Order, PHONE_REVEALABLE};
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
        rows.push(vec![
            KeyboardButton::new(texts::MENU_JOURNAL),
            KeyboardButton::new(texts::MENU_USERS),
            KeyboardButton::new(texts::MENU_SETTINGS),
        ]);
    } else if staff {
        // Dispatchers see the masters, read-only.
        rows.push(vec![KeyboardButton::new(texts::MENU_MASTERS)]);
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

pub fn payment() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![
        vec![button(
            texts::BUTTON_PAID_CASH,
            Callback::Paid(Payment::Cash),
        )],
        vec![button(
            texts::BUTTON_PAID_CASHLESS,
            Callback::Paid(Payment::Cashless),
        )],
        vec![button(texts::BUTTON_CANCEL, Callback::Cancel)],
    ])
}

/// An order card's buttons, top to bottom: one per allowed action (the master's part marked
/// as done for him when staff see it), edit, the staff tools («Клиент ждёт» while the master
/// has the order but is not on site, «Удалить» for admins, the out-of-city mark, the money
/// correction of a closed order for admins), moving the visit, and refresh last.
pub fn order_card(
    order: &Order,
    viewer: &Actor,
    actions: &[ActionKind],
    reschedulable: bool,
) -> InlineKeyboardMarkup {
    let (order_id, status) = (order.id, order.status());
    let staff = viewer.is_staff();
    let admin = viewer.roles.contains(&Role::Admin);
    let label = |kind: ActionKind| {
        if staff && kind.is_masters_work() {
            texts::for_master_button(kind)
        } else {
            texts::action_button(kind).to_string()
        }
    };
    let mut rows: Vec<Vec<InlineKeyboardButton>> = actions
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .map(|kind| {
                    button(
                        &label(*kind),
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
    if staff {
        if status.is_open() {
            rows.push(vec![button(
                texts::BUTTON_EDIT,
                Callback::Edit { order_id },
            )]);
        }
        let mut tools = Vec::new();
        if order.assigned_master_id.is_some() && PHONE_REVEALABLE.contains(&status) {
            let seen = status;
            tools.push(button(
                texts::BUTTON_CLIENT_WAITING,
                Callback::ClientWaiting { order_id, seen },
            ));
        }
        if admin {
            tools.push(button(texts::BUTTON_DELETE, Callback::Delete { order_id }));
        }
        if !tools.is_empty() {
            rows.push(tools);
        }
        if status.is_open() {
            let (label, on) = if order.out_of_city {
                (texts::BUTTON_OUT_OF_CITY_OFF, false)
            } else {
                (texts::BUTTON_OUT_OF_CITY_ON, true)
            };
            rows.push(vec![button(label, Callback::OutOfCity { order_id, on })]);
        }
        if admin && status == OrderStatus::Closed {
            rows.push(vec![button(
                texts::BUTTON_CORRECT_MONEY,
                Callback::CorrectMoney { order_id },
            )]);
        }
    }
    if reschedulable {
        rows.push(vec![button(
            texts::BUTTON_RESCHEDULE,
            Callback::Reschedule { order_id },
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
    // A fired master is kept for the record: nothing left to switch.
    if master.is_fired() {
        return InlineKeyboardMarkup::default();
    }
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
    let senior = if master.is_senior {
        button(
            texts::BUTTON_UNMAKE_SENIOR,
            Callback::MasterSenior {
                master_id: master.id,
                senior: false,
            },
        )
    } else {
        button(
            texts::BUTTON_MAKE_SENIOR,
            Callback::MasterSenior {
                master_id: master.id,
                senior: true,
            },
        )
    };
    InlineKeyboardMarkup::new(vec![
        vec![toggle, senior],
        vec![button(
            texts::BUTTON_BIND_GROUP,
            Callback::BindGroup {
                master_id: master.id,
            },
        )],
        vec![button(
            texts::BUTTON_FIRE,
            Callback::Fire {
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

// ----- Staff tools and administration -----

pub fn confirm_delete(order_id: OrderId) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        button(
            texts::BUTTON_DELETE_CONFIRM,
            Callback::DeleteConfirmed { order_id },
        ),
        button(texts::BUTTON_BACK, Callback::Card { order_id }),
    ]])
}

/// A deleted order's card: bring it back (admins), or back to the deleted ones.
pub fn deleted_card(order_id: OrderId, admin: bool) -> InlineKeyboardMarkup {
    let mut rows = Vec::new();
    if admin {
        rows.push(vec![button(
            texts::BUTTON_UNDELETE,
            Callback::Undelete { order_id },
        )]);
    }
    rows.push(vec![button(
        texts::BUTTON_BACK,
        Callback::DeletedList { cursor: None },
    )]);
    InlineKeyboardMarkup::new(rows)
}

pub fn confirm_fire(master_id: MasterId) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        button(
            texts::BUTTON_FIRE_CONFIRM,
            Callback::FireConfirmed { master_id },
        ),
        button(texts::BUTTON_BACK, Callback::MasterCard { master_id }),
    ]])
}

/// The links of a page of text (the journal, the users): newer and older.
pub fn pager(
    page_newer: Option<crate::store::search::Cursor>,
    page_older: Option<crate::store::search::Cursor>,
    link: impl Fn(Option<crate::store::search::Cursor>) -> Callback,
) -> InlineKeyboardMarkup {
    let mut nav = Vec::new();
    if let Some(newer) = page_newer {
        nav.push(button(texts::BUTTON_NEWER, link(Some(newer))));
    }
    if let Some(older) = page_older {
        nav.push(button(texts::BUTTON_OLDER, link(Some(older))));
    }
    // On the newest page the first page is this one, fresh.
    let first = if page_newer.is_some() {
        texts::BUTTON_FIRST_PAGE
    } else {
        texts::BUTTON_REFRESH
    };
    nav.push(button(first, link(None)));
    InlineKeyboardMarkup::new(vec![nav])
}

/// At intake: take a known client's name and address (from order `order_id`), or Cancel.
pub fn known_client(order_id: OrderId, label: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![
        vec![button(label, Callback::KnownClient { order_id })],
        vec![button(texts::BUTTON_CANCEL, Callback::Cancel)],
    ])
}

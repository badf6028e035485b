//! Callback data of inline buttons: short strings (Telegram allows 64 bytes) parsed once into
//! [`Callback`]. Nothing in them is trusted: the handler re-reads the order and the sender's
//! roles, and the status the card showed only serves to detect stale cards.

use std::str::FromStr;

use crate::domain::ids::{MasterId, OrderId};
use crate::domain::money::Payment;
use crate::domain::status::{ActionKind, OrderStatus};
use crate::store::search::Cursor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// An action button of an order card, with the status the card showed.
    Order {
        order_id: OrderId,
        action: ActionKind,
        seen: OrderStatus,
    },
    /// A master picked from the list for an order.
    PickMaster {
        order_id: OrderId,
        master_id: MasterId,
        seen: OrderStatus,
    },
    /// Show an order's card afresh.
    Card {
        order_id: OrderId,
    },
    /// An equipment type in the intake dialogue, by index in the list.
    Equipment(usize),
    Skip,
    Cancel,
    Confirm,
    Review(bool),
    MasterActive {
        master_id: MasterId,
        active: bool,
    },
    BindGroup {
        master_id: MasterId,
    },
    /// Offer the fields of an open order to correct.
    Edit {
        order_id: OrderId,
    },
    /// Correct this field (index in `EditableField::ALL`).
    EditField {
        order_id: OrderId,
        field: usize,
    },
    /// A report for a period (index in `REPORT_PERIODS`, or the custom one past the end).
    Report(usize),
    /// A page of the orders in a status (no cursor: the newest page).
    List {
        status: OrderStatus,
        cursor: Option<Cursor>,
    },
    /// Another page of a search; the search text rides along (cut to fit 64 bytes). Only
    /// parsed, for buttons sent before searches were kept (see `SavedSearchPage`).
    SearchPage {
        cursor: Cursor,
        text: String,
    },
    /// Another page of a search kept by `store::search::remember`, named by its id.
    SavedSearchPage {
        cursor: Cursor,
        search_id: i64,
    },
    /// How the client paid, at closing.
    Paid(Payment),
    /// An admin corrects a closed order's money.
    CorrectMoney {
        order_id: OrderId,
    },
    /// Mark an open order as a job outside the city, or not.
    OutOfCity {
        order_id: OrderId,
        on: bool,
    },
    /// Make a master senior, or not.
    MasterSenior {
        master_id: MasterId,
        senior: bool,
    },
    /// «Клиент ждёт»: send the client's phone to the master, with the status the card showed.
    ClientWaiting {
        order_id: OrderId,
        seen: OrderStatus,
    },
    /// Delete an order: asks to confirm.
    Delete {
        order_id: OrderId,
    },
    DeleteConfirmed {
        order_id: OrderId,
    },
    /// Bring a deleted order back.
    Undelete {
        order_id: OrderId,
    },
    /// The card of a deleted order.
    DeletedCard {
        order_id: OrderId,
    },
    /// A page of the deleted orders (no cursor: the newest page).
    DeletedList {
        cursor: Option<Cursor>,
    },
    /// A page of the audit log.
    Journal {
        cursor: Option<Cursor>,
    },
    /// A page of the users.
    Users {
        cursor: Option<Cursor>,
    },
    /// A master's card afresh.
    MasterCard {
        master_id: MasterId,
    },
    /// Fire a master: asks to confirm.
    Fire {
        master_id: MasterId,
    },
    FireConfirmed {
        master_id: MasterId,
    },
    /// Move the visit of an order (asks the new time, then the reason).
    Reschedule {
        order_id: OrderId,
    },
    /// At intake: take the client's name and address from this earlier order of the phone.
    KnownClient {
        order_id: OrderId,
    },
}

/// A page cursor in button data: its token, or "-" for the newest page.
fn cursor_token(cursor: Option<Cursor>) -> String {
    cursor.map_or("-".into(), |c| c.token())
}

fn cursor_of(token: &str) -> Option<Option<Cursor>> {
    match token {
        "-" => Some(None),
        token => Cursor::from_token(token).map(Some),
    }
}

fn action_code(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Assign => "asg",
        ActionKind::Unassign => "una",
        ActionKind::Accept => "acc",
        ActionKind::Decline => "dec",
        ActionKind::GoOnsite => "ons",
        ActionKind::LongRepair => "dr",
        ActionKind::ResumeOnsite => "res",
        ActionKind::Close => "cls",
        ActionKind::Refuse => "ref",
        ActionKind::Restore => "rst",
    }
}

impl Callback {
    pub fn encode(&self) -> String {
        match *self {
            Callback::Order {
                order_id,
                action,
                seen,
            } => {
                format!("o:{order_id}:{}:{}", action_code(action), seen.as_str())
            }
            Callback::PickMaster {
                order_id,
                master_id,
                seen,
            } => {
                format!("m:{order_id}:{master_id}:{}", seen.as_str())
            }
            Callback::Card { order_id } => format!("c:{order_id}"),
            Callback::Equipment(index) => format!("eq:{index}"),
            Callback::Skip => "skip".into(),
            Callback::Cancel => "cancel".into(),
            Callback::Confirm => "confirm".into(),
            Callback::Review(yes) => format!("rev:{}", u8::from(yes)),
            Callback::MasterActive { master_id, active } => {
                format!("ma:{master_id}:{}", u8::from(active))
            }
            Callback::BindGroup { master_id } => format!("mg:{master_id}"),
            Callback::Edit { order_id } => format!("e:{order_id}"),
            Callback::EditField { order_id, field } => format!("ef:{order_id}:{field}"),
            Callback::Report(index) => format!("r:{index}"),
            Callback::List { status, cursor } => {
                format!(
                    "l:{}:{}",
                    status.as_str(),
                    cursor.map_or("-".into(), |c| c.token())
                )
            }
            Callback::SearchPage { cursor, ref text } => {
                let head = format!("sp:{}:", cursor.token());
                let mut data = head.clone();
                for ch in text.chars() {
                    if data.len() + ch.len_utf8() > 64 {
                        break;
                    }
                    data.push(ch);
                }
                data
            }
            Callback::SavedSearchPage { cursor, search_id } => {
                format!("sq:{}:{search_id}", cursor.token())
            }
            Callback::Paid(payment) => format!("pay:{}", payment.as_str()),
            Callback::CorrectMoney { order_id } => format!("cm:{order_id}"),
            Callback::OutOfCity { order_id, on } => format!("oc:{order_id}:{}", u8::from(on)),
            Callback::MasterSenior { master_id, senior } => {
                format!("ms:{master_id}:{}", u8::from(senior))
            }
            Callback::ClientWaiting { order_id, seen } => {
                format!("cw:{order_id}:{}", seen.as_str())
            }
            Callback::Delete { order_id } => format!("del:{order_id}"),
            Callback::DeleteConfirmed { order_id } => format!("delok:{order_id}"),
            Callback::Undelete { order_id } => format!("undel:{order_id}"),
            Callback::DeletedCard { order_id } => format!("dc:{order_id}"),
            Callback::DeletedList { cursor } => format!("ld:{}", cursor_token(cursor)),
            Callback::Journal { cursor } => format!("j:{}", cursor_token(cursor)),
            Callback::Users { cursor } => format!("u:{}", cursor_token(cursor)),
            Callback::MasterCard { master_id } => format!("mc:{master_id}"),
            Callback::Fire { master_id } => format!("fire:{master_id}"),
            Callback::FireConfirmed { master_id } => format!("fireok:{master_id}"),
            Callback::Reschedule { order_id } => format!("rs:{order_id}"),
            Callback::KnownClient { order_id } => format!("kc:{order_id}"),
        }
    }

    pub fn parse(data: &str) -> Option<Callback> {
        let parts: Vec<&str> = data.split(':').collect();
        let status = |i: usize| parts.get(i)?.parse::<OrderStatus>().ok();
        let flag = |i: usize| match parts.get(i) {
            Some(&"1") => Some(true),
            Some(&"0") => Some(false),
            _ => None,
        };
        match parts.first().copied()? {
            "o" if parts.len() == 4 => {
                let action = ActionKind::ALL
                    .into_iter()
                    .find(|k| action_code(*k) == parts[2])?;
                Some(Callback::Order {
                    order_id: part(&parts, 1)?,
                    action,
                    seen: status(3)?,
                })
            }
            "m" if parts.len() == 4 => Some(Callback::PickMaster {
                order_id: part(&parts, 1)?,
                master_id: part(&parts, 2)?,
                seen: status(3)?,
            }),
            "c" if parts.len() == 2 => Some(Callback::Card {
                order_id: part(&parts, 1)?,
            }),
            "eq" if parts.len() == 2 => Some(Callback::Equipment(parts[1].parse().ok()?)),
            "skip" => Some(Callback::Skip),
            "cancel" => Some(Callback::Cancel),
            "confirm" => Some(Callback::Confirm),
            "rev" if parts.len() == 2 => Some(Callback::Review(flag(1)?)),
            "ma" if parts.len() == 3 => Some(Callback::MasterActive {
                master_id: part(&parts, 1)?,
                active: flag(2)?,
            }),
            "mg" if parts.len() == 2 => Some(Callback::BindGroup {
                master_id: part(&parts, 1)?,
            }),
            "e" if parts.len() == 2 => Some(Callback::Edit {
                order_id: part(&parts, 1)?,
            }),
            "r" if parts.len() == 2 => Some(Callback::Report(parts[1].parse().ok()?)),
            "l" if parts.len() == 3 => Some(Callback::List {
                status: status(1)?,
                cursor: match parts[2] {
                    "-" => None,
                    token => Some(Cursor::from_token(token)?),
                },
            }),
            "sp" if parts.len() >= 3 => {
                let (_, rest) = data.split_once(':')?;
                let (token, text) = rest.split_once(':')?;
                Some(Callback::SearchPage {
                    cursor: Cursor::from_token(token)?,
                    text: text.to_string(),
                })
            }
            "sq" if parts.len() == 3 => Some(Callback::SavedSearchPage {
                cursor: Cursor::from_token(parts[1])?,
                search_id: part(&parts, 2)?,
            }),
            "rs" if parts.len() == 2 => Some(Callback::Reschedule {
                order_id: part(&parts, 1)?,
            }),
            "kc" if parts.len() == 2 => Some(Callback::KnownClient {
                order_id: part(&parts, 1)?,
            }),
            "ef" if parts.len() == 3 => Some(Callback::EditField {
                order_id: part(&parts, 1)?,
                field: parts[2].parse().ok()?,
            }),
            "pay" if parts.len() == 2 => Some(Callback::Paid(part(&parts, 1)?)),
            "cm" if parts.len() == 2 => Some(Callback::CorrectMoney {
                order_id: part(&parts, 1)?,
            }),
            "oc" if parts.len() == 3 => Some(Callback::OutOfCity {
                order_id: part(&parts, 1)?,
                on: flag(2)?,
            }),
            "ms" if parts.len() == 3 => Some(Callback::MasterSenior {
                master_id: part(&parts, 1)?,
                senior: flag(2)?,
            }),
            "cw" if parts.len() == 3 => Some(Callback::ClientWaiting {
                order_id: part(&parts, 1)?,
                seen: status(2)?,
            }),
            "del" if parts.len() == 2 => Some(Callback::Delete {
                order_id: part(&parts, 1)?,
            }),
            "delok" if parts.len() == 2 => Some(Callback::DeleteConfirmed {
                order_id: part(&parts, 1)?,
            }),
            "undel" if parts.len() == 2 => Some(Callback::Undelete {
                order_id: part(&parts, 1)?,
            }),
            "dc" if parts.len() == 2 => Some(Callback::DeletedCard {
                order_id: part(&parts, 1)?,
            }),
            "ld" if parts.len() == 2 => Some(Callback::DeletedList {
                cursor: cursor_of(parts[1])?,
            }),
            "j" if parts.len() == 2 => Some(Callback::Journal {
                cursor: cursor_of(parts[1])?,
            }),
            "u" if parts.len() == 2 => Some(Callback::Users {
                cursor: cursor_of(parts[1])?,
            }),
            "mc" if parts.len() == 2 => Some(Callback::MasterCard {
                master_id: part(&parts, 1)?,
            }),
            "fire" if parts.len() == 2 => Some(Callback::Fire {
                master_id: part(&parts, 1)?,
            }),
            "fireok" if parts.len() == 2 => Some(Callback::FireConfirmed {
                master_id: part(&parts, 1)?,
            }),
            _ => None,
        }
    }
}

/// The `i`-th `:`-separated part of button data, parsed.
fn part<T: FromStr>(parts: &[&str], i: usize) -> Option<T> {
    parts.get(i)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_round_trips_within_64_bytes() {
        let samples = [
            Callback::Order {
                order_id: OrderId(i64::MAX),
                action: ActionKind::ResumeOnsite,
                seen: OrderStatus::Accepted,
            },
            Callback::PickMaster {
                order_id: OrderId(i64::MAX),
                master_id: MasterId(i64::MAX),
                seen: OrderStatus::Assigned,
            },
            Callback::Card {
                order_id: OrderId(7),
            },
            Callback::Equipment(9),
            Callback::Skip,
            Callback::Cancel,
            Callback::Confirm,
            Callback::Review(true),
            Callback::Review(false),
            Callback::MasterActive {
                master_id: MasterId(3),
                active: false,
            },
            Callback::BindGroup {
                master_id: MasterId(3),
            },
            Callback::Edit {
                order_id: OrderId(5),
            },
            Callback::SavedSearchPage {
                cursor: Cursor::Before(i64::MAX),
                search_id: i64::MAX,
            },
            Callback::EditField {
                order_id: OrderId(5),
                field: 2,
            },
            Callback::Paid(Payment::Cash),
            Callback::Paid(Payment::Cashless),
            Callback::CorrectMoney {
                order_id: OrderId(i64::MAX),
            },
            Callback::OutOfCity {
                order_id: OrderId(i64::MAX),
                on: true,
            },
            Callback::MasterSenior {
                master_id: MasterId(i64::MAX),
                senior: false,
            },
            Callback::ClientWaiting {
                order_id: OrderId(i64::MAX),
                seen: OrderStatus::Accepted,
            },
            Callback::Delete {
                order_id: OrderId(i64::MAX),
            },
            Callback::DeleteConfirmed {
                order_id: OrderId(i64::MAX),
            },
            Callback::Undelete {
                order_id: OrderId(i64::MAX),
            },
            Callback::DeletedCard {
                order_id: OrderId(i64::MAX),
            },
            Callback::DeletedList { cursor: None },
            Callback::DeletedList {
                cursor: Some(Cursor::After(i64::MAX)),
            },
            Callback::Journal {
                cursor: Some(Cursor::Before(i64::MAX)),
            },
            Callback::Journal { cursor: None },
            Callback::Users {
                cursor: Some(Cursor::After(7)),
            },
            Callback::MasterCard {
                master_id: MasterId(i64::MAX),
            },
            Callback::Fire {
                master_id: MasterId(i64::MAX),
            },
            Callback::FireConfirmed {
                master_id: MasterId(i64::MAX),
            },
            Callback::Reschedule {
                order_id: OrderId(i64::MAX),
            },
            Callback::KnownClient {
                order_id: OrderId(i64::MAX),
            },
        ];
        for sample in samples {
            let data = sample.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Callback::parse(&data), Some(sample.clone()), "{data}");
        }
        for kind in ActionKind::ALL {
            let c = Callback::Order {
                order_id: OrderId(1),
                action: kind,
                seen: OrderStatus::New,
            };
            assert_eq!(Callback::parse(&c.encode()), Some(c.clone()));
        }
    }

    #[test]
    fn forged_data_is_rejected() {
        for data in [
            "",
            "o:1:acc",
            "o:x:acc:NEW",
            "o:1:zzz:NEW",
            "o:1:acc:OPEN",
            "m:1:2",
            "rev:2",
            "eq:-1",
            "ma:1:yes",
            "pay:CARD",
            "oc:1:2",
            "cw:1:OPEN",
            "cw:1",
            "del:x",
            "j:x5",
            "u:",
            "fire:1:2",
            "rs:",
            "rs:x",
            "kc:1:2",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
    }
}

//! Callback data of inline buttons: short strings (Telegram allows 64 bytes) parsed once into
//! [`Callback`]. Nothing in them is trusted: the handler re-reads the order and the sender's
//! roles, and the status the card showed only serves to detect stale cards.

use std::str::FromStr;

use crate::domain::ids::{MasterId, OrderId};
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
    /// Move the visit of an order (asks the new time, then the reason).
    Reschedule {
        order_id: OrderId,
    },
    /// At intake: take the client's name and address from this earlier order of the phone.
    KnownClient {
        order_id: OrderId,
    },
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
            "rs:",
            "rs:x",
            "kc:1:2",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
    }
}

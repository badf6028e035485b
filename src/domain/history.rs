//! What an order's history and audit rows say beyond "from → to": the details of a
//! transition or an edit, stored as JSON (`order_status_history.notes`,
//! `audit_log.details`) and read back for the history the admins see (`bot::texts::history`
//! renders them in Russian).
//!
//! Free text (the reason of a decline, a long repair or a refusal, typed by a person) is
//! stored as it was typed, not as JSON. Rows written before the details were structured hold
//! English notes ("master 3 -> 5", "total=1000000 materials=… review=false");
//! [`Note::read`] still understands those, so old history reads the same way.
//!
//! Money is integer kopecks; a master is named by `masters.id` and by the name they had when
//! the row was written (rows of the old form carry the id only).

use serde::{Deserialize, Serialize};

use super::ids::MasterId;
use super::status::OrderStatus;

/// A master as a history row remembers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterRef {
    /// `masters.id`.
    pub id: MasterId,
    /// The name shown at the time (first and last name, @username or the Telegram id); None
    /// in rows of the old form or when the master's user was unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl MasterRef {
    pub fn new(id: MasterId, name: Option<String>) -> MasterRef {
        MasterRef { id, name }
    }
}

/// The money of a closed order as a history row remembers it, kopecks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedMoney {
    pub total: i64,
    pub materials: i64,
    pub master_share: i64,
    pub company_share: i64,
    pub review: bool,
}

/// The structured details of one history or audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Details {
    /// A NEW order given to a master.
    Assigned { master: MasterRef },
    /// The order moved from one master to another.
    Reassigned { from: MasterRef, to: MasterRef },
    /// The master was taken off the order (back to NEW).
    Unassigned { master: MasterRef },
    /// The money of a closed order, kopecks.
    Closed {
        total: i64,
        materials: i64,
        master_share: i64,
        company_share: i64,
        review: bool,
    },
    /// An admin corrected a closed order's money: both splits, kopecks.
    MoneyCorrected { old: ClosedMoney, new: ClosedMoney },
    /// A field of an open order corrected (audit only): the column and both values.
    Edited {
        field: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// The visit moved (audit only): the arrival as typed before and after, the moments
    /// they were read as (UTC, None for an instruction), and the reason given.
    Rescheduled {
        old: Option<String>,
        new: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_at: Option<chrono::NaiveDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_at: Option<chrono::NaiveDateTime>,
        reason: String,
    },
}

impl Details {
    /// The JSON stored in the row.
    pub fn to_json(&self) -> String {
        // A plain enum of strings, integers and booleans always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether these details belong to a history row entering `status`: a row is read as
    /// structured only where the state machine writes such details, so a typed reason that
    /// happens to look like them stays text.
    fn fits(&self, status: Option<OrderStatus>) -> bool {
        match self {
            Details::Assigned { .. } | Details::Reassigned { .. } => {
                status.is_none_or(|s| s == OrderStatus::Assigned)
            }
            Details::Unassigned { .. } => status.is_none_or(|s| s == OrderStatus::New),
            Details::Closed { .. } | Details::MoneyCorrected { .. } => {
                status.is_none_or(|s| s == OrderStatus::Closed)
            }
            Details::Edited { .. } | Details::Rescheduled { .. } => status.is_none(),
        }
    }
}

/// A stored note, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Details(Details),
    /// Free text: a reason as typed, or a note of the old bot.
    Text(String),
}

impl Note {
    /// Reads a stored note of a history row entering `status` (None: an audit row): the JSON
    /// of [`Details`], else the old English forms, else free text.
    pub fn read(note: &str, status: Option<OrderStatus>) -> Note {
        let details = serde_json::from_str::<Details>(note)
            .ok()
            .or_else(|| legacy(note, status))
            .filter(|d| d.fits(status));
        match details {
            Some(details) => Note::Details(details),
            None => Note::Text(note.to_string()),
        }
    }
}

/// The notes written before they were structured: "master 3" (assigned, or unassigned when
/// the row enters NEW), "master 3 -> 5" (reassigned), and
/// "total=1000000 materials=50000 master=475000 company=475000 review=false" (closed).
fn legacy(note: &str, status: Option<OrderStatus>) -> Option<Details> {
    let master = |id: &str| -> Option<MasterRef> {
        let id = id.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(MasterRef::new(id.parse().ok()?, None))
    };
    if let Some(rest) = note.strip_prefix("master ") {
        return match rest.split_once(" -> ") {
            Some((from, to)) => Some(Details::Reassigned {
                from: master(from)?,
                to: master(to)?,
            }),
            None if status == Some(OrderStatus::New) => Some(Details::Unassigned {
                master: master(rest)?,
            }),
            None => Some(Details::Assigned {
                master: master(rest)?,
            }),
        };
    }
    let fields: Vec<(&str, &str)> = note
        .split(' ')
        .map(|part| part.split_once('='))
        .collect::<Option<_>>()?;
    let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let kopecks = |name: &str| field(name)?.parse::<i64>().ok();
    if fields.len() != 5 {
        return None;
    }
    Some(Details::Closed {
        total: kopecks("total")?,
        materials: kopecks("materials")?,
        master_share: kopecks("master")?,
        company_share: kopecks("company")?,
        review: field("review")?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(note: &str, status: OrderStatus) -> Note {
        Note::read(note, Some(status))
    }

    #[test]
    fn details_round_trip_through_json() {
        let samples = [
            Details::Assigned {
                master: MasterRef::new(MasterId(3), Some("Иван".into())),
            },
            Details::Reassigned {
                from: MasterRef::new(MasterId(3), Some("Иван".into())),
                to: MasterRef::new(MasterId(5), None),
            },
            Details::Unassigned {
                master: MasterRef::new(MasterId(5), Some("Пётр".into())),
            },
            Details::Closed {
                total: 1_000_000,
                materials: 50_000,
                master_share: 475_000,
                company_share: 475_000,
                review: true,
            },
        ];
        let statuses = [
            OrderStatus::Assigned,
            OrderStatus::Assigned,
            OrderStatus::New,
            OrderStatus::Closed,
        ];
        for (details, status) in samples.into_iter().zip(statuses) {
            let json = details.to_json();
            assert_eq!(read(&json, status), Note::Details(details), "{json}");
        }
        let edit = Details::Edited {
            field: "client_phone".into(),
            old: Some("+79001234567".into()),
            new: None,
        };
        assert_eq!(Note::read(&edit.to_json(), None), Note::Details(edit));
        let moved = Details::Rescheduled {
            old: Some("завтра в 15:00".into()),
            new: Some("позвонить за час".into()),
            old_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
                .and_then(|d| d.and_hms_opt(12, 0, 0)),
            new_at: None,
            reason: "Клиент заболел".into(),
        };
        assert_eq!(
            Note::read(&moved.to_json(), None),
            Note::Details(moved.clone())
        );
        assert_eq!(
            Note::read(&moved.to_json(), Some(OrderStatus::Assigned)),
            Note::Text(moved.to_json()),
            "never a status change"
        );
        assert_eq!(
            Details::Assigned {
                master: MasterRef::new(MasterId(3), Some("Иван".into()))
            }
            .to_json(),
            r#"{"kind":"assigned","master":{"id":3,"name":"Иван"}}"#
        );
    }

    #[test]
    fn old_english_notes_are_understood() {
        assert_eq!(
            read("master 3", OrderStatus::Assigned),
            Note::Details(Details::Assigned {
                master: MasterRef::new(MasterId(3), None)
            })
        );
        assert_eq!(
            read("master 3", OrderStatus::New),
            Note::Details(Details::Unassigned {
                master: MasterRef::new(MasterId(3), None)
            })
        );
        assert_eq!(
            read("master 3 -> 5", OrderStatus::Assigned),
            Note::Details(Details::Reassigned {
                from: MasterRef::new(MasterId(3), None),
                to: MasterRef::new(MasterId(5), None)
            })
        );
        assert_eq!(
            read(
                "total=1000000 materials=50000 master=475000 company=475000 review=false",
                OrderStatus::Closed
            ),
            Note::Details(Details::Closed {
                total: 1_000_000,
                materials: 50_000,
                master_share: 475_000,
                company_share: 475_000,
                review: false,
            })
        );
    }

    #[test]
    fn reasons_and_anything_else_stay_text() {
        let text = |s: &str| Note::Text(s.to_string());
        for (note, status) in [
            ("Нет запчастей", OrderStatus::New),
            ("dual role", OrderStatus::Accepted),
            ("master", OrderStatus::Assigned),
            ("master x", OrderStatus::Assigned),
            ("master 3 -> ", OrderStatus::Assigned),
            (
                "total=abc materials=1 master=1 company=1 review=false",
                OrderStatus::Closed,
            ),
            ("total=1 materials=1", OrderStatus::Closed),
            // Right words, wrong row: a refusal reason is never money or a master.
            (
                "total=1 materials=1 master=0 company=0 review=true",
                OrderStatus::Refused,
            ),
            ("master 3", OrderStatus::Dr),
            (
                r#"{"kind":"closed","total":1,"materials":0,"master_share":0,"company_share":1,"review":false}"#,
                OrderStatus::Refused,
            ),
            (r#"{"kind":"unknown"}"#, OrderStatus::Refused),
            ("{not json", OrderStatus::Refused),
        ] {
            assert_eq!(read(note, status), text(note), "{note}");
        }
    }
}

//! The dialogue state of a chat. Each variant carries what was collected so far; it is stored
//! as JSON in the `dialogues` table, so a half-finished dialogue survives a restart.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{MasterId, OrderId, TelegramId};
use crate::domain::status::{OrderStatus, Role};
use crate::domain::validation::Phone;
use crate::store::members::Member;
use crate::store::orders::EditableField;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    #[default]
    Idle,
    // Order intake, one step per field (SPEC 2.2).
    Equipment,
    Description {
        draft: OrderDraft,
    },
    ClientName {
        draft: OrderDraft,
    },
    Address {
        draft: OrderDraft,
    },
    Phone {
        draft: OrderDraft,
    },
    Notes {
        draft: OrderDraft,
    },
    Arrival {
        draft: OrderDraft,
    },
    Confirm {
        draft: OrderDraft,
    },
    // Reasons asked before a decline or a refusal.
    DeclineReason {
        order_id: OrderId,
        seen: OrderStatus,
        #[serde(default)]
        card: Option<CardAt>,
    },
    RefuseReason {
        order_id: OrderId,
        seen: OrderStatus,
        #[serde(default)]
        card: Option<CardAt>,
    },
    // Closing an order with money (SPEC 2.3), or an admin correcting a closed order's money
    // (`correcting`): the same amounts, asked the same way.
    CloseTotal {
        order_id: OrderId,
        seen: OrderStatus,
        #[serde(default)]
        card: Option<CardAt>,
        #[serde(default)]
        correcting: bool,
    },
    CloseMaterials {
        order_id: OrderId,
        seen: OrderStatus,
        total: i64,
        #[serde(default)]
        card: Option<CardAt>,
        #[serde(default)]
        correcting: bool,
    },
    CloseReview {
        order_id: OrderId,
        seen: OrderStatus,
        total: i64,
        materials: i64,
        #[serde(default)]
        card: Option<CardAt>,
        #[serde(default)]
        correcting: bool,
    },
    /// Asked only when the pay rules ask how the client paid.
    ClosePayment {
        order_id: OrderId,
        seen: OrderStatus,
        total: i64,
        materials: i64,
        has_review: bool,
        card: Option<CardAt>,
        correcting: bool,
    },
    // A long repair: the parts it waits for, when it should be ready, a prepayment.
    LongRepairParts {
        order_id: OrderId,
        seen: OrderStatus,
        card: Option<CardAt>,
    },
    LongRepairDate {
        order_id: OrderId,
        seen: OrderStatus,
        card: Option<CardAt>,
        parts: String,
    },
    LongRepairPrepayment {
        order_id: OrderId,
        seen: OrderStatus,
        card: Option<CardAt>,
        parts: String,
        ready_on: Option<NaiveDate>,
    },
    // Masters management (admins).
    MasterTelegramId,
    MasterPhone {
        telegram_id: TelegramId,
    },
    MasterSpecialization {
        telegram_id: TelegramId,
        phone: Phone,
    },
    BindGroup {
        master_id: MasterId,
    },
    // A report for a period typed by hand.
    ReportPeriod,
    // The search box is open.
    Search,
    // Correcting a field of an open order.
    EditValue {
        order_id: OrderId,
        field: EditableField,
    },
    // Moving a visit: the new time, then the reason.
    RescheduleTime {
        order_id: OrderId,
        card: Option<CardAt>,
    },
    RescheduleReason {
        order_id: OrderId,
        arrival: String,
        /// The arrival read as a moment (UTC), None for an instruction.
        visit_at: Option<NaiveDateTime>,
        visit_until: Option<NaiveDateTime>,
        card: Option<CardAt>,
    },
}

impl State {
    /// A step answered by its buttons only (the summary to confirm, the review question).
    pub fn takes_buttons_only(&self) -> bool {
        matches!(
            self,
            State::Confirm { .. } | State::CloseReview { .. } | State::ClosePayment { .. }
        )
    }

    /// Whether `member`, with the roles read for this very update, may go on with this
    /// dialogue: a role taken away mid-dialogue (an admin's change, or a new DISPATCHER_IDS
    /// after a restart) ends it. A master's reasons and amounts are left to the order state
    /// machine, which checks the actor on every move anyway.
    pub fn permitted(&self, member: &Member) -> bool {
        match self {
            // Correcting a closed order's money is for admins only.
            State::CloseTotal {
                correcting: true, ..
            }
            | State::CloseMaterials {
                correcting: true, ..
            }
            | State::CloseReview {
                correcting: true, ..
            }
            | State::ClosePayment {
                correcting: true, ..
            } => member.has(Role::Admin),
            State::Idle
            | State::DeclineReason { .. }
            | State::CloseTotal { .. }
            | State::CloseMaterials { .. }
            | State::CloseReview { .. }
            | State::ClosePayment { .. }
            | State::LongRepairParts { .. }
            | State::LongRepairDate { .. }
            | State::LongRepairPrepayment { .. }
            // Staff or the order's master: the store checks who may move the visit.
            | State::RescheduleTime { .. }
            | State::RescheduleReason { .. } => true,
            State::MasterTelegramId
            | State::MasterPhone { .. }
            | State::MasterSpecialization { .. }
            | State::BindGroup { .. } => member.has(Role::Admin),
            State::Equipment
            | State::Description { .. }
            | State::ClientName { .. }
            | State::Address { .. }
            | State::Phone { .. }
            | State::Notes { .. }
            | State::Arrival { .. }
            | State::Confirm { .. }
            | State::RefuseReason { .. }
            | State::ReportPeriod
            | State::Search
            | State::EditValue { .. } => member.is_staff(),
        }
    }
}

/// The card a dialogue about an order was started from (a work group's card, or an earlier
/// message): the dialogue goes on privately, and the card is redrawn when it ends. Dialogues
/// saved before this was kept have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardAt {
    pub chat: i64,
    pub message_id: i32,
}

/// The order being taken down in the intake dialogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDraft {
    pub equipment: String,
    pub description: String,
    pub client_name: String,
    pub address: String,
    pub phone: String,
    pub notes: Option<String>,
    pub arrival: Option<String>,
    /// `arrival` read as a moment (UTC) when it was typed; None for an instruction. Drafts
    /// saved before visits were read have neither.
    #[serde(default)]
    pub visit_at: Option<NaiveDateTime>,
    #[serde(default)]
    pub visit_until: Option<NaiveDateTime>,
}

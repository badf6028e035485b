//! The audit log: who did what to which entity. Actions are a fixed vocabulary.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::ids::{MasterId, OrderId, TelegramId};
use crate::schema::audit_log;

/// Written through Diesel as [`AuditAction::as_str`]. Not read back as this type: adopted
/// databases hold the old bot's own action names, which stay text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum AuditAction {
    UserRegistered,
    RoleGranted,
    RoleRevoked,
    OrderCreated,
    OrderAssigned,
    OrderReassigned,
    OrderUnassigned,
    OrderAccepted,
    OrderDeclined,
    OrderOnsite,
    OrderLongRepair,
    OrderResumed,
    OrderClosed,
    OrderRefused,
    OrderRestored,
    OrderEdited,
    VisitRescheduled,
    MasterAdded,
    MasterActivated,
    MasterDeactivated,
    MasterWorkChatBound,
    BackupCreated,
    BackupFailed,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserRegistered => "USER_REGISTERED",
            AuditAction::RoleGranted => "ROLE_GRANTED",
            AuditAction::RoleRevoked => "ROLE_REVOKED",
            AuditAction::OrderCreated => "ORDER_CREATED",
            AuditAction::OrderAssigned => "ORDER_ASSIGNED",
            AuditAction::OrderReassigned => "ORDER_REASSIGNED",
            AuditAction::OrderUnassigned => "ORDER_UNASSIGNED",
            AuditAction::OrderAccepted => "ORDER_ACCEPTED",
            AuditAction::OrderDeclined => "ORDER_DECLINED",
            AuditAction::OrderOnsite => "ORDER_ONSITE",
            AuditAction::OrderLongRepair => "ORDER_LONG_REPAIR",
            AuditAction::OrderResumed => "ORDER_RESUMED",
            AuditAction::OrderClosed => "ORDER_CLOSED",
            AuditAction::OrderRefused => "ORDER_REFUSED",
            AuditAction::OrderRestored => "ORDER_RESTORED",
            AuditAction::OrderEdited => "ORDER_EDITED",
            AuditAction::VisitRescheduled => "VISIT_RESCHEDULED",
            AuditAction::MasterAdded => "MASTER_ADDED",
            AuditAction::MasterActivated => "MASTER_ACTIVATED",
            AuditAction::MasterDeactivated => "MASTER_DEACTIVATED",
            AuditAction::MasterWorkChatBound => "MASTER_WORK_CHAT_BOUND",
            AuditAction::BackupCreated => "BACKUP_CREATED",
            AuditAction::BackupFailed => "BACKUP_FAILED",
        }
    }
}

/// What an audit row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Order(OrderId),
    Master(MasterId),
    User(TelegramId),
    System,
}

impl Entity {
    fn parts(self) -> (Option<&'static str>, Option<i64>) {
        match self {
            Entity::Order(id) => (Some("order"), Some(id.0)),
            Entity::Master(id) => (Some("master"), Some(id.0)),
            Entity::User(id) => (Some("user"), Some(id.0)),
            Entity::System => (Some("system"), None),
        }
    }
}

/// Writes one audit row. `details`: for order transitions and edits the JSON of
/// `domain::history::Details` (or a reason as typed), for the rest a short value (a role, a
/// chat id, a file name).
pub fn record(
    conn: &mut SqliteConnection,
    who: Option<TelegramId>,
    action: AuditAction,
    entity: Entity,
    details: Option<String>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let (entity_type, entity_id) = entity.parts();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::user_id.eq(who),
            audit_log::action.eq(action),
            audit_log::entity_type.eq(entity_type),
            audit_log::entity_id.eq(entity_id),
            audit_log::details.eq(details),
            audit_log::created_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for AuditAction {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        out.set_value(self.as_str());
        Ok(diesel::serialize::IsNull::No)
    }
}

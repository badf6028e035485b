//! The audit log: who did what to which entity. Actions are a fixed vocabulary.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::search::{keyset_page, Bound, Cursor, Page};
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
    OrderMoneyCorrected,
    OrderOutOfCity,
    MasterSeniority,
    OrderDeleted,
    OrderUndeleted,
    ClientPhoneRevealed,
    VisitRescheduled,
    MasterAdded,
    MasterActivated,
    MasterDeactivated,
    MasterWorkChatBound,
    MasterFired,
    BackupCreated,
    BackupFailed,
    BackupCopied,
    BackupCopyFailed,
}

impl AuditAction {
    /// Every action, to read a stored name back ([`AuditAction::from_name`]).
    pub const ALL: [AuditAction; 26] = [
        AuditAction::UserRegistered,
        AuditAction::RoleGranted,
        AuditAction::RoleRevoked,
        AuditAction::OrderCreated,
        AuditAction::OrderAssigned,
        AuditAction::OrderReassigned,
        AuditAction::OrderUnassigned,
        AuditAction::OrderAccepted,
        AuditAction::OrderDeclined,
        AuditAction::OrderOnsite,
        AuditAction::OrderLongRepair,
        AuditAction::OrderResumed,
        AuditAction::OrderClosed,
        AuditAction::OrderRefused,
        AuditAction::OrderRestored,
        AuditAction::OrderEdited,
        AuditAction::OrderDeleted,
        AuditAction::OrderUndeleted,
        AuditAction::ClientPhoneRevealed,
        AuditAction::MasterAdded,
        AuditAction::MasterActivated,
        AuditAction::MasterDeactivated,
        AuditAction::MasterWorkChatBound,
        AuditAction::MasterFired,
        AuditAction::BackupCreated,
        AuditAction::BackupFailed,
    ];

    /// The action a stored name stands for; None for the old bot's own names (shown as
    /// they are).
    pub fn from_name(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }

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
            AuditAction::OrderMoneyCorrected => "ORDER_MONEY_CORRECTED",
            AuditAction::OrderOutOfCity => "ORDER_OUT_OF_CITY",
            AuditAction::MasterSeniority => "MASTER_SENIORITY",
            AuditAction::OrderDeleted => "ORDER_DELETED",
            AuditAction::OrderUndeleted => "ORDER_UNDELETED",
            AuditAction::ClientPhoneRevealed => "CLIENT_PHONE_REVEALED",
            AuditAction::VisitRescheduled => "VISIT_RESCHEDULED",
            AuditAction::MasterAdded => "MASTER_ADDED",
            AuditAction::MasterActivated => "MASTER_ACTIVATED",
            AuditAction::MasterDeactivated => "MASTER_DEACTIVATED",
            AuditAction::MasterWorkChatBound => "MASTER_WORK_CHAT_BOUND",
            AuditAction::MasterFired => "MASTER_FIRED",
            AuditAction::BackupCreated => "BACKUP_CREATED",
            AuditAction::BackupFailed => "BACKUP_FAILED",
            AuditAction::BackupCopied => "BACKUP_COPIED",
            AuditAction::BackupCopyFailed => "BACKUP_COPY_FAILED",
        }
    }
}

/// One audit row as stored. `action` stays text: adopted databases hold the old bot's own
/// names ([`AuditAction::from_name`] reads ours).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::sqlite::Sqlite))]
pub struct AuditRow {
    pub id: i64,
    pub user_id: Option<TelegramId>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub details: Option<String>,
    pub created_at: NaiveDateTime,
}

impl AuditRow {
    pub fn known_action(&self) -> Option<AuditAction> {
        AuditAction::from_name(&self.action)
    }

    /// The order the row is about, if it is about one.
    pub fn order_id(&self) -> Option<OrderId> {
        match (self.entity_type.as_deref(), self.entity_id) {
            (Some("order"), Some(id)) => Some(OrderId(id)),
            _ => None,
        }
    }
}

/// The latest audit rows, newest first, `page_size` at a time from `cursor` (keyset on the
/// row id: a page neither repeats nor skips while rows are added).
pub fn page(
    conn: &mut SqliteConnection,
    cursor: Option<Cursor>,
    page_size: usize,
) -> QueryResult<Page<AuditRow>> {
    keyset_page(
        cursor,
        page_size,
        |row: &AuditRow| row.id,
        |bound, limit| {
            let query = audit_log::table
                .select(AuditRow::as_select())
                .limit(limit as i64)
                .into_boxed();
            match bound {
                Bound::Newest => query.order(audit_log::id.desc()),
                Bound::Below(id) => query
                    .filter(audit_log::id.lt(id))
                    .order(audit_log::id.desc()),
                Bound::Above(id) => query
                    .filter(audit_log::id.gt(id))
                    .order(audit_log::id.asc()),
            }
            .load(conn)
        },
    )
}

/// The rows about one order with one of `actions`, oldest first (through
/// `idx_audit_log_entity`): what an order's card adds to its status history.
pub fn for_order(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    actions: &[AuditAction],
) -> QueryResult<Vec<AuditRow>> {
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    audit_log::table
        .filter(audit_log::entity_type.eq("order"))
        .filter(audit_log::entity_id.eq(order_id.0))
        .filter(audit_log::action.eq_any(names))
        .order(audit_log::id)
        .select(AuditRow::as_select())
        .load(conn)
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

/// The newest row of an action: when, and its details.
pub fn latest(
    conn: &mut SqliteConnection,
    action: AuditAction,
) -> QueryResult<Option<(NaiveDateTime, Option<String>)>> {
    audit_log::table
        .filter(audit_log::action.eq(action.as_str()))
        .order(audit_log::id.desc())
        .select((audit_log::created_at, audit_log::details))
        .first(conn)
        .optional()
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

//! Order statuses, roles, and the one state machine that decides every order transition
//! (SPEC 2.2). Handlers ask [`decide`] before writing anything, and build their buttons from
//! [`available_actions`], so a forged or stale callback is refused by the same rules that drew
//! the card.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::ids::{MasterId, TelegramId};

/// An order's status, spelled in the database as [`OrderStatus::as_str`] returns; read from
/// SQL through [`super::sql`], where an unknown spelling is an error.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum OrderStatus {
    New,
    Assigned,
    Accepted,
    Onsite,
    /// Long repair: waiting for parts.
    Dr,
    Closed,
    Refused,
}

impl OrderStatus {
    /// Every status, in the order of an order's life (for lists and reports).
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::New,
        OrderStatus::Assigned,
        OrderStatus::Accepted,
        OrderStatus::Onsite,
        OrderStatus::Dr,
        OrderStatus::Closed,
        OrderStatus::Refused,
    ];

    /// The spelling stored in `orders.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::Assigned => "ASSIGNED",
            OrderStatus::Accepted => "ACCEPTED",
            OrderStatus::Onsite => "ONSITE",
            OrderStatus::Dr => "DR",
            OrderStatus::Closed => "CLOSED",
            OrderStatus::Refused => "REFUSED",
        }
    }

    /// Open orders still need work; CLOSED and REFUSED do not.
    pub fn is_open(self) -> bool {
        !matches!(self, OrderStatus::Closed | OrderStatus::Refused)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status or role string that is not one of the exact database spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

impl FromStr for OrderStatus {
    type Err = UnknownName;

    /// Exact database spelling only: a lower-case or padded value means the data is wrong,
    /// and guessing would hide that.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "order status",
                value: s.to_string(),
            })
    }
}

/// A user's role, spelled in the database as [`Role::as_str`] returns (see [`super::sql`]).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    Admin,
    Dispatcher,
    Master,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Dispatcher, Role::Master];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Dispatcher => "DISPATCHER",
            Role::Master => "MASTER",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "role",
                value: s.to_string(),
            })
    }
}

/// What someone asks to do with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Give the order to a master (from NEW), or to another master (reassign).
    Assign {
        master_id: MasterId,
    },
    /// Take the order back from its master.
    Unassign,
    Accept,
    /// The master gives the order back.
    Decline,
    GoOnsite,
    /// The repair waits for parts.
    LongRepair,
    ResumeOnsite,
    Close,
    Refuse,
    /// Bring a refused order back to NEW.
    Restore,
}

/// An [`Action`] without its data: what a button stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    Assign,
    Unassign,
    Accept,
    Decline,
    GoOnsite,
    LongRepair,
    ResumeOnsite,
    Close,
    Refuse,
    Restore,
}

impl ActionKind {
    /// Every kind, in the order buttons are shown.
    pub const ALL: [ActionKind; 10] = [
        ActionKind::Assign,
        ActionKind::Unassign,
        ActionKind::Accept,
        ActionKind::Decline,
        ActionKind::GoOnsite,
        ActionKind::LongRepair,
        ActionKind::ResumeOnsite,
        ActionKind::Close,
        ActionKind::Refuse,
        ActionKind::Restore,
    ];

    /// The master's own part of an order (accept, on site, long repair, close...): staff may
    /// do it for him, except declining (they unassign instead).
    pub fn is_masters_work(self) -> bool {
        self.performer() == Performer::AssignedMaster
    }

    /// Staff (dispatchers, admins) manage orders; the assigned master does the work, and
    /// staff may do it in his name (a master without a phone, a closing he cannot do).
    fn performer(self) -> Performer {
        match self {
            ActionKind::Assign
            | ActionKind::Unassign
            | ActionKind::Refuse
            | ActionKind::Restore => Performer::Staff,
            ActionKind::Accept
            | ActionKind::Decline
            | ActionKind::GoOnsite
            | ActionKind::LongRepair
            | ActionKind::ResumeOnsite
            | ActionKind::Close => Performer::AssignedMaster,
        }
    }

    /// Whether this kind of action applies to an order in `status`.
    fn allowed_from(self, status: OrderStatus) -> bool {
        use OrderStatus::*;
        match self {
            ActionKind::Assign => matches!(status, New | Assigned | Accepted),
            ActionKind::Unassign => matches!(status, Assigned | Accepted),
            ActionKind::Accept => status == Assigned,
            // A master may give an order back after accepting it too (with a reason).
            ActionKind::Decline => matches!(status, Assigned | Accepted),
            ActionKind::GoOnsite => status == Accepted,
            ActionKind::LongRepair => status == Onsite,
            ActionKind::ResumeOnsite => status == Dr,
            ActionKind::Close => matches!(status, Onsite | Dr),
            ActionKind::Refuse => status.is_open(),
            ActionKind::Restore => status == Refused,
        }
    }

    fn target(self) -> OrderStatus {
        match self {
            ActionKind::Assign => OrderStatus::Assigned,
            ActionKind::Unassign | ActionKind::Decline | ActionKind::Restore => OrderStatus::New,
            ActionKind::Accept => OrderStatus::Accepted,
            ActionKind::GoOnsite | ActionKind::ResumeOnsite => OrderStatus::Onsite,
            ActionKind::LongRepair => OrderStatus::Dr,
            ActionKind::Close => OrderStatus::Closed,
            ActionKind::Refuse => OrderStatus::Refused,
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionKind::Assign => "assign",
            ActionKind::Unassign => "unassign",
            ActionKind::Accept => "accept",
            ActionKind::Decline => "decline",
            ActionKind::GoOnsite => "go on site with",
            ActionKind::LongRepair => "put into long repair",
            ActionKind::ResumeOnsite => "resume on site",
            ActionKind::Close => "close",
            ActionKind::Refuse => "refuse",
            ActionKind::Restore => "restore",
        })
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Assign { .. } => ActionKind::Assign,
            Action::Unassign => ActionKind::Unassign,
            Action::Accept => ActionKind::Accept,
            Action::Decline => ActionKind::Decline,
            Action::GoOnsite => ActionKind::GoOnsite,
            Action::LongRepair => ActionKind::LongRepair,
            Action::ResumeOnsite => ActionKind::ResumeOnsite,
            Action::Close => ActionKind::Close,
            Action::Refuse => ActionKind::Refuse,
            Action::Restore => ActionKind::Restore,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Performer {
    Staff,
    AssignedMaster,
}

/// Who is acting, as the server knows them (never taken from callback data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub telegram_id: TelegramId,
    pub roles: BTreeSet<Role>,
    /// The `masters.id` of this user if they are a master.
    pub master_id: Option<MasterId>,
}

impl Actor {
    /// Dispatchers and admins manage orders; an admin can do everything a dispatcher can.
    pub fn is_staff(&self) -> bool {
        self.roles.contains(&Role::Admin) || self.roles.contains(&Role::Dispatcher)
    }

    /// The master's id, when this user acts as a master. Both the role and a masters row are
    /// needed, so a user whose MASTER role was taken away cannot keep working on orders.
    pub fn acting_master_id(&self) -> Option<MasterId> {
        self.master_id
            .filter(|_| self.roles.contains(&Role::Master))
    }

    fn is_assigned_master(&self, order: &OrderFacts) -> bool {
        self.acting_master_id()
            .is_some_and(|id| order.assigned_master_id == Some(id))
    }
}

/// The part of an order the state machine looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFacts {
    pub status: OrderStatus,
    pub assigned_master_id: Option<MasterId>,
}

/// An allowed change: what to write to the order and to `order_status_history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// The order's master after the transition.
    pub assigned_master_id: Option<MasterId>,
}

/// Why an action was refused. Checked in this order: role, status, ownership, same master,
/// so a stale button (the order moved on) reads as a status problem rather than an ownership one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("this user's roles do not allow them to {action} an order")]
    NotAllowedForRole { action: ActionKind },
    #[error("cannot {action} an order in status {status}")]
    WrongStatus {
        status: OrderStatus,
        action: ActionKind,
    },
    #[error("the order is assigned to another master")]
    NotYourOrder,
    #[error("the order is already assigned to this master")]
    SameMaster,
}

/// Decides whether `actor` may apply `action` to `order`, and what the order becomes.
pub fn decide(order: &OrderFacts, actor: &Actor, action: &Action) -> Result<Transition, Denied> {
    let kind = action.kind();
    check(order, actor, kind)?;
    let assigned_master_id = match *action {
        Action::Assign { master_id } => {
            // Reassigning to the same master would only re-send notifications.
            if order.status != OrderStatus::New && order.assigned_master_id == Some(master_id) {
                return Err(Denied::SameMaster);
            }
            Some(master_id)
        }
        Action::Unassign | Action::Decline | Action::Restore => None,
        _ => order.assigned_master_id,
    };
    Ok(Transition {
        from: order.status,
        to: kind.target(),
        assigned_master_id,
    })
}

/// The actions to offer as buttons on this order's card for this actor. Assign is offered
/// when some master could be picked; the master list then leaves out the current one.
pub fn available_actions(order: &OrderFacts, actor: &Actor) -> Vec<ActionKind> {
    ActionKind::ALL
        .into_iter()
        .filter(|kind| check(order, actor, *kind).is_ok())
        .collect()
}

/// A master sees the client's phone only once on site (SPEC 2.2, client privacy).
pub fn client_phone_visible_to_master(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Onsite | OrderStatus::Dr | OrderStatus::Closed
    )
}

/// Everything but the choice of master: role, then status, then ownership.
fn check(order: &OrderFacts, actor: &Actor, kind: ActionKind) -> Result<(), Denied> {
    let performer = kind.performer();
    let for_master =
        performer == Performer::AssignedMaster && kind != ActionKind::Decline && actor.is_staff();
    let has_role = match performer {
        Performer::Staff => actor.is_staff(),
        Performer::AssignedMaster => actor.acting_master_id().is_some() || for_master,
    };
    if !has_role {
        return Err(Denied::NotAllowedForRole { action: kind });
    }
    if !kind.allowed_from(order.status) {
        return Err(Denied::WrongStatus {
            status: order.status,
            action: kind,
        });
    }
    if performer == Performer::AssignedMaster && !actor.is_assigned_master(order) {
        // Staff act for the master only on an order that has one.
        if !(for_master && order.assigned_master_id.is_some()) {
            return Err(Denied::NotYourOrder);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    const ASSIGNED_MASTER: MasterId = MasterId(11);
    const OTHER_MASTER: MasterId = MasterId(22);

    #[test]
    fn status_spellings_round_trip() {
        let spellings = [
            "NEW", "ASSIGNED", "ACCEPTED", "ONSITE", "DR", "CLOSED", "REFUSED",
        ];
        for (status, spelling) in OrderStatus::ALL.into_iter().zip(spellings) {
            assert_eq!(status.as_str(), spelling);
            assert_eq!(status.to_string(), spelling);
            assert_eq!(spelling.parse::<OrderStatus>(), Ok(status));
        }
    }

    #[test]
    fn status_parsing_is_exact() {
        for bad in ["new", "New", " NEW", "NEW ", "", "OPEN", "REFUSE"] {
            let err = bad.parse::<OrderStatus>().unwrap_err();
            assert_eq!(err.value, bad);
            assert!(err.to_string().contains("order status"));
        }
    }

    #[test]
    fn only_closed_and_refused_are_not_open() {
        let open: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, [New, Assigned, Accepted, Onsite, Dr]);
    }

    #[test]
    fn role_spellings_round_trip() {
        for (role, spelling) in Role::ALL.into_iter().zip(["ADMIN", "DISPATCHER", "MASTER"]) {
            assert_eq!(role.as_str(), spelling);
            assert_eq!(spelling.parse::<Role>(), Ok(role));
        }
        for bad in ["admin", "Master", "", "OWNER"] {
            assert!(bad.parse::<Role>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phone_is_visible_to_master_only_from_onsite_on() {
        let visible: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| client_phone_visible_to_master(*s))
            .collect();
        assert_eq!(visible, [Onsite, Dr, Closed]);
    }

    // ----- The state machine, against a table written out by hand. -----

    /// The kinds of people who press buttons.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Who {
        Admin,
        Dispatcher,
        AssignedMaster,
        OtherMaster,
        DispatcherAssignedMaster,
        AdminOtherMaster,
        /// Has a masters row but lost the MASTER role.
        FormerMaster,
        NoRole,
    }

    const EVERYONE: [Who; 8] = [
        Who::Admin,
        Who::Dispatcher,
        Who::AssignedMaster,
        Who::OtherMaster,
        Who::DispatcherAssignedMaster,
        Who::AdminOtherMaster,
        Who::FormerMaster,
        Who::NoRole,
    ];

    fn actor(who: Who) -> Actor {
        let (roles, master_id): (&[Role], _) = match who {
            Who::Admin => (&[Role::Admin], None),
            Who::Dispatcher => (&[Role::Dispatcher], None),
            Who::AssignedMaster => (&[Role::Master], Some(ASSIGNED_MASTER)),
            Who::OtherMaster => (&[Role::Master], Some(OTHER_MASTER)),
            Who::DispatcherAssignedMaster => {
                (&[Role::Dispatcher, Role::Master], Some(ASSIGNED_MASTER))
            }
            Who::AdminOtherMaster => (&[Role::Admin, Role::Master], Some(OTHER_MASTER)),
            Who::FormerMaster => (&[], Some(ASSIGNED_MASTER)),
            Who::NoRole => (&[], None),
        };
        Actor {
            telegram_id: TelegramId(1000),
            roles: roles.iter().copied().collect(),
            master_id,
        }
    }

    /// Written independently of the code: may this person manage orders?
    fn is_staff(who: Who) -> bool {
        matches!(
            who,
            Who::Admin | Who::Dispatcher | Who::DispatcherAssignedMaster | Who::AdminOtherMaster
        )
    }

    /// Whether this person works as a master at all, and whether on this order.
    fn works_as_master(who: Who) -> bool {
        matches!(
            who,
            Who::AssignedMaster
                | Who::OtherMaster
                | Who::DispatcherAssignedMaster
                | Who::AdminOtherMaster
        )
    }

    fn is_the_assigned_master(who: Who) -> bool {
        matches!(who, Who::AssignedMaster | Who::DispatcherAssignedMaster)
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum By {
        Staff,
        Master,
        /// The assigned master, or staff in his name on an order that has one.
        MasterOrStaffForHim,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum After {
        Kept,
        Unset,
        Chosen,
    }

    /// SPEC 2.2, one row per allowed (action, from) pair. Everything not listed is refused.
    const TABLE: &[(ActionKind, OrderStatus, By, OrderStatus, After)] = &[
        (ActionKind::Assign, New, By::Staff, Assigned, After::Chosen),
        (
            ActionKind::Assign,
            Assigned,
            By::Staff,
            Assigned,
            After::Chosen,
        ),
        (
            ActionKind::Assign,
            Accepted,
            By::Staff,
            Assigned,
            After::Chosen,
        ),
        (ActionKind::Unassign, Assigned, By::Staff, New, After::Unset),
        (ActionKind::Unassign, Accepted, By::Staff, New, After::Unset),
        (
            ActionKind::Accept,
            Assigned,
            By::Master,
            Accepted,
            After::Kept,
        ),
        (ActionKind::Decline, Assigned, By::Master, New, After::Unset),
        (ActionKind::Decline, Accepted, By::Master, New, After::Unset),
        (
            ActionKind::GoOnsite,
            Accepted,
            By::Master,
            Onsite,
            After::Kept,
        ),
        (ActionKind::Close, Onsite, By::Master, Closed, After::Kept),
        (ActionKind::Close, Dr, By::Master, Closed, After::Kept),
        (ActionKind::LongRepair, Onsite, By::Master, Dr, After::Kept),
        (
            ActionKind::ResumeOnsite,
            Dr,
            By::Master,
            Onsite,
            After::Kept,
        ),
        (ActionKind::Refuse, New, By::Staff, Refused, After::Kept),
        (
            ActionKind::Refuse,
            Assigned,
            By::Staff,
            Refused,
            After::Kept,
        ),
        (
            ActionKind::Refuse,
            Accepted,
            By::Staff,
            Refused,
            After::Kept,
        ),
        (ActionKind::Refuse, Onsite, By::Staff, Refused, After::Kept),
        (ActionKind::Refuse, Dr, By::Staff, Refused, After::Kept),
        (ActionKind::Restore, Refused, By::Staff, New, After::Unset),
    ];

    /// Which side performs each kind, whatever the status (for the role check).
    fn by(kind: ActionKind) -> By {
        match kind {
            ActionKind::Assign
            | ActionKind::Unassign
            | ActionKind::Refuse
            | ActionKind::Restore => By::Staff,
            ActionKind::Decline => By::Master,
            _ => By::MasterOrStaffForHim,
        }
    }

    fn expected(order: &OrderFacts, who: Who, action: &Action) -> Result<Transition, Denied> {
        let kind = action.kind();
        let by = by(kind);
        let role_ok = match by {
            By::Staff => is_staff(who),
            By::Master => works_as_master(who),
            By::MasterOrStaffForHim => works_as_master(who) || is_staff(who),
        };
        if !role_ok {
            return Err(Denied::NotAllowedForRole { action: kind });
        }
        let Some(&(_, _, _, to, after)) = TABLE
            .iter()
            .find(|row| row.0 == kind && row.1 == order.status)
        else {
            return Err(Denied::WrongStatus {
                status: order.status,
                action: kind,
            });
        };
        let for_him =
            by == By::MasterOrStaffForHim && is_staff(who) && order.assigned_master_id.is_some();
        if by != By::Staff && !is_the_assigned_master(who) && !for_him {
            return Err(Denied::NotYourOrder);
        }
        let master_after = match (after, action) {
            (After::Kept, _) => order.assigned_master_id,
            (After::Unset, _) => None,
            (After::Chosen, Action::Assign { master_id }) => {
                let reassign = matches!(order.status, Assigned | Accepted);
                if reassign && order.assigned_master_id == Some(*master_id) {
                    return Err(Denied::SameMaster);
                }
                Some(*master_id)
            }
            (After::Chosen, _) => unreachable!("only Assign chooses a master"),
        };
        Ok(Transition {
            from: order.status,
            to,
            assigned_master_id: master_after,
        })
    }

    /// Every status with the master it normally has, plus a REFUSED order refused while new
    /// and a NEW order still naming a master (legacy data): it must stay assignable.
    fn orders() -> Vec<OrderFacts> {
        let mut orders: Vec<_> = OrderStatus::ALL
            .into_iter()
            .map(|status| OrderFacts {
                status,
                assigned_master_id: (status != New).then_some(ASSIGNED_MASTER),
            })
            .collect();
        orders.push(OrderFacts {
            status: Refused,
            assigned_master_id: None,
        });
        orders.push(OrderFacts {
            status: New,
            assigned_master_id: Some(ASSIGNED_MASTER),
        });
        orders
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::Assign {
                master_id: ASSIGNED_MASTER,
            },
            Action::Assign {
                master_id: OTHER_MASTER,
            },
            Action::Unassign,
            Action::Accept,
            Action::Decline,
            Action::GoOnsite,
            Action::LongRepair,
            Action::ResumeOnsite,
            Action::Close,
            Action::Refuse,
            Action::Restore,
        ]
    }

    #[test]
    fn decide_matches_the_table_for_every_status_action_and_actor() {
        let mut checked = 0;
        let mut allowed = 0;
        for order in orders() {
            for who in EVERYONE {
                for action in actions() {
                    let got = decide(&order, &actor(who), &action);
                    let want = expected(&order, who, &action);
                    assert_eq!(got, want, "{order:?} {who:?} {action:?}");
                    checked += 1;
                    allowed += usize::from(got.is_ok());
                }
            }
        }
        assert_eq!(checked, 9 * 8 * 11);
        // A guard against a table or actor list that silently allows nothing.
        assert!(allowed > 50, "only {allowed} allowed");
    }

    #[test]
    fn every_action_kind_is_covered_by_the_test_actions() {
        let kinds: BTreeSet<_> = actions().iter().map(Action::kind).collect();
        assert_eq!(kinds.len(), ActionKind::ALL.len());
    }

    #[test]
    fn available_actions_agree_with_decide() {
        for order in orders() {
            for who in EVERYONE {
                let actor = actor(who);
                let shown: BTreeSet<_> = available_actions(&order, &actor).into_iter().collect();
                for kind in ActionKind::ALL {
                    let decidable = actions()
                        .iter()
                        .filter(|a| a.kind() == kind)
                        .any(|a| decide(&order, &actor, a).is_ok());
                    assert_eq!(
                        shown.contains(&kind),
                        decidable,
                        "{order:?} {who:?} {kind:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn available_actions_for_typical_cards() {
        let assigned = OrderFacts {
            status: Assigned,
            assigned_master_id: Some(ASSIGNED_MASTER),
        };
        assert_eq!(
            available_actions(&assigned, &actor(Who::AssignedMaster)),
            [ActionKind::Accept, ActionKind::Decline]
        );
        // Staff may accept for the master, not decline for him (they unassign).
        assert_eq!(
            available_actions(&assigned, &actor(Who::Dispatcher)),
            [
                ActionKind::Assign,
                ActionKind::Unassign,
                ActionKind::Accept,
                ActionKind::Refuse
            ]
        );
        assert_eq!(
            available_actions(&assigned, &actor(Who::DispatcherAssignedMaster)),
            [
                ActionKind::Assign,
                ActionKind::Unassign,
                ActionKind::Accept,
                ActionKind::Decline,
                ActionKind::Refuse
            ]
        );
        assert!(available_actions(&assigned, &actor(Who::OtherMaster)).is_empty());
        assert!(available_actions(&assigned, &actor(Who::NoRole)).is_empty());

        let closed = OrderFacts {
            status: Closed,
            assigned_master_id: Some(ASSIGNED_MASTER),
        };
        for who in EVERYONE {
            assert!(
                available_actions(&closed, &actor(who)).is_empty(),
                "{who:?}"
            );
        }
    }

    #[test]
    fn reassigning_an_accepted_order_needs_the_new_master_to_accept() {
        let accepted = OrderFacts {
            status: Accepted,
            assigned_master_id: Some(ASSIGNED_MASTER),
        };
        let got = decide(
            &accepted,
            &actor(Who::Admin),
            &Action::Assign {
                master_id: OTHER_MASTER,
            },
        );
        assert_eq!(
            got,
            Ok(Transition {
                from: Accepted,
                to: Assigned,
                assigned_master_id: Some(OTHER_MASTER),
            })
        );
    }

    #[test]
    fn refusing_keeps_the_master_and_restoring_unsets_it() {
        let onsite = OrderFacts {
            status: Onsite,
            assigned_master_id: Some(ASSIGNED_MASTER),
        };
        let refused = decide(&onsite, &actor(Who::Dispatcher), &Action::Refuse).unwrap();
        assert_eq!(refused.assigned_master_id, Some(ASSIGNED_MASTER));
        let after = OrderFacts {
            status: refused.to,
            assigned_master_id: refused.assigned_master_id,
        };
        let restored = decide(&after, &actor(Who::Dispatcher), &Action::Restore).unwrap();
        assert_eq!((restored.to, restored.assigned_master_id), (New, None));
    }

    #[test]
    fn a_stale_button_reads_as_wrong_status() {
        // The master's Accept arrives after the dispatcher unassigned the order.
        let new = OrderFacts {
            status: New,
            assigned_master_id: None,
        };
        assert_eq!(
            decide(&new, &actor(Who::AssignedMaster), &Action::Accept),
            Err(Denied::WrongStatus {
                status: New,
                action: ActionKind::Accept
            })
        );
    }

    #[test]
    fn denials_read_as_plain_english() {
        let texts = [
            Denied::NotAllowedForRole {
                action: ActionKind::Refuse,
            }
            .to_string(),
            Denied::WrongStatus {
                status: Closed,
                action: ActionKind::Close,
            }
            .to_string(),
            Denied::NotYourOrder.to_string(),
            Denied::SameMaster.to_string(),
        ];
        assert_eq!(
            texts,
            [
                "this user's roles do not allow them to refuse an order",
                "cannot close an order in status CLOSED",
                "the order is assigned to another master",
                "the order is already assigned to this master",
            ]
        );
    }
}

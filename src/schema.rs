// @generated automatically by Diesel CLI.

diesel::table! {
    adoption_orphans (id) {
        id -> BigInt,
        table_name -> Text,
        row_id -> BigInt,
        column_name -> Text,
        missing_value -> BigInt,
        row_data -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        action -> Text,
        entity_type -> Nullable<Text>,
        entity_id -> Nullable<BigInt>,
        details -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dialogues (chat_id) {
        chat_id -> BigInt,
        state -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    handled_updates (update_id) {
        update_id -> BigInt,
        handled_at -> Timestamp,
    }
}

diesel::table! {
    job_runs (job) {
        job -> Text,
        last_run_at -> Timestamp,
    }
}

diesel::table! {
    masters (id) {
        id -> BigInt,
        telegram_id -> BigInt,
        phone -> Text,
        specialization -> Text,
        is_active -> Bool,
        is_approved -> Bool,
        work_chat_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        is_senior -> Bool,
        fired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    migration_ledger (version) {
        version -> Text,
        checksum -> Text,
        stamped -> Bool,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    order_search (rowid) {
        rowid -> BigInt,
        client_address -> Nullable<Binary>,
        #[sql_name = "order_search"]
        order_search_ -> Nullable<Binary>,
        rank -> Nullable<Binary>,
    }
}

diesel::table! {
    order_status_history (id) {
        id -> BigInt,
        order_id -> BigInt,
        old_status -> Nullable<Text>,
        new_status -> Text,
        changed_by -> Nullable<BigInt>,
        changed_at -> Timestamp,
        notes -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        equipment_type -> Text,
        description -> Text,
        client_name -> Text,
        client_address -> Text,
        client_phone -> Text,
        status -> Text,
        assigned_master_id -> Nullable<BigInt>,
        dispatcher_id -> Nullable<BigInt>,
        notes -> Nullable<Text>,
        scheduled_time -> Nullable<Text>,
        total_kopecks -> Nullable<BigInt>,
        materials_kopecks -> Nullable<BigInt>,
        master_share_kopecks -> Nullable<BigInt>,
        company_share_kopecks -> Nullable<BigInt>,
        has_review -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        status_changed_at -> Timestamp,
        reminders_sent -> Integer,
        last_reminded_at -> Nullable<Timestamp>,
        out_of_city -> Bool,
        payment -> Nullable<Text>,
        cash_due_kopecks -> Nullable<BigInt>,
        prepayment_kopecks -> Nullable<BigInt>,
        expected_ready_on -> Nullable<Date>,
        parts_note -> Nullable<Text>,
        visit_at -> Nullable<Timestamp>,
        visit_reminded_at -> Nullable<Timestamp>,
        reschedule_count -> Integer,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        chat_id -> BigInt,
        text -> Text,
        reply_markup -> Nullable<Text>,
        fallback_chat_id -> Nullable<BigInt>,
        fallback_text -> Nullable<Text>,
        digest_key -> Nullable<Text>,
        digest_line -> Nullable<Text>,
        created_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        telegram_message_id -> Nullable<Integer>,
        failed_at -> Nullable<Timestamp>,
        failure -> Nullable<Text>,
        document -> Nullable<Text>,
    }
}

diesel::table! {
    search_queries (id) {
        id -> BigInt,
        text -> Text,
        used_at -> Timestamp,
    }
}

diesel::table! {
    sla_alerts (order_id, status) {
        order_id -> BigInt,
        status -> Text,
        alerted_at -> Timestamp,
    }
}

diesel::table! {
    user_roles (telegram_id, role) {
        telegram_id -> BigInt,
        role -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        telegram_id -> BigInt,
        username -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(order_status_history -> orders (order_id));
diesel::joinable!(orders -> masters (assigned_master_id));
diesel::joinable!(sla_alerts -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    adoption_orphans,
    audit_log,
    dialogues,
    handled_updates,
    job_runs,
    masters,
    migration_ledger,
    order_search,
    order_status_history,
    orders,
    outbox,
    search_queries,
    sla_alerts,
    user_roles,
    users,
);

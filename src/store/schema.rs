// The one diesel schema for both backends. Both migration sets under `migrations/` create
// exactly these tables and columns.

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        deployment_id -> Nullable<Text>,
        status -> Text,
        plan_name -> Nullable<Text>,
        subscription_status -> Nullable<Text>,
        subscription_start -> Nullable<Text>,
        subscription_end -> Nullable<Text>,
        credits -> Nullable<BigInt>,
        deployment_charge_credits -> Nullable<BigInt>,
        allocated_credits -> Nullable<BigInt>,
        baseline_continuous_ingest -> Nullable<BigInt>,
        baseline_frequent_ingest -> Nullable<BigInt>,
        baseline_infrequent_ingest -> Nullable<BigInt>,
        baseline_tracing_ingest -> Nullable<BigInt>,
        baseline_cse_ingest -> Nullable<BigInt>,
        baseline_metrics -> Nullable<BigInt>,
        baseline_cse_activation -> Nullable<Bool>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        schemas_version -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        org_id -> Text,
        user_name -> Nullable<Text>,
        user_name_lower -> Nullable<Text>,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        display_name_lower -> Nullable<Text>,
        nick_name -> Nullable<Text>,
        profile_url -> Nullable<Text>,
        title -> Nullable<Text>,
        user_type -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
        locale -> Nullable<Text>,
        timezone -> Nullable<Text>,
        name_formatted -> Nullable<Text>,
        name_family -> Nullable<Text>,
        name_given -> Nullable<Text>,
        name_middle -> Nullable<Text>,
        name_honorific_prefix -> Nullable<Text>,
        name_honorific_suffix -> Nullable<Text>,
        active -> Nullable<Bool>,
        password_hash -> Nullable<Text>,
        password_algorithm -> Nullable<Text>,
        password_updated_at -> Nullable<Timestamp>,
        employee_number -> Nullable<Text>,
        cost_center -> Nullable<Text>,
        organization -> Nullable<Text>,
        division -> Nullable<Text>,
        department -> Nullable<Text>,
        manager_id -> Nullable<Text>,
        custom_data -> Text,
        profile_extra -> Text,
        identity_type -> Nullable<Text>,
        domain -> Nullable<Text>,
        application_id -> Nullable<Text>,
        is_locked -> Bool,
        mfa_enabled -> Bool,
        last_sign_in_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        modified_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_values (user_id, attribute, position) {
        user_id -> BigInt,
        attribute -> Text,
        position -> Integer,
        org_id -> Text,
        value -> Nullable<Text>,
        value_lower -> Nullable<Text>,
        display -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
        formatted -> Nullable<Text>,
        street_address -> Nullable<Text>,
        locality -> Nullable<Text>,
        region -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        country -> Nullable<Text>,
        kind -> Nullable<Text>,
        value_num -> Nullable<Double>,
    }
}

diesel::table! {
    groups (id) {
        id -> BigInt,
        org_id -> Text,
        display_name -> Text,
        display_name_lower -> Text,
        external_id -> Nullable<Text>,
        description -> Nullable<Text>,
        group_type -> Text,
        active -> Bool,
        is_default -> Bool,
        created_by -> Nullable<Text>,
        modified_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        has_extensions -> Bool,
    }
}

diesel::table! {
    group_users (group_id, user_id) {
        group_id -> BigInt,
        user_id -> BigInt,
        org_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_groups (group_id, member_group_id) {
        group_id -> BigInt,
        member_group_id -> BigInt,
        org_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    roles (id) {
        id -> BigInt,
        org_id -> Text,
        name -> Text,
        name_lower -> Text,
        description -> Nullable<Text>,
        filter_predicate -> Nullable<Text>,
        capabilities -> Text,
        system_defined -> Bool,
        created_by -> Nullable<Text>,
        modified_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> BigInt,
        role_id -> BigInt,
        org_id -> Text,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        display -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    identities (user_id, target) {
        user_id -> BigInt,
        target -> Text,
        org_id -> Text,
        external_user_id -> Text,
        details -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        label -> Text,
        secret_hash -> Text,
        scopes -> Text,
        user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        previous_secret_hash -> Nullable<Text>,
        previous_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_entries (id) {
        id -> BigInt,
        org_id -> Text,
        user_id -> Nullable<BigInt>,
        key -> Text,
        result -> Text,
        actor -> Text,
        dialect -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    credit_usage (id) {
        id -> BigInt,
        org_id -> Text,
        usage_date -> Text,
        product_variable -> Text,
        credits_used -> Double,
        unit -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_requests (user_id, kind) {
        user_id -> BigInt,
        kind -> Text,
        org_id -> Text,
        email -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    events (pos) {
        pos -> BigInt,
        id -> Text,
        org_id -> Text,
        seq -> Nullable<BigInt>,
        #[sql_name = "type"]
        type_ -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        actor -> Text,
        dialect -> Text,
        data -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    event_counters (org_id) {
        org_id -> Text,
        seq -> BigInt,
        pruned_seq -> BigInt,
    }
}

diesel::table! {
    hooks (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        events -> Text,
        url -> Text,
        headers -> Text,
        retries -> Nullable<BigInt>,
        signing_key -> Text,
        enabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    hook_deliveries (id) {
        id -> BigInt,
        hook_id -> Text,
        org_id -> Text,
        event_pos -> BigInt,
        seq -> BigInt,
        resource -> Text,
        state -> Text,
        attempts -> BigInt,
        next_at -> BigInt,
        lease_until -> BigInt,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    hook_logs (id) {
        id -> BigInt,
        hook_id -> Text,
        org_id -> Text,
        key -> Text,
        result -> Text,
        payload -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    console_sessions (token_hash) {
        token_hash -> Text,
        org_id -> Text,
        user_id -> Nullable<BigInt>,
        credential_id -> Nullable<Text>,
        label -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    console_work (id) {
        id -> Text,
        org_id -> Text,
        owner -> Text,
        kind -> Text,
        state -> Text,
        title -> Text,
        body -> Text,
        total -> BigInt,
        done -> BigInt,
        skipped -> Text,
        skipped_count -> BigInt,
        message -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    org_user_counts (org_id, slot) {
        org_id -> Text,
        slot -> Integer,
        users -> BigInt,
        generation -> BigInt,
    }
}

diesel::table! {
    group_values (group_id, attribute, position) {
        group_id -> BigInt,
        attribute -> Text,
        position -> Integer,
        org_id -> Text,
        value -> Nullable<Text>,
        value_lower -> Nullable<Text>,
        kind -> Text,
        value_num -> Nullable<Double>,
    }
}

diesel::table! {
    scim_schemas (id) {
        id -> BigInt,
        org_id -> Text,
        urn -> Text,
        urn_lower -> Text,
        resource_type -> Text,
        required -> Bool,
        document -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> organizations (org_id));
diesel::joinable!(user_requests -> users (user_id));
diesel::joinable!(user_values -> users (user_id));
diesel::joinable!(groups -> organizations (org_id));
diesel::joinable!(group_values -> groups (group_id));
diesel::joinable!(group_users -> groups (group_id));
diesel::joinable!(group_users -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(user_roles -> roles (role_id));
diesel::joinable!(identities -> users (user_id));
diesel::joinable!(credentials -> organizations (org_id));
diesel::joinable!(audit_entries -> organizations (org_id));
diesel::joinable!(credit_usage -> organizations (org_id));
diesel::joinable!(roles -> organizations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    users,
    user_values,
    groups,
    group_values,
    scim_schemas,
    group_users,
    group_groups,
    roles,
    user_roles,
    identities,
    credentials,
    signing_keys,
    audit_entries,
    credit_usage,
    user_requests,
    events,
    event_counters,
    hooks,
    hook_deliveries,
    hook_logs,
    console_sessions,
    console_work,
    org_user_counts,
);

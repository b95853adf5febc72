-- Muster schema, SQLite flavour. The PostgreSQL migration creates the same tables and
-- columns; diesel's schema.rs describes both. Text compares BINARY here, and COLLATE "C"
-- there, so ordering and LIKE agree between the two backends and with Rust.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES organizations(id),
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    deployment_id TEXT,
    status TEXT NOT NULL DEFAULT 'Active',
    plan_name TEXT,
    subscription_status TEXT,
    subscription_start TEXT,
    subscription_end TEXT,
    credits BIGINT,
    deployment_charge_credits BIGINT,
    allocated_credits BIGINT,
    baseline_continuous_ingest BIGINT,
    baseline_frequent_ingest BIGINT,
    baseline_infrequent_ingest BIGINT,
    baseline_tracing_ingest BIGINT,
    baseline_cse_ingest BIGINT,
    baseline_metrics BIGINT,
    baseline_cse_activation BOOLEAN,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX organizations_parent ON organizations(parent_id);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_name TEXT,
    user_name_lower TEXT,
    external_id TEXT,
    display_name TEXT,
    display_name_lower TEXT,
    nick_name TEXT,
    profile_url TEXT,
    title TEXT,
    user_type TEXT,
    preferred_language TEXT,
    locale TEXT,
    timezone TEXT,
    name_formatted TEXT,
    name_family TEXT,
    name_given TEXT,
    name_middle TEXT,
    name_honorific_prefix TEXT,
    name_honorific_suffix TEXT,
    -- NULL: unassigned in SCIM terms; every dialect treats it as active.
    active BOOLEAN DEFAULT 1,
    password_hash TEXT,
    password_algorithm TEXT,
    password_updated_at TIMESTAMP,
    employee_number TEXT,
    cost_center TEXT,
    organization TEXT,
    division TEXT,
    department TEXT,
    manager_id TEXT,
    custom_data TEXT NOT NULL DEFAULT '{}',
    profile_extra TEXT NOT NULL DEFAULT '{}',
    identity_type TEXT,
    domain TEXT,
    application_id TEXT,
    is_locked BOOLEAN NOT NULL DEFAULT 0,
    mfa_enabled BOOLEAN NOT NULL DEFAULT 0,
    last_sign_in_at TIMESTAMP,
    created_by TEXT,
    modified_by TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_org_user_name ON users(org_id, user_name_lower);
CREATE INDEX users_org_external_id ON users(org_id, external_id);
CREATE INDEX users_org_updated ON users(org_id, updated_at, id);
CREATE INDEX users_org_id ON users(org_id, id);

-- Every multi-valued user attribute except roles and groups: emails, phoneNumbers, ims,
-- photos, addresses, entitlements, x509Certificates. One row per value, in order.
CREATE TABLE user_values (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    position INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    value TEXT,
    value_lower TEXT,
    display TEXT,
    type TEXT,
    -- NULL: primary not given; FALSE: given as false.
    is_primary BOOLEAN,
    formatted TEXT,
    street_address TEXT,
    locality TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT,
    PRIMARY KEY (user_id, attribute, position)
);
CREATE INDEX user_values_lookup ON user_values(org_id, attribute, value_lower);
CREATE INDEX user_values_exact ON user_values(org_id, attribute, value);

CREATE TABLE groups (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    external_id TEXT,
    description TEXT,
    group_type TEXT NOT NULL DEFAULT 'group',
    active BOOLEAN NOT NULL DEFAULT 1,
    is_default BOOLEAN NOT NULL DEFAULT 0,
    created_by TEXT,
    modified_by TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX groups_org_display_name ON groups(org_id, display_name_lower);
CREATE INDEX groups_org_external_id ON groups(org_id, external_id);
CREATE INDEX groups_org_updated ON groups(org_id, updated_at, id);

-- One row per membership: a user in a group, or a group nested in a group.
CREATE TABLE group_users (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_users_user ON group_users(user_id, group_id);

CREATE TABLE group_groups (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, member_group_id)
);
CREATE INDEX group_groups_member ON group_groups(member_group_id, group_id);

CREATE TABLE roles (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    description TEXT,
    filter_predicate TEXT,
    capabilities TEXT NOT NULL DEFAULT '[]',
    system_defined BOOLEAN NOT NULL DEFAULT 0,
    created_by TEXT,
    modified_by TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_org_name ON roles(org_id, name_lower);

-- SCIM User.roles, Domo role, Sumo roleIds: a user holds a role of its organization.
CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    type TEXT,
    display TEXT,
    is_primary BOOLEAN,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles(role_id, user_id);

-- Logto social identities: one per (user, target).
CREATE TABLE identities (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    org_id TEXT NOT NULL,
    external_user_id TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, target)
);

-- API tokens (kind 'token', bearer secret) and OAuth clients (kind 'client', id + secret).
-- Only a SHA-256 of the secret is stored.
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX credentials_secret_hash ON credentials(secret_hash);
CREATE INDEX credentials_org ON credentials(org_id, kind);

-- HMAC keys for the JWT access tokens the token endpoints mint; shared by every instance.
CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Who changed what, through which dialect. user_id has no foreign key: the trail outlives the user.
CREATE TABLE audit_entries (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT,
    key TEXT NOT NULL,
    result TEXT NOT NULL,
    actor TEXT NOT NULL,
    dialect TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_org_user ON audit_entries(org_id, user_id, created_at);
CREATE INDEX audit_org_created ON audit_entries(org_id, created_at);

-- Credit usage records an operator loads for the Sumo Logic organizations API.
CREATE TABLE credit_usage (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    usage_date TEXT NOT NULL,
    product_variable TEXT NOT NULL,
    credits_used DOUBLE NOT NULL,
    unit TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX credit_usage_org_date ON credit_usage(org_id, usage_date);

-- Muster schema, PostgreSQL flavour. The SQLite migration creates the same tables and
-- columns; diesel's schema.rs describes both. Compared and sorted text is COLLATE "C"
-- so ordering and LIKE behave exactly as on SQLite (BINARY) and in Rust.

CREATE TABLE organizations (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C" REFERENCES organizations(id),
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
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_name TEXT COLLATE "C",
    user_name_lower TEXT COLLATE "C",
    external_id TEXT COLLATE "C",
    display_name TEXT COLLATE "C",
    display_name_lower TEXT COLLATE "C",
    nick_name TEXT COLLATE "C",
    profile_url TEXT COLLATE "C",
    title TEXT COLLATE "C",
    user_type TEXT COLLATE "C",
    preferred_language TEXT COLLATE "C",
    locale TEXT COLLATE "C",
    timezone TEXT COLLATE "C",
    name_formatted TEXT COLLATE "C",
    name_family TEXT COLLATE "C",
    name_given TEXT COLLATE "C",
    name_middle TEXT COLLATE "C",
    name_honorific_prefix TEXT COLLATE "C",
    name_honorific_suffix TEXT COLLATE "C",
    -- NULL: unassigned in SCIM terms; every dialect treats it as active.
    active BOOLEAN DEFAULT TRUE,
    password_hash TEXT,
    password_algorithm TEXT,
    password_updated_at TIMESTAMP,
    employee_number TEXT COLLATE "C",
    cost_center TEXT COLLATE "C",
    organization TEXT COLLATE "C",
    division TEXT COLLATE "C",
    department TEXT COLLATE "C",
    manager_id TEXT COLLATE "C",
    custom_data TEXT NOT NULL DEFAULT '{}',
    profile_extra TEXT NOT NULL DEFAULT '{}',
    identity_type TEXT,
    domain TEXT COLLATE "C",
    application_id TEXT,
    is_locked BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE,
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
    attribute TEXT COLLATE "C" NOT NULL,
    position INTEGER NOT NULL,
    org_id TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C",
    value_lower TEXT COLLATE "C",
    display TEXT COLLATE "C",
    type TEXT COLLATE "C",
    -- NULL: primary not given; FALSE: given as false.
    is_primary BOOLEAN,
    formatted TEXT COLLATE "C",
    street_address TEXT COLLATE "C",
    locality TEXT COLLATE "C",
    region TEXT COLLATE "C",
    postal_code TEXT COLLATE "C",
    country TEXT COLLATE "C",
    PRIMARY KEY (user_id, attribute, position)
);
CREATE INDEX user_values_lookup ON user_values(org_id, attribute, value_lower);
CREATE INDEX user_values_exact ON user_values(org_id, attribute, value);

CREATE TABLE groups (
    id BIGINT PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    display_name TEXT COLLATE "C" NOT NULL,
    display_name_lower TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C",
    description TEXT,
    group_type TEXT COLLATE "C" NOT NULL DEFAULT 'group',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
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
    org_id TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_users_user ON group_users(user_id, group_id);

CREATE TABLE group_groups (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    org_id TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, member_group_id)
);
CREATE INDEX group_groups_member ON group_groups(member_group_id, group_id);

CREATE TABLE roles (
    id BIGINT PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    name_lower TEXT COLLATE "C" NOT NULL,
    description TEXT,
    filter_predicate TEXT,
    capabilities TEXT NOT NULL DEFAULT '[]',
    system_defined BOOLEAN NOT NULL DEFAULT FALSE,
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
    org_id TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C",
    display TEXT COLLATE "C",
    is_primary BOOLEAN,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles(role_id, user_id);

-- Logto social identities: one per (user, target).
CREATE TABLE identities (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target TEXT COLLATE "C" NOT NULL,
    org_id TEXT COLLATE "C" NOT NULL,
    external_user_id TEXT COLLATE "C" NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, target)
);

-- API tokens (kind 'token', bearer secret) and OAuth clients (kind 'client', id + secret).
-- Only a SHA-256 of the secret is stored.
CREATE TABLE credentials (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
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
    id TEXT COLLATE "C" PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Who changed what, through which dialect. user_id has no foreign key: the trail outlives the user.
CREATE TABLE audit_entries (
    id BIGINT PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT,
    key TEXT COLLATE "C" NOT NULL,
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
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    usage_date TEXT COLLATE "C" NOT NULL,
    product_variable TEXT COLLATE "C" NOT NULL,
    credits_used DOUBLE PRECISION NOT NULL,
    unit TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX credit_usage_org_date ON credit_usage(org_id, usage_date);

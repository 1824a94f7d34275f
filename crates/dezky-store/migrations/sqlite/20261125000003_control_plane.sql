-- The control plane: partners, tenants (with their domains), tenant memberships with a role,
-- partner staff, and deactivated users. Never edit a landed migration: add one.

CREATE TABLE partners (
    slug          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    domain        TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'terminated')),
    margin_pct    REAL NOT NULL CHECK (margin_pct >= 0 AND margin_pct <= 100),
    contact_json  TEXT NOT NULL,
    billing_json  TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- A soft-deleted tenant keeps its row (and so its slug) until it is purged.
CREATE TABLE tenants (
    slug               TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'deleted')),
    plan               TEXT,
    seats              INTEGER,
    partner_slug       TEXT REFERENCES partners (slug),
    is_platform_tenant BOOLEAN NOT NULL DEFAULT FALSE,
    industry           TEXT,
    brand_color        TEXT,
    billing_json       TEXT NOT NULL,
    provisioning_json  TEXT NOT NULL,
    -- Bumped by every change to the tenant, its domains or its members: writers name the
    -- version they read, so two concurrent changes cannot both pass a check made on stale data.
    version            INTEGER NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL
);
CREATE INDEX tenants_partner ON tenants (partner_slug);
CREATE INDEX tenants_status ON tenants (status);
-- At most one platform tenant.
CREATE UNIQUE INDEX tenants_one_platform_tenant ON tenants (is_platform_tenant) WHERE is_platform_tenant = 1;

-- A domain belongs to one tenant (mail domains cannot be shared).
CREATE TABLE tenant_domains (
    domain      TEXT PRIMARY KEY,
    tenant_slug TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    position    INTEGER NOT NULL
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_slug, position);

CREATE TABLE tenant_memberships (
    tenant_slug   TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id),
    role          TEXT NOT NULL CHECK (role IN ('member', 'admin', 'owner')),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_slug, user_id)
);
CREATE INDEX tenant_memberships_user ON tenant_memberships (user_id);

CREATE TABLE partner_staff (
    partner_slug  TEXT NOT NULL REFERENCES partners (slug),
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (partner_slug, user_id)
);
CREATE INDEX partner_staff_user ON partner_staff (user_id);

ALTER TABLE users ADD COLUMN deactivated_at_ms INTEGER;

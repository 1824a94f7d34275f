-- Invitations made by an operator: a person not yet signed in, named by e-mail, with what they
-- receive when their OIDC subject is first seen with that e-mail verified (platformAdmin, one
-- tenant membership, or both). Accepted and revoked invitations are deleted; the audit log
-- keeps their story. Never edit a landed migration: add one.

CREATE TABLE user_invites (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    -- The address lower-cased: one pending invitation per address.
    email_key      TEXT NOT NULL UNIQUE,
    name           TEXT,
    platform_admin BOOLEAN NOT NULL,
    -- Purging the tenant removes the invitations into it, so a later tenant that reuses the
    -- slug cannot receive members invited into the old one.
    tenant_slug    TEXT REFERENCES tenants (slug) ON DELETE CASCADE,
    role           TEXT CHECK (role IN ('member', 'admin', 'owner')),
    created_at_ms  INTEGER NOT NULL,
    -- The inviting actor's id (a user or an API token).
    created_by     TEXT,
    CHECK ((tenant_slug IS NULL) = (role IS NULL)),
    CHECK (platform_admin OR tenant_slug IS NOT NULL)
);
CREATE INDEX user_invites_tenant ON user_invites (tenant_slug);
-- A tenant has one owner, so at most one pending owner invitation.
CREATE UNIQUE INDEX user_invites_one_owner ON user_invites (tenant_slug) WHERE role = 'owner';

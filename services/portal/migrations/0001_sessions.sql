-- Server-side sessions: the browser holds only a random id (its SHA-256 is the key here, so that
-- reading this table gives no cookie that works). A session is first a sign-in in progress (state,
-- nonce, PKCE verifier), then, under a new id, a signed-in person with their tokens.
CREATE TABLE portal_sessions (
    session_hash      bytea PRIMARY KEY,
    csrf_token        text        NOT NULL,
    expires_at        timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    login_state       text,
    login_nonce       text,
    code_verifier     text,
    return_to         text,
    subject           text,
    email             text,
    display_name      text,
    role              text,
    access_token      text,
    refresh_token     text,
    id_token          text,
    access_expires_at timestamptz
);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);

-- Ideas raised through the portal, per person, for the rate limit.
CREATE TABLE portal_submissions (
    subject      text        NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portal_submissions_by_subject ON portal_submissions (subject, submitted_at);

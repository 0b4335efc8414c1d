-- Ideas, their endorsements and reviews, and team conversations. Person fields hold pseudonyms only.
CREATE TABLE ideas (
    idea_id           uuid PRIMARY KEY,
    position          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- listing order and cursor
    status            text        NOT NULL CHECK (status IN ('submitted', 'shortlisted', 'backed', 'declined', 'withdrawn', 'merged')),
    title             text        NOT NULL,
    problem           text        NOT NULL,
    proposal          text        NOT NULL,
    expected_benefits text,
    themes            text[]      NOT NULL DEFAULT '{}',
    team              text,
    campaign          text,
    conversation_id   uuid,
    submitted_by      text        NOT NULL,
    endorsements      integer     NOT NULL DEFAULT 0,
    reviews           integer     NOT NULL DEFAULT 0,
    shortlisted_by    text,
    backing           jsonb,      -- sponsor, budget_gbp, staff_days, timebox_weeks, note
    closure           jsonb,      -- by, reason, note, into_department, into_idea_id
    submitted_at      timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ideas_status ON ideas (status, position);
CREATE INDEX ideas_campaign ON ideas (campaign, position) WHERE campaign IS NOT NULL;
CREATE INDEX ideas_themes ON ideas USING gin (themes);

CREATE TABLE endorsements (
    idea_id     uuid        NOT NULL REFERENCES ideas,
    endorsed_by text        NOT NULL,
    endorsed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (idea_id, endorsed_by)
);

CREATE TABLE reviews (
    review_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idea_id         uuid        NOT NULL REFERENCES ideas,
    reviewer        text        NOT NULL,
    impact          smallint    NOT NULL,
    feasibility     smallint    NOT NULL,
    value_for_money smallint    NOT NULL,
    alignment       smallint    NOT NULL,
    comment         text,
    reviewed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_idea ON reviews (idea_id);

CREATE TABLE conversations (
    conversation_id uuid PRIMARY KEY,
    team            text        NOT NULL,
    participants    integer     NOT NULL,
    held_on         date        NOT NULL,
    ideas_raised    integer     NOT NULL,
    recorded_by     text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

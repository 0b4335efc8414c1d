-- Only a key issued to act for people may name the acting person with X-Person-Ref. Keys issued
-- before this migration did so: they keep acting for people; a key issued from now on does not
-- unless it is issued to.
ALTER TABLE api_keys ADD COLUMN acts_for_people boolean NOT NULL DEFAULT true;
ALTER TABLE api_keys ALTER COLUMN acts_for_people SET DEFAULT false;

-- last_error is shown to every role of the department: only the class of the failure ("HTTP 500",
-- "timeout", "refused: private address"). The full text (a receiver's response, a resolver's
-- message) is kept apart, for admins.
ALTER TABLE deliveries ADD COLUMN last_error_detail text;
UPDATE deliveries SET last_error_detail = last_error,
       last_error = CASE WHEN last_error ~ '^HTTP [0-9]{3}' THEN substring(last_error FROM '^HTTP [0-9]{3}')
                         ELSE split_part(last_error, ':', 1) END
WHERE last_error IS NOT NULL;

-- A staff member's sign-ins made before this instant no longer hold (issue 19): set when the
-- owner changes their role, deactivates or reactivates them or resets their password, so a
-- token from before (a stolen device's, say) does not come back to life when they are
-- reactivated or given their old role again.
ALTER TABLE users ADD COLUMN tokens_valid_from timestamptz NOT NULL DEFAULT '-infinity';

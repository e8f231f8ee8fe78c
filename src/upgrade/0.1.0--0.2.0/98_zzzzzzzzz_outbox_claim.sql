-- ---------------------------------------------------------------------------
-- The outbox's claim (ar.claim_notices): the lease of the sender that took
-- a queued notice, in two columns of ar.dunning_notice (last, as in
-- src/sql/80_dunning_4_outbox.sql); the guard that lets them change, the
-- claim and ar.mark_notice (which refuses a second proof): the next piece,
-- src/sql/80_dunning_6_0_outbox_claim.sql.
-- ---------------------------------------------------------------------------
ALTER TABLE ar.dunning_notice ADD COLUMN claimed_until timestamptz, ADD COLUMN claimed_by text;
COMMENT ON COLUMN ar.dunning_notice.claimed_until IS
	'Until when the sender that claimed the queued notice (ar.claim_notices) has it to itself; NULL: never claimed.';
COMMENT ON COLUMN ar.dunning_notice.claimed_by IS
	'Who claimed it last: the role the sender acted as (SET ROLE, else its session user) and its backend pid.';

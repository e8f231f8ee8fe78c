-- ---------------------------------------------------------------------------
-- Dunning: policies, levels and templates as data; disputes, promises to
-- pay, payment plans and blocks; the escalation rule (ar.run_dunning) and
-- its transactional outbox (ar.dunning_notice, NOTIFY ar_dunning); the
-- communications log; the SQL side of the background worker (src/worker.c).
--
-- The escalation rule of the contract (doc/contract.md) is applied per
-- dunning account: a customer and a currency (amounts in different
-- currencies are never summed; a customer owing in one currency, the usual
-- case, has one account).  Its state is ar.dunning_account: the cycle, the level C of its
-- last notice not failed or cancelled in the cycle, and the run date of its
-- last such notice of any cycle.
--
-- Exclusions carry optional dates.  Without them (the calls of doc/contract.md), a
-- dispute counts on every run date while it is open, a promise on every run
-- date up to its promised date, a block on every run date before its end;
-- with them they hold from that date, and a resolved dispute, a lifted block
-- or a cancelled plan stops counting from the date given (from every date
-- when none is given).  This keeps simulated timelines (runs on past dates)
-- and the worker's daily runs consistent.
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------- formatting

CREATE FUNCTION ar.format_money(amount numeric, currency text, language text DEFAULT 'en')
RETURNS text
AS 'MODULE_PATHNAME', 'ar_format_money'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.format_money(numeric, text, text) IS
	'An amount as a letter prints it, rounded to the cent (half away from zero): 1 234,56 EUR (fr, no-break spaces), 1,234.56 EUR (other languages).';

CREATE FUNCTION ar.format_date(d date, language text DEFAULT 'en')
RETURNS text
AS 'MODULE_PATHNAME', 'ar_format_date'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.format_date(date, text) IS
	'A date as a letter prints it: 1er mars 2026 (fr), 1 March 2026 (other languages).';

-- What ar.run_dunning needs of an account besides its lines, in one
-- transition per invoice (src/dunning_totals.c): R, and the count, sums and
-- problems of the listing a notice uses (the invoices at level 1 and up, or
-- those at level 0 when R = 0); interest, indemnity and penalties are NULL
-- when a penalty of the listing is unknown.
CREATE TYPE ar._dunning_totals_result AS (
	r             integer,
	invoice_count bigint,
	amount_due    numeric,
	interest      numeric,
	indemnity     numeric,
	penalties     numeric,
	problems      bigint
);
COMMENT ON TYPE ar._dunning_totals_result IS
	'Result of ar._dunning_totals: R and the figures of the listing a notice uses';

CREATE TYPE ar._dunning_totals_state;
CREATE FUNCTION ar._dunning_totals_state_in(cstring) RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_state_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar._dunning_totals_state_out(ar._dunning_totals_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dunning_totals_state_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- 216 bytes; STORAGE plain keeps the 4-byte header the C code updates in place
CREATE TYPE ar._dunning_totals_state (
	INPUT = ar._dunning_totals_state_in,
	OUTPUT = ar._dunning_totals_state_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE ar._dunning_totals_state IS
	'transition state of ar._dunning_totals; text form (r;count,problems,unknown,open,interest,fee,total;...) for level 1 and up, then level 0, sums as plain decimals (empty: none)';

CREATE FUNCTION ar._dunning_totals_transfn(ar._dunning_totals_state, integer, numeric, numeric, numeric, numeric, text)
	RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_totals_combine(ar._dunning_totals_state, ar._dunning_totals_state)
	RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_totals_final(ar._dunning_totals_state) RETURNS ar._dunning_totals_result
	AS 'MODULE_PATHNAME', 'dunning_totals_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_totals(level integer, open_amount numeric, interest numeric, fixed_fee numeric,
                                    total numeric, problem text) (
	SFUNC = ar._dunning_totals_transfn,
	STYPE = ar._dunning_totals_state,
	SSPACE = 216,
	FINALFUNC = ar._dunning_totals_final,
	COMBINEFUNC = ar._dunning_totals_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_totals(integer, numeric, numeric, numeric, numeric, text) IS
	'Per account, over its dunnable invoices (level, open amount on the run date, interest, fixed fee, penalty total, problem): R and the count, sums and problems of the listing a notice uses';

-- The lines a notice lists, in one flat value (src/dunning_lines.c): built
-- per account by the aggregate ar._dunning_lines in one transition per
-- invoice, in table order (due date, number, id), amounts in cents as the
-- letter prints them.  Text form {(invoice_id,"number",due_date,days_late,
-- level,amount,open_amount,interest,fixed_fee)...}: the state can cross
-- servers as text (parallel workers, shards).
CREATE TYPE ar._dunning_lines;
CREATE FUNCTION ar._dunning_lines_in(cstring) RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar._dunning_lines_out(ar._dunning_lines) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dunning_lines_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ar._dunning_lines (
	INPUT = ar._dunning_lines_in,
	OUTPUT = ar._dunning_lines_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE ar._dunning_lines IS
	'the invoices a dunning notice lists, amounts in cents; text form {(invoice_id,"number",YYYY-MM-DD,days_late,level,amount,open_amount,interest,fixed_fee)...}';

CREATE FUNCTION ar._dunning_lines_transfn(ar._dunning_lines, integer, bigint, text, date, integer,
                                          numeric, numeric, numeric, numeric)
	RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_lines_combine(ar._dunning_lines, ar._dunning_lines)
	RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_lines_final(ar._dunning_lines) RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- SSPACE: the planner's guess of a state (an account's lines, 16-byte
-- numbers, grown from 8), so that hashing accounts is costed as it runs
CREATE AGGREGATE ar._dunning_lines(level integer, invoice_id bigint, number text, due_date date,
                                   days_late integer, amount numeric, open_amount numeric,
                                   interest numeric, fixed_fee numeric) (
	SFUNC = ar._dunning_lines_transfn,
	STYPE = ar._dunning_lines,
	SSPACE = 640,
	FINALFUNC = ar._dunning_lines_final,
	COMBINEFUNC = ar._dunning_lines_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_lines(integer, bigint, text, date, integer, numeric, numeric, numeric, numeric) IS
	'Per account, over its dunnable invoices: the lines its notice lists (level 1 and up, else level 0) in table order';

-- The invoice table of a notice, and the invoice ids of its lines (src/letter.c).
CREATE FUNCTION ar._invoice_table(lines ar._dunning_lines, currency text, language text, wide boolean)
RETURNS text
AS 'MODULE_PATHNAME', 'ar_invoice_table'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The open amounts of the lines that reached a level or more (what a
-- level's minimum percentage is compared with).
CREATE FUNCTION ar._lines_open_from(lines ar._dunning_lines, level integer)
RETURNS numeric
AS 'MODULE_PATHNAME', 'dunning_lines_open_from'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ar._line_ids(lines ar._dunning_lines)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'ar_line_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- A letter's text, compressed in line (LZ4) when the server has it: the
-- outbox stores a hundred thousand letters of a first run in half the space
-- (and half the WAL); PostgreSQL compresses only rows over about 2 kB.
CREATE FUNCTION ar._compress_letter(body text)
RETURNS text
AS 'MODULE_PATHNAME', 'ar_compress_letter'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ar.render_template(template text, names text[], vals text[])
RETURNS text
AS 'MODULE_PATHNAME', 'ar_render_template'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.render_template(text, text[], text[]) IS
	'Replaces each {{name}} of the template by the value of the same position in vals (NULL: empty); other text is kept.';

-- The placeholders a dunning template may use (see ar.run_dunning).
CREATE FUNCTION ar.dunning_placeholders() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ARRAY['customer_name', 'customer_code', 'company_name', 'company_iban', 'as_of', 'invoice_table',
	             'invoice_count', 'amount_due', 'currency', 'interest', 'indemnity', 'penalties', 'total_due',
	             'fee', 'reply_by', 'reply_days', 'previous_notices', 'level', 'level_name',
	             'sender_address', 'sender_legal', 'customer_address', 'penalty_terms', 'recent_invoices',
	             'notice_law']
$$;

CREATE FUNCTION ar.template_placeholders(template text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]), '{}')
	  FROM regexp_matches(template, E'\\{\\{([a-z0-9_]{1,63})\\}\\}', 'g') m
$$;

-- ------------------------------------------------------------ configuration

CREATE TABLE ar.dunning_policy (
	id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	code               text NOT NULL UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9_]{0,62}$'),
	name               text NOT NULL,
	description        text,
	active             boolean NOT NULL DEFAULT true,
	is_default         boolean NOT NULL DEFAULT false,
	min_days_between   integer NOT NULL DEFAULT 7 CHECK (min_days_between >= 0),
	fallback_language  text NOT NULL DEFAULT 'en' CHECK (fallback_language ~ '^[a-z]{2}$'),
	templates_from     bigint REFERENCES ar.dunning_policy,
	shipped            boolean NOT NULL DEFAULT false,
	created_at         timestamptz NOT NULL DEFAULT now(),
	-- a real run first allocates the open credits of the policy's customers
	-- to their oldest invoices (ar.apply_open_credits)
	apply_credits_before_run  boolean NOT NULL DEFAULT false,
	CONSTRAINT dunning_policy_templates_not_self CHECK (templates_from <> id)
);
-- a user's own default policy takes precedence over the shipped one
CREATE UNIQUE INDEX dunning_policy_single_default ON ar.dunning_policy (shipped) WHERE is_default;

CREATE TABLE ar.dunning_level (
	policy_id        bigint NOT NULL REFERENCES ar.dunning_policy ON DELETE CASCADE,
	level            integer NOT NULL CHECK (level BETWEEN 0 AND 99),
	name             text NOT NULL,
	offset_days      integer NOT NULL CHECK (offset_days BETWEEN -366 AND 3660),
	channel          text NOT NULL CHECK (channel IN ('email', 'sms', 'letter', 'registered_letter', 'task')),
	min_amount       numeric NOT NULL DEFAULT 0 CHECK (min_amount >= 0 AND min_amount <> 'Infinity'),
	fee              numeric NOT NULL DEFAULT 0 CHECK (fee >= 0 AND fee <> 'Infinity'),
	state_penalties  boolean NOT NULL DEFAULT false,
	reply_days       integer CHECK (reply_days >= 0),
	delivery_days    integer NOT NULL DEFAULT 0 CHECK (delivery_days >= 0),
	shipped          boolean NOT NULL DEFAULT false,
	-- the invoices that reached the level must owe at least this percentage
	-- of the account's open items, else the account stays at the level below
	min_percent      numeric NOT NULL DEFAULT 0 CHECK (min_percent BETWEEN 0 AND 100),
	-- how the level lists the invoices never reminded before (in no earlier
	-- notice of level 1 or more): with the others (list), in a section of
	-- their own (separate), or not at all (exclude: left for the next
	-- reminder); NULL: separate at the levels that state penalties, else list
	recent_invoices  text CONSTRAINT dunning_level_recent_invoices CHECK (recent_invoices IN ('list', 'separate', 'exclude')),
	PRIMARY KEY (policy_id, level)
);
COMMENT ON COLUMN ar.dunning_level.recent_invoices IS 'Invoices never reminded before: list (with the others), separate (a section of their own: "factures récemment échues"), exclude (left out of the notice and its amounts); NULL: separate when the level states penalties, else list.';
COMMENT ON COLUMN ar.dunning_level.min_amount IS
	'A notice of this level is queued only when the amount it claims (open amounts listed, less the credits set off) is above this (in the account''s currency); at or below it the account stays at the level below.';
COMMENT ON COLUMN ar.dunning_level.min_percent IS
	'Minimum percentage (0 to 100): the open amounts of the invoices that reached this level must be at least this percentage of the account''s open items on the run date (invoices and credit notes, less unapplied customer credit), else the account stays at the level below. 0: no minimum.';
COMMENT ON COLUMN ar.dunning_policy.apply_credits_before_run IS
	'A real run first allocates the open credit notes and unapplied customer credit of the policy''s customers to their oldest open invoices (ar.apply_open_credits on the run date). Without it, credits are only deducted from what the notices claim.';

CREATE TABLE ar.dunning_template (
	id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	policy_id   bigint NOT NULL,
	level       integer NOT NULL,
	language    text NOT NULL CHECK (language ~ '^[a-z]{2}$'),
	segment     text CHECK (segment IN ('punctual', 'occasional_late', 'chronic_late', 'high_risk')),
	channel     text CHECK (channel IN ('email', 'sms', 'letter', 'registered_letter', 'task')),
	subject     text,
	body        text NOT NULL,
	shipped     boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (policy_id, level) REFERENCES ar.dunning_level ON DELETE CASCADE
);
CREATE UNIQUE INDEX dunning_template_key
	ON ar.dunning_template (policy_id, level, language, coalesce(segment, ''), coalesce(channel, ''));

CREATE TABLE ar.dunning_segment_policy (
	segment    text PRIMARY KEY CHECK (segment IN ('punctual', 'occasional_late', 'chronic_late', 'high_risk')),
	policy_id  bigint NOT NULL REFERENCES ar.dunning_policy
);

CREATE TABLE ar.customer_dunning_policy (
	customer_id  bigint PRIMARY KEY REFERENCES ar.customer ON DELETE CASCADE,
	policy_id    bigint NOT NULL REFERENCES ar.dunning_policy,
	set_at       timestamptz NOT NULL DEFAULT now(),
	set_by       text NOT NULL DEFAULT session_user,
	company_id   bigint NOT NULL   -- the customer's (keys: 97_distribution_keys.sql)
);

-- Templates may only use known placeholders.
CREATE FUNCTION ar._dunning_template_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	unknown text[];
BEGIN
	SELECT array_agg(p ORDER BY p) INTO unknown
	  FROM unnest(ar.template_placeholders(coalesce(NEW.subject, '') || ' ' || NEW.body)) p
	 WHERE p <> ALL (ar.dunning_placeholders());
	IF unknown IS NOT NULL THEN
		RAISE EXCEPTION 'dunning template uses unknown placeholder(s) %', array_to_string(unknown, ', ')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Known placeholders: ' || array_to_string(ar.dunning_placeholders(), ', ') || '.';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER dunning_template_check BEFORE INSERT OR UPDATE ON ar.dunning_template
	FOR EACH ROW EXECUTE FUNCTION ar._dunning_template_check();

-- A policy is usable when its levels are 0 or 1, 2, 3... without a gap
-- (a level is never skipped), each later than the previous one, and each
-- has a template for every segment and channel in the fallback language.
CREATE FUNCTION ar._check_dunning_policy(policy_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	p ar.dunning_policy;
	lv record;
	prev_level integer;
	prev_offset integer;
	missing integer;
BEGIN
	SELECT * INTO p FROM ar.dunning_policy d WHERE d.id = _check_dunning_policy.policy_id;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	FOR lv IN SELECT l.level, l.offset_days FROM ar.dunning_level l WHERE l.policy_id = p.id ORDER BY l.level LOOP
		IF prev_level IS NULL AND lv.level NOT IN (0, 1) THEN
			RAISE EXCEPTION 'dunning policy % starts at level %', p.code, lv.level
				USING ERRCODE = 'check_violation', HINT = 'Levels start at 0 (before the due date) or 1.';
		ELSIF prev_level IS NOT NULL AND lv.level <> prev_level + 1 THEN
			RAISE EXCEPTION 'dunning policy % has no level %', p.code, prev_level + 1
				USING ERRCODE = 'check_violation', HINT = 'Levels follow each other without a gap: a level is never skipped.';
		ELSIF prev_level IS NOT NULL AND lv.offset_days <= prev_offset THEN
			RAISE EXCEPTION 'dunning policy %: level % comes % days after the due date, not later than level % (% days)',
				p.code, lv.level, lv.offset_days, prev_level, prev_offset
				USING ERRCODE = 'check_violation';
		END IF;
		prev_level := lv.level;
		prev_offset := lv.offset_days;
	END LOOP;
	SELECT min(l.level) INTO missing
	  FROM ar.dunning_level l
	 WHERE l.policy_id = p.id
	   AND NOT EXISTS (SELECT 1 FROM ar.dunning_template t
	                    WHERE t.policy_id IN (p.id, p.templates_from) AND t.level = l.level
	                      AND t.language = p.fallback_language AND t.segment IS NULL AND t.channel IS NULL);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'dunning policy % has no template for level % in its fallback language %', p.code, missing, p.fallback_language
			USING ERRCODE = 'check_violation',
			      HINT = 'Each level needs a template without segment and channel in the fallback language (its own or its templates_from policy''s).';
	END IF;
END $$;

CREATE FUNCTION ar._dunning_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	changed bigint;
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;  -- pg_restore reloads each table in its own transaction
	END IF;
	IF ar._logical_table_name(TG_RELID) = 'dunning_policy' THEN  -- a shard's is its table's
		IF TG_OP = 'DELETE' THEN RETURN NULL; END IF;
		changed := NEW.id;
	ELSIF TG_OP = 'DELETE' THEN
		changed := OLD.policy_id;
	ELSE
		changed := NEW.policy_id;
	END IF;
	PERFORM ar._check_dunning_policy(changed);
	-- policies that borrow this one's templates
	PERFORM ar._check_dunning_policy(d.id) FROM ar.dunning_policy d WHERE d.templates_from = changed;
	RETURN NULL;
END $$;

-- checked at commit, so that levels and templates can be changed together
CREATE CONSTRAINT TRIGGER dunning_policy_valid AFTER INSERT OR UPDATE ON ar.dunning_policy
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._dunning_policy_changed();
CREATE CONSTRAINT TRIGGER dunning_level_valid AFTER INSERT OR UPDATE OR DELETE ON ar.dunning_level
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._dunning_policy_changed();
CREATE CONSTRAINT TRIGGER dunning_template_valid AFTER INSERT OR UPDATE OR DELETE ON ar.dunning_template
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._dunning_policy_changed();

-- The policy of each customer: its own, else its segment's, else the
-- default one (a user's own default before the shipped FR_STANDARD).
CREATE VIEW ar.customer_policy AS
SELECT c.id AS customer_id, c.code AS customer_code, p.id AS policy_id, p.code AS policy_code,
       CASE WHEN cp.policy_id IS NOT NULL THEN 'customer'
            WHEN sp.policy_id IS NOT NULL THEN 'segment'
            WHEN p.id IS NOT NULL THEN 'default' END AS source,
       coalesce(p.active, false) AS active
  FROM ar.customer c
  LEFT JOIN ar.customer_dunning_policy cp ON cp.customer_id = c.id
  LEFT JOIN ar.dunning_segment_policy sp ON sp.segment = c.segment
  LEFT JOIN (SELECT d.id FROM ar.dunning_policy d
              WHERE d.is_default AND d.active ORDER BY d.shipped, d.id LIMIT 1) dp ON true
  LEFT JOIN ar.dunning_policy p ON p.id = coalesce(cp.policy_id, sp.policy_id, dp.id);

COMMENT ON VIEW ar.customer_policy IS 'The dunning policy that applies to each customer and why.';
COMMENT ON COLUMN ar.customer_policy.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_policy.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_policy.policy_id IS 'ar.dunning_policy.id; NULL when no active default policy exists.';
COMMENT ON COLUMN ar.customer_policy.policy_code IS 'Code of the policy (FR_STANDARD unless configured otherwise).';
COMMENT ON COLUMN ar.customer_policy.source IS 'customer (ar.set_dunning_policy), segment (ar.dunning_segment_policy) or default.';
COMMENT ON COLUMN ar.customer_policy.active IS 'False when the policy is inactive: the customer is not dunned (its state is kept).';

-- ------------------------------------------------- FR_STANDARD (shipped)

INSERT INTO ar.dunning_policy (code, name, description, is_default, min_days_between, fallback_language, shipped)
VALUES ('FR_STANDARD', 'Relances standard (France)',
        'Courtesy e-mail 5 days before the due date, reminders at +3 and +15 days, final reminder stating the '
        'LME penalties at +30, mise en demeure by registered letter at +45, handoff for an injonction de payer at +60.',
        true, 7, 'en', true);

-- minimum amounts: 10 for the reminders (a few cents never trigger one),
-- 50 from the formal notice on (a registered letter and a court claim are
-- not worth less)
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, min_amount, state_penalties, reply_days,
                              delivery_days, shipped)
SELECT p.id, v.level, v.name, v.offset_days, v.channel, v.min_amount, v.state_penalties, v.reply_days, v.delivery_days, true
  FROM ar.dunning_policy p,
       (VALUES (0, 'courtesy reminder', -5, 'email', 10, false, NULL, 0),
               (1, 'first reminder', 3, 'email', 10, false, NULL, 0),
               (2, 'second reminder', 15, 'email', 10, false, 8, 0),
               (3, 'final reminder, penalties stated', 30, 'letter', 10, true, 8, 2),
               (4, 'formal notice (mise en demeure)', 45, 'registered_letter', 50, true, 8, 3),
               (5, 'legal handoff (injonction de payer)', 60, 'task', 50, true, NULL, 0))
       v(level, name, offset_days, channel, min_amount, state_penalties, reply_days, delivery_days)
 WHERE p.code = 'FR_STANDARD';

-- Its templates, in French, English and German, are data: src/sql/84_letter_texts.sql.

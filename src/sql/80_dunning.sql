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
	  FROM regexp_matches(template, '\{\{([a-z0-9_]{1,63})\}\}', 'g') m
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
	set_by       text NOT NULL DEFAULT session_user
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
	IF TG_TABLE_NAME = 'dunning_policy' THEN
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

-- ------------------------------------------------------- communications log

-- One timeline per customer: every notice and its delivery, every dispute,
-- promise, payment plan, block and policy change, and the calls, letters
-- and e-mails a collector records.  Append-only.
CREATE TABLE ar.communication (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	customer_id  bigint NOT NULL,
	occurred_at  timestamptz NOT NULL DEFAULT now(),
	as_of        date,
	kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,62}$'),
	direction    text CHECK (direction IN ('inbound', 'outbound', 'internal')),
	channel      text,
	summary      text NOT NULL,
	detail       text,
	proof_ref    text,
	invoice_id   bigint,
	notice_id    bigint,
	dispute_id   bigint,
	promise_id   bigint,
	plan_id      bigint,
	block_id     bigint,
	actor        text NOT NULL DEFAULT session_user,
	role         text NOT NULL DEFAULT current_setting('role'),
	via          text DEFAULT nullif(current_setting('application_name', true), ''),
	recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX communication_customer ON ar.communication (customer_id, occurred_at);

CREATE FUNCTION ar._communication_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ar.communication is append-only'
		USING ERRCODE = 'insufficient_privilege',
		      HINT = 'Record a correction as a new entry with ar.log_interaction().';
END $$;

CREATE TRIGGER communication_append_only BEFORE UPDATE OR DELETE ON ar.communication
	FOR EACH ROW EXECUTE FUNCTION ar._communication_guard();
CREATE TRIGGER communication_no_truncate BEFORE TRUNCATE ON ar.communication
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE FUNCTION ar._customer_or_error(customer_id bigint) RETURNS ar.customer
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c ar.customer;
BEGIN
	SELECT * INTO c FROM ar.customer x WHERE x.id = _customer_or_error.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	-- its callers, SECURITY DEFINER, act on the customer: the caller must collect for its company
	PERFORM ar._require_company(c.company_id, 'collector');
	RETURN c;
END $$;

CREATE FUNCTION ar._require_text(what text, value text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF coalesce(btrim(value), '') = '' THEN
		RAISE EXCEPTION '% is required', what USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

-- A call, letter, e-mail, meeting or note, recorded by a collector.
CREATE FUNCTION ar.log_interaction(customer_id bigint, kind text, summary text,
                                   direction text DEFAULT NULL, proof_ref text DEFAULT NULL,
                                   occurred_at timestamptz DEFAULT now(), invoice_id bigint DEFAULT NULL,
                                   detail text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	entry_id bigint;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF kind IS NULL OR kind NOT IN ('call', 'email', 'letter', 'registered_letter', 'sms', 'meeting', 'visit', 'note') THEN
		RAISE EXCEPTION 'unknown interaction kind "%"', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use call, email, letter, registered_letter, sms, meeting, visit or note.';
	END IF;
	PERFORM ar._require_text('a summary', summary);
	IF direction IS NOT NULL AND direction NOT IN ('inbound', 'outbound', 'internal') THEN
		RAISE EXCEPTION 'direction must be inbound, outbound or internal, not "%"', direction
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF occurred_at IS NULL OR NOT isfinite(occurred_at) THEN
		RAISE EXCEPTION 'occurred_at must be a finite time, not %', coalesce(occurred_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF invoice_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM ar.invoice i WHERE i.id = log_interaction.invoice_id AND i.customer_id = c.id) THEN
		RAISE EXCEPTION 'invoice % is not an invoice of customer %',
			coalesce((SELECT i.number FROM ar.invoice i WHERE i.id = log_interaction.invoice_id), invoice_id::text), c.code
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	INSERT INTO ar.communication (company_id, customer_id, occurred_at, as_of, kind, direction, channel, summary,
	                              detail, proof_ref, invoice_id)
	VALUES (c.company_id, c.id, log_interaction.occurred_at, log_interaction.occurred_at::date, log_interaction.kind,
	        log_interaction.direction, log_interaction.kind, log_interaction.summary, log_interaction.detail,
	        log_interaction.proof_ref, log_interaction.invoice_id)
	RETURNING id INTO entry_id;
	RETURN entry_id;
END $$;

-- -------------------------------------------------------------- exclusions

CREATE TABLE ar.dispute (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	invoice_id   bigint NOT NULL REFERENCES ar.invoice,
	customer_id  bigint NOT NULL,
	reason       text NOT NULL,
	opened_on    date,           -- NULL: counts on every run date while open
	opened_at    timestamptz NOT NULL DEFAULT now(),
	opened_by    text NOT NULL DEFAULT session_user,
	resolution   text,
	resolved_on  date,           -- NULL once resolved: counts on no run date any more
	resolved_at  timestamptz,
	resolved_by  text,
	CONSTRAINT dispute_resolved_after_opened CHECK (resolved_on >= opened_on)
);
CREATE UNIQUE INDEX dispute_one_open ON ar.dispute (invoice_id) WHERE resolved_at IS NULL;
CREATE INDEX dispute_invoice ON ar.dispute (invoice_id);

CREATE TABLE ar.payment_promise (
	id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id       bigint NOT NULL DEFAULT ar.default_company(),
	invoice_id       bigint NOT NULL REFERENCES ar.invoice,
	customer_id      bigint NOT NULL,
	promised_on      date NOT NULL,
	amount           numeric NOT NULL CHECK (amount > 0 AND amount <> 'Infinity'),
	made_on          date,        -- NULL: counts on every run date up to promised_on
	open_at_promise  numeric NOT NULL,
	status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'kept', 'broken')),
	settled_on       date,        -- run date that found it kept or broken
	made_at          timestamptz NOT NULL DEFAULT now(),
	made_by          text NOT NULL DEFAULT session_user,
	CONSTRAINT payment_promise_after_made CHECK (promised_on >= made_on)
);
CREATE INDEX payment_promise_invoice ON ar.payment_promise (invoice_id);
CREATE INDEX payment_promise_pending ON ar.payment_promise (promised_on) WHERE status = 'pending';

CREATE TABLE ar.payment_plan (
	id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id     bigint NOT NULL DEFAULT ar.default_company(),
	customer_id    bigint NOT NULL REFERENCES ar.customer,
	currency       char(3) NOT NULL,
	total          numeric NOT NULL CHECK (total > 0),
	starts_on      date,          -- NULL: covers its invoices on every run date
	grace_days     integer NOT NULL DEFAULT 0 CHECK (grace_days >= 0),
	note           text,
	status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'broken', 'cancelled')),
	status_on      date,
	created_at     timestamptz NOT NULL DEFAULT now(),
	created_by     text NOT NULL DEFAULT session_user,
	cancelled_at   timestamptz,
	cancelled_on   date,
	cancel_reason  text
);

CREATE TABLE ar.payment_plan_invoice (
	plan_id     bigint NOT NULL REFERENCES ar.payment_plan ON DELETE CASCADE,
	invoice_id  bigint NOT NULL REFERENCES ar.invoice,
	id          bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
	PRIMARY KEY (plan_id, invoice_id)
);
CREATE INDEX payment_plan_invoice_invoice ON ar.payment_plan_invoice (invoice_id);

CREATE TABLE ar.payment_plan_instalment (
	plan_id  bigint NOT NULL REFERENCES ar.payment_plan ON DELETE CASCADE,
	seq      integer NOT NULL CHECK (seq > 0),
	due_on   date NOT NULL,
	amount   numeric NOT NULL CHECK (amount > 0 AND amount <> 'Infinity'),
	id       bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
	PRIMARY KEY (plan_id, seq)
);

CREATE TABLE ar.dunning_block (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	customer_id  bigint NOT NULL REFERENCES ar.customer,
	from_on      date,            -- NULL: every run date before until
	until        date NOT NULL,
	reason       text NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	created_by   text NOT NULL DEFAULT session_user,
	lifted_at    timestamptz,
	lifted_on    date,            -- NULL once lifted: blocks no run date any more
	lifted_by    text,
	lift_reason  text,
	CONSTRAINT dunning_block_period CHECK (until > from_on)
);
CREATE INDEX dunning_block_customer ON ar.dunning_block (customer_id);

-- open amount of an invoice on a date (allocations dated after it not counted)
CREATE FUNCTION ar._open_on(invoice_id bigint, on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > on_date THEN i.amount ELSE 0 END
	            ELSE i.amount - coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                       WHERE a.invoice_id = i.id AND a.allocated_on <= on_date), 0)
	       END
	  FROM ar.invoice i WHERE i.id = _open_on.invoice_id
$$;

-- What an account (customer and currency) owes on a date: its invoices and
-- credit notes issued by then, as they stood then, less its customer credit
-- not used then.  (The base of a level's minimum percentage.)
CREATE FUNCTION ar._account_balance_on(customer_id bigint, currency char(3), on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT sum(o.open_amount) FROM ar.open_items(on_date) o
	                  WHERE o.customer_id = _account_balance_on.customer_id
	                    AND o.currency = _account_balance_on.currency), 0)
	     - coalesce((SELECT sum(k.available) FROM ar.open_credits(on_date) k
	                  WHERE k.kind = 'customer_credit' AND k.customer_id = _account_balance_on.customer_id
	                    AND k.currency = _account_balance_on.currency), 0)
$$;

-- what the invoices of a plan still owe on a date
CREATE FUNCTION ar._plan_outstanding(plan_id bigint, on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT coalesce(sum(ar._open_on(pi.invoice_id, on_date)), 0)
	  FROM ar.payment_plan_invoice pi WHERE pi.plan_id = _plan_outstanding.plan_id
$$;

-- The first day a plan counts as broken, as seen on run date as_of: the day
-- after the grace period of the first instalment that, once its grace
-- period was over, left more owed than the instalments still to come.
-- NULL while every instalment due so far is paid.
CREATE FUNCTION ar._plan_broken_on(plan_id bigint, as_of date) RETURNS date
LANGUAGE sql STABLE AS $$
	SELECT min(s.due_on + p.grace_days + 1)
	  FROM ar.payment_plan p
	  JOIN (SELECT i.plan_id, i.due_on, sum(i.amount) OVER (ORDER BY i.seq) AS paid_by_then
	          FROM ar.payment_plan_instalment i WHERE i.plan_id = _plan_broken_on.plan_id) s ON s.plan_id = p.id
	 WHERE p.id = _plan_broken_on.plan_id
	   AND s.due_on + p.grace_days < as_of
	   AND ar._plan_outstanding(p.id, s.due_on + p.grace_days) > p.total - s.paid_by_then
$$;

-- Each instalment of a plan and where it stands on as_of.
CREATE FUNCTION ar.payment_plan_schedule(plan_id bigint, as_of date DEFAULT current_date)
RETURNS TABLE (seq integer, due_on date, amount numeric, cumulative numeric, may_still_owe numeric,
               owed_after_grace numeric, state text)
LANGUAGE sql STABLE AS $$
	SELECT s.seq, s.due_on, s.amount, s.cumulative, p.total - s.cumulative,
	       CASE WHEN s.due_on + p.grace_days < as_of THEN ar._plan_outstanding(p.id, s.due_on + p.grace_days) END,
	       CASE WHEN s.due_on + p.grace_days >= as_of THEN 'due'
	            WHEN ar._plan_outstanding(p.id, s.due_on + p.grace_days) > p.total - s.cumulative THEN 'missed'
	            ELSE 'paid' END
	  FROM ar.payment_plan p
	  JOIN (SELECT i.plan_id, i.seq, i.due_on, i.amount, sum(i.amount) OVER (ORDER BY i.seq) AS cumulative
	          FROM ar.payment_plan_instalment i WHERE i.plan_id = payment_plan_schedule.plan_id) s ON s.plan_id = p.id
	 WHERE p.id = payment_plan_schedule.plan_id
	 ORDER BY s.seq
$$;

CREATE FUNCTION ar._invoice_or_error(invoice_id bigint, for_update boolean DEFAULT true) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
BEGIN
	-- its callers, SECURITY DEFINER, act on the invoice: the caller must collect for its company
	PERFORM ar._require_company(i.company_id, 'collector') FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id;
	IF for_update THEN
		SELECT * INTO inv FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id FOR UPDATE;
	ELSE
		SELECT * INTO inv FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', coalesce(invoice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	RETURN inv;
END $$;

CREATE FUNCTION ar.open_dispute(invoice_id bigint, reason text, opened_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	open_one ar.dispute;
	dispute_id bigint;
BEGIN
	PERFORM ar._require_text('a reason', reason);
	inv := ar._invoice_or_error(invoice_id);
	IF inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is a credit note: there is nothing to dispute', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice % is cancelled', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT * INTO open_one FROM ar.dispute d WHERE d.invoice_id = inv.id AND d.resolved_at IS NULL;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % is already disputed', inv.number
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Dispute %s is open since %s: %s', open_one.id,
			                      coalesce(open_one.opened_on::text, open_one.opened_at::date::text), open_one.reason);
	END IF;
	INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason, opened_on)
	VALUES (inv.company_id, inv.id, inv.customer_id, reason, open_dispute.opened_on)
	RETURNING id INTO dispute_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, dispute_id)
	VALUES (inv.company_id, inv.customer_id, open_dispute.opened_on, 'dispute_opened', 'inbound',
	        format('Invoice %s disputed: %s', inv.number, reason), inv.id, dispute_id);
	-- the flag the ERP and ar.invoice.status show (its trigger sees the open dispute)
	UPDATE ar.invoice i SET disputed = true WHERE i.id = inv.id AND NOT i.disputed;
	RETURN dispute_id;
END $$;

CREATE FUNCTION ar.resolve_dispute(invoice_id bigint, resolution text, resolved_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	d ar.dispute;
BEGIN
	PERFORM ar._require_text('a resolution', resolution);
	inv := ar._invoice_or_error(invoice_id);
	SELECT * INTO d FROM ar.dispute x WHERE x.invoice_id = inv.id AND x.resolved_at IS NULL FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % is not disputed', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF resolved_on < d.opened_on THEN
		RAISE EXCEPTION 'dispute % was opened on %, it cannot be resolved on %', d.id, d.opened_on, resolved_on
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE ar.dispute x
	   SET resolution = resolve_dispute.resolution, resolved_on = resolve_dispute.resolved_on,
	       resolved_at = now(), resolved_by = session_user
	 WHERE x.id = d.id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, dispute_id)
	VALUES (inv.company_id, inv.customer_id, resolve_dispute.resolved_on, 'dispute_resolved', 'internal',
	        format('Dispute on invoice %s resolved: %s', inv.number, resolution), inv.id, d.id);
	UPDATE ar.invoice i SET disputed = false WHERE i.id = inv.id AND i.disputed;
	RETURN d.id;
END $$;

-- ar.invoice.disputed set or cleared directly (by an ERP) opens or resolves
-- the dispute, so that dunning and the timeline see it as well.
CREATE FUNCTION ar._invoice_dispute_flag() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	d ar.dispute;
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;  -- pg_restore reloads the disputes as they were
	END IF;
	IF NEW.disputed AND NOT EXISTS (SELECT 1 FROM ar.dispute x WHERE x.invoice_id = NEW.id AND x.resolved_at IS NULL) THEN
		INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason)
		VALUES (NEW.company_id, NEW.id, NEW.customer_id, 'flagged as disputed on ar.invoice')
		RETURNING * INTO d;
		INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
		VALUES (NEW.company_id, NEW.customer_id, 'dispute_opened', 'inbound',
		        format('Invoice %s flagged as disputed', NEW.number), NEW.id, d.id);
	ELSIF NOT NEW.disputed THEN
		FOR d IN UPDATE ar.dispute x
		            SET resolution = 'flag cleared on ar.invoice', resolved_at = now(), resolved_by = session_user
		          WHERE x.invoice_id = NEW.id AND x.resolved_at IS NULL
		      RETURNING * LOOP
			INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
			VALUES (NEW.company_id, NEW.customer_id, 'dispute_resolved', 'internal',
			        format('Dispute flag of invoice %s cleared', NEW.number), NEW.id, d.id);
		END LOOP;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER invoice_dispute_flag_insert AFTER INSERT ON ar.invoice
	FOR EACH ROW WHEN (NEW.disputed) EXECUTE FUNCTION ar._invoice_dispute_flag();
CREATE TRIGGER invoice_dispute_flag_update AFTER UPDATE OF disputed ON ar.invoice
	FOR EACH ROW WHEN (OLD.disputed IS DISTINCT FROM NEW.disputed) EXECUTE FUNCTION ar._invoice_dispute_flag();

CREATE FUNCTION ar.promise_to_pay(invoice_id bigint, promised_on date, amount numeric, made_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	open_then numeric;
	promise_id bigint;
BEGIN
	inv := ar._invoice_or_error(invoice_id);
	IF promised_on IS NULL OR NOT isfinite(promised_on) THEN
		RAISE EXCEPTION 'a promise needs a finite promised date, not %', coalesce(promised_on::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF made_on > promised_on THEN
		RAISE EXCEPTION 'a promise made on % cannot be for %', made_on, promised_on USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_positive('promised amount', amount);
	IF inv.amount <= 0 OR inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice % is a credit note or cancelled: nothing is owed on it', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	open_then := CASE WHEN made_on IS NULL THEN inv.open_amount ELSE ar._open_on(inv.id, made_on) END;
	IF open_then <= 0 THEN
		RAISE EXCEPTION 'invoice % is already paid', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF amount > open_then THEN
		RAISE EXCEPTION 'a promise of % exceeds the open amount % of invoice %', amount, open_then, inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.payment_promise (company_id, invoice_id, customer_id, promised_on, amount, made_on, open_at_promise)
	VALUES (inv.company_id, inv.id, inv.customer_id, promise_to_pay.promised_on, promise_to_pay.amount,
	        promise_to_pay.made_on, open_then)
	RETURNING id INTO promise_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
	VALUES (inv.company_id, inv.customer_id, made_on, 'promise', 'inbound',
	        format('Promise to pay %s on invoice %s by %s', ar.format_money(amount, inv.currency), inv.number, promised_on),
	        inv.id, promise_id);
	RETURN promise_id;
END $$;

-- A payment plan: instalments (due dates and amounts; amounts NULL: equal
-- shares to the cent, the last one taking the remainder) covering open
-- invoices of one customer and currency.  The instalments must add up to
-- what the invoices owe.
CREATE FUNCTION ar.create_payment_plan(customer_id bigint, invoice_ids bigint[], due_dates date[],
                                       amounts numeric[] DEFAULT NULL, starts_on date DEFAULT NULL,
                                       grace_days integer DEFAULT 0, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	n integer := cardinality(due_dates);
	total numeric;
	currencies text[];
	share numeric;
	bad record;
	plan_id bigint;
	numbers text;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF coalesce(cardinality(invoice_ids), 0) = 0 THEN
		RAISE EXCEPTION 'a payment plan covers at least one invoice' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(n, 0) = 0 THEN
		RAISE EXCEPTION 'a payment plan has at least one instalment' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(invoice_ids, NULL) IS NOT NULL OR array_position(due_dates, NULL) IS NOT NULL
	   OR (amounts IS NOT NULL AND array_position(amounts, NULL) IS NOT NULL) THEN
		RAISE EXCEPTION 'invoice ids, due dates and amounts cannot contain NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF grace_days IS NULL OR grace_days < 0 THEN
		RAISE EXCEPTION 'grace_days must be zero or more, not %', coalesce(grace_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 2..n LOOP
		IF due_dates[i] <= due_dates[i - 1] THEN
			RAISE EXCEPTION 'instalment % is due on %, not after instalment % (%)', i, due_dates[i], i - 1, due_dates[i - 1]
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	IF starts_on > due_dates[1] THEN
		RAISE EXCEPTION 'the plan starts on %, after its first instalment (%)', starts_on, due_dates[1]
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- lock the invoices, in id order
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (invoice_ids) ORDER BY i.id FOR UPDATE;
	SELECT u.id AS invoice_id, i.number, i.customer_id, i.amount, i.open_amount, i.cancelled_on INTO bad
	  FROM unnest(invoice_ids) u(id) LEFT JOIN ar.invoice i ON i.id = u.id
	 WHERE i.id IS NULL OR i.customer_id <> c.id OR i.amount <= 0 OR i.open_amount <= 0 OR i.cancelled_on IS NOT NULL
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % cannot be in a payment plan of customer %', coalesce(bad.number, bad.invoice_id::text), c.code
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = CASE WHEN bad.number IS NULL THEN 'It does not exist.'
			                    WHEN bad.customer_id <> c.id THEN 'It belongs to another customer.'
			                    ELSE 'Only open invoices (not credit notes, not cancelled) can be.' END;
	END IF;
	IF (SELECT count(DISTINCT u) FROM unnest(invoice_ids) u) <> cardinality(invoice_ids) THEN
		RAISE EXCEPTION 'an invoice is listed twice in the payment plan' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT i.number INTO numbers
	  FROM ar.payment_plan_invoice pi JOIN ar.payment_plan p ON p.id = pi.plan_id JOIN ar.invoice i ON i.id = pi.invoice_id
	 WHERE pi.invoice_id = ANY (invoice_ids) AND p.status = 'active'
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % is already in an active payment plan', numbers
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Cancel that plan first (ar.cancel_payment_plan).';
	END IF;
	SELECT sum(i.open_amount), array_agg(DISTINCT i.currency::text), string_agg(i.number, ', ' ORDER BY i.due_date, i.number)
	  INTO total, currencies, numbers
	  FROM ar.invoice i WHERE i.id = ANY (invoice_ids);
	IF cardinality(currencies) > 1 THEN
		RAISE EXCEPTION 'a payment plan covers invoices of one currency, not %', array_to_string(currencies, ', ')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF amounts IS NULL THEN
		share := trunc(total / n, 2);
		amounts := array_fill(share, ARRAY[n]);
		amounts[n] := total - share * (n - 1);
	ELSIF cardinality(amounts) <> n THEN
		RAISE EXCEPTION '% due dates but % amounts', n, cardinality(amounts) USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 1..n LOOP
		PERFORM ar._require_positive(format('instalment %s', i), amounts[i]);
	END LOOP;
	IF (SELECT sum(a) FROM unnest(amounts) a) <> total THEN
		RAISE EXCEPTION 'the instalments add up to %, the invoices owe %', (SELECT sum(a) FROM unnest(amounts) a), total
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.payment_plan (company_id, customer_id, currency, total, starts_on, grace_days, note)
	VALUES (c.company_id, c.id, currencies[1], total, create_payment_plan.starts_on, create_payment_plan.grace_days,
	        create_payment_plan.note)
	RETURNING id INTO plan_id;
	INSERT INTO ar.payment_plan_invoice (plan_id, invoice_id) SELECT plan_id, u FROM unnest(invoice_ids) u;
	INSERT INTO ar.payment_plan_instalment (plan_id, seq, due_on, amount)
	SELECT plan_id, s, due_dates[s], amounts[s] FROM generate_series(1, n) s;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, detail, plan_id)
	VALUES (c.company_id, c.id, starts_on, 'plan_created', 'internal',
	        format('Payment plan of %s instalment(s) for %s, from %s to %s', n, ar.format_money(total, currencies[1]),
	               due_dates[1], due_dates[n]),
	        format('Invoices: %s', numbers), plan_id);
	RETURN plan_id;
END $$;

CREATE FUNCTION ar.cancel_payment_plan(plan_id bigint, reason text, cancelled_on date DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.payment_plan;
BEGIN
	PERFORM ar._require_text('a reason', reason);
	PERFORM ar._require_company(x.company_id, 'collector') FROM ar.payment_plan x WHERE x.id = cancel_payment_plan.plan_id;
	SELECT * INTO p FROM ar.payment_plan x WHERE x.id = cancel_payment_plan.plan_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'payment plan % does not exist', coalesce(plan_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status = 'cancelled' THEN
		RAISE EXCEPTION 'payment plan % is already cancelled', p.id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE ar.payment_plan x
	   SET status = 'cancelled', status_on = cancel_payment_plan.cancelled_on, cancelled_at = now(),
	       cancelled_on = cancel_payment_plan.cancelled_on, cancel_reason = reason
	 WHERE x.id = p.id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
	VALUES (p.company_id, p.customer_id, cancelled_on, 'plan_cancelled', 'internal',
	        format('Payment plan %s cancelled: %s', p.id, reason), p.id);
END $$;

CREATE FUNCTION ar.block_dunning(customer_id bigint, until date, reason text, from_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	block_id bigint;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF until IS NULL THEN
		RAISE EXCEPTION 'a block needs an end date (until); use ''infinity'' for an open-ended one'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_text('a reason', reason);
	IF from_on >= until THEN
		RAISE EXCEPTION 'a block from % must end after it, not on %', from_on, until USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.dunning_block (company_id, customer_id, from_on, until, reason)
	VALUES (c.company_id, c.id, block_dunning.from_on, block_dunning.until, block_dunning.reason)
	RETURNING id INTO block_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, block_id)
	VALUES (c.company_id, c.id, from_on, 'block', 'internal',
	        format('Dunning blocked%s until %s: %s', ' from ' || from_on, until, reason), block_id);
	RETURN block_id;
END $$;

CREATE FUNCTION ar.unblock_dunning(customer_id bigint, reason text, lifted_on date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	b ar.dunning_block;
	lifted integer := 0;
BEGIN
	c := ar._customer_or_error(customer_id);
	PERFORM ar._require_text('a reason', reason);
	FOR b IN UPDATE ar.dunning_block x
	            SET lifted_at = now(), lifted_on = unblock_dunning.lifted_on, lifted_by = session_user,
	                lift_reason = unblock_dunning.reason
	          WHERE x.customer_id = c.id AND x.lifted_at IS NULL
	            AND (unblock_dunning.lifted_on IS NULL OR x.until > unblock_dunning.lifted_on)
	      RETURNING * LOOP
		lifted := lifted + 1;
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, block_id)
		VALUES (c.company_id, c.id, lifted_on, 'block_lifted', 'internal',
		        format('Dunning block %s lifted%s: %s', b.id, ' on ' || lifted_on, reason), b.id);
	END LOOP;
	RETURN lifted;
END $$;

CREATE FUNCTION ar.set_dunning_policy(customer_id bigint, policy_code text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	p ar.dunning_policy;
BEGIN
	c := ar._customer_or_error(customer_id);
	PERFORM ar._require_company(c.company_id, 'admin');
	IF policy_code IS NULL THEN
		DELETE FROM ar.customer_dunning_policy x WHERE x.customer_id = c.id;
	ELSE
		SELECT * INTO p FROM ar.dunning_policy d WHERE d.code = policy_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'dunning policy "%" does not exist', policy_code USING ERRCODE = 'no_data_found';
		END IF;
		INSERT INTO ar.customer_dunning_policy (customer_id, policy_id) VALUES (c.id, p.id)
		ON CONFLICT ON CONSTRAINT customer_dunning_policy_pkey
		DO UPDATE SET policy_id = EXCLUDED.policy_id, set_at = now(), set_by = session_user;
	END IF;
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
	VALUES (c.company_id, c.id, 'policy', 'internal',
	        coalesce('Dunning policy set to ' || policy_code, 'Own dunning policy removed (segment or default policy applies)'));
END $$;

-- ------------------------------------------------------------------- outbox

-- The transactional outbox: one row per notice queued, rendered at queue
-- time; the sender reads the queued ones (or LISTENs to ar_dunning) and
-- reports delivery with ar.mark_notice.  The columns of doc/contract.md come first.
CREATE TABLE ar.dunning_notice (
	id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	customer_id    bigint NOT NULL,
	level          integer NOT NULL,
	level_name     text NOT NULL,
	channel        text NOT NULL CHECK (channel IN ('email', 'sms', 'letter', 'registered_letter', 'task')),
	subject        text,
	body           text NOT NULL,
	invoice_ids    bigint[] NOT NULL,
	amount_due     numeric NOT NULL,
	penalties      numeric,
	status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
	as_of          date NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT now(),
	company_id     bigint NOT NULL,
	currency       char(3) NOT NULL,
	policy_id      bigint NOT NULL,
	cycle          integer NOT NULL,
	language       text NOT NULL,
	recipient      text,
	interest       numeric,
	indemnity      numeric,
	fee            numeric NOT NULL DEFAULT 0,
	reply_by       date,
	status_at      timestamptz,
	provider_ref   text,
	status_detail  text,
	credits_set_off  numeric NOT NULL DEFAULT 0,
	-- idempotency from the data: one notice per account and run date, one
	-- notice of each level per cycle that is not failed or cancelled
	CONSTRAINT dunning_notice_once_per_run_date UNIQUE (customer_id, currency, as_of)
);
COMMENT ON COLUMN ar.dunning_notice.amount_due IS
	'What the notice claims: the open amounts of the invoices it lists on its run date, less credits_set_off.';
COMMENT ON COLUMN ar.dunning_notice.credits_set_off IS
	'Open credit notes and unapplied customer credit of the account on the run date, deducted from the open amounts listed (up to them); the letter states the deduction.';
CREATE UNIQUE INDEX dunning_notice_level_once_per_cycle ON ar.dunning_notice (customer_id, currency, cycle, level)
	WHERE status IN ('queued', 'sent');
CREATE INDEX dunning_notice_queued ON ar.dunning_notice (id) WHERE status = 'queued';
-- letters are queued compressed (ar._compress_letter); those of rows over
-- about 2 kB PostgreSQL compresses itself: with LZ4 too, where it has it
DO $$
BEGIN
	ALTER TABLE ar.dunning_notice ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END $$;
-- run dates follow insertion order: a BRIN index costs next to nothing to keep
CREATE INDEX dunning_notice_as_of ON ar.dunning_notice USING brin (as_of);

-- Escalation state of each dunning account (customer and currency).
CREATE TABLE ar.dunning_account (
	customer_id     bigint NOT NULL,
	currency        char(3) NOT NULL,
	cycle           integer NOT NULL DEFAULT 1,
	level           integer,       -- C: level of the last notice of the cycle not failed or cancelled
	last_notice_id  bigint,        -- last notice of any cycle not failed or cancelled
	last_notice_on  date,          -- its run date
	changed_on      date,          -- run date that last changed it (a notice, a new cycle)
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (customer_id, currency)
) WITH (fillfactor = 70);   -- room for the HOT updates of each notice

-- One row per run date queued for real: a second run for the same date
-- queues nothing.
CREATE TABLE ar.dunning_run (
	as_of          date PRIMARY KEY,
	started_at     timestamptz NOT NULL,
	finished_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
	run_by         text NOT NULL DEFAULT session_user,
	run_role       text NOT NULL DEFAULT current_setting('role'),
	via            text DEFAULT nullif(current_setting('application_name', true), ''),
	accounts       integer NOT NULL,
	notices        integer NOT NULL,
	cycles_closed  integer NOT NULL,
	report         jsonb NOT NULL DEFAULT '{}'
);

-- Level C and last notice of an account, recomputed from its notices (after
-- a notice is marked failed or cancelled).
CREATE FUNCTION ar._dunning_account_refresh(customer_id bigint, currency char(3)) RETURNS void
LANGUAGE sql AS $$
	UPDATE ar.dunning_account a
	   SET level = (SELECT n.level FROM ar.dunning_notice n
	                 WHERE n.customer_id = a.customer_id AND n.currency = a.currency AND n.cycle = a.cycle
	                   AND n.status IN ('queued', 'sent')
	                 ORDER BY n.as_of DESC, n.id DESC LIMIT 1),
	       (last_notice_id, last_notice_on) =
	           (SELECT n.id, n.as_of FROM ar.dunning_notice n
	             WHERE n.customer_id = a.customer_id AND n.currency = a.currency AND n.status IN ('queued', 'sent')
	             ORDER BY n.as_of DESC, n.id DESC LIMIT 1),
	       updated_at = now()
	 WHERE a.customer_id = _dunning_account_refresh.customer_id AND a.currency = _dunning_account_refresh.currency
$$;

-- ------------------------------------------------------------- the rule

-- The open invoices of each dunning account in order, with what a run reads
-- of them: ar.run_dunning reads them account by account from the index
-- alone (where the visibility map allows), without sorting a million rows.
CREATE INDEX invoice_open_account ON ar.invoice (customer_id, currency, due_date)
	INCLUDE (id, number, amount, open_amount, issue_date, cancelled_on, penalty_regime, penalty_rate)
	WHERE open_amount <> 0;

-- The work tables of ar.run_dunning live in pg_temp, which belongs to the
-- caller's session: the caller could create there, before a run, a table
-- of the name the run uses, with a trigger or a rule that the run (SECURITY
-- DEFINER) would fire as its owner.  So their names carry a random token
-- drawn once per transaction by the library (ar._work_token(), which no
-- caller can set or predict: ar._dunning_work_name), and a work table is
-- created by the run itself; within a transaction, a later run empties and
-- fills it again (simulating many run dates in one transaction does not
-- pile up locks on temporary relations), but only while it is still the
-- plain table this role created: anything else of that name is refused
-- (42501), never used.  ON COMMIT DROP.  With key, the table is created
-- with a unique index on that column (a join knowing the key unique needs
-- no mark and restore).  Returns the number of rows written.
CREATE FUNCTION ar._work_token() RETURNS text
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'ar_work_token';

CREATE FUNCTION ar._dunning_work_name(base text) RETURNS text
LANGUAGE sql VOLATILE AS $$ SELECT base || '_' || ar._work_token() $$;

CREATE FUNCTION ar._dunning_work_table(name text, query text, key text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	written bigint;
	rel record;
BEGIN
	SELECT c.relkind, c.relpersistence, c.relhastriggers, c.relhasrules, c.relrowsecurity,
	       c.relowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) AS ours
	  INTO rel
	  FROM pg_catalog.pg_class c
	 WHERE c.relname = name AND c.relnamespace = pg_catalog.pg_my_temp_schema();
	IF NOT FOUND THEN
		EXECUTE format('CREATE TEMP TABLE pg_temp.%I ON COMMIT DROP AS %s', name, query);
		GET DIAGNOSTICS written = ROW_COUNT;
		IF key IS NOT NULL THEN
			EXECUTE format('CREATE UNIQUE INDEX ON pg_temp.%I (%I)', name, key);
		END IF;
	ELSIF rel.ours AND rel.relkind = 'r' AND rel.relpersistence = 't'
	      AND NOT rel.relhastriggers AND NOT rel.relhasrules AND NOT rel.relrowsecurity THEN
		EXECUTE format('TRUNCATE pg_temp.%I', name);
		EXECUTE format('INSERT INTO pg_temp.%I %s', name, query);
		GET DIAGNOSTICS written = ROW_COUNT;
	ELSE
		RAISE EXCEPTION 'work table % of pg_temp exists and is not the one ar_collect created: refused', name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN written;
END $$;

-- Applies the escalation rule of the contract (doc/contract.md) on run date
-- as_of to every dunning account, and queues (unless dry_run) the notices it decides:
--  0. customers blocked on as_of, or whose policy is inactive, are skipped
--     (their state is kept);
--  1. dunnable invoices: positive open amount on as_of (issued by then,
--     allocations dated after as_of not counted), not disputed, promised or
--     covered by a payment plan in force on as_of;
--  2. R: highest level whose offset <= as_of - due_date over them;
--  3. C: level of the last notice of the cycle not failed or cancelled; a
--     new cycle starts (C none) on a run date where R is none (an account
--     whose state was changed by a later run date is left alone: runs go
--     forward in time);
--  4. N = 0 when R = 0, else min(R, max(C, 0) + 1);
--  5. queued when N > C, the last notice of any cycle (not failed or
--     cancelled) was queued at least min_days_between (7) days before
--     as_of, and the amount due reaches the level's min_amount.  It lists
--     the dunnable invoices that reached level 1 (level 0 for a level 0
--     notice) with their open amounts and the penalties accrued on as_of
--     (ar.invoice_penalty, when installed).
-- Each queued notice is a row of ar.dunning_notice, an entry of the
-- communications log and a NOTIFY ar_dunning carrying its id, in the
-- transaction of the run.  A second run for the same date queues nothing.
CREATE FUNCTION ar.run_dunning(as_of date DEFAULT current_date, dry_run boolean DEFAULT false)
RETURNS SETOF ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER
-- a batch of set-based statements over work tables: compiling each one
-- costs more than it saves (work_mem: see run_work_mem)
SET search_path = pg_catalog, ar, pg_temp SET jit = off
-- the work tables are analyzed from a small sample, enough for join plans;
-- no nested loops over work tables whose size the planner may misjudge
SET default_statistics_target = 10 SET enable_nestloop = off
AS $$
#variable_conflict use_column
DECLARE
	x constant date := run_dunning.as_of;
	real_run constant boolean := NOT run_dunning.dry_run;
	started constant timestamptz := clock_timestamp();
	-- how penalties are computed: by the penalty engine for every listed
	-- invoice in one statement (the set-based core of ar.invoice_penalty),
	-- else by ar.invoice_penalty, else not at all (NULL)
	penalty_mode constant text := CASE
		WHEN to_regprocedure('ar._penalty_compute(text,numeric,date,date,date[],numeric[],numeric,text,boolean)') IS NOT NULL
		     AND to_regclass('ar.penalty_claim') IS NOT NULL THEN 'engine'
		WHEN to_regprocedure('ar.invoice_penalty(bigint,date)') IS NOT NULL THEN 'function'
		ELSE 'none' END;
	-- the sorts and hashes of the run in memory (at least 256 MB), the rows
	-- it returns within the caller's work_mem, as any set-returning
	-- function's (beyond it they spill to a temporary file): set locally,
	-- the caller's value restored before returning
	caller_work_mem constant text := current_setting('work_mem');
	run_work_mem constant text := CASE WHEN pg_size_bytes(caller_work_mem) < pg_size_bytes('256MB')
	                                   THEN '256MB' ELSE caller_work_mem END;
	caller_enable_sort constant text := current_setting('enable_sort');
	claims boolean := false;        -- penalty decisions exist (ar.penalty_claim)
	paid_since boolean;             -- allocations dated after x exist
	cancelled_since boolean;        -- invoices cancelled after x exist
	lead_days integer;
	closed integer := 0;
	accounts integer;
	queued integer;
	problems bigint;
	first_problem text;
	missing record;
	written bigint;
	report jsonb := '{}';           -- what the run reports (ar.dunning_run.report)
	fallbacks jsonb;
	out_query text;
	step_at timestamptz := clock_timestamp();    -- step timings, at DEBUG1
	-- the work tables (pg_temp, named with this transaction's token: see
	-- ar._dunning_work_table)
	w_policy constant text := ar._dunning_work_name('ar_dun_policy');
	w_blocked constant text := ar._dunning_work_name('ar_dun_blocked');
	w_excluded constant text := ar._dunning_work_name('ar_dun_excluded');
	w_customer constant text := ar._dunning_work_name('ar_dun_customer');
	w_acct constant text := ar._dunning_work_name('ar_dun_acct');
	w_dec constant text := ar._dunning_work_name('ar_dun_dec');
	w_tpl constant text := ar._dunning_work_name('ar_dun_tpl');
	w_prev constant text := ar._dunning_work_name('ar_dun_prev');
	w_recent constant text := ar._dunning_work_name('ar_dun_recent');
	skipped bigint[];               -- customers with rows beyond the input bounds
	w_credit constant text := ar._dunning_work_name('ar_dun_credit');
	apply_credits boolean;
BEGIN
	IF x IS NULL OR NOT isfinite(x) THEN
		RAISE EXCEPTION 'run_dunning needs a finite as_of date, not %', coalesce(x::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.run_dunning: as_of', x);
	IF run_dunning.dry_run IS NULL THEN
		RAISE EXCEPTION 'dry_run must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a run decides for every company at once (one ar.dunning_run per date)
	PERFORM ar._require_all_companies('collector');
	IF real_run THEN
		-- runs queue one after the other; a date already run queues nothing
		PERFORM pg_advisory_xact_lock(hashtext('ar_collect.run_dunning'));
		IF EXISTS (SELECT 1 FROM ar.dunning_run r WHERE r.as_of = x) THEN
			RETURN;
		END IF;
	END IF;
	PERFORM set_config('work_mem', run_work_mem, true);
	-- customers with rows beyond the input bounds (their constraints were
	-- bypassed) are skipped as if blocked, warned about and reported in
	-- ar.batch_problem, instead of failing the run for everyone; only the
	-- tables whose constraint is missing or not validated are read
	SELECT coalesce(array_agg(DISTINCT coalesce(q.customer_id, c.id)), '{}') INTO skipped
	  FROM ar._batch_quarantine('run_dunning', ARRAY['company', 'customer', 'invoice', 'customer_credit', 'allocation',
	                                                 'dispute', 'payment_promise', 'payment_plan', 'payment_plan_instalment',
	                                                 'dunning_block'], NULL, x, real_run) q
	  LEFT JOIN ar.customer c ON q.object_table = 'company' AND c.company_id = q.object_id
	 WHERE q.customer_id IS NOT NULL OR c.id IS NOT NULL;
	IF real_run THEN
		-- promises whose date has passed: kept or broken
		WITH settled AS (
			UPDATE ar.payment_promise pr
			   SET status = CASE WHEN ar._open_on(pr.invoice_id, pr.promised_on) <= pr.open_at_promise - pr.amount
			                     THEN 'kept' ELSE 'broken' END,
			       settled_on = x
			 WHERE pr.status = 'pending' AND pr.promised_on < x AND pr.customer_id <> ALL (skipped)
			RETURNING pr.*
		)
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
		SELECT s.company_id, s.customer_id, x, 'promise_' || s.status, 'internal',
		       format('Promise to pay %s by %s on invoice %s %s', ar.format_money(s.amount, i.currency), s.promised_on,
		              i.number, CASE s.status WHEN 'kept' THEN 'kept' ELSE 'broken: the invoice is dunned again' END),
		       s.invoice_id, s.id
		  FROM settled s JOIN ar.invoice i ON i.id = s.invoice_id;
		-- payment plans: a missed instalment breaks the plan, full payment completes it
		WITH changed AS (
			UPDATE ar.payment_plan p
			   SET status = c.status, status_on = c.status_on
			  FROM (SELECT q.id, CASE WHEN b.broken_on IS NOT NULL THEN 'broken' ELSE 'completed' END AS status,
			               coalesce(b.broken_on, x) AS status_on
			          FROM ar.payment_plan q
			         CROSS JOIN LATERAL (SELECT ar._plan_broken_on(q.id, x) AS broken_on) b
			         WHERE q.status = 'active' AND q.customer_id <> ALL (skipped)
			           AND (b.broken_on IS NOT NULL OR ar._plan_outstanding(q.id, x) = 0)) c
			 WHERE p.id = c.id
			RETURNING p.*
		)
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
		SELECT c.company_id, c.customer_id, x, 'plan_' || c.status, 'internal',
		       CASE c.status
		            WHEN 'broken' THEN format('Payment plan %s broken on %s: an instalment was not paid; its invoices are dunned again',
		                                      c.id, c.status_on)
		            ELSE format('Payment plan %s completed', c.id) END,
		       c.id
		  FROM changed c;
	END IF;

	RAISE DEBUG 'run_dunning exclusions updated: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- active policies, their levels as arrays: the level an invoice reached
	-- is levels[width_bucket(days late, offsets)]
	PERFORM ar._dunning_work_table(w_policy, format($w$
	SELECT p.id AS policy_id, p.code, p.min_days_between, p.fallback_language, p.templates_from,
	       p.apply_credits_before_run,
	       array_agg(l.offset_days ORDER BY l.level) AS offsets, array_agg(l.level ORDER BY l.level) AS levels
	  FROM ar.dunning_policy p JOIN ar.dunning_level l ON l.policy_id = p.id
	 WHERE p.active
	 GROUP BY p.id
	$w$, x, lead_days));
	EXECUTE format('SELECT greatest(0, -min(o)) FROM pg_temp.%I, unnest(offsets) o', w_policy) INTO lead_days;
	lead_days := coalesce(lead_days, 0);

	-- 0. customers blocked on x (and those skipped)
	PERFORM ar._dunning_work_table(w_blocked, format($w$
	SELECT b.customer_id
	  FROM ar.dunning_block b
	 WHERE (b.from_on IS NULL OR b.from_on <= %1$L::date) AND %1$L::date < b.until
	   AND (b.lifted_at IS NULL OR (b.lifted_on IS NOT NULL AND %1$L::date < b.lifted_on))
	UNION
	SELECT unnest(%3$L::bigint[])
	$w$, x, lead_days, skipped));

	-- invoices left out on x: disputed, promised, in a payment plan in force
	PERFORM ar._dunning_work_table(w_excluded, format($w$
	SELECT d.invoice_id
	  FROM ar.dispute d
	 WHERE (d.opened_on IS NULL OR d.opened_on <= %1$L::date)
	   AND (d.resolved_at IS NULL OR (d.resolved_on IS NOT NULL AND %1$L::date < d.resolved_on))
	UNION
	SELECT pr.invoice_id
	  FROM ar.payment_promise pr
	 WHERE (pr.made_on IS NULL OR pr.made_on <= %1$L::date) AND %1$L::date <= pr.promised_on
	UNION
	SELECT pi.invoice_id
	  FROM ar.payment_plan p JOIN ar.payment_plan_invoice pi ON pi.plan_id = p.id
	 WHERE (p.starts_on IS NULL OR p.starts_on <= %1$L::date)
	   AND (p.cancelled_at IS NULL OR (p.cancelled_on IS NOT NULL AND %1$L::date < p.cancelled_on))
	   AND NOT (p.status IN ('completed', 'broken') AND p.status_on <= %1$L::date)
	   AND ar._plan_broken_on(p.id, %1$L::date) IS NULL
	$w$, x, lead_days));

	RAISE DEBUG 'run_dunning policies, blocks, exclusions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- customers dunned on x: not blocked, with an active policy and its
	-- levels (and, for the penalty engine, the regime of their invoices: the
	-- customer's, else FR_LME, as ar.invoice_penalty does); indexed, for
	-- the merge with the invoices in account order
	PERFORM ar._dunning_work_table(w_customer, format($q$
	SELECT c.id AS customer_id, p.policy_id, p.offsets, p.levels %1$s
	  FROM ar.customer c
	  LEFT JOIN ar.customer_dunning_policy cp ON cp.customer_id = c.id
	  LEFT JOIN ar.dunning_segment_policy sp ON sp.segment = c.segment
	  LEFT JOIN (SELECT d.id FROM ar.dunning_policy d
	              WHERE d.is_default AND d.active ORDER BY d.shipped, d.id LIMIT 1) dp ON true
	  JOIN pg_temp.%2$I p ON p.policy_id = coalesce(cp.policy_id, sp.policy_id, dp.id)
	 WHERE NOT EXISTS (SELECT 1 FROM pg_temp.%3$I b WHERE b.customer_id = c.id)
	$q$, CASE WHEN penalty_mode = 'engine'
	          THEN ', coalesce(c.penalty_regime, ''FR_LME'') AS regime, c.penalty_rate AS contract_rate' ELSE '' END,
	w_policy, w_blocked),
	'customer_id');
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, policy_id)', w_customer);

	-- a real run first allocates the open credits of the customers whose
	-- policy says so to their oldest invoices (ar.apply_open_credits)
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM pg_temp.%I p WHERE p.apply_credits_before_run)', w_policy)
	   INTO apply_credits;
	IF real_run AND apply_credits THEN
		EXECUTE format($q$
		SELECT count(*) FROM ar._apply_open_credits(ARRAY(
			SELECT c.customer_id FROM pg_temp.%1$I c JOIN pg_temp.%2$I p ON p.policy_id = c.policy_id
			 WHERE p.apply_credits_before_run
			   AND c.customer_id IN (SELECT k.customer_id FROM ar.open_credits($1) k)
			 ORDER BY c.customer_id), $1)
		$q$, w_customer, w_policy) USING x;
	END IF;
	-- what each account may set off on x: its open credit notes and unused
	-- customer credit (few accounts), deducted from what its notice claims
	PERFORM ar._dunning_work_table(w_credit, format($w$
	SELECT k.customer_id, k.currency, sum(k.available) AS credits
	  FROM ar.open_credits(%1$L) k
	 WHERE k.customer_id IN (SELECT c.customer_id FROM pg_temp.%2$I c)
	 GROUP BY k.customer_id, k.currency
	$w$, x, w_customer));
	EXECUTE format('ANALYZE pg_temp.%I', w_credit);

	RAISE DEBUG 'run_dunning customers and credits: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();
	IF penalty_mode = 'engine' THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM ar.penalty_claim)' INTO claims;
	END IF;
	paid_since := EXISTS (SELECT 1 FROM ar.allocation a WHERE a.allocated_on > x);
	cancelled_since := EXISTS (SELECT 1 FROM ar.invoice i WHERE i.cancelled_on > x);
	RAISE DEBUG 'run_dunning claims, payments and cancellations since: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- 1, 2. In one pass over the dunnable invoices on x, account by account
	-- (the index invoice_open_account, merged with the customers: no sort
	-- of a million rows, which the planner would choose from its estimates
	-- of the filters here; a sort remains when invoices paid or cancelled
	-- since x are added): the level each reached, R of its account, and
	-- per account what a notice would list: the invoices that reached level
	-- 1 (all of them, at level 0, when R = 0), in due date order, with their
	-- open amounts on x (today's plus the allocations dated after x; the
	-- invoices paid or cancelled since x are looked up only when there are
	-- any) and the penalties accrued on x.  An invoice whose penalty cannot
	-- be computed (a rate not known) leaves the account's penalties NULL,
	-- never a silent zero; penalties already billed, waived or written off
	-- (ar.penalty_claim) are not claimed again.
	PERFORM set_config('enable_sort', 'off', true);
	accounts := ar._dunning_work_table(w_acct, format($q$
	WITH later AS (
		SELECT a.invoice_id, sum(a.amount) AS amount
		  FROM ar.allocation a WHERE a.allocated_on > %1$L GROUP BY a.invoice_id
	), open_on_x AS (
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on,
		       %4$s AS open_on_x %3$s
		  FROM ar.invoice i %5$s
		 WHERE i.open_amount <> 0 AND i.amount > 0 AND i.issue_date <= %1$L AND i.due_date <= %2$L
		%9$s
		), dunnable AS (
		SELECT o.*, c.policy_id, c.levels[width_bucket(%1$L::date - o.due_date, c.offsets)] AS inv_level %6$s
		  FROM open_on_x o
		  JOIN pg_temp.%10$I c ON c.customer_id = o.customer_id
		 WHERE o.open_on_x > 0
		   AND width_bucket(%1$L::date - o.due_date, c.offsets) > 0
		   -- a filter on a hashed list keeps the account order (the ids are never NULL)
		   AND o.id NOT IN (SELECT e.invoice_id FROM pg_temp.%11$I e)
	)
	-- per account: R, and what a notice would list (the invoices at level 1
	-- and up, or those at level 0 when R = 0): counts and sums in one C
	-- aggregate (ar._dunning_totals, exact int128 sums), the lines in table
	-- order in another (ar._dunning_lines), one transition per invoice
	-- each; the first problem twice, FILTERed by listing.
	SELECT g.customer_id, g.currency, g.policy_id, g.r,
	       (g.t).invoice_count, (g.t).amount_due, (g.t).interest, (g.t).indemnity, (g.t).penalties,
	       g.lines, (g.t).problems,
	       CASE WHEN (g.t).r >= 1 THEN g.problem1 ELSE g.problem0 END AS first_problem
	  FROM (SELECT q.customer_id, q.currency, min(q.policy_id) AS policy_id, max(q.inv_level) AS r,
	               -- counts and sums (NULL penalties when any is unknown) of
	               -- the listing: a courtesy reminder (level 0) lists only
	               -- the invoices not yet due (list_level -1: in no listing)
	               ar._dunning_totals(q.list_level, q.open_on_x, q.interest, q.fixed_fee, q.total, q.problem) AS t,
	               ar._dunning_lines(q.list_level, q.id, q.number, q.due_date, %1$L::date - q.due_date, q.amount,
	                                 q.open_on_x, q.interest, q.fixed_fee) AS lines,
	               -- (filtered on the problem first: no text built for the others)
	               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level >= 1) AS problem1,
	               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level = 0) AS problem0
	          FROM (SELECT p.*, %7$s,
	                       CASE WHEN p.inv_level = 0 AND p.due_date < %1$L::date THEN -1 ELSE p.inv_level END AS list_level
	                  FROM (SELECT d.*, %8$s FROM dunnable d ORDER BY d.customer_id, d.currency OFFSET 0) p) q
	         GROUP BY q.customer_id, q.currency) g
	$q$, x, x + lead_days,
	-- %3$s: what the penalty engine needs of the invoice
	CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
	-- %4$s, %5$s: the open amount on x, from today's and the allocations dated after x
	CASE WHEN paid_since THEN 'i.open_amount + coalesce(l.amount, 0)' ELSE 'i.open_amount' END,
	CASE WHEN paid_since THEN 'LEFT JOIN later l ON l.invoice_id = i.id' ELSE '' END,
	-- %6$s: the regime each invoice runs under
	CASE WHEN penalty_mode = 'engine'
	     THEN ', coalesce(o.penalty_regime, c.regime) AS regime, coalesce(o.penalty_rate, c.contract_rate) AS contract_rate,
	             o.cancelled_on IS NULL AS liable'
	     ELSE '' END,
	-- %7$s: the penalty columns, from pen
	CASE penalty_mode
	     WHEN 'engine' THEN
	         'CASE WHEN p.claimable THEN (p.pen).interest ELSE 0.00 END AS interest,
	          CASE WHEN p.claimable THEN (p.pen).fixed_fee ELSE 0.00 END AS fixed_fee,
	          CASE WHEN p.claimable THEN (p.pen).total ELSE 0.00 END AS total,
	          CASE WHEN p.claimable THEN (p.pen).problem END AS problem'
	     WHEN 'function' THEN
	         '(p.pen).interest, (p.pen).fixed_fee, (p.pen).total, NULL::text AS problem'
	     ELSE 'NULL::numeric AS interest, NULL::numeric AS fixed_fee, NULL::numeric AS total, NULL::text AS problem' END,
	-- %8$s: pen, computed once per listed invoice, with the payments made by
	-- x of the invoices partly paid on x (read through allocation_invoice,
	-- in one subquery)
	CASE penalty_mode
	     WHEN 'engine' THEN format(
	         'd.liable AND %1$s AS claimable,
	          CASE WHEN d.open_on_x <> d.amount
	               THEN (SELECT ar._penalty_compute(d.regime, d.amount, d.due_date, %2$L, array_agg(a.allocated_on),
	                                                array_agg(a.amount), d.contract_rate, d.currency, false)
	                       FROM ar.allocation a WHERE a.invoice_id = d.id AND a.allocated_on <= %2$L::date)
	               ELSE ar._penalty_compute(d.regime, d.amount, d.due_date, %2$L, NULL, NULL,
	                                        d.contract_rate, d.currency, false) END AS pen',
	         -- penalties billed, waived or written off by x, and invoices billing penalties: none claimed
	         CASE WHEN claims THEN 'NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
	                                             WHERE (pc.invoice_id = d.id AND pc.decided_on <= ' || quote_literal(x) || ')
	                                                OR pc.penalty_invoice_id = d.id)'
	              ELSE 'true' END, x)
	     WHEN 'function' THEN format('ar.invoice_penalty(d.id, %L) AS pen', x)
	     ELSE 'NULL::integer AS pen' END,
	-- %9$s: the invoices paid since x, and cancelled since x
	CASE WHEN paid_since THEN format($b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, l.amount %s
		  FROM later l JOIN ar.invoice i ON i.id = l.invoice_id
		 WHERE i.open_amount = 0 AND i.cancelled_on IS NULL AND i.amount > 0 AND i.issue_date <= %L
		   AND i.due_date <= %L$b$,
		CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
		x, x + lead_days) ELSE '' END
	|| CASE WHEN cancelled_since THEN format($b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, i.amount %s
		  FROM ar.invoice i
		 WHERE i.cancelled_on > %L AND i.amount > 0 AND i.issue_date <= %L AND i.due_date <= %L$b$,
		CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
		x, x, x + lead_days) ELSE '' END,
	-- %10$I, %11$I: the customers and the invoices left out
	w_customer, w_excluded));
	PERFORM set_config('enable_sort', caller_enable_sort, true);
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency, policy_id, r)', w_acct);
	RAISE DEBUG 'run_dunning dunnable invoices, listings and penalties: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- 3. a run date where R is none starts a new cycle (not for skipped
	-- customers); not while an invoice still open is under a promise to
	-- pay: the account keeps its level, and a broken promise resumes the
	-- escalation where it stood
	IF real_run THEN
		EXECUTE format($q$
		WITH reset AS (
			UPDATE ar.dunning_account a
			   SET cycle = a.cycle + 1, level = NULL, changed_on = $1, updated_at = now()
			 WHERE a.level IS NOT NULL AND (a.changed_on IS NULL OR a.changed_on <= $1)
			   AND NOT EXISTS (SELECT 1 FROM pg_temp.%1$I d WHERE d.customer_id = a.customer_id AND d.currency = a.currency)
			   AND EXISTS (SELECT 1 FROM pg_temp.%2$I c WHERE c.customer_id = a.customer_id)
			   AND NOT EXISTS (SELECT 1 FROM ar.payment_promise pr JOIN ar.invoice i ON i.id = pr.invoice_id
			                    WHERE pr.customer_id = a.customer_id AND i.currency = a.currency
			                      AND (pr.made_on IS NULL OR pr.made_on <= $1) AND $1 <= pr.promised_on
			                      AND ar._open_on(i.id, $1) > 0)
			RETURNING a.customer_id, a.currency, a.cycle
		), logged AS (
			INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary)
			SELECT c.company_id, r.customer_id, $1, 'cycle_closed', 'internal',
			       format('Dunning cycle %%s (%%s) closed: nothing left to remind', r.cycle - 1, r.currency)
			  FROM reset r JOIN ar.customer c ON c.id = r.customer_id
			RETURNING 1
		)
		SELECT count(*) FROM logged$q$, w_acct, w_customer) INTO closed USING x;
	END IF;

	-- 4, 5. decisions: N, queued when N > C, the last notice is at least
	-- min_days_between days old, what the notice claims (the open amounts
	-- listed less the account's credits, up to them) is above the level's
	-- minimum amount, and the invoices that reached N owe at least the
	-- level's minimum percentage of the account's open items (else the
	-- account waits at the level below).  A real run numbers its notices
	-- here, in account order (customer, currency), from the outbox's
	-- identity (the sort carries the decisions only; the customers' details
	-- are joined after): the notices, the accounts' state and the
	-- notifications are then written from this table without reading the
	-- outbox back.
	PERFORM ar._dunning_work_table(w_dec, format($w$
	SELECT n.id, n.customer_id, n.currency, n.policy_id, n.r, n.cycle, n.c, n.level, n.known, n.problems, n.first_problem,
	       n.level_name, n.fee, n.state_penalties, n.reply_days, n.delivery_days, n.credits,
	       c.company_id, c.code AS customer_code, c.name AS customer_name,
	       coalesce(nullif(lower(left(btrim(c.language), 2)), ''), 'fr') AS language, coalesce(c.segment, '') AS segment,
	       co.language AS company_language,
	       ch.channel,
	       CASE ch.channel WHEN 'email' THEN c.email WHEN 'sms' THEN c.phone END AS recipient
	  FROM (SELECT CASE WHEN %3$L::boolean THEN nextval(%4$L::regclass) END AS id, k.*
	          FROM (
	SELECT d.customer_id, d.currency, d.policy_id, d.r, d.cycle, d.c, d.level, d.known, d.problems, d.first_problem,
	       l.name AS level_name, l.fee, l.state_penalties, l.reply_days, l.delivery_days, l.channel AS level_channel,
	       d.credits
	  FROM (SELECT d.customer_id, d.currency, d.policy_id, d.r, d.amount_due, d.lines, d.invoice_count, d.problems, d.first_problem,
	               least(coalesce(cr.credits, 0), d.amount_due) AS credits,
	               coalesce(a.cycle, 1) AS cycle,
	               a.level AS c, a.customer_id IS NOT NULL AS known,
	               CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END AS level
	          FROM pg_temp.%5$I d
	          JOIN pg_temp.%6$I p ON p.policy_id = d.policy_id
	          LEFT JOIN ar.dunning_account a ON a.customer_id = d.customer_id AND a.currency = d.currency
	          LEFT JOIN pg_temp.%7$I cr ON cr.customer_id = d.customer_id AND cr.currency = d.currency
	         WHERE (a.last_notice_on IS NULL OR a.last_notice_on <= %1$L::date - p.min_days_between)
	           AND (a.changed_on IS NULL OR a.changed_on <= %1$L::date)   -- a state newer than x is left alone
	           AND CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END
	               > coalesce(a.level, -1)
	        OFFSET 0) d
	  JOIN ar.dunning_level l ON l.policy_id = d.policy_id AND l.level = d.level
	 WHERE d.amount_due - d.credits > l.min_amount AND d.invoice_count > 0
	   AND (l.min_percent = 0
	        OR ar._lines_open_from(d.lines, d.level)
	           >= l.min_percent / 100 * ar._account_balance_on(d.customer_id, d.currency, %1$L))
	   AND NOT EXISTS (SELECT 1 FROM ar.dunning_notice dn
	                    WHERE dn.customer_id = d.customer_id AND dn.currency = d.currency AND dn.as_of = %1$L::date)
	 ORDER BY d.customer_id, d.currency COLLATE "C") k) n
	  JOIN ar.customer c ON c.id = n.customer_id
	  JOIN ar.company co ON co.id = c.company_id
	 CROSS JOIN LATERAL (SELECT CASE WHEN n.level_channel = 'email' AND coalesce(btrim(c.email), '') = '' THEN 'letter'
	                                 WHEN n.level_channel = 'sms' AND coalesce(btrim(c.phone), '') = '' THEN 'letter'
	                                 ELSE n.level_channel END AS channel) ch
	$w$, x, lead_days, real_run, pg_get_serial_sequence('ar.dunning_notice', 'id'), w_acct, w_policy, w_credit));
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency, policy_id, level, language, segment, channel, company_language)', w_dec);
	EXECUTE format('SELECT sum(n.problems), min(n.first_problem) FROM pg_temp.%I n WHERE n.problems > 0', w_dec)
		INTO problems, first_problem;
	IF problems > 0 THEN
		report := jsonb_build_object('penalties_not_computed', problems, 'first_problem', first_problem,
		                             'missing_rates', (SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.series), '[]')
		                                                 FROM ar.missing_reference_rates(x) m));
		RAISE WARNING 'penalties of % invoice(s) could not be computed on %; their notices state no interest', problems, x
			USING DETAIL = 'First: ' || first_problem
			               || coalesce('. Reference rates missing: '
			                           || (SELECT string_agg(m.series || ' from ' || m.needed_from, ', ' ORDER BY m.series)
			                                 FROM ar.missing_reference_rates(x) m), ''),
			      HINT = 'Add the published rates with ar.add_reference_rate(); see ar.missing_reference_rate.';
	END IF;
	RAISE DEBUG 'run_dunning decisions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- the template of each notice: the customer's language, else the
	-- company's, else the policy's fallback language; the customer's
	-- segment, else any; the channel, else any; the policy's own, else its
	-- templates_from policy's
	PERFORM ar._dunning_work_table(w_tpl, format($w$
	SELECT DISTINCT ON (k.policy_id, k.level, k.language, k.segment, k.channel, k.company_language)
	       k.policy_id, k.level, k.language, k.segment, k.channel, k.company_language,
	       t.id AS template_id, t.language AS render_language, t.subject, t.body
	  FROM (SELECT DISTINCT policy_id, level, language, segment, channel, company_language FROM pg_temp.%3$I) k
	  JOIN pg_temp.%4$I p ON p.policy_id = k.policy_id
	  LEFT JOIN ar.dunning_template t
	         ON t.policy_id IN (k.policy_id, p.templates_from) AND t.level = k.level
	        AND (t.segment IS NULL OR t.segment = k.segment)
	        AND (t.channel IS NULL OR t.channel = k.channel)
	        AND t.language IN (k.language, k.company_language, p.fallback_language)
	 ORDER BY k.policy_id, k.level, k.language, k.segment, k.channel, k.company_language,
	          t.language = k.language DESC, t.language = k.company_language DESC, t.policy_id = k.policy_id DESC,
	          t.segment IS NOT NULL DESC, t.channel IS NOT NULL DESC, t.id
	$w$, x, lead_days, w_dec, w_policy));
	EXECUTE format('ANALYZE pg_temp.%I', w_tpl);
	EXECUTE format('SELECT t.*, p.code FROM pg_temp.%I t JOIN pg_temp.%I p USING (policy_id) WHERE t.template_id IS NULL LIMIT 1',
	               w_tpl, w_policy) INTO missing;
	GET DIAGNOSTICS written = ROW_COUNT;
	IF written > 0 THEN
		RAISE EXCEPTION 'dunning policy % has no template for level % in language % or its fallback language',
			missing.code, missing.level, missing.language
			USING ERRCODE = 'undefined_object';
	END IF;
	-- notices written in another language than their customer's: reported
	EXECUTE format($q$
	SELECT jsonb_agg(jsonb_build_object('language', f.language, 'written_in', f.render_language,
	                                    'notices', f.notices, 'customers', f.customers)
	                 ORDER BY f.language, f.render_language)
	  FROM (SELECT n.language, t.render_language, count(*) AS notices,
	               (array_agg(n.customer_code ORDER BY n.customer_code))[1:20] AS customers
	          FROM pg_temp.%1$I n
	          JOIN pg_temp.%2$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                           AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
	         WHERE t.render_language <> n.language
	         GROUP BY n.language, t.render_language) f$q$, w_dec, w_tpl) INTO fallbacks;
	IF fallbacks IS NOT NULL THEN
		report := report || jsonb_build_object('language_fallbacks', fallbacks);
		RAISE NOTICE 'dunning on %: no template in the language of some customers, their notices are written in their company''s (or the policy''s fallback) language', x
			USING DETAIL = (SELECT string_agg(format('%s -> %s: %s notice(s)', e->>'language', e->>'written_in', e->>'notices'), '; ')
			                  FROM jsonb_array_elements(fallbacks) e);
	END IF;

	-- dates of the reminders (level 1 and up) already queued in the cycle,
	-- as the letter prints them
	PERFORM ar._dunning_work_table(w_prev, format($w$
	SELECT n.customer_id, n.currency,
	       array_agg(ar.format_date(dn.as_of, t.render_language) ORDER BY dn.as_of, dn.id) AS dates,
	       min(t.render_language) AS language
	  FROM pg_temp.%3$I n
	  JOIN pg_temp.%4$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
	  JOIN ar.dunning_notice dn ON dn.customer_id = n.customer_id AND dn.currency = n.currency AND dn.cycle = n.cycle
	 WHERE dn.status IN ('queued', 'sent') AND dn.level >= 1 AND dn.as_of < %1$L::date
	 GROUP BY n.customer_id, n.currency
	$w$, x, lead_days, w_dec, w_tpl));
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency)', w_prev);

	-- invoices never reminded before (in no earlier notice of level 1 or
	-- more of the account): a level whose option says so lists them in a
	-- section of their own (separate) or leaves them out (exclude: the
	-- notice claims the others only, and is not queued when none is left)
	PERFORM ar._dunning_work_table(w_recent, format($w$
	SELECT n.customer_id, n.currency, m.mode, rm.reminded,
	       CASE WHEN m.mode = 'separate' THEN ar._dunning_lines_subset(s.lines, rm.reminded, false) END AS recent_lines
	  FROM pg_temp.%2$I n
	  JOIN ar.dunning_level l ON l.policy_id = n.policy_id AND l.level = n.level
	 CROSS JOIN LATERAL (SELECT coalesce(l.recent_invoices, CASE WHEN l.state_penalties THEN 'separate' ELSE 'list' END) AS mode) m
	  JOIN pg_temp.%3$I s ON s.customer_id = n.customer_id AND s.currency = n.currency
	 CROSS JOIN LATERAL (SELECT coalesce(array_agg(DISTINCT u), '{}') AS reminded
	                       FROM ar.dunning_notice dn CROSS JOIN LATERAL unnest(dn.invoice_ids) u
	                      WHERE dn.customer_id = n.customer_id AND dn.currency = n.currency
	                        AND dn.status IN ('queued', 'sent') AND dn.level >= 1 AND dn.as_of < %1$L::date) rm
	 WHERE m.mode <> 'list' AND n.level >= 1
	$w$, x, w_dec, w_acct));
	EXECUTE format($q$
	DELETE FROM pg_temp.%1$I n USING pg_temp.%2$I r, pg_temp.%3$I s
	 WHERE r.customer_id = n.customer_id AND r.currency = n.currency AND r.mode = 'exclude'
	   AND s.customer_id = n.customer_id AND s.currency = n.currency
	   AND NOT (ar._line_ids(s.lines) && r.reminded)$q$, w_dec, w_recent, w_acct);
	EXECUTE format($q$
	UPDATE pg_temp.%1$I s
	   SET lines = ar._dunning_lines_subset(s.lines, r.reminded, true),
	       (invoice_count, amount_due, interest, indemnity, penalties) =
	           (SELECT CASE WHEN r.mode = 'exclude' THEN t.invoice_count ELSE s.invoice_count END,
	                   CASE WHEN r.mode = 'exclude' THEN t.amount_due ELSE s.amount_due END,
	                   CASE WHEN r.mode = 'exclude' THEN t.interest ELSE s.interest END,
	                   CASE WHEN r.mode = 'exclude' THEN t.indemnity ELSE s.indemnity END,
	                   CASE WHEN r.mode = 'exclude' THEN t.penalties ELSE s.penalties END
	              FROM ar._dunning_lines_totals(ar._dunning_lines_subset(s.lines, r.reminded, true)) t)
	  FROM pg_temp.%2$I r
	 WHERE r.customer_id = s.customer_id AND r.currency = s.currency$q$, w_acct, w_recent);

	RAISE DEBUG 'run_dunning templates, previous notices: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- the notices, rendered in the language of their template, as rows of
	-- ar.dunning_notice without id, status and dates
	out_query := format($q$
	SELECT n.id, n.customer_id, n.level, n.level_name, n.channel,
	       ar.render_template(t.subject, ar.dunning_placeholders(), v.vals) AS subject,
	       ar.render_template(t.body, ar.dunning_placeholders(), v.vals) AS body,
	       ar._line_ids(s.lines) || coalesce(ar._line_ids(rc.recent_lines), '{}') AS invoice_ids,
	       k.amount_due, s.penalties, %1$L::date AS as_of, n.company_id, n.currency, n.policy_id,
	       n.cycle, t.render_language AS language, n.recipient, s.interest, s.indemnity, n.fee, k.reply_by,
	       k.credits AS credits_set_off
	  FROM pg_temp.%2$I n
	  JOIN pg_temp.%3$I s ON s.customer_id = n.customer_id AND s.currency = n.currency
	  JOIN pg_temp.%4$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
	  -- the company's blocks and the words of each language, once each
	  JOIN (SELECT co.id, co.name, l.language, coalesce(ar.iban_format(co.iban), ar.letter_text('iban.missing', l.language)) AS iban,
	               ar.letter_sender(co.id, l.language) AS sender, ar.letter_legal_mentions(co.id, l.language) AS legal,
	               ar.letter_text('not_computed', l.language) AS unknown, ar.letter_text('word.and', l.language) AS word_and,
	               ar.letter_text('recent.heading', l.language) AS recent_heading
	          FROM ar.company co CROSS JOIN (SELECT DISTINCT render_language AS language FROM pg_temp.%4$I) l) co
	    ON co.id = n.company_id AND co.language = t.render_language
	  LEFT JOIN pg_temp.%5$I pv ON pv.customer_id = n.customer_id AND pv.currency = n.currency
	  LEFT JOIN pg_temp.%6$I rc ON rc.customer_id = n.customer_id AND rc.currency = n.currency
	 CROSS JOIN LATERAL (SELECT co.unknown, %1$L::date + n.delivery_days + n.reply_days AS reply_by,
	                            -- the credits set off: at most the open amounts listed (invoices
	                            -- never reminded before may have been left out since the decision)
	                            least(n.credits, s.amount_due) AS credits,
	                            -- what the notice claims: the open amounts listed less the credits set off
	                            s.amount_due - least(n.credits, s.amount_due) AS amount_due,
	                            -- the deduction, under the invoice table
	                            CASE WHEN least(n.credits, s.amount_due) > 0
	                                 THEN E'\n' || CASE t.render_language WHEN 'fr' THEN 'Avoirs et paiements non affectés : '
	                                                                       WHEN 'de' THEN 'Gutschriften und nicht zugeordnete Zahlungen: '
	                                                                       ELSE 'Credit notes and unapplied payments: ' END
	                                      || ar.format_money(-least(n.credits, s.amount_due), n.currency, t.render_language)
	                            END AS deduction) k
	 CROSS JOIN LATERAL (SELECT ARRAY[
	        n.customer_name, n.customer_code, co.name, co.iban,
	        ar.format_date(%1$L, t.render_language),
	        CASE WHEN k.deduction IS NULL
	             THEN ar._invoice_table(s.lines, n.currency, t.render_language, n.state_penalties AND s.penalties IS NOT NULL)
	             ELSE ar._invoice_table(s.lines, n.currency, t.render_language, n.state_penalties AND s.penalties IS NOT NULL)
	                  || k.deduction END,
	        s.invoice_count::text,
	        ar.format_money(k.amount_due, n.currency, t.render_language), n.currency::text,
	        coalesce(ar.format_money(s.interest, n.currency, t.render_language), k.unknown),
	        coalesce(ar.format_money(s.indemnity, n.currency, t.render_language), k.unknown),
	        coalesce(ar.format_money(s.penalties, n.currency, t.render_language), k.unknown),
	        ar.format_money(k.amount_due + coalesce(s.penalties, 0), n.currency, t.render_language),
	        ar.format_money(n.fee, n.currency, t.render_language),
	        ar.format_date(k.reply_by, t.render_language), n.reply_days::text,
	        CASE WHEN cardinality(pv.dates) > 1
	             THEN array_to_string(pv.dates[1:cardinality(pv.dates) - 1], ', ')
	                  || co.word_and || pv.dates[cardinality(pv.dates)]
	             ELSE coalesce(pv.dates[1], '') END,
	        n.level::text, n.level_name,
	        co.sender, co.legal,
	        CASE WHEN strpos(t.body, '{{customer_address}}') > 0 THEN ar.letter_recipient(n.customer_id, t.render_language) END,
	        -- the law and the rates applied, for the templates that state them
	        CASE WHEN strpos(t.body, '{{penalty_terms}}') > 0
	             THEN ar.penalty_terms(ar._line_ids(s.lines) || coalesce(ar._line_ids(rc.recent_lines), '{}'),
	                                   %1$L::date, t.render_language) END,
	        CASE WHEN cardinality(ar._line_ids(rc.recent_lines)) > 0
	             THEN E'\n' || co.recent_heading || E'\n\n'
	                  || ar._invoice_table(rc.recent_lines, n.currency, t.render_language,
	                                       n.state_penalties AND s.penalties IS NOT NULL) || E'\n'
	             ELSE '' END,
	        -- what a formal notice says of the next step, under the customer's regime
	        CASE WHEN strpos(t.body, '{{notice_law}}') > 0
	             THEN coalesce(ar.letter_text('notice_law.' || lower((SELECT coalesce(c.penalty_regime, 'FR_LME')
	                                                                  FROM ar.customer c WHERE c.id = n.customer_id)),
	                                          t.render_language),
	                           ar.letter_text('notice_law.default', t.render_language)) END] AS vals) v
	$q$, x, w_dec, w_acct, w_tpl, w_prev, w_recent);

	-- the store of the rows returned is opened (by this empty RETURN QUERY)
	-- under the caller's work_mem; the statements filling it run with the
	-- run's
	PERFORM set_config('work_mem', caller_work_mem, true);
	RETURN QUERY SELECT * FROM ar.dunning_notice WHERE false;
	PERFORM set_config('work_mem', run_work_mem, true);

	IF NOT real_run THEN
		RETURN QUERY EXECUTE format($q$
		SELECT NULL::bigint, o.customer_id, o.level, o.level_name, o.channel, o.subject, o.body, o.invoice_ids,
		       o.amount_due, o.penalties, 'queued'::text, o.as_of, now(), o.company_id, o.currency, o.policy_id,
		       o.cycle, o.language, o.recipient, o.interest, o.indemnity, o.fee, o.reply_by,
		       NULL::timestamptz, NULL::text, NULL::text, o.credits_set_off
		  FROM (%s) o
		 ORDER BY o.customer_id, o.currency
		$q$, out_query);
		RAISE DEBUG 'run_dunning rendered: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
		PERFORM set_config('work_mem', caller_work_mem, true);
		RETURN;
	END IF;

	-- queue: the notices (numbered by the decisions), each announced by
	-- NOTIFY ar_dunning with its id, and the accounts' new state (an update
	-- of the known accounts, an insert of the new ones).  The rows returned
	-- are those the INSERT wrote (the worker, which does not use them,
	-- turns them off: ar._worker_dunning).  The timeline
	-- (ar.customer_timeline) shows each queued notice from the outbox itself.
	-- No ON CONFLICT: the decisions exclude what the unique keys of the
	-- outbox forbid, under the run lock; a duplicate would be an error.
	out_query := format($q$
	INSERT INTO ar.dunning_notice AS dn (id, customer_id, level, level_name, channel, subject, body, invoice_ids,
	                                     amount_due, penalties, as_of, company_id, currency, policy_id, cycle,
	                                     language, recipient, interest, indemnity, fee, reply_by, credits_set_off)
	SELECT o.id, o.customer_id, o.level, o.level_name, o.channel, o.subject, ar._compress_letter(o.body), o.invoice_ids, o.amount_due,
	       o.penalties, o.as_of, o.company_id, o.currency, o.policy_id, o.cycle, o.language, o.recipient,
	       o.interest, o.indemnity, o.fee, o.reply_by, o.credits_set_off
	  FROM (%s) o
	$q$, out_query);
	IF coalesce(current_setting('ar_collect.dunning_return_rows', true), '') <> 'off' THEN
		RETURN QUERY EXECUTE out_query || ' RETURNING dn.*';
	ELSE
		EXECUTE out_query;
	END IF;
	EXECUTE format('SELECT count(*) FROM pg_temp.%I', w_dec) INTO queued;
	EXECUTE format($q$
	UPDATE ar.dunning_account a
	   SET cycle = d.cycle, level = d.level, last_notice_id = d.id, last_notice_on = $1, changed_on = $1, updated_at = now()
	  FROM pg_temp.%I d
	 WHERE d.known AND a.customer_id = d.customer_id AND a.currency = d.currency$q$, w_dec) USING x;
	EXECUTE format($q$
	INSERT INTO ar.dunning_account (customer_id, currency, cycle, level, last_notice_id, last_notice_on, changed_on)
	SELECT d.customer_id, d.currency, d.cycle, d.level, d.id, $1, $1 FROM pg_temp.%I d WHERE NOT d.known$q$, w_dec) USING x;
	EXECUTE format('SELECT count(pg_notify(''ar_dunning'', d.id::text)) FROM (SELECT d.id FROM pg_temp.%I d ORDER BY d.id) d',
	               w_dec);
	RAISE DEBUG 'run_dunning rendered, queued and notified: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	INSERT INTO ar.dunning_run (as_of, started_at, accounts, notices, cycles_closed, report)
	VALUES (x, started, accounts, queued, closed, report);
	PERFORM set_config('work_mem', caller_work_mem, true);
END $$;

-- ---------------------------------------------------------------- delivery

-- Only the delivery columns of a notice change, along the allowed paths:
-- queued -> sent | failed | cancelled, sent -> failed (bounced, returned).
CREATE FUNCTION ar._dunning_notice_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'dunning notice % cannot be deleted', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Notices are part of the customer''s history: mark it cancelled with ar.mark_notice().';
	END IF;
	IF (to_jsonb(NEW) - '{status,status_at,provider_ref,status_detail}'::text[])
	   IS DISTINCT FROM (to_jsonb(OLD) - '{status,status_at,provider_ref,status_detail}'::text[]) THEN
		RAISE EXCEPTION 'dunning notice % cannot be changed', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only its status, provider_ref and status_detail change, through ar.mark_notice().';
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		IF (OLD.status, NEW.status) NOT IN (('queued', 'sent'), ('queued', 'failed'), ('queued', 'cancelled'),
		                                    ('sent', 'failed')) THEN
			RAISE EXCEPTION 'dunning notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'queued -> sent, failed or cancelled; sent -> failed.';
		END IF;
		NEW.status_at := now();
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER dunning_notice_guard BEFORE UPDATE OR DELETE ON ar.dunning_notice
	FOR EACH ROW EXECUTE FUNCTION ar._dunning_notice_guard();
CREATE TRIGGER dunning_notice_no_truncate BEFORE TRUNCATE ON ar.dunning_notice
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- A status change is logged; a failed or cancelled notice no longer counts
-- as escalation (the level is tried again at the next run).
CREATE FUNCTION ar._dunning_notice_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, channel, summary, detail,
	                              proof_ref, notice_id)
	VALUES (NEW.company_id, NEW.customer_id, NEW.as_of, 'notice_' || NEW.status,
	        CASE WHEN NEW.channel = 'task' THEN 'internal' ELSE 'outbound' END, NEW.channel,
	        format('Level %s, %s, %s (%s)', NEW.level, NEW.level_name,
	               CASE NEW.status WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'not delivered' ELSE 'cancelled' END,
	               NEW.channel),
	        NEW.status_detail, NEW.provider_ref, NEW.id);
	IF NEW.status IN ('failed', 'cancelled') THEN
		PERFORM ar._dunning_account_refresh(NEW.customer_id, NEW.currency);
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER dunning_notice_status_changed AFTER UPDATE OF status ON ar.dunning_notice
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION ar._dunning_notice_status_changed();

-- What the external sender reports: sent (with its reference: message id,
-- registered letter number), failed (with the reason), or cancelled.
-- Marking a notice again with the status it has changes nothing.
CREATE FUNCTION ar.mark_notice(notice_id bigint, status text, provider_ref text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	n ar.dunning_notice;
BEGIN
	IF status IS NULL OR status NOT IN ('sent', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'a notice is marked sent, failed or cancelled, not %', coalesce('"' || status || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status = 'failed' AND coalesce(btrim(detail), '') = '' THEN
		RAISE EXCEPTION 'a failed delivery needs its reason in detail' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_company(d.company_id, 'collector') FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id;
	SELECT * INTO n FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dunning notice % does not exist', coalesce(notice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF n.status = mark_notice.status
	   AND (mark_notice.provider_ref IS NULL OR mark_notice.provider_ref IS NOT DISTINCT FROM n.provider_ref)
	   AND (mark_notice.detail IS NULL OR mark_notice.detail IS NOT DISTINCT FROM n.status_detail) THEN
		RETURN n;
	END IF;
	UPDATE ar.dunning_notice d
	   SET status = mark_notice.status,
	       provider_ref = coalesce(mark_notice.provider_ref, d.provider_ref),
	       status_detail = coalesce(mark_notice.detail, d.status_detail)
	 WHERE d.id = n.id
	RETURNING * INTO n;
	RETURN n;
END $$;

-- ------------------------------------------------------------------- views

-- One timeline per customer: the communications log, and each notice queued
-- (from the outbox itself: the notice row is the record of its queuing,
-- the run that queued it says by whom).
CREATE VIEW ar.customer_timeline AS
SELECT m.id, m.customer_id, c.code AS customer_code, c.name AS customer_name, m.occurred_at, m.as_of, m.kind,
       m.direction, m.channel, m.summary, m.detail, m.proof_ref, m.invoice_id, i.number AS invoice_number,
       m.notice_id, n.level AS notice_level, m.dispute_id, m.promise_id, m.plan_id, m.block_id,
       m.actor, m.role, m.via, m.recorded_at
  FROM ar.communication m
  JOIN ar.customer c ON c.id = m.customer_id
  LEFT JOIN ar.invoice i ON i.id = m.invoice_id
  LEFT JOIN ar.dunning_notice n ON n.id = m.notice_id
UNION ALL
SELECT NULL, n.customer_id, c.code, c.name, n.created_at, n.as_of, 'notice_queued',
       CASE WHEN n.channel = 'task' THEN 'internal' ELSE 'outbound' END, n.channel,
       'Level ' || n.level || ', ' || n.level_name || ', queued (' || n.channel || '): '
       || cardinality(n.invoice_ids) || ' invoice(s), ' || ar.format_money(n.amount_due, n.currency),
       n.subject, NULL, NULL, NULL, n.id, n.level, NULL, NULL, NULL, NULL,
       coalesce(r.run_by, 'unknown'), coalesce(r.run_role, 'none'), r.via, n.created_at
  FROM ar.dunning_notice n
  JOIN ar.customer c ON c.id = n.customer_id
  LEFT JOIN ar.dunning_run r ON r.as_of = n.as_of;

COMMENT ON VIEW ar.customer_timeline IS
	'Everything that happened with a customer in collections, one row per event: notices and their delivery, disputes, promises, payment plans, blocks, policy changes, and calls, letters and e-mails recorded by collectors. Order by occurred_at, id.';
COMMENT ON COLUMN ar.customer_timeline.id IS 'ar.communication.id (entries are append-only); NULL for a queued notice (see notice_id).';
COMMENT ON COLUMN ar.customer_timeline.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_timeline.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_timeline.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_timeline.occurred_at IS 'When it happened (for a recorded call: when the call took place).';
COMMENT ON COLUMN ar.customer_timeline.as_of IS 'Business date: run date of a notice, date given to a dispute, promise, plan or block.';
COMMENT ON COLUMN ar.customer_timeline.kind IS 'notice_queued, notice_sent, notice_failed, notice_cancelled, dispute_opened, dispute_resolved, promise, promise_kept, promise_broken, plan_created, plan_broken, plan_completed, plan_cancelled, block, block_lifted, policy, cycle_closed, or a manual kind (call, email, letter, registered_letter, sms, meeting, visit, note).';
COMMENT ON COLUMN ar.customer_timeline.direction IS 'inbound (from the customer), outbound (to the customer) or internal.';
COMMENT ON COLUMN ar.customer_timeline.channel IS 'email, sms, letter, registered_letter, task, call, meeting...';
COMMENT ON COLUMN ar.customer_timeline.summary IS 'One line saying what happened.';
COMMENT ON COLUMN ar.customer_timeline.detail IS 'More: subject of a queued notice, failure reason, invoices of a plan, notes of a call.';
COMMENT ON COLUMN ar.customer_timeline.proof_ref IS 'Proof reference: provider message id, registered letter number, document reference.';
COMMENT ON COLUMN ar.customer_timeline.invoice_id IS 'Invoice concerned, if one.';
COMMENT ON COLUMN ar.customer_timeline.invoice_number IS 'Its number.';
COMMENT ON COLUMN ar.customer_timeline.notice_id IS 'ar.dunning_notice.id, for notice events.';
COMMENT ON COLUMN ar.customer_timeline.notice_level IS 'Level of that notice.';
COMMENT ON COLUMN ar.customer_timeline.dispute_id IS 'ar.dispute.id, for dispute events.';
COMMENT ON COLUMN ar.customer_timeline.promise_id IS 'ar.payment_promise.id, for promise events.';
COMMENT ON COLUMN ar.customer_timeline.plan_id IS 'ar.payment_plan.id, for payment plan events.';
COMMENT ON COLUMN ar.customer_timeline.block_id IS 'ar.dunning_block.id, for block events.';
COMMENT ON COLUMN ar.customer_timeline.actor IS 'Database user who recorded it (session user).';
COMMENT ON COLUMN ar.customer_timeline.role IS 'Role in force (SET ROLE), none if none.';
COMMENT ON COLUMN ar.customer_timeline.via IS 'application_name of the session: "ar_collect worker" for the background worker.';
COMMENT ON COLUMN ar.customer_timeline.recorded_at IS 'When it was recorded.';

CREATE VIEW ar.dunning_summary AS
SELECT n.as_of, n.level, n.level_name, n.channel, n.status, n.currency,
       count(*) AS notices, count(DISTINCT n.customer_id) AS customers, sum(n.amount_due) AS amount_due,
       sum(n.penalties) AS penalties
  FROM ar.dunning_notice n
 GROUP BY n.as_of, n.level, n.level_name, n.channel, n.status, n.currency;

COMMENT ON VIEW ar.dunning_summary IS 'Notices per run date, level, channel, status and currency.';
COMMENT ON COLUMN ar.dunning_summary.as_of IS 'Run date that queued them.';
COMMENT ON COLUMN ar.dunning_summary.level IS 'Dunning level (0 courtesy reminder ... 5 legal handoff in FR_STANDARD).';
COMMENT ON COLUMN ar.dunning_summary.level_name IS 'Name of the level.';
COMMENT ON COLUMN ar.dunning_summary.channel IS 'email, sms, letter, registered_letter or task.';
COMMENT ON COLUMN ar.dunning_summary.status IS 'queued, sent, failed or cancelled.';
COMMENT ON COLUMN ar.dunning_summary.currency IS 'Currency of the amounts (never summed across currencies).';
COMMENT ON COLUMN ar.dunning_summary.notices IS 'Number of notices.';
COMMENT ON COLUMN ar.dunning_summary.customers IS 'Number of customers they went to.';
COMMENT ON COLUMN ar.dunning_summary.amount_due IS 'Sum of what they claimed: the open amounts they listed, less the credits set off.';
COMMENT ON COLUMN ar.dunning_summary.penalties IS 'Sum of the penalties accrued on the run date that they listed.';

-- ------------------------------------------------------------------ worker

-- What the background worker (src/worker.c) records: its state, one row,
-- and the history of its runs.
CREATE TABLE ar.worker_state (
	id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
	pid                   integer,
	backend_start         timestamptz,
	attached_at           timestamptz,
	naptime               integer,
	dunning_at            text,
	enabled               boolean,
	last_cycle_at         timestamptz,
	cycles                bigint NOT NULL DEFAULT 0,
	failed_cycles         bigint NOT NULL DEFAULT 0,
	last_error            text,
	last_error_at         timestamptz,
	last_dunning_on       date,
	last_dunning_notices  integer,
	last_reconcile_at     timestamptz,
	reconciled_lines      bigint NOT NULL DEFAULT 0,
	reconcile_watermark   bigint NOT NULL DEFAULT 0,
	rates_warned_on       date
);

CREATE TABLE ar.worker_run (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	kind         text NOT NULL CHECK (kind IN ('dunning', 'reconcile')),
	as_of        date,
	status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
	started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at  timestamptz,
	pid          integer NOT NULL DEFAULT pg_backend_pid(),
	result       jsonb,
	error        text
);
CREATE INDEX worker_run_running ON ar.worker_run (id) WHERE status = 'running';
CREATE INDEX worker_run_kind ON ar.worker_run (kind, started_at);

-- The worker starts serving the database: one worker per database (a
-- session advisory lock); runs left "running" by a previous process that
-- died are marked failed.  Returns 1, or 0 when another worker serves it.
CREATE FUNCTION ar._worker_attach(naptime integer, dunning_at text, enabled boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF NOT pg_try_advisory_lock(hashtext('ar_collect.worker')) THEN
		RETURN 0;
	END IF;
	UPDATE ar.worker_run r
	   SET status = 'failed', finished_at = now(),
	       error = format('the worker (pid %s) stopped before the end of the run: crash, kill or shutdown; nothing of the run was kept', r.pid)
	 WHERE r.status = 'running';
	INSERT INTO ar.worker_state AS s (id, pid, backend_start, attached_at, naptime, dunning_at, enabled)
	SELECT true, pg_backend_pid(), a.backend_start, now(), _worker_attach.naptime, _worker_attach.dunning_at,
	       _worker_attach.enabled
	  FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
	ON CONFLICT (id) DO UPDATE
	   SET pid = EXCLUDED.pid, backend_start = EXCLUDED.backend_start, attached_at = EXCLUDED.attached_at,
	       naptime = EXCLUDED.naptime, dunning_at = EXCLUDED.dunning_at, enabled = EXCLUDED.enabled;
	RETURN 1;
END $$;

CREATE FUNCTION ar._worker_settings(naptime integer, dunning_at text, enabled boolean) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	UPDATE ar.worker_state s
	   SET naptime = _worker_settings.naptime, dunning_at = _worker_settings.dunning_at, enabled = _worker_settings.enabled
	 WHERE s.pid = pg_backend_pid();
	SELECT 1::bigint;
$$;

-- A reconcile run when ar.reconcile(boolean) exists and unmatched bank lines
-- came in since the last one; NULL otherwise.
CREATE FUNCTION ar._worker_reconcile_due() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	newest bigint;
	run_id bigint;
BEGIN
	IF to_regprocedure('ar.reconcile(boolean)') IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT max(t.id) INTO newest
	  FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.id > coalesce((SELECT s.reconcile_watermark FROM ar.worker_state s), 0);
	IF newest IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, status, result) VALUES ('reconcile', 'running', jsonb_build_object('up_to_line', newest))
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;

-- A run the worker started, locked, or an error when it is no longer running.
CREATE FUNCTION ar._worker_run_running(run_id bigint) RETURNS ar.worker_run
LANGUAGE plpgsql AS $$
DECLARE
	r ar.worker_run;
BEGIN
	SELECT * INTO r FROM ar.worker_run w WHERE w.id = run_id AND w.status = 'running' FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'worker run % is not running', run_id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN r;
END $$;

CREATE FUNCTION ar._worker_reconcile(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	lines bigint;
	applied bigint;
BEGIN
	r := ar._worker_run_running(run_id);
	EXECUTE 'SELECT count(*), count(*) FILTER (WHERE applied) FROM ar.reconcile(true)' INTO lines, applied;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = w.result || jsonb_build_object('lines', lines, 'applied', applied)
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s
	   SET last_reconcile_at = now(), reconciled_lines = s.reconciled_lines + applied,
	       reconcile_watermark = greatest(s.reconcile_watermark, (r.result->>'up_to_line')::bigint);
	RETURN applied;
END $$;

-- A dunning run for today once the time of day is past dunning_at, when no
-- dunning has been run for today yet (by the worker or by hand); NULL
-- otherwise.  After downtime this is one run, for today.
CREATE FUNCTION ar._worker_dunning_due(dunning_at text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	run_id bigint;
BEGIN
	IF localtime < dunning_at::time OR EXISTS (SELECT 1 FROM ar.dunning_run d WHERE d.as_of = current_date) THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, as_of, status) VALUES ('dunning', current_date, 'running')
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;

-- The run and its notices commit together.
CREATE FUNCTION ar._worker_dunning(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	queued bigint;
	per_level jsonb;
BEGIN
	r := ar._worker_run_running(run_id);
	-- the notices stay in the outbox: no need to read them back
	PERFORM set_config('ar_collect.dunning_return_rows', 'off', true);
	PERFORM ar.run_dunning(r.as_of);
	PERFORM set_config('ar_collect.dunning_return_rows', 'on', true);
	SELECT coalesce(sum(c), 0), coalesce(jsonb_object_agg(level, c), '{}')
	  INTO queued, per_level
	  FROM (SELECT n.level, count(*) AS c FROM ar.dunning_notice n
	         WHERE n.as_of = r.as_of AND n.created_at = now() GROUP BY n.level) l;
	-- with the rows the run skipped (ar.batch_problem)
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = jsonb_build_object('notices', queued, 'per_level', per_level,
	                                   'skipped', (SELECT count(*) FROM ar.batch_problem p
	                                                WHERE p.batch = 'run_dunning' AND p.last_as_of = r.as_of
	                                                  AND p.last_seen_at = now()))
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s SET last_dunning_on = r.as_of, last_dunning_notices = queued;
	RETURN queued;
END $$;

CREATE FUNCTION ar._worker_run_failed(run_id bigint, error text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	UPDATE ar.worker_run w SET status = 'failed', finished_at = clock_timestamp(), error = _worker_run_failed.error
	 WHERE w.id = run_id AND w.status = 'running';
	SELECT 1::bigint;
$$;

CREATE FUNCTION ar._worker_cycle_done(ok boolean, error text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	UPDATE ar.worker_state s
	   SET last_cycle_at = now(), cycles = s.cycles + 1,
	       failed_cycles = s.failed_cycles + CASE WHEN ok THEN 0 ELSE 1 END,
	       last_error = coalesce(_worker_cycle_done.error, s.last_error),
	       last_error_at = CASE WHEN _worker_cycle_done.error IS NOT NULL THEN now() ELSE s.last_error_at END
	 WHERE s.pid = pg_backend_pid()
	RETURNING s.cycles;
$$;

CREATE FUNCTION ar._launch_worker() RETURNS integer
AS 'MODULE_PATHNAME', 'ar_launch_worker'
LANGUAGE C VOLATILE STRICT;

-- Starts the worker for this database without shared_preload_libraries (a
-- dynamic background worker, e.g. on hosted PostgreSQL).  Returns its pid;
-- the pid of the running one when a worker already serves the database.
CREATE FUNCTION ar.start_worker() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	running integer;
BEGIN
	SELECT a.pid INTO running FROM pg_stat_activity a
	 WHERE a.backend_type = 'ar_collect worker' AND a.datname = current_database()
	 ORDER BY a.backend_start LIMIT 1;
	IF running IS NOT NULL THEN
		RETURN running;
	END IF;
	RETURN ar._launch_worker();
END $$;

CREATE VIEW ar.worker_status AS
SELECT a.pid IS NOT NULL AS running, a.pid, a.backend_start AS started_at,
       coalesce(a.preloaded, false) AS preloaded, s.enabled, s.naptime, s.dunning_at,
       s.last_cycle_at, s.cycles, s.failed_cycles, s.last_error, s.last_error_at,
       s.last_dunning_on, s.last_dunning_notices,
       (SELECT max(d.as_of) FROM ar.dunning_run d) AS last_run_date,
       s.last_reconcile_at, s.reconciled_lines,
       (SELECT count(*) FROM ar.worker_run w WHERE w.status = 'succeeded') AS runs_succeeded,
       (SELECT count(*) FROM ar.worker_run w WHERE w.status = 'failed') AS runs_failed,
       (SELECT count(*) FROM ar.worker_run w WHERE w.status = 'running') AS runs_running
  FROM (SELECT 1) one
  LEFT JOIN ar.worker_state s ON true
  LEFT JOIN LATERAL (SELECT x.pid, x.backend_start,
                            current_setting('shared_preload_libraries') ~ '(^|[\s,])ar_collect([\s,]|$)' AS preloaded
                       FROM pg_stat_activity x
                      WHERE x.backend_type = 'ar_collect worker' AND x.datname = current_database()
                      ORDER BY x.backend_start LIMIT 1) a ON true;

COMMENT ON VIEW ar.worker_status IS 'The background worker of this database: is it running, its settings, its last cycle, dunning and error, and its run counts.';
COMMENT ON COLUMN ar.worker_status.running IS 'A worker is connected to this database now.';
COMMENT ON COLUMN ar.worker_status.pid IS 'Its process id (pg_stat_activity, backend_type "ar_collect worker").';
COMMENT ON COLUMN ar.worker_status.started_at IS 'When that process started.';
COMMENT ON COLUMN ar.worker_status.preloaded IS 'ar_collect is in shared_preload_libraries (else the worker was started by ar.start_worker()).';
COMMENT ON COLUMN ar.worker_status.enabled IS 'ar_collect.enabled as the worker last read it.';
COMMENT ON COLUMN ar.worker_status.naptime IS 'ar_collect.naptime (seconds between cycles) as the worker last read it.';
COMMENT ON COLUMN ar.worker_status.dunning_at IS 'ar_collect.dunning_at (time of day of the daily dunning) as the worker last read it.';
COMMENT ON COLUMN ar.worker_status.last_cycle_at IS 'End of its last cycle.';
COMMENT ON COLUMN ar.worker_status.cycles IS 'Cycles run since the extension was installed.';
COMMENT ON COLUMN ar.worker_status.failed_cycles IS 'Cycles in which a unit of work failed (tried again at the next cycle).';
COMMENT ON COLUMN ar.worker_status.last_error IS 'Last error of a unit of work (the server log has the details).';
COMMENT ON COLUMN ar.worker_status.last_error_at IS 'When it happened.';
COMMENT ON COLUMN ar.worker_status.last_dunning_on IS 'Run date of the last dunning the worker ran.';
COMMENT ON COLUMN ar.worker_status.last_dunning_notices IS 'Notices that run queued.';
COMMENT ON COLUMN ar.worker_status.last_run_date IS 'Last run date in ar.dunning_run, by the worker or by hand.';
COMMENT ON COLUMN ar.worker_status.last_reconcile_at IS 'Last reconciliation the worker ran.';
COMMENT ON COLUMN ar.worker_status.reconciled_lines IS 'Bank lines the worker''s reconciliations applied.';
COMMENT ON COLUMN ar.worker_status.runs_succeeded IS 'Runs in ar.worker_run that succeeded.';
COMMENT ON COLUMN ar.worker_status.runs_failed IS 'Runs in ar.worker_run that failed (error, or the worker died during the run).';
COMMENT ON COLUMN ar.worker_status.runs_running IS 'Runs in progress.';

-- ------------------------------------------------------ audit and grants

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['dunning_policy', 'dunning_level', 'dunning_template', 'dunning_segment_policy',
	                         'customer_dunning_policy', 'dispute', 'payment_promise', 'payment_plan',
	                         'payment_plan_invoice', 'payment_plan_instalment', 'dunning_block'] LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_row()',
		               t || '_audit', t);
	END LOOP;
	-- notices are recorded at queue time by the communications log; their
	-- delivery updates go to the audit trail
	CREATE TRIGGER dunning_notice_audit AFTER UPDATE OR DELETE ON ar.dunning_notice
		FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
	FOREACH t IN ARRAY ARRAY['dispute', 'payment_promise', 'payment_plan', 'payment_plan_invoice',
	                         'payment_plan_instalment', 'dunning_block', 'dunning_run'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;

-- open invoices of the past cancelled since a run date
CREATE INDEX invoice_cancelled_on ON ar.invoice (cancelled_on) WHERE cancelled_on IS NOT NULL;

GRANT SELECT ON ar.dunning_policy, ar.dunning_level, ar.dunning_template, ar.dunning_segment_policy,
                ar.customer_dunning_policy, ar.customer_policy, ar.dunning_notice, ar.dunning_account, ar.dunning_run,
                ar.dispute, ar.payment_promise, ar.payment_plan, ar.payment_plan_invoice, ar.payment_plan_instalment,
                ar.dunning_block, ar.communication, ar.customer_timeline, ar.dunning_summary,
                ar.worker_state, ar.worker_run, ar.worker_status
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.payment_plan_schedule(bigint, date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.run_dunning(date, boolean), ar.mark_notice(bigint, text, text, text),
                          ar.open_dispute(bigint, text, date), ar.resolve_dispute(bigint, text, date),
                          ar.promise_to_pay(bigint, date, numeric, date),
                          ar.create_payment_plan(bigint, bigint[], date[], numeric[], date, integer, text),
                          ar.cancel_payment_plan(bigint, text, date),
                          ar.block_dunning(bigint, date, text, date), ar.unblock_dunning(bigint, text, date),
                          ar.log_interaction(bigint, text, text, text, text, timestamptz, bigint, text)
	TO ar_collector;
GRANT INSERT, UPDATE, DELETE ON ar.dunning_policy, ar.dunning_level, ar.dunning_template, ar.dunning_segment_policy
	TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.set_dunning_policy(bigint, text), ar.start_worker() TO ar_admin;

-- pg_dump keeps the configuration users add (not the shipped FR_STANDARD,
-- which CREATE EXTENSION makes again) and every record of collections.
SELECT pg_catalog.pg_extension_config_dump('ar.dunning_policy', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.dunning_level', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.dunning_template', 'WHERE NOT shipped');
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['dunning_segment_policy', 'customer_dunning_policy', 'dispute', 'payment_promise',
	                         'payment_plan', 'payment_plan_invoice', 'payment_plan_instalment', 'dunning_block',
	                         'dunning_notice', 'dunning_account', 'dunning_run', 'communication'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['dunning_policy', 'dunning_template', 'dispute', 'payment_promise', 'payment_plan',
	                         'payment_plan_invoice', 'payment_plan_instalment', 'dunning_block', 'dunning_notice',
	                         'communication'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;

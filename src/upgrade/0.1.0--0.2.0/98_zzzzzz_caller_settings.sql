-- ---------------------------------------------------------------------------
-- The caller's standard_conforming_strings and DateStyle do not change what
-- a function does (doc/security.md, test/pgtap/caller_settings.sql): no
-- backslash in a plain '...' literal of a function body (re-parsed at run
-- time under the caller's setting), written E'...' instead; dates in
-- messages written ISO.  The install pieces of these functions are not
-- pieces of this upgrade: each definition as it stands, the old text
-- replaced by the new one (an old text not found is an error).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
	f regprocedure;
	old_text text;
	new_text text;
BEGIN
	FOR f, old_text, new_text IN VALUES
		('ar.template_placeholders(text)',
		 $o$regexp_matches(template, '\{\{([a-z0-9_]{1,63})\}\}', 'g')$o$,
		 $n$regexp_matches(template, E'\\{\\{([a-z0-9_]{1,63})\\}\\}', 'g')$n$),
		('ar.resolve_dispute(bigint,text,date)',
		 $o$it cannot be resolved on %', d.id, d.opened_on, resolved_on$o$,
		 $n$it cannot be resolved on %', d.id, to_char(d.opened_on, 'YYYY-MM-DD'), to_char(resolved_on, 'YYYY-MM-DD')$n$),
		('ar.create_payment_plan(bigint,bigint[],date[],numeric[],date,integer,text)',
		 $o$not after instalment % (%)', i, due_dates[i], i - 1, due_dates[i - 1]$o$,
		 $n$not after instalment % (%)', i, to_char(due_dates[i], 'YYYY-MM-DD'), i - 1, to_char(due_dates[i - 1], 'YYYY-MM-DD')$n$),
		('ar.create_payment_plan(bigint,bigint[],date[],numeric[],date,integer,text)',
		 $o$after its first instalment (%)', starts_on, due_dates[1]$o$,
		 $n$after its first instalment (%)', to_char(starts_on, 'YYYY-MM-DD'), to_char(due_dates[1], 'YYYY-MM-DD')$n$),
		('ar.block_dunning(bigint,date,text,date)',
		 $o$must end after it, not on %', from_on, until USING$o$,
		 $n$must end after it, not on %', to_char(from_on, 'YYYY-MM-DD'), to_char(until, 'YYYY-MM-DD') USING$n$),
		('ar.block_dunning(bigint,date,text,date)',
		 $o$format('Dunning blocked%s until %s: %s', ' from ' || from_on, until, reason)$o$,
		 $n$format('Dunning blocked%s until %s: %s', ' from ' || to_char(from_on, 'YYYY-MM-DD'),
	               CASE WHEN isfinite(until) THEN to_char(until, 'YYYY-MM-DD') ELSE until::text END, reason)$n$),
		('ar.unblock_dunning(bigint,text,date)',
		 $o$format('Dunning block %s lifted%s: %s', b.id, ' on ' || lifted_on, reason)$o$,
		 $n$format('Dunning block %s lifted%s: %s', b.id, ' on ' || to_char(lifted_on, 'YYYY-MM-DD'), reason)$n$),
		('ar.check_payment_terms(date,date,text)',
		 $o$RETURN format('due date %s is before the issue date %s', due_date, issue_date);$o$,
		 $n$RETURN format('due date %s is before the issue date %s', to_char(due_date, 'YYYY-MM-DD'), to_char(issue_date, 'YYYY-MM-DD'));$n$),
		('ar.check_payment_terms(date,date,text)',
		 $o$	              due_date - issue_date, issue_date, due_date, r.regime, r.terms_reference, r.terms_rule, latest);$o$,
		 $n$	              due_date - issue_date, to_char(issue_date, 'YYYY-MM-DD'), to_char(due_date, 'YYYY-MM-DD'), r.regime,
	              r.terms_reference, r.terms_rule, to_char(latest, 'YYYY-MM-DD'));$n$),
		('ar._invoice_penalty_rate_check()',
		 $o$NEW.penalty_rate, NEW.number, lawful, NEW.issue_date$o$,
		 $n$NEW.penalty_rate, NEW.number, lawful, to_char(NEW.issue_date, 'YYYY-MM-DD')$n$)
	LOOP
		PERFORM ar._upgrade_replace_in_function(f, old_text, new_text);
	END LOOP;
END $$;

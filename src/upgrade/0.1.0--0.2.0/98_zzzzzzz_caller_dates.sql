-- ---------------------------------------------------------------------------
-- Dates in the messages and texts of three 0.1.0 functions written ISO
-- whatever the caller's DateStyle (as 98_zzzzzz_caller_settings.sql does
-- for the others; test/pgtap/caller_settings.sql): their install pieces are
-- not pieces of this upgrade, so each old text is replaced by the new one
-- (an old text not found is an error).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
	f regprocedure;
	old_text text;
	new_text text;
BEGIN
	FOR f, old_text, new_text IN VALUES
		('ar.check_payment_terms(date,date,text)',
		 $o$RETURN format('due date %s is before the issue date %s', due_date, issue_date);$o$,
		 $n$RETURN format('due date %s is before the issue date %s', to_char(due_date, 'YYYY-MM-DD'), to_char(issue_date, 'YYYY-MM-DD'));$n$),
		('ar.check_payment_terms(date,date,text)',
		 $o$	              due_date - issue_date, issue_date, due_date, r.regime, r.terms_reference, r.terms_rule, latest);$o$,
		 $n$	              due_date - issue_date, to_char(issue_date, 'YYYY-MM-DD'), to_char(due_date, 'YYYY-MM-DD'), r.regime,
	              r.terms_reference, r.terms_rule, to_char(latest, 'YYYY-MM-DD'));$n$),
		('ar._invoice_penalty_rate_check()',
		 $o$NEW.penalty_rate, NEW.number, lawful, NEW.issue_date$o$,
		 $n$NEW.penalty_rate, NEW.number, lawful, to_char(NEW.issue_date, 'YYYY-MM-DD')$n$) LOOP
		PERFORM ar._upgrade_replace_in_function(f, old_text, new_text);
	END LOOP;
END $$;

-- ---------------------------------------------------------------------------
-- ar_demo: a reproducible, realistic French / European B2B receivables
-- ledger for the demo, the benchmarks and the tests.  Not part of the
-- extension; load it into a database where ar_collect is installed:
--   \i demo/generate.sql
--   SELECT * FROM ar_demo.generate();                 -- 2,000 customers, 60,000 documents
--   SELECT * FROM ar_demo.generate(50, 1000, seed => 0.7);
-- The data enters through the ledger's own doors (INSERT into ar.customer
-- and ar.invoice, ar.apply_credit_note, ar.record_payment), so triggers,
-- invariants and the audit trail apply as for any client.
-- Reloading this file drops the schema ar_demo (the ledger is untouched).
-- ---------------------------------------------------------------------------

DROP SCHEMA IF EXISTS ar_demo CASCADE;
CREATE SCHEMA ar_demo;
COMMENT ON SCHEMA ar_demo IS 'demo data generator of ar_collect (demo/generate.sql); not part of the extension';

-- Where customers come from and the words their names are made of.  A name
-- is a pattern ({a} activity, {s} surname, {c} city) plus a legal form.
CREATE TABLE ar_demo.country (
	country       text PRIMARY KEY,
	ord           integer NOT NULL UNIQUE,   -- fixes the order of the weighted draw
	share         numeric NOT NULL,          -- share of customers
	currency      char(3) NOT NULL,          -- local currency of its invoices
	languages     text[] NOT NULL,
	phone_format  text NOT NULL,             -- '#' = a digit
	tld           text NOT NULL,
	patterns      text[] NOT NULL,
	surnames      text[] NOT NULL,
	activities    text[] NOT NULL,
	forms         text[] NOT NULL,
	cities        text[] NOT NULL
);

INSERT INTO ar_demo.country VALUES
('FR', 1, 0.70, 'EUR', '{fr}', '+33 # ## ## ## ##', 'fr',
 '{"{a} {s}","{a} {s}","{a} {s} & Fils","{a} {s} Frères","{a} de {c}","Groupe {s}","Établissements {s}","{s} {a}"}',
 '{Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,Laurent,Lefèvre,Michel,Garnier,Fournier,Girard,Bonnet,Dupont,Lambert,Fontaine,Rousseau,Vincent,Faure,Blanc,Guérin,Boyer,Chevalier,Perrin,Morel,Mercier,Roux,Lemaire,Caron,Gauthier,Masson,Marchand,Duval,Denis,Brun,Picard,Renaud,Lacroix,Clément,Meunier,Barbier,Arnaud,Roussel,Colin,Lemoine}',
 '{Transports,Boulangerie,Menuiserie,Imprimerie,Garage,Plomberie,Électricité,Maçonnerie,Pharmacie,Laboratoires,Cabinet,Charpente,Carrosserie,Distribution,Négoce,Fromagerie,Vins,Informatique,Conseil,Nettoyage,Peinture,Chaudronnerie,Emballages,Ambulances,Paysages,Optique,Quincaillerie,Métallerie,Agencement,Logistique}',
 '{SARL,SARL,SAS,SAS,SAS,SA,EURL,SASU}',
 '{Lyon,Bordeaux,Nantes,Lille,Rennes,Toulouse,Marseille,Grenoble,Dijon,Reims,Rouen,Metz,Tours,Brest,Nice,Strasbourg,Limoges,Poitiers,Nancy,Caen,Chartres,Valence,Niort,Quimper,Vannes,Colmar}'),
('BE', 2, 0.06, 'EUR', '{fr,fr,en}', '+32 # ### ## ##', 'be',
 '{"{s} {a}","{a} {s}","{a} {c}"}',
 '{Peeters,Janssens,Maes,Jacobs,Mertens,Willems,Claes,Goossens,Wouters,De Smet,Dubois,Lambert,Dupont,Leclercq,Renard,Lejeune,Hermans,Michiels}',
 '{Transport,Bouw,Techniek,Distribution,Immo,Brasserie,Chocolaterie,Logistics,Construct,Services,Elektro,Métal}',
 '{SRL,SRL,SA,BV,BV,NV}',
 '{Bruxelles,Liège,Namur,Gent,Antwerpen,Charleroi,Mons,Leuven,Brugge}'),
('DE', 3, 0.06, 'EUR', '{de}', '+49 ## #######', 'de',
 '{"{s} {a}","{a} {s}","{s} & Söhne","{c}er {a}"}',
 '{Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,Koch,Bauer,Richter,Klein,Wolf,Schröder,Neumann,Schwarz,Zimmermann,Braun,Krüger,Hartmann,Lange,Werner}',
 '{Logistik,Maschinenbau,Elektrotechnik,Bau,Handel,Metallbau,Druckerei,Spedition,Haustechnik,Holzbau,Automation,Verpackung,Antriebstechnik,Feinmechanik}',
 '{GmbH,GmbH,GmbH,AG,KG,"GmbH & Co. KG",e.K.}',
 '{Berlin,Hamburg,Köln,Stuttgart,Leipzig,Frankfurt,Nürnberg,Augsburg,Freiburg,Mannheim}'),
('ES', 4, 0.04, 'EUR', '{en}', '+34 ### ### ###', 'es',
 '{"{a} {s}","{a} {c}","Hijos de {s}"}',
 '{García,Fernández,González,Rodríguez,López,Martínez,Sánchez,Pérez,Gómez,Martín,Jiménez,Ruiz,Hernández,Díaz,Moreno,Álvarez,Romero,Navarro}',
 '{Construcciones,Transportes,Distribuciones,Suministros,Ingeniería,Instalaciones,Talleres,Comercial,Logística}',
 '{SL,SL,SA,SLU}',
 '{Madrid,Barcelona,Valencia,Sevilla,Bilbao,Zaragoza,Málaga,Murcia}'),
('IT', 5, 0.04, 'EUR', '{en}', '+39 0# #### ####', 'it',
 '{"{a} {s}","{s} {a}","{a} {c}"}',
 '{Rossi,Russo,Ferrari,Esposito,Bianchi,Romano,Colombo,Ricci,Marino,Greco,Bruno,Gallo,Conti,De Luca,Costa,Giordano,Mancini,Rizzo,Lombardi,Moretti}',
 '{Meccanica,Costruzioni,Trasporti,Forniture,Impianti,Tessile,Arredamenti,Serramenti,Elettronica,Alimentari,Logistica}',
 '{S.r.l.,S.r.l.,S.p.A.,S.n.c.}',
 '{Milano,Torino,Bologna,Verona,Brescia,Padova,Firenze,Bergamo}'),
('NL', 6, 0.03, 'EUR', '{en}', '+31 ## ### ####', 'nl',
 '{"{s} {a}","{a} {s}","{a} {c}"}',
 '{De Jong,Jansen,De Vries,Van den Berg,Van Dijk,Bakker,Visser,Smit,Meijer,De Boer,Mulder,De Groot,Bos,Vos,Hendriks,Dekker}',
 '{Techniek,Logistiek,Bouw,Groothandel,Installatietechniek,Transport,Metaal,Verpakkingen}',
 '{B.V.,B.V.,B.V.,N.V.,V.O.F.}',
 '{Amsterdam,Rotterdam,Utrecht,Eindhoven,Tilburg,Groningen,Breda}'),
('LU', 7, 0.02, 'EUR', '{fr,de}', '+352 ## ## ## ##', 'lu',
 '{"{a} {s}","{s} & Fils","{a} {c}"}',
 '{Schmit,Muller,Weber,Wagner,Hoffmann,Thill,Kieffer,Reuter,Schiltz,Klein,Hansen,Becker,Majerus,Kremer}',
 '{Transports,Constructions,Services,Menuiserie,Fiduciaire,Garage,Carrelages,Électricité}',
 '{"S.à r.l.","S.à r.l.",SA,SARL-S}',
 '{Luxembourg,Esch,Differdange,Dudelange,Ettelbruck}'),
('GB', 8, 0.02, 'GBP', '{en}', '+44 20 #### ####', 'co.uk',
 '{"{s} {a}","{s} & Sons","{c} {a}"}',
 '{Smith,Jones,Taylor,Brown,Williams,Wilson,Johnson,Davies,Robinson,Wright,Thompson,Evans,Walker,White,Roberts,Green,Hall,Wood}',
 '{Engineering,Logistics,Supplies,Consulting,Trading,Packaging,Electrical,Construction,Foods,Print}',
 '{Ltd,Ltd,Ltd,PLC,LLP}',
 '{London,Manchester,Bristol,Leeds,Sheffield,Glasgow,Birmingham}'),
('CH', 9, 0.02, 'CHF', '{fr,de}', '+41 ## ### ## ##', 'ch',
 '{"{s} {a}","{a} {s}","{a} {c}"}',
 '{Müller,Meier,Schmid,Keller,Weber,Huber,Schneider,Favre,Rochat,Bonvin,Gerber,Brunner,Baumann,Frei,Moser}',
 '{Technik,Bau,Präzision,Transports,Horlogerie,Ingénierie,Treuhand,Logistik}',
 '{AG,AG,SA,GmbH,Sàrl}',
 '{Zürich,Genève,Basel,Lausanne,Bern,Luzern}'),
('US', 10, 0.01, 'USD', '{en}', '+1 ### ### ####', 'com',
 '{"{s} {a}","{c} {a}"}',
 '{Miller,Johnson,Davis,Anderson,Clark,Lewis,Walker,Young,Allen,King,Scott,Baker,Carter,Mitchell}',
 '{Industries,Systems,Supply,Logistics,Technologies,Manufacturing,Holdings,Solutions}',
 '{Inc.,Inc.,LLC,Corp.}',
 '{Boston,Chicago,Dallas,Denver,Atlanta,Seattle,Houston,Phoenix}');

-- The hidden truth behind the ledger, for analytics to be measured against:
-- each customer's payment behaviour (the values ar.customer.segment uses)
-- and terms, and every payment planned, including those after as_of.
-- How a customer pays (see ar_demo.planned_delay): its accounts-payable
-- department makes an invoice payable lag_days after its due date (plus
-- drift), then pays it at its next payment run.
CREATE TABLE ar_demo.customer_profile (
	customer_code       text PRIMARY KEY,
	behaviour           text NOT NULL CHECK (behaviour IN ('punctual', 'occasional_late', 'chronic_late', 'high_risk')),
	payment_terms       text NOT NULL CHECK (payment_terms IN ('30 days', '45 days end of month', '60 days')),
	pay_calendar        text NOT NULL CHECK (pay_calendar IN ('any_day', 'weekly', 'monthly', 'twice_monthly')),
	run_days            integer[],         -- monthly runs: days of the month (31: the last day)
	run_weekday         integer,           -- weekly run: ISO day of week
	reminder_level      integer,           -- late payers: waits for this reminder (FR_STANDARD level)
	lag_days            integer NOT NULL,  -- payable this many days after the due date (after the
	                                       -- reminder for late payers), at the start
	drift_per_year      numeric NOT NULL,  -- lag_days change per year (deteriorating > 0, improving < 0)
	closes_in_august    boolean NOT NULL,  -- nothing paid August 1-24
	closes_at_christmas boolean NOT NULL,  -- nothing paid December 22 - January 3
	approval_above      numeric            -- invoices above this amount wait for an approval
);

CREATE TABLE ar_demo.payment_plan (
	invoice_number  text NOT NULL,
	installment     integer NOT NULL,
	planned_on      date NOT NULL,
	share           numeric,           -- share of the open amount paid; NULL: the whole balance
	overpay         numeric NOT NULL,  -- paid beyond the balance (becomes customer credit)
	method          text NOT NULL,
	PRIMARY KEY (invoice_number, installment)
);

-- One row per call of ar_demo.generate(): what the report and benchmarks read.
CREATE TABLE ar_demo.generation (
	id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customers     integer NOT NULL,
	invoices      integer NOT NULL,
	months        integer NOT NULL,
	seed          double precision NOT NULL,
	as_of         date NOT NULL,
	elapsed       interval NOT NULL,         -- inside the function: sealing the audit trail at commit comes on top
	generated_at  timestamptz NOT NULL DEFAULT now()
);

-- Replaces each '#' of pattern by the next digit of digits.
CREATE FUNCTION ar_demo.fill_digits(pattern text, digits text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	result text := '';
	used integer := 0;
	ch text;
BEGIN
	FOREACH ch IN ARRAY regexp_split_to_array(pattern, '') LOOP
		IF ch = '#' THEN
			used := used + 1;
			result := result || substr(digits, used, 1);
		ELSE
			result := result || ch;
		END IF;
	END LOOP;
	RETURN result;
END $$;

-- A company name as a mail domain label: 'Électricité Lefèvre' -> 'electricite-lefevre'.
CREATE FUNCTION ar_demo.slug(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT btrim(regexp_replace(lower(translate(replace(replace(name, 'ß', 'ss'), '&', ' '),
	                                            'àâäáãåçéèêëíìîïñóòôöúùûüÀÂÄÁÇÉÈÊËÍÎÏÑÓÔÖÚÙÛÜ',
	                                            'aaaaaaceeeeiiiinoooouuuuAAAACEEEEIIINOOOUUUU')),
	                            '[^a-z0-9]+', '-', 'g'), '-')
$$;

-- The first payment run on or after day x of a customer paying on a
-- calendar: any working day, one weekday a week, or fixed days of the
-- month (31: the last day).  A run falling on a weekend is made on the
-- Friday before it, as treasury departments do.
CREATE FUNCTION ar_demo.run_day(month_start date, day integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT d - CASE extract(isodow FROM d) WHEN 6 THEN 1 WHEN 7 THEN 2 ELSE 0 END
	  FROM (SELECT least(month_start + (day - 1), (month_start + interval '1 month - 1 day')::date) AS d) x
$$;

CREATE FUNCTION ar_demo.next_run(x date, calendar text, run_days integer[], run_weekday integer) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	m date := date_trunc('month', x)::date;
	best date;
	d integer;
	c date;
BEGIN
	IF calendar = 'weekly' THEN
		RETURN x + (run_weekday - extract(isodow FROM x)::integer + 7) % 7;
	ELSIF calendar IN ('monthly', 'twice_monthly') THEN
		FOREACH d IN ARRAY run_days LOOP
			c := ar_demo.run_day(m, d);
			IF c < x THEN
				c := ar_demo.run_day((m + interval '1 month')::date, d);
			END IF;
			IF best IS NULL OR c < best THEN
				best := c;
			END IF;
		END LOOP;
		RETURN best;
	END IF;
	-- any working day
	RETURN x + CASE extract(isodow FROM x) WHEN 6 THEN 2 WHEN 7 THEN 1 ELSE 0 END;
END $$;

-- Days between the due date and the (last) payment of an invoice, from the
-- customer's habits and the invoice's own draws r_*, each in [0, 1).  These
-- are the effects a credit manager sees in real ledgers:
--   reminders: chronic late and high-risk payers wait for a reminder of the
--     company (FR_STANDARD offsets: 15, 30, 45, 60 days after the due date),
--     usually the same level, one earlier for 15% of invoices, one later for
--     25%, and pay lag_days after it;
--   lag and drift: the customer makes an invoice payable lag_days after its
--     due date (at the earliest 5 days after its issue date: received,
--     checked, booked); some customers deteriorate or improve over the two
--     years (drift_per_year, proportional to the issue date);
--   approval: an invoice above approval_above (3 times the customer's usual
--     size, for half of the customers) waits 5-25 more days;
--   mishaps: a share of invoices (4% of punctual payers', 12-20% of the
--     others') is mislaid, queried or disputed: 5-40 more days;
--   payment runs: the payment leaves at the first run on or after that day
--     (so its delay depends on where the due date falls in the month or the
--     week); payers without runs pay any working day, give or take 2 days;
--   holidays: customers closed in August (60% of French ones, 30% of the
--     others) make no payment run on August 1-24 (the first comes 0-4 days
--     after August 25); half of all customers are closed December 22 -
--     January 3 (the first run 0-3 days after January 4).
-- What remains random (mishaps and their length, the jitter, the approval
-- and holiday days, the reminder awaited) keeps the best possible
-- prediction well below perfect: ar_demo.model_ceiling measures it.
CREATE FUNCTION ar_demo.planned_delay(p ar_demo.customer_profile, first_day date, issue_date date, due_date date,
                                      amount numeric, r_mishap double precision, r_mishap_days double precision,
                                      r_jitter double precision, r_approval_days double precision,
                                      r_holiday_days double precision, r_reminder double precision)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	payable date := due_date + p.lag_days + round(p.drift_per_year * (issue_date - first_day) / 365.0)::integer;
	paid date;
	level integer;
BEGIN
	IF p.reminder_level IS NOT NULL THEN
		-- the reminder it waits for this time: its usual one, one earlier or one later
		level := least(greatest(p.reminder_level + CASE WHEN r_reminder < 0.15 THEN -1 WHEN r_reminder >= 0.75 THEN 1 ELSE 0 END,
		                        2), 5);
		payable := payable + (ARRAY[3, 15, 30, 45, 60])[level];
	END IF;
	IF p.approval_above IS NOT NULL AND amount > p.approval_above THEN
		payable := payable + 5 + floor(r_approval_days * 21)::integer;
	END IF;
	IF r_mishap < (CASE p.behaviour WHEN 'punctual' THEN 0.04 WHEN 'occasional_late' THEN 0.15
	                                WHEN 'chronic_late' THEN 0.12 ELSE 0.20 END) THEN
		payable := payable + 5 + floor(r_mishap_days * 36)::integer;
	END IF;
	IF p.pay_calendar = 'any_day' THEN
		payable := payable - 2 + floor(r_jitter * 5)::integer;
	END IF;
	-- an invoice has to be received, checked and booked first
	payable := greatest(payable, issue_date + 5);
	paid := ar_demo.next_run(payable, p.pay_calendar, p.run_days, p.run_weekday);
	-- no payment run while the customer is closed: the first one after it
	IF p.closes_in_august AND extract(month FROM paid) = 8 AND extract(day FROM paid) <= 24 THEN
		paid := ar_demo.next_run(make_date(extract(year FROM paid)::integer, 8, 25) + floor(r_holiday_days * 5)::integer,
		                         p.pay_calendar, p.run_days, p.run_weekday);
	ELSIF p.closes_at_christmas AND ((extract(month FROM paid) = 12 AND extract(day FROM paid) >= 22)
	                                 OR (extract(month FROM paid) = 1 AND extract(day FROM paid) <= 3)) THEN
		paid := ar_demo.next_run(make_date(extract(year FROM paid + 10)::integer, 1, 4) + floor(r_holiday_days * 4)::integer,
		                         p.pay_calendar, p.run_days, p.run_weekday);
	END IF;
	RETURN paid - due_date;
END $$;

CREATE FUNCTION ar_demo.generate(customers integer DEFAULT 2000, invoices integer DEFAULT 60000,
                                 months integer DEFAULT 24, seed double precision DEFAULT 0.42,
                                 as_of date DEFAULT DATE '2026-11-20')
RETURNS TABLE (item text, count bigint)
LANGUAGE plpgsql
-- random() must be drawn in one fixed order: no parallel plans
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
	started timestamptz := clock_timestamp();
	company bigint := ar.default_company();
	first_day date := (as_of - make_interval(months => months))::date;
	ev record;
	open_now numeric;
	paid numeric;
	payments bigint := 0;
	credits bigint := 0;
	target bigint;
BEGIN
	IF customers < 1 OR invoices < 1 OR months < 1 THEN
		RAISE EXCEPTION 'customers, invoices and months must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM ar.customer c WHERE c.company_id = company AND c.code ~ '^C[0-9]{5,}$')
	   OR EXISTS (SELECT 1 FROM ar.invoice i WHERE i.company_id = company AND i.number ~ '^(FA|AV)-[0-9]{4}-[0-9]{6,}$') THEN
		RAISE EXCEPTION 'the ledger already holds demo customers or invoices'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Generate into a fresh database (DROP EXTENSION ar_collect CASCADE; CREATE EXTENSION ar_collect).';
	END IF;
	-- rows left by a ledger that has been dropped since
	DELETE FROM ar_demo.customer_profile;
	DELETE FROM ar_demo.payment_plan;

	PERFORM setseed(seed);

	-- Every random draw happens in the two scans of generate_series below, in
	-- row order; everything after them is a deterministic function of the draws.
	CREATE TEMP TABLE demo_customer_draw AS
	SELECT n, random() AS r_country, random() AS r_language, random() AS r_pattern, random() AS r_surname,
	       random() AS r_activity, random() AS r_form, random() AS r_city, random() AS r_behaviour,
	       random() AS r_volume, random() AS r_terms, 1 - random() AS r_size1, random() AS r_size2,
	       (1000000000 + floor(random() * 9000000000))::bigint::text AS digits
	  FROM generate_series(1, customers) n
	 ORDER BY n;

	CREATE TEMP TABLE demo_document_draw AS
	SELECT g, random() AS r_customer, random() AS r_date, 1 - random() AS r_amount1, random() AS r_amount2,
	       random() AS r_credit_note, random() AS r_credit_share, random() AS r_credit_days,
	       random() AS r_currency, random() AS r_reference, random() AS r_late, random() AS r_delay,
	       random() AS r_split, random() AS r_share, random() AS r_abandon, random() AS r_overpay,
	       random() AS r_overpay_amount, random() AS r_method
	  FROM generate_series(1, invoices) g
	 ORDER BY g;

	-- Payment habits and each invoice's payment draws come after (the
	-- customers and documents above do not depend on them).
	CREATE TEMP TABLE demo_habit_draw AS
	SELECT n, random() AS r_calendar, random() AS r_run_day, random() AS r_lag, random() AS r_drift,
	       random() AS r_drift_size, random() AS r_august, random() AS r_christmas, random() AS r_approval,
	       random() AS r_reminder
	  FROM generate_series(1, customers) n
	 ORDER BY n;

	CREATE TEMP TABLE demo_payment_draw AS
	SELECT g, random() AS r_mishap, random() AS r_mishap_days, random() AS r_jitter, random() AS r_approval_days,
	       random() AS r_holiday_days, random() AS r_reminder
	  FROM generate_series(1, invoices) g
	 ORDER BY g;

	-- Customers.  Volumes follow a Pareto law (a few big accounts); each
	-- customer has its own typical invoice size, larger for bigger accounts.
	CREATE TEMP TABLE demo_customer AS
	WITH country AS (
		SELECT c.*, sum(c.share) OVER (ORDER BY c.ord) / sum(c.share) OVER () AS upto
		  FROM ar_demo.country c
	), named AS (
		SELECT d.n, 'C' || lpad(d.n::text, greatest(5, length(d.n::text)), '0') AS code,
		       c.country, c.currency, c.tld, c.forms[1 + floor(d.r_form * cardinality(c.forms))::int] AS form,
		       c.cities, floor(d.r_city * cardinality(c.cities))::int AS city_index,
		       c.languages[1 + floor(d.r_language * cardinality(c.languages))::int] AS language,
		       ar_demo.fill_digits(c.phone_format, d.digits) AS phone,
		       replace(replace(replace(c.patterns[1 + floor(d.r_pattern * cardinality(c.patterns))::int],
		                               '{a}', c.activities[1 + floor(d.r_activity * cardinality(c.activities))::int]),
		                       '{s}', c.surnames[1 + floor(d.r_surname * cardinality(c.surnames))::int]),
		               '{c}', c.cities[1 + floor(d.r_city * cardinality(c.cities))::int]) AS core,
		       CASE WHEN d.r_behaviour < 0.45 THEN 'punctual'
		            WHEN d.r_behaviour < 0.75 THEN 'occasional_late'
		            WHEN d.r_behaviour < 0.93 THEN 'chronic_late'
		            ELSE 'high_risk' END AS behaviour,
		       CASE WHEN d.r_terms < 0.5 THEN '30 days'
		            WHEN d.r_terms < 0.8 THEN '45 days end of month'
		            ELSE '60 days' END AS payment_terms,
		       least(power(1 - d.r_volume, -1 / 1.2), 300) AS volume,
		       d.r_size1, d.r_size2
		  FROM demo_customer_draw d
		  CROSS JOIN LATERAL (SELECT * FROM country c WHERE d.r_country < c.upto ORDER BY c.upto LIMIT 1) c
	), ranked AS (
		SELECT named.*, row_number() OVER (PARTITION BY core, form ORDER BY n) AS homonym
		  FROM named
	)
	-- homonyms are told apart by a city, as in an ERP's customer file
	SELECT n, code, core || ' ' || form
	                || CASE WHEN homonym > 1 THEN ' (' || cities[1 + (city_index + homonym - 1) % cardinality(cities)] || ')' ELSE '' END AS name,
	       country, currency, language, phone, behaviour, payment_terms,
	       (CASE language WHEN 'fr' THEN (ARRAY['comptabilite', 'compta', 'facturation'])[1 + n % 3]
	                      WHEN 'de' THEN 'buchhaltung' ELSE 'accounts' END)
	       || '@' || ar_demo.slug(core) || '.' || tld AS email,
	       -- a postal address, from the draws already made (no new random draw)
	       CASE WHEN country IN ('FR', 'BE', 'LU') OR (country = 'CH' AND language = 'fr')
	            THEN (1 + n % 148) || ' ' || (ARRAY['rue de la République', 'avenue Jean Jaurès', 'boulevard Victor Hugo',
	                                               'rue Pasteur', 'rue du Commerce', 'chemin des Prés'])[1 + n % 6]
	            WHEN country IN ('GB', 'US')
	            THEN (1 + n % 148) || ' ' || (ARRAY['High Street', 'Station Road', 'Church Lane', 'Mill Road'])[1 + n % 4]
	            ELSE (CASE country WHEN 'ES' THEN (ARRAY['Calle Mayor', 'Avenida de la Constitución'])[1 + n % 2]
	                               WHEN 'IT' THEN (ARRAY['Via Roma', 'Corso Italia'])[1 + n % 2]
	                               WHEN 'NL' THEN (ARRAY['Kerkstraat', 'Stationsweg'])[1 + n % 2]
	                               ELSE (ARRAY['Hauptstraße', 'Bahnhofstraße', 'Industriestraße'])[1 + n % 3] END)
	                 || ' ' || (1 + n % 148) END AS address_line1,
	       CASE WHEN country = 'GB' THEN (ARRAY['EC1A', 'M1', 'BS1', 'LS1', 'S1', 'G1', 'B1'])[1 + city_index % 7] || ' ' || (1 + n % 9) || 'AB'
	            WHEN country IN ('BE', 'LU', 'CH') THEN (1000 + n * 37 % 8999)::text
	            WHEN country = 'NL' THEN (1000 + n * 37 % 8999) || ' AB'
	            ELSE lpad((10000 + n * 37 % 89999)::text, 5, '0') END AS postcode,
	       cities[1 + city_index] AS city,
	       -- high-risk accounts are small ones
	       volume * CASE behaviour WHEN 'high_risk' THEN 0.5 ELSE 1 END AS volume,
	       ln(1200) + 0.7 * sqrt(-2 * ln(r_size1)) * cos(2 * pi() * r_size2) + 0.2 * ln(volume) AS log_size
	  FROM ranked;

	INSERT INTO ar.customer (code, name, country, email, phone, language, address_line1, postcode, city)
	SELECT code, name, country, email, phone, language, address_line1, postcode, city FROM demo_customer ORDER BY n;
	-- Payment habits (see ar_demo.planned_delay).  A customer pays on any
	-- working day (20%; half of the high-risk ones), on one weekday (30%), on
	-- one day of the month (30%) or on two (20%).  Its lag after the due
	-- date depends on its behaviour and on the time between its runs
	-- (period P): punctual payers make invoices payable about one period
	-- (at least 5 days) before they fall due (a few are paid a day or two
	-- late when the due date falls just after a run); occasional late payers
	-- half a period before, give or take 4 days (late when the due date
	-- falls just after a run); chronic late payers wait for the second to
	-- fourth reminder (15 to 45 days after the due date) and pay 1-10 days
	-- after it, high-risk ones for the fourth or fifth (45 or 60 days) and
	-- pay 5-60 days after it (minus half a period: the run comes after).
	-- 15% of the customers deteriorate by 3-15 days a year, 10% of the late
	-- payers improve by 2-10 days a year.
	INSERT INTO ar_demo.customer_profile (customer_code, behaviour, payment_terms, pay_calendar, run_days, run_weekday,
	                                      reminder_level, lag_days, drift_per_year, closes_in_august, closes_at_christmas,
	                                      approval_above)
	SELECT c.code, c.behaviour, c.payment_terms, k.calendar,
	       CASE k.calendar WHEN 'monthly' THEN ARRAY[(ARRAY[5, 10, 10, 15, 20, 25, 31, 31])[1 + floor(h.r_run_day * 8)::int]]
	                       WHEN 'twice_monthly' THEN (ARRAY['{10,25}', '{15,31}', '{5,20}'])[1 + floor(h.r_run_day * 3)::int]::integer[] END,
	       CASE WHEN k.calendar = 'weekly' THEN 2 + floor(h.r_run_day * 4)::int END,
	       CASE c.behaviour WHEN 'chronic_late' THEN 2 + floor(h.r_reminder * 3)::int
	                        WHEN 'high_risk' THEN 4 + floor(h.r_reminder * 2)::int END,
	       CASE c.behaviour
	            WHEN 'punctual' THEN greatest(k.period, 5) * -1 - 3 + floor(h.r_lag * 7)::int
	            WHEN 'occasional_late' THEN -k.period / 2 - 4 + floor(h.r_lag * 8)::int
	            WHEN 'chronic_late' THEN 1 + floor(h.r_lag * 10)::int - k.period / 2
	            ELSE 5 + floor(h.r_lag * 56)::int - k.period / 2 END,
	       CASE WHEN h.r_drift < 0.15 THEN round(3 + 12 * h.r_drift_size::numeric, 1)
	            WHEN h.r_drift < 0.25 AND c.behaviour <> 'punctual' THEN -round(2 + 8 * h.r_drift_size::numeric, 1)
	            ELSE 0 END,
	       h.r_august < CASE WHEN c.country = 'FR' THEN 0.6 ELSE 0.3 END,
	       h.r_christmas < 0.5,
	       CASE WHEN h.r_approval < 0.5 THEN round(3 * exp(c.log_size)::numeric, 2) END
	  FROM demo_customer c
	  JOIN demo_habit_draw h ON h.n = c.n
	 CROSS JOIN LATERAL (SELECT CASE WHEN h.r_calendar < CASE WHEN c.behaviour = 'high_risk' THEN 0.5 ELSE 0.2 END THEN 'any_day'
	                                 WHEN h.r_calendar < 0.5 THEN 'weekly'
	                                 WHEN h.r_calendar < 0.8 THEN 'monthly'
	                                 ELSE 'twice_monthly' END AS calendar) k0
	 CROSS JOIN LATERAL (SELECT k0.calendar,
	                            CASE k0.calendar WHEN 'any_day' THEN 1 WHEN 'weekly' THEN 7 WHEN 'monthly' THEN 30 ELSE 15 END AS period) k
	 ORDER BY c.n;

	-- Documents: ~4% are credit notes on the previous invoice drawn, the rest
	-- invoices of a customer drawn by volume, issued on working days, more
	-- of them lately (a growing business).
	CREATE TEMP TABLE demo_document (
		g               integer PRIMARY KEY,
		customer_n      integer NOT NULL,
		parent_g        integer,            -- the invoice a credit note reduces
		issue_date      date NOT NULL,
		due_date        date NOT NULL,
		amount          numeric NOT NULL,
		currency        char(3) NOT NULL,
		reference_kind  text NOT NULL,
		number          text,
		reference       text
	);

	INSERT INTO demo_document (g, customer_n, issue_date, due_date, amount, currency, reference_kind)
	SELECT d.g, c.n, x.issue_date,
	       CASE c.payment_terms
	            WHEN '30 days' THEN x.issue_date + 30
	            WHEN '60 days' THEN x.issue_date + 60
	            -- "45 jours fin de mois": 45 days, then to the end of that month
	            ELSE (date_trunc('month', (x.issue_date + 45)::timestamp) + interval '1 month - 1 day')::date
	       END,
	       -- log-normal around the customer's typical size, to the cent
	       round(greatest(20, least(250000, exp(c.log_size + 0.9 * sqrt(-2 * ln(d.r_amount1)) * cos(2 * pi() * d.r_amount2))))::numeric, 2),
	       CASE WHEN c.currency <> 'EUR' AND d.r_currency < 0.75 THEN c.currency ELSE 'EUR' END,
	       CASE WHEN d.r_reference < 0.55 THEN 'structured' WHEN d.r_reference < 0.85 THEN 'free' ELSE 'none' END
	  FROM demo_document_draw d
	  JOIN demo_customer c
	    ON c.n = width_bucket(d.r_customer, (SELECT array_agg(coalesce(sum_before, 0) ORDER BY n)
	                                           FROM (SELECT n, sum(volume) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
	                                                           / sum(volume) OVER () AS sum_before
	                                                   FROM demo_customer) w))
	 CROSS JOIN LATERAL (SELECT first_day + floor((as_of - first_day + 1) * power(d.r_date, 0.8))::int AS raw) r
	 CROSS JOIN LATERAL (SELECT least(CASE extract(isodow FROM r.raw) WHEN 6 THEN r.raw - 1 WHEN 7 THEN r.raw + 1 ELSE r.raw END,
	                                  as_of) AS issue_date) x
	 WHERE d.r_credit_note >= 0.04;

	INSERT INTO demo_document (g, customer_n, parent_g, issue_date, due_date, amount, currency, reference_kind)
	SELECT d.g, p.customer_n, p.g, x.issue_date, x.issue_date,
	       -CASE WHEN d.r_credit_share < 0.35 THEN p.amount
	             ELSE greatest(round(p.amount * (0.05 + 0.45 * (d.r_credit_share::numeric - 0.35) / 0.65), 2), 0.01) END,
	       p.currency, 'none'
	  FROM demo_document_draw d
	 CROSS JOIN LATERAL (SELECT * FROM demo_document p WHERE p.g < d.g ORDER BY p.g DESC LIMIT 1) p
	 CROSS JOIN LATERAL (SELECT least(p.issue_date + 2 + floor(d.r_credit_days * 29)::int, as_of) AS issue_date) x
	 WHERE d.r_credit_note < 0.04;

	-- numbered per year in issue order, as French invoicing rules require
	UPDATE demo_document t
	   SET number = n.number,
	       reference = CASE WHEN t.reference_kind <> 'none' THEN n.number END
	  FROM (SELECT g, CASE WHEN parent_g IS NULL THEN 'FA-' ELSE 'AV-' END || extract(year FROM issue_date) || '-'
	                  || lpad(y.seq::text, greatest(6, length(y.seq::text)), '0') AS number
	          FROM (SELECT g, parent_g, issue_date,
	                       row_number() OVER (PARTITION BY parent_g IS NULL, extract(year FROM issue_date)
	                                          ORDER BY issue_date, g) AS seq
	                  FROM demo_document) y) n
	 WHERE n.g = t.g;
	-- ar.creditor_ref is optional: without it, structured references stay free ones
	IF to_regprocedure('ar.make_creditor_ref(text)') IS NOT NULL THEN
		EXECUTE $sql$UPDATE pg_temp.demo_document SET reference = ar.make_creditor_ref(number)::text
		              WHERE reference_kind = 'structured'$sql$;
	END IF;

	INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency, payment_reference)
	SELECT cu.id, d.number, d.issue_date, d.due_date, d.amount, d.currency, d.reference
	  FROM demo_document d
	  JOIN demo_customer c ON c.n = d.customer_n
	  JOIN ar.customer cu ON cu.company_id = company AND cu.code = c.code
	 ORDER BY d.issue_date, d.number;

	-- When each invoice gets paid, from its customer's behaviour: the last
	-- payment lands delay days after the due date, earlier ones (if split)
	-- evenly before it; some high-risk customers never pay, or stop halfway.
	INSERT INTO ar_demo.payment_plan (invoice_number, installment, planned_on, share, overpay, method)
	SELECT x.number, i, x.due_date + round(x.delay * i / x.installments::numeric)::int,
	       CASE WHEN i < x.installments THEN round(0.3 + 0.4 * x.r_share::numeric, 2) END,
	       CASE WHEN i = x.installments AND x.r_overpay < 0.015
	            THEN greatest(round(x.amount * (0.001 + 0.019 * x.r_overpay_amount::numeric), 2), 0.01) ELSE 0 END,
	       CASE WHEN x.r_method < 0.80 THEN 'transfer'
	            WHEN x.r_method < 0.90 THEN CASE WHEN x.country = 'FR' THEN 'cheque' ELSE 'transfer' END
	            WHEN x.r_method < 0.95 THEN 'card'
	            ELSE 'direct_debit' END
	  FROM (SELECT t.number, t.due_date, t.amount, c.country, d.r_share, d.r_overpay, d.r_overpay_amount, d.r_method,
	               -- 35% of the high-risk customers' invoices are never paid
	               CASE WHEN c.behaviour <> 'high_risk' OR d.r_late >= 0.35
	                    THEN ar_demo.planned_delay(p, first_day, t.issue_date, t.due_date, t.amount, w.r_mishap,
	                                               w.r_mishap_days, w.r_jitter, w.r_approval_days, w.r_holiday_days,
	                                               w.r_reminder) END AS delay,
	               CASE WHEN c.behaviour = 'occasional_late' AND d.r_late >= 0.8 AND d.r_split < 0.15 THEN 2
	                    WHEN c.behaviour IN ('chronic_late', 'high_risk') AND d.r_split < 0.15 THEN 2
	                    WHEN c.behaviour IN ('chronic_late', 'high_risk') AND d.r_split < 0.25 THEN 3
	                    WHEN c.behaviour = 'high_risk' AND d.r_split < 0.55 THEN 2
	                    ELSE 1 END AS installments,
	               c.behaviour = 'high_risk' AND d.r_abandon < 0.5 AS abandons
	          FROM demo_document t
	          JOIN demo_document_draw d ON d.g = t.g
	          JOIN demo_payment_draw w ON w.g = t.g
	          JOIN demo_customer c ON c.n = t.customer_n
	          JOIN ar_demo.customer_profile p ON p.customer_code = c.code
	         WHERE t.parent_g IS NULL) x
	 CROSS JOIN LATERAL generate_series(1, x.installments - CASE WHEN x.abandons AND x.installments > 1 THEN 1 ELSE 0 END) i
	 WHERE x.delay IS NOT NULL
	 ORDER BY x.number, i;

	ANALYZE ar.customer, ar.invoice, ar.allocation;

	-- Credit notes and payments up to as_of, in date order, so that a
	-- payment settles what is open once earlier credit notes are applied.
	FOR ev IN
		SELECT e.*
		  FROM (SELECT n.issue_date AS on_date, 0 AS kind, p.id AS invoice_id, p.number, p.customer_id, p.currency,
		               n.id AS credit_note_id, NULL::numeric AS share, NULL::numeric AS overpay, NULL AS method,
		               0 AS installment
		          FROM demo_document d
		          JOIN demo_document dp ON dp.g = d.parent_g
		          JOIN ar.invoice n ON n.company_id = company AND n.number = d.number
		          JOIN ar.invoice p ON p.company_id = company AND p.number = dp.number
		        UNION ALL
		        SELECT pp.planned_on, 1, i.id, i.number, i.customer_id, i.currency,
		               NULL, pp.share, pp.overpay, pp.method, pp.installment
		          FROM ar_demo.payment_plan pp
		          JOIN ar.invoice i ON i.company_id = company AND i.number = pp.invoice_number
		         WHERE pp.planned_on <= as_of) e
		 ORDER BY e.on_date, e.kind, e.number, e.installment, e.credit_note_id
	LOOP
		IF ev.credit_note_id IS NOT NULL THEN
			target := ev.invoice_id;
			IF (SELECT i.open_amount FROM ar.invoice i WHERE i.id = ev.invoice_id) = 0 THEN
				-- already paid (early payers): the customer deducts the credit
				-- note from the next invoice it pays
				SELECT i.id INTO target
				  FROM ar.invoice i
				 WHERE i.customer_id = ev.customer_id AND i.currency = ev.currency AND i.amount > 0
				   AND i.open_amount > 0 AND i.cancelled_on IS NULL AND i.issue_date <= ev.on_date
				 ORDER BY i.due_date, i.id LIMIT 1;
			END IF;
			IF target IS NOT NULL THEN
				PERFORM ar.apply_credit_note(ev.credit_note_id, target, NULL, ev.on_date);
			END IF;
			CONTINUE;
		END IF;
		SELECT i.open_amount INTO open_now FROM ar.invoice i WHERE i.id = ev.invoice_id;
		CONTINUE WHEN open_now <= 0;
		paid := CASE WHEN ev.share IS NULL THEN open_now + ev.overpay
		             ELSE greatest(round(open_now * ev.share, 2), 0.01) END;
		-- What ar.record_payment(number, paid, on_date, method) records, by
		-- invoice id: its lookup by number alone scans ar.invoice each time.
		INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, payment_means)
		VALUES (company, ev.invoice_id, least(paid, open_now), ev.on_date, 'manual', ev.method);
		payments := payments + 1;
		IF paid > open_now THEN
			INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, invoice_id, created_on, note)
			VALUES (company, ev.customer_id, ev.currency, paid - open_now, 'overpayment', ev.invoice_id, ev.on_date,
			        format('%s payment of %s on invoice %s', ev.method, paid, ev.number));
			credits := credits + 1;
		END IF;
	END LOOP;

	ANALYZE ar.invoice, ar.allocation, ar.customer_credit;

	INSERT INTO ar_demo.generation (customers, invoices, months, seed, as_of, elapsed)
	VALUES (generate.customers, generate.invoices, generate.months, generate.seed, generate.as_of,
	        clock_timestamp() - started);

	RETURN QUERY
	SELECT 'customers', count(*) FROM demo_customer
	UNION ALL
	SELECT 'invoices', count(*) FILTER (WHERE parent_g IS NULL) FROM demo_document
	UNION ALL
	SELECT 'credit notes', count(*) FILTER (WHERE parent_g IS NOT NULL) FROM demo_document
	UNION ALL
	SELECT 'payments', payments
	UNION ALL
	SELECT 'customer credits', credits
	UNION ALL
	SELECT 'open items on ' || to_char(as_of, 'YYYY-MM-DD'), count(*)
	  FROM ar.open_items(as_of) o JOIN demo_document d ON d.number = o.number
	 WHERE o.company_id = company
	UNION ALL
	SELECT 'overdue items on ' || to_char(as_of, 'YYYY-MM-DD'), count(*)
	  FROM ar.open_items(as_of) o JOIN demo_document d ON d.number = o.number
	 WHERE o.company_id = company AND o.days_past_due > 0;

	-- scratch tables, not to be kept until the caller's transaction ends
	DROP TABLE pg_temp.demo_customer_draw, pg_temp.demo_document_draw, pg_temp.demo_habit_draw, pg_temp.demo_payment_draw,
	           pg_temp.demo_customer, pg_temp.demo_document;
END $$;

COMMENT ON FUNCTION ar_demo.generate(integer, integer, integer, double precision, date) IS
'Fills the ar_collect ledger with a reproducible demo: customers, invoices over months up to as_of, ~4% credit notes, and the payments made up to as_of; the same arguments give the same data on an empty ledger.';

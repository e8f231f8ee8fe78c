-- A normalised description of everything the extension ar_collect defines,
-- one sorted line per fact: test/t/upgrade.sh compares it between a
-- database upgraded from an older version and a fresh install.  Column
-- order is compared (by rank, so dropped columns leave no trace); OIDs never
-- appear.  Run with psql -X -q -A -t.
WITH ext_member AS (
	SELECT classid, objid FROM pg_depend
	 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ar_collect')
),
acl(oid, kind, text) AS (
	SELECT c.oid, 'rel', string_agg(a.grantee::regrole || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ','
	                             ORDER BY a.grantee::regrole::text, a.privilege_type)
	  FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'ar'::regnamespace GROUP BY c.oid
	UNION ALL
	SELECT p.oid, 'proc', string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || '=' || a.privilege_type, ','
	                    ORDER BY a.grantee::regrole::text, a.privilege_type)
	  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
	 WHERE p.pronamespace = 'ar'::regnamespace GROUP BY p.oid
),
facts(line) AS (
	-- every object the extension owns
	SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM ext_member
	UNION ALL
	-- relations, their owner, RLS flags, options and grants
	SELECT format('relation %s kind=%s owner=%s rls=%s force=%s options=%s persistence=%s acl=%s',
	              c.oid::regclass, c.relkind, c.relowner::regrole, c.relrowsecurity, c.relforcerowsecurity,
	              c.reloptions, c.relpersistence, (SELECT text FROM acl WHERE acl.oid = c.oid AND kind = 'rel'))
	  FROM pg_class c WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind <> 'i'
	UNION ALL
	SELECT format('column %s #%s %s %s notnull=%s default=%s identity=%s generated=%s collation=%s comment=%s',
	              a.attrelid::regclass,
	              rank() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), a.attname,
	              format_type(a.atttypid, a.atttypmod), a.attnotnull,
	              pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
	              CASE WHEN a.attcollation <> 0 THEN a.attcollation::regcollation::text END,
	              col_description(a.attrelid, a.attnum))
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	 WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')
	   AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT format('constraint %s on %s %s deferrable=%s deferred=%s validated=%s comment=%s',
	              con.conname, coalesce(con.conrelid::regclass::text, con.contypid::regtype::text),
	              pg_get_constraintdef(con.oid), con.condeferrable, con.condeferred, con.convalidated,
	              obj_description(con.oid, 'pg_constraint'))
	  FROM pg_constraint con WHERE con.connamespace = 'ar'::regnamespace
	UNION ALL
	SELECT format('index %s', pg_get_indexdef(i.indexrelid))
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'ar'::regnamespace
	UNION ALL
	SELECT format('trigger %s enabled=%s comment=%s', pg_get_triggerdef(t.oid), t.tgenabled,
	              obj_description(t.oid, 'pg_trigger'))
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'ar'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT format('policy %s on %s cmd=%s permissive=%s roles=%s using=%s check=%s', p.polname, p.polrelid::regclass,
	              p.polcmd, p.polpermissive,
	              (SELECT string_agg(x, ',' ORDER BY x)
	                 FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END AS x FROM unnest(p.polroles) r) roles),
	              pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
	  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'ar'::regnamespace
	UNION ALL
	SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid))
	  FROM pg_class c WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('v', 'm')
	UNION ALL
	SELECT format('comment %s %s', c.oid::regclass, obj_description(c.oid, 'pg_class'))
	  FROM pg_class c WHERE c.relnamespace = 'ar'::regnamespace AND obj_description(c.oid, 'pg_class') IS NOT NULL
	UNION ALL
	SELECT format('sequence %s %s start=%s inc=%s min=%s max=%s cycle=%s', s.seqrelid::regclass,
	              s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle)
	  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'ar'::regnamespace
	UNION ALL
	-- functions: whole definition (body, volatility, SECURITY DEFINER,
	-- settings), owner, grants, comment; aggregates by their parts
	SELECT format('function %s owner=%s acl=%s comment=%s %s', p.oid::regprocedure, p.proowner::regrole,
	              (SELECT text FROM acl WHERE acl.oid = p.oid AND kind = 'proc'),
	              obj_description(p.oid, 'pg_proc'),
	              CASE WHEN p.prokind = 'a' THEN
	                   (SELECT format('aggregate sfunc=%s stype=%s finalfunc=%s combine=%s serial=%s deserial=%s init=%s parallel=%s',
	                                  a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn, a.aggcombinefn,
	                                  a.aggserialfn, a.aggdeserialfn, a.agginitval, p.proparallel)
	                      FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
	                   ELSE pg_get_functiondef(p.oid) END)
	  FROM pg_proc p WHERE p.pronamespace = 'ar'::regnamespace
	UNION ALL
	SELECT format('type %s kind=%s owner=%s len=%s input=%s output=%s receive=%s send=%s comment=%s labels=%s basetype=%s notnull=%s',
	              t.oid::regtype, t.typtype, t.typowner::regrole, t.typlen, t.typinput, t.typoutput,
	              t.typreceive, t.typsend, obj_description(t.oid, 'pg_type'),
	              (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid),
	              CASE WHEN t.typbasetype <> 0 THEN format_type(t.typbasetype, t.typtypmod) END, t.typnotnull)
	  FROM pg_type t WHERE t.typnamespace = 'ar'::regnamespace AND t.typtype <> 'c' AND t.typelem = 0
	UNION ALL
	SELECT format('operator %s owner=%s code=%s commutator=%s negator=%s restrict=%s join=%s',
	              o.oid::regoperator, o.oprowner::regrole, o.oprcode, o.oprcom::regoperator,
	              o.oprnegate::regoperator, o.oprrest, o.oprjoin)
	  FROM pg_operator o WHERE o.oprnamespace = 'ar'::regnamespace
	UNION ALL
	SELECT format('opclass %s %s for %s default=%s', am.amname, oc.opcname, oc.opcintype::regtype, oc.opcdefault)
	  FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod WHERE oc.opcnamespace = 'ar'::regnamespace
	UNION ALL
	SELECT format('cast %s as %s via %s context=%s', c.castsource::regtype, c.casttarget::regtype,
	              c.castfunc::regprocedure, c.castcontext)
	  FROM pg_cast c JOIN ext_member m ON m.classid = 'pg_cast'::regclass AND m.objid = c.oid
	UNION ALL
	-- what pg_dump keeps of the extension's tables
	SELECT format('config_dump %s %s', x.rel::regclass, x.cond)
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(rel, cond)
	 WHERE e.extname = 'ar_collect'
	UNION ALL
	-- the bounded columns each piece declared (the constraints are built from them)
	SELECT format('input_bound %s.%s kind=%s max_chars=%s', b.table_name, b.column_name, b.kind, b.max_chars)
	  FROM ar.input_bound b
	UNION ALL
	SELECT format('schema ar owner=%s comment=%s acl=%s', n.nspowner::regrole, obj_description(n.oid, 'pg_namespace'), n.nspacl)
	  FROM pg_namespace n WHERE n.nspname = 'ar'
	UNION ALL
	SELECT format('extension version=%s schema=%s relocatable=%s', e.extversion, e.extnamespace::regnamespace, e.extrelocatable)
	  FROM pg_extension e WHERE e.extname = 'ar_collect'
)
SELECT line FROM facts ORDER BY line COLLATE "C";

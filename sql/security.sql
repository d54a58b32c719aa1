-- The trust boundary: no role can turn segstore against another role, the
-- server, or segstore's own invariants.  Four roles (an owner, a reader, a
-- writer and a stranger) and the superuser running this file.  Every door
-- found in review is tried and found shut; then the privilege model:
-- each privilege granted and revoked with its effect on every function,
-- WITH GRANT OPTION, ownership transfer, DROP ROLE, REASSIGN OWNED and
-- DROP OWNED.  Concurrent drop and re-create by name is in
-- test/isolation/specs/collection_recreate.spec, the workers in
-- test/t/009_security.pl.
CREATE EXTENSION segstore;
\set VERBOSITY default
SET segstore.insert_direct_threshold = 100;
CREATE ROLE regress_owner;
CREATE ROLE regress_reader;
CREATE ROLE regress_writer;
CREATE ROLE regress_stranger;
GRANT CREATE ON SCHEMA segstore_data TO regress_owner, regress_stranger;
CREATE SCHEMA regress_owner_code AUTHORIZATION regress_owner;

-- The tripwire: code an attacker would like segstore to run.  Each call
-- records who ran it with what rights, and would make its author a
-- superuser if it ran as one.
CREATE TABLE security_tripwire (who name, superuser boolean, what text);
GRANT INSERT, SELECT ON security_tripwire TO PUBLIC;
SET ROLE regress_owner;
CREATE FUNCTION regress_owner_code.trip(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.security_tripwire SELECT current_user, rolsuper, what FROM pg_roles WHERE rolname = current_user;
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		ALTER ROLE regress_owner SUPERUSER;
	END IF;
	RETURN true;
END $$;
CREATE FUNCTION regress_owner_code.trip_int() RETURNS int8 IMMUTABLE LANGUAGE sql AS
$$ SELECT CASE WHEN regress_owner_code.trip('expression') THEN 1::int8 END $$;
CREATE FUNCTION regress_owner_code.trip_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM regress_owner_code.trip('trigger ' || TG_NAME);
	RETURN NULL;
END $$;
CREATE FUNCTION regress_owner_code.trip_rows(OUT id int8, OUT v float4[], OUT t text)
RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
	PERFORM regress_owner_code.trip('view query');
END $$;
GRANT USAGE ON SCHEMA regress_owner_code TO PUBLIC;

-- The owner's collection: a sealed segment and growing rows.
SELECT segstore.create_collection('mine', 'id int8 PRIMARY KEY, v float4[2], t text') AS cid \gset
SELECT segstore.insert('mine', array_agg(i::int8), array_agg(ARRAY[i, 1]::float4[]),
					   array_agg('row ' || i)) FROM generate_series(1, 200) i;
SELECT segstore.insert('mine', ARRAY[201, 202]::int8[], ARRAY[[201, 1], [202, 1]]::float4[][],
					   ARRAY['row 201', 'row 202']);
RESET ROLE;
SELECT name, owner, view, growing_table, acl FROM segstore.collections;
SELECT growing_table AS growing, growing_table::oid AS growing_oid
FROM segstore.collections WHERE name = 'mine' \gset

-- 1. Internal objects belong to segstore.  The growing table, every
-- catalog table and every sequence: no role but a superuser can attach a
-- trigger, rule, default, CHECK constraint, expression index or policy,
-- change a column's type, or read or write it directly.  Each attack on
-- each relation, as each role; any one that is not refused with 42501 is
-- listed.
CREATE FUNCTION security_attacks() RETURNS TABLE (relation regclass, attack text, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
	rel record;
	stmt record;
	col name;
BEGIN
	FOR rel IN
		SELECT c.oid, c.relkind FROM pg_class c
		WHERE c.relnamespace IN ('segstore'::regnamespace, 'segstore_internal'::regnamespace)
		  AND c.relkind IN ('r', 'S') ORDER BY c.oid
	LOOP
		SELECT attname INTO col FROM pg_attribute WHERE attrelid = rel.oid AND attnum = 1;
		FOR stmt IN
			SELECT * FROM (VALUES
				('r', 'trigger', 'CREATE TRIGGER t BEFORE INSERT ON %1$s FOR EACH ROW EXECUTE FUNCTION regress_owner_code.trip_trigger()'),
				('r', 'rule', 'CREATE RULE r AS ON INSERT TO %1$s DO ALSO SELECT regress_owner_code.trip(''rule'')'),
				('r', 'default', 'ALTER TABLE %1$s ALTER COLUMN %2$I SET DEFAULT regress_owner_code.trip_int()'),
				('r', 'check', 'ALTER TABLE %1$s ADD CHECK (regress_owner_code.trip(''check'')) NOT VALID'),
				('r', 'expression index', 'CREATE INDEX ON %1$s ((regress_owner_code.trip_int()))'),
				('r', 'policy', 'CREATE POLICY p ON %1$s USING (regress_owner_code.trip(''policy''))'),
				('r', 'row security', 'ALTER TABLE %1$s ENABLE ROW LEVEL SECURITY'),
				('r', 'alter type', 'ALTER TABLE %1$s ALTER COLUMN %2$I TYPE text'),
				('r', 'owner', 'ALTER TABLE %1$s OWNER TO CURRENT_USER'),
				('r', 'select', 'SELECT * FROM %1$s'),
				('r', 'insert', 'INSERT INTO %1$s DEFAULT VALUES'),
				('r', 'update', 'UPDATE %1$s SET %2$I = %2$I'),
				('r', 'delete', 'DELETE FROM %1$s'),
				('r', 'truncate', 'TRUNCATE %1$s'),
				('r', 'drop', 'DROP TABLE %1$s'),
				('S', 'nextval', 'SELECT nextval(''%1$s'')'),
				('S', 'setval', 'SELECT setval(''%1$s'', 1)'),
				('S', 'alter sequence', 'ALTER SEQUENCE %1$s RESTART'),
				('S', 'drop', 'DROP SEQUENCE %1$s')) s(kind, attack, sql)
			WHERE s.kind = rel.relkind
		LOOP
			relation := rel.oid;
			attack := stmt.attack;
			BEGIN
				EXECUTE format(stmt.sql, rel.oid::regclass, col);
				outcome := 'done';
			EXCEPTION WHEN OTHERS THEN
				outcome := SQLSTATE;
			END;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END $$;
SET ROLE regress_owner;
SELECT count(DISTINCT relation) > 10 AS relations, count(*) > 100 AS attacks,
	   count(*) FILTER (WHERE relation = :growing_oid) AS on_growing_table
FROM security_attacks();
SELECT * FROM security_attacks() WHERE outcome <> '42501';
SET ROLE regress_writer;
SELECT * FROM security_attacks() WHERE outcome <> '42501';
SET ROLE regress_stranger;
SELECT * FROM security_attacks() WHERE outcome <> '42501';
-- as the messages say it, for the growing table
SET ROLE regress_owner;
CREATE TRIGGER t BEFORE INSERT ON :growing FOR EACH ROW EXECUTE FUNCTION regress_owner_code.trip_trigger();
ALTER TABLE :growing ALTER COLUMN v TYPE text;
INSERT INTO :growing VALUES (999, '{1,2,3}', 'a wrong vector', now());
RESET ROLE;
SELECT * FROM security_tripwire;

-- 2. The view stands for the collection and is its owner's, who may attach
-- to it what PostgreSQL allows on a view: its code runs for whoever uses
-- the view, never for segstore, which only reads its owner and ACL.
SET ROLE regress_owner;
-- direct writes through the view are refused as for any view of no table
INSERT INTO segstore_data.mine VALUES (300, '{3,3}', 'direct');
DELETE FROM segstore_data.mine;
TRUNCATE segstore_data.mine;
-- what a view cannot have
CREATE POLICY p ON segstore_data.mine USING (regress_owner_code.trip('policy'));
ALTER TABLE segstore_data.mine ADD CHECK (regress_owner_code.trip('check'));
CREATE INDEX ON segstore_data.mine ((regress_owner_code.trip_int()));
-- what it can
CREATE TRIGGER view_trigger INSTEAD OF INSERT OR UPDATE OR DELETE ON segstore_data.mine
	FOR EACH ROW EXECUTE FUNCTION regress_owner_code.trip_trigger();
CREATE RULE view_rule AS ON UPDATE TO segstore_data.mine DO INSTEAD SELECT regress_owner_code.trip('rule');
ALTER VIEW segstore_data.mine ALTER COLUMN id SET DEFAULT regress_owner_code.trip_int();
CREATE OR REPLACE VIEW segstore_data.mine AS SELECT * FROM regress_owner_code.trip_rows();
RESET ROLE;
-- segstore, as the superuser, through every function: nothing of it runs
SELECT segstore.insert('mine', ARRAY[203]::int8[], ARRAY[[203, 1]]::float4[][], ARRAY['row 203']);
SELECT segstore.upsert('mine', ARRAY[1]::int8[], ARRAY[[1, 2]]::float4[][], ARRAY['row 1 again']);
SELECT segstore.delete('mine', ARRAY[2]::int8[]), segstore.delete('mine', 'id in [3, 202]');
SELECT count(*) FROM segstore.query('mine', 't like "row%"');
SELECT id FROM segstore.search('mine', ARRAY[10, 1]::float4[], 3);
SELECT count(*) FROM segstore.segments('mine');
SELECT count(*) FROM segstore.binlogs('mine');
SELECT live_rows FROM segstore.collection_stats('mine');
SELECT segstore.flush('mine');
SELECT segstore.create_index('mine', 'v', 'FLAT');
SELECT segstore.compact('mine', "full" => true) AS compaction \gset
SELECT segstore.wait_for_compaction(:compaction);
SELECT segstore.trigger_compaction('mine');
SELECT segstore.load('mine'), segstore.release('mine');
SELECT segstore.alter_collection('mine', description => 'mine');
SELECT count(*) > 0 AS collected FROM segstore.gc();
SELECT * FROM security_tripwire;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_owner';
-- the owner's code runs for a role that uses the view, with that role's rights
SET ROLE regress_owner;
SELECT * FROM segstore_data.mine;
RESET ROLE;
SELECT * FROM security_tripwire;
TRUNCATE security_tripwire;

-- A collection follows its view's name; what would make the view stop
-- standing for it is refused.
SET ROLE regress_owner;
ALTER VIEW segstore_data.mine RENAME COLUMN t TO title;
CREATE OR REPLACE VIEW segstore_data.mine AS SELECT *, 1 AS extra FROM regress_owner_code.trip_rows();
ALTER VIEW segstore_data.mine SET SCHEMA regress_owner_code;
ALTER VIEW segstore_data.mine RENAME TO "Mine";
ALTER VIEW segstore_data.mine RENAME TO ours;
SELECT name, view FROM segstore.collections;
SELECT segstore.num_entities('ours');
ALTER TABLE segstore_data.ours RENAME TO mine;
SELECT name, view FROM segstore.collections;
RESET ROLE;

-- 3. search_path: segstore's statements run with search_path pinned, so
-- an operator or function a role put first on the caller's path is never
-- picked, even for a superuser.
CREATE SCHEMA regress_stranger_code AUTHORIZATION regress_stranger;
SET ROLE regress_stranger;
CREATE FUNCTION regress_stranger_code.eq(int8, int8) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.security_tripwire SELECT current_user, rolsuper, 'operator' FROM pg_roles WHERE rolname = current_user;
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR regress_stranger_code.= (LEFTARG = int8, RIGHTARG = int8,
										 FUNCTION = regress_stranger_code.eq);
CREATE FUNCTION regress_stranger_code.count(int8) RETURNS int8 LANGUAGE sql AS
$$ INSERT INTO public.security_tripwire VALUES (current_user, false, 'count') RETURNING 0::int8 $$;
RESET ROLE;
SET search_path = regress_stranger_code, pg_catalog, public;
SELECT segstore.insert('mine', ARRAY[204]::int8[], ARRAY[[204, 1]]::float4[][], ARRAY['row 204']);
SELECT segstore.delete('mine', ARRAY[204, 5]::int8[]);
SELECT segstore.num_entities('mine');
SELECT segstore.flush('mine');
RESET search_path;
SELECT * FROM security_tripwire;

-- 4. DROP EXTENSION by a role that may not drop it fails before anything
-- happens: the maintenance worker keeps running, the same process.
CREATE FUNCTION security_wait_for_worker() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..3000 LOOP
		PERFORM 1 FROM segstore.worker_status
		WHERE datname = current_database() AND state = 'running' AND pid IS NOT NULL;
		IF FOUND THEN
			RETURN (SELECT pid FROM segstore.worker_status WHERE datname = current_database());
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN NULL;
END $$;
SELECT security_wait_for_worker() AS worker_pid \gset
SET ROLE regress_stranger;
DROP EXTENSION segstore;
DROP EXTENSION IF EXISTS segstore CASCADE;
SET ROLE regress_owner;
DROP EXTENSION segstore;
RESET ROLE;
-- a worker stopped would be started again after a second, as another process
SELECT pg_sleep(1.5);
SELECT pid = :worker_pid AS same_worker, state FROM segstore.worker_status
WHERE datname = current_database();

-- 5. Advisory locks on the keys compaction once used block nothing: the
-- stranger holds every one of them while a compaction runs to the end.
SET ROLE regress_stranger;
SELECT count(pg_advisory_lock(1936025456, k)) FROM generate_series(0, 64) k;
SELECT count(pg_advisory_lock(1936025459, k)) FROM generate_series(0, 64) k;
RESET ROLE;
SELECT segstore.delete('mine', 'id < 50');
SELECT segstore.flush('mine');
SELECT segstore.compact('mine') AS compaction \gset
SELECT segstore.wait_for_compaction(:compaction, '1 min');
SELECT pg_advisory_unlock_all();

-- 6. Settings that change what is written to disk are the superuser's.
SET ROLE regress_stranger;
SET segstore.insert_direct_threshold = 1;
SET segstore.min_index_rows = 1000000;
SET segstore.compression_level = 19;
ALTER ROLE regress_stranger SET segstore.insert_direct_threshold = 1;
RESET ROLE;

-- 7. What every role sees: catalog metadata as pg_class shows it; data only
-- with the read privilege.
SET ROLE regress_stranger;
SELECT name, owner, dim, fields, acl FROM segstore.collections;
SELECT collection, field, index_type FROM segstore.indexes;
SELECT * FROM segstore.collection_privileges ORDER BY grantee, privilege;
SELECT segstore.has_collection('mine');
SELECT count(*) FROM segstore.compactions;
SELECT count(*) FROM segstore.compaction_progress;
SELECT * FROM segstore.segments('mine');
SELECT * FROM segstore.compaction_plans(:compaction);
SELECT * FROM segstore.query('mine', 'id == 60');
RESET ROLE;

SELECT segstore.drop_index('mine', 'v');

-- 8. Each privilege, granted and revoked, and its effect on each function,
-- for the writer.  Every call runs in a subtransaction that is rolled
-- back; ok means it was allowed, 42501 that it was refused.
CREATE FUNCTION security_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE sql;
		RAISE EXCEPTION 'regress: roll back';
	EXCEPTION WHEN OTHERS THEN
		IF SQLERRM = 'regress: roll back' THEN
			RETURN 'ok';
		END IF;
		RETURN SQLSTATE;
	END;
END $$;
CREATE TABLE security_ops (n int, op text, sql text);
INSERT INTO security_ops VALUES
	(1, 'num_entities', 'SELECT segstore.num_entities(''mine'')'),
	(2, 'query', 'SELECT segstore.query(''mine'', ''id > 0'')'),
	(3, 'search', 'SELECT segstore.search(''mine'', ARRAY[1, 1]::float4[], 1)'),
	(4, 'segments', 'SELECT segstore.segments(''mine'')'),
	(5, 'binlogs', 'SELECT segstore.binlogs(''mine'')'),
	(6, 'collection_stats', 'SELECT segstore.collection_stats(''mine'')'),
	(7, 'compaction_state', format('SELECT segstore.compaction_state(%s)', :compaction)),
	(8, 'compaction_plans', format('SELECT segstore.compaction_plans(%s)', :compaction)),
	(9, 'wait_for_compaction', format('SELECT segstore.wait_for_compaction(%s)', :compaction)),
	(10, 'load', 'SELECT segstore.load(''mine'')'),
	(11, 'insert', 'SELECT segstore.insert(''mine'', ARRAY[500]::int8[], ARRAY[[5, 5]]::float4[][], ARRAY[''x''])'),
	(12, 'upsert', 'SELECT segstore.upsert(''mine'', ARRAY[60]::int8[], ARRAY[[6, 6]]::float4[][], ARRAY[''x''])'),
	(13, 'delete ids', 'SELECT segstore.delete(''mine'', ARRAY[60]::int8[])'),
	(14, 'delete expr', 'SELECT segstore.delete(''mine'', ''id == 60'')'),
	(15, 'flush', 'SELECT segstore.flush(''mine'')'),
	(16, 'compact', 'SELECT segstore.compact(''mine'')'),
	(17, 'trigger_compaction', 'SELECT segstore.trigger_compaction(''mine'')'),
	(18, 'cancel_compaction', format('SELECT segstore.cancel_compaction(%s)', :compaction)),
	(19, 'alter_collection', 'SELECT segstore.alter_collection(''mine'', auto_compaction => false)'),
	(20, 'create_index', 'SELECT segstore.create_index(''mine'', ''v'', ''FLAT'')'),
	(21, 'drop_index', 'SELECT segstore.drop_index(''mine'', ''v'', if_exists => true)'),
	(22, 'drop_collection', 'SELECT segstore.drop_collection(''mine'')'),
	(23, 'grant read', 'SELECT segstore.grant(''mine'', ''{read}'', ''regress_stranger'')');
GRANT SELECT ON security_ops TO PUBLIC;
CREATE TABLE security_matrix (step int, privileges text, n int, result text);
GRANT INSERT ON security_matrix TO PUBLIC;
-- one step: the privileges the writer has now, and what each call does
CREATE FUNCTION security_step(step int, privileges text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'SET ROLE regress_writer';
	INSERT INTO security_matrix SELECT step, privileges, n, security_try(sql) FROM security_ops;
	EXECUTE 'RESET ROLE';
END $$;
SELECT security_step(1, 'none');
SET ROLE regress_owner;
SELECT segstore.grant('mine', '{read}', 'regress_writer');
RESET ROLE;
SELECT security_step(2, 'read');
SET ROLE regress_owner;
SELECT segstore.revoke('mine', '{read}', 'regress_writer');
SELECT segstore.grant('mine', '{insert}', 'regress_writer');
RESET ROLE;
SELECT security_step(3, 'insert');
SET ROLE regress_owner;
SELECT segstore.grant('mine', '{upsert}', 'regress_writer');
RESET ROLE;
SELECT security_step(4, 'insert, upsert');
SET ROLE regress_owner;
SELECT segstore.revoke('mine', '{insert, upsert}', 'regress_writer');
SELECT segstore.grant('mine', '{delete}', 'regress_writer');
RESET ROLE;
SELECT security_step(5, 'delete');
SET ROLE regress_owner;
SELECT segstore.grant('mine', '{read}', 'regress_writer');
RESET ROLE;
SELECT security_step(6, 'delete, read');
SET ROLE regress_owner;
SELECT segstore.revoke('mine', '{all}', 'regress_writer');
SELECT segstore.grant('mine', '{maintain}', 'regress_writer');
RESET ROLE;
SELECT security_step(7, 'maintain');
SET ROLE regress_owner;
SELECT segstore.grant('mine', '{all}', 'regress_writer');
RESET ROLE;
SELECT security_step(8, 'all');
-- ownership: as a member of the owning role
GRANT regress_owner TO regress_writer;
SELECT security_step(9, 'member of owner');
REVOKE regress_owner FROM regress_writer;
SET ROLE regress_owner;
SELECT segstore.revoke('mine', '{all}', 'regress_writer');
RESET ROLE;
SELECT security_step(10, 'revoked');
SELECT op, string_agg(CASE result WHEN 'ok' THEN 'ok' WHEN '42501' THEN '-' ELSE result END,
					  ' ' ORDER BY step) AS "none read ins ins+ups del del+read maint all owner revoked"
FROM matrix JOIN security_ops USING (n) GROUP BY n, op ORDER BY n;
-- the messages name the collection and what is missing
SET ROLE regress_writer;
SELECT segstore.num_entities('mine');
SELECT segstore.upsert('mine', ARRAY[60]::int8[], ARRAY[[6, 6]]::float4[][], ARRAY['x']);
SELECT segstore.delete('mine', 'id == 60');
SELECT segstore.flush('mine');
SELECT segstore.compact('mine');
SELECT segstore.drop_collection('mine');
RESET ROLE;

-- GRANT and REVOKE on the view are the same thing, as are
-- has_table_privilege() and the ACL in segstore.collections.
SET ROLE regress_owner;
GRANT SELECT, TRUNCATE ON segstore_data.mine TO regress_reader;
SELECT has_table_privilege('regress_reader', 'segstore_data.mine', 'SELECT') AS can_read,
	   has_table_privilege('regress_reader', 'segstore_data.mine', 'INSERT') AS can_insert;
SET ROLE regress_reader;
SELECT segstore.num_entities('mine');
SELECT segstore.compact('mine') > 0 AS compacting;
SET ROLE regress_owner;
REVOKE TRUNCATE ON segstore_data.mine FROM regress_reader;
SELECT acl FROM segstore.collections WHERE name = 'mine';
RESET ROLE;

-- 9. WITH GRANT OPTION works as in PostgreSQL.
SET ROLE regress_owner;
SELECT segstore.grant('mine', '{read}', 'regress_reader', with_grant_option => true);
SET ROLE regress_reader;
SELECT segstore.grant('mine', '{read}', 'regress_writer');
SELECT segstore.grant('mine', '{insert}', 'regress_writer');
SET ROLE regress_writer;
SELECT segstore.num_entities('mine');
SELECT segstore.grant('mine', '{read}', 'regress_stranger');
SET ROLE regress_owner;
SELECT * FROM segstore.collection_privileges WHERE grantee <> 'regress_owner' ORDER BY grantee, privilege;
-- the reader's grant depends on its grant option
SELECT segstore.revoke('mine', '{read}', 'regress_reader');
SELECT segstore.revoke('mine', '{read}', 'regress_reader', grant_option_only => true, cascade => true);
SELECT * FROM segstore.collection_privileges WHERE grantee <> 'regress_owner' ORDER BY grantee, privilege;
SET ROLE regress_writer;
SELECT segstore.num_entities('mine');
SET ROLE regress_reader;
SELECT segstore.num_entities('mine');
SELECT segstore.grant('mine', '{read}', 'regress_writer');
SET ROLE regress_owner;
SELECT segstore.revoke('mine', '{read}', 'public');
SELECT segstore.grant('mine', '{read}', 'public');
SET ROLE regress_stranger;
SELECT segstore.num_entities('mine');
SET ROLE regress_owner;
SELECT segstore.revoke('mine', '{all}', 'public');
SELECT segstore.revoke('mine', '{all}', 'regress_reader');
RESET ROLE;

-- 10. Ownership is transferred as ALTER VIEW ... OWNER TO transfers it.
SET ROLE regress_owner;
SELECT segstore.alter_collection('mine', owner => 'regress_writer');
RESET ROLE;
SELECT segstore.alter_collection('mine', owner => 'regress_writer');
SELECT owner FROM segstore.collections WHERE name = 'mine';
SET ROLE regress_owner;
SELECT segstore.num_entities('mine');
SELECT segstore.drop_collection('mine');
SET ROLE regress_writer;
SELECT segstore.num_entities('mine');
SELECT segstore.alter_collection('mine', description => 'the writer''s now');
RESET ROLE;
ALTER VIEW segstore_data.mine OWNER TO regress_owner;
SELECT owner FROM segstore.collections WHERE name = 'mine';

-- 11. Dropped and created again under the same name, a collection is a new
-- object: privileges on the old one do not carry over.
SET ROLE regress_owner;
SELECT segstore.create_collection('shared', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
SELECT segstore.grant('shared', '{insert}', 'regress_writer');
SELECT segstore.drop_collection('shared');
SET ROLE regress_stranger;
SELECT segstore.create_collection('shared', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
SET ROLE regress_writer;
SELECT segstore.insert('shared', ARRAY[1]::int8[], ARRAY[[1, 1]]::float4[][]);
RESET ROLE;
SELECT name, owner, acl FROM segstore.collections WHERE name = 'shared';

-- 12. A role that owns collections is not dropped silently; REASSIGN OWNED
-- and DROP OWNED handle its collections as they handle its tables.
SELECT 'segstore/' || oid AS dbdir FROM pg_database WHERE datname = current_database() \gset
CREATE FUNCTION security_files(dir text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM pg_ls_dir(dir, true, false) $$;
\set VERBOSITY terse
DROP ROLE regress_stranger;
\set VERBOSITY default
REASSIGN OWNED BY regress_stranger TO regress_reader;
SELECT name, owner FROM segstore.collections WHERE name = 'shared';
SET ROLE regress_reader;
SELECT segstore.insert('shared', ARRAY[1]::int8[], ARRAY[[1, 1]]::float4[][]);
SELECT segstore.flush('shared');
RESET ROLE;
SELECT collection_id AS shared FROM segstore.collections WHERE name = 'shared' \gset
SELECT growing_table AS shared_growing FROM segstore.collections WHERE name = 'shared' \gset
SELECT security_files(:'dbdir' || '/' || :shared) > 0 AS shared_has_files;
DROP OWNED BY regress_reader, regress_stranger;
SELECT segstore.has_collection('shared');
SELECT to_regclass(:'shared_growing') AS growing_table_left;
SELECT security_files(:'dbdir' || '/' || :shared) AS shared_files_left;
-- DROP OWNED also took the privileges granted to the role
DROP ROLE regress_reader;
DROP ROLE regress_stranger;

-- 13. Bad input gets a clear error and changes nothing.
SET ROLE regress_owner;
SELECT segstore.grant('mine', '{write}', 'regress_writer');
SELECT segstore.grant('mine', '{}', 'regress_writer');
SELECT segstore.grant('mine', '{read}', 'regress_nobody');
SELECT segstore.grant('nothing', '{read}', 'regress_writer');
SELECT segstore.revoke('mine', '{read}', 'regress_nobody');
SELECT segstore.alter_collection('mine', owner => 'regress_nobody');
SELECT acl, owner FROM segstore.collections WHERE name = 'mine';
RESET ROLE;

SELECT * FROM security_tripwire;
SELECT rolname, rolsuper FROM pg_roles WHERE rolname LIKE 'regress_%' ORDER BY rolname;
DROP EXTENSION segstore;
DROP OWNED BY regress_owner, regress_writer;
DROP TABLE security_tripwire, security_ops, security_matrix;
DROP FUNCTION security_attacks(), security_try(text), security_step(int, text),
	security_wait_for_worker(), security_files(text);
DROP ROLE regress_owner;
DROP ROLE regress_writer;

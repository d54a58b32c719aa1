-- Dropping a collection or the extension removes its files once the drop
-- commits; a rolled-back drop keeps them.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;
SELECT segstore.create_collection('d1', 'id int8 PRIMARY KEY, v float4[2]') AS d1 \gset
SELECT segstore.create_collection('d2', 'id int8 PRIMARY KEY, v float4[2]') AS d2 \gset
SELECT segstore.insert('d1', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[])) FROM generate_series(1, 20) i;
SELECT segstore.insert('d2', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[])) FROM generate_series(1, 20) i;
SELECT 'segstore/' || oid AS dbdir FROM pg_database WHERE datname = current_database() \gset

CREATE FUNCTION files(dir text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM pg_ls_dir(dir, true, false) $$;
SELECT files(:'dbdir' || '/' || :d1) AS d1_files, files(:'dbdir' || '/' || :d2) AS d2_files;

BEGIN;
SELECT segstore.drop_collection('d1');
ROLLBACK;
SELECT files(:'dbdir' || '/' || :d1) AS d1_files_after_rollback;
SELECT segstore.num_entities('d1');

BEGIN;
SAVEPOINT s;
SELECT segstore.drop_collection('d1');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT files(:'dbdir' || '/' || :d1) AS d1_files_after_savepoint_rollback;

SELECT segstore.drop_collection('d1');
SELECT files(:'dbdir' || '/' || :d1) AS d1_files_after_drop;
SELECT segstore.has_collection('d1'), segstore.has_collection('d2');
SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'segstore_internal') AS growing_tables,
	   (SELECT count(*) FROM pg_views WHERE schemaname = 'segstore_data') AS views;

-- a collection can be created again under the same name
SELECT segstore.create_collection('d1', 'id int8 PRIMARY KEY, v float4[2]') > :d1 AS new_id;
SELECT segstore.num_entities('d1');

-- DROP EXTENSION takes the growing tables, the collections' views (which
-- depend on it automatically, so no CASCADE is needed) and every file with it
DROP EXTENSION segstore;
SELECT count(*) FROM pg_class WHERE relname IN ('d1', 'd2', 'growing_' || :d2);
SELECT files(:'dbdir') AS db_files_after_drop_extension;
-- the schema named in the control file stays, as CREATE EXTENSION made it
SELECT nspname FROM pg_namespace WHERE nspname IN ('segstore', 'segstore_data');

-- Index files are built where no writer waits for them: a writer builds
-- only what needs no k-means (centroids borrowed from an indexed segment),
-- the maintenance worker or build_index() the rest.  A segment whose file
-- cannot be built is recorded as failed (segments().index_state says why)
-- and holds up no insert, flush or other segment's build; once its file
-- reads again, build_index() builds it.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 50;
SET segstore.min_index_rows = 8;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[4]') > 0;
SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 4}');

CREATE FUNCTION if_rows_sql(lo int, hi int) RETURNS text LANGUAGE sql AS $$
	SELECT format('SELECT segstore.insert(''c'', array_agg(i::int8), '
				  'array_agg(ARRAY[i %% 17, i %% 5, -i, 1]::float4[])) '
				  'FROM generate_series(%s, %s) i', lo, hi)
$$;
CREATE FUNCTION if_ins(lo int, hi int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE if_rows_sql(lo, hi) INTO n;
	RETURN n;
END $$;
-- index_state per segment, with the file paths in errors left out
CREATE FUNCTION if_states() RETURNS TABLE (seg int, num_rows bigint, index_state text) LANGUAGE sql AS $$
	SELECT (row_number() OVER (ORDER BY segment_id))::int, num_rows,
		   regexp_replace(index_state, '"[^"]*segstore/[^"]*"', '<file>', 'g')
	FROM segstore.segments('c') WHERE state = 'flushed' ORDER BY segment_id
$$;

-- The first segment (100 rows) has no centroids to borrow: k-means is
-- needed, so the writer leaves it for later.
SELECT if_ins(1, 100);
SELECT * FROM if_states();
SELECT segstore.build_index('c');
SELECT * FROM if_states();
-- A smaller segment borrows them: its writer builds its file at once.
SELECT if_ins(101, 160);
SELECT * FROM if_states();
-- So does a seal of growing rows.
SELECT if_ins(161, 170);
SELECT segstore.flush('c');
SELECT * FROM if_states();

-- A segment of 600 rows needs k-means of its own (4 lists x 128 rows); its
-- insert binlog is then damaged before any file is built for it.
SELECT if_ins(1001, 1600);
SELECT * FROM if_states();
CREATE TEMP TABLE saved AS
SELECT path, pg_read_binary_file(path) AS bytes FROM segstore.binlogs('c')
WHERE kind = 'insert' ORDER BY segment_id DESC LIMIT 1;
-- a file's bytes with one of them changed
CREATE FUNCTION if_damaged(bytes bytea) RETURNS bytea LANGUAGE sql AS $$
	SELECT set_byte(bytes, length(bytes) / 2, (get_byte(bytes, length(bytes) / 2) + 1) % 256)
$$;
-- a statement's SQLSTATE, or ok
CREATE FUNCTION if_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
CREATE FUNCTION if_put(dst text, bytes bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	lo oid := lo_from_bytea(0, bytes);
BEGIN
	PERFORM lo_export(lo, current_setting('data_directory') || '/' || dst);
	PERFORM lo_unlink(lo);
END $$;
SELECT if_put(path, if_damaged(bytes)) FROM saved;

-- Inserts, seals and flushes go on; other segments get their files.
SELECT if_ins(2001, 2040);
SELECT segstore.flush('c');
SELECT if_ins(2101, 2160);
-- build_index() records the failure (a warning, not an error) and builds
-- nothing else; segments() says why.
SET client_min_messages = error;
SELECT segstore.build_index('c');
SELECT segstore.build_index('c');
RESET client_min_messages;
SELECT * FROM if_states();
SELECT attempts FROM segstore.index_failure;
-- Readers of the damaged segment fail, as they should; the others work.
SELECT if_try('SELECT count(*) FROM segstore.query(''c'', ''id > 1000'')');
SELECT count(*) FROM segstore.query('c', 'id > 2000');

-- Once the file reads again, build_index() builds it and forgets the failure.
SELECT if_put(path, bytes) FROM saved;
SELECT segstore.build_index('c');
SELECT * FROM if_states();
SELECT count(*) FROM segstore.index_failure;
SELECT count(*) FROM segstore.search('c', ARRAY[1, 1, -1, 1]::float4[], 5);

-- drop_index forgets failures with the files; create_index reads every
-- segment, so the damaged one fails it.
SELECT if_ins(3001, 3600);
CREATE TEMP TABLE saved2 AS
SELECT path, pg_read_binary_file(path) AS bytes FROM segstore.binlogs('c')
WHERE kind = 'insert' ORDER BY segment_id DESC LIMIT 1;
SELECT if_put(path, if_damaged(bytes)) FROM saved2;
SET client_min_messages = error;
SELECT segstore.build_index('c');
RESET client_min_messages;
SELECT count(*) FROM segstore.index_failure;
SELECT segstore.drop_index('c', 'v');
SELECT count(*) FROM segstore.index_failure;
SELECT if_try('SELECT segstore.create_index(''c'', ''v'', ''IVF_FLAT'', ''L2'', ''{"nlist": 4}'')');
SELECT if_put(path, bytes) FROM saved2;
SELECT segstore.create_index('c', 'v', 'IVF_FLAT', 'L2', '{"nlist": 4}');
SELECT * FROM if_states();

-- build_index() needs the maintain privilege.
CREATE ROLE if_reader;
SET ROLE if_reader;
SELECT segstore.build_index('c');
RESET ROLE;
DROP ROLE if_reader;
DROP FUNCTION if_rows_sql, if_ins, if_states, if_damaged, if_try, if_put;
DROP EXTENSION segstore;

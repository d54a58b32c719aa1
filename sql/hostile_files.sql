-- Files that pass every checksum but are not what the catalog says (a
-- valid file of another kind, collection or segment put in a file's
-- place): every reader checks the kind, the column types and dimension,
-- the row count, the key order and range against the catalog before it
-- trusts them, and reports XX001 naming the file, with what it expected
-- and what it found.  Never a crash, never a wrong answer.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;
-- pk first, then an int8
SELECT segstore.create_collection('a', 'id int8 PRIMARY KEY, x int8, v float4[4], s text') > 0;
-- the same types in another order: column 0 is x, the key is column 1
SELECT segstore.create_collection('b', 'x int8, id int8 PRIMARY KEY, v float4[4], s text') > 0;
-- column 1 is text instead of int8
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, x text, v float4[4], s text') > 0;
-- another dimension
SELECT segstore.create_collection('d', 'id int8 PRIMARY KEY, x int8, v float4[8], s text') > 0;
-- 300 rows each; in b, x descends from 300 to 1
SELECT segstore.insert('a', array_agg(i::int8), array_agg(i::int8), array_agg(ARRAY[i, i, i, i]::float4[]), array_agg('a' || i))
FROM generate_series(1, 300) i;
SELECT segstore.insert('b', array_agg(301 - i::int8), array_agg(i::int8), array_agg(ARRAY[i, i, i, i]::float4[]), array_agg('b' || i))
FROM generate_series(1, 300) i;
SELECT segstore.insert('c', array_agg(i::int8), array_agg(i::text), array_agg(ARRAY[i, i, i, i]::float4[]), array_agg('c' || i))
FROM generate_series(1, 300) i;
SELECT segstore.insert('d', array_agg(i::int8), array_agg(i::int8), array_agg(ARRAY[i, i, i, i, i, i, i, i]::float4[]), array_agg('d' || i))
FROM generate_series(1, 300) i;
-- a second segment of a with other keys, and deletes written as a delta
SELECT segstore.insert('a', array_agg(i::int8), array_agg(i::int8), array_agg(ARRAY[i, i, i, i]::float4[]), array_agg('a' || i))
FROM generate_series(1001, 1300) i;
SELECT segstore.delete('a', 'id <= 10 or id == 1001');
SELECT segstore.flush('a');
SELECT segment_id, kind, rows FROM segstore.binlogs('a') ORDER BY segment_id, kind;

-- Run a statement and report its error without the database-specific path.
CREATE FUNCTION hf_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || regexp_replace(msg, 'segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+', 'segstore/…/<file>')
		|| CASE WHEN detail <> '' THEN ' (' || regexp_replace(detail, 'segment [0-9]+', 'segment <n>', 'g') || ')' ELSE '' END;
END $$;

-- The file of a's first segment (kind), and of another file to put there.
CREATE FUNCTION hf_file_of(coll text, k text, nth int DEFAULT 1) RETURNS text LANGUAGE sql AS $$
	SELECT path FROM segstore.binlogs(coll) b WHERE b.kind = k ORDER BY segment_id
	OFFSET nth - 1 LIMIT 1
$$;
CREATE TEMP TABLE saved AS SELECT path, pg_read_binary_file(path) AS bytes FROM segstore.binlogs('a');
-- Put the bytes of file src in place of file dst.
CREATE FUNCTION hf_put(dst text, src text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	lo oid := lo_from_bytea(0, pg_read_binary_file(src));
BEGIN
	PERFORM lo_export(lo, current_setting('data_directory') || '/' || dst);
	PERFORM lo_unlink(lo);
END $$;
CREATE FUNCTION hf_restore() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
	lo oid;
BEGIN
	FOR r IN SELECT * FROM saved LOOP
		lo := lo_from_bytea(0, r.bytes);
		PERFORM lo_export(lo, current_setting('data_directory') || '/' || r.path);
		PERFORM lo_unlink(lo);
	END LOOP;
END $$;
-- The readers: query (every column), delete and insert by key (the stats
-- binlog's bloom filter, then the key column), search (the vector column
-- and keys), a filtered search (scalar columns).
CREATE FUNCTION hf_readers() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM segstore.release('a');	-- searches read the files, not the cache
	RETURN NEXT 'query:  ' || hf_try('SELECT count(*) FROM segstore.query(''a'', ''id > 0'')');
	RETURN NEXT 'delete: ' || hf_try('SELECT segstore.delete(''a'', ARRAY[20]::int8[])');
	RETURN NEXT 'insert: ' || hf_try('SELECT segstore.insert(''a'', ARRAY[30]::int8[], ARRAY[1]::int8[], ARRAY[[1,1,1,1]]::float4[][], ARRAY[''x''])');
	RETURN NEXT 'search: ' || hf_try('SELECT count(*) FROM segstore.search(''a'', ARRAY[1,1,1,1]::float4[], 5)');
	RETURN NEXT 'filter: ' || hf_try('SELECT count(*) FROM segstore.search(''a'', ARRAY[1,1,1,1]::float4[], 5, filter => ''s like "a1%"'')');
END $$;

SELECT hf_readers();

-- an insert binlog of another collection whose column 1 is text
SELECT hf_put(hf_file_of('a', 'insert'), hf_file_of('c', 'insert'));
SELECT hf_readers();
SELECT hf_restore();
-- ... whose vectors have another dimension
SELECT hf_put(hf_file_of('a', 'insert'), hf_file_of('d', 'insert'));
SELECT hf_readers();
SELECT hf_restore();
-- ... whose column 0 is not the key: within the range, descending
SELECT hf_put(hf_file_of('a', 'insert'), hf_file_of('b', 'insert'));
SELECT hf_readers();
SELECT hf_restore();
-- the other segment's insert binlog: same shape and rows, keys outside the range
SELECT hf_put(hf_file_of('a', 'insert', 1), hf_file_of('a', 'insert', 2));
SELECT hf_readers();
SELECT hf_restore();
-- a delta binlog where the insert binlog should be
SELECT hf_put(hf_file_of('a', 'insert'), hf_file_of('a', 'delta'));
SELECT hf_readers();
SELECT hf_restore();
-- the other segment's stats binlog: a valid bloom filter of other keys
SELECT hf_put(hf_file_of('a', 'stats', 1), hf_file_of('a', 'stats', 2));
SELECT hf_readers();
SELECT hf_restore();
-- an insert binlog where the stats binlog should be
SELECT hf_put(hf_file_of('a', 'stats'), hf_file_of('a', 'insert'));
SELECT hf_readers();
SELECT hf_restore();
-- an insert binlog where a delta binlog should be
SELECT hf_put(hf_file_of('a', 'delta'), hf_file_of('a', 'insert'));
SELECT hf_readers();
SELECT hf_restore();
-- a stats binlog where a delta binlog should be: one row, four columns
SELECT hf_put(hf_file_of('a', 'delta'), hf_file_of('a', 'stats'));
SELECT hf_readers();
SELECT hf_restore();

-- compaction reads every column of its sources: the plan fails with the
-- reader's error and the sources stay as they were
SELECT hf_put(hf_file_of('a', 'insert'), hf_file_of('b', 'insert'));
SELECT segstore.compact('a') > 0 AS queued;
SELECT segstore.wait_for_compaction((SELECT max(compaction_id) FROM segstore.compactions));
SELECT regexp_replace(error, 'segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+', 'segstore/…/<file>') AS error
FROM segstore.compaction_plans((SELECT max(compaction_id) FROM segstore.compactions)) WHERE state = 'failed';
SELECT hf_restore();
SELECT segstore.compact('a') > 0 AS queued;
SELECT segstore.wait_for_compaction((SELECT max(compaction_id) FROM segstore.compactions));
SELECT hf_readers();
SELECT segstore.num_entities('a');

DROP FUNCTION hf_try(text), hf_file_of(text, text, int), hf_put(text, text), hf_restore(), hf_readers();
DROP EXTENSION segstore;

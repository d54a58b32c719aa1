-- A damaged file is reported as corrupt (XX001) naming the file, never a
-- crash or a wrong answer.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;
SELECT segstore.create_collection('k', 'id int8 PRIMARY KEY, v float4[4], s text') > 0;
SELECT segstore.insert('k', array_agg(i::int8), array_agg(ARRAY[i, i, i, i]::float4[]), array_agg('row ' || i))
FROM generate_series(1, 1000) i;
SELECT segstore.delete('k', 'id <= 10');
SELECT segstore.flush('k');

-- Run a statement and report its error without the database-specific path.
CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || regexp_replace(msg, 'segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+', 'segstore/…/<file>')
		|| CASE WHEN detail <> '' THEN ' (' || detail || ')' ELSE '' END;
END $$;

-- Overwrite a file with its bytes changed by fn(bytes).
CREATE FUNCTION damage(kind text, how text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	p text;
	b bytea;
	lo oid;
BEGIN
	SELECT path INTO p FROM segstore.binlogs('k') b WHERE b.kind = damage.kind;
	b := pg_read_binary_file(p);
	IF how = 'flip middle' THEN
		b := set_byte(b, length(b) / 2, get_byte(b, length(b) / 2) # 1);
	ELSIF how = 'flip first' THEN
		b := set_byte(b, 0, get_byte(b, 0) # 128);
	ELSIF how = 'flip last' THEN
		b := set_byte(b, length(b) - 1, get_byte(b, length(b) - 1) # 1);
	ELSIF how = 'truncate' THEN
		b := substring(b FROM 1 FOR length(b) - 7);
	END IF;
	lo := lo_from_bytea(0, b);
	PERFORM lo_export(lo, current_setting('data_directory') || '/' || p);
	PERFORM lo_unlink(lo);
END $$;

CREATE TEMP TABLE saved AS SELECT kind, pg_read_binary_file(path) AS bytes, path
FROM segstore.binlogs('k');
CREATE FUNCTION restore() RETURNS void LANGUAGE plpgsql AS $$
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

SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');

SELECT damage('insert', 'flip middle');
SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');
-- a delete reads only the scalar columns, each verified, so it still works
SELECT try('SELECT segstore.delete(''k'', ''s like "row 5%"'')');
SELECT restore();
SELECT damage('insert', 'flip first');
SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');
SELECT restore();
SELECT damage('insert', 'flip last');
SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');
SELECT restore();
SELECT damage('insert', 'truncate');
SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');
SELECT restore();

-- the bloom filter routes deletes by key and duplicate checks on insert
SELECT damage('stats', 'flip middle');
SELECT try('SELECT segstore.delete(''k'', ARRAY[500]::int8[])');
SELECT try('SELECT segstore.insert(''k'', ARRAY[500]::int8[], ARRAY[[1,1,1,1]]::float4[][], ARRAY[''x''])');
SELECT restore();

SELECT damage('delta', 'truncate');
SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');
SELECT restore();

-- and all is well again once the files are back
SELECT try('SELECT count(*) FROM segstore.query(''k'', ''id > 0'')');
SELECT count(*) FROM segstore.query('k', 'id > 0');

DROP EXTENSION segstore;

-- segstore.verify(collection): reads every file of a collection's flushed
-- segments and reports every problem, one row each, without stopping at
-- the first: checksums, shapes, row counts, key order and range, bloom
-- filters, delta keys, index files; damage to the files and to the
-- catalog.  No rows for a sound collection.  Owners and superusers only.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;
SELECT segstore.create_collection('v', 'id int8 PRIMARY KEY, x int8, vec float4[4], s text') > 0;
-- same column types, but column 0 (x) descends while the key ascends
SELECT segstore.create_collection('w', 'x int8, id int8 PRIMARY KEY, vec float4[4], s text') > 0;
-- three segments of 300 rows; deletes in the first two as delta binlogs,
-- then a pending delete in the third; every segment gets an index file
SELECT segstore.insert('v', array_agg(i::int8), array_agg(i::int8), array_agg(ARRAY[i, -i, i / 2.0, 1]::float4[]), array_agg('v' || i))
FROM generate_series(1, 300) i;
SELECT segstore.insert('v', array_agg(i::int8), array_agg(i::int8), array_agg(ARRAY[i, -i, i / 2.0, 1]::float4[]), array_agg('v' || i))
FROM generate_series(1001, 1300) i;
SELECT segstore.insert('v', array_agg(i::int8), array_agg(i::int8), array_agg(ARRAY[i, -i, i / 2.0, 1]::float4[]), array_agg('v' || i))
FROM generate_series(2001, 2300) i;
SELECT segstore.insert('w', array_agg(301 - i::int8), array_agg(i::int8), array_agg(ARRAY[i, i, i, i]::float4[]), array_agg('w' || i))
FROM generate_series(1, 300) i;
SELECT segstore.delete('v', 'id <= 10 or id == 1001');
SELECT segstore.flush('v');
SELECT segstore.delete('v', ARRAY[2001]::int8[]);
SELECT segstore.create_index('v', 'vec', 'FLAT', 'L2', '{}');
SELECT kind, count(*) FROM segstore.binlogs('v') GROUP BY kind ORDER BY kind;

-- Problems with the segment as its rank, paths and numbers of segments hidden,
-- and the sizes of insert and delta binlogs, whose row and delete times
-- make their compressed size vary by a few bytes from run to run.
CREATE FUNCTION vf() RETURNS TABLE (seg bigint, file_kind text, has_path boolean, problem text, detail text)
LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM segstore.segments('v') s WHERE s.segment_id <= p.segment_id AND s.state = 'flushed'),
		   p.file_kind, p.path IS NOT NULL, p.problem,
		   regexp_replace(regexp_replace(regexp_replace(p.detail, 'segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+', 'segstore/…/<file>', 'g'),
										 '(segment|definition) [0-9]+', '\1 <n>', 'g'),
						  CASE WHEN p.file_kind IN ('insert', 'delta') AND p.problem = 'size' THEN '[0-9]+' ELSE '^$' END,
						  '<n>', 'g')
	FROM segstore.verify('v') p
	ORDER BY 1, 2, 4, 5
$$;
-- The nth file of a kind of v, in segment order.
CREATE FUNCTION vf_file(k text, nth int DEFAULT 1) RETURNS text LANGUAGE sql AS $$
	SELECT path FROM segstore.binlogs('v') b WHERE b.kind = k ORDER BY segment_id
	OFFSET nth - 1 LIMIT 1
$$;
CREATE TEMP TABLE saved AS SELECT path, pg_read_binary_file(path) AS bytes FROM segstore.binlogs('v');
-- Write bytes as the file at path (relative to the data directory).
CREATE FUNCTION vf_write(dst text, bytes bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	lo oid := lo_from_bytea(0, bytes);
BEGIN
	PERFORM lo_export(lo, current_setting('data_directory') || '/' || dst);
	PERFORM lo_unlink(lo);
END $$;
-- Flip every bit of one byte of a file, at a fraction of its length.
CREATE FUNCTION vf_flip(dst text, at float8 DEFAULT 0.5) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	b bytea := pg_read_binary_file(dst);
	pos int := floor(length(b) * at);
BEGIN
	PERFORM vf_write(dst, set_byte(b, pos, get_byte(b, pos) # 255));
END $$;
CREATE FUNCTION vf_restore() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM saved LOOP
		PERFORM vf_write(r.path, r.bytes);
	END LOOP;
END $$;

-- sound: no rows
SELECT * FROM vf();

-- Damage to the files.
-- a byte of the first insert binlog's data: a block checksum
SELECT vf_flip(vf_file('insert', 1));
SELECT * FROM vf();
SELECT vf_restore();
-- the header of the second insert binlog
SELECT vf_flip(vf_file('insert', 2), 0);
SELECT * FROM vf();
SELECT vf_restore();
-- a truncated stats binlog: too short, and not the size the catalog has
SELECT vf_write(vf_file('stats', 1), substring(pg_read_binary_file(vf_file('stats', 1)) FOR 20));
SELECT * FROM vf();
SELECT vf_restore();
-- a byte of a delta binlog and of an index file, at once: both reported
SELECT vf_flip(vf_file('delta', 1));
SELECT vf_flip(vf_file('index', 3));
SELECT * FROM vf();
SELECT vf_restore();
-- keys out of order: w's insert binlog, whose column 0 descends
SELECT vf_write(vf_file('insert', 1), pg_read_binary_file((SELECT path FROM segstore.binlogs('w') WHERE kind = 'insert')));
SELECT * FROM vf();
SELECT vf_restore();
-- keys outside the segment: the second segment's insert binlog in the
-- first's place (the first's bloom filter, deletes and index disagree)
SELECT vf_write(vf_file('insert', 1), pg_read_binary_file(vf_file('insert', 2)));
SELECT * FROM vf();
SELECT vf_restore();
-- another segment's stats binlog and delta binlog
SELECT vf_write(vf_file('stats', 1), pg_read_binary_file(vf_file('stats', 3)));
SELECT vf_write(vf_file('delta', 1), pg_read_binary_file(vf_file('delta', 2)));
SELECT * FROM vf();
SELECT vf_restore();
-- another segment's index file
SELECT vf_write(vf_file('index', 2), pg_read_binary_file(vf_file('index', 1)));
SELECT * FROM vf();
SELECT vf_restore();

-- Index files whose checksums are right but whose content is not: the
-- reader checks that each row is listed once and every float is finite.
-- CRC32C as segstore computes it, and a file's checksums made right again.
CREATE FUNCTION vf_crc(b bytea, first int, len int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	crc bigint := 4294967295;
BEGIN
	FOR i IN first .. first + len - 1 LOOP
		crc := crc # get_byte(b, i);
		FOR k IN 1 .. 8 LOOP
			IF crc & 1 = 1 THEN
				crc := (crc >> 1) # 2197175160;
			ELSE
				crc := crc >> 1;
			END IF;
		END LOOP;
	END LOOP;
	RETURN crc # 4294967295;
END $$;
CREATE FUNCTION vf_put32(b bytea, pos int, val bigint) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN
	FOR k IN 0 .. 3 LOOP
		b := set_byte(b, pos + k, ((val >> (8 * k)) & 255)::int);
	END LOOP;
	RETURN b;
END $$;
CREATE FUNCTION vf_reseal(b bytea) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN
	b := vf_put32(b, 52, vf_crc(b, 64, length(b) - 64));
	RETURN vf_put32(b, 60, vf_crc(b, 0, 60));
END $$;
-- the layout of a FLAT file of 300 rows of dim 4: vectors at 192, rows at 4992
SELECT length(pg_read_binary_file(vf_file('index', 1))) AS index_bytes;
-- resealed unchanged: sound
SELECT vf_write(vf_file('index', 1), vf_reseal(pg_read_binary_file(vf_file('index', 1))));
SELECT * FROM vf();
-- entry 1 lists the row of entry 0 again
SELECT vf_write(vf_file('index', 1), vf_reseal(overlay(pg_read_binary_file(vf_file('index', 1))
	PLACING substring(pg_read_binary_file(vf_file('index', 1)) FROM 4993 FOR 4) FROM 4997)));
SELECT * FROM vf();
SELECT vf_restore();
-- a NaN (0x7fc00000) in the first vector
SELECT vf_write(vf_file('index', 1), vf_reseal(vf_put32(pg_read_binary_file(vf_file('index', 1)), 192, 2143289344)));
SELECT * FROM vf();
SELECT vf_restore();
SELECT * FROM vf();

-- Damage to the catalog, as a superuser can do it (rolled back).
BEGIN;
-- a file that is not there
UPDATE segstore.binlog SET path = path || '.gone' WHERE path = vf_file('delta', 2);
-- a row count and a key range that are not the files'
UPDATE segstore.segment SET num_rows = 299 WHERE segment_id = (SELECT min(segment_id) FROM segstore.segments('v'));
UPDATE segstore.segment SET pk_max = 2400 WHERE segment_id = (SELECT max(segment_id) FROM segstore.segments('v'));
-- a recorded size that is not the file's
UPDATE segstore.binlog SET size_bytes = size_bytes + 1 WHERE path = vf_file('index', 2);
-- a pending delete of a key the segment does not have
INSERT INTO segstore.pending_delete
SELECT collection_id, segment_id, 1500, now() FROM segstore.segment WHERE segment_id = (SELECT segment_id FROM segstore.segments('v') ORDER BY 1 OFFSET 1 LIMIT 1);
-- a segment without its stats binlog
DELETE FROM segstore.binlog WHERE path = vf_file('stats', 3);
SELECT * FROM vf();
ROLLBACK;
SELECT * FROM vf();

-- Owners and superusers only.
CREATE FUNCTION vf_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE ROLE regress_verify_owner;
CREATE ROLE regress_verify_other;
GRANT CREATE ON SCHEMA segstore_data TO regress_verify_owner;
SET ROLE regress_verify_owner;
SELECT segstore.create_collection('mine', 'id int8 PRIMARY KEY, vec float4[2]') > 0;
SELECT segstore.insert('mine', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[])) FROM generate_series(1, 20) i;
SELECT segstore.grant('mine', '{all}', 'regress_verify_other');
SELECT count(*) FROM segstore.verify('mine');
SET ROLE regress_verify_other;
SELECT count(*) FROM segstore.query('mine', 'id > 0');
SELECT vf_try('SELECT count(*) FROM segstore.verify(''mine'')');
SELECT vf_try('SELECT count(*) FROM segstore.verify(''v'')');
RESET ROLE;
SELECT count(*) FROM segstore.verify('mine');
SELECT vf_try('SELECT count(*) FROM segstore.verify(''nosuch'')');
SELECT * FROM segstore.verify(NULL);

SELECT segstore.drop_collection('mine');
DROP FUNCTION vf_try(text), vf_crc(bytea, int, int), vf_put32(bytea, int, bigint), vf_reseal(bytea), vf(), vf_file(text, int), vf_write(text, bytea), vf_flip(text, float8), vf_restore();
DROP EXTENSION segstore;
DROP ROLE regress_verify_owner, regress_verify_other;

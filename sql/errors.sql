-- Every bad input gets a clear error with a fitting SQLSTATE and changes nothing.
CREATE EXTENSION segstore;
\set VERBOSITY default
\set SHOW_CONTEXT never
-- show the SQLSTATE of each error
\set ON_ERROR_STOP 0
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, vector float4[3], tag varchar(5), n int4, x float4') > 0;

-- collection names and field lists
SELECT segstore.create_collection('Bad Name', 'id int8 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('c1; drop table x', 'id int8 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('', 'id int8 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('c2', 'id int8, v float4[3]');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, k int8 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('c2', 'id int4 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], w float4[3]');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[]');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[0]');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[32769]');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], d date');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], s varchar');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], id text');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], "and" int4');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], n int4 CHECK (n > 0)');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3]) ; DROP TABLE x; --');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY, v float4[3], n int4 DEFAULT 1');
SELECT segstore.create_collection('c2', 'id int8 PRIMARY KEY v float4[3]');
SELECT segstore.create_collection(NULL, 'id int8 PRIMARY KEY, v float4[3]');
SELECT segstore.create_collection('c2', 'id bigint PRIMARY KEY, v real[32768], t character varying(3), b boolean, j jsonb, d double precision NOT NULL') > 0 AS spellings_ok;
SELECT fields FROM segstore.collections WHERE name = 'c2';

-- unknown collections
SELECT segstore.insert('nope', ARRAY[1]::int8[]);
SELECT segstore.delete('nope', 'id == 1');
SELECT segstore.delete('nope', ARRAY[1]::int8[]);
SELECT segstore.flush('nope');
SELECT segstore.num_entities('nope');
SELECT * FROM segstore.query('nope', 'id > 0');
SELECT * FROM segstore.segments('nope');
SELECT * FROM segstore.binlogs('nope');
SELECT * FROM segstore.collection_stats('nope');
SELECT segstore.drop_collection('nope');
SELECT segstore.alter_collection('nope', auto_compaction => false);

-- insert: shapes and types
SELECT segstore.insert('c', ARRAY[1]::int8[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[], ARRAY[1]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], '{1}');
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY[1], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY['1']::text[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1,2]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a', 'b'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], NULL::float4[], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
-- vectors: dimension, nulls, NaN, infinity, shape
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[1,2,3]::float4[], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,NULL,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,'NaN',3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1,2]::int8[], ARRAY[[1,2,3],[1,'Infinity',3]]::float4[][], ARRAY['a','b'], ARRAY[1,2], ARRAY[1,2]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,'-Infinity',3]]::float8[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,1e300,3]]::float8[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
-- scalars: nulls, lengths, ranges
SELECT segstore.insert('c', ARRAY[NULL]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY[NULL::text], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['toolong'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['héllo'], ARRAY[1], ARRAY[1]::float4[]) AS five_chars_fit;
SELECT segstore.insert('c', ARRAY[2]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[3000000000]::int8[], ARRAY[1]::float4[]);
SELECT segstore.insert('c', ARRAY[2]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1e300]::float8[]);
-- duplicate primary keys: in the batch, in the growing segment, in a sealed one
SELECT segstore.insert('c', ARRAY[5,5]::int8[], ARRAY[[1,2,3],[1,2,3]]::float4[][], ARRAY['a','b'], ARRAY[1,2], ARRAY[1,2]::float4[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[1,2,3]]::float4[][], ARRAY['a'], ARRAY[1], ARRAY[1]::float4[]);
SELECT segstore.flush('c');
SELECT segstore.insert('c', ARRAY[7,1]::int8[], ARRAY[[1,2,3],[1,2,3]]::float4[][], ARRAY['a','b'], ARRAY[1,2], ARRAY[1,2]::float4[]);
-- nothing of the failed inserts is there
SELECT segstore.num_entities('c');
SELECT * FROM segstore.query('c', NULL);
-- a deleted key may come back
SELECT segstore.delete('c', ARRAY[1]::int8[]);
SELECT segstore.insert('c', ARRAY[1]::int8[], ARRAY[[3,2,1]]::float4[][], ARRAY['back'], ARRAY[1], ARRAY[1]::float4[]);
SELECT * FROM segstore.query('c', NULL);
-- empty batches are fine
SELECT segstore.insert('c', '{}'::int8[], '{}'::float4[], '{}'::text[], '{}'::int4[], '{}'::float4[]);

-- delete by ids with nulls ignores the nulls
SELECT segstore.delete('c', ARRAY[NULL, 1]::int8[]);
SELECT segstore.delete('c', NULL::text);

-- GUC values out of range
SET segstore.insert_direct_threshold = 0;
SET segstore.compression_level = 99;
SET segstore.max_segment_size = '1kB';
SET segstore.seal_proportion = 0;
SET segstore.seal_proportion = 2;
SET segstore.no_such_setting = 1;

DROP EXTENSION segstore;

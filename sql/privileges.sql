-- Collections belong to roles; PostgreSQL's privileges decide who may read,
-- write, alter and drop them: those of the view segstore_data.<name> that
-- stands for each collection (GRANT and REVOKE on it work as on a table).
-- sql/security.sql has the whole model and the attacks it stops.
CREATE EXTENSION segstore;
\set VERBOSITY default
CREATE ROLE regress_alice;
CREATE ROLE regress_bob;
-- creating collections needs CREATE on schema segstore_data
SET ROLE regress_alice;
SELECT segstore.create_collection('mine', 'id int8 PRIMARY KEY, v float4[2]');
RESET ROLE;
GRANT CREATE ON SCHEMA segstore_data TO regress_alice;
SET ROLE regress_alice;
SELECT segstore.create_collection('mine', 'id int8 PRIMARY KEY, v float4[2]') > 0;
SELECT segstore.insert('mine', ARRAY[1, 2, 3]::int8[], ARRAY[[1,1],[2,2],[3,3]]::float4[][]);
SELECT segstore.flush('mine');
SELECT name, owner FROM segstore.collections;
-- the catalog itself is out of reach
SELECT count(*) FROM segstore.segment;
SELECT segstore.gc();

-- bob can do nothing yet; he sees the collection listed, as pg_class shows
-- every table
SET ROLE regress_bob;
SELECT name FROM segstore.collections;
SELECT segstore.num_entities('mine');
SELECT * FROM segstore.query('mine', 'id > 0');
SELECT * FROM segstore.segments('mine');
SELECT segstore.insert('mine', ARRAY[9]::int8[], ARRAY[[9,9]]::float4[][]);
SELECT segstore.delete('mine', ARRAY[1]::int8[]);
SELECT segstore.flush('mine');
SELECT segstore.drop_collection('mine');
SELECT segstore.alter_collection('mine', auto_compaction => false);
SELECT count(*) FROM segstore_data.mine;

-- reading
SET ROLE regress_alice;
GRANT SELECT ON segstore_data.mine TO regress_bob;
SET ROLE regress_bob;
SELECT segstore.num_entities('mine');
SELECT count(*) FROM segstore.query('mine', 'id > 0');
SELECT count(*) FROM segstore.segments('mine');
SELECT segstore.insert('mine', ARRAY[9]::int8[], ARRAY[[9,9]]::float4[][]);

-- writing
SET ROLE regress_alice;
GRANT INSERT, DELETE ON segstore_data.mine TO regress_bob;
SET ROLE regress_bob;
SELECT segstore.insert('mine', ARRAY[9]::int8[], ARRAY[[9,9]]::float4[][]);
-- upsert needs UPDATE too, as INSERT ... ON CONFLICT DO UPDATE does
SELECT segstore.upsert('mine', ARRAY[9]::int8[], ARRAY[[8,8]]::float4[][]);
SET ROLE regress_alice;
GRANT UPDATE ON segstore_data.mine TO regress_bob;
SET ROLE regress_bob;
SELECT segstore.upsert('mine', ARRAY[9]::int8[], ARRAY[[8,8]]::float4[][]);
SELECT segstore.delete('mine', 'id == 1');
SELECT segstore.flush('mine');
SELECT segstore.num_entities('mine');
-- but not dropping or altering: that is the owner's
SELECT segstore.drop_collection('mine');
SELECT segstore.alter_collection('mine', auto_compaction => false);

-- revoking takes it back
SET ROLE regress_alice;
REVOKE ALL ON segstore_data.mine FROM regress_bob;
SET ROLE regress_bob;
SELECT segstore.num_entities('mine');

-- the owner alters and drops; the growing table is out of everyone's reach
SET ROLE regress_alice;
SELECT segstore.alter_collection('mine', auto_compaction => false, description => 'alice''s');
SELECT auto_compaction, description FROM segstore.collections;
SELECT growing_table FROM segstore.collections \gset
DROP TABLE :growing_table;
SELECT segstore.drop_collection('mine');
RESET ROLE;
REVOKE CREATE ON SCHEMA segstore_data FROM regress_alice;
DROP ROLE regress_alice;
DROP ROLE regress_bob;

DROP EXTENSION segstore;

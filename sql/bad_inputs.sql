-- Inputs a hostile or careless user tries through the SQL functions alone
-- (issue 13): each gets a clear error that points at the user's own text.
CREATE EXTENSION segstore;
\set VERBOSITY default
\set ON_ERROR_STOP 0

-- A field list's errors put the caret in the field list itself (shown as
-- the internal query), never at the same offset of the caller's query,
-- and never show segstore's internal statements as context.
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x int4,');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY v float4[2]');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x varchar(-1)');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x nosuchtype');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x varchar(100000000)');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x int4[]');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x int4 CHECK (x > 0)');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], x int4, x int8');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], "and" int4');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], "é" int4, x int4,');
-- system column names would clash in the growing table
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], xmin int4');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], ctid text');
SELECT segstore.create_collection('f', 'id int8 PRIMARY KEY, v float4[2], tableoid int8');
SELECT count(*) FROM segstore.collections;

-- The field limit: insert() takes the name and one array per field, at
-- most 100 arguments, so 99 fields is the most a collection may have; one
-- with 99 takes data, one with 100 is refused when it is created.
SELECT segstore.create_collection('wide',
	'id int8 PRIMARY KEY, v float4[2], ' ||
	string_agg(format('f%s int4', i), ', ')) > 0 AS created
FROM generate_series(1, 97) i;
DO $$
BEGIN
	EXECUTE format('SELECT segstore.insert(%L, ARRAY[1, 2]::int8[], ARRAY[[1, 1], [2, 2]]::float4[], %s)',
				   'wide', (SELECT string_agg(format('ARRAY[%s, %s]::int4[]', i, -i), ', ')
							FROM generate_series(1, 97) i));
END $$;
SELECT segstore.flush('wide');
SELECT segstore.num_entities('wide');
SELECT r->>'f97' AS f97 FROM segstore.query('wide', 'id == 2') r;
SELECT segstore.create_collection('wider',
	'id int8 PRIMARY KEY, v float4[2], ' ||
	string_agg(format('f%s int4', i), ', '))
FROM generate_series(1, 98) i;
SELECT segstore.has_collection('wider');

-- gc() removes files: refused in a read-only transaction (25006), as
-- every other function that writes is.
\set VERBOSITY sqlstate
BEGIN READ ONLY;
SELECT * FROM segstore.gc();
ROLLBACK;
BEGIN READ ONLY;
SELECT segstore.flush('wide');
ROLLBACK;
SET default_transaction_read_only = on;
SELECT * FROM segstore.gc();
RESET default_transaction_read_only;
\set VERBOSITY default
SELECT removed_files >= 0 AS ran FROM segstore.gc();

DROP EXTENSION segstore;

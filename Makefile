# segstore: PGXS build.  `make`, `make install`; tests: scripts/test.sh

EXTENSION = segstore
MODULE_big = segstore
DATA = segstore--0.1.sql
SRCS = $(wildcard src/*.c src/*/*.c)
OBJS = $(SRCS:.c=.o)

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --dbname=segstore_regress

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
# PostgreSQL's headers (array.h) and callback signatures trip these two
# under -Wextra.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	$(SANITIZE_FLAGS)
SHLIB_LINK = -lzstd $(SANITIZE_FLAGS)

EXTRA_CLEAN = tmp_check results regression.diffs regression.out log output_iso

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies; a changed struct must rebuild all.
$(OBJS): $(wildcard src/*.h src/*/*.h)

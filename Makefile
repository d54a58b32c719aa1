# segstore: PGXS build.  `make`, `make install`; then, against the installed
# server (pg_regress and the isolation tester start temporary instances
# preloaded with test/segstore.conf; each TAP test makes its own clusters):
#
#   make installcheck              pg_regress, isolation and TAP suites
#   make installcheck-regress      pg_regress only (sql/, expected/)
#   make installcheck-isolation    isolation specs only (test/isolation/)
#   make prove_installcheck        TAP only (test/t/*.pl; PROVE_TESTS=... picks)
#   make check-layers              the layering of src/ and the checker's tests
#
# scripts/test.sh runs all of them against a private copy of PostgreSQL.

EXTENSION = segstore
MODULE_big = segstore
SRCS = $(wildcard src/*.c src/*/*.c)
OBJS = $(SRCS:.c=.o)

# The install script of the current version is built from segstore.sql.
# 0.1's is kept as it shipped, for installations to update from; upgrade
# scripts are written by hand.
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" segstore.control)
ifeq ($(EXTVERSION),)
$(error no default_version in segstore.control)
endif
DATA_built = segstore--$(EXTVERSION).sql
DATA = segstore--0.1.sql segstore--0.1--0.2.sql

# Each test creates and drops the extension itself, so no --load-extension.
# The temporary instances get directories of their own, so that
# installcheck-regress and installcheck-isolation may also run at once
# (make -j2).  UTF8: some tests insert non-ASCII text, and a server
# started from a shell with no locale set would otherwise be SQL_ASCII.
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=$(srcdir)/test/segstore.conf
ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=$(srcdir)/test/isolation \
	--temp-instance=./tmp_check_iso --temp-config=$(srcdir)/test/segstore.conf
ENCODING = UTF8
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
# override: Makefile.global empties PROVE_FLAGS, and flags given on the
# command line (PROVE_FLAGS=--verbose) are added to, not replaced.
override PROVE_FLAGS += -I test/t
LAYERS_TESTS = test/layers/*.t

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
# PostgreSQL's headers (array.h) and callback signatures trip these two
# under -Wextra.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	$(SANITIZE_FLAGS)
SHLIB_LINK = -lzstd $(SANITIZE_FLAGS)

EXTRA_CLEAN = tmp_check_regress

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies; a changed struct must rebuild all.
$(OBJS): $(wildcard src/*.h src/*/*.h)

$(DATA_built): segstore.sql
	cp $< $@

.PHONY: installcheck-regress installcheck-isolation prove_installcheck \
	check-layers check-layers-tree check-layers-tests

# The parts of installcheck, each on its own.  PGXS defines the commands;
# PostgreSQL's own Makefiles, not PGXS, give prove_installcheck a target.
installcheck-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)

prove_installcheck:
	$(prove_installcheck)

# The layer checker on this tree, and its own tests (LAYERS_TESTS picks
# files).  Both need the server headers of the PostgreSQL built against.
check-layers: check-layers-tree check-layers-tests

check-layers-tree:
	$(PERL) $(srcdir)/scripts/check_layers.pl --root $(srcdir) --pg-includedir $(includedir_server)

check-layers-tests:
	cd $(srcdir) && PG_CONFIG='$(PG_CONFIG)' $(PROVE) $(LAYERS_TESTS)

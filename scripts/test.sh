#!/usr/bin/env bash
# The test command: builds and installs segstore, runs every test suite and
# ends with one line "N passed, M failed".
#
#   scripts/test.sh                      all suites
#   SUITES="regress tap" scripts/test.sh pick suites: layers, regress,
#                                        isolation, tap, soak, fuzz
#   SEGSTORE_SOAK_SECONDS=1800 SUITES=soak scripts/test.sh
#                                        the soak test for 30 minutes (the
#                                        default, 60 s, is its short mode)
#   TAP_TESTS="001" scripts/test.sh      only TAP files whose name contains 001
#   SANITIZE=1 scripts/test.sh           build with ASan+UBSan, run the servers
#                                        under them; a report in a log fails
#   SEGSTORE_KEEP_TMP=1 scripts/test.sh  keep the work directory (logs, diffs)
#
# Counting: the layer check of the tree, one test file of the layer
# checker, one pg_regress test file, one isolation spec, one TAP file and
# the soak test each count as one result (a test file passes when prove
# says all of its assertions passed), plus one failure for a build that
# fails, a suite that could not run, or a sanitizer report.
#
# The suites run through the Makefile's targets (check-layers-tree,
# check-layers-tests, installcheck-regress, installcheck-isolation,
# prove_installcheck), as a developer runs them against an installed server.
#
# The build and the tests run in a copy of the tree under /tmp, so no object
# file, results/ or tmp_check/ lands in the repository.  PostgreSQL refuses
# to run as root, so as root the copy is handed to the postgres user.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITES=${SUITES:-layers regress isolation tap soak fuzz}

passed=0
failed=0
finished=0
WORK=""
TMPFS=""

finish() {
	local rc=$?
	if [ "$finished" -ne 1 ]; then
		echo "test.sh: stopped early (exit status $rc)"
		failed=$((failed + 1))
	fi
	if [ -n "$TMPFS" ]; then
		umount "$TMPFS" || echo "test.sh: could not unmount $TMPFS"
	fi
	if [ -n "$WORK" ]; then
		if [ "${SEGSTORE_KEEP_TMP:-}" = 1 ]; then
			echo "test.sh: work directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	echo "$passed passed, $failed failed"
	if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
		exit 1
	fi
	exit 0
}
trap finish EXIT

"$SRC/scripts/setup.sh"

if [ "$(id -u)" -eq 0 ]; then
	AS_USER=(runuser -u postgres --)
else
	AS_USER=()
fi

WORK=$(mktemp -d /tmp/segstore-test.XXXXXX)
tar -C "$SRC" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=./results --exclude=./tmp_check --exclude=./log --exclude=./output_iso \
	--exclude='./regression.*' -cf - . | tar -C "$WORK" -xf -

# The servers run from a private copy of PostgreSQL 15 with segstore
# installed into it, so that test runs of different trees on one machine do
# not replace each other's segstore.so.  PostgreSQL finds its share and lib
# directories relative to its binaries, so a copy of both trees works; so
# does the copy's pg_config, which reports the copy's directories.
INST="$WORK/inst"
mkdir -p "$INST/usr/lib/postgresql" "$INST/usr/share/postgresql"
cp -a /usr/lib/postgresql/15 "$INST/usr/lib/postgresql/"
cp -a /usr/share/postgresql/15 "$INST/usr/share/postgresql/"
PGBIN="$INST/usr/lib/postgresql/15/bin"

# Built against the system headers (the copy has none), and so is the
# layer check; only the install goes into the copy.  The test targets take
# the copy's pg_config: PGXS runs pg_regress, pg_isolation_regress and the
# TAP tests with the binaries of the PostgreSQL that PG_CONFIG names.
MAKE_ARGS=(PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config)
TEST_MAKE_ARGS=(PG_CONFIG="$PGBIN/pg_config")
# What every test process gets; runuser resets parts of the environment, so
# it is passed explicitly.  PATH puts PostgreSQL 15 first: the TAP modules
# call initdb, pg_ctl and psql by name.  The locale is fixed so that every
# machine's clusters are UTF8 with the same collation.
TEST_ENV=(PATH="$PGBIN:$PATH" LANG=C.UTF-8 LC_ALL=C.UTF-8)
if [ "${SANITIZE:-}" = 1 ]; then
	MAKE_ARGS+=("SANITIZE_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined")
	# The server binaries are not instrumented, so the ASan runtime must be
	# loaded first into every process that may load segstore.so; pg_regress
	# and PostgreSQL::Test::Cluster start postmasters with the environment
	# they inherit, so setting it for the whole run reaches them.
	#
	# Preloaded, ASan initialises itself on the first call it intercepts.
	# Constructors of libraries the PostgreSQL binaries link (libgpg-error,
	# p11-kit, gnutls) run before libasan's own and call bindtextdomain()
	# or newlocale(), which malloc() while holding a glibc lock; ASan's
	# initialisation then takes and releases the same lock, which leaves it
	# broken and the process hangs.  This shim, preloaded after libasan,
	# wraps those functions so that ASan is initialised before the lock is.
	cat >"$WORK/asan_early_init.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <locale.h>
#include <stdlib.h>

static void
asan_init_now(void)
{
	void	   *volatile p = malloc(1);	/* volatile: not optimised away */

	free(p);
}

#define WRAP(ret, name, params, args) \
ret name params \
{ \
	static ret (*real) params; \
	if (!real) \
	{ \
		asan_init_now(); \
		real = (ret (*) params) dlsym(RTLD_NEXT, #name); \
	} \
	return real args; \
}

WRAP(locale_t, newlocale, (int mask, const char *name, locale_t base), (mask, name, base))
WRAP(char *, bindtextdomain, (const char *domain, const char *dir), (domain, dir))
WRAP(char *, bind_textdomain_codeset, (const char *domain, const char *codeset), (domain, codeset))
WRAP(char *, textdomain, (const char *domain), (domain))
EOF
	gcc -shared -fPIC -O2 -o "$WORK/asan_early_init.so" "$WORK/asan_early_init.c" -ldl
	# Leak detection is off: PostgreSQL frees memory contexts wholesale.
	TEST_ENV+=(
		LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $WORK/asan_early_init.so"
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	)
fi

as_user() {
	"${AS_USER[@]}" env "${TEST_ENV[@]}" "$@"
}

if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$WORK"
fi
cd "$WORK"

echo "=== build${SANITIZE:+ (sanitizers)}"
if ! as_user make -j"$(nproc)" "${MAKE_ARGS[@]}"; then
	echo "test.sh: build failed"
	failed=$((failed + 1))
	finished=1
	exit 1
fi
as_user make install DESTDIR="$INST" "${MAKE_ARGS[@]}" >/dev/null

# Counts the result lines of pg_regress or pg_isolation_regress output in
# $1; sets counted to how many there were.
count_regress_output() {
	local ok bad
	ok=$(grep -cE '^(test| ) +[^ ]+ +\.\.\. ok' "$1" || true)
	bad=$(grep -cE '^(test| ) +[^ ]+ +\.\.\. (FAILED|failed)' "$1" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	counted=$((ok + bad))
}

# Fails the run for each sanitizer report in the given log files.
check_sanitizer_logs() {
	local f n
	[ "${SANITIZE:-}" = 1 ] || return 0
	for f in "$@"; do
		[ -f "$f" ] || continue
		n=$(grep -cE 'ERROR: AddressSanitizer|runtime error:' "$f" || true)
		if [ "$n" -gt 0 ]; then
			echo "--- sanitizer reports in $f:"
			grep -n -A30 -E 'ERROR: AddressSanitizer|runtime error:' "$f" | head -200
			failed=$((failed + n))
		fi
	done
}

# One result per layer check: of the tree, and each of the checker's
# test files.
run_layers() {
	local files=() f
	for f in test/layers/*.t; do
		[ -e "$f" ] && files+=("$f")
	done
	echo "=== layers: the check of the tree and ${#files[@]} test files"
	if as_user make check-layers-tree "${MAKE_ARGS[@]}"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	for f in "${files[@]}"; do
		if as_user make check-layers-tests LAYERS_TESTS="$f" "${MAKE_ARGS[@]}"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
}

run_regress() {
	local tests=(sql/*.sql) rc=0
	[ -e "${tests[0]}" ] || tests=()
	echo "=== pg_regress: ${#tests[@]} tests"
	[ ${#tests[@]} -gt 0 ] || return 0
	as_user make installcheck-regress "${TEST_MAKE_ARGS[@]}" | tee "$WORK/regress.out" || rc=$?
	count_regress_output "$WORK/regress.out"
	if [ "$rc" -ne 0 ]; then
		[ -f regression.diffs ] && cat regression.diffs
		# an abort part way (a test without expected output, a crash of
		# pg_regress) leaves tests without a result line: each is a failure
		if [ "$counted" -lt ${#tests[@]} ]; then
			echo "pg_regress ended with exit status $rc after $counted of ${#tests[@]} tests"
			tail -n 50 log/initdb.log log/postmaster.log 2>/dev/null || true
			failed=$((failed + ${#tests[@]} - counted))
		fi
	fi
	check_sanitizer_logs log/postmaster.log
}

run_isolation() {
	local specs=(test/isolation/specs/*.spec) rc=0
	[ -e "${specs[0]}" ] || specs=()
	echo "=== isolation: ${#specs[@]} specs"
	[ ${#specs[@]} -gt 0 ] || return 0
	as_user make installcheck-isolation "${TEST_MAKE_ARGS[@]}" | tee "$WORK/isolation.out" || rc=$?
	count_regress_output "$WORK/isolation.out"
	if [ "$rc" -ne 0 ]; then
		[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
		if [ "$counted" -lt ${#specs[@]} ]; then
			echo "pg_isolation_regress ended with exit status $rc after $counted of ${#specs[@]} specs"
			tail -n 50 output_iso/log/initdb.log output_iso/log/postmaster.log 2>/dev/null || true
			failed=$((failed + ${#specs[@]} - counted))
		fi
	fi
	check_sanitizer_logs output_iso/log/postmaster.log
}

# A small disk that can really fill up, for the fault test (016), which
# puts its server's segstore directory on it.  Mounting needs root, so
# only a run as root (as CI runs) gets one; the test skips without it.
# finish() unmounts it, whatever happened.
mount_test_tmpfs() {
	[ "$(id -u)" -eq 0 ] || return 0
	mkdir -p "$WORK/tmpfs"
	if mount -t tmpfs -o size=64m,mode=0700,uid="$(id -u postgres)",gid="$(id -g postgres)" \
		segstore-test "$WORK/tmpfs"; then
		TMPFS="$WORK/tmpfs"
		TEST_ENV+=(SEGSTORE_TEST_TMPFS="$TMPFS")
	else
		echo "test.sh: could not mount a tmpfs; the fault test will skip"
	fi
}

run_tap() {
	local files=() f name logs
	for f in test/t/*.pl; do
		[ -e "$f" ] || continue
		[[ "$f" == *"${TAP_TESTS:-}"* ]] && files+=("$f")
	done
	mount_test_tmpfs
	echo "=== TAP: ${#files[@]} files"
	# One file at a time, each counted; prove_installcheck empties
	# tmp_check/ first, so each file's logs are read before the next runs.
	for f in "${files[@]}"; do
		name=$(basename "$f" .pl)
		if as_user make prove_installcheck PROVE_TESTS="$f" PROVE_FLAGS=--timer \
			"${TEST_MAKE_ARGS[@]}"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "--- $f failed; end of its logs:"
			for logs in tmp_check/log/regress_log_"$name" tmp_check/log/"$name"_*.log; do
				[ -f "$logs" ] || continue
				echo "--- $logs"
				tail -n 60 "$logs"
			done
		fi
		check_sanitizer_logs tmp_check/log/*.log
	done
}

# The soak test (test/soak/soak.pl), one result; its logs as a TAP file's.
run_soak() {
	local logs
	echo "=== soak: ${SEGSTORE_SOAK_SECONDS:-60} s"
	if as_user make prove_installcheck PROVE_TESTS=test/soak/soak.pl PROVE_FLAGS=--timer \
		"${TEST_MAKE_ARGS[@]}"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "--- test/soak/soak.pl failed; end of its logs:"
		for logs in tmp_check/log/regress_log_soak tmp_check/log/soak_*.log; do
			[ -f "$logs" ] || continue
			echo "--- $logs"
			tail -n 60 "$logs"
		done
	fi
	check_sanitizer_logs tmp_check/log/*.log
}

# One result per fuzz target: built under ASan and UBSan (test/fuzz/build.sh)
# and run once over every input of its committed corpus, which holds the
# seeds and the inputs that found bugs.  Fuzzing itself is test/fuzz/run.sh.
run_fuzz() {
	local t inputs
	echo "=== fuzz: replaying the corpora of test/fuzz"
	if ! as_user test/fuzz/build.sh "$WORK/fuzz" >"$WORK/fuzz-build.log" 2>&1; then
		cat "$WORK/fuzz-build.log"
		failed=$((failed + 1))
		return 0
	fi
	for t in expr binlog index bloom; do
		inputs=(test/fuzz/corpus/"$t"/*)
		# The targets carry clang's sanitizer runtime: not SANITIZE's gcc one.
		if as_user env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS \
			"$WORK/fuzz/fuzz_$t" "${inputs[@]}" >"$WORK/fuzz-$t.log" 2>&1; then
			echo "fuzz $t: ${#inputs[@]} inputs, ok"
			passed=$((passed + 1))
		else
			echo "fuzz $t: failed"
			tail -n 60 "$WORK/fuzz-$t.log"
			failed=$((failed + 1))
		fi
	done
}

for suite in $SUITES; do
	case "$suite" in
	layers) run_layers ;;
	regress) run_regress ;;
	isolation) run_isolation ;;
	tap) run_tap ;;
	soak) run_soak ;;
	fuzz) run_fuzz ;;
	*)
		echo "test.sh: unknown suite '$suite' (layers, regress, isolation, tap, soak, fuzz)"
		failed=$((failed + 1))
		;;
	esac
done
finished=1

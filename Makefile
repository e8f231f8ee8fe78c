# PGXS build of ar_collect.
#
# The install script of the current version is assembled from the ordered
# pieces in src/sql/ (one per concept); the upgrade script from version A to
# B, ar_collect--A--B.sql, from the ordered pieces in src/upgrade/A--B/.
# The install scripts of released versions are kept as they shipped in
# releases/, so that an older version can still be installed and upgraded.

EXTENSION  = ar_collect
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = ar_collect
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

SQL_PIECES = $(sort $(wildcard src/sql/*.sql))
UPGRADES   = $(notdir $(wildcard src/upgrade/*--*))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(patsubst %,$(EXTENSION)--%.sql,$(UPGRADES))
DATA       = $(wildcard releases/$(EXTENSION)--*.sql)

# Tests live under test/: pg_regress (test/sql/NAME.sql with
# test/expected/NAME.out), the isolation tester (test/specs/NAME.spec),
# pgTAP (test/pgtap/, run by pg_prove) and shell scripts printing TAP
# (test/t/); tools/test.sh runs them all.
REGRESS      = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

PG_CFLAGS = -Wall -Wextra $(if $(WERROR),-Werror)

PG_CONFIG ?= pg_config
# The server headers are the system's: -Wextra judges our code, not theirs
# (some of their inline functions leave parameters unused).
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server)
# camt statements are XML (libxml2, which PostgreSQL itself links)
PG_CPPFLAGS += -I/usr/include/libxml2
SHLIB_LINK += -lxml2

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PIECES) $(EXTENSION).control
	cat $(SQL_PIECES) > $@

.SECONDEXPANSION:
$(EXTENSION)--%.sql: $$(sort $$(wildcard src/upgrade/$$*/*.sql))
	cat $^ > $@

# Releasing the current version: its built install and upgrade scripts are
# kept as they ship (README, Upgrading); src/upgrade/<A>--$(EXTVERSION) is
# then removed by hand and the commit tagged.
freeze: $(DATA_built)
	@for f in $(DATA_built); do \
		if [ -e releases/$$f ]; then echo "releases/$$f exists: $(EXTVERSION) is already frozen" >&2; exit 1; fi; \
	done
	cp $(DATA_built) releases/
.PHONY: freeze

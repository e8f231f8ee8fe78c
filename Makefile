# PGXS build of ar_collect.
#
# The install script of the current version is assembled from the ordered
# pieces in src/sql/ (one per concept); upgrade scripts ar_collect--A--B.sql
# are written by hand at the top level and shipped as they are.

EXTENSION  = ar_collect
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = ar_collect
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

SQL_PIECES = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA       = $(wildcard $(EXTENSION)--*--*.sql)

# pg_regress: every sql/NAME.sql with expected/NAME.out, in name order.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)
# isolation tester: two or more real sessions (specs/NAME.spec).
ISOLATION      = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --inputdir=. --load-extension=$(EXTENSION)

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

EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql

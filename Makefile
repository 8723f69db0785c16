# SPDX-License-Identifier: Apache-2.0
# periskop: one non-recursive Makefile.  Optional overrides go in config.mk.

-include config.mk

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/periskop
SYSCONFDIR ?= $(PREFIX)/etc/periskop
LIBDIR	?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

CC	?= cc
PKG_CONFIG ?= pkg-config
CFLAGS	?= -O2 -g
WARN	 = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2
PKGS	 = libcurl yaml-0.1 sqlite3 libpq libmariadb libmicrohttpd \
	   libpcre2-8
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# jansson only in tests: the reference that jdoc's reader is held to.
REF_CFLAGS = $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
REF_LIBS = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null) $(REF_CFLAGS)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null) $(REF_LIBS)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(LIB_INC) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDLIBS	 = $(PKG_LIBS) -lresolv -lpthread -lm
SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer

# Every folder under cmd/ is a program.
PROGS	 = $(notdir $(wildcard cmd/periskop-*))
BINS	 = $(PROGS:%=bin/%)
# lib/ in one folder per stage (lib/LAYERS); one static library.
LIB_SRC	 = $(wildcard lib/*/*.c)
LIB_HDR	 = $(wildcard lib/*/*.h)
LIB_INC	 = $(patsubst %/,-I%,$(sort $(dir $(LIB_HDR))))
LIB_OBJ	 = $(LIB_SRC:%.c=build/%.o)
SAN_OBJ	 = $(LIB_SRC:%.c=build/san/%.o)
HELPERS	 = $(patsubst t/helper/%.c,build/t/helper/%,$(wildcard t/helper/*.c))
UNITS	 = $(patsubst t/unit/%.c,build/san/t/unit/%,$(wildcard t/unit/check_*.c))
MAN	 = $(wildcard man/*.[1-8])
FUZZ	 = $(patsubst t/fuzz/%.c,build/fuzz/%,$(wildcard t/fuzz/fuzz_*.c))
FUZZ_OBJ = $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_CC	 = clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60

# Debian 12 packages: to build, then to test.
DEB_BUILD = gcc make pkg-config libcurl4-openssl-dev libjansson-dev \
	   libyaml-dev libsqlite3-dev libpq-dev libmariadb-dev libmicrohttpd-dev \
	   libpcre2-dev
DEB_TEST = check curl jq perl sqlite3 mandoc procps clang libclang-rt-14-dev \
	   prometheus dnsmasq-base iproute2 util-linux time valgrind postgresql \
	   mariadb-server faketime prometheus-alertmanager

.PHONY: all check unit integration run install uninstall clean lint deps \
	deps-test deps-ui deps-bench deps-install bench fuzz fuzz-smoke soak \
	valgrind timeshift programs deb deb-check
.SUFFIXES:

all: deps $(BINS) $(HELPERS)

# Installs missing Debian packages when root, or says what to run.
deps:
	@$(MAKE) -s --no-print-directory deps-install \
	    DEPS_CHECK='$(PKG_CONFIG) --exists $(PKGS)' DEPS_PKGS='$(DEB_BUILD)'
deps-test:
	@$(MAKE) -s --no-print-directory deps-install \
	    DEPS_CHECK='$(PKG_CONFIG) --exists check && command -v jq && command -v curl && command -v prove && command -v sqlite3 && command -v mandoc && command -v clang && command -v promtool && command -v dnsmasq && command -v ip && test -x /usr/bin/time && command -v valgrind && ls /usr/lib/postgresql/*/bin/initdb && command -v mariadb-install-db && test -d /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux && command -v faketime && command -v prometheus-alertmanager' \
	    DEPS_PKGS='$(DEB_TEST)'
# The browser tests: Debian's Chromium, and Node.js for playwright-core.
deps-ui:
	@$(MAKE) -s --no-print-directory deps-install \
	    DEPS_CHECK='command -v chromium' DEPS_PKGS='chromium'
	@$(MAKE) -s --no-print-directory deps-install \
	    DEPS_CHECK='command -v node && command -v npm' DEPS_PKGS='nodejs npm'
deps-install:
	@if ! ( $(DEPS_CHECK) ) >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing: $(DEPS_PKGS)"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			    --no-install-recommends $(DEPS_PKGS) >/dev/null || \
			{ apt-get update -q >/dev/null && \
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			    --no-install-recommends $(DEPS_PKGS) >/dev/null; } || exit 1; \
		else \
			echo "missing packages; run as root:"; \
			echo "  apt-get install $(DEPS_PKGS)"; exit 1; \
		fi; \
	fi

build/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/san/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

build/libperiskop.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

build/san/libperiskop.a: $(SAN_OBJ)
	@rm -f $@
	ar rcs $@ $(SAN_OBJ)

.SECONDEXPANSION:
bin/%: $$(wildcard cmd/%/*.c) $$(wildcard cmd/%/*.h) build/libperiskop.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^) build/libperiskop.a \
	    $(LDLIBS)

build/t/helper/%: t/helper/%.c build/libperiskop.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< build/libperiskop.a $(LDLIBS)

# Each unit test, with the scratch databases it may use on the servers.
build/san/t/unit/%: t/unit/%.c t/unit/scratch.c t/unit/scratch.h \
    build/san/libperiskop.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(SAN) -It/unit -o $@ $< \
	    t/unit/scratch.c build/san/libperiskop.a $(CHECK_LIBS) $(LDLIBS)

check: all
	@$(MAKE) -s --no-print-directory deps-test
	@$(MAKE) -s --no-print-directory deps-ui
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory timeshift
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory lint

# Unit tests, each built with ASan and UBSan.  ASan lets libfaketime
# come first, so that they run under faketime too.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:verify_asan_link_order=0
unit: $(UNITS)
	@fail=0; for t in $(UNITS); do \
		$(ASAN_ENV) \
		UBSAN_OPTIONS=print_stacktrace=1 \
		CK_DEFAULT_TIMEOUT=60 $$t || fail=1; \
	done; exit $$fail

# Integration scripts print TAP; prove runs them.
integration: all
	prove -f -j2 t/t[0-9]*.sh

# The tests that store, age or compare times, again with the clock a
# year ahead and three years back (libfaketime), so that a date that acts
# as a clock in a test fails the day it is written, not the day a
# retention or a window overtakes it.
TIME_SHIFTS = +365 -1095
TIME_UNITS = $(filter %/check_aggregate %/check_api %/check_client \
	   %/check_db %/check_timefmt,$(UNITS))
# Serve's load and fault tests and the round-time guard are left out: they
# time requests and rounds, not dates.
TIME_TESTS = $(filter-out t/t0320-% t/t0440-% t/t0820-%,$(wildcard t/t0[34578][0-9]*.sh))
timeshift: all $(TIME_UNITS)
	@fail=0; for d in $(TIME_SHIFTS); do \
		echo "timeshift: the clock $$d days away"; \
		for t in $(TIME_UNITS); do \
			$(ASAN_ENV) UBSAN_OPTIONS=print_stacktrace=1 \
			CK_DEFAULT_TIMEOUT=60 faketime "$$d days" $$t || fail=1; \
		done; \
		faketime "$$d days" prove -f -j2 $(TIME_TESTS) || fail=1; \
	done; exit $$fail

# libFuzzer targets over every parser of outside input.  New inputs go to
# build/fuzz/corpus, never into the seed corpora under t/fuzz/corpus.
build/fuzz/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

build/fuzz/libperiskop.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $(FUZZ_OBJ)

build/fuzz/fuzz_%: t/fuzz/fuzz_%.c build/fuzz/libperiskop.a
	$(FUZZ_CC) $(ALL_CFLAGS) $(REF_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) \
	    -o $@ $< build/fuzz/libperiskop.a $(REF_LIBS) $(LDLIBS)

fuzz: $(FUZZ)
	@for f in $(FUZZ); do n=$${f##*/fuzz_}; \
		mkdir -p build/fuzz/corpus/$$n; \
		echo "fuzzing $$n for $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=verify_asan_link_order=0 \
		    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		    -artifact_prefix=build/fuzz/$$n- -print_final_stats=1 \
		    build/fuzz/corpus/$$n t/fuzz/corpus/$$n \
		    >build/fuzz/$$n.log 2>&1 || \
		    { tail -n 30 build/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' build/fuzz/$$n.log; \
	done

# A few seconds each, so regressions on the seed corpora show in make check.
fuzz-smoke: $(FUZZ)
	@for f in $(FUZZ); do n=$${f##*/fuzz_}; \
		rm -rf build/fuzz/smoke-$$n; mkdir -p build/fuzz/smoke-$$n; \
		ASAN_OPTIONS=verify_asan_link_order=0 \
		    $$f -max_total_time=4 -max_len=65536 -print_final_stats=1 \
		    -artifact_prefix=build/fuzz/$$n- \
		    build/fuzz/smoke-$$n t/fuzz/corpus/$$n \
		    >build/fuzz/$$n.log 2>&1 || \
		    { tail -n 30 build/fuzz/$$n.log; exit 1; }; \
		echo "fuzz $$n: $$(grep -o 'number_of_executed_units: [0-9]*' \
		    build/fuzz/$$n.log | grep -o '[0-9]*$$') runs, no crash"; \
	done

lint:
	@if [ -n "$(MAN)" ]; then mandoc -T lint -W warning $(MAN); fi
	@echo "man pages: lint clean"
	@t/lint-layers.sh

# Builds, then runs the whole chain on etc/periskop.yaml with a demo target.
run: all
	@./t/helper/run-demo.sh

# The benchmarks' references: wrk and nginx for serve, Prometheus'
# pushgateway for periskop-pushgateway, Prometheus for the CPU per scrape,
# GNU time for RSS.
deps-bench:
	@$(MAKE) -s --no-print-directory deps-install \
	    DEPS_CHECK='command -v wrk && command -v nginx && command -v prometheus-pushgateway && command -v prometheus && test -x /usr/bin/time' \
	    DEPS_PKGS='wrk nginx-light prometheus-pushgateway prometheus time'

bench: all deps-bench
	@for b in t/bench/*.sh; do [ -x "$$b" ] && "$$b"; done; true

# The whole chain for SOAK_SECONDS (default 300) under faults and wrk load.
soak: all deps-bench
	@$(MAKE) -s --no-print-directory deps-test
	@t/soak/soak.sh

# The end-to-end tests with every program under valgrind's memcheck.
valgrind: all
	@$(MAKE) -s --no-print-directory deps-test
	@t/valgrind/run.sh

# The programs and the library, without the test helpers: what install
# and the Debian package need.
programs: $(BINS) build/libperiskop.a

# The Debian packages, built from a copy of the tree in build/deb/src,
# so that dpkg-buildpackage's files stay under build/deb.
DEB_PKG = debhelper dpkg-dev fakeroot lintian
deb:
	@$(MAKE) -s --no-print-directory deps-install \
	    DEPS_CHECK='command -v dh && command -v dpkg-buildpackage && command -v fakeroot && command -v lintian' \
	    DEPS_PKGS='$(DEB_PKG)'
	rm -rf build/deb && mkdir -p build/deb/src
	tar -cf - --exclude=./build --exclude=./bin --exclude=./.git \
	    --exclude=./t/ui/node_modules . | tar -C build/deb/src -xf -
	cd build/deb/src && dpkg-buildpackage -us -uc -b

# Builds, installs, runs, removes and purges the package (as root).
deb-check: all
	@$(MAKE) -s --no-print-directory deps-test
	prove -f t/deb/deb-check.sh

install: programs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SHAREDIR) \
	    $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	for m in $(MAN); do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; \
	done
	cp -R share/. $(DESTDIR)$(SHAREDIR)
	install -d $(DESTDIR)$(SHAREDIR)/examples
	cp -R etc/runit etc/cron etc/systemd $(DESTDIR)$(SHAREDIR)/examples
	install -m 644 etc/periskop.yaml $(DESTDIR)$(SYSCONFDIR)/periskop.yaml
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 build/libperiskop.a $(DESTDIR)$(LIBDIR)
	install -m 644 lib/client/periskop.h $(DESTDIR)$(INCLUDEDIR)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
	    'includedir=$(INCLUDEDIR)' '' 'Name: periskop' \
	    'Description: Periskop client library: exceptions for a Periskop server to scrape' \
	    "Version: $$(sed -n 's/^#define PERISKOP_VERSION.*"\(.*\)"/\1/p' lib/client/periskop.h)" \
	    'Cflags: -I$${includedir}' \
	    'Libs: -L$${libdir} -lperiskop -lcurl -lpthread' \
	    >$(DESTDIR)$(LIBDIR)/pkgconfig/periskop.pc

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MAN); do \
		s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
	done
	rm -rf $(DESTDIR)$(SHAREDIR)
	rm -f $(DESTDIR)$(SYSCONFDIR)/periskop.yaml
	rm -f $(DESTDIR)$(LIBDIR)/libperiskop.a \
	    $(DESTDIR)$(INCLUDEDIR)/periskop.h \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/periskop.pc
	-rmdir $(DESTDIR)$(SYSCONFDIR) 2>/dev/null

clean:
	rm -rf bin build

# df: one static binary. `make` builds ./df with musl; `make test` runs every test; see README.md.
# No configure step: dependencies come from release/deps.sh (Debian source packages, built once).
include release/versions.mk

DEPS     ?= build/deps
SAN      ?=
ifeq ($(SAN),1)
CC        = clang
B        ?= build/asan
FLAVOR    = host
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSTATIC  =
else
CC        = musl-gcc
B        ?= build/musl
FLAVOR    = musl
SANFLAGS  =
LDSTATIC  = -static
endif
OPT      ?= -O2 -g
WARN      = -Wall -Wextra -Werror
CPPFLAGS  = -std=gnu11 -D_GNU_SOURCE -I. -I$(DEPS)/include -DDF_VERSION='"$(DF_VERSION)"'
CFLAGS    = $(OPT) $(WARN) $(SANFLAGS) -MMD -MP
DEPLIBS   = $(DEPS)/lib/libdfdeps-$(FLAVOR).a $(DEPS)/lib/libbearssl-$(FLAVOR).a
LDLIBS    = $(DEPLIBS) -lpthread -lm
STAMP     = $(DEPS)/.built
.SECONDARY:

ifeq ($(V),1)
Q =
say =
else
Q = @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRC   = $(sort $(wildcard core/*.c net/*.c store/*.c swarm/*.c cmd/*.c))
LIB_OBJ   = $(LIB_SRC:%.c=$(B)/%.o)
UNIT_SRC  = $(sort $(wildcard test/unit/test_*.c))
UNIT_BIN  = $(UNIT_SRC:test/unit/%.c=$(B)/test/%)
FUZZ_SRC  = $(sort $(wildcard test/fuzz/fuzz_*.c))
REPLAY_BIN= $(FUZZ_SRC:test/fuzz/%.c=$(B)/replay/%)
TOOL_SRC  = $(sort $(wildcard test/tools/*.c bench/*.c))
TOOL_BIN  = $(patsubst %.c,$(B)/tools/%,$(notdir $(TOOL_SRC)))
RELEASE   = release/out/df-$(DF_VERSION)-x86_64-linux-musl

.PHONY: all check test unit asan asan-all dyn fuzz release bench soak demo clean distclean tools lint
# ./df is the musl build: a sanitizer build (SAN=1, for tests) stays in its own folder, so a
# benchmark or a host given ./df never gets it
ifeq ($(SAN),1)
all: $(B)/df
else
all: df
endif

$(STAMP): release/deps.sh release/versions.mk
	$(call say,DEPS,$(DEPS))bash release/deps.sh

$(B)/%.o: %.c | $(STAMP)
	$(call say,CC,$<)mkdir -p $(dir $@) && $(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/libdf.a: $(LIB_OBJ)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(B)/df: $(B)/main.o $(B)/libdf.a $(STAMP)
	$(call say,LINK,$@)$(CC) $(SANFLAGS) $(LDSTATIC) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

df: $(B)/df
	$(Q)cp $< $@

$(B)/test/%: $(B)/test/unit/%.o $(B)/test/unit/unit.o $(B)/libdf.a $(STAMP)
	$(call say,LINK,$@)mkdir -p $(dir $@) && $(CC) $(SANFLAGS) $(LDSTATIC) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(B)/replay/%: $(B)/test/fuzz/%.o $(B)/test/fuzz/replay.o $(B)/libdf.a $(STAMP)
	$(call say,LINK,$@)mkdir -p $(dir $@) && $(CC) $(SANFLAGS) $(LDSTATIC) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(B)/tools/%: $(B)/test/tools/%.o $(B)/libdf.a
	$(call say,LINK,$@)mkdir -p $(dir $@) && $(CC) $(SANFLAGS) $(LDSTATIC) -o $@ $(filter %.o %.a,$^) $(LDLIBS)
$(B)/tools/%: $(B)/bench/%.o $(B)/libdf.a
	$(call say,LINK,$@)mkdir -p $(dir $@) && $(CC) $(SANFLAGS) $(LDSTATIC) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

# df_rogue: df whose piece server flips bytes (pieceserve.c built with -DDF_TEST_ROGUE, linked
# before libdf.a), for the tests of bad uploaders; the release binary has no such switch.
TOOL_BIN += $(B)/tools/df_rogue
$(B)/test/pieceserve_rogue.o: swarm/pieceserve.c | $(STAMP)
	$(call say,CC,$@)mkdir -p $(dir $@) && $(CC) $(CPPFLAGS) -DDF_TEST_ROGUE $(CFLAGS) -c $< -o $@
$(B)/tools/df_rogue: $(B)/main.o $(B)/test/pieceserve_rogue.o $(B)/libdf.a $(STAMP)
	$(call say,LINK,$@)mkdir -p $(dir $@) && $(CC) $(SANFLAGS) $(LDSTATIC) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

tools: $(TOOL_BIN)

# Unit tests and fuzz-corpus replays only (what `make asan` runs under the sanitizers).
unit: $(B)/df $(UNIT_BIN) $(REPLAY_BIN) $(TOOL_BIN)
	$(Q)B=$(B) bash test/run.sh unit

# Everything: unit tests, corpus replays, integration tests against the real binary.
test: df $(UNIT_BIN) $(REPLAY_BIN) $(TOOL_BIN) dyn
	$(Q)B=$(B) bash test/run.sh all

# build/dyn/df: df linked dynamically against glibc, without sanitizers, for the one test that needs
# LD_PRELOAD (test/integration/clock_step.sh steps the wall clock under df with libfaketime, which
# cannot reach into the static binary); never shipped
dyn:
	$(Q)$(MAKE) --no-print-directory SAN=1 SANFLAGS= OPT=-O1 B=build/dyn build/dyn/df

# What CI runs (README's test command): the release build (size budget), every test, then every test
# again under ASan/UBSan.
check: lint release test asan

asan:
	$(Q)$(MAKE) --no-print-directory SAN=1 B=build/asan asan-all

# Under the sanitizers: unit tests, corpus replays and the integration tests against build/asan/df.
asan-all: $(B)/df $(UNIT_BIN) $(REPLAY_BIN) $(TOOL_BIN)
	$(Q)B=$(B) bash test/run.sh all

# libFuzzer builds of every parser target (clang): the library is compiled once with coverage
# (fuzzer-no-link), each target links against it. Run one without growing the committed corpus:
#   mkdir -p build/fuzz/new && build/fuzz/fuzz_proto -max_total_time=60 build/fuzz/new test/fuzz/corpus/proto
# The long runs docs/SECURITY.md records: nice -n 19 build/fuzz/NAME -runs=10000000 -max_total_time=1800 ...
FZ        = build/fuzz
FZ_FLAGS  = -O1 -g -fsanitize=fuzzer-no-link,address,undefined
FZ_OBJ    = $(patsubst %.c,$(FZ)/obj/%.o,$(filter-out cmd/%,$(LIB_SRC)))
FUZZ_BIN  = $(FUZZ_SRC:test/fuzz/%.c=$(FZ)/%)
fuzz: $(FUZZ_BIN)

$(FZ)/obj/%.o: %.c | $(STAMP)
	$(call say,CC,$@)mkdir -p $(dir $@) && clang $(CPPFLAGS) $(FZ_FLAGS) $(WARN) -MMD -MP -c $< -o $@

$(FZ)/libdf-fuzz.a: $(FZ_OBJ)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(FZ)/fuzz_%: test/fuzz/fuzz_%.c $(FZ)/libdf-fuzz.a $(STAMP)
	$(call say,FUZZ,$@)clang $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined $(WARN) $< $(FZ)/libdf-fuzz.a \
	  $(DEPS)/lib/libdfdeps-host.a $(DEPS)/lib/libbearssl-host.a -lpthread -lm -o $@

# The shipped C in .clang-format's style and free of banned calls (test/lint.sh says which and why).
# LINT_FORMAT=0 checks the calls only.
lint:
	$(Q)bash test/lint.sh

release: $(B)/df
	$(Q)mkdir -p release/out
	$(Q)strip -o $(RELEASE) $(B)/df
	$(Q)cd release/out && sha256sum $(notdir $(RELEASE)) > $(notdir $(RELEASE)).sha256
	$(Q)sz=$$(stat -c %s $(RELEASE)); echo "  RELEASE $(RELEASE) ($$sz bytes)"; \
	  if [ $$sz -gt 1572864 ]; then echo "release: $$sz bytes is over the 1.5 MB budget" >&2; exit 1; fi

bench: df $(TOOL_BIN)
	$(Q)B=$(B) bash bench/run.sh

# The long soak (test/soak.sh): 2,000 distinct files through a supernode and three df proxies, a
# kill -9 of each mid-way; make check runs a short one (test/integration/soak_short.sh).
soak: df
	$(Q)B=$(B) SOAK_FILES=$${SOAK_FILES:-2000} bash test/soak.sh

demo: df
	$(Q)bash test/demo.sh

clean:
	rm -rf build/musl build/asan build/dyn build/fuzz df dfget release/out

distclean: clean
	rm -rf build

-include $(shell find $(B) $(FZ)/obj -name '*.d' 2>/dev/null)

# fuzz/fuzz.mk - libFuzzer targets, one per parser of outside input (fuzz/fuzz_*.c;
# fuzz/README.md lists them). Included by the Makefile.
#   make fuzz        builds $(BUILD)/fuzz/fuzz_<target> and runs each for FUZZ_SECONDS
#                    (60) on a copy of its committed corpus, fuzz/corpus/<target>/, kept in
#                    $(BUILD)/fuzz/corpus/<target>/ (grows from run to run); crashes go to
#                    $(BUILD)/fuzz/artifacts/. One target: make fuzz FUZZ_TARGETS=quantity
#   make fuzz-smoke  each target for FUZZ_SMOKE_RUNS (20000) inputs from a fixed seed on a
#                    throwaway copy of its corpus (a few seconds each; `make test` runs it)
# The library is compiled again with clang -fsanitize=fuzzer-no-link,address,undefined
# into $(BUILD)/fuzzobj (warnings are not errors there: gcc's -Werror build rules them).

FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_ALL        := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_TARGETS    ?= $(FUZZ_ALL)
FUZZ_BINS       := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_ALL))
FUZZ_LIB_OBJS   := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(LIB_SRCS))

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS) $(BUILD)/fuzz/ledger_seed

# `make test` builds them; hack/test-all.sh runs the smoke ("=== fuzz smoke")
test: fuzz-build

fuzz: fuzz-build
	@bash fuzz/run.sh $(BUILD) full $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@bash fuzz/run.sh $(BUILD) smoke $(FUZZ_SMOKE_RUNS) $(FUZZ_TARGETS)

$(BUILD)/fuzzobj/%.o: %.c | $(DEPS_STAMP) $(GENERATED_HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) -Wno-error -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/libwattlet-fuzz.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(BUILD)/libwattlet-fuzz.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) -O1 $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# writes checkpoints with ledger_save() as seeds, whatever the current format
$(BUILD)/fuzz/ledger_seed: fuzz/ledger_seed.c $(BUILD)/libwattlet-fuzz.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -o $@ $(filter %.c %.a,$^) $(LDLIBS)

-include $(shell find $(BUILD)/fuzzobj $(BUILD)/fuzz -name '*.d' -type f 2>/dev/null)

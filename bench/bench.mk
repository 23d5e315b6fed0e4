# bench.mk - benchmark programs; included by the Makefile (-include bench/bench.mk).
#   make BUILD=... $(BUILD)/bench/metrics_bench && $(BUILD)/bench/metrics_bench 1000 200

$(BUILD)/bench/metrics_bench: bench/metrics_bench.c $(BUILD)/libwattlet.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libwattlet.a $(LDLIBS)

$(BUILD)/bench/writer_bench: bench/writer_bench.c $(BUILD)/libwattlet.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libwattlet.a $(LDLIBS)

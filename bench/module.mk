# bench/ — benchmarks of issue 8.
#
# sf-ofload: a cbench-style OpenFlow 1.0 load generator (bench/ofload.c,
# bench/ofl_msg.c); sf-ofload-ref, a minimal responder that measures the
# load generator's own ceiling (bench/ofl_ref.c); bench/ofload.sh, which runs
# it against ovs-testcontroller and, optionally, a second controller in the
# same run.
# OVS container macros use typeof, which strict -std=c11 spells __typeof__.
EXTRA_CFLAGS_bench := $(OVS_CFLAGS) -Dtypeof=__typeof__

OFL_OBJS := $(BUILD)/obj/bench/ofload.o $(BUILD)/obj/bench/ofl_msg.o

PROGRAMS += $(BUILD)/bin/sf-ofload

$(BUILD)/bin/sf-ofload: $(OFL_OBJS) $$(EXISTING_LIBS) $(OVS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(OFL_OBJS) $(EXISTING_LIBS) $(OVS_LIBS) -luv

# sf-ofload-ref: the reference responder that calibrates sf-ofload.
OFLR_OBJS := $(BUILD)/obj/bench/ofl_ref.o $(BUILD)/obj/bench/ofl_msg.o

PROGRAMS += $(BUILD)/bin/sf-ofload-ref

$(BUILD)/bin/sf-ofload-ref: $(OFLR_OBJS) $$(EXISTING_LIBS) $(OVS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(OFLR_OBJS) $(EXISTING_LIBS) $(OVS_LIBS) -luv

# tests/unit/bench_ofl_msg_test.c tests the codec part.
UNIT_DEPS_bench_ofl_msg_test := $(BUILD)/obj/bench/ofl_msg.o
UNIT_LDLIBS_bench_ofl_msg_test := $(OVS_LIBS)

# The controller benchmark alone: ovs-testcontroller (and OFLOAD_CONTROLLER,
# a command line with {port}, if set), results under build/bench/ofload.
bench-ofload: $(BUILD)/bin/sf-ofload
	bench/ofload.sh --out $(BUILD)/bench/ofload \
	    $(if $(OFLOAD_CONTROLLER),--controller-cmd '$(OFLOAD_CONTROLLER)')

.PHONY: bench-ofload

# ---- issue 8, items 1-5: the whole benchmark suite (bench/run.py) --------
# sf-callbench: per-call latency of libsf and ping-pong RTT of any size
# (bench/sf-calls.c).
CALLB_OBJS := $(BUILD)/obj/bench/sf-calls.o

PROGRAMS += $(BUILD)/bin/sf-callbench

$(BUILD)/bin/sf-callbench: $(CALLB_OBJS) $$(EXISTING_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(CALLB_OBJS) $(EXISTING_LIBS) -lm -lpthread

# sf-ctlload: joins/s, binds/s and leaves/s of many emulated hosts through
# the real control plane (bench/ctlload.c).
CTLL_OBJS := $(BUILD)/obj/bench/ctlload.o

PROGRAMS += $(BUILD)/bin/sf-ctlload

$(BUILD)/bin/sf-ctlload: $(CTLL_OBJS) $$(EXISTING_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(CTLL_OBJS) $(EXISTING_LIBS) -lprotobuf-c

# make bench: every benchmark, full size; make bench-quick: < 10 minutes.
# BENCH_ARGS adds options (e.g. BENCH_ARGS='--only latency --out DIR').
BENCH_DEPS := $(BUILD)/bin/sf-callbench $(BUILD)/bin/sf-ctlload \
    $(BUILD)/bin/sf-ofload \
    $(BUILD)/bin/sf-ofload-ref

bench: $(BENCH_DEPS)
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

bench-quick: $(BENCH_DEPS)
	/usr/bin/python3 bench/run.py --quick $(BENCH_ARGS)

.PHONY: bench bench-quick

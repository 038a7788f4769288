# controller/rpc.mk — sfctl (the admin client) and ctl-rpc-testd (the admin
# RPC server alone, for tests).  controller/rpc.c itself is one of the
# controller modules that controller/module.mk builds into the daemon.
#
# controller/sfctl/*.c get EXTRA_CFLAGS_controller like every source under
# controller/; sfctl links no OVS code, only the proto library, protobuf-c
# and jansson.

PROGRAMS += $(BUILD)/bin/sfctl $(BUILD)/tests/ctl-rpc-testd

$(BUILD)/bin/sfctl: $(BUILD)/obj/controller/sfctl/sfctl.o $$(EXISTING_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/controller/sfctl/sfctl.o \
	    $(EXISTING_LIBS) -ljansson $(SYS_LIBS)

# rpc.o names blocks by their route prefix (controller/rules.h), so the
# test server links the rule module and the topology it uses as well.
RPC_TESTD_OBJS := $(BUILD)/obj/controller/sfctl/rpc-testd.o \
                  $(BUILD)/obj/controller/rpc.o \
                  $(BUILD)/obj/controller/rules.o \
                  $(BUILD)/obj/controller/topo.o

$(BUILD)/tests/ctl-rpc-testd: $(RPC_TESTD_OBJS) $$(EXISTING_LIBS) $(OVS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(RPC_TESTD_OBJS) $(EXISTING_LIBS) \
	    $(CTL_LDLIBS) $(SYS_LIBS)

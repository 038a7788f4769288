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

$(BUILD)/tests/ctl-rpc-testd: $(BUILD)/obj/controller/sfctl/rpc-testd.o \
                              $(BUILD)/obj/controller/rpc.o \
                              $$(EXISTING_LIBS) $(OVS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/controller/sfctl/rpc-testd.o \
	    $(BUILD)/obj/controller/rpc.o $(EXISTING_LIBS) $(CTL_LDLIBS) \
	    $(SYS_LIBS)

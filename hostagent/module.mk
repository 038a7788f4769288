# hostagent/ — the per-host SCAFFOLD stack daemon (scaffold-hostagent).
#
# conn.o and stack.o are the pure state machine and demultiplexer (unit
# tested without I/O); the rest is the daemon around them.
HA_CORE_OBJS := $(BUILD)/obj/hostagent/conn.o $(BUILD)/obj/hostagent/stack.o
HA_DAEMON_OBJS := $(HA_CORE_OBJS) $(BUILD)/obj/hostagent/agent.o \
    $(BUILD)/obj/hostagent/ipc.o $(BUILD)/obj/hostagent/netio.o \
    $(BUILD)/obj/hostagent/join.o $(BUILD)/obj/hostagent/link.o

PROGRAMS += $(BUILD)/bin/scaffold-hostagent

$(BUILD)/bin/scaffold-hostagent: $(BUILD)/obj/hostagent/main.o \
        $(HA_DAEMON_OBJS) $(call lib_of,libsf) $(call lib_of,proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/hostagent/main.o $(HA_DAEMON_OBJS) \
	    $(call lib_of,libsf) $(call lib_of,proto) -luv -lprotobuf-c -lmnl

UNIT_DEPS_ha_conn_test := $(HA_CORE_OBJS)
UNIT_DEPS_ha_failover_test := $(HA_CORE_OBJS)
UNIT_DEPS_ha_join_test := $(BUILD)/obj/hostagent/join.o

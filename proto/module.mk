# proto/ — the generated protobuf-c code (build/gen/proto/*.pb-c.c) goes
# into libscaffold-proto.a together with the hand-written proto/*.c.
EXTRA_SRCS_proto := $(PROTO_GEN_C)

# Keep the generated files between builds (they are otherwise intermediate
# and make deletes them, forcing every object to be rebuilt next time).
.SECONDARY: $(PROTO_GEN_C) $(PROTO_GEN_H)

# proto/ — the generated protobuf-c code (build/gen/proto/*.pb-c.c) goes
# into libscaffold-proto.a together with the hand-written proto/*.c.
EXTRA_SRCS_proto := $(PROTO_GEN_C)

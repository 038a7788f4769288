/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scaffold-hostagent daemon: one struct ha_agent per process, tying the
 * pure stack (stack.c, conn.c) to the world on one libuv loop:
 *
 *   netio.c   raw frames on the host interface (AF_PACKET, batched with
 *             recvmmsg/sendmmsg, BPF-filtered to SCAFFOLD frames, decoded and
 *             checked with proto/sfp.h);
 *   ipc.c     the abstract Unix socket libsf talks to (libsf/ipc.h), one
 *             IPC connection per sf socket, and the stack's application
 *             events turned into IPC messages;
 *   agent.c   the glue: stack callbacks, the timer, the static object
 *             table (stand-in for the object router until the controller
 *             join exists), --status text.
 *
 *   join.c    (controller mode) join / keepalive / leave with the
 *             domain controller, in band;
 *   link.c    (controller mode) link up/down events from rtnetlink
 *             (rtnetlink): down stops the join client, up joins again (a
 *             move when the controller assigns another hostID).
 *
 * Addressing source: static mode (--flowid-prefix and --gateway-mac on the
 * command line) or controller mode (neither: the join assigns both).  Both
 * end in ha_agent_set_address(); a changed prefix makes every connection
 * resync from its new flowID (mobility).
 */
#ifndef HA_AGENT_H
#define HA_AGENT_H 1

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "hostagent/join.h"
#include "hostagent/stack.h"
#include "proto/sfp.h"

#define HA_MAX_STATIC 64
#define HA_TX_BATCH 64             /* Frames per sendmmsg(). */
#define HA_TX_QUEUE 1024           /* Frames queued for the kernel. */
#define HA_TX_HIGH_WATER 768       /* Pause IPC reads above... */
#define HA_TX_LOW_WATER 256        /* ...resume below. */
#define HA_RX_BATCH 64             /* recvmmsg() fallback batch. */
#define HA_FRAME_SIZE 2048
#define HA_RX_RING_BLOCK_KIB 256   /* TPACKET_V3 ring (--rx-ring KIB): 16 */
#define HA_RX_RING_BLOCKS 16       /* blocks of 256 KiB (4 MiB), handed */
#define HA_RX_RING_TOV_MS 1        /* over at most 1 ms after a frame. */
/* Default receive path: recvmmsg (0), not the ring.  Measured on a bare
 * veth pair (tests/system/hostagent_rtt.sh, hostagent_rxbench.sh): the ring
 * wakes the agent only when a block retires, so at low rates each hop
 * waits for the block timeout (bound-flow ping-pong median 1000 us with
 * the ring, 24 us with recvmmsg); at 275 kpps offered the ring also lost
 * 16 % of the frames (whole blocks in flight) where recvmmsg and its 4 MB
 * socket buffer lost none, at 1.6 times the CPU per frame. */
#define HA_RX_DEFAULT_KIB 0
/* malloc_trim() this long after the first socket freed since the last
 * one: off the data path, once per burst of closes. */
#define HA_TRIM_DELAY_MS 1000

struct ha_client;

struct ha_static {
    uint16_t obj;               /* objectID... */
    uint32_t flow;              /* ...resolves to this flowID. */
};

/* A recent static resolution of a SYN or RSYN, so that retransmissions go
 * to the same instance and a resync goes to another one. */
struct ha_static_pick {
    uint64_t nonce;             /* Connection nonce, 0 = free slot. */
    uint8_t flags;              /* SFP_F_SYN or SFP_F_RSYN. */
    uint32_t seq;               /* Its sequence number. */
    int idx;                    /* Index into 'statics'. */
};
#define HA_STATIC_PICKS 256

struct ha_agent_stats {
    uint64_t rx_frames;         /* Frames read from the interface. */
    uint64_t rx_outgoing;       /* Our own frames seen again (ignored). */
    uint64_t rx_bad[SFP_N_ERRORS];      /* Malformed, by codec error. */
    uint64_t tx_frames;         /* Frames written. */
    uint64_t tx_errors;         /* Frames the kernel refused. */
    uint64_t tx_too_big;        /* Frames over the buffer / MTU. */
    uint64_t ipc_clients;       /* IPC connections accepted. */
    uint64_t ipc_bad;           /* Malformed IPC messages. */
    uint64_t ipc_refused;       /* Valid messages not allowed then. */
    uint64_t ipc_rx_dropped;    /* Datagrams dropped: app not reading. */
    uint64_t ipc_tx_errors;     /* Datagrams from apps the stack refused. */
    uint64_t ipc_rx_batches;    /* Batched DATA messages to apps... */
    uint64_t ipc_rx_batched;    /* ...and the datagrams in them. */
    uint64_t rx_control;        /* Control datagrams (objectID 1). */
    uint64_t rx_control_ignored;        /* ...not for us / static mode. */
    uint64_t link_changes;      /* Link up/down transitions seen. */
    uint64_t rx_blocks;         /* Ring blocks walked. */
    uint64_t rx_kernel_drops;   /* Frames the kernel dropped: ring full. */
    uint64_t tx_queue_drops;    /* Frames dropped: transmit queue full. */
    uint64_t tx_waits;          /* Times the kernel said EAGAIN. */
};

struct ha_netio {
    int fd;                     /* AF_PACKET socket, -1 if closed. */
    int ifindex;
    uv_poll_t poll;
    int poll_events;            /* UV_READABLE, | UV_WRITABLE. */
    /* Configuration (--rx-ring); cfg_block_kib 0: recvmmsg. */
    unsigned int cfg_block_kib, cfg_blocks, cfg_tov_ms;
    /* Receive ring (TPACKET_V3), NULL when reading with recvmmsg. */
    uint8_t *ring;
    size_t ring_len;
    unsigned int block_size, block_nr;
    unsigned int block_idx;     /* Next block to look at. */
    /* Transmit queue: tx_count frames from tx_head, circular. */
    uint8_t (*tx_buf)[HA_FRAME_SIZE];
    uint16_t *tx_len;
    unsigned int tx_head, tx_count;
    bool tx_blocked;            /* EAGAIN: waiting for writability. */
    size_t max_payload;         /* Last ha_netio_max_payload(). */
    /* Receive batch (recvmmsg fallback). */
    uint8_t (*rx_buf)[HA_FRAME_SIZE];
};

struct ha_agent {
    uv_loop_t *loop;
    struct ha_stack *stack;
    struct ha_stack_ops stack_ops;
    uv_timer_t timer;
    uv_timer_t trim_timer;      /* Gives freed heap back (malloc_trim). */
    uv_signal_t sigint, sigterm;

    /* Configuration. */
    char ifname[16];            /* IFNAMSIZ. */
    uint8_t if_mac[6];          /* Our interface's MAC. */
    uint8_t gw_mac[6];          /* Where every frame goes. */
    uint32_t prefix;            /* ss.host.0 */
    struct ha_static statics[HA_MAX_STATIC];
    int n_statics;
    unsigned int static_rr;     /* Round-robin position. */
    struct ha_static_pick picks[HA_STATIC_PICKS];
    unsigned int next_pick;     /* Slot to overwrite next. */
    char ipc_name[108];         /* Abstract name, without the NUL. */
    int verbose;
    bool controller_mode;       /* Addresses from the join. */
    char hostname[64];          /* For JoinRequest.name. */

    /* Controller mode. */
    struct ha_join join;
    struct ha_join_ops join_ops;
    int nl_fd;                  /* rtnetlink link events, -1: none. */
    uv_poll_t nl_poll;
    bool link_up;
    bool bind_unsupported_logged;       /* Logged once per agent. */
    bool ipc_paused;            /* IPC reads paused: transmit backlog. */

    struct ha_netio net;
    uint16_t ip_id;

    /* IPC server. */
    int ipc_fd;
    uv_poll_t ipc_poll;
    struct ha_client *clients;  /* All open clients (list). */
    struct ha_client *batching; /* Clients with a batch to send. */
    uint8_t *ipc_buf;           /* SF_IPC_MAX_MSG bytes, for reads. */

    struct ha_agent_stats stats;
    bool stopping;
};

/* agent.c */
int ha_agent_init(struct ha_agent *, uv_loop_t *);
int ha_agent_start(struct ha_agent *);
void ha_agent_stop(struct ha_agent *);
void ha_agent_destroy(struct ha_agent *);
uint64_t ha_agent_now(const struct ha_agent *);
void ha_agent_set_address(struct ha_agent *, uint32_t prefix,
                          const uint8_t gw_mac[6]);
/* Listener 'c' is open (controller mode: bind it with the controller). */
void ha_agent_listening(struct ha_agent *, const struct ha_conn *c);
/* After every callback that may have touched the stack: flush transmitted
 * frames and re-arm the timer. */
void ha_agent_after(struct ha_agent *);
/* Writes the --status text into 'buf' (NUL-terminated, truncated to
 * 'size'); returns its length. */
size_t ha_agent_status(struct ha_agent *, char *buf, size_t size);
void ha_log(const struct ha_agent *, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum { HA_LOG_ERR, HA_LOG_WARN, HA_LOG_INFO, HA_LOG_DBG };

/* netio.c */
/* Parses --rx-ring KIB[:BLOCKS[:TOV_MS]] (KIB 0: recvmmsg).  Returns 0 or
 * -EINVAL. */
int ha_netio_config(struct ha_agent *, const char *spec);
int ha_netio_open(struct ha_agent *);
void ha_netio_close(struct ha_agent *);
/* Queues 'f' (Ethernet addresses and all) for transmission. */
void ha_netio_send(struct ha_agent *, const struct sfp_frame *f);
void ha_netio_flush(struct ha_agent *);
/* The largest datagram payload one frame on the interface carries: its
 * MTU less the IPv4, UDP and SCAFFOLD headers (1452 at MTU 1500), also
 * bounded by the frame buffers.  Re-reads the MTU. */
size_t ha_netio_max_payload(struct ha_agent *);
/* One line (no newline) describing the receive path. */
size_t ha_netio_status(const struct ha_agent *, char *buf, size_t size);

/* link.c */
int ha_link_open(struct ha_agent *);
void ha_link_close(struct ha_agent *);

/* ipc.c */
int ha_ipc_open(struct ha_agent *);
void ha_ipc_close(struct ha_agent *);
/* The stack's event callback. */
void ha_ipc_event(struct ha_conn *, enum ha_conn_event, const void *data,
                  size_t len, void *aux);
/* The process owning 'conn' (SO_PEERCRED), 0 when none (closed by its
 * application, or not yet accepted). */
pid_t ha_ipc_owner_pid(const struct ha_conn *);
/* IPC connections that are sf sockets (status sessions not counted). */
int ha_ipc_n_clients(const struct ha_agent *);
/* Stops (true) or resumes reading applications' messages: backpressure
 * while the interface's transmit queue is backed up. */
void ha_ipc_pause(struct ha_agent *, bool paused);
/* Answers the BOUND questions whose listener's binding became final
 * (confirmed, refused) or went away: after a controller answer and a
 * listener's death. */
void ha_ipc_bound_update(struct ha_agent *);
/* Sends every batch of datagrams built for applications during this loop
 * callback (clients that asked for batches: SF_IPC_BATCH). */
void ha_ipc_flush(struct ha_agent *);

#endif /* HA_AGENT_H */

/*
 * SCAFFOLD controller: one OpenFlow connection to a switch.
 *
 * A ctl_ofconn owns a connected libuv TCP stream.  It frames OpenFlow
 * messages (8-byte header, length), negotiates the version with the hello
 * exchange (OpenFlow 1.0, 1.3 and 1.5 offered), learns the datapath id
 * (features) and the ports (features reply in 1.0, port-desc multipart from
 * 1.3 on), tracks port-status, answers echo requests, probes an idle peer
 * with echo requests and drops a dead one, tracks barrier requests and
 * decodes OpenFlow errors by name.  Anything that does not frame or decode
 * is logged (rate-limited) and closes this connection only.
 *
 * Output is batched per read: every message sent while the messages of one
 * read are dispatched (answers, mostly) leaves in one uv_write at the end
 * of that read; outside a read each message is written at once.  A write
 * first tries the socket directly (uv_try_write) and queues only what the
 * kernel did not take.
 *
 * Lifetime (libuv style): the owner allocates nothing; ctl_ofconn_accept()
 * or ctl_ofconn_connect() create the connection, the owner's callbacks
 * report progress, and ctl_ofconn_close() (or a protocol failure) ends it.
 * 'closed' is called exactly once, after which the memory is freed when
 * libuv has closed the handle: the owner must drop its pointer in 'closed'.
 */
#ifndef CTL_OFCONN_H
#define CTL_OFCONN_H 1

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-port.h"

struct ofpbuf;
struct ofp_header;
struct ctl_ofconn;

/* Timers, in milliseconds. */
struct ctl_ofconn_timers {
    unsigned int echo_interval_ms; /* Idle time before an echo request. */
    unsigned int dead_timeout_ms;  /* Silence (or no handshake) → close. */
};

/* One switch port as last reported by the switch. */
struct ctl_ofconn_port {
    uint32_t port_no;           /* OpenFlow port number (ofp_port_t). */
    struct eth_addr hw_addr;    /* Port MAC. */
    char name[16];              /* Port name. */
    bool up;                    /* Neither admin down nor link down. */
};

/* Callbacks to the owner.  'aux' is the owner pointer given at creation. */
struct ctl_ofconn_class {
    /* Handshake complete: version, datapath id and ports known. */
    void (*ready)(struct ctl_ofconn *, void *aux);
    /* A port was added, changed or deleted (after ready). */
    void (*port_changed)(struct ctl_ofconn *, const struct ctl_ofconn_port *,
                         enum ofp_port_reason, void *aux);
    /* Any other decoded message after ready (packet-in, flow-removed,
     * replies without a tracker).  'oh' is valid during the call only. */
    void (*message)(struct ctl_ofconn *, enum ofptype,
                    const struct ofp_header *oh, void *aux);
    /* Optional hot path: every OFPT_PACKET_IN after ready, framed (its
     * length is the message's) but not decoded yet.  Returns true when
     * the owner handled it (validating every length it reads); false
     * sends it down the ordinary path (decoded, then 'message').  'oh' is
     * valid during the call only. */
    bool (*packet_in)(struct ctl_ofconn *, const struct ofp_header *oh,
                      void *aux);
    /* An OFPT_ERROR, already logged; 'xid' of the failed request. */
    void (*error)(struct ctl_ofconn *, uint32_t xid, enum ofperr, void *aux);
    /* The connection is gone; 'reason' is 0 for a local close or a
     * negative errno.  Called once. */
    void (*closed)(struct ctl_ofconn *, int reason, void *aux);
};

/* Barrier completion: 'status' is 0 when the switch replied, -ECONNRESET
 * when the connection closed first. */
typedef void ctl_ofconn_barrier_cb(struct ctl_ofconn *, int status,
                                   void *aux);

int ctl_ofconn_accept(uv_stream_t *server, const struct ctl_ofconn_class *,
                      const struct ctl_ofconn_timers *, void *aux,
                      struct ctl_ofconn **connp);
int ctl_ofconn_connect(uv_loop_t *, const struct sockaddr *,
                       const struct ctl_ofconn_class *,
                       const struct ctl_ofconn_timers *, void *aux,
                       struct ctl_ofconn **connp);
void ctl_ofconn_close(struct ctl_ofconn *);

int ctl_ofconn_send(struct ctl_ofconn *, struct ofpbuf *, uint32_t *xidp);
int ctl_ofconn_send_reply(struct ctl_ofconn *, struct ofpbuf *);
int ctl_ofconn_send_raw(struct ctl_ofconn *, void *data, size_t len);
int ctl_ofconn_barrier(struct ctl_ofconn *, ctl_ofconn_barrier_cb *,
                       void *aux);

bool ctl_ofconn_is_ready(const struct ctl_ofconn *);
enum ofp_version ctl_ofconn_version(const struct ctl_ofconn *);
uint64_t ctl_ofconn_dpid(const struct ctl_ofconn *);
const char *ctl_ofconn_name(const struct ctl_ofconn *);
const char *ctl_ofconn_peer(const struct ctl_ofconn *);
size_t ctl_ofconn_n_ports(const struct ctl_ofconn *);
const struct ctl_ofconn_port *ctl_ofconn_port_at(const struct ctl_ofconn *,
                                                 size_t i);
const struct ctl_ofconn_port *ctl_ofconn_port(const struct ctl_ofconn *,
                                              uint32_t port_no);
void *ctl_ofconn_aux(const struct ctl_ofconn *);
void ctl_ofconn_set_aux(struct ctl_ofconn *, void *aux);

/* Version bitmap offered in hello: OF1.0, OF1.3, OF1.5. */
#define CTL_OFCONN_VERSIONS ((1u << OFP10_VERSION) | (1u << OFP13_VERSION) \
                             | (1u << OFP15_VERSION))

int ctl_ofconn_negotiate(uint32_t ours, uint32_t theirs,
                         enum ofp_version *version);

#endif /* controller/ofconn.h */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's state store.
 *
 * Every read and write of controller state goes through this interface:
 * switches and their ports, inter-switch links, joined hosts and their
 * addresses, objects and their live instances, an append-only event log,
 * and the replies already given to in-band control requests (so that a
 * retried request gets the same answer).  The embedded backend is one
 * sqlite file in WAL mode (db/db.c); the interface is shaped so that a
 * PostgreSQL backend can implement it later: the handle is opaque, rows are
 * plain C structs, and no backend type appears here.
 *
 * Conventions:
 *   - Every function returns 0 or a negative errno value, and on failure
 *     records a message naming the operation (and the backend's own
 *     message), readable with db_errmsg() until the next call on the handle.
 *     Common values: -ENOENT (no such row, or a reference to a missing row:
 *     a foreign key), -EEXIST (duplicate key), -EINVAL (bad argument or a
 *     value outside its range), -EBUSY (still referenced, or the database is
 *     locked by another writer past the busy timeout), -ENOSPC (no free
 *     hostID), -EIO (anything else the backend reports).
 *   - Each function is atomic on its own.  Callers group several into one
 *     transaction with db_begin() ... db_commit() (or db_rollback()).
 *   - Times are int64_t milliseconds since the Unix epoch (0 = never),
 *     always passed in by the caller.
 *   - List functions return a malloc'ed array in '*out' (NULL when empty)
 *     and its length in '*n'; the caller frees it with free().
 *   - Strings are NUL-terminated and fit their array; longer input is
 *     refused with -EINVAL.
 *
 * A handle is not thread-safe: use one per thread (or per event loop).
 * Several handles, in one process or many, may share a file.
 */
#ifndef DB_DB_H
#define DB_DB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_MAC_LEN 6            /* Bytes in a MAC address. */
#define DB_NAME_SIZE 64         /* Size of name arrays, NUL included. */
#define DB_KIND_SIZE 32         /* Size of db_event.kind. */
#define DB_DETAIL_SIZE 512      /* Size of db_event.detail. */

/* Lowest and highest hostID the allocator hands out. */
#define DB_HOST_ID_MIN 1
#define DB_HOST_ID_MAX 254

/* What a switch does in the data plane. */
enum db_role {
    DB_ROLE_UNKNOWN = 0,        /* Not classified yet. */
    DB_ROLE_LABEL = 1,          /* Label router. */
    DB_ROLE_OBJECT = 2,         /* Object router. */
};

struct db_switch {
    uint64_t dpid;              /* Datapath id (key). */
    char name[DB_NAME_SIZE];    /* Bridge name or label. */
    enum db_role role;          /* Role. */
    uint8_t of_version;         /* Negotiated OpenFlow wire version. */
    bool connected;             /* OpenFlow session up. */
    int64_t last_seen;          /* Last message from the switch. */
};

struct db_port {
    uint64_t dpid;              /* Switch (must exist). */
    uint32_t port_no;           /* OpenFlow port number. */
    char name[DB_NAME_SIZE];    /* Interface name. */
    uint8_t mac[DB_MAC_LEN];    /* Hardware address. */
    bool up;                    /* Link up. */
};

/* A unidirectional link; key (src_dpid, src_port). */
struct db_link {
    uint64_t src_dpid;          /* Sending switch (must exist). */
    uint32_t src_port;          /* Port it leaves by. */
    uint64_t dst_dpid;          /* Receiving switch (must exist). */
    uint32_t dst_port;          /* Port it arrives on. */
    int64_t last_probe;         /* Last probe that crossed it. */
};

struct db_host {
    uint8_t mac[DB_MAC_LEN];    /* Host MAC (key). */
    uint8_t ss_id;              /* Domain. */
    uint8_t host_id;            /* Host id, DB_HOST_ID_MIN..MAX; unique per
                                 * ss_id. */
    uint64_t dpid;              /* Attachment switch (must exist). */
    uint32_t port_no;           /* Attachment port. */
    int64_t lease_expiry;       /* Lease runs out at. */
    int64_t joined_at;          /* First join. */
    int64_t moved_at;           /* Last move, 0 if never. */
    char name[DB_NAME_SIZE];    /* Name from the JoinRequest. */
};

/* A block of hostIDs: first .. first + size - 1 of 'ss_id' belong to
 * label router 'dpid' (hostIDs 0 and 255 are never handed out).  Key
 * (ss_id, first); blocks of one ssID never overlap. */
struct db_block {
    uint8_t ss_id;              /* SsID, 1..254. */
    uint8_t first;              /* First hostID, a multiple of 'size'. */
    uint16_t size;              /* A power of two, 1..256. */
    uint64_t dpid;              /* Its label router (must exist). */
    int64_t allocated_at;       /* When it was allocated. */
    int64_t empty_since;        /* Without hosts of its router since (0:
                                 * has some, or not checked yet). */
    uint32_t n_hosts;           /* Hosts of its router in it (output
                                 * only). */
};

struct db_object {
    uint16_t object_id;         /* ObjectID, 1..65535 (key). */
    char name[DB_NAME_SIZE];    /* Configured name, may be empty. */
    int64_t created_at;         /* First seen. */
    uint32_t n_instances;       /* Live instances (output only). */
};

/* A live instance: socket 'sock_id' on host 'host_mac' serves 'object_id'.
 * Key (host_mac, sock_id). */
struct db_instance {
    uint16_t object_id;         /* Object served. */
    uint8_t host_mac[DB_MAC_LEN]; /* Serving host (must exist). */
    uint16_t sock_id;           /* Socket on that host. */
    int64_t bound_at;           /* When it was bound. */
    /* Output only, from the host's current address: */
    uint8_t ss_id;              /* Host's ssID. */
    uint8_t host_id;            /* Host's hostID. */
    uint32_t flow_id;           /* ss_id << 24 | host_id << 16 | sock_id. */
};

struct db_event {
    uint64_t id;                /* Increasing, never reused. */
    int64_t time;               /* When it happened. */
    char kind[DB_KIND_SIZE];    /* E.g. "host.join". */
    char subject[DB_NAME_SIZE]; /* What it is about. */
    char detail[DB_DETAIL_SIZE];/* Free text. */
};

/* ---- handle ------------------------------------------------------------- */

/* Opens (creating if needed) the store at 'path', with write-ahead logging,
 * foreign keys enforced and a busy timeout, and brings its schema up to
 * db_schema_latest() by applying the missing migrations in one
 * transaction.  On success stores the handle in '*out' and returns 0.  On
 * failure stores NULL in '*out', returns a negative errno value (-ENOTSUP if
 * the file's schema is newer than this program) and, if 'errmsg' is not
 * NULL, stores in '*errmsg' a malloc'ed message the caller frees with
 * free() (or NULL if even that failed).  '*errmsg' is NULL on success. */
int db_open(const char *path, struct db **out, char **errmsg);

/* Closes 'db' (rolling back an open transaction).  Accepts NULL. */
void db_close(struct db *db);

/* The message recorded by the last failed call on 'db', or "" if the last
 * call succeeded.  Owned by 'db', valid until the next call on it. */
const char *db_errmsg(const struct db *db);

/* Sets how long calls on 'db' wait for another handle's write lock before
 * failing with -EBUSY (db_open() sets 5000 ms; 0 fails at once).  Returns 0
 * or -EINVAL for a negative 'ms'. */
int db_set_busy_timeout(struct db *db, int ms);

/* The schema version this program writes. */
int db_schema_latest(void);

/* Stores the schema version of the open file in '*version'. */
int db_schema_version(struct db *db, int *version);

/* Starts a transaction that groups the following calls; it takes the write
 * lock at once, waiting up to the busy timeout (-EBUSY after that).
 * Transactions do not nest (-EINVAL). */
int db_begin(struct db *db);

/* Commits the transaction started by db_begin(); on failure the
 * transaction is rolled back. */
int db_commit(struct db *db);

/* Abandons the transaction started by db_begin(). */
int db_rollback(struct db *db);

/* ---- switches, ports, links --------------------------------------------- */

/* Inserts 's' or overwrites the switch with the same dpid. */
int db_switch_upsert(struct db *db, const struct db_switch *s);

/* Reads switch 'dpid' into '*s'; -ENOENT if unknown. */
int db_switch_get(struct db *db, uint64_t dpid, struct db_switch *s);

/* Changes the role of switch 'dpid'; -ENOENT if unknown. */
int db_switch_set_role(struct db *db, uint64_t dpid, enum db_role role);

/* Marks switch 'dpid' connected or not and sets its last_seen to 'now';
 * -ENOENT if unknown. */
int db_switch_set_connected(struct db *db, uint64_t dpid, bool connected,
                            int64_t now);

/* Deletes switch 'dpid' with its ports and links; -ENOENT if unknown,
 * -EBUSY if hosts are still attached to it. */
int db_switch_delete(struct db *db, uint64_t dpid);

/* Lists all switches in dpid order. */
int db_switch_list(struct db *db, struct db_switch **out, size_t *n);

/* Inserts 'p' or overwrites the port with the same (dpid, port_no);
 * -ENOENT if the switch is unknown. */
int db_port_upsert(struct db *db, const struct db_port *p);

/* Deletes a port; -ENOENT if unknown. */
int db_port_delete(struct db *db, uint64_t dpid, uint32_t port_no);

/* Lists the ports of switch 'dpid' in port order (empty if unknown). */
int db_port_list(struct db *db, uint64_t dpid, struct db_port **out,
                 size_t *n);

/* Inserts 'l' or overwrites the link leaving the same (src_dpid,
 * src_port); -ENOENT if either switch is unknown. */
int db_link_upsert(struct db *db, const struct db_link *l);

/* Deletes the link leaving (src_dpid, src_port); -ENOENT if none. */
int db_link_delete(struct db *db, uint64_t src_dpid, uint32_t src_port);

/* Deletes the links whose last probe is older than 'before' and stores
 * how many in '*n' (which may be NULL). */
int db_link_expire(struct db *db, int64_t before, size_t *n);

/* Lists all links in (src_dpid, src_port) order. */
int db_link_list(struct db *db, struct db_link **out, size_t *n);

/* ---- hosts -------------------------------------------------------------- */

/* Finds the lowest hostID in DB_HOST_ID_MIN..DB_HOST_ID_MAX not held by
 * any host of 'ss_id' and stores it in '*host_id'; -ENOSPC if all are
 * taken.  Reserves nothing: call it and db_host_upsert() inside one
 * db_begin() transaction. */
int db_host_alloc_id(struct db *db, uint8_t ss_id, uint8_t *host_id);

/* Inserts 'h' or overwrites the host with the same MAC (its instances
 * stay, and follow its new address).  -EEXIST if another host holds
 * (ss_id, host_id), -ENOENT if the switch is unknown, -EINVAL if host_id
 * is out of range. */
int db_host_upsert(struct db *db, const struct db_host *h);

/* Reads the host with MAC 'mac' into '*h'; -ENOENT if unknown. */
int db_host_get(struct db *db, const uint8_t mac[DB_MAC_LEN],
                struct db_host *h);

/* Reads the host holding address (ss_id, host_id); -ENOENT if none. */
int db_host_find(struct db *db, uint8_t ss_id, uint8_t host_id,
                 struct db_host *h);

/* Sets the lease expiry of host 'mac'; -ENOENT if unknown. */
int db_host_renew(struct db *db, const uint8_t mac[DB_MAC_LEN],
                  int64_t lease_expiry);

/* Deletes host 'mac' and its instances; -ENOENT if unknown. */
int db_host_delete(struct db *db, const uint8_t mac[DB_MAC_LEN]);

/* Lists all hosts in (ss_id, host_id) order. */
int db_host_list(struct db *db, struct db_host **out, size_t *n);

/* Lists the hosts whose lease expired before 'now', in expiry order.  A
 * lease_expiry of 0 means no lease: such a host never expires. */
int db_host_list_expired(struct db *db, int64_t now, struct db_host **out,
                         size_t *n);

/* ---- hostID blocks ------------------------------------------------------ */

/* Inserts block 'b' (its 'n_hosts' is ignored).  -EINVAL if its size is
 * not a power of two in 1..256, 'first' is not a multiple of it or ss_id is
 * out of range, -EEXIST if it overlaps a block, -ENOENT if the switch is
 * unknown. */
int db_block_add(struct db *db, const struct db_block *b);

/* Reads the block of 'ss_id' that contains 'host_id'; -ENOENT if none. */
int db_block_find(struct db *db, uint8_t ss_id, uint8_t host_id,
                  struct db_block *b);

/* Lists the blocks of switch 'dpid' (all blocks if 0) in (ss_id, first)
 * order, with their host counts. */
int db_block_list(struct db *db, uint64_t dpid, struct db_block **out,
                  size_t *n);

/* Deletes block (ss_id, first); -ENOENT if none. */
int db_block_delete(struct db *db, uint8_t ss_id, uint8_t first);

/* Allocates to switch 'dpid' the lowest free block of 'size' hostIDs in the
 * first of the 'n_ss' ssIDs 'ss_ids' (in that order) that has one, records
 * it (allocated at 'now') and stores it in '*b'.  -ENOSPC if every block of
 * every listed ssID is taken; -EINVAL for a bad size. */
int db_block_alloc(struct db *db, uint64_t dpid, uint16_t size,
                   const uint8_t *ss_ids, size_t n_ss, int64_t now,
                   struct db_block *b);

/* Finds the lowest hostID of block 'b' (DB_HOST_ID_MIN..DB_HOST_ID_MAX
 * only) that no host holds and stores it in '*host_id'; -ENOSPC if none.
 * Reserves nothing: call it and db_host_upsert() in one transaction. */
int db_block_free_host_id(struct db *db, const struct db_block *b,
                          uint8_t *host_id);

/* Frees the blocks that have had no host of their router in them for at
 * least 'grace_ms' at 'now': marks newly empty blocks empty since 'now',
 * clears the mark of blocks with hosts, and deletes the rest.  Stores the
 * number deleted in '*n' (which may be NULL). */
int db_block_expire(struct db *db, int64_t now, int64_t grace_ms,
                    size_t *n);

/* ---- objects and instances ---------------------------------------------- */

/* Inserts 'o' or updates the name of the object with the same id
 * ('created_at' is kept from the first insert; 'n_instances' is
 * ignored). */
int db_object_upsert(struct db *db, const struct db_object *o);

/* Reads object 'object_id' into '*o'; -ENOENT if unknown. */
int db_object_get(struct db *db, uint16_t object_id, struct db_object *o);

/* Deletes an object and its instances; -ENOENT if unknown. */
int db_object_delete(struct db *db, uint16_t object_id);

/* Lists all objects in id order, with their instance counts. */
int db_object_list(struct db *db, struct db_object **out, size_t *n);

/* Records instance 'i' (creating its object, with created_at = bound_at, if
 * new).  -EEXIST if the host's socket already serves an object, -ENOENT if
 * the host is unknown. */
int db_instance_add(struct db *db, const struct db_instance *i);

/* Deletes the instance on (host_mac, sock_id); -ENOENT if none. */
int db_instance_remove(struct db *db, const uint8_t host_mac[DB_MAC_LEN],
                       uint16_t sock_id);

/* Lists the instances of 'object_id' (all objects if 0) in (object_id,
 * flow_id) order. */
int db_instance_list(struct db *db, uint16_t object_id,
                     struct db_instance **out, size_t *n);

/* Lists the instances served by host 'mac' in sock_id order. */
int db_instance_list_host(struct db *db, const uint8_t mac[DB_MAC_LEN],
                          struct db_instance **out, size_t *n);

/* ---- event log ---------------------------------------------------------- */

/* Appends an event and stores its id in '*id' (which may be NULL).
 * 'subject' and 'detail' may be NULL (empty). */
int db_event_append(struct db *db, int64_t time, const char *kind,
                    const char *subject, const char *detail, uint64_t *id);

/* Lists up to 'limit' events with ids above 'since_id', oldest first
 * ('limit' 0 means no limit). */
int db_event_list(struct db *db, uint64_t since_id, size_t limit,
                  struct db_event **out, size_t *n);

/* Stores the id of the newest event (0 if none) in '*id'. */
int db_event_last_id(struct db *db, uint64_t *id);

/* ---- control request idempotency ---------------------------------------- */

/* Remembers that request 'request_id' from host 'mac' was answered with
 * the 'len' bytes at 'reply'.  -EEXIST if that request already has a reply
 * (the first one stays). */
int db_request_put(struct db *db, const uint8_t mac[DB_MAC_LEN],
                   uint64_t request_id, const void *reply, size_t len,
                   int64_t now);

/* Looks up the reply to request 'request_id' from host 'mac'; on success
 * '*reply' is a malloc'ed copy (the caller frees it with free()) of '*len'
 * bytes.  -ENOENT if not found. */
int db_request_get(struct db *db, const uint8_t mac[DB_MAC_LEN],
                   uint64_t request_id, void **reply, size_t *len);

/* Forgets the replies stored before 'before'; '*n' (may be NULL) gets how
 * many. */
int db_request_prune(struct db *db, int64_t before, size_t *n);

/* ---- controller metadata ------------------------------------------------ */

#define DB_META_VALUE_SIZE 256  /* Size of a metadata value, NUL included. */

/* Reads the metadata value named 'key' into 'value' ('size' bytes, NUL
 * terminated); -ENOENT if unset, -EINVAL if it does not fit. */
int db_meta_get(struct db *db, const char *key, char *value, size_t size);

/* Sets metadata 'key' to 'value' (at most DB_META_VALUE_SIZE - 1 bytes,
 * -EINVAL otherwise), replacing any earlier value. */
int db_meta_put(struct db *db, const char *key, const char *value);

/* Returns the name of 'role' ("unknown", "label", "object"). */
const char *db_role_name(enum db_role role);

#endif /* DB_DB_H */

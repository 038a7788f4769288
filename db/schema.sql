-- SPDX-License-Identifier: Apache-2.0
--
-- SCAFFOLD controller state: the whole schema at its latest version (3),
-- for reading.  The store is built and upgraded by the migrations in
-- db/migrations/ (001_initial.sql, 002_requests_and_names.sql, ...); this
-- file must describe the same tables, columns, keys, indexes and triggers
-- as applying all of them, which the unit test db_test checks.  Running it
-- on an empty file gives a store that db_open() accepts as version 3.
--
-- Conventions: dpids, event ids and request ids are 64-bit unsigned values
-- stored in INTEGER columns by bit pattern; times are milliseconds since the
-- Unix epoch (0 = never); MAC addresses are 6-byte BLOBs; booleans are 0/1.

CREATE TABLE schema_version (
    version     INTEGER PRIMARY KEY,        -- Migration number.
    applied_at  INTEGER NOT NULL            -- When it was applied (ms).
);

-- OpenFlow switches, known or once known.
CREATE TABLE switches (
    dpid        INTEGER PRIMARY KEY,        -- Datapath id.
    name        TEXT NOT NULL DEFAULT '',   -- Bridge name or label.
    role        TEXT NOT NULL DEFAULT 'unknown'
                CHECK (role IN ('unknown', 'label', 'object')),
    of_version  INTEGER NOT NULL DEFAULT 0, -- Negotiated wire version.
    connected   INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),
    last_seen   INTEGER NOT NULL DEFAULT 0  -- Last message from it.
);

-- Ports of the switches; vanish with their switch.
CREATE TABLE ports (
    dpid        INTEGER NOT NULL
                REFERENCES switches (dpid) ON DELETE CASCADE,
    port_no     INTEGER NOT NULL,           -- OpenFlow port number.
    name        TEXT NOT NULL DEFAULT '',   -- Interface name.
    mac         BLOB NOT NULL CHECK (length(mac) = 6),
    up          INTEGER NOT NULL DEFAULT 0 CHECK (up IN (0, 1)),
    PRIMARY KEY (dpid, port_no)
);

-- Unidirectional inter-switch links; at most one leaves a port.
CREATE TABLE links (
    src_dpid    INTEGER NOT NULL
                REFERENCES switches (dpid) ON DELETE CASCADE,
    src_port    INTEGER NOT NULL,
    dst_dpid    INTEGER NOT NULL
                REFERENCES switches (dpid) ON DELETE CASCADE,
    dst_port    INTEGER NOT NULL,
    last_probe  INTEGER NOT NULL DEFAULT 0, -- Last probe that crossed it.
    PRIMARY KEY (src_dpid, src_port)
);
CREATE INDEX links_dst ON links (dst_dpid, dst_port);

-- Joined hosts.  A host is named by its MAC; its address (ss_id, host_id)
-- changes when it moves.  A switch with attached hosts cannot be deleted.
CREATE TABLE hosts (
    mac          BLOB PRIMARY KEY CHECK (length(mac) = 6),
    ss_id        INTEGER NOT NULL CHECK (ss_id BETWEEN 0 AND 255),
    host_id      INTEGER NOT NULL CHECK (host_id BETWEEN 1 AND 254),
    dpid         INTEGER NOT NULL REFERENCES switches (dpid),
    port_no      INTEGER NOT NULL,          -- Attachment port.
    lease_expiry INTEGER NOT NULL DEFAULT 0,
    joined_at    INTEGER NOT NULL DEFAULT 0,
    moved_at     INTEGER NOT NULL DEFAULT 0,
    name         TEXT NOT NULL DEFAULT '',  -- From the JoinRequest (v2).
    UNIQUE (ss_id, host_id)
);
CREATE INDEX hosts_attachment ON hosts (dpid, port_no);

-- Objects (services) that have, or had, instances.
CREATE TABLE objects (
    object_id   INTEGER PRIMARY KEY CHECK (object_id BETWEEN 1 AND 65535),
    created_at  INTEGER NOT NULL DEFAULT 0,
    name        TEXT NOT NULL DEFAULT ''    -- Configured name (v2).
);

-- Live instances: a socket on a host serving an object.  The instance's
-- flowID is its host's ss_id.host_id plus sock_id, so it follows the host
-- when the host moves.  A socket serves one object.
CREATE TABLE instances (
    host_mac    BLOB NOT NULL REFERENCES hosts (mac) ON DELETE CASCADE,
    sock_id     INTEGER NOT NULL CHECK (sock_id BETWEEN 0 AND 65535),
    object_id   INTEGER NOT NULL
                REFERENCES objects (object_id) ON DELETE CASCADE,
    bound_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_mac, sock_id)
);
CREATE INDEX instances_object ON instances (object_id);

-- Append-only event log; ids are never reused.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    kind        TEXT NOT NULL,              -- E.g. 'host.join'.
    subject     TEXT NOT NULL DEFAULT '',   -- E.g. a MAC or dpid.
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER events_append_only BEFORE UPDATE ON events
BEGIN
    SELECT RAISE (ABORT, 'events are append-only');
END;

-- Replies already sent to control requests, so that a retried request
-- (same host MAC, same request id) gets the same answer.  Not tied to
-- hosts: a join is answered before its host exists.  Pruned by age (v2).
CREATE TABLE requests (
    host_mac    BLOB NOT NULL CHECK (length(host_mac) = 6),
    request_id  INTEGER NOT NULL,
    reply       BLOB NOT NULL,              -- Packed reply Envelope.
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (host_mac, request_id)
);
CREATE INDEX requests_age ON requests (created_at);

-- Small named values of the controller itself, e.g. its epoch (v3).
CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL DEFAULT ''
);

-- HostID blocks (v4): an aligned range of 'size' hostIDs (a power of two)
-- of one ssID that belongs to one label router.  Blocks do not overlap
-- (checked by the access layer); a block whose router has had no hosts for
-- a while is freed ('empty_since').
CREATE TABLE blocks (
    ss_id        INTEGER NOT NULL CHECK (ss_id BETWEEN 1 AND 254),
    first_host   INTEGER NOT NULL CHECK (first_host BETWEEN 0 AND 255),
    size         INTEGER NOT NULL
                 CHECK (size IN (1, 2, 4, 8, 16, 32, 64, 128, 256)),
    dpid         INTEGER NOT NULL
                 REFERENCES switches (dpid) ON DELETE CASCADE,
    allocated_at INTEGER NOT NULL DEFAULT 0,
    empty_since  INTEGER NOT NULL DEFAULT 0, -- No host of its router in it
                                             -- since (0 = has hosts).
    PRIMARY KEY (ss_id, first_host),
    CHECK (first_host % size = 0)
);
CREATE INDEX blocks_dpid ON blocks (dpid);

INSERT INTO schema_version (version, applied_at)
VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
       (2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
       (3, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
       (4, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

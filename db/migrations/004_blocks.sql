-- SPDX-License-Identifier: Apache-2.0
--
-- Schema version 4: hostID blocks.  A block is an aligned range of 'size'
-- hostIDs (a power of two) of one ssID that belongs to one label router:
-- hosts joining there get hostIDs from it, and every other switch routes
-- the whole range with one prefix rule.  Blocks do not overlap (checked by
-- the access layer); a block whose router has had no hosts for a while is
-- freed ('empty_since').

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
VALUES (4, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

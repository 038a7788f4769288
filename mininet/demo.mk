# mininet/ — `make demo`: the failover and mobility experiments on the demo
# topology (mininet/failover.py, mininet/mobility.py; see mininet/README.md).
#
#   make demo                      deps, build, both scenarios (~1 min)
#   make demo-run                  only the scenarios (already built)
#   make demo DEMO_ARGS=--quick    short files (a few seconds each)
#   make demo DEMO_FAILOVER_ARGS="--resolve static"  agent-side resolution
#
# Needs root (Mininet).  Each run writes mininet/out/demo-TIME/{failover,
# mobility}/ (CSVs, PNG, logs; ignored by git) and prints both summaries.
# `deps` first, then `all` in a sub-make (as `check` does, so that the build
# never races the package installation).
#
# Failover resolves through the object router's round-robin group by
# default; DEMO_FAILOVER_ARGS="--resolve static" makes h1's agent resolve
# the object from a static table instead.
DEMO_PY ?= /usr/bin/python3
DEMO_ARGS ?=
DEMO_FAILOVER_ARGS ?=
DEMO_MOBILITY_ARGS ?=

demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory demo-run

demo-run:
	@out=mininet/out/demo-$$(date +%Y%m%d-%H%M%S); rc=0; \
	echo "demo: failover (mininet/failover.py $(DEMO_ARGS) $(DEMO_FAILOVER_ARGS))"; \
	$(DEMO_PY) mininet/failover.py --out $$out/failover $(DEMO_ARGS) \
	    $(DEMO_FAILOVER_ARGS) || rc=1; \
	echo "demo: mobility (mininet/mobility.py $(DEMO_ARGS) $(DEMO_MOBILITY_ARGS))"; \
	$(DEMO_PY) mininet/mobility.py --out $$out/mobility $(DEMO_ARGS) \
	    $(DEMO_MOBILITY_ARGS) || rc=1; \
	echo "demo: plots $$out/failover/failover.png $$out/mobility/mobility.png"; \
	echo "demo: CSVs and logs in $$out/{failover,mobility}/"; \
	[ $$rc -eq 0 ] || echo "demo: a scenario's checks failed (see above)"; \
	exit $$rc

.PHONY: demo demo-run

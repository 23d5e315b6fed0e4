#!/usr/bin/env bash
# A 40-second smoke of the soak (test/soak/soak.sh; `make soak` runs 30 minutes): cgroup churn,
# the agent keeps ticking and its open fds return to their level.
cd "$(dirname "$0")/../.."
SOAK_SECONDS=${SOAK_SMOKE_SECONDS:-40} SOAK_SAMPLE=2 exec bash test/soak/soak.sh

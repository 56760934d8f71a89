"""The workload benchmarks against the host's Linux (`twaron bench`) and the exec phase
profiler (`twaron profile`); the benchmark program itself is bench.c, built with musl-gcc."""

# The README's commands. Everything they need is installed by deploy/install.sh.
.PHONY: up down test install bench

up:
	@bash deploy/up.sh

down:
	@bash deploy/down.sh

test:
	@bash deploy/test.sh $(ARGS)

install:
	@bash deploy/install.sh --test

bench:
	@for b in benchmarks/bench_*.py; do echo "== $$b"; INNOVATION_DEVELOPMENT_MODE=1 .venv/bin/python $$b || exit 1; done

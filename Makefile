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
	@bash deploy/bench.sh $(ARGS)

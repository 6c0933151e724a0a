# The README's two commands: `make run` and `make test`.
.PHONY: run test check bench fmt oneclick

HOME_DIR ?= $(if $(CERTMGR_HOME),$(CERTMGR_HOME),./certmgr-home)

run:
	@scripts/bootstrap run
	@echo "Building the one-click installer runtime (once; reused while oneclick/ and shared/ are unchanged)..."
	@.venv/bin/python build/build_oneclick.py
	@if [ ! -f "$(HOME_DIR)/config.toml" ]; then .venv/bin/certmgr init --home "$(HOME_DIR)"; fi
	.venv/bin/certmgr serve --home "$(HOME_DIR)"

test:
	@scripts/bootstrap test
	scripts/check

check:
	scripts/check

fmt:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench:
	@scripts/bootstrap test
	.venv/bin/python -m bench

oneclick:
	@scripts/bootstrap test
	.venv/bin/python build/build_oneclick.py

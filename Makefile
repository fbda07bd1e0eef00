# Two commands: `make run` serves the API with the demo network; `make test` runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run serve test install clean-db

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# The intake model is trained (when missing or stale) beside the server, which answers at once; a request
# that needs the model before it is ready waits for that one training instead of starting another.
run: install
	$(BIN)/flask --app api init-db
	@echo "Serving the RISMEP matcher (synthetic demo network) on http://$(HOST):$(PORT)"
	$(BIN)/flask --app api train-intake --if-stale > /dev/null & TRAIN=$$!; trap 'kill $$TRAIN 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app api run --host $(HOST) --port $(PORT)

# Production: several gunicorn workers over the same SQLite file (WAL), and the notification worker beside
# them (stopped with them). Settings from RISMEP_* variables. The app is created (and its snapshot built) once
# before the workers fork (--preload, RISMEP_WARM_START): they share it instead of each building a copy.
WORKERS ?= 4
serve: install
	$(BIN)/flask --app api init-db
	$(BIN)/flask --app api train-intake --if-stale > /dev/null
	$(BIN)/flask --app api notify --quiet & NOTIFY=$$!; trap 'kill $$NOTIFY 2>/dev/null' EXIT INT TERM; \
	RISMEP_WARM_START=1 RISMEP_SNAPSHOT_FILE=$${RISMEP_SNAPSHOT_FILE:-auto} $(BIN)/gunicorn --workers $(WORKERS) --threads 1 --bind $(HOST):$(PORT) --access-logfile - \
		--graceful-timeout 10 --preload "api:create_app()"

# The suite on two processes (TEST_WORKERS=1 for one); the intake model is trained once, under a lock,
# in the background from the start (tests/conftest.py).
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

clean-db:
	rm -f data/rismep.db data/rismep.db-wal data/rismep.db-shm

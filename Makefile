# Switchboard: `make run` runs it all locally on the embedded AWS; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit integration fuzz eval bench models synth clean

$(STAMP): requirements.txt requirements-dev.txt infra/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m chalicelib.devstack

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

# The property tests on new random examples (`make test` repeats the same ones); run it often.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest -q -m hypothesis

eval: $(STAMP)
	$(BIN)/switchboard eval ../shared/data/departments/dev.csv
	$(BIN)/switchboard eval ../shared/data/complaints/train.csv

bench: $(STAMP)
	-$(BIN)/python -m bench.rules
	$(BIN)/python -m bench.signals
	$(BIN)/python -m bench.webhook

# Synthesizes the CloudFormation template offline (only the package registry is needed, for
# the Lambda wheels) and lints it. STAGE=prod for the production stage.
STAGE ?= dev
synth: $(STAMP)
	cd infra && AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} CDK_OUTDIR=cdk.out \
		CDK_CONTEXT_JSON='{"stage": "$(STAGE)"}' ../$(BIN)/python cdk_app.py
	$(BIN)/cfn-lint infra/cdk.out/Switchboard-$(STAGE).template.json

models: $(STAMP)
	$(BIN)/python -m chalicelib.classify.training

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

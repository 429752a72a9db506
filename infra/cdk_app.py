"""CDK entry point: `cdk deploy -c stage=dev` (or prod). Named cdk_app.py, not app.py, because
Chalice's packager imports the module `app` (the Chalice app at the repository root)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import aws_cdk as cdk

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stacks.switchboard import StageConfig, SwitchboardStack


def _remove(paths: set[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


# Every synthesis leaves a Lambda package under chalice.out (Chalice's CDK construct, by id) and
# its zips beside the template: removed once copied, and before the next synthesis, so repeated
# `make synth` and `make test` runs do not fill the disk.
OUTDIR, PACKAGES = Path(os.environ.get("CDK_OUTDIR", "cdk.out")), Path.cwd() / "chalice.out"
_remove(set(OUTDIR.glob("asset.*")))
packaged_before = set(PACKAGES.glob("*"))
app = cdk.App()
stage = app.node.try_get_context("stage") or "dev"
SwitchboardStack(
    app,
    f"Switchboard-{stage}",
    config=StageConfig.for_stage(stage, app.node),
    env=cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=os.environ.get("CDK_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION")),
    ),
)
app.synth()
_remove(set(PACKAGES.glob("*")) - packaged_before)

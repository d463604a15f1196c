"""relay's Pulumi program: read the stage config, build the platform, export its outputs."""
import pulumi

from infra.config import from_pulumi
from infra.program import build

for key, value in build(from_pulumi()).items():
    pulumi.export(key, value)
